/**
 * Pure decisions about where an item goes: its day folder and a file name that is safe on
 * Linux, macOS and Windows. No IO here.
 */
import { createHash } from 'node:crypto';
import { usageError } from './errors.ts';
import { dayAtOffset, dayInZone } from './timezone.ts';

/** The folder for items with no capture date (only with --include-undated). */
export const UNDATED_FOLDER = 'undated';

/** Bytes kept for a name, below every common file system's 255-byte limit, leaving room for a suffix and a temp prefix. */
const MAX_NAME_BYTES = 180;
/** A name safeFileName returns as it is (see there); at most 100 characters, checked apart. */
const PLAIN_NAME = /^[A-Za-z0-9_~-](?:[A-Za-z0-9_~-]|\.(?!\.))*[A-Za-z0-9_~-]$|^[A-Za-z0-9_~-]$/;

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])$/i;
// Characters Windows forbids in names, plus both path separators; control characters are handled apart.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what must be replaced
const FORBIDDEN = /[<>:"/\\|?*\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
// Bidirectional controls show a name reversed from some point on (`IMG_\u202Egpj.exe` reads as
// IMG_exe.jpg), and zero-width characters make two names look the same: they are removed.
// https://www.unicode.org/reports/tr9/#Explicit_Directional_Formatting_Characters
const INVISIBLE = /[\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]/g;

/** Parses the `year` argument: four digits, from 1800 to next year. */
export function parseYear(input: string | undefined, now: Date): number {
  const thisYear = now.getFullYear();
  if (input === undefined) return thisYear;
  if (!/^\d{4}$/.test(input)) {
    throw usageError(`Year "${input}" is not a year: write it as four digits, for example 2024.`);
  }
  const year = Number(input);
  if (year < 1800 || year > thisYear + 1) {
    throw usageError(`Year ${year} is out of range: give a year from 1800 to ${thisYear + 1}.`);
  }
  return year;
}

/**
 * The capture's local day as `YYYY-MM-DD`: with the item's own UTC offset when the source knows
 * it (EXIF), else in the chosen zone. Never the bare UTC date unless the zone is UTC.
 */
export function dayOf(instant: Date, timeZone: string, utcOffsetMinutes?: number): string {
  if (utcOffsetMinutes !== undefined) return dayAtOffset(instant, utcOffsetMinutes);
  return dayInZone(instant, timeZone);
}

function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Cuts text to at most `maxBytes` of UTF-8 without splitting a character. */
function cutToBytes(text: string, maxBytes: number): string {
  if (utf8Length(text) <= maxBytes) return text;
  let result = '';
  for (const char of text) {
    if (utf8Length(result + char) > maxBytes) break;
    result += char;
  }
  return result;
}

/** Splits `name.ext`; a leading dot is not an extension, nor is an extension longer than 10. */
export function splitExtension(name: string): { stem: string; extension: string } {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || name.length - dot > 11) return { stem: name, extension: '' };
  return { stem: name.slice(0, dot), extension: name.slice(dot) };
}

/**
 * A file name that is safe on Linux, macOS and Windows and cannot leave its folder: no path
 * separators or `..`, no control, bidirectional or zero-width characters, no reserved names like
 * `CON`, no trailing dots or spaces, no leading dot (hidden files, and our own `.photo-backup`),
 * not too long. NFC, so the same name from two sources is the same name on disk.
 */
export function safeFileName(raw: string): string {
  // Most names (a camera's `IMG_0042.jpg`, a name made safe before) need none of the steps below:
  // short ASCII letters, digits and `_-~.`, not starting with a dot, no two dots in a row (the stem
  // would end in one), not ending in one, and no Windows device name. Same answer, without the
  // normalization and the eight regular expressions (about 1 µs a name, twice per saved file with --albums).
  if (raw.length <= 100 && PLAIN_NAME.test(raw) && !WINDOWS_RESERVED.test(raw.split('.')[0] as string))
    return raw;
  let name = raw.normalize('NFC').replace(INVISIBLE, '').replace(FORBIDDEN, '_').trim();
  name = name.replace(/[. ]+$/, '');
  name = name.replace(/^\.+/, (dots) => '_'.repeat(dots.length));
  if (name === '') name = 'unnamed';
  let { stem, extension } = splitExtension(name);
  // Windows reserves the device name before the first dot too: `NUL.tar.gz` and `CON .jpg` are NUL and CON.
  // https://learn.microsoft.com/windows/win32/fileio/naming-a-file
  if (WINDOWS_RESERVED.test((stem.split('.')[0] ?? '').replace(/ +$/, ''))) stem = `_${stem}`;
  extension = cutToBytes(extension, 16);
  stem = cutToBytes(stem, MAX_NAME_BYTES - utf8Length(extension)).replace(/[. ]+$/, '');
  if (stem === '') stem = 'unnamed';
  return stem + extension;
}

/** A short suffix derived from the item id: deterministic, so every run picks the same name. */
export function idSuffix(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 8);
}

/** The name for the second item of a day that wants an already taken name: `IMG_1.jpg` → `IMG_1~1a2b3c4d.jpg`. */
export function suffixedName(safeName: string, id: string): string {
  const { stem, extension } = splitExtension(safeName);
  return `${stem}~${idSuffix(id)}${extension}`;
}

/**
 * Two names that one file system may treat as the same file compare equal here: case-insensitive
 * (macOS, Windows) and normalization-insensitive (macOS). Used to keep one item from overwriting another.
 */
export function nameKey(relativePath: string): string {
  return relativePath.normalize('NFC').toLowerCase();
}

/** The relative path (always with `/`) of a file in a day folder. */
export function relativePathOf(folder: string, name: string): string {
  return `${folder}/${name}`;
}
