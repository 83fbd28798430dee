/**
 * QuickTime and MP4 capture dates (Apple's QuickTime File Format): `mvhd` creation_time, classic
 * `udta` `©day` atoms, and `meta` with `keys` + `ilst` (key `com.apple.quicktime.creationdate`).
 */

import {
  type ExifCapture,
  inferOffsetMinutes,
  parseExifDateTime,
  parseExifOffset,
  type WallClock,
  wallClockAsUtcMs,
} from '../dates.ts';
import type { ByteReader } from './byte-readers.ts';
import { u16, u32 } from './bytes.ts';
import {
  type BoxHeader,
  childBoxes,
  fileBoxes,
  MAX_CHILDREN,
  parseHeader,
  readBox,
  uint,
} from './iso-boxes.ts';

const MAX_UDTA_BYTES = 1024 * 1024;
const MAX_MVHD_BYTES = 4096;

/** Seconds from 1904-01-01 (the QuickTime epoch) to 1970-01-01. */
const QUICKTIME_EPOCH_OFFSET = 2_082_844_800;

/** What a movie says about its capture time, in the order it is trusted. */
export interface MovieDates {
  /** Apple `com.apple.quicktime.creationdate`, then `©day` (iTunes `ilst`, then classic `udta`). */
  texts: string[];
  /** `mvhd` creation_time: UTC, no offset. */
  created?: WallClock;
}

export async function movieDate(reader: ByteReader, moov: BoxHeader): Promise<ExifCapture | undefined> {
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
