/**
 * The emulator's media items and the bytes its media host serves for them.
 *
 * Bytes are built from a shared random block plus a per-item header that stamps the item id, so
 * every item's content is distinct and deterministic, yet building 300 × 4 MB or 5,000 × 30 KB
 * costs almost no CPU and a 2 GB video streams by yielding the same shared buffer again and again.
 *
 * Over 300 lines because the served files (a decodable JPEG, a minimal MP4) are built here byte
 * by byte, beside the generator whose items they belong to.
 */
import { createHash } from 'node:crypto';
import { createRandom, hashString } from './random.ts';

export type EmulatorItemKind = 'photo' | 'video';
export type VideoStatus = 'PROCESSING' | 'READY' | 'FAILED';

export interface EmulatorItem {
  id: string;
  filename: string;
  mimeType: string;
  /** RFC 3339 UTC, e.g. "2024-03-05T10:20:30Z". */
  creationTime: string;
  kind: EmulatorItemKind;
  /** Bytes served for `=d` / `=dv`. Raised to the format's minimum (a few hundred bytes) when smaller. */
  size: number;
  /** Videos only; default READY. */
  videoStatus?: VideoStatus;
  /** Default true: the Library API returns only items created by the app (since 2025-03-31). */
  appCreated?: boolean;
  width?: number;
  height?: number;
  cameraMake?: string;
  cameraModel?: string;
  description?: string;
  /**
   * EXIF DateTimeOriginal written into a photo ("YYYY:MM:DD HH:MM:SS"); default: creationTime in UTC.
   * `false` writes no EXIF segment.
   */
  exifDateTime?: string | false;
  /** EXIF OffsetTimeOriginal ("+02:00"); omitted by default. */
  exifOffset?: string;
}

export interface GenerateOptions {
  year: number;
  count: number;
  /** Default 30,000 bytes. */
  photoSize?: number;
  /** Default 200,000 bytes. */
  videoSize?: number;
  /** Every Nth item is a video; default 10. 0 means no videos. */
  videoEvery?: number;
  seed?: number;
  /** Extra items not created by the app (visible to the Picker, not to the Library API); default 0. */
  nonAppCreated?: number;
  /** Extra app-created items dated in the year before (outside the year filter); default 0. */
  otherYear?: number;
  /**
   * An instant (ms since 1970) no item may be later than: the demo passes now, so a demo of this
   * year shows no photo taken in the future. Items then spread over the whole days of the year
   * that have passed (in UTC), so runs on one day see the same items. Default: the whole year.
   */
  notAfter?: number;
}

const dayMs = 86_400_000;

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

const idAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function itemId(seed: number, index: number): string {
  // Google's media item ids are long opaque base64url strings such as "AF1QipN…". A fast hash keeps
  // generating 50,000 items cheap.
  let id = 'AF1Qip';
  for (let part = 0; part < 5; part++) {
    let value = hashString(`emulator-item:${seed}:${index}:${part}`);
    for (let n = 0; n < 8; n++) {
      id += idAlphabet[value % 64];
      value = Math.floor(value / 64);
    }
  }
  return id;
}

/**
 * Items spread over the days of `year` (UTC), newest last. Includes a few videos, one PROCESSING
 * video, and two different items with the same filename on one day (items 0 and 1).
 */
export function generateItems(options: GenerateOptions): EmulatorItem[] {
  const seed = options.seed ?? 1;
  const random = createRandom(seed);
  const photoSize = options.photoSize ?? 30_000;
  const videoSize = options.videoSize ?? 200_000;
  const videoEvery = options.videoEvery ?? 10;
  const daysInYear = isLeap(options.year) ? 366 : 365;
  const yearStart = Date.UTC(options.year, 0, 1);
  const notAfter = options.notAfter ?? Number.POSITIVE_INFINITY;
  // The whole days of the year that are over by `notAfter`; at least one (1 January itself).
  const days = Math.max(1, Math.min(daysInYear, Math.floor((notAfter - yearStart) / dayMs)));
  const items: EmulatorItem[] = [];

  const makeItem = (index: number, at: number, counter: number, appCreated: boolean): EmulatorItem => {
    const isVideo = videoEvery > 0 && index % videoEvery === videoEvery - 1;
    const creationTime = new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const item: EmulatorItem = {
      id: itemId(seed, index),
      filename: isVideo ? `VID_${pad(counter, 4)}.mp4` : `IMG_${pad(counter, 4)}.jpg`,
      mimeType: isVideo ? 'video/mp4' : 'image/jpeg',
      creationTime,
      kind: isVideo ? 'video' : 'photo',
      size: isVideo ? videoSize : photoSize,
      width: isVideo ? 1920 : 4032,
      height: isVideo ? 1080 : 3024,
      cameraMake: 'Google',
      cameraModel: 'Pixel 8',
    };
    if (isVideo) item.videoStatus = 'READY';
    if (!appCreated) item.appCreated = false;
    return item;
  };

  for (let index = 0; index < options.count; index++) {
    const day = Math.floor((index * days) / options.count);
    const secondOfDay = Math.floor(random() * 86_400);
    let at = yearStart + day * dayMs + secondOfDay * 1000;
    if (index === 1 && items[0]) {
      // Same day and same filename as item 0, a different moment: the layout must keep both.
      const first = Date.parse(items[0].creationTime);
      const firstDayStart = first - (first % dayMs);
      at = firstDayStart + ((first - firstDayStart + 3_600_000) % dayMs);
    }
    // Only on 1 January, before one whole day has passed, can a moment still lie ahead.
    at = Math.min(at, notAfter);
    const item = makeItem(index, at, index + 1, true);
    if (index === 1 && items[0] && item.kind === items[0].kind) item.filename = items[0].filename;
    items.push(item);
  }
  // One video stays PROCESSING (the second, so the first is always downloadable).
  const videos = items.filter((item) => item.kind === 'video');
  if (videos[1]) videos[1].videoStatus = 'PROCESSING';
  let extraIndex = options.count;
  for (let n = 0; n < (options.nonAppCreated ?? 0); n++, extraIndex++) {
    const at = yearStart + Math.floor(random() * daysInYear * 86_400) * 1000;
    items.push(makeItem(extraIndex, at, extraIndex + 1, false));
  }
  const previousStart = Date.UTC(options.year - 1, 0, 1);
  const previousDays = isLeap(options.year - 1) ? 366 : 365;
  for (let n = 0; n < (options.otherYear ?? 0); n++, extraIndex++) {
    const at = previousStart + Math.floor(random() * previousDays * 86_400) * 1000;
    items.push(makeItem(extraIndex, at, extraIndex + 1, true));
  }
  return items;
}

// ---------------------------------------------------------------------------------------------
// Bytes

/** Shared random payload (seeded, so identical in every process). */
let sharedBlock: Buffer | undefined;
function getSharedBlock(): Buffer {
  if (!sharedBlock) {
    const size = 1 << 20;
    const block = Buffer.allocUnsafe(size);
    const random = createRandom(0x5eed_b10c);
    for (let offset = 0; offset < size; offset += 4)
      block.writeUInt32LE((random() * 4294967296) >>> 0, offset);
    sharedBlock = block;
  }
  return sharedBlock;
}

/** One full JPEG COM segment (marker, length, 65,533 payload bytes), reused for padding. */
const comPayloadMax = 65_533;
const comSegmentSize = comPayloadMax + 4;
let sharedComSegment: Buffer | undefined;
function getComSegment(): Buffer {
  if (!sharedComSegment) {
    const segment = Buffer.allocUnsafe(comSegmentSize);
    segment[0] = 0xff;
    segment[1] = 0xfe;
    segment.writeUInt16BE(comPayloadMax + 2, 2);
    getSharedBlock().copy(segment, 4, 0, comPayloadMax);
    sharedComSegment = segment;
  }
  return sharedComSegment;
}

/** A tiny valid baseline JPEG body: one 8×8 grey block (DQT, SOF0, DHT×2, SOS, scan, EOI). */
const jpegImage = Buffer.from(
  [
    // DQT: table 0, all ones
    [0xff, 0xdb, 0x00, 0x43, 0x00, ...new Array<number>(64).fill(1)],
    // SOF0: 8 bits, 8×8, one component (id 1, 1×1 sampling, table 0)
    [0xff, 0xc0, 0x00, 0x0b, 0x08, 0x00, 0x08, 0x00, 0x08, 0x01, 0x01, 0x11, 0x00],
    // DHT: DC table 0 and AC table 0, each a single 1-bit code for symbol 0
    [0xff, 0xc4, 0x00, 0x14, 0x00, 0x01, ...new Array<number>(15).fill(0), 0x00],
    [0xff, 0xc4, 0x00, 0x14, 0x10, 0x01, ...new Array<number>(15).fill(0), 0x00],
    // SOS, then the scan: DC diff 0 ("0"), EOB ("0"), padded with ones; then EOI
    [0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00, 0x3f, 0xff, 0xd9],
  ].flat(),
);

/** The small JPEG served for thumbnails (`=wN-hM`, no suffix, `=d` on a video). */
export const thumbnailJpeg = Buffer.concat([Buffer.from([0xff, 0xd8]), jpegImage]);

function exifDateTimeOf(item: EmulatorItem): string | undefined {
  if (item.exifDateTime === false) return undefined;
  if (item.exifDateTime) return item.exifDateTime;
  const date = new Date(item.creationTime);
  if (Number.isNaN(date.getTime())) return undefined;
  return `${date.getUTCFullYear()}:${pad(date.getUTCMonth() + 1)}:${pad(date.getUTCDate())} ${pad(
    date.getUTCHours(),
  )}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
}

/** APP1 Exif with IFD0 → Exif IFD holding DateTimeOriginal (and OffsetTimeOriginal when given). Big-endian TIFF. */
function exifSegment(dateTime: string, offset: string | undefined): Buffer {
  const dateText = Buffer.from(`${dateTime.slice(0, 19).padEnd(19, ' ')}\0`, 'latin1'); // 20 bytes
  const offsetText = offset ? Buffer.from(`${offset.slice(0, 6)}\0`, 'latin1') : undefined; // 7 bytes
  const entries = offsetText ? 2 : 1;
  const ifd0Offset = 8;
  const exifIfdOffset = ifd0Offset + 2 + 12 + 4;
  const dataOffset = exifIfdOffset + 2 + 12 * entries + 4;
  const tiffSize = dataOffset + dateText.length + (offsetText?.length ?? 0);
  const tiff = Buffer.alloc(tiffSize);
  tiff.write('MM', 0, 'latin1');
  tiff.writeUInt16BE(42, 2);
  tiff.writeUInt32BE(ifd0Offset, 4);
  // IFD0: ExifIFDPointer
  tiff.writeUInt16BE(1, ifd0Offset);
  tiff.writeUInt16BE(0x8769, ifd0Offset + 2);
  tiff.writeUInt16BE(4, ifd0Offset + 4); // LONG
  tiff.writeUInt32BE(1, ifd0Offset + 6);
  tiff.writeUInt32BE(exifIfdOffset, ifd0Offset + 10);
  tiff.writeUInt32BE(0, ifd0Offset + 14);
  // Exif IFD
  tiff.writeUInt16BE(entries, exifIfdOffset);
  let entry = exifIfdOffset + 2;
  tiff.writeUInt16BE(0x9003, entry); // DateTimeOriginal
  tiff.writeUInt16BE(2, entry + 2); // ASCII
  tiff.writeUInt32BE(dateText.length, entry + 4);
  tiff.writeUInt32BE(dataOffset, entry + 8);
  dateText.copy(tiff, dataOffset);
  if (offsetText) {
    entry += 12;
    tiff.writeUInt16BE(0x9011, entry); // OffsetTimeOriginal
    tiff.writeUInt16BE(2, entry + 2);
    tiff.writeUInt32BE(offsetText.length, entry + 4);
    tiff.writeUInt32BE(dataOffset + dateText.length, entry + 8);
    offsetText.copy(tiff, dataOffset + dateText.length);
  }
  tiff.writeUInt32BE(0, exifIfdOffset + 2 + 12 * entries);
  const header = Buffer.from('Exif\0\0', 'latin1');
  const segmentHeader = Buffer.alloc(4);
  segmentHeader[0] = 0xff;
  segmentHeader[1] = 0xe1;
  segmentHeader.writeUInt16BE(2 + header.length + tiff.length, 2);
  return Buffer.concat([segmentHeader, header, tiff]);
}

function comHeader(payloadLength: number): Buffer {
  const header = Buffer.alloc(4);
  header[0] = 0xff;
  header[1] = 0xfe;
  header.writeUInt16BE(payloadLength + 2, 2);
  return header;
}

/** Filler: a view of the shared block at an offset derived from the item (no copy). */
function filler(length: number, salt: number): Buffer {
  const block = getSharedBlock();
  const start = salt % (block.length - length);
  return block.subarray(start, start + length);
}

function saltOf(item: EmulatorItem): number {
  return Number.parseInt(createHash('sha1').update(item.id).digest('hex').slice(0, 8), 16);
}

/**
 * How an item's bytes are laid out: small per-item buffers and views of the shared block before and
 * after `repeats` copies of one shared chunk. Nothing here allocates in proportion to the item size.
 */
export interface ContentPlan {
  before: Buffer[];
  repeatChunk: Buffer;
  repeats: number;
  after: Buffer[];
  size: number;
}

const planCache = new Map<string, ContentPlan>();

function stampText(item: EmulatorItem): Buffer {
  return Buffer.from(`photo-backup emulator item ${item.id} ${item.filename} ${item.creationTime}\n`, 'utf8');
}

const sum = (buffers: Buffer[]) => buffers.reduce((total, buffer) => total + buffer.length, 0);

function photoPlan(item: EmulatorItem): ContentPlan {
  // SOI, APP1 Exif, COM(stamp + filler), COM padding × n, [COM rest], DQT…EOI (a tiny 8×8 image).
  const soi = Buffer.from([0xff, 0xd8]);
  const dateTime = exifDateTimeOf(item);
  const exif = dateTime ? exifSegment(dateTime, item.exifOffset) : Buffer.alloc(0);
  const stamp = stampText(item);
  const fixed = soi.length + exif.length + 4 + stamp.length + jpegImage.length;
  const padding = Math.max(0, item.size - fixed);
  const repeats = Math.floor(padding / comSegmentSize);
  const rest = padding - repeats * comSegmentSize;
  const salt = saltOf(item);
  const before: Buffer[] = [soi, exif];
  const after: Buffer[] = [];
  if (rest > 0 && stamp.length + rest <= comPayloadMax) {
    before.push(comHeader(stamp.length + rest), stamp, filler(rest, salt));
  } else {
    before.push(comHeader(stamp.length), stamp);
    // rest > comPayloadMax - stamp.length ≥ 4, so one more COM segment holds it.
    if (rest > 0) after.push(comHeader(rest - 4), filler(rest - 4, salt));
  }
  after.push(jpegImage);
  const repeatChunk = getComSegment();
  const size = sum(before) + repeats * repeatChunk.length + sum(after);
  return { before, repeatChunk, repeats, after, size };
}

function boxHeader(type: string, size: number): Buffer {
  if (size <= 0xffffffff) {
    const header = Buffer.alloc(8);
    header.writeUInt32BE(size, 0);
    header.write(type, 4, 'latin1');
    return header;
  }
  const header = Buffer.alloc(16);
  header.writeUInt32BE(1, 0);
  header.write(type, 4, 'latin1');
  header.writeBigUInt64BE(BigInt(size), 8);
  return header;
}

function videoPlan(item: EmulatorItem): ContentPlan {
  // ftyp(isom) + free(stamp + padding) + mdat(small): a minimal ISO BMFF file.
  const brands = Buffer.concat([
    Buffer.from('isom', 'latin1'),
    Buffer.from([0, 0, 2, 0]),
    Buffer.from('isomiso2mp41', 'latin1'),
  ]);
  const ftyp = Buffer.concat([boxHeader('ftyp', 8 + brands.length), brands]);
  const stamp = stampText(item);
  const mdatPayload = createHash('sha256').update(item.id).digest();
  const mdat = Buffer.concat([boxHeader('mdat', 8 + mdatPayload.length), mdatPayload]);
  let headerSize = 8;
  let paddingBytes = Math.max(0, item.size - ftyp.length - headerSize - stamp.length - mdat.length);
  if (headerSize + stamp.length + paddingBytes > 0xffffffff) {
    headerSize = 16; // 64-bit largesize
    paddingBytes -= 8;
  }
  const freeHeader = boxHeader('free', headerSize + stamp.length + paddingBytes);
  const block = getSharedBlock();
  const repeats = Math.floor(paddingBytes / block.length);
  const rest = paddingBytes - repeats * block.length;
  const before = [ftyp, freeHeader, stamp];
  const after = rest > 0 ? [filler(rest, saltOf(item)), mdat] : [mdat];
  const size = sum(before) + repeats * block.length + sum(after);
  return { before, repeatChunk: block, repeats, after, size };
}

/** The layout of an item's bytes (cached by what shapes it). */
export function planContent(item: EmulatorItem): ContentPlan {
  const key = [
    item.id,
    item.kind,
    item.size,
    item.creationTime,
    item.exifDateTime,
    item.exifOffset,
    item.filename,
  ].join('\u0000');
  let plan = planCache.get(key);
  if (!plan) {
    plan = item.kind === 'video' ? videoPlan(item) : photoPlan(item);
    if (planCache.size > 50_000) planCache.clear();
    planCache.set(key, plan);
  }
  return plan;
}

/** The smallest file the layout can make for the item (without building it: startup stays cheap). */
function minimumSize(item: EmulatorItem): number {
  const stamp = Buffer.byteLength(stampText(item));
  if (item.kind === 'video') return 28 + 8 + stamp + 40; // ftyp + free header + stamp + mdat
  const dateTime = exifDateTimeOf(item);
  const entries = item.exifOffset ? 2 : 1;
  const exif = dateTime ? 4 + 6 + 8 + 18 + 2 + 12 * entries + 4 + 20 + (item.exifOffset ? 7 : 0) : 0;
  return 2 + exif + 4 + stamp + jpegImage.length;
}

/** The exact number of bytes served for the item (its `size`, or the format minimum when larger). */
export function contentSize(item: EmulatorItem): number {
  return Math.max(item.size, minimumSize(item));
}

/** The chunks of an item's bytes, from byte offset `start` on. Chunks are views, never copies. */
export function* contentChunks(item: EmulatorItem, start = 0): Generator<Buffer> {
  const plan = planContent(item);
  let skip = start;
  function* emit(chunks: Buffer[]): Generator<Buffer> {
    for (const chunk of chunks) {
      if (chunk.length === 0) continue;
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      yield skip > 0 ? chunk.subarray(skip) : chunk;
      skip = 0;
    }
  }
  yield* emit(plan.before);
  const repeated = plan.repeats * plan.repeatChunk.length;
  if (skip >= repeated) {
    skip -= repeated;
  } else {
    const whole = Math.floor(skip / plan.repeatChunk.length);
    skip -= whole * plan.repeatChunk.length;
    for (let n = whole; n < plan.repeats; n++) yield* emit([plan.repeatChunk]);
  }
  yield* emit(plan.after);
}

/** Whole content in memory (tests; avoid for huge items). */
export function contentBuffer(item: EmulatorItem): Buffer {
  return Buffer.concat([...contentChunks(item)]);
}

/** Normalizes an item as the emulator stores it: size raised to what is actually served. */
export function normalizeItem(item: EmulatorItem): EmulatorItem {
  const normalized: EmulatorItem = { ...item };
  if (normalized.kind === 'video' && !normalized.videoStatus) normalized.videoStatus = 'READY';
  normalized.size = contentSize(normalized);
  return normalized;
}
