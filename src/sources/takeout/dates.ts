/**
 * Pure date decisions for Takeout items: the sidecar's photoTakenTime, EXIF wall-clock times and
 * file-name patterns, and turning a wall-clock time into an instant in a chosen zone.
 * Quirks: EXIF DateTimeOriginal is a wall clock without a zone (OffsetTimeOriginal, when written,
 * gives it); some cameras name files in UTC; a sidecar's timestamp is an instant in Unix seconds.
 *
 * One file on purpose (about 300 lines): every date rule of a Takeout item and their order of
 * precedence read in one place; split, the precedence would be spread over several files.
 */

import { zoneOffsetMinutes } from '../../timezone.ts';
import type { DateSource } from '../source.ts';

/** A local clock reading with no zone attached (EXIF DateTimeOriginal, a camera's file name). */
export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export interface FileNameDate {
  wall: WallClock;
  /** True when the name is known to be written in UTC (Pixel `PXL_`, immich-go `pixel.go`). */
  utc: boolean;
  /** Set when the name carries its own offset, e.g. `Bebop2_20180719194940+0200.mp4`. */
  offsetMinutes?: number;
}

/** A capture time the file carries itself: EXIF (JPEG, TIFF, HEIF) or QuickTime dates (MP4/MOV). */
export interface ExifCapture {
  wall: WallClock;
  /** From OffsetTimeOriginal (`+02:00`) or a QuickTime date's own offset, minutes east of UTC. */
  offsetMinutes?: number;
  /**
   * The wall clock is UTC and the local offset is unknown: QuickTime `mvhd` creation_time, or a
   * `©day` written with `Z`. It names an instant; the caller's zone picks the day.
   */
  utc?: boolean;
}

export interface ResolvedDate {
  takenAt?: Date;
  utcOffsetMinutes?: number;
  dateSource: DateSource;
}

/**
 * `photoTakenTime.timestamp`: signed epoch seconds in UTC, usually a string. `""` and `"0"` mean
 * missing (immich-go `json.go`); `formatted` is localized text and is never parsed.
 */
export function parseSidecarTimestamp(value: unknown): Date | undefined {
  let seconds: number;
  if (typeof value === 'number') {
    seconds = value;
  } else if (typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) {
    seconds = Number(value.trim());
  } else {
    return undefined;
  }
  if (!Number.isSafeInteger(seconds) || seconds === 0) return undefined;
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** Reads `{ photoTakenTime: { timestamp } }` from a parsed sidecar. */
export function sidecarTakenAt(sidecar: unknown): Date | undefined {
  if (!isRecord(sidecar)) return undefined;
  const taken = sidecar.photoTakenTime;
  return isRecord(taken) ? parseSidecarTimestamp(taken.timestamp) : undefined;
}

export function makeWallClock(
  year: number,
  month: number,
  day: number,
  hour = 0,
  minute = 0,
  second = 0,
): WallClock | undefined {
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const probe = new Date(Date.UTC(2000, month - 1, day));
  probe.setUTCFullYear(year);
  if (probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day) return undefined;
  return { year, month, day, hour, minute, second };
}

/** The wall clock read as if it were UTC, in ms (used for arithmetic between clocks). */
export function wallClockAsUtcMs(wall: WallClock): number {
  const date = new Date(Date.UTC(2000, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second));
  date.setUTCFullYear(wall.year);
  return date.getTime();
}

/**
 * EXIF `YYYY:MM:DD HH:MM:SS`. Cameras with no clock set write placeholders; those are skipped
 * like gpth Neo does (`exif_date_extractor.dart`): 0000…, 1904-01-01, 1970-01-01 00:00:00,
 * 2036-01-01 23:59:59, years before 1901.
 */
export function parseExifDateTime(text: string): WallClock | undefined {
  const match = /^\s*(\d{4})[:\-/.\\](\d{2})[:\-/.\\](\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?/.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map((part) => Number(part ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (year < 1901) return undefined;
  if (year === 1904 && month === 1 && day === 1) return undefined;
  if (year === 1970 && month === 1 && day === 1 && hour === 0 && minute === 0 && second === 0)
    return undefined;
  if (year === 2036 && month === 1 && day === 1 && hour === 23 && minute === 59 && second === 59)
    return undefined;
  return makeWallClock(year, month, day, hour, minute, second);
}

/** EXIF OffsetTimeOriginal: `+02:00`, `-05:30`, `Z`. */
export function parseExifOffset(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === 'Z') return 0;
  const match = /^([+-])(\d{2}):?(\d{2})$/.exec(trimmed);
  if (!match) return undefined;
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  if (minutes > 14 * 60) return undefined;
  return match[1] === '-' ? -minutes : minutes;
}

/**
 * DateTimeOriginal with its OffsetTimeOriginal; else CreateDate (DateTimeDigitized) with
 * OffsetTimeDigitized, which is all a scanner or a scanning app writes. A placeholder
 * DateTimeOriginal counts as missing.
 */
export function exifCapture(tags: {
  dateTimeOriginal?: string;
  offsetTimeOriginal?: string;
  createDate?: string;
  offsetTimeDigitized?: string;
}): ExifCapture | undefined {
  const pairs: Array<[string | undefined, string | undefined]> = [
    [tags.dateTimeOriginal, tags.offsetTimeOriginal],
    [tags.createDate, tags.offsetTimeDigitized],
  ];
  for (const [text, offsetText] of pairs) {
    const wall = text === undefined ? undefined : parseExifDateTime(text);
    if (!wall) continue;
    const offsetMinutes = offsetText === undefined ? undefined : parseExifOffset(offsetText);
    return offsetMinutes === undefined ? { wall } : { wall, offsetMinutes };
  }
  return undefined;
}

/** Camera naming schemes that write UTC, not local time. Pixel: opdude/google-photo-exporter-metadata-fixer#3. */
const UTC_NAME_PREFIXES = [/^PXL_/i];

/**
 * One pattern covers gpth's six (`guess_extractor.dart`) and immich-go's (`namesdate.go`):
 * YYYY MM DD with optional single separators, then optionally hh mm [ss] and an offset. The year
 * must not follow a digit, so ids like `1581270440551-…` are not read as dates.
 */
const NAME_DATE =
  /(?<!\d)(1[89]\d\d|20\d\d)([-_.]?)(0\d|1[0-2])\2([0-3]\d)(?:[-_T ]?([01]\d|2[0-3])[-_.:]?([0-5]\d)(?:[-_.:]?([0-5]\d))?(?:([+-])(\d{2}):?(\d{2})(?!\d))?)?/g;

function guessFromSegment(segment: string): FileNameDate | undefined {
  for (const match of segment.matchAll(NAME_DATE)) {
    const [, year, , month, day, hour, minute, second, sign, offsetHours, offsetMinutes] = match;
    const wall = makeWallClock(
      Number(year),
      Number(month),
      Number(day),
      Number(hour ?? 0),
      Number(minute ?? 0),
      Number(second ?? 0),
    );
    if (!wall) continue;
    const utc = UTC_NAME_PREFIXES.some((prefix) => prefix.test(segment));
    if (sign !== undefined && second !== undefined) {
      const minutes = Number(offsetHours) * 60 + Number(offsetMinutes);
      if (minutes <= 14 * 60) return { wall, utc, offsetMinutes: sign === '-' ? -minutes : minutes };
    }
    return { wall, utc };
  }
  return undefined;
}

/**
 * Phone camera and app names that carry the capture instant as Unix milliseconds: burst shots
 * (`burst_1710670925123_COVER.jpg`, `BURST1710670925123.jpg`), some Android cameras
 * (`IMG_1710670925123.jpg`), Facebook saves (`FB_IMG_…`), screenshots. Only behind these prefixes,
 * so an id such as `1581270440551-d356c6b2-….jpg` is not read as a time.
 */
const NAME_UNIX_MS = /^(?:IMG|VID|PANO|MVIMG|BURST|FB_IMG|Screenshot)[_-]?(\d{13})(?!\d)/i;
/** 2000-01-01 to 2100-01-01: milliseconds outside are an id, not a capture time. */
const UNIX_MS_RANGE = [946_684_800_000, 4_102_444_800_000] as const;

function guessFromUnixMs(name: string): FileNameDate | undefined {
  const match = NAME_UNIX_MS.exec(name);
  if (!match) return undefined;
  const ms = Number(match[1]);
  if (ms < UNIX_MS_RANGE[0] || ms >= UNIX_MS_RANGE[1]) return undefined;
  const date = new Date(ms);
  const wall = makeWallClock(
    date.getUTCFullYear(),
    date.getUTCMonth() + 1,
    date.getUTCDate(),
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
  );
  return wall ? { wall, utc: true } : undefined;
}

/**
 * Guesses a wall-clock date from a file name, then from its folder names, innermost first, like
 * immich-go's TakeTimeFromPath (old Takeouts had `2005-02-05/` day folders, gpth#7). A folder
 * must hold a whole date: `Photos from 2024` or `2022.11` give nothing (never a year as a day).
 */
export function guessDateFromPath(pathInside: string): FileNameDate | undefined {
  const segments = pathInside.split('/').filter((segment) => segment !== '');
  for (let index = segments.length - 1; index >= 0; index--) {
    const segment = segments[index] as string;
    const name = index === segments.length - 1 ? segment.replace(/\.[^.]{1,5}$/, '') : segment;
    const found =
      (index === segments.length - 1 ? guessFromUnixMs(name) : undefined) ?? guessFromSegment(name);
    if (found) return index === segments.length - 1 ? found : { ...found, utc: false };
  }
  return undefined;
}

/**
 * The instant a wall-clock time names in `timeZone` ('UTC' or IANA). Two guesses cover
 * DST: the one that reads back as the same wall clock wins (the earlier in an overlap); in a gap
 * (a time that never existed) the clock is read with the offset from before the change.
 */
export function wallClockToInstant(wall: WallClock, timeZone: string): Date {
  const asUtc = wallClockAsUtcMs(wall);
  const day = 86_400_000;
  // Zone offsets a day before and after bracket any DST change near this clock reading.
  const guesses = [asUtc - day, asUtc, asUtc + day].map(
    (ms) => asUtc - zoneOffsetMinutes(timeZone, ms) * 60_000,
  );
  const valid = guesses.filter((ms) => ms + zoneOffsetMinutes(timeZone, ms) * 60_000 === asUtc);
  return new Date(valid.length > 0 ? Math.min(...valid) : (guesses[0] as number));
}

/** An offset read from EXIF wall clock minus the sidecar instant: a 15-minute multiple within ±14 h. */
export function inferOffsetMinutes(wall: WallClock, instant: Date): number | undefined {
  const minutes = (wallClockAsUtcMs(wall) - instant.getTime()) / 60_000;
  if (!Number.isInteger(minutes) || minutes % 15 !== 0 || Math.abs(minutes) > 14 * 60) return undefined;
  return minutes === 0 ? 0 : minutes;
}

export interface DateEvidence {
  /** photoTakenTime of the item's own or borrowed sidecar. */
  sidecar?: Date;
  exif?: ExifCapture;
  fileName?: FileNameDate;
  /** Zone for wall-clock times with no offset: 'UTC' or IANA. */
  timeZone: string;
}

/**
 * Sidecar → EXIF (or a video's QuickTime dates) → file name → undated, the order gpth uses
 * (`bin/gpth.dart`: JSON → EXIF → file-name guess).
 * The upload time (`creationTime`) is never a capture date. With a sidecar instant, EXIF only
 * lends its offset: OffsetTimeOriginal, or the wall clock minus the instant when that is a
 * plausible zone offset (a whole quarter hour, at most 14 hours). A UTC clock (QuickTime mvhd) lends nothing.
 */
export function resolveCaptureDate(evidence: DateEvidence): ResolvedDate {
  const { sidecar, exif, fileName, timeZone } = evidence;
  if (sidecar) {
    // A UTC clock has no offset to lend (and would always "infer" 0).
    const offset =
      exif && !exif.utc ? (exif.offsetMinutes ?? inferOffsetMinutes(exif.wall, sidecar)) : undefined;
    return offset === undefined
      ? { takenAt: sidecar, dateSource: 'sidecar' }
      : { takenAt: sidecar, utcOffsetMinutes: offset, dateSource: 'sidecar' };
  }
  if (exif) {
    if (exif.utc) return { takenAt: new Date(wallClockAsUtcMs(exif.wall)), dateSource: 'exif' };
    if (exif.offsetMinutes !== undefined) {
      const takenAt = new Date(wallClockAsUtcMs(exif.wall) - exif.offsetMinutes * 60_000);
      return { takenAt, utcOffsetMinutes: exif.offsetMinutes, dateSource: 'exif' };
    }
    return { takenAt: wallClockToInstant(exif.wall, timeZone), dateSource: 'exif' };
  }
  if (fileName) {
    if (fileName.offsetMinutes !== undefined) {
      const takenAt = new Date(wallClockAsUtcMs(fileName.wall) - fileName.offsetMinutes * 60_000);
      return { takenAt, utcOffsetMinutes: fileName.offsetMinutes, dateSource: 'filename' };
    }
    const zone = fileName.utc ? 'UTC' : timeZone;
    return { takenAt: wallClockToInstant(fileName.wall, zone), dateSource: 'filename' };
  }
  return { dateSource: 'none' };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
