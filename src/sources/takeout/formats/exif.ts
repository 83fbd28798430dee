/**
 * A small EXIF reader: just enough to date a photo that has no usable sidecar. It finds the TIFF
 * structure wherever the format keeps it and follows IFD0 → ExifIFD for DateTimeOriginal (0x9003)
 * with OffsetTimeOriginal (0x9011), and CreateDate (DateTimeDigitized, 0x9004) with
 * OffsetTimeDigitized (0x9012), which scanners write instead. It never throws: broken EXIF is
 * common (gpth#143 shows how varied real files are) and only means "no EXIF date".
 *
 * Where the TIFF structure sits, read through a ByteReader so nothing is read whole:
 * - JPEG: the APP1 `Exif` segment, found segment by segment (each header gives the next one's
 *   offset) until the image data starts, so a 200 KB ICC profile (APP2) or Photoshop block
 *   (APP13) before it costs one small read each.
 * - TIFF-based raw: the file itself. DNG, NEF, CR2, ARW, PEF, SRW use TIFF's magic 42; Olympus
 *   ORF uses `IIRO`/`IIRS`/`MMOR` and Panasonic RW2 `IIU\0`, with the same IFDs behind. The Exif
 *   IFD is read at its offset, however far into the file.
 * - PNG: the `eXIf` chunk (PNG 3rd edition); WebP: the `EXIF` chunk of the RIFF container.
 * HEIC/HEIF/AVIF and MP4/MOV keep their metadata in ISO-BMFF boxes: media-dates.ts finds a HEIF
 * file's Exif item and hands its TIFF bytes to `readExifDates`, and reads QuickTime dates itself.
 */

import { EMPTY, u16, u32 } from './bytes.ts';

/** Random access to one file's bytes (see byte-readers.ts for the folder, zip and stream ones). */
export interface ExifByteReader {
  readonly size: number;
  /** Up to `length` bytes at `offset`; fewer, or none, where the reader cannot reach. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

export interface ExifDateTags {
  dateTimeOriginal?: string;
  offsetTimeOriginal?: string;
  /** DateTimeDigitized, named CreateDate by exiftool. */
  createDate?: string;
  offsetTimeDigitized?: string;
}

/** How many leading bytes of a file are enough when only a head can be read: an APP1 segment is at most 64 KiB. */
export const EXIF_HEAD_BYTES = 128 * 1024;

const TAG_EXIF_IFD = 0x8769;
const TAGS: Array<[number, keyof ExifDateTags]> = [
  [0x9003, 'dateTimeOriginal'],
  [0x9011, 'offsetTimeOriginal'],
  [0x9004, 'createDate'],
  [0x9012, 'offsetTimeDigitized'],
];
const TYPE_ASCII = 2;
const TYPE_LONG = 4;
const TYPE_IFD = 13;

/** Caps: segments or chunks walked before giving up, entries of one IFD, one APP1/EXIF payload. */
const MAX_SEGMENTS = 4096;
const MAX_IFD_ENTRIES = 1024;
const MAX_EXIF_PAYLOAD = 1024 * 1024;

function memoryReader(bytes: Uint8Array): ExifByteReader {
  return {
    size: bytes.length,
    read: async (offset, length) =>
      offset >= 0 && offset < bytes.length ? bytes.subarray(offset, offset + length) : EMPTY,
  };
}

/** The date tags of an in-memory JPEG, TIFF, PNG or WebP (or its first bytes), or bare TIFF bytes. */
export function readExifDates(bytes: Uint8Array): Promise<ExifDateTags | undefined> {
  return readFileExifDates(memoryReader(bytes));
}

/** The containers this module reads, told by their first bytes. */
export function exifContainer(head: Uint8Array): 'jpeg' | 'tiff' | 'png' | 'webp' | undefined {
  if (head[0] === 0xff && head[1] === 0xd8) return 'jpeg';
  if (tiffOrder(head, 0) !== undefined) return 'tiff';
  if (ascii(head, 0, 8) === '\x89PNG\r\n\x1a\n') return 'png';
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 4) === 'WEBP') return 'webp';
  return undefined;
}

export async function readFileExifDates(reader: ExifByteReader): Promise<ExifDateTags | undefined> {
  try {
    const head = await reader.read(0, 16);
    const kind = exifContainer(head);
    if (kind === 'tiff') return await readTiff(reader, 0);
    const payload =
      kind === 'jpeg'
        ? await jpegExif(reader)
        : kind === 'png'
          ? await chunkPayload(reader, 8, 'eXIf', pngChunk)
          : kind === 'webp'
            ? await chunkPayload(reader, 12, 'EXIF', riffChunk)
            : undefined;
    if (!payload) return undefined;
    // WebP and PNG should hold bare TIFF; some writers keep JPEG's `Exif\0\0` before it.
    const tiff = ascii(payload, 0, 6) === 'Exif\0\0' ? payload.subarray(6) : payload;
    return await readTiff(memoryReader(tiff), 0);
  } catch {
    return undefined;
  }
}

/** The payload of the first APP1 `Exif` segment before the image data (SOS). */
async function jpegExif(reader: ExifByteReader): Promise<Uint8Array | undefined> {
  let offset = 2;
  for (let count = 0; count < MAX_SEGMENTS && offset + 4 <= reader.size; count++) {
    const header = await reader.read(offset, 4);
    if (header.length < 4 || header[0] !== 0xff) return undefined;
    const marker = header[1] as number;
    // Fill bytes, and markers with no length (RSTn, TEM).
    if (marker === 0xff) {
      offset += 1;
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      offset += 2;
      continue;
    }
    // Start of scan or end of image: no metadata follows.
    if (marker === 0xda || marker === 0xd9) return undefined;
    const length = ((header[2] as number) << 8) | (header[3] as number);
    if (length < 2) return undefined;
    if (marker === 0xe1 && length >= 16) {
      const body = await reader.read(offset + 4, length - 2);
      if (ascii(body, 0, 6) === 'Exif\0\0') return body.subarray(6);
    }
    offset += 2 + length;
  }
  return undefined;
}

interface Chunk {
  type: string;
  /** Absolute offset of the data. */
  data: number;
  length: number;
  /** Absolute offset of the next chunk. */
  next: number;
}

/** PNG: 4-byte big-endian length, type, data, CRC. */
async function pngChunk(reader: ExifByteReader, at: number): Promise<Chunk | undefined> {
  const header = await reader.read(at, 8);
  if (header.length < 8) return undefined;
  const length = u32(header, 0, false);
  const type = ascii(header, 4, 4);
  if (type === 'IEND') return undefined;
  return { type, data: at + 8, length, next: at + 12 + length };
}

/** RIFF (WebP): type, 4-byte little-endian length, data padded to an even length. */
async function riffChunk(reader: ExifByteReader, at: number): Promise<Chunk | undefined> {
  const header = await reader.read(at, 8);
  if (header.length < 8) return undefined;
  const length = u32(header, 4, true);
  return { type: ascii(header, 0, 4), data: at + 8, length, next: at + 8 + length + (length % 2) };
}

async function chunkPayload(
  reader: ExifByteReader,
  first: number,
  wanted: string,
  next: (reader: ExifByteReader, at: number) => Promise<Chunk | undefined>,
): Promise<Uint8Array | undefined> {
  let at = first;
  for (let count = 0; count < MAX_SEGMENTS && at + 8 <= reader.size; count++) {
    const chunk = await next(reader, at);
    if (!chunk || chunk.data + chunk.length > reader.size) return undefined;
    if (chunk.type === wanted) {
      if (chunk.length > MAX_EXIF_PAYLOAD) return undefined;
      const payload = await reader.read(chunk.data, chunk.length);
      return payload.length === chunk.length ? payload : undefined;
    }
    at = chunk.next;
  }
  return undefined;
}

/** Byte order of a TIFF header at `at`: TIFF's 42, Olympus ORF's `RO`/`RS`/`OR`, Panasonic RW2's `U`. */
function tiffOrder(bytes: Uint8Array, at: number): boolean | undefined {
  const order = ascii(bytes, at, 2);
  const magic = ascii(bytes, at + 2, 2);
  if (order === 'II' && (magic === '*\0' || magic === 'RO' || magic === 'RS' || magic === 'U\0')) return true;
  if (order === 'MM' && (magic === '\0*' || magic === 'OR')) return false;
  return undefined;
}

interface IfdEntry {
  type: number;
  count: number;
  /** The entry's 4 value bytes: the value itself (≤ 4 bytes) or the offset to it. */
  value: Uint8Array;
}

/**
 * IFD0 → ExifIFD, each read at its offset from the TIFF header at `base`. A few TIFFs keep the
 * date tags in IFD0 itself: they count when the Exif IFD lacks them.
 */
async function readTiff(reader: ExifByteReader, base: number): Promise<ExifDateTags | undefined> {
  const header = await reader.read(base, 8);
  if (header.length < 8) return undefined;
  const little = tiffOrder(header, 0);
  if (little === undefined) return undefined;
  const ifd0 = await readIfd(reader, base, u32(header, 4, little), little);
  const pointer = ifd0.get(TAG_EXIF_IFD);
  const exif =
    pointer && (pointer.type === TYPE_LONG || pointer.type === TYPE_IFD)
      ? await readIfd(reader, base, u32(pointer.value, 0, little), little)
      : new Map<number, IfdEntry>();
  const result: ExifDateTags = {};
  // In file order, Exif IFD first: a forward-only reader cannot step back to a value it passed.
  for (const ifd of [exif, ifd0]) {
    const wanted = TAGS.filter(([tag, name]) => result[name] === undefined && ifd.has(tag)).sort(
      ([a], [b]) => valueOffset(ifd.get(a), little) - valueOffset(ifd.get(b), little),
    );
    for (const [tag, name] of wanted) {
      const text = await readAscii(reader, base, ifd.get(tag), little);
      if (text !== undefined) result[name] = text;
    }
  }
  return result.dateTimeOriginal === undefined && result.createDate === undefined ? undefined : result;
}

async function readIfd(
  reader: ExifByteReader,
  base: number,
  offset: number,
  little: boolean,
): Promise<Map<number, IfdEntry>> {
  const entries = new Map<number, IfdEntry>();
  if (offset < 8 || base + offset + 2 > reader.size) return entries;
  const countBytes = await reader.read(base + offset, 2);
  if (countBytes.length < 2) return entries;
  const count = Math.min(u16(countBytes, 0, little), MAX_IFD_ENTRIES);
  const bytes = await reader.read(base + offset + 2, count * 12);
  for (let at = 0; at + 12 <= bytes.length; at += 12) {
    const tag = u16(bytes, at, little);
    const type = u16(bytes, at + 2, little);
    if (!entries.has(tag))
      entries.set(tag, { type, count: u32(bytes, at + 4, little), value: bytes.subarray(at + 8, at + 12) });
  }
  return entries;
}

/** Where an entry's value sits (0 when it is held in the entry itself). */
function valueOffset(entry: IfdEntry | undefined, little: boolean): number {
  return !entry || entry.count <= 4 ? 0 : u32(entry.value, 0, little);
}

async function readAscii(
  reader: ExifByteReader,
  base: number,
  entry: IfdEntry | undefined,
  little: boolean,
): Promise<string | undefined> {
  if (!entry || entry.type !== TYPE_ASCII || entry.count === 0 || entry.count > 64) return undefined;
  const bytes =
    entry.count <= 4 ? entry.value : await reader.read(base + u32(entry.value, 0, little), entry.count);
  if (bytes.length < entry.count) return undefined;
  const text = ascii(bytes, 0, entry.count);
  const end = text.indexOf('\0');
  return end === -1 ? text : text.slice(0, end);
}

function ascii(bytes: Uint8Array, at: number, length: number): string {
  let text = '';
  for (let index = at; index < at + length && index < bytes.length; index++) {
    text += String.fromCharCode(bytes[index] as number);
  }
  return text;
}
