/**
 * Capture dates from the file itself for ISO-BMFF media: HEIC/HEIF/AVIF stills (their EXIF is an
 * item of the `meta` box) and MP4/MOV videos (QuickTime `moov`). JPEG, TIFF-based raw, PNG and
 * WebP go to exif.ts through the same reader. Used only when a file has no usable sidecar date,
 * or to lend an offset to a sidecar instant.
 *
 * Everything goes through a ByteReader, so a 2 GB video with its `moov` after `mdat` costs a few
 * small reads (a box header, then a jump over the box) and is never read whole. A forward-only
 * reader (a tgz entry streamed in pass 1, a deflated zip entry) gives the same answer when the
 * boxes come in file order; when they do not (a HEIC's `meta` after its `mdat`), the zip entry is
 * inflated again (`reopeningReader`) and the tgz entry held in memory up to a cap (`holdHead`). Every size is checked against its container and the file, box counts
 * and the bytes read into memory are capped, and nothing throws: a broken file is only "no date".
 *
 * Formats: ISO/IEC 14496-12 (boxes, mvhd), ISO/IEC 23008-12 (HEIF items: iinf/infe, iloc, idat),
 * the Exif item payload (4-byte offset to the TIFF header, HEIF Annex A), Apple's QuickTime File
 * Format (udta `©day`, `meta` with `keys` + `ilst`, key `com.apple.quicktime.creationdate`).
 */

import type { FileHandle } from 'node:fs/promises';
import {
  type ExifCapture,
  exifCapture,
  inferOffsetMinutes,
  parseExifDateTime,
  parseExifOffset,
  type WallClock,
  wallClockAsUtcMs,
} from '../dates.ts';
import { EMPTY, u16, u32 } from './bytes.ts';
import { EXIF_HEAD_BYTES, exifContainer, readExifDates, readFileExifDates } from './exif.ts';

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
 * Caps: boxes read one header at a time from the file, boxes or items in a box held in memory
 * (a 48 MP HEIC has a few hundred tile items; a meta box is at most MAX_META_BYTES anyway), and
 * bytes of one box held in memory.
 */
const MAX_BOXES = 512;
const MAX_CHILDREN = 65_536;
const MAX_META_BYTES = 2 * 1024 * 1024;
const MAX_UDTA_BYTES = 1024 * 1024;
const MAX_EXIF_ITEM_BYTES = 1024 * 1024;
const MAX_MVHD_BYTES = 4096;

/** Seconds from 1904-01-01 (the QuickTime epoch) to 1970-01-01. */
const QUICKTIME_EPOCH_OFFSET = 2_082_844_800;

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
export function handleReader(handle: FileHandle, start: number, size: number): ByteReader {
  return {
    size,
    read: async (offset, length) => {
      const end = Math.min(offset + length, size);
      if (offset < 0 || end <= offset) return EMPTY;
      const buffer = Buffer.alloc(end - offset);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, start + offset);
      return buffer.subarray(0, bytesRead);
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

// ---------------------------------------------------------------------------------------------
// Boxes

interface BoxHeader {
  type: string;
  /** Absolute offset of the box. */
  start: number;
  /** Absolute offset of the payload. */
  body: number;
  /** Absolute end as declared; may lie past the container for a truncated or broken file. */
  end: number;
}

function fourcc(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(
    bytes[at] as number,
    bytes[at + 1] as number,
    bytes[at + 2] as number,
    bytes[at + 3] as number,
  );
}

/** An unsigned big-endian integer of 0, 2, 4 or 8 bytes; undefined past 2^53. */
function uint(bytes: Uint8Array, at: number, size: number): number | undefined {
  if (at + size > bytes.length) return undefined;
  if (size === 0) return 0;
  if (size === 2) return u16(bytes, at);
  if (size === 4) return u32(bytes, at);
  if (size === 8) {
    const high = u32(bytes, at);
    if (high > 0x1fffff) return undefined;
    return high * 0x1_0000_0000 + u32(bytes, at + 4);
  }
  return undefined;
}

/**
 * The box header at `at` in `bytes` (whose first byte is at absolute `base`). Size 0 runs to the
 * container's end, size 1 means a 64-bit size follows; anything smaller than its header is broken.
 */
function parseHeader(
  bytes: Uint8Array,
  at: number,
  base: number,
  containerEnd: number,
): BoxHeader | undefined {
  if (at + 8 > bytes.length) return undefined;
  const start = base + at;
  const type = fourcc(bytes, at + 4);
  let size = u32(bytes, at);
  let headerSize = 8;
  if (size === 1) {
    const large = uint(bytes, at + 8, 8);
    if (large === undefined) return undefined;
    size = large;
    headerSize = 16;
  } else if (size === 0) {
    size = containerEnd - start;
  }
  if (size < headerSize) return undefined;
  return { type, start, body: start + headerSize, end: start + size };
}

/** Child boxes of an in-memory container, `[from, to)` relative to `bytes`; stops at the first broken one. */
function* childBoxes(bytes: Uint8Array, from: number, to: number): Generator<BoxHeader> {
  let at = from;
  for (let count = 0; count < MAX_CHILDREN && at + 8 <= to; count++) {
    const header = parseHeader(bytes, at, 0, to);
    if (!header || header.end > to) return;
    yield header;
    at = header.end;
  }
}

/** Child boxes read from the file, `[from, to)` absolute; one small read per header. */
async function* fileBoxes(reader: ByteReader, from: number, to: number): AsyncGenerator<BoxHeader> {
  let at = from;
  for (let count = 0; count < MAX_BOXES && at + 8 <= to; count++) {
    const head = await reader.read(at, 16);
    const header = parseHeader(head, 0, at, to);
    if (!header) return;
    yield header;
    // A box that claims more than its container is the last one we can trust to start here.
    if (header.end > to) return;
    at = header.end;
  }
}

async function readBox(reader: ByteReader, box: BoxHeader, limit: number): Promise<Uint8Array | undefined> {
  const length = Math.min(box.end, reader.size) - box.start;
  if (length > limit || length < 8) return undefined;
  const bytes = await reader.read(box.start, length);
  return bytes.length === length ? bytes : undefined;
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

// ---------------------------------------------------------------------------------------------
// QuickTime / MP4

/** What a movie says about its capture time, in the order it is trusted. */
export interface MovieDates {
  /** Apple `com.apple.quicktime.creationdate`, then `©day` (iTunes `ilst`, then classic `udta`). */
  texts: string[];
  /** `mvhd` creation_time: UTC, no offset. */
  created?: WallClock;
}

async function movieDate(reader: ByteReader, moov: BoxHeader): Promise<ExifCapture | undefined> {
  let created: WallClock | undefined;
  const apple: string[] = [];
  const day: string[] = [];
  const end = Math.min(moov.end, reader.size);
  for await (const child of fileBoxes(reader, moov.body, end)) {
    if (child.type === 'mvhd') {
      const bytes = await readBox(reader, child, MAX_MVHD_BYTES);
      created = (bytes ? mvhdCreated(bytes) : undefined) ?? created;
    } else if (child.type === 'udta') {
      const bytes = await readBox(reader, child, MAX_UDTA_BYTES);
      if (bytes) userDataTexts(bytes, apple, day);
    } else if (child.type === 'meta') {
      const bytes = await readBox(reader, child, MAX_UDTA_BYTES);
      if (bytes) metaTexts(bytes, { body: 8, end: bytes.length }, apple, day);
    }
  }
  const texts = [...apple, ...day];
  return chooseMovieDate(created ? { texts, created } : { texts });
}

/**
 * `mvhd` creation_time: seconds since 1904-01-01 UTC, 32-bit in version 0 and 64-bit in version 1.
 * 0 (the 1904 epoch) is "not set"; 2082844800 is 1970-01-01, a Unix zero written as a QuickTime
 * time; nothing before 1970-01-02 is a real digital video (a Unix time read as 1904-based lands
 * in the 1940s–50s).
 */
export function mvhdCreated(mvhd: Uint8Array): WallClock | undefined {
  const header = parseHeader(mvhd, 0, 0, mvhd.length);
  if (header?.type !== 'mvhd') return undefined;
  const version = mvhd[header.body];
  if (version !== 0 && version !== 1) return undefined;
  const seconds = uint(mvhd, header.body + 4, version === 1 ? 8 : 4);
  if (seconds === undefined || seconds === 0 || seconds === QUICKTIME_EPOCH_OFFSET) return undefined;
  const unixSeconds = seconds - QUICKTIME_EPOCH_OFFSET;
  if (unixSeconds < 86_400) return undefined;
  const date = new Date(unixSeconds * 1000);
  if (Number.isNaN(date.getTime())) return undefined;
  const text = date.toISOString().replace('T', ' ').slice(0, 19);
  // The same sentinels as EXIF (2036-01-01 23:59:59 and friends).
  return parseExifDateTime(text);
}

/** `udta`: classic QuickTime `©day` atoms, and an iTunes-style `meta` (a FullBox) with `ilst`. */
function userDataTexts(udta: Uint8Array, apple: string[], day: string[]): void {
  for (const child of childBoxes(udta, 8, udta.length)) {
    if (child.type === '\xa9day') {
      const text = classicText(udta.subarray(child.body, child.end));
      if (text) day.push(text);
    } else if (child.type === 'meta') {
      metaTexts(udta, child, apple, day);
    }
  }
}

/** A classic user-data text: 16-bit length, 16-bit language, then the text. */
function classicText(payload: Uint8Array): string | undefined {
  if (payload.length >= 4) {
    const length = u16(payload, 0);
    if (length > 0 && 4 + length <= payload.length) return latin1(payload.subarray(4, 4 + length));
  }
  return payload.length > 0 && payload.length <= 64 ? latin1(payload) : undefined;
}

/**
 * A `meta` box: QuickTime's (no version field; `keys` names the `ilst` items) or ISO's FullBox
 * (iTunes `ilst` with `©day`). Which one is told by the first child: a FullBox starts with 4 zero
 * bytes where a child box would start with its size.
 */
function metaTexts(
  bytes: Uint8Array,
  meta: { body: number; end: number },
  apple: string[],
  day: string[],
): void {
  const from = u32(bytes, meta.body) === 0 ? meta.body + 4 : meta.body;
  const keys = new Map<number, string>();
  let ilst: BoxHeader | undefined;
  for (const child of childBoxes(bytes, from, meta.end)) {
    if (child.type === 'keys') readKeys(bytes, child, keys);
    else if (child.type === 'ilst') ilst = child;
  }
  if (!ilst) return;
  for (const item of childBoxes(bytes, ilst.body, ilst.end)) {
    const key = item.type === '\xa9day' ? '\xa9day' : keys.get(u32(bytes, item.start + 4));
    if (key !== '\xa9day' && key !== 'com.apple.quicktime.creationdate') continue;
    for (const data of childBoxes(bytes, item.body, item.end)) {
      // `data`: type indicator (1 = UTF-8), locale, then the value.
      if (data.type !== 'data' || data.body + 8 > data.end) continue;
      const text = utf8(bytes.subarray(data.body + 8, Math.min(data.end, data.body + 8 + 64)));
      (key === '\xa9day' ? day : apple).push(text);
    }
  }
}

function readKeys(bytes: Uint8Array, keys: BoxHeader, into: Map<number, string>): void {
  if (keys.body + 8 > keys.end) return;
  const count = u32(bytes, keys.body + 4);
  let at = keys.body + 8;
  for (let index = 1; index <= count && index <= MAX_CHILDREN && at + 8 <= keys.end; index++) {
    const size = u32(bytes, at);
    if (size < 8 || at + size > keys.end) return;
    into.set(index, latin1(bytes.subarray(at + 8, at + size)));
    at += size;
  }
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .toString('latin1')
    .replace(/\0.*$/s, '');
}

function utf8(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8').replace(/\0.*$/s, '');
}

interface TextDate {
  wall: WallClock;
  offsetMinutes?: number;
  /** Written with `Z`: an instant, the local offset unknown (Android and ffmpeg write UTC this way). */
  utc?: boolean;
}

/**
 * `2024-07-20T18:30:00+0200`, `2024-07-20T18:30:00+02:00`, `2024-07-20T16:30:00.000000Z`,
 * `2024-07-20 18:30:00`. A date without a time (`2024`, iTunes' release year) says nothing.
 */
export function parseMediaDateText(text: string): TextDate | undefined {
  const wall = parseExifDateTime(text);
  if (!wall) return undefined;
  const zone = /\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})\s*$/i.exec(text.trim());
  if (!zone) return { wall };
  const sign = (zone[1] as string).toUpperCase();
  if (sign === 'Z') return { wall, utc: true };
  const offsetMinutes = parseExifOffset(sign);
  return offsetMinutes === undefined ? { wall } : { wall, offsetMinutes };
}

/**
 * A text with its own offset wins (Apple's creationdate, then `©day`); a zone-less text and the
 * mvhd instant together give the offset; else the mvhd instant (UTC, the caller's zone picks the
 * day); else a `Z` text; else a zone-less text, read in the caller's zone like EXIF.
 */
export function chooseMovieDate(dates: MovieDates): ExifCapture | undefined {
  const parsed = dates.texts.map(parseMediaDateText).filter((date) => date !== undefined);
  const withOffset = parsed.find((date) => date.offsetMinutes !== undefined);
  if (withOffset) return { wall: withOffset.wall, offsetMinutes: withOffset.offsetMinutes as number };
  const zoneless = parsed.find((date) => !date.utc);
  if (dates.created) {
    if (zoneless) {
      const offset = inferOffsetMinutes(zoneless.wall, new Date(wallClockAsUtcMs(dates.created)));
      // 0 cannot be told from a UTC time written without its `Z`.
      if (offset !== undefined && offset !== 0) return { wall: zoneless.wall, offsetMinutes: offset };
    }
    return { wall: dates.created, utc: true };
  }
  const utc = parsed.find((date) => date.utc);
  if (utc) return { wall: utc.wall, utc: true };
  return zoneless ? { wall: zoneless.wall } : undefined;
}
