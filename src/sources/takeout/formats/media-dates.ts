/**
 * Capture dates from the file itself for ISO-BMFF media: HEIC/HEIF/AVIF stills (their EXIF is an
 * item of the `meta` box) and MP4/MOV videos (QuickTime `moov`: quicktime-dates.ts). JPEG, TIFF-based raw, PNG and
 * WebP go to exif.ts through the same reader. Used only when a file has no usable sidecar date,
 * or to lend an offset to a sidecar instant.
 *
 * Everything goes through a ByteReader, so a 2 GB video with its `moov` after `mdat` costs a few
 * small reads (a box header, then a jump over the box) and is never read whole. A forward-only
 * reader (a tgz entry streamed in pass 1, a deflated zip entry) gives the same answer when the
 * boxes come in file order; when they do not (a HEIC's `meta` after its `mdat`), the zip entry is
 * inflated again (`reopeningReader`) and the tgz entry held in memory up to a cap (`holdHead`),
 * both in byte-readers.ts. Every size is checked against its container and the file, box counts
 * and the bytes read into memory are capped, and nothing throws: a broken file is only "no date".
 *
 * Formats: ISO/IEC 14496-12 (boxes, mvhd), ISO/IEC 23008-12 (HEIF items: iinf/infe, iloc, idat),
 * the Exif item payload (4-byte offset to the TIFF header, HEIF Annex A).
 */

import { type ExifCapture, exifCapture } from '../dates.ts';
import type { ByteReader } from './byte-readers.ts';
import { EMPTY, u16, u32 } from './bytes.ts';
import { EXIF_HEAD_BYTES, exifContainer, readExifDates, readFileExifDates } from './exif.ts';
import {
  type BoxHeader,
  childBoxes,
  fileBoxes,
  fourcc,
  MAX_CHILDREN,
  parseHeader,
  readBox,
  uint,
} from './iso-boxes.ts';
import { movieDate } from './quicktime-dates.ts';

/** Extensions worth opening for an ISO-BMFF date. `.MP`/`.MV` are Motion Photo MP4 parts (gpth#381). */
const ISO_BMFF_NAME = /\.(heic|heif|hif|avif|mp4|m4v|mov|qt|3gp|3g2|mp|mv)(~\d+)?$/i;

export function mayHaveMediaDate(name: string): boolean {
  return ISO_BMFF_NAME.test(name);
}

const HEIF_STILL_NAME = /\.(heic|heif|hif|avif)(~\d+)?$/i;

/**
 * A HEIF still read from a forward-only stream is held whole up to this size: its `meta` may come
 * after the image data it points into (Samsung phones). Phone HEICs are a few MB.
 */
export const HELD_STILL_BYTES = 32 * 1024 * 1024;

/** How many leading bytes of a forward-only entry to keep for reads that point back. */
export function streamHoldBytes(name: string): number {
  return HEIF_STILL_NAME.test(name) ? HELD_STILL_BYTES : EXIF_HEAD_BYTES;
}

/** A deflated zip entry has no random access: this much is inflated at most to find its `moov`. */
export const MEDIA_STREAM_BUDGET = 64 * 1024 * 1024;

/**
 * Caps on bytes held in memory: a meta box (a 48 MP HEIC has a few hundred tile items, well
 * within it) and one Exif item.
 */
const MAX_META_BYTES = 2 * 1024 * 1024;
const MAX_EXIF_ITEM_BYTES = 1024 * 1024;

/**
 * The capture date a file carries itself: EXIF for JPEG, TIFF-based raw, PNG and WebP, and HEIF
 * stills, QuickTime dates for MP4/MOV. Never throws.
 */
export async function readMediaDate(reader: ByteReader): Promise<ExifCapture | undefined> {
  try {
    const head = await reader.read(0, 16);
    if (head.length < 8) return undefined;
    // A `.HEIC` that is really a JPEG (it happens after edits) is read like one: by its bytes.
    if (exifContainer(head)) return exifCapture((await readFileExifDates(reader)) ?? {});
    return await readIsoBmffDate(reader);
  } catch {
    return undefined;
  }
}

async function readIsoBmffDate(reader: ByteReader): Promise<ExifCapture | undefined> {
  let sawBox = false;
  for await (const box of fileBoxes(reader, 0, reader.size)) {
    if (!sawBox && !/^[\x20-\x7e\xa9]{4}$/.test(box.type)) return undefined;
    sawBox = true;
    // HEIF: the file-level `meta` holds the items, one of them EXIF.
    if (box.type === 'meta') {
      const meta = await readBox(reader, box, MAX_META_BYTES);
      const found = meta ? await heifExifDate(reader, meta) : undefined;
      if (found) return found;
    }
    // QuickTime/MP4: `moov` holds the movie header and the user data.
    if (box.type === 'moov') return await movieDate(reader, box);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// HEIF: the Exif item

interface Extent {
  offset: number;
  length: number;
}

interface ItemLocation {
  constructionMethod: number;
  dataReferenceIndex: number;
  baseOffset: number;
  extents: Extent[];
}

/** `meta` is a FullBox: version and flags come before its children. */
async function heifExifDate(reader: ByteReader, meta: Uint8Array): Promise<ExifCapture | undefined> {
  const header = parseHeader(meta, 0, 0, meta.length);
  if (!header) return undefined;
  let exifItems: number[] = [];
  let locations = new Map<number, ItemLocation>();
  let idat: { from: number; to: number } | undefined;
  for (const child of childBoxes(meta, header.body + 4, meta.length)) {
    if (child.type === 'iinf') exifItems = exifItemIds(meta, child);
    else if (child.type === 'iloc') locations = itemLocations(meta, child);
    else if (child.type === 'idat') idat = { from: child.body, to: child.end };
  }
  for (const id of exifItems) {
    const location = locations.get(id);
    if (location?.dataReferenceIndex !== 0) continue;
    const payload = await itemBytes(reader, meta, location, idat);
    const capture = payload ? exifCapture((await readExifDates(tiffOfExifItem(payload))) ?? {}) : undefined;
    if (capture) return capture;
  }
  return undefined;
}

/** Item ids whose `infe` (version 2 or 3) has item_type 'Exif'. */
function exifItemIds(bytes: Uint8Array, iinf: BoxHeader): number[] {
  const version = bytes[iinf.body];
  const first = iinf.body + 4 + (version === 0 ? 2 : 4);
  const ids: number[] = [];
  for (const infe of childBoxes(bytes, first, iinf.end)) {
    if (infe.type !== 'infe') continue;
    const infeVersion = bytes[infe.body] as number;
    const at = infe.body + 4;
    if (infeVersion === 2 && at + 8 <= infe.end && fourcc(bytes, at + 4) === 'Exif') ids.push(u16(bytes, at));
    if (infeVersion === 3 && at + 10 <= infe.end && fourcc(bytes, at + 6) === 'Exif')
      ids.push(u32(bytes, at));
  }
  return ids;
}

/** `iloc` versions 0–2: field sizes of 0, 4 or 8 bytes, construction method in versions 1 and 2. */
function itemLocations(bytes: Uint8Array, iloc: BoxHeader): Map<number, ItemLocation> {
  const locations = new Map<number, ItemLocation>();
  const version = bytes[iloc.body] as number;
  if (version > 2) return locations;
  let at = iloc.body + 4;
  if (at + 2 > iloc.end) return locations;
  const offsetSize = (bytes[at] as number) >> 4;
  const lengthSize = (bytes[at] as number) & 0x0f;
  const baseOffsetSize = (bytes[at + 1] as number) >> 4;
  const indexSize = version === 0 ? 0 : (bytes[at + 1] as number) & 0x0f;
  const valid = (size: number) => size === 0 || size === 4 || size === 8;
  if (![offsetSize, lengthSize, baseOffsetSize, indexSize].every(valid)) return locations;
  at += 2;
  const view = bytes.subarray(0, iloc.end);
  const count = uint(view, at, version < 2 ? 2 : 4);
  if (count === undefined) return locations;
  at += version < 2 ? 2 : 4;
  for (let item = 0; item < count && item < MAX_CHILDREN; item++) {
    const id = uint(view, at, version < 2 ? 2 : 4);
    at += version < 2 ? 2 : 4;
    let constructionMethod = 0;
    if (version >= 1) {
      const method = uint(view, at, 2);
      if (method === undefined) return locations;
      constructionMethod = method & 0x0f;
      at += 2;
    }
    const dataReferenceIndex = uint(view, at, 2);
    const baseOffset = uint(view, at + 2, baseOffsetSize);
    const extentCount = uint(view, at + 2 + baseOffsetSize, 2);
    if (id === undefined || dataReferenceIndex === undefined || baseOffset === undefined) return locations;
    if (extentCount === undefined) return locations;
    at += 4 + baseOffsetSize;
    const extents: Extent[] = [];
    for (let index = 0; index < extentCount; index++) {
      at += indexSize;
      const offset = uint(view, at, offsetSize);
      const length = uint(view, at + offsetSize, lengthSize);
      if (offset === undefined || length === undefined) return locations;
      at += offsetSize + lengthSize;
      if (extents.length < 16) extents.push({ offset, length });
    }
    locations.set(id, { constructionMethod, dataReferenceIndex, baseOffset, extents });
  }
  return locations;
}

/** The item's bytes: in the file (method 0) or in `idat` (method 1), extents joined, capped. */
async function itemBytes(
  reader: ByteReader,
  meta: Uint8Array,
  location: ItemLocation,
  idat: { from: number; to: number } | undefined,
): Promise<Uint8Array | undefined> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const extent of location.extents) {
    const want = MAX_EXIF_ITEM_BYTES - total;
    if (want <= 0) break;
    const start = location.baseOffset + extent.offset;
    if (location.constructionMethod === 0) {
      // Length 0: the item runs to the end of the file.
      const end = extent.length === 0 ? reader.size : start + extent.length;
      if (end > reader.size || start >= end) return undefined;
      const bytes = await reader.read(start, Math.min(end - start, want));
      if (bytes.length < Math.min(end - start, want)) return undefined;
      parts.push(bytes);
      total += bytes.length;
    } else if (location.constructionMethod === 1 && idat) {
      const from = idat.from + start;
      const to = extent.length === 0 ? idat.to : from + extent.length;
      if (to > idat.to || from >= to) return undefined;
      parts.push(meta.subarray(from, Math.min(to, from + want)));
      total += Math.min(to - from, want);
    } else {
      return undefined;
    }
  }
  return parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

function isTiffStart(head: Uint8Array): boolean {
  return (
    (head[0] === 0x49 && head[1] === 0x49 && head[2] === 42 && head[3] === 0) ||
    (head[0] === 0x4d && head[1] === 0x4d && head[2] === 0 && head[3] === 42)
  );
}

/** The Exif item: a 4-byte big-endian offset to the TIFF header, then (usually) `Exif\0\0` and TIFF. */
function tiffOfExifItem(payload: Uint8Array): Uint8Array {
  if (payload.length < 12) return EMPTY;
  const skip = u32(payload, 0);
  const at = 4 + skip;
  if (at + 8 <= payload.length && isTiffStart(payload.subarray(at, at + 4))) return payload.subarray(at);
  // Some writers get the offset wrong; the TIFF header is still within the first bytes.
  for (let index = 4; index < Math.min(payload.length - 8, 64); index++) {
    if (isTiffStart(payload.subarray(index, index + 4))) return payload.subarray(index);
  }
  return EMPTY;
}
