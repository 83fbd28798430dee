/** Names and messages shown as text: control, bidirectional and zero-width characters escaped. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { asciiSafeJson, printable, printableName } from '../../src/report/format.ts';
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
