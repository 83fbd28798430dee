/**
 * A small EXIF reader: just enough to date a photo that has no usable sidecar. It reads the first
 * bytes of a JPEG (APP1 "Exif") or a TIFF-based raw file (DNG, NEF…), follows IFD0 → ExifIFD and
 * returns DateTimeOriginal (0x9003) and OffsetTimeOriginal (0x9011). It never throws: broken EXIF
 * is common (gpth#143 shows how varied real files are) and only means "no EXIF date".
 *
 * HEIC/HEIF/AVIF and MP4/MOV keep their metadata in ISO-BMFF boxes: media-dates.ts finds a HEIF
 * file's Exif item and hands its TIFF bytes to `readExifDates`, and reads QuickTime dates itself.
 */

export interface ExifDateTags {
  dateTimeOriginal?: string;
  offsetTimeOriginal?: string;
}

/** How many leading bytes of a file are enough: an APP1 segment is at most 64 KiB. */
export const EXIF_HEAD_BYTES = 128 * 1024;

const TAG_EXIF_IFD = 0x8769;
const TAG_DATE_TIME_ORIGINAL = 0x9003;
const TAG_OFFSET_TIME_ORIGINAL = 0x9011;
const TYPE_ASCII = 2;
const TYPE_LONG = 4;

export function readExifDates(head: Uint8Array): ExifDateTags | undefined {
  try {
    const tiff = findTiff(head);
    return tiff ? readTiff(tiff) : undefined;
  } catch {
    return undefined;
  }
}

function findTiff(head: Uint8Array): Uint8Array | undefined {
  if (isTiffHeader(head, 0)) return head;
  if (head[0] !== 0xff || head[1] !== 0xd8) return undefined;
  let offset = 2;
  while (offset + 4 <= head.length) {
    if (head[offset] !== 0xff) return undefined;
    const marker = head[offset + 1] as number;
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
    const length = ((head[offset + 2] as number) << 8) | (head[offset + 3] as number);
    if (length < 2) return undefined;
    const start = offset + 4;
    const end = Math.min(offset + 2 + length, head.length);
    if (marker === 0xe1 && end - start >= 14 && ascii(head, start, 6) === 'Exif\0\0') {
      return head.subarray(start + 6, end);
    }
    offset += 2 + length;
  }
  return undefined;
}

function isTiffHeader(bytes: Uint8Array, at: number): boolean {
  const order = ascii(bytes, at, 2);
  if (order === 'II') return bytes[at + 2] === 42 && bytes[at + 3] === 0;
  if (order === 'MM') return bytes[at + 2] === 0 && bytes[at + 3] === 42;
  return false;
}

function readTiff(tiff: Uint8Array): ExifDateTags | undefined {
  if (!isTiffHeader(tiff, 0)) return undefined;
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const little = tiff[0] === 0x49;
  const ifd0 = view.getUint32(4, little);
  const exifPointer = readEntries(view, ifd0, little).get(TAG_EXIF_IFD);
  if (!exifPointer || exifPointer.type !== TYPE_LONG) return undefined;
  const exifIfd = view.getUint32(exifPointer.valueOffset, little);
  const entries = readEntries(view, exifIfd, little);
  const result: ExifDateTags = {};
  const original = readAscii(view, entries.get(TAG_DATE_TIME_ORIGINAL), little);
  if (original !== undefined) result.dateTimeOriginal = original;
  const offset = readAscii(view, entries.get(TAG_OFFSET_TIME_ORIGINAL), little);
  if (offset !== undefined) result.offsetTimeOriginal = offset;
  return result.dateTimeOriginal === undefined ? undefined : result;
}

interface IfdEntry {
  type: number;
  count: number;
  /** Where the value (≤ 4 bytes) or the pointer to it sits. */
  valueOffset: number;
}

function readEntries(view: DataView, ifdOffset: number, little: boolean): Map<number, IfdEntry> {
  const entries = new Map<number, IfdEntry>();
  if (ifdOffset < 8 || ifdOffset + 2 > view.byteLength) return entries;
  const count = view.getUint16(ifdOffset, little);
  for (let index = 0; index < count; index++) {
    const at = ifdOffset + 2 + index * 12;
    if (at + 12 > view.byteLength) break;
    entries.set(view.getUint16(at, little), {
      type: view.getUint16(at + 2, little),
      count: view.getUint32(at + 4, little),
      valueOffset: at + 8,
    });
  }
  return entries;
}

function readAscii(view: DataView, entry: IfdEntry | undefined, little: boolean): string | undefined {
  if (!entry || entry.type !== TYPE_ASCII || entry.count === 0 || entry.count > 64) return undefined;
  const start = entry.count <= 4 ? entry.valueOffset : view.getUint32(entry.valueOffset, little);
  if (start + entry.count > view.byteLength) return undefined;
  const bytes = new Uint8Array(view.buffer, view.byteOffset + start, entry.count);
  const text = ascii(bytes, 0, bytes.length);
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
