/**
 * A file read at any offset, wherever it lives: a local archive part (a file handle) or a Drive
 * file (ranged HTTP reads). The zip reader needs exactly this: positional reads for the end
 * record, the central directory and local headers, and a stream of one entry's bytes. A small
 * block cache in front keeps the many small reads near each other (a zip's end record, then the
 * directory just before it; each entry's local header, then its data) to one request each.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';

export interface RandomAccessReader {
  /** Bytes in the file. */
  readonly size: number;
  /** `length` bytes at `position`; fewer only where the file ends. */
  read(position: number, length: number, signal?: AbortSignal): Promise<Buffer>;
  /** Bytes `start`..`end` (inclusive) as they arrive, for entries too large to hold. */
  stream(start: number, end: number, signal?: AbortSignal): AsyncIterable<Uint8Array>;
  close(): Promise<void>;
}

/** A local file through one handle, as the zip reader reads parts today. */
export async function openFileReader(file: string): Promise<RandomAccessReader> {
  const handle = await open(file, 'r');
  const { size } = await handle.stat();
  return {
    size,
    async read(position, length) {
      const wanted = Math.max(0, Math.min(length, size - position));
      const buffer = Buffer.alloc(wanted);
      let done = 0;
      while (done < wanted) {
        const { bytesRead } = await handle.read(buffer, done, wanted - done, position + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return buffer.subarray(0, done);
    },
    stream(start, end, signal) {
      return createReadStream(file, { start, end, highWaterMark: 256 * 1024, ...(signal ? { signal } : {}) });
    },
    close: () => handle.close(),
  };
}

/**
 * What a ranged reader needs from its source: one inclusive byte range at a time (DriveApi's
 * readRange and streamRange bound to one file).
 */
export interface RangeSource {
  readonly size: number;
  readRange(start: number, end: number, signal?: AbortSignal): Promise<Buffer>;
  streamRange(start: number, end: number, signal?: AbortSignal): AsyncIterable<Uint8Array>;
}

/** A reader over ranged reads with nothing cached: put a BlockCache in front. */
export function rangeReader(source: RangeSource): RandomAccessReader {
  return {
    size: source.size,
    async read(position, length, signal) {
      const end = Math.min(source.size, position + length) - 1;
      if (length <= 0 || end < position) return Buffer.alloc(0);
      return source.readRange(position, end, signal);
    },
    stream: (start, end, signal) => source.streamRange(start, end, signal),
    close: async () => undefined,
  };
}

export interface BlockCacheOptions {
  /** Bytes per block; reads are rounded out to whole blocks. Default 64 KiB. */
  blockSize?: number;
  /** Blocks kept, least recently used dropped first. Default 32 (2 MiB at the default size). */
  maxBlocks?: number;
  /** Reads longer than this go straight through, uncached. Default 4 blocks. */
  passThroughBytes?: number;
}

/**
 * Caches whole aligned blocks of `inner`, fetching each run of missing blocks with one read.
 * Bounded memory: at most `maxBlocks` blocks. Streams are not cached: they are for bytes read once.
 */
export class BlockCache implements RandomAccessReader {
  readonly size: number;
  private readonly blockSize: number;
  private readonly maxBlocks: number;
  private readonly passThroughBytes: number;
  /** Insertion order is use order: a hit is deleted and set again. */
  private readonly blocks = new Map<number, Buffer>();
  /** Reads that reached `inner` (for tests and the bench). */
  innerReads = 0;

  constructor(
    private readonly inner: RandomAccessReader,
    options: BlockCacheOptions = {},
  ) {
    this.size = inner.size;
    this.blockSize = options.blockSize ?? 64 * 1024;
    this.maxBlocks = Math.max(1, options.maxBlocks ?? 32);
    this.passThroughBytes = options.passThroughBytes ?? 4 * this.blockSize;
  }

  private remember(index: number, block: Buffer): void {
    this.blocks.delete(index);
    this.blocks.set(index, block);
    while (this.blocks.size > this.maxBlocks) {
      const oldest = this.blocks.keys().next().value as number;
      this.blocks.delete(oldest);
    }
  }

  async read(position: number, length: number, signal?: AbortSignal): Promise<Buffer> {
    const end = Math.min(this.size, position + Math.max(0, length));
    if (end <= position) return Buffer.alloc(0);
    if (end - position > this.passThroughBytes) {
      this.innerReads++;
      return this.inner.read(position, end - position, signal);
    }
    const first = Math.floor(position / this.blockSize);
    const last = Math.floor((end - 1) / this.blockSize);
    const found = new Map<number, Buffer>();
    for (let index = first; index <= last; ) {
      const cached = this.blocks.get(index);
      if (cached) {
        found.set(index, cached);
        this.remember(index, cached);
        index++;
        continue;
      }
      // One read for the run of missing blocks from here.
      let runEnd = index;
      while (runEnd + 1 <= last && !this.blocks.has(runEnd + 1)) runEnd++;
      const from = index * this.blockSize;
      const to = Math.min(this.size, (runEnd + 1) * this.blockSize);
      this.innerReads++;
      const bytes = await this.inner.read(from, to - from, signal);
      for (let at = index; at <= runEnd; at++) {
        const block = bytes.subarray((at - index) * this.blockSize, (at - index + 1) * this.blockSize);
        found.set(at, block);
        this.remember(at, block);
      }
      index = runEnd + 1;
    }
    const parts: Buffer[] = [];
    for (let index = first; index <= last; index++) parts.push(found.get(index) as Buffer);
    const joined = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    const offset = position - first * this.blockSize;
    return joined.subarray(offset, offset + (end - position));
  }

  stream(start: number, end: number, signal?: AbortSignal): AsyncIterable<Uint8Array> {
    return this.inner.stream(start, end, signal);
  }

  async close(): Promise<void> {
    this.blocks.clear();
    await this.inner.close();
  }
}
