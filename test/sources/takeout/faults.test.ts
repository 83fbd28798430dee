/**
 * The takeout source under kills and bad archives, through the built CLI (`--takeout`): a killed
 * run, run again, ends with the same tree as an uninterrupted one; damaged, encrypted and hostile
 * archives are reported with the right exit code while the good parts are saved; running again
 * saves nothing new, and a later Takeout adds only what is new. The big version is
 * test/reliability/sources/takeout/faults.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { treeHashes } from '../../helpers/cli.ts';
import { allFiles } from '../../helpers/reliability.ts';
import { buildZip, makeJpeg } from '../../helpers/takeout-builder.ts';
import {
  assertTakeoutComplete,
  killThenResumeTakeout,
  openTakeoutDir,
  recordedIds,
  splitParts,
  takeoutReference,
  takeoutYear,
} from '../../helpers/takeout-year.ts';

const parts = splitParts(takeoutYear(30), 3);
const references = { zip: takeoutReference(parts, 'zip'), tgz: takeoutReference(parts, 'tgz') };

const noStack = (text: string) => assert.doesNotMatch(text, /\n\s+at |hit a bug/, 'no stack trace');

function summaryOf(stdout: string): { saved: number; copies: number; skipped: number } {
  for (const line of stdout.split('\n').reverse()) {
    if (!line.startsWith('{')) continue;
    const event = JSON.parse(line) as {
      type?: string;
      summary?: { saved: number; copies: number; skipped: number };
    };
    if (event.type === 'summary' && event.summary) return event.summary;
  }
  throw new Error(`no summary in ${stdout.slice(-500)}`);
}

for (const [kind, point, n] of [
  ['zip', 'mid-download', 3],
  ['zip', 'after-rename-before-record', 2],
  ['zip', 'mid-journal-write', 9],
  ['tgz', 'after-temp-write', 4],
  ['tgz', 'after-rename-before-record', 6],
] as const) {
  test(`takeout ${kind}, SIGKILL at ${point} #${n}, then the same command: as if never interrupted`, async () => {
    await killThenResumeTakeout(parts, kind, { point, n }, references[kind]);
  });
}

test('takeout: running again over the same archives saves nothing new; a later Takeout adds only what is new', async () => {
  const place = await openTakeoutDir();
  try {
    const first = await place.write(parts, 'zip');
    assert.equal((await place.run(first)).code, 0);
    const tree = await treeHashes(place.folder);
    const again = await place.run(first, ['--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(summaryOf(again.stdout).saved, 0);
    assert.equal(summaryOf(again.stdout).copies, 0);
    assert.deepEqual(await treeHashes(place.folder), tree);
    // A later export of the same account: everything before, and 10 new photos, split differently.
    const later = await place.write(splitParts(takeoutYear(40), 2), 'tgz', '20250601T000000Z');
    const grown = await place.run(later, ['--json']);
    assert.equal(grown.code, 0, grown.stderr);
    const after = await treeHashes(place.folder);
    for (const [file, hash] of tree) assert.equal(after.get(file), hash, `${file} kept as it was`);
    const added = [...after.keys()].filter((file) => !tree.has(file));
    // Photos 30..39: 9 of the year (39 is of 2023), plus the edited copy of photo 38.
    assert.equal(added.length, 10, added.join(', '));
    assert.equal(summaryOf(grown.stdout).saved, 10);
    assert.equal(new Set(after.values()).size, after.size, 'no bytes saved twice');
  } finally {
    await place.close();
  }
});

test('takeout: a truncated part among good ones: the others saved, exit 1, the message names the part', async () => {
  const place = await openTakeoutDir();
  try {
    const inputs = await place.write(parts, 'zip');
    const cut = inputs[1] as string;
    const bytes = await readFile(cut);
    await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const result = await place.run(inputs);
    assert.equal(result.code, 1, result.stderr);
    assert.ok((result.stdout + result.stderr).includes(path.basename(cut)), result.stdout + result.stderr);
    assert.match(result.stdout + result.stderr, /truncated|damaged/);
    noStack(result.stderr);
    const saved = await treeHashes(place.folder);
    assert.ok(saved.size > 0, 'the good parts were saved');
    assert.deepEqual(
      (await allFiles(place.folder)).filter((file) => file.endsWith('.part') || file.endsWith('lock')),
      [],
    );
    const reference = await references.zip;
    for (const [file, hash] of saved)
      assert.equal(reference.tree.get(file), hash, `${file} as in a whole run`);
  } finally {
    await place.close();
  }
});

test('takeout: a zip whose central directory is corrupt is reported by name; the other parts are saved', async () => {
  const place = await openTakeoutDir();
  try {
    const inputs = await place.write(parts, 'zip');
    const broken = inputs[2] as string;
    const bytes = await readFile(broken);
    const directory = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    bytes.fill(0x55, directory, directory + 40);
    await writeFile(broken, bytes);
    const result = await place.run(inputs);
    assert.equal(result.code, 1, result.stderr);
    assert.ok((result.stdout + result.stderr).includes(path.basename(broken)));
    noStack(result.stderr);
    assert.ok((await treeHashes(place.folder)).size > 0);
  } finally {
    await place.close();
  }
});

test('takeout: an encrypted zip alone: exit 2 saying it is encrypted; nothing written', async () => {
  const place = await openTakeoutDir();
  try {
    await mkdir(path.join(place.dir, 'downloads'));
    const locked = path.join(place.dir, 'downloads', 'takeout-locked.zip');
    await writeFile(locked, buildZip((parts[0] ?? []).map((entry) => ({ ...entry, encrypted: true }))));
    const result = await place.run([locked]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /takeout-locked\.zip.*encrypted/s);
    noStack(result.stderr);
    assert.equal((await treeHashes(place.folder)).size, 0);
  } finally {
    await place.close();
  }
});

test('takeout: zip slip entries are refused and reported; nothing is written outside the folder', async () => {
  const place = await openTakeoutDir();
  try {
    const evil = makeJpeg({ comment: 'evil' });
    const hostile = [
      ...(parts[0] ?? []),
      { name: 'Takeout/Google Photos/Photos from 2024/../../../../escape1.jpg', data: evil },
      { name: '../escape2.jpg', data: evil },
      { name: '/tmp/escape3.jpg', data: evil },
      { name: 'C:/escape4.jpg', data: evil },
      { name: 'Takeout\\Google Photos\\..\\..\\..\\escape5.jpg', data: evil },
    ];
    const inputs = await place.write([hostile], 'zip');
    const before = (await readdir(place.dir)).sort();
    const result = await place.run(inputs);
    const output = result.stdout + result.stderr;
    assert.ok(result.code === 0 || result.code === 1, output);
    assert.equal(output.match(/refused entry/g)?.length, 5, output);
    noStack(result.stderr);
    assert.deepEqual((await readdir(place.dir)).sort(), [...new Set([...before, 'photos'])].sort());
    assert.ok(!(await allFiles(place.dir)).some((file) => file.includes('escape')), 'no escaped file');
    const tree = await treeHashes(place.folder);
    assert.ok(tree.size > 0);
    assert.ok(![...tree.values()].includes((await import('../../helpers/cli.ts')).sha256(evil)));
  } finally {
    await place.close();
  }
});

test('takeout: a folder with no Takeout in it: exit 2 with a clear message, nothing written', async () => {
  const place = await openTakeoutDir();
  try {
    const empty = path.join(place.dir, 'Downloads');
    await mkdir(path.join(empty, 'holiday'), { recursive: true });
    await writeFile(path.join(empty, 'holiday', 'IMG_1.jpg'), makeJpeg());
    const result = await place.run([empty]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /No Google Photos Takeout found in ".*Downloads"/);
    assert.match(result.stderr, /takeout\.google\.com/);
    noStack(result.stderr);
    assert.deepEqual(await recordedIds(place.folder).catch(() => []), []);
    assert.equal((await treeHashes(place.folder)).size, 0);
  } finally {
    await place.close();
  }
});

// Regression: a photo renamed into place but not yet recorded when the run was killed was adopted
// by the next run without its hash, so its album copy (the same bytes) was saved a second time as
// IMG_0003~<id>.jpg.
test('takeout: a file killed between rename and record is adopted with its hash; its album copy is not saved twice', async () => {
  const place = await openTakeoutDir();
  try {
    const inputs = await place.write(parts, 'zip');
    // One at a time, so the 4th file saved is IMG_0003, the first photo that also sits in the album "Trip".
    const killed = await place.run(inputs, ['--concurrency', '1'], {
      PHOTO_BACKUP_CRASH_AT: 'after-rename-before-record:4',
    });
    assert.equal(killed.signal, 'SIGKILL', killed.stderr);
    assert.ok((await allFiles(place.folder)).some((file) => file.endsWith('IMG_0003.jpg')));
    const resumed = await place.run(inputs);
    assert.equal(resumed.code, 0, resumed.stderr);
    await assertTakeoutComplete(place.folder, await references.zip, 'adopted');
  } finally {
    await place.close();
  }
});
