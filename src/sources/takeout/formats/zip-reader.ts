/**
 * Reads a .zip in place: the central directory once (ZIP64 too: Takeout parts go up to 50 GB),
 * then each entry from its own offset, through a RandomAccessReader (a local part or a Drive file),
 * so several entries can be read at once and nothing is ever extracted to disk. Stored and deflate
 * only; that is all Google writes. Sizes and CRC-32 are checked at the end of every entry, so a damaged part fails
 * that item instead of saving wrong bytes (gpth lost photos to a lax unzipper: its #178).
 *
 * One file on purpose (over 300 lines): the end records, the central directory and the entry
 * readers share the format's constants and its checks; that is the whole zip format we read.
 */

import { isUtf8 } from 'node:buffer';
import { Readable } from 'node:stream';
import { constants, crc32, createInflateRaw, inflateRawSync } from 'node:zlib';
import type { RandomAccessReader } from '../../random-access.ts';

/**
 * An entry that inflates to more bytes than the central directory declares. Deflate can expand
 * about a thousand times, so a few KB can claim 100 bytes and inflate to gigabytes: the reader
 * stops at the first byte past the declared size instead of holding or writing the rest.
 */
export class ZipEntryTooLongError extends Error {
  override name = 'ZipEntryTooLongError';
  constructor(entry: ZipEntry) {
    super(`"${entry.name}" inflates past its declared ${entry.size} bytes: the archive is damaged`);
  }
}

export interface ZipEntry {
  /** The name as stored, decoded (UTF-8 flag, Info-ZIP unicode path, else CP437). */
  name: string;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
  /** Ordinal in the central directory. */
  index: number;
  /** "Version made by" (its high byte is the host system) and external attributes, for the Unix file type. */
  madeBy?: number;
  attributes?: number;
}

/** A part that cannot be read as a zip at all (truncated, not a zip). */
export class ZipFormatError extends Error {
  override name = 'ZipFormatError';
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_U32 = 0xffffffff;

export function isEncrypted(entry: Pick<ZipEntry, 'flags'>): boolean {
  // General purpose bit 0; bit 6 is strong encryption and implies bit 0.
  return (entry.flags & 0x1) !== 0;
}

/**
 * A symbolic link stored by a Unix zip tool: its "data" is the link's target, not a photo. The
 * type is the Unix mode in the high 16 bits of the external attributes when the host byte is 3
 * (Unix), APPNOTE 4.4.2 and 4.4.15: https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT
 */
export function isSymlink(entry: Pick<ZipEntry, 'madeBy' | 'attributes'>): boolean {
  if (entry.madeBy === undefined || entry.attributes === undefined || entry.madeBy >>> 8 !== 3) return false;
  return ((entry.attributes >>> 16) & 0o170000) === 0o120000;
}

export function isSupportedMethod(entry: Pick<ZipEntry, 'method'>): boolean {
  return entry.method === 0 || entry.method === 8;
}

function readAt(reader: RandomAccessReader, position: number, length: number): Promise<Buffer> {
  return reader.read(position, length);
}

function readU64(buffer: Buffer, at: number): number {
  const value = buffer.readBigUInt64LE(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipFormatError('a ZIP64 size is out of range');
  return Number(value);
}

const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

/** Info-ZIP Unicode Path extra field (0x7075): version 1, CRC-32 of the raw name, UTF-8 name. */
function unicodePathOf(raw: Buffer, extra: Buffer): Buffer | undefined {
  for (let at = 0; at + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(at);
    const size = extra.readUInt16LE(at + 2);
    if (id === 0x7075 && size >= 5 && extra[at + 4] === 1 && extra.readUInt32LE(at + 5) === crc32(raw)) {
      return extra.subarray(at + 9, at + 4 + size);
    }
    at += 4 + size;
  }
  return undefined;
}

function decodeName(raw: Buffer, flags: number, extra: Buffer): string {
  if ((flags & 0x800) !== 0) return raw.toString('utf8');
  const unicode = unicodePathOf(raw, extra);
  if (unicode !== undefined) return unicode.toString('utf8');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    let text = '';
    for (const byte of raw) text += byte < 0x80 ? String.fromCharCode(byte) : CP437_HIGH[byte - 0x80];
    return text;
  }
}

/** What the end record's search reads first: the record, a ZIP64 locator and record, a short comment. */
const SHORT_TAIL = 4096;

/** Where the end-of-central-directory record starts in `tail`, or -1. */
function findEndRecord(tail: Buffer): number {
  for (let at = tail.length - 22; at >= 0; at--) {
    if (tail.readUInt32LE(at) === EOCD && at + 22 + tail.readUInt16LE(at + 20) <= tail.length) return at;
  }
  return -1;
}

/**
 * A central directory held compactly: every name in one buffer (UTF-8, as decoded), the numbers
 * in typed arrays, and no object per entry until one is asked for. A Takeout part of 200,000
 * entries held one ZipEntry (about 100 bytes and a heap number for its CRC-32), its name and the
 * objects made from them per entry while it was listed, most of them sidecars and files outside
 * the Photos folder whose entry is never read again (docs/performance.md).
 */
export class ZipIndex {
  constructor(
    readonly count: number,
    private names: Buffer | undefined,
    /** Where each name ends in `names` (it starts where the one before it ends). */
    private readonly nameEnds: Uint32Array,
    private readonly offsets: Float64Array | Uint32Array,
    private readonly compressedSizes: Float64Array | Uint32Array,
    private readonly sizes: Float64Array | Uint32Array,
    private readonly crcs: Uint32Array,
    private readonly methods: Uint16Array,
    private readonly flagBits: Uint16Array,
    private readonly madeBys: Uint16Array,
    private readonly attributeBits: Uint32Array,
  ) {}

  /** The name of entry `index` as stored, decoded (a new string each call); forgetNames ends it. */
  name(index: number): string {
    if (!this.names) throw new Error('the names of this zip directory were let go');
    return this.names.toString('utf8', index === 0 ? 0 : this.nameEnds[index - 1], this.nameEnds[index]);
  }

  /**
   * Lets the names go (a Takeout's entry names are some 60 bytes each) once the caller holds the
   * ones it needs: `entry` then takes the name it is given.
   */
  forgetNames(): void {
    this.names = undefined;
  }

  size(index: number): number {
    return small(this.sizes[index] as number);
  }

  crc32(index: number): number {
    return this.crcs[index] as number;
  }

  method(index: number): number {
    return this.methods[index] as number;
  }

  isEncrypted(index: number): boolean {
    return isEncrypted({ flags: this.flagBits[index] as number });
  }

  isSymlink(index: number): boolean {
    return isSymlink({ madeBy: this.madeBys[index], attributes: this.attributeBits[index] });
  }

  /**
   * Entry `index` as an object of its own (made on each call: the caller keeps it if it needs
   * to). After forgetNames its name is `name`, the one the caller kept.
   */
  entry(index: number, name?: string): ZipEntry {
    return {
      name: this.names || name === undefined ? this.name(index) : name,
      method: this.methods[index] as number,
      flags: this.flagBits[index] as number,
      crc32: this.crcs[index] as number,
      compressedSize: small(this.compressedSizes[index] as number),
      size: small(this.sizes[index] as number),
      localHeaderOffset: small(this.offsets[index] as number),
      index,
      madeBy: this.madeBys[index] as number,
      attributes: this.attributeBits[index] as number,
    };
  }

  /** Every entry as an object, in directory order. */
  entries(): ZipEntry[] {
    return Array.from({ length: this.count }, (_, index) => this.entry(index));
  }
}

/**
 * A number read from a Float64Array as the small integer it usually is: kept in an object as it
 * comes, it is a heap number of 16 bytes of its own.
 */
function small(value: number): number {
  return value <= 0x3fffffff ? value | 0 : value;
}

/** Reads the central directory. Throws ZipFormatError when the part is not a complete zip. */
export async function readZipDirectory(handle: RandomAccessReader): Promise<ZipEntry[]> {
  return (await readZipIndex(handle)).entries();
}

/** Reads the central directory into a ZipIndex. Throws ZipFormatError when the part is not a complete zip. */
export async function readZipIndex(handle: RandomAccessReader): Promise<ZipIndex> {
  const fileSize = handle.size;
  // The end record is the last 22 bytes unless the archive has a comment (up to 64 KiB; Google
  // writes none): look in a short tail first, so a part read over the network does not fetch
  // 64 KiB of its last entries for a directory of a few KB. The whole window only if needed.
  let tail: Buffer = Buffer.alloc(0);
  let eocdAt = -1;
  for (const window of [SHORT_TAIL, 22 + 0xffff]) {
    const tailLength = Math.min(fileSize, window);
    if (tailLength <= tail.length) break;
    tail = await readAt(handle, fileSize - tailLength, tailLength);
    eocdAt = findEndRecord(tail);
    if (eocdAt !== -1) break;
  }
  if (eocdAt === -1) {
    throw new ZipFormatError(
      'its end (the zip central directory) is missing: the file is truncated or not a zip',
    );
  }
  let total = tail.readUInt16LE(eocdAt + 10);
  let directorySize = tail.readUInt32LE(eocdAt + 12);
  let directoryOffset = tail.readUInt32LE(eocdAt + 16);
  const locatorAt = eocdAt - 20;
  if (locatorAt >= 0 && tail.readUInt32LE(locatorAt) === ZIP64_LOCATOR) {
    const zip64At = readU64(tail, locatorAt + 8);
    const record = await readAt(handle, zip64At, 56);
    if (record.length < 56 || record.readUInt32LE(0) !== ZIP64_EOCD) {
      throw new ZipFormatError('its ZIP64 end record is damaged');
    }
    total = readU64(record, 32);
    directorySize = readU64(record, 40);
    directoryOffset = readU64(record, 48);
  }
  if (directoryOffset + directorySize > fileSize) {
    throw new ZipFormatError('its central directory points past the end of the file: the file is truncated');
  }
  const directory = await readAt(handle, directoryOffset, directorySize);
  return parseDirectory(directory, total, fileSize);
}

/** The bytes `name(index)` decodes to the name decodeName gives: raw UTF-8, or the name re-encoded. */
function nameBytes(raw: Buffer, flags: number, extra: Buffer): Buffer {
  if ((flags & 0x800) !== 0) return raw;
  if (unicodePathOf(raw, extra) === undefined && isUtf8(raw)) {
    // TextDecoder drops a leading byte order mark; toString('utf8') would keep it.
    return raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? raw.subarray(3) : raw;
  }
  return Buffer.from(decodeName(raw, flags, extra), 'utf8');
}

/** Four bytes a number instead of eight when all fit (a part under 4 GiB: Google's default 2 GB). */
function narrow(values: Float64Array): Float64Array | Uint32Array {
  for (const value of values) if (value > MAX_U32) return values;
  return Uint32Array.from(values);
}

function parseDirectory(directory: Buffer, total: number, fileSize: number): ZipIndex {
  // Every record is at least 46 bytes: a directory claiming more entries than fit is damaged at
  // the first that does not fit (thrown below), and no array is sized by the claim.
  const capacity = Math.min(total, Math.floor(directory.length / 46));
  const nameEnds = new Uint32Array(capacity);
  const offsets = new Float64Array(capacity);
  const compressedSizes = new Float64Array(capacity);
  const sizes = new Float64Array(capacity);
  const crcs = new Uint32Array(capacity);
  const methods = new Uint16Array(capacity);
  const flagBits = new Uint16Array(capacity);
  const madeBys = new Uint16Array(capacity);
  const attributeBits = new Uint32Array(capacity);
  // Names are within the records, so they fit in as many bytes as the directory, but for CP437
  // names re-encoded (up to 3 bytes a character): the buffer grows then.
  let names = Buffer.allocUnsafe(Math.max(64, directory.length));
  let used = 0;
  let at = 0;
  for (let index = 0; index < total; index++) {
    if (at + 46 > directory.length || directory.readUInt32LE(at) !== CENTRAL) {
      throw new ZipFormatError(`its central directory is damaged at entry ${index + 1} of ${total}`);
    }
    const madeBy = directory.readUInt16LE(at + 4);
    const attributes = directory.readUInt32LE(at + 38);
    const flags = directory.readUInt16LE(at + 8);
    const method = directory.readUInt16LE(at + 10);
    const crc = directory.readUInt32LE(at + 16);
    let compressedSize = directory.readUInt32LE(at + 20);
    let size = directory.readUInt32LE(at + 24);
    const nameLength = directory.readUInt16LE(at + 28);
    const extraLength = directory.readUInt16LE(at + 30);
    const commentLength = directory.readUInt16LE(at + 32);
    let localHeaderOffset = directory.readUInt32LE(at + 42);
    const raw = directory.subarray(at + 46, at + 46 + nameLength);
    const extra = directory.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength);
    // ZIP64 extended information (0x0001): only the fields that are 0xFFFFFFFF above, in this order.
    for (let offset = 0; offset + 4 <= extra.length; ) {
      const id = extra.readUInt16LE(offset);
      const length = extra.readUInt16LE(offset + 2);
      if (id === 0x0001) {
        let field = offset + 4;
        const end = offset + 4 + length;
        if (size === MAX_U32 && field + 8 <= end) {
          size = readU64(extra, field);
          field += 8;
        }
        if (compressedSize === MAX_U32 && field + 8 <= end) {
          compressedSize = readU64(extra, field);
          field += 8;
        }
        if (localHeaderOffset === MAX_U32 && field + 8 <= end) localHeaderOffset = readU64(extra, field);
      }
      offset += 4 + length;
    }
    if (localHeaderOffset + compressedSize > fileSize) {
      throw new ZipFormatError(`entry ${index + 1} points past the end of the file: the file is truncated`);
    }
    const name = nameBytes(raw, flags, extra);
    if (used + name.length > names.length) {
      const larger = Buffer.allocUnsafe(Math.max(2 * names.length, used + name.length));
      names.copy(larger, 0, 0, used);
      names = larger;
    }
    used += name.copy(names, used);
    nameEnds[index] = used;
    offsets[index] = localHeaderOffset;
    compressedSizes[index] = compressedSize;
    sizes[index] = size;
    crcs[index] = crc;
    methods[index] = method;
    flagBits[index] = flags;
    madeBys[index] = madeBy;
    attributeBits[index] = attributes;
    at += 46 + nameLength + extraLength + commentLength;
  }
  // A copy of the names alone: the directory read (and the buffer's spare room) is let go.
  return new ZipIndex(
    capacity,
    Buffer.from(names.subarray(0, used)),
    nameEnds,
    narrow(offsets),
    narrow(compressedSizes),
    narrow(sizes),
    crcs,
    methods,
    flagBits,
    madeBys,
    attributeBits,
  );
}

/** Where a stored entry's bytes start in the part (for positional reads). */
export async function zipEntryDataOffset(handle: RandomAccessReader, entry: ZipEntry): Promise<number> {
  const header = await readAt(handle, entry.localHeaderOffset, 30);
  if (header.length < 30 || header.readUInt32LE(0) !== LOCAL) {
    throw new Error(`the local header of "${entry.name}" is damaged`);
  }
  return entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
}

/**
 * The entry's bytes, decompressed. Throws when the data is damaged or shorter than the directory
 * says, and after the last chunk when the CRC-32 does not match. Stops reading on early return.
 */
export async function* readZipEntry(
  reader: RandomAccessReader,
  entry: ZipEntry,
  options: { signal?: AbortSignal; limit?: number } = {},
): AsyncGenerator<Uint8Array> {
  if (isEncrypted(entry)) throw new Error(`"${entry.name}" is encrypted`);
  if (!isSupportedMethod(entry))
    throw new Error(`"${entry.name}" uses unsupported compression method ${entry.method}`);
  const start = await zipEntryDataOffset(reader, entry);
  if (entry.compressedSize === 0) {
    if (entry.size !== 0) throw new Error(`"${entry.name}" is empty but should hold ${entry.size} bytes`);
    return;
  }
  const stored = reader.stream(start, start + entry.compressedSize - 1, options.signal);
  // A stored entry's bytes are read as the reader gives them: no stream around them (a Readable
  // and its async iterator per chunk, which also joins what it has buffered into a new Buffer).
  let raw: Readable | undefined;
  let inflate: ReturnType<typeof createInflateRaw> | undefined;
  if (entry.method === 8) {
    const inflater = createInflateRaw();
    raw = Readable.from(stored, { objectMode: false });
    raw.on('error', (error) => inflater.destroy(error));
    raw.pipe(inflater);
    inflate = inflater;
  }
  let crc = 0;
  let total = 0;
  try {
    for await (const chunk of (inflate ?? stored) as AsyncIterable<Uint8Array>) {
      // Before the chunk is used: the `finally` below destroys the inflater at once.
      if (total + chunk.length > entry.size) throw new ZipEntryTooLongError(entry);
      crc = crc32(chunk, crc);
      total += chunk.length;
      yield chunk;
      if (options.limit !== undefined && total >= options.limit) return;
    }
  } finally {
    raw?.destroy();
    inflate?.destroy();
  }
  if (total !== entry.size) {
    throw new Error(`"${entry.name}" gave ${total} bytes instead of ${entry.size}: the archive is damaged`);
  }
  if (crc !== entry.crc32) throw new Error(`"${entry.name}" failed its CRC-32 check: the archive is damaged`);
}

/**
 * The first `limit` bytes of an entry (all of it when smaller), read through an open handle with
 * one or two positional reads and no stream: used at listing time for sidecars and EXIF heads,
 * where tens of thousands of small reads must stay cheap. A whole entry is CRC-checked.
 */
export async function readZipEntryPrefix(
  handle: RandomAccessReader,
  entry: ZipEntry,
  limit: number,
): Promise<Buffer> {
  if (isEncrypted(entry) || !isSupportedMethod(entry)) throw new Error(`"${entry.name}" cannot be read`);
  const whole = entry.size <= limit;
  // Deflate of photos barely shrinks them; a little more input than output wanted is enough.
  const wanted = whole ? entry.compressedSize : Math.min(entry.compressedSize, limit + 64 * 1024);
  const guess = 30 + Buffer.byteLength(entry.name) + 256;
  let chunk = await readAt(handle, entry.localHeaderOffset, guess + wanted);
  if (chunk.length < 30 || chunk.readUInt32LE(0) !== LOCAL)
    throw new Error(`the local header of "${entry.name}" is damaged`);
  const start = 30 + chunk.readUInt16LE(26) + chunk.readUInt16LE(28);
  if (start + wanted > chunk.length) chunk = await readAt(handle, entry.localHeaderOffset, start + wanted);
  const data = chunk.subarray(start, start + wanted);
  if (data.length < wanted) throw new Error(`"${entry.name}" is cut short: the archive is truncated`);
  const bytes = entry.method === 0 ? data : inflatePrefix(data, entry, whole ? entry.size : limit, whole);
  if (whole) {
    if (bytes.length !== entry.size || crc32(bytes) !== entry.crc32) {
      throw new Error(`"${entry.name}" failed its CRC-32 check: the archive is damaged`);
    }
    return bytes;
  }
  return bytes.subarray(0, limit);
}

/**
 * Inflates `data` to at most `cap` bytes. A whole entry may not give more than its declared size
 * (zlib stops at `maxOutputLength` and throws). A head may: a few KB can inflate to gigabytes
 * (deflate expands about a thousand times), so then only as much input is inflated as fits.
 */
function inflatePrefix(data: Buffer, entry: ZipEntry, cap: number, whole: boolean): Buffer {
  if (whole) {
    try {
      return inflateRawSync(data, { maxOutputLength: Math.max(1, cap) });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
        throw new ZipEntryTooLongError(entry);
      throw error;
    }
  }
  // Honest photos barely shrink, so the first try holds them; room for twice the head otherwise.
  const room = 2 * cap + data.length;
  const inflate = (length: number): Buffer | undefined => {
    try {
      return inflateRawSync(data.subarray(0, length), {
        finishFlush: constants.Z_SYNC_FLUSH,
        maxOutputLength: room,
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return undefined;
      throw error;
    }
  };
  const all = inflate(data.length);
  if (all) return all.subarray(0, cap);
  // The most input whose output fits: one input byte gives at most a few KB, so that is past `cap`.
  let fits = 0;
  let over = data.length;
  let best: Buffer = Buffer.alloc(0);
  while (over - fits > 1) {
    const middle = Math.floor((fits + over) / 2);
    const bytes = inflate(middle);
    if (bytes) {
      fits = middle;
      best = bytes;
    } else {
      over = middle;
    }
  }
  return best.subarray(0, cap);
}
