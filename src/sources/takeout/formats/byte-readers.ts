/**
 * Byte readers over one file's bytes, wherever they live: in memory, a folder's file or a stored
 * zip entry (positional reads), a stream (a tgz entry, a deflated zip entry: forward only, with a
 * budget), a stream opened again from its start, or a stream whose first bytes are held.
 */

import type { RandomAccessReader } from '../../random-access.ts';
import { EMPTY } from './bytes.ts';

/** Random access to one file's bytes, wherever they live (a folder, a zip entry, a stream). */
export interface ByteReader {
  /** The file's size: box sizes are checked against it. */
  readonly size: number;
  /**
   * Up to `length` bytes at `offset`. Fewer at the end of the file, and none where the reader
   * cannot reach (past a head it holds, behind a forward-only stream, past a budget).
   */
  read(offset: number, length: number): Promise<Uint8Array>;
}

export interface StreamByteReader extends ByteReader {
  /** The first byte still held: reads before it give nothing. */
  readonly position: number;
  /** The error the underlying stream ended with, if any (a damaged archive). */
  readonly failure: unknown;
  /** Stops the underlying stream (the rest of a tgz entry is then skipped by the tar reader). */
  close(): Promise<void>;
}

export function bufferReader(bytes: Uint8Array, size = bytes.length): ByteReader {
  return {
    size,
    read: async (offset, length) => {
      const end = Math.min(offset + length, bytes.length, size);
      return end > offset && offset >= 0 ? bytes.subarray(offset, end) : EMPTY;
    },
  };
}

/** A file (or a stored zip entry starting at `start`) read with positional reads. */
export function handleReader(handle: RandomAccessReader, start: number, size: number): ByteReader {
  return {
    size,
    read: async (offset, length) => {
      const end = Math.min(offset + length, size);
      if (offset < 0 || end <= offset) return EMPTY;
      return handle.read(start + offset, end - offset);
    },
  };
}

/**
 * A forward-only reader over a stream of chunks. It keeps only the bytes from the last read's
 * offset on, so reading a box header and then the same box's body works, and chunks wholly before
 * a later offset are dropped as they pass (a 2 GB `mdat` is skipped, never held). Reads behind the
 * kept bytes, or past `budget`, give nothing.
 */
export function streamReader(body: AsyncIterable<Uint8Array>, size: number, budget = size): StreamByteReader {
  const iterator = body[Symbol.asyncIterator]();
  let windowStart = 0;
  let chunks: Uint8Array[] = [];
  let windowLength = 0;
  let ended = false;
  let failure: unknown;

  const dropBefore = (offset: number) => {
    while (windowStart < offset && chunks.length > 0) {
      const first = chunks[0] as Uint8Array;
      const drop = Math.min(first.length, offset - windowStart);
      if (drop === first.length) chunks.shift();
      else chunks[0] = first.subarray(drop);
      windowStart += drop;
      windowLength -= drop;
    }
    // Nothing buffered: the stream position is the window start.
  };

  return {
    size,
    get position() {
      return windowStart;
    },
    get failure() {
      return failure;
    },
    async read(offset, length) {
      if (offset < windowStart) return EMPTY;
      const end = Math.min(offset + length, size, budget);
      if (end <= offset) return EMPTY;
      dropBefore(offset);
      while (windowStart + windowLength < end && !ended) {
        let next: IteratorResult<Uint8Array>;
        try {
          next = await iterator.next();
        } catch (error) {
          failure = error;
          ended = true;
          break;
        }
        if (next.done) {
          ended = true;
          break;
        }
        if (next.value.length === 0) continue;
        chunks.push(next.value);
        windowLength += next.value.length;
        dropBefore(offset);
      }
      if (windowStart > offset) return EMPTY;
      const wanted = Math.min(end, windowStart + windowLength) - offset;
      if (wanted <= 0) return EMPTY;
      const joined = chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks);
      chunks = [joined];
      return joined.subarray(0, wanted);
    },
    async close() {
      chunks = [];
      windowLength = 0;
      ended = true;
      try {
        await iterator.return?.();
      } catch {
        // Closing a failed stream: its error is already in `failure` or does not matter.
      }
    },
  };
}

/**
 * A forward-only reader that can still go back: a read behind the stream's position opens the
 * stream again from the start (at most `maxOpens` times in all). For a deflated zip entry, whose
 * HEIC `meta` box may come after the image data it points into (Samsung phones), or a raw file
 * whose IFDs point backwards: the entry is inflated again instead of held in memory.
 */
export function reopeningReader(
  open: () => AsyncIterable<Uint8Array>,
  size: number,
  budget = size,
  maxOpens = 3,
): StreamByteReader {
  let current = streamReader(open(), size, budget);
  let opens = 1;
  let failure: unknown;
  return {
    size,
    get position() {
      return opens < maxOpens ? 0 : current.position;
    },
    get failure() {
      return failure ?? current.failure;
    },
    async read(offset, length) {
      if (offset < current.position && opens < maxOpens) {
        failure ??= current.failure;
        await current.close();
        current = streamReader(open(), size, budget);
        opens += 1;
      }
      return current.read(offset, length);
    },
    close: () => current.close(),
  };
}

/**
 * Keeps the first `length` bytes of a forward-only reader in memory, so the reads a parser makes
 * back into them still answer: a tgz entry passes once, and a HEIC whose `meta` box follows its
 * image data points back into it. Reads past the held head go to the stream.
 */
export function holdHead(reader: StreamByteReader, length: number): StreamByteReader {
  let head: Uint8Array | undefined;
  const held = async () => {
    // The stream's own bytes, not a copy: it never writes into a chunk it handed out.
    head ??= await reader.read(0, Math.min(length, reader.size));
    return head;
  };
  return {
    size: reader.size,
    get position() {
      return 0;
    },
    get failure() {
      return reader.failure;
    },
    async read(offset, wanted) {
      const bytes = await held();
      const end = Math.min(offset + wanted, reader.size);
      if (offset < 0 || end <= offset) return EMPTY;
      if (end <= bytes.length) return bytes.subarray(offset, end);
      if (offset >= bytes.length) return reader.read(offset, end - offset);
      const rest = await reader.read(bytes.length, end - bytes.length);
      return Buffer.concat([bytes.subarray(offset), rest]);
    },
    close: () => reader.close(),
  };
}
