import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  exifCapture,
  guessDateFromPath,
  parseExifDateTime,
  parseExifOffset,
  parseSidecarTimestamp,
  resolveCaptureDate,
  sidecarTakenAt,
  type WallClock,
  wallClockToInstant,
} from '../../../src/sources/takeout/dates.ts';
import { readExifDates } from '../../../src/sources/takeout/formats/exif.ts';
import { createTakeoutSource } from '../../../src/sources/takeout/index.ts';
import { isValidTimeZone, resolveTimeZone } from '../../../src/timezone.ts';
import { makeJpeg } from '../../helpers/takeout-builder.ts';

const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/takeout/takeout-filename-date-cases.json', import.meta.url), 'utf8'),
) as {
  cases: Array<{ name: string; expected: string | null }>;
  observedClock: Array<{ name: string; photoTakenTimeUtc: string; filenameClock: string }>;
};

function wallText(wall: WallClock | undefined): string | null {
  if (!wall) return null;
  const two = (value: number) => String(value).padStart(2, '0');
  return `${String(wall.year).padStart(4, '0')}-${two(wall.month)}-${two(wall.day)}T${two(wall.hour)}:${two(wall.minute)}:${two(wall.second)}`;
}

for (const { name, expected } of fixture.cases) {
  test(`file name date: ${name} → ${expected}`, () => {
    assert.equal(wallText(guessDateFromPath(name)?.wall), expected);
  });
}

for (const { name, photoTakenTimeUtc, filenameClock } of fixture.observedClock) {
  test(`file name clock: ${name} is ${filenameClock}`, () => {
    const guess = guessDateFromPath(name);
    assert.ok(guess);
    const utc = filenameClock === 'UTC';
    assert.equal(guess.utc, utc);
    if (utc)
      assert.equal(
        resolveCaptureDate({ fileName: guess, timeZone: 'Asia/Tokyo' }).takenAt?.toISOString(),
        new Date(photoTakenTimeUtc).toISOString(),
      );
  });
}

const ownNameCases: Array<{ input: string; expected: string | null }> = [
  { input: 'IMG-20150125-WA0003.jpg', expected: '2015-01-25T00:00:00' },
  { input: 'Photos from 2024/IMG_1234.JPG', expected: null },
  { input: '1581270440551-d356c6b2-6178-49af-bcdf-b308a5b4b.jpg', expected: null },
  { input: 'signal-2020-10-26-163832.jpg', expected: '2020-10-26T16:38:32' },
  { input: '2016_01_30_11_49_15.jpg', expected: '2016-01-30T11:49:15' },
  { input: 'IMG_20190230_101010.jpg', expected: null },
  { input: '2009-11-24-25/IMG_1.jpg', expected: '2009-11-24T00:00:00' },
];

for (const { input, expected } of ownNameCases) {
  test(`file name date (own): ${input} → ${expected}`, () => {
    assert.equal(wallText(guessDateFromPath(input)?.wall), expected);
  });
}

test('a file name with its own offset gives the offset', () => {
  const guess = guessDateFromPath('Bebop2_20180719194940+0200.mp4');
  assert.equal(guess?.offsetMinutes, 120);
  const resolved = resolveCaptureDate({ ...(guess ? { fileName: guess } : {}), timeZone: 'UTC' });
  assert.equal(resolved.takenAt?.toISOString(), '2018-07-19T17:49:40.000Z');
  assert.equal(resolved.utcOffsetMinutes, 120);
});

test('a zone-less file name is a wall clock read in the caller zone, offset left unset', () => {
  const guess = guessDateFromPath('IMG_20240615_231500.jpg');
  assert.ok(guess);
  const berlin = resolveCaptureDate({ fileName: guess, timeZone: 'Europe/Berlin' });
  assert.equal(berlin.takenAt?.toISOString(), '2024-06-15T21:15:00.000Z');
  assert.equal(berlin.utcOffsetMinutes, undefined);
  assert.equal(berlin.dateSource, 'filename');
  assert.equal(
    resolveCaptureDate({ fileName: guess, timeZone: 'UTC' }).takenAt?.toISOString(),
    '2024-06-15T23:15:00.000Z',
  );
});

test('PXL_ names are UTC whatever the zone', () => {
  const guess = guessDateFromPath('PXL_20250101_115316882.jpg');
  assert.ok(guess);
  const resolved = resolveCaptureDate({ fileName: guess, timeZone: 'America/New_York' });
  assert.equal(resolved.takenAt?.toISOString(), '2025-01-01T11:53:16.000Z');
});

const timestampCases: Array<{ input: unknown; expected: string | undefined }> = [
  { input: '1735732396', expected: '2025-01-01T11:53:16.000Z' },
  { input: 1735732396, expected: '2025-01-01T11:53:16.000Z' },
  { input: '-86400', expected: '1969-12-31T00:00:00.000Z' },
  { input: '-2208988800', expected: '1900-01-01T00:00:00.000Z' },
  { input: '', expected: undefined },
  { input: '0', expected: undefined },
  { input: 0, expected: undefined },
  { input: 'Jan 1, 2025', expected: undefined },
  { input: null, expected: undefined },
  { input: '12.5', expected: undefined },
];

for (const { input, expected } of timestampCases) {
  test(`sidecar timestamp ${JSON.stringify(input)} → ${expected}`, () => {
    assert.equal(parseSidecarTimestamp(input)?.toISOString(), expected);
  });
}

test('sidecarTakenAt reads photoTakenTime, never creationTime', () => {
  assert.equal(
    sidecarTakenAt({
      photoTakenTime: { timestamp: '1695394176', formatted: '22 sept. 2023, 14:49:36 UTC' },
    })?.toISOString(),
    '2023-09-22T14:49:36.000Z',
  );
  assert.equal(sidecarTakenAt({ creationTime: { timestamp: '1695394176' } }), undefined);
  assert.equal(
    sidecarTakenAt({ photoTakenTime: { timestamp: '0' }, creationTime: { timestamp: '1695394176' } }),
    undefined,
  );
});

const exifTextCases: Array<{ input: string; expected: string | null }> = [
  { input: '2024:06:15 23:15:00', expected: '2024-06-15T23:15:00' },
  { input: '2024-06-15 23:15:00', expected: '2024-06-15T23:15:00' },
  { input: '0000:00:00 00:00:00', expected: null },
  { input: '    :  :     :  :  ', expected: null },
  { input: '1970:01:01 00:00:00', expected: null },
  { input: '1904:01:01 00:00:00', expected: null },
  { input: '2036:01:01 23:59:59', expected: null },
  { input: '1899:12:31 10:00:00', expected: null },
  { input: '2024:02:30 10:00:00', expected: null },
];

for (const { input, expected } of exifTextCases) {
  test(`EXIF date "${input}" → ${expected}`, () => {
    assert.equal(wallText(parseExifDateTime(input)), expected);
  });
}

test('EXIF offsets', () => {
  assert.equal(parseExifOffset('+02:00'), 120);
  assert.equal(parseExifOffset('-05:30'), -330);
  assert.equal(parseExifOffset('Z'), 0);
  assert.equal(parseExifOffset('+99:00'), undefined);
  assert.equal(parseExifOffset('   :  '), undefined);
});

test('EXIF with OffsetTimeOriginal: instant and offset from the file', async () => {
  const tags = await readExifDates(
    makeJpeg({ dateTimeOriginal: '2024:06:15 23:15:00', offsetTimeOriginal: '+09:00' }),
  );
  assert.deepEqual(tags, { dateTimeOriginal: '2024:06:15 23:15:00', offsetTimeOriginal: '+09:00' });
  const exif = exifCapture(tags ?? {});
  assert.ok(exif);
  const resolved = resolveCaptureDate({ exif, timeZone: 'Europe/Berlin' });
  assert.equal(resolved.takenAt?.toISOString(), '2024-06-15T14:15:00.000Z');
  assert.equal(resolved.utcOffsetMinutes, 540);
  assert.equal(resolved.dateSource, 'exif');
});

test('EXIF without an offset: a wall clock in the caller zone', async () => {
  const exif = exifCapture(
    (await readExifDates(makeJpeg({ dateTimeOriginal: '2024:01:10 08:00:00', bigEndian: true }))) ?? {},
  );
  assert.ok(exif);
  const resolved = resolveCaptureDate({ exif, timeZone: 'America/New_York' });
  assert.equal(resolved.takenAt?.toISOString(), '2024-01-10T13:00:00.000Z');
  assert.equal(resolved.utcOffsetMinutes, undefined);
});

test('EXIF placeholder date is skipped: the file name dates the photo', async () => {
  const exif = exifCapture(
    (await readExifDates(makeJpeg({ dateTimeOriginal: '0000:00:00 00:00:00' }))) ?? {},
  );
  assert.equal(exif, undefined);
  const fileName = guessDateFromPath('IMG_20240102_030405.jpg');
  assert.equal(
    resolveCaptureDate({ ...(fileName ? { fileName } : {}), timeZone: 'UTC' }).dateSource,
    'filename',
  );
});

test('no EXIF at all: undefined, never a throw', async () => {
  assert.equal(await readExifDates(makeJpeg()), undefined);
  assert.equal(await readExifDates(Buffer.from('not an image')), undefined);
  assert.equal(
    await readExifDates(makeJpeg({ dateTimeOriginal: '2024:01:01 00:00:00' }).subarray(0, 30)),
    undefined,
  );
});

test('sidecar wins over EXIF; EXIF lends its offset, or one inferred from the wall clock', () => {
  const sidecar = new Date('2024-06-15T14:15:00Z');
  const withOffset = resolveCaptureDate({
    sidecar,
    exif: { wall: { year: 2024, month: 6, day: 15, hour: 23, minute: 15, second: 0 }, offsetMinutes: 540 },
    timeZone: 'UTC',
  });
  assert.deepEqual(withOffset, { takenAt: sidecar, utcOffsetMinutes: 540, dateSource: 'sidecar' });
  const inferred = resolveCaptureDate({
    sidecar,
    exif: { wall: { year: 2024, month: 6, day: 15, hour: 19, minute: 45, second: 0 } },
    timeZone: 'UTC',
  });
  assert.equal(inferred.utcOffsetMinutes, 330);
  // A wall clock that is no plausible zone (edited in Google Photos by days): no offset.
  const edited = resolveCaptureDate({
    sidecar,
    exif: { wall: { year: 2024, month: 6, day: 20, hour: 14, minute: 15, second: 0 } },
    timeZone: 'UTC',
  });
  assert.equal(edited.utcOffsetMinutes, undefined);
  assert.equal(edited.takenAt, sidecar);
});

test('nothing known: undated', () => {
  assert.deepEqual(resolveCaptureDate({ timeZone: 'UTC' }), { dateSource: 'none' });
});

test('wall clocks across DST changes', () => {
  const wall = (hour: number, day = 31, month = 3): WallClock => ({
    year: 2024,
    month,
    day,
    hour,
    minute: 30,
    second: 0,
  });
  assert.equal(wallClockToInstant(wall(1), 'Europe/Berlin').toISOString(), '2024-03-31T00:30:00.000Z');
  assert.equal(wallClockToInstant(wall(3), 'Europe/Berlin').toISOString(), '2024-03-31T01:30:00.000Z');
  // 02:30 happened twice on 27 October: the first one is meant.
  assert.equal(
    wallClockToInstant(wall(2, 27, 10), 'Europe/Berlin').toISOString(),
    '2024-10-27T00:30:00.000Z',
  );
  assert.equal(
    wallClockToInstant({ ...wall(12), year: 1950 }, 'UTC').toISOString(),
    '1950-03-31T12:30:00.000Z',
  );
});

test('a UTC media clock (QuickTime mvhd) is an instant: no offset, the caller zone picks the day', () => {
  const wall: WallClock = { year: 2024, month: 7, day: 20, hour: 16, minute: 30, second: 0 };
  const alone = resolveCaptureDate({ exif: { wall, utc: true }, timeZone: 'Asia/Tokyo' });
  assert.deepEqual(alone, { takenAt: new Date('2024-07-20T16:30:00Z'), dateSource: 'exif' });
  // With a sidecar it lends no offset: a UTC clock would always "infer" +00:00.
  const sidecar = new Date('2024-07-20T16:30:00Z');
  const withSidecar = resolveCaptureDate({ sidecar, exif: { wall, utc: true }, timeZone: 'UTC' });
  assert.deepEqual(withSidecar, { takenAt: sidecar, dateSource: 'sidecar' });
});

test('a QuickTime date with its own offset lends it to the sidecar instant', () => {
  const wall: WallClock = { year: 2024, month: 7, day: 20, hour: 18, minute: 30, second: 0 };
  const sidecar = new Date('2024-07-20T16:30:00Z');
  const resolved = resolveCaptureDate({ sidecar, exif: { wall, offsetMinutes: 120 }, timeZone: 'UTC' });
  assert.deepEqual(resolved, { takenAt: sidecar, utcOffsetMinutes: 120, dateSource: 'sidecar' });
});

// Regression: the Takeout dates accepted a zone 'local' (this process's offset, silently UTC under a
// POSIX TZ rule) that no other part accepts; the CLI always hands over resolveTimeZone's answer.
test('the Takeout source takes the zone names resolveTimeZone gives, not a raw "local"', () => {
  assert.equal(isValidTimeZone('local'), false);
  assert.throws(
    () => createTakeoutSource({ inputs: ['x.zip'], timeZone: 'local' }),
    /Time zone "local" is unknown/,
  );
  for (const input of ['local', 'utc', 'Europe/Berlin']) {
    const zone = resolveTimeZone(input, 'Asia/Tokyo');
    assert.equal(isValidTimeZone(zone), true, `${input} → ${zone}`);
  }
});
