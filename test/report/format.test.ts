/**
 * What people read: names and messages with control, bidirectional and zero-width characters
 * escaped, sizes, durations, the progress line and the closing summary.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { BackupSummary } from '../../src/report/events.ts';
import {
  asciiSafeJson,
  formatBytes,
  formatDuration,
  printable,
  printableName,
  progressLine,
  summaryLines,
} from '../../src/report/format.ts';
import { runCli } from '../helpers/cli.ts';
import { backup, openAccount } from '../helpers/reliability.ts';
import { buildZip, makeJpeg, makeSidecar } from '../helpers/takeout-builder.ts';

const names: { input: string; expected: string }[] = [
  { input: 'IMG_0001.jpg', expected: 'IMG_0001.jpg' },
  { input: 'café 😀 照片.jpg', expected: 'café 😀 照片.jpg' },
  { input: 'C:\\Users\\ana\\takeout.zip', expected: 'C:\\Users\\ana\\takeout.zip' },
  // Regression: an ESC sequence in a name set the terminal's title or cleared the screen.
  { input: 'x\u001b]0;pwned\u0007.jpg', expected: 'x\\x1b]0;pwned\\x07.jpg' },
  { input: 'x\u001b[2J.jpg', expected: 'x\\x1b[2J.jpg' },
  { input: 'nul\u0000tab\tcr\rlf\n.jpg', expected: 'nul\\x00tab\\x09cr\\x0dlf\\x0a.jpg' },
  { input: 'del\u007f c1\u009b2J\u0085.jpg', expected: 'del\\x7f c1\\x9b2J\\x85.jpg' },
  { input: 'IMG_\u202egpj.exe', expected: 'IMG_\\u202egpj.exe' },
  { input: 'a\u2066b\u2069\u200e\u200f\u061c', expected: 'a\\u2066b\\u2069\\u200e\\u200f\\u061c' },
  { input: 'zero\u200bwidth\u200d\ufeff', expected: 'zero\\u200bwidth\\u200d\\ufeff' },
  { input: 'line\u2028para\u2029', expected: 'line\\u2028para\\u2029' },
];

for (const { input, expected } of names) {
  test(`printableName(${JSON.stringify(input)}) is ${JSON.stringify(expected)}`, () => {
    assert.equal(printableName(input), expected);
  });
}

test('printable keeps a message’s own line breaks and escapes everything else', () => {
  assert.equal(printable('first line\nsecond \u001b[2J line\r'), 'first line\nsecond \\x1b[2J line\\x0d');
});

// JSON.stringify leaves DEL, C1, separators, bidi and zero-width characters raw.
for (const { input } of names) {
  test(`asciiSafeJson of ${JSON.stringify(input)}: the same value, nothing a terminal acts on`, () => {
    const line = asciiSafeJson(JSON.stringify({ filename: input }));
    assert.deepEqual(JSON.parse(line), { filename: input });
    assert.doesNotMatch(
      line,
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is checked
      /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/,
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Sizes, durations, the progress line and the closing summary

const sizes: { bytes: number; expected: string }[] = [
  { bytes: 0, expected: '0 B' },
  { bytes: 999, expected: '999 B' },
  { bytes: 1000, expected: '1.0 KB' },
  { bytes: 1500, expected: '1.5 KB' },
  { bytes: 12_345, expected: '12 KB' },
  { bytes: 5_000_000, expected: '5.0 MB' },
  { bytes: 2_500_000_000_000, expected: '2.5 TB' },
  // TB is the last unit: bigger sizes stay in it.
  { bytes: 3_000_000_000_000_000, expected: '3000 TB' },
];
for (const { bytes, expected } of sizes) {
  test(`formatBytes(${bytes}) is ${expected} (powers of 1000, one decimal under 10)`, () => {
    assert.equal(formatBytes(bytes), expected);
  });
}

const durations: { ms: number; expected: string }[] = [
  { ms: 0, expected: '0.0s' },
  { ms: 59_499, expected: '59.5s' },
  { ms: 59_960, expected: '1m00s' },
  { ms: 125_000, expected: '2m05s' },
  { ms: 3_600_000, expected: '1h00m' },
  { ms: 3_725_000, expected: '1h02m' },
];
for (const { ms, expected } of durations) {
  test(`formatDuration(${ms}) is ${expected}`, () => {
    assert.equal(formatDuration(ms), expected);
  });
}

test('progressLine: done of found, bytes so far and the rate since the start', () => {
  assert.equal(
    progressLine({ found: 10, done: 3, bytes: 2_000_000, transferMs: 2000 }),
    '3/10 items · 2.0 MB · 1.0 MB/s',
  );
  assert.equal(progressLine({ found: 0, done: 0, bytes: 0, transferMs: 0 }), '0/0 items · 0 B · 0 B/s');
});

function summary(changes: Partial<BackupSummary> = {}): BackupSummary {
  return {
    source: 'takeout',
    year: 2024,
    folder: 'photos',
    dryRun: false,
    found: 12,
    planned: 0,
    leftOut: { photo: 0, video: 0 },
    saved: 10,
    copies: 0,
    skipped: 2,
    bytes: 3_400_000,
    failed: [],
    unavailable: [],
    otherYears: {},
    undated: [],
    stopped: { reason: 'end', message: 'Reached the end of 2024.' },
    complete: true,
    ...changes,
  };
}

test('summaryLines: what was saved, skipped and failed, the source, year and time, then why it stopped', () => {
  assert.deepEqual(summaryLines(summary(), 125_000), [
    'Saved 10 file(s) (3.4 MB), skipped 2 already saved, 0 failed — takeout, 2024, in 2m05s.',
    'Reached the end of 2024.',
  ]);
});

test('summaryLines of a dry run: what would be saved, with no size', () => {
  assert.equal(
    summaryLines(summary({ dryRun: true, saved: 0, bytes: 0, planned: 10 }), 1000)[0],
    'Would save 10 file(s), skipped 2 already saved, 0 failed — takeout, 2024, in 1.0s.',
  );
});

test('summaryLines counts identical copies recorded once, in the singular and the plural', () => {
  assert.match(summaryLines(summary({ copies: 1 }), 0)[0] ?? '', /, 1 identical copy recorded once,/);
  assert.match(summaryLines(summary({ copies: 3 }), 0)[0] ?? '', /, 3 identical copies recorded once,/);
});

test('summaryLines lists 20 failures with escaped names, counts the rest, and says to run again', () => {
  const failed = Array.from({ length: 23 }, (_, i) => ({
    id: `${i}`,
    filename: `IMG_${i}\u001b.jpg`,
    reason: 'HTTP 500',
  }));
  const lines = summaryLines(summary({ failed }), 0);
  assert.match(lines[0] ?? '', /, 23 failed —/);
  assert.equal(lines[1], '  failed: IMG_0\\x1b.jpg: HTTP 500');
  assert.equal(lines.filter((line) => line.startsWith('  failed: ')).length, 20);
  assert.deepEqual(lines.slice(21), [
    '  … and 3 more failures',
    'Reached the end of 2024.',
    'Run the same command again to retry what failed.',
  ]);
});

test('summaryLines: items for later, other years in order with their total, undated items (five named)', () => {
  const lines = summaryLines(
    summary({
      unavailable: [{ id: 'v', filename: 'VID_1.mp4', reason: 'still processing' }],
      otherYears: { '2025': 1, '2023': 4 },
      undated: ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg', 'e.jpg', 'f.jpg'],
    }),
    0,
  );
  assert.deepEqual(lines.slice(1), [
    '  not yet: VID_1.mp4: still processing',
    '  left out 5 item(s) of other years: 2023 (4), 2025 (1)',
    '  left out 6 item(s) with no capture date (add --include-undated to save them under undated/): ' +
      'a.jpg, b.jpg, c.jpg, d.jpg, e.jpg, …',
    'Reached the end of 2024.',
  ]);
});

// ---------------------------------------------------------------------------------------------
// Through the built CLI: hostile names from a Takeout and from Google

/** Raw characters a terminal would act on or that would hide or reorder text. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is checked
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;
const TITLE = '\u001b]0;pwned\u0007';
const CLEAR = '\u001b[2J';

// Regression: entry names from an archive reached the terminal raw in problem lines and notices.
test('a Takeout with hostile entry names: problem lines and notices escape them, saved names lose bidi and zero-width', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pb-printable-'));
  try {
    const folder = 'Takeout/Google Photos/Photos from 2024';
    const photo = `IMG_\u202egpj.exe\u200b${CLEAR}.jpg`;
    const archive = path.join(dir, 'takeout-001.zip');
    await writeFile(
      archive,
      buildZip([
        { name: `${folder}/${photo}`, data: makeJpeg({ dateTimeOriginal: '2024:05:06 07:08:09' }) },
        {
          name: `${folder}/${photo}.supplemental-metadata.json`,
          data: makeSidecar({ title: photo, photoTakenTime: '1714979289' }),
        },
        // Refused (it would leave the folder): a notice quoting the name.
        { name: `${folder}/../../../${TITLE}escape.jpg`, data: makeJpeg() },
        // An unsupported compression: a problem line quoting the name.
        { name: `${folder}/${TITLE}bzip2.jpg`, data: makeJpeg(), methodCode: 12 },
      ]),
    );
    for (const json of [false, true]) {
      const out = path.join(dir, json ? 'json' : 'plain');
      const result = await runCli(['2024', out, '--takeout', archive, ...(json ? ['--json'] : [])], {
        cwd: dir,
      });
      assert.equal(result.code, 1, result.stderr + result.stdout);
      const text = result.stdout + result.stderr;
      assert.doesNotMatch(text, RAW, 'nothing raw on the terminal');
      assert.match(
        result.stderr,
        /problem: .*"Takeout\/Google Photos\/Photos from 2024\/\\x1b\]0;pwned\\x07bzip2\.jpg/,
      );
      assert.match(text, /refused entry ".*\\x1b\]0;pwned\\x07escape\.jpg"/);
      if (json) for (const line of result.stdout.trim().split('\n')) JSON.parse(line);
      const days = (await readdir(out)).filter((name) => name !== '.photo-backup');
      assert.deepEqual(days, ['2024-05-06']);
      assert.deepEqual(await readdir(path.join(out, '2024-05-06')), ['IMG_gpj.exe_[2J.jpg']);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

// Regression: a filename from Google with an OSC sequence set the terminal title; a bidi override was kept on disk.
test('hostile filenames from Google: printed escaped in plain and --json output, saved without bidi or zero-width', async () => {
  const account = await openAccount([
    {
      id: 'title',
      filename: `${TITLE}IMG_\u202egpj.exe\u200d.jpg`,
      mimeType: 'image/jpeg',
      creationTime: '2024-03-03T10:00:00Z',
      kind: 'photo',
      size: 700,
    },
    {
      id: 'clear',
      filename: `clip${CLEAR}\u2066\u009b.mp4`,
      mimeType: 'video/mp4',
      creationTime: '2024-03-04T10:00:00Z',
      kind: 'video',
      size: 900,
      videoStatus: 'PROCESSING',
    },
  ]);
  try {
    const plain = await backup(account);
    assert.equal(plain.code, 0, plain.stderr);
    assert.doesNotMatch(plain.stdout + plain.stderr, RAW);
    assert.match(plain.stdout, /later clip\\x1b\[2J\\u2066\\x9b\.mp4: Google is still processing this video/);
    assert.deepEqual(await readdir(path.join(account.folder, '2024-03-03')), ['_]0;pwned_IMG_gpj.exe.jpg']);
    const json = await backup(account, ['--json', '--all']);
    assert.equal(json.code, 0, json.stderr);
    assert.doesNotMatch(json.stdout + json.stderr, RAW);
    const events = json.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.ok(
      events.some((event) => event.filename === `clip${CLEAR}\u2066\u009b.mp4`),
      'JSON keeps the exact name',
    );
  } finally {
    await account.close();
  }
});
