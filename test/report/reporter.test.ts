/**
 * The reporter turns a run's events into output: plain lines when stderr is not a terminal, a live
 * progress line when it is, and one JSON object per event with --json (people's text then on
 * stderr). Driven here with collecting sinks and a fixed clock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BackupEvent, BackupSummary } from '../../src/report/events.ts';
import { createReporter, type TextSink } from '../../src/report/reporter.ts';

function sink(isTTY = false, columns?: number): TextSink & { text: string } {
  const collected = {
    text: '',
    isTTY,
    columns,
    write(text: string) {
      collected.text += text;
      return true;
    },
  };
  return collected;
}

const SUMMARY: BackupSummary = {
  source: 'library',
  year: 2024,
  folder: 'photos',
  dryRun: false,
  found: 2,
  planned: 0,
  leftOut: { photo: 0, video: 0 },
  saved: 1,
  copies: 0,
  skipped: 1,
  bytes: 1500,
  failed: [],
  unavailable: [],
  otherYears: {},
  undated: [],
  stopped: { reason: 'end', message: 'Reached the end of 2024.' },
  complete: true,
};

const RUN: BackupEvent[] = [
  { type: 'start', schemaVersion: 1, source: 'library', year: 2024, folder: 'photos', dryRun: false },
  { type: 'found', count: 2 },
  { type: 'bytes', count: 1500 },
  { type: 'saved', id: 'a', path: '2024-01-02/a.jpg', bytes: 1500 },
  { type: 'skipped', id: 'b', path: '2024-01-03/b.jpg', reason: 'recorded' },
  { type: 'retry', what: 'c.jpg', attempt: 1, delayMs: 1500, reason: 'HTTP 503' },
  { type: 'notice', level: 'warn', message: 'odd name x\u001b]0;t\u0007\nsecond line' },
  { type: 'summary', summary: SUMMARY },
];

test('plain lines on stdout when stderr is not a terminal: each saved file (skips only counted), notices escaped, then the summary', () => {
  const stdout = sink();
  const stderr = sink();
  const reporter = createReporter({ json: false, stdout, stderr, now: () => 0 });
  for (const event of RUN) reporter.report(event);
  reporter.close();
  assert.equal(
    stdout.text,
    [
      'Backing up 2024 from library into photos',
      'saved 2024-01-02/a.jpg (1.5 KB)',
      'odd name x\\x1b]0;t\\x07\\x0asecond line',
      'Saved 1 file(s) (1.5 KB), skipped 1 already saved, 0 failed — library, 2024, in 0.0s.',
      'Reached the end of 2024.',
      '',
    ].join('\n'),
  );
  assert.equal(stderr.text, '', 'no progress line and no retries without a terminal or --verbose');
});

test('--verbose adds the retries; failures say FAILED, items for later say later', () => {
  const stdout = sink();
  const reporter = createReporter({ json: false, stdout, stderr: sink(), now: () => 0, verbose: true });
  reporter.report({ type: 'retry', what: 'c.jpg', attempt: 1, delayMs: 1500, reason: 'HTTP 503' });
  reporter.report({ type: 'failed', id: 'c', filename: 'c.jpg', reason: 'HTTP 404' });
  reporter.report({
    type: 'not-yet',
    id: 'v',
    filename: 'v.mp4',
    reason: 'still processing',
  });
  assert.equal(
    stdout.text,
    'retry c.jpg in 1.5s: HTTP 503\nFAILED c.jpg: HTTP 404\nlater v.mp4: still processing\n',
  );
});

test('--json: one object per event on stdout with its time, no counters; people’s text on stderr', () => {
  const stdout = sink();
  const stderr = sink();
  const reporter = createReporter({ json: true, stdout, stderr, now: () => Date.UTC(2025, 0, 2, 3, 4, 5) });
  for (const event of RUN) reporter.report(event);
  reporter.close();
  const lines = stdout.text.trimEnd().split('\n');
  const objects = lines.map((line) => JSON.parse(line) as { type: string; time: string });
  assert.deepEqual(
    objects.map((object) => object.type),
    ['start', 'saved', 'skipped', 'retry', 'notice', 'summary'],
  );
  assert.ok(objects.every((object) => object.time === '2025-01-02T03:04:05.000Z'));
  assert.deepEqual(objects[4], { ...RUN[6], time: '2025-01-02T03:04:05.000Z' }, 'the exact message kept');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is checked
  assert.doesNotMatch(stdout.text, /[\u0000-\u0009\u000b-\u001f]/, 'nothing a terminal acts on');
  assert.equal(
    stderr.text,
    'odd name x\\x1b]0;t\\x07\\x0asecond line\n' +
      'Saved 1 file(s) (1.5 KB), skipped 1 already saved, 0 failed — library, 2024, in 0.0s.\n' +
      'Reached the end of 2024.\n',
  );
});

test('--json lines wait up to 50 ms, or until 64 KB wait, and go out in one write; a link and the end go out at once', async () => {
  const writes: string[] = [];
  const stdout: TextSink = { write: (text: string) => writes.push(text) };
  const reporter = createReporter({ json: true, stdout, stderr: sink(), now: () => 0 });
  reporter.report({ type: 'saved', id: 'a', path: 'a.jpg', bytes: 1 });
  reporter.report({ type: 'saved', id: 'b', path: 'b.jpg', bytes: 1 });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(writes.length, 0, 'nothing written after a turn');
  await sleep(80);
  assert.equal(writes.length, 1, 'written once the time is up');
  assert.equal(writes[0]?.trimEnd().split('\n').length, 2);
  // Many events at once: out as soon as 64 KB wait, not all held until the timer.
  for (let index = 0; index < 1000; index++)
    reporter.report({ type: 'saved', id: `id${index}`, path: `2024-01-01/IMG_${index}.jpg`, bytes: 1 });
  assert.ok(writes.length >= 2, 'written by size');
  assert.ok(writes.slice(1).every((text) => text.length >= 64 * 1024 || text === writes.at(-1)));
  // A link someone waits on goes out at once, with what waited before it.
  const before = writes.length;
  reporter.report({ type: 'link', url: 'http://127.0.0.1/consent', purpose: 'consent' });
  assert.equal(writes.length, before + 1);
  assert.match(writes.at(-1) ?? '', /"type":"link"/);
  reporter.report({ type: 'saved', id: 'z', path: 'z.jpg', bytes: 1 });
  reporter.close();
  assert.match(writes.at(-1) ?? '', /"id":"z"/, 'close writes what waits');
  const lines = writes.join('').trimEnd().split('\n');
  assert.equal(lines.length, 2 + 1000 + 1 + 1, 'every event once, in order');
  assert.deepEqual(
    lines.slice(0, 3).map((line) => JSON.parse(line).id),
    ['a', 'b', 'id0'],
  );
});

test('on a terminal: a live progress line on stderr, cut to its width and cleared before each printed line', () => {
  let time = 0;
  const stdout = sink();
  const stderr = sink(true, 20);
  const reporter = createReporter({ json: false, stdout, stderr, now: () => time });
  time = 500;
  reporter.report({ type: 'found', count: 3 });
  time = 550; // redrawn at most every 100 ms of the reporter's clock
  reporter.report({ type: 'bytes', count: 2000 });
  time = 1000;
  reporter.report({ type: 'saved', id: 'a', path: 'a.jpg', bytes: 2000 });
  assert.equal(stdout.text, '', 'saved files are shown by the progress line, not one line each');
  const LIVE = '\r\x1b[2K0/3 items · 0 B · 0\r\x1b[2K1/3 items · 2.0 KB ';
  assert.equal(stderr.text, LIVE);
  reporter.report({ type: 'notice', level: 'info', message: 'hello' });
  assert.equal(stdout.text, 'hello\n');
  const redrawn = `${LIVE}\r\x1b[2K\r\x1b[2K1/3 items · 2.0 KB `;
  assert.equal(stderr.text, redrawn, 'cleared, then drawn again');
  reporter.close();
  assert.equal(stderr.text, `${redrawn}\r\x1b[2K`, 'close leaves no progress line behind');
});
