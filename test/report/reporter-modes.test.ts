/** The reporter: which lines each mode prints, and the live line's rate over transfer time. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BackupEvent } from '../../src/report/events.ts';
import { createReporter, type ReporterOptions } from '../../src/report/reporter.ts';

function collector(isTTY = false) {
  const sink = { text: '', isTTY, columns: 200, write: (chunk: string) => (sink.text += chunk) };
  return sink;
}

test('the rate counts from the first byte, not from start-up or the sign-in wait', () => {
  let clock = 0;
  const stderr = collector(true);
  const reporter = createReporter({ json: false, stdout: collector(), stderr, now: () => clock, live: true });
  reporter.report({ type: 'total', count: 4 });
  clock = 60_000; // a minute at Google's consent page
  reporter.report({ type: 'bytes', count: 1_000_000 });
  clock = 62_000;
  reporter.report({ type: 'bytes', count: 1_000_000 });
  const last = stderr.text.split('\r\x1b[2K').at(-1);
  assert.equal(last, '0/4 items (0%) · 2.0 MB · 1.0 MB/s');
});

const run: BackupEvent[] = [
  { type: 'start', schemaVersion: 1, source: 'takeout', year: 2024, folder: '/p', dryRun: false },
  { type: 'saved', id: 'a', path: '2024-01-01/a.jpg', bytes: 10 },
  { type: 'skipped', id: 'b', path: '2024-01-02/b.jpg', reason: 'recorded' },
  { type: 'failed', id: 'c', filename: 'c.jpg', reason: 'broken' },
  { type: 'notice', level: 'info', message: 'an info notice' },
  { type: 'notice', level: 'warn', message: 'a warning' },
  { type: 'retry', what: 'd.jpg', attempt: 2, delayMs: 1500, reason: 'reset' },
];

const modes: { name: string; options: Partial<ReporterOptions>; shown: string[]; hidden: string[] }[] = [
  {
    name: 'no terminal (cron): a line per saved file and failure, skips only counted',
    options: {},
    shown: ['Backing up', 'saved 2024-01-01/a.jpg', 'FAILED c.jpg', 'an info notice', 'a warning'],
    hidden: ['skip ', 'retry '],
  },
  {
    name: '--verbose: skips and retries too',
    options: { verbose: true },
    shown: ['saved 2024-01-01/a.jpg', 'skip  2024-01-02/b.jpg', 'retry d.jpg in 1.5s', 'FAILED c.jpg'],
    hidden: [],
  },
  {
    name: '--quiet: only failures, warnings and the summary',
    options: { quiet: true },
    shown: ['FAILED c.jpg', 'a warning'],
    hidden: ['Backing up', 'saved ', 'skip ', 'an info notice', 'retry '],
  },
];

for (const { name, options, shown, hidden } of modes) {
  test(`reporter, ${name}`, () => {
    const stdout = collector();
    const stderr = collector();
    const reporter = createReporter({ json: false, stdout, stderr, ...options });
    for (const event of run) reporter.report(event);
    const text = stdout.text + stderr.text;
    for (const line of shown) assert.ok(text.includes(line), `shows "${line}" in:\n${text}`);
    for (const line of hidden) assert.ok(!text.includes(line), `hides "${line}" in:\n${text}`);
    assert.ok(!text.includes('\r') && !text.includes('\x1b'), 'no cursor movement without a live line');
  });
}
