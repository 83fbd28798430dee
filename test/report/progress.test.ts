/** The progress line and durations for people: pure formatting, as tables. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, type Progress, progressLine } from '../../src/report/format.ts';

const durations: { ms: number; expected: string }[] = [
  { ms: 0, expected: '0.0s' },
  { ms: 40, expected: '0.0s' },
  { ms: 260, expected: '0.3s' },
  { ms: 4_249, expected: '4.2s' },
  { ms: 59_940, expected: '59.9s' },
  // Rounded to tenths it is a whole minute: not "60.0s".
  { ms: 59_960, expected: '1m00s' },
  { ms: 61_000, expected: '1m01s' },
  { ms: 185_000, expected: '3m05s' },
  { ms: 3_600_000, expected: '1h00m' },
  { ms: 7_620_000, expected: '2h07m' },
];

for (const { ms, expected } of durations) {
  test(`formatDuration(${ms}) is ${expected}`, () => {
    assert.equal(formatDuration(ms), expected);
  });
}

const lines: { name: string; progress: Progress; expected: string }[] = [
  {
    name: 'total unknown (a listing still going): count of listed, no percentage, no ETA',
    progress: { found: 40, done: 12, bytes: 3_000_000, transferMs: 2_000 },
    expected: '12/40 items · 3.0 MB · 1.5 MB/s',
  },
  {
    name: 'total known: percentage and ETA from the pace so far',
    progress: { found: 40, total: 100, done: 25, bytes: 5_000_000, transferMs: 10_000 },
    expected: '25/100 items (25%) · 5.0 MB · 500 KB/s · ETA 30.0s',
  },
  {
    name: 'items settled before the first byte (skips) do not make the ETA look short',
    progress: {
      found: 100,
      total: 100,
      done: 60,
      bytes: 1_000_000,
      transferMs: 20_000,
      doneBeforeTransfer: 50,
    },
    expected: '60/100 items (60%) · 1.0 MB · 50 KB/s · ETA 1m20s',
  },
  {
    name: 'no byte yet: rate 0 and no ETA (the sign-in wait is not transfer time)',
    progress: { found: 10, total: 10, done: 0, bytes: 0, transferMs: 0 },
    expected: '0/10 items (0%) · 0 B · 0 B/s',
  },
  {
    name: 'all done: 100% and no ETA',
    progress: { found: 10, total: 10, done: 10, bytes: 2_000, transferMs: 1_000 },
    expected: '10/10 items (100%) · 2.0 KB · 2.0 KB/s',
  },
];

for (const { name, progress, expected } of lines) {
  test(`progressLine: ${name}`, () => {
    assert.equal(progressLine(progress), expected);
  });
}
