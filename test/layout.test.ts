import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BackupError } from '../src/errors.ts';
import { dayOf, nameKey, parseYear, safeFileName, suffixedName } from '../src/layout.ts';
import { resolveTimeZone } from '../src/timezone.ts';

const now = new Date('2026-11-29T12:00:00Z');

for (const { input, expected } of [
  { input: undefined, expected: 2026 },
  { input: '2024', expected: 2024 },
  { input: '1800', expected: 1800 },
  { input: '2027', expected: 2027 },
]) {
  test(`parseYear(${input}) is ${expected}`, () => assert.equal(parseYear(input, now), expected));
}

for (const input of ['20x4', '1799', '2028', '24', '02024', '', ' 2024', '2024.0']) {
  test(`parseYear("${input}") is a usage error`, () => {
    assert.throws(
      () => parseYear(input, now),
      (error: unknown) =>
        error instanceof BackupError && error.exitCode === 2 && error.message.includes(input),
    );
  });
}

for (const { instant, zone, offset, expected } of [
  { instant: '2024-03-01T23:30:00Z', zone: 'UTC', offset: undefined, expected: '2024-03-01' },
  { instant: '2024-03-01T23:30:00Z', zone: 'Europe/Madrid', offset: undefined, expected: '2024-03-02' },
  { instant: '2024-03-02T03:00:00Z', zone: 'America/New_York', offset: undefined, expected: '2024-03-01' },
  { instant: '2024-12-31T23:59:59Z', zone: 'Asia/Tokyo', offset: undefined, expected: '2025-01-01' },
  { instant: '2024-07-01T22:00:00Z', zone: 'UTC', offset: 120, expected: '2024-07-02' },
  { instant: '2024-07-01T02:00:00Z', zone: 'Asia/Tokyo', offset: -300, expected: '2024-06-30' },
  { instant: '1969-07-20T20:17:00Z', zone: 'UTC', offset: undefined, expected: '1969-07-20' },
  // The nights clocks change, a zone 5:45 ahead, and local mean time before time zones (−0:14:44).
  { instant: '2024-03-30T23:30:00Z', zone: 'Europe/Madrid', offset: undefined, expected: '2024-03-31' },
  { instant: '2024-10-26T22:30:00Z', zone: 'Europe/Madrid', offset: undefined, expected: '2024-10-27' },
  { instant: '2024-10-26T21:30:00Z', zone: 'Europe/Madrid', offset: undefined, expected: '2024-10-26' },
  { instant: '2024-06-30T18:20:00Z', zone: 'Asia/Kathmandu', offset: undefined, expected: '2024-07-01' },
  { instant: '1850-06-01T00:10:00Z', zone: 'Europe/Madrid', offset: undefined, expected: '1850-05-31' },
  { instant: '2024-02-29T12:00:00Z', zone: 'Pacific/Kiritimati', offset: undefined, expected: '2024-03-01' },
]) {
  test(`dayOf(${instant}, ${zone}, ${offset}) is ${expected}`, () => {
    assert.equal(dayOf(new Date(instant), zone, offset), expected);
  });
}

test('resolveTimeZone accepts local, utc and IANA names and refuses others', () => {
  assert.equal(resolveTimeZone('utc'), 'UTC');
  assert.equal(resolveTimeZone('Europe/Madrid'), 'Europe/Madrid');
  assert.equal(typeof resolveTimeZone('local'), 'string');
  assert.throws(
    () => resolveTimeZone('Mars/Olympus'),
    (error: unknown) => error instanceof BackupError && error.exitCode === 2,
  );
});

for (const { input, expected } of [
  { input: 'IMG_0001.JPG', expected: 'IMG_0001.JPG' },
  { input: '../../etc/passwd', expected: '___.._etc_passwd' },
  { input: 'a/b\\c.jpg', expected: 'a_b_c.jpg' },
  { input: '..', expected: 'unnamed' },
  { input: '.', expected: 'unnamed' },
  { input: '', expected: 'unnamed' },
  { input: '.hidden.jpg', expected: '_hidden.jpg' },
  { input: 'CON.jpg', expected: '_CON.jpg' },
  { input: 'nul', expected: '_nul' },
  { input: 'com1.txt', expected: '_com1.txt' },
  { input: 'LPT9', expected: '_LPT9' },
  { input: 'console.jpg', expected: 'console.jpg' },
  { input: 'photo. ', expected: 'photo' },
  { input: 'photo...', expected: 'photo' },
  { input: 'a\u0000b\u001fc\u007f.jpg', expected: 'a_b_c_.jpg' },
  { input: 'what?*<>|":.jpg', expected: 'what_______.jpg' },
  { input: 'Cafe\u0301.jpg', expected: 'Caf\u00e9.jpg' },
  // Regression: bidirectional overrides and zero-width characters were kept in saved names.
  { input: 'IMG_\u202egpj.exe', expected: 'IMG_gpj.exe' },
  { input: 'a\u2066b\u2069\u200e\u200f\u061c.jpg', expected: 'ab.jpg' },
  { input: 'zero\u200bwidth\u200c\u200d\u2060\ufeff.jpg', expected: 'zerowidth.jpg' },
  { input: '\u202e', expected: 'unnamed' },
  { input: 'c1\u009b2J\u0085.jpg', expected: 'c1_2J_.jpg' },
  { input: 'line\u2028para\u2029.jpg', expected: 'line_para_.jpg' },
  { input: '\u200b.hidden.jpg', expected: '_hidden.jpg' },
  // Plain names (returned as they are without the steps) and the ones just outside that shortcut.
  { input: 'IMG_0001~d9d91d3f.jpg', expected: 'IMG_0001~d9d91d3f.jpg' },
  { input: '-x_y.tar.gz', expected: '-x_y.tar.gz' },
  { input: 'a..jpg', expected: 'a.jpg' },
  { input: 'a.', expected: 'a' },
  { input: 'x', expected: 'x' },
  { input: 'nul.tar.gz', expected: '_nul.tar.gz' },
  { input: `${'a'.repeat(101)}.jpg`, expected: `${'a'.repeat(101)}.jpg` },
]) {
  test(`safeFileName(${JSON.stringify(input)}) is ${JSON.stringify(expected)}`, () => {
    assert.equal(safeFileName(input), expected);
  });
}

test('safeFileName keeps long names under 180 bytes with their extension, without splitting a character', () => {
  const long = `${'é'.repeat(300)}.jpeg`;
  const safe = safeFileName(long);
  assert.ok(Buffer.byteLength(safe) <= 180, `${Buffer.byteLength(safe)} bytes`);
  assert.ok(safe.endsWith('.jpeg'));
  assert.ok(!safe.includes('\ufffd'));
  assert.equal(safeFileName('x'.repeat(300)).length, 180);
});

test('safeFileName never returns a path that leaves its folder', () => {
  for (const input of ['../a', '..\\a', '/abs', 'C:\\x', 'a/../../b', '\u0000..', '....']) {
    const safe = safeFileName(input);
    assert.ok(!safe.includes('/') && !safe.includes('\\') && safe !== '..' && safe !== '.', safe);
    assert.ok(!safe.startsWith('.'), safe);
  }
});

test('suffixedName is deterministic and distinct per id', () => {
  assert.equal(suffixedName('IMG_1.jpg', 'abc'), suffixedName('IMG_1.jpg', 'abc'));
  assert.notEqual(suffixedName('IMG_1.jpg', 'abc'), suffixedName('IMG_1.jpg', 'abd'));
  assert.match(suffixedName('IMG_1.jpg', 'abc'), /^IMG_1~[0-9a-f]{8}\.jpg$/);
  assert.match(suffixedName('noext', 'abc'), /^noext~[0-9a-f]{8}$/);
});

test('nameKey folds case and Unicode normalization', () => {
  assert.equal(nameKey('2024-01-01/IMG.JPG'), nameKey('2024-01-01/img.jpg'));
  assert.equal(nameKey('2024-01-01/Cafe\u0301.jpg'), nameKey('2024-01-01/caf\u00e9.jpg'));
});
