/**
 * Reads a .tgz / .tar.gz / .tar as a stream: headers and bodies in archive order, without seeking
 * and without extracting. gzip cannot be read from the middle, so the Takeout source reads each
 * tgz part twice (names and sidecars first, bytes second). ustar, pax (`path`, `size`) and GNU
 * long names and base-256 sizes are understood; Google's tar writer uses pax for long names.
 */

import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { RandomAccessReader } from '../../random-access.ts';

export type TarEntryType = 'file' | 'directory' | 'other';

export interface TarEntry {
  path: string;
  size: number;
  type: TarEntryType;
  /** Ordinal among the entries this reader yields; the same on every read of the same file. */
  index: number;
}

export interface TarEntryWithBody extends TarEntry {
  /**
   * The entry's bytes. Valid only until the next entry is requested: whatever is not read by then
   * is skipped. Read it at most once.
   */
  body: AsyncIterable<Buffer>;
}

/** The archive cannot be read on from here (bad header, truncated). Entries before it were fine. */
export class TarFormatError extends Error {
  override name = 'TarFormatError';
}

class ChunkReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;

  constructor(input: AsyncIterable<Uint8Array>) {
    this.iterator = input[Symbol.asyncIterator]();
  }

  private async pull(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.iterator.next();
    if (next.done) {
      this.ended = true;
      return false;
    }
    const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    return true;
  }

  /** Exactly `length` bytes; undefined at a clean end; throws when the stream stops part-way. */
  async read(length: number): Promise<Buffer | undefined> {
    while (this.buffered < length) {
      if (!(await this.pull())) {
        if (this.buffered === 0) return undefined;
        throw new TarFormatError('the archive ends in the middle of an entry: the file is truncated');
      }
    }
    const joined = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    const result = joined.subarray(0, length);
    const rest = joined.subarray(length);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return result;
  }

  /** Up to `max` bytes (at least one); throws at the end of the stream. */
  async next(max: number): Promise<Buffer> {
    while (this.buffered === 0) {
      if (!(await this.pull())) {
        throw new TarFormatError('the archive ends in the middle of an entry: the file is truncated');
      }
    }
    const first = this.chunks[0] as Buffer;
    if (first.length <= max) {
      this.chunks.shift();
      this.buffered -= first.length;
      return first;
    }
    this.chunks[0] = first.subarray(max);
    this.buffered -= max;
    return first.subarray(0, max);
  }

  async skip(length: number): Promise<void> {
    let left = length;
    while (left > 0) left -= (await this.next(left)).length;
  }

  async close(): Promise<void> {
    await this.iterator.return?.();
  }
}

/**
 * A pax header holds a few `key=value` records (a path, a size, times): Google's are well under a
 * kilobyte, and 1 MiB leaves room for any honest writer's long paths and extra records. A GNU
 * long name or link is one path: Linux allows 4 KiB (PATH_MAX), 64 KiB is generous. Their bodies
 * are read into memory, so a header that declares more is a damaged (or hostile) archive, refused
 * before anything is allocated.
 */
const MAX_PAX_BYTES = 1024 * 1024;
const MAX_LONG_NAME_BYTES = 64 * 1024;

function readString(block: Buffer, at: number, length: number): string {
  const field = block.subarray(at, at + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? field.length : end).toString('utf8');
}

function readNumber(block: Buffer, at: number, length: number): number {
  const field = block.subarray(at, at + length);
  // GNU base-256 for sizes of 8 GiB and more: high bit set, big-endian value in the rest.
  if (((field[0] as number) & 0x80) !== 0) {
    let value = (field[0] as number) & 0x7f;
    for (let index = 1; index < field.length; index++) value = value * 256 + (field[index] as number);
    return value;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  return text === '' ? 0 : Number.parseInt(text, 8);
}

function checksumMatches(block: Buffer): boolean {
  const stored = readNumber(block, 148, 8);
  let sum = 0;
  for (let index = 0; index < 512; index++)
    sum += index >= 148 && index < 156 ? 32 : (block[index] as number);
  return sum === stored;
}

function parsePax(body: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(0x20, at);
    if (space === -1) break;
    const length = Number(body.subarray(at, space).toString('latin1'));
    if (!Number.isInteger(length) || length <= 0) break;
    const record = body.subarray(space + 1, at + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    if (equals > 0) records.set(record.slice(0, equals), record.slice(equals + 1));
    at += length;
  }
  return records;
}

/**
 * Yields the entries of an uncompressed tar stream. Throws TarFormatError at the first damaged
 * header or early end, after yielding every complete entry before it.
 */
export async function* readTarEntries(input: AsyncIterable<Uint8Array>): AsyncGenerator<TarEntryWithBody> {
  const reader = new ChunkReader(input);
  let index = 0;
  let longName: string | undefined;
  let pax = new Map<string, string>();
  try {
    while (true) {
      const header = await reader.read(512);
      if (!header) throw new TarFormatError('the archive ends without its end marker: the file is truncated');
      if (header.every((byte) => byte === 0)) return;
      if (!checksumMatches(header)) throw new TarFormatError(`header ${index + 1} is damaged (bad checksum)`);
      const typeFlag = String.fromCharCode(header[156] as number);
      let size = readNumber(header, 124, 12);
      const paxSize = pax.get('size');
      if (paxSize !== undefined && /^\d+$/.test(paxSize)) size = Number(paxSize);
      const padding = (512 - (size % 512)) % 512;

      if (typeFlag === 'x' || typeFlag === 'g' || typeFlag === 'L' || typeFlag === 'K') {
        const isName = typeFlag === 'L' || typeFlag === 'K';
        const bound = isName ? MAX_LONG_NAME_BYTES : MAX_PAX_BYTES;
        if (size > bound) {
          throw new TarFormatError(
            `header ${index + 1} declares a ${isName ? 'long name' : 'pax header'} of ${size} bytes (at most ${bound} are read): the archive is damaged`,
          );
        }
        const body = (await reader.read(size)) ?? Buffer.alloc(0);
        await reader.skip(padding);
        if (typeFlag === 'x') pax = parsePax(body);
        if (typeFlag === 'L') longName = readString(body, 0, body.length);
        continue;
      }

      const magic = header.subarray(257, 262).toString('latin1');
      const prefix = magic === 'ustar' ? readString(header, 345, 155) : '';
      const shortName = readString(header, 0, 100);
      const path = pax.get('path') ?? longName ?? (prefix ? `${prefix}/${shortName}` : shortName);
      pax = new Map();
      longName = undefined;
      const type: TarEntryType =
        typeFlag === '0' || typeFlag === '\0' || typeFlag === '7'
          ? 'file'
          : typeFlag === '5'
            ? 'directory'
            : 'other';
      const state = { remaining: type === 'file' || type === 'other' ? size : 0 };
      if (type === 'directory') await reader.skip(size + padding);
      const body = (async function* () {
        while (state.remaining > 0) {
          const chunk = await reader.next(state.remaining);
          state.remaining -= chunk.length;
          yield chunk;
        }
      })();
      yield { path, size: type === 'file' ? size : 0, type, index, body };
      index += 1;
      if (type !== 'directory') {
        await reader.skip(state.remaining);
        state.remaining = 0;
        await reader.skip(padding);
      }
    }
  } finally {
    await reader.close();
  }
}

/**
 * The tar byte stream of a part, read once from its start: gunzipped when it starts with the gzip
 * magic. Takes the reader over: it is closed when the stream ends or is given up.
 */
export async function openTarStream(
  reader: RandomAccessReader,
  signal?: AbortSignal,
): Promise<AsyncIterable<Uint8Array>> {
  let magic: Buffer;
  try {
    magic = await reader.read(0, 2, signal);
  } catch (error) {
    await reader.close();
    throw error;
  }
  const raw = Readable.from(reader.size === 0 ? [] : reader.stream(0, reader.size - 1, signal), {
    objectMode: false,
  });
  raw.once('close', () => void reader.close().catch(() => undefined));
  if (magic[0] !== 0x1f || magic[1] !== 0x8b) return raw;
  const gunzip = createGunzip();
  raw.on('error', (error) => gunzip.destroy(error));
  raw.pipe(gunzip);
  return (async function* () {
    try {
      yield* gunzip as AsyncIterable<Buffer>;
    } catch (error) {
      // zlib's own words ("unexpected end of file", "incorrect header check") name no cause.
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'Z_BUF_ERROR')
        throw new TarFormatError('the gzip stream ends early: the file is truncated');
      if (code === 'Z_DATA_ERROR') throw new TarFormatError('the gzip stream is damaged');
      throw error;
    } finally {
      raw.destroy();
      gunzip.destroy();
    }
  })();
}
