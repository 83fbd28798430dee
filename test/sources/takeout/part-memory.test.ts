/**
 * The memory of finished Takeout parts: the pure decisions as tables, then the built CLI over a
 * folder of `takeout-<stamp>-<n>.zip` parts, run again the way cron would. A finished, unchanged
 * part is not opened (PHOTO_BACKUP_LIST_PART_OPENS lists the parts opened) and no media byte is
 * read (PHOTO_BACKUP_COUNT_MEDIA_READS); a changed part, an unfinished one or another year is read.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, realpath, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import {
  finishedParts,
  fullyProcessedExports,
  isFinished,
  PART_MEMORY_FILE,
  parsePartMemory,
  partScope,
} from '../../../src/sources/takeout/part-memory.ts';
import { runCli, treeHashes } from '../../helpers/cli.ts';
import {
  type ArchiveEntry,
  buildZip,
  makeAlbumJson,
  makeJpeg,
  makeSidecar,
} from '../../helpers/takeout-builder.ts';
import { openTakeoutDir, type TakeoutDir } from '../../helpers/takeout-year.ts';

const noStack = (text: string) => assert.doesNotMatch(text, /\n\s+at |hit a bug/, 'no stack trace');

const line = (fields: Record<string, unknown>) => JSON.stringify(fields);
const part = {
  scope: 'zone=UTC;trash=false;undated=false;leave-out=',
  year: 2024,
  key: '/t/takeout-20250101T000000Z-001.zip',
  size: 10,
  version: 'mtime:1',
  name: 'takeout-20250101T000000Z-001.zip',
};

const memoryCases: { name: string; text: string; finished: number; bad: number }[] = [
  { name: 'a good line', text: `${line(part)}\n`, finished: 1, bad: 0 },
  { name: 'a line cut short', text: `${line(part)}\n${line(part).slice(0, 20)}`, finished: 1, bad: 1 },
  { name: 'not JSON', text: 'garbage\n', finished: 0, bad: 1 },
  { name: 'a year that is no year', text: `${line({ ...part, year: '2024' })}\n`, finished: 0, bad: 1 },
  { name: 'a negative size', text: `${line({ ...part, size: -1 })}\n`, finished: 0, bad: 1 },
  { name: 'no scope', text: `${line({ ...part, scope: 1 })}\n`, finished: 0, bad: 1 },
  { name: 'no key', text: `${line({ ...part, key: '' })}\n`, finished: 0, bad: 1 },
  { name: 'null', text: 'null\n', finished: 0, bad: 1 },
  { name: 'blank lines', text: '\n\n', finished: 0, bad: 0 },
];
for (const { name, text, finished, bad } of memoryCases) {
  test(`parsePartMemory: ${name}`, () => {
    const memory = parsePartMemory(text);
    assert.equal(memory.finished.size, finished);
    assert.equal(memory.bad, bad);
  });
}

test('isFinished: only for the year and scope, and only while size and version are unchanged', () => {
  const memory = parsePartMemory(`${line(part)}\n`);
  const identity = { key: part.key, size: part.size, version: part.version };
  const scope = part.scope;
  assert.equal(isFinished(memory, 2024, scope, identity), true);
  assert.equal(isFinished(memory, 2023, scope, identity), false);
  assert.equal(isFinished(memory, 2024, `${scope}video`, identity), false);
  assert.equal(isFinished(memory, 2024, scope, { ...identity, size: 11 }), false);
  assert.equal(isFinished(memory, 2024, scope, { ...identity, version: 'mtime:2' }), false);
  assert.equal(isFinished(memory, 2024, scope, { ...identity, key: '/t/other.zip' }), false);
});

test('partScope: each choice that decides which items a run takes changes it', () => {
  const base = { timeZone: 'UTC', includeTrash: false, includeUndated: false };
  const scopes = [
    partScope(base),
    partScope({ ...base, timeZone: 'Europe/Paris' }),
    partScope({ ...base, includeTrash: true }),
    partScope({ ...base, includeUndated: true }),
    partScope({ ...base, leaveOut: 'video' }),
  ];
  assert.equal(new Set(scopes).size, scopes.length);
});

test('finishedParts: scanned with nothing unsettled', () => {
  const outcomes = new Map([
    ['a', { scanned: true, unsettled: 0 }],
    ['b', { scanned: true, unsettled: 1 }],
    ['c', { scanned: false, unsettled: 0 }],
  ]);
  assert.deepEqual(finishedParts(outcomes), ['a']);
});

test("fullyProcessedExports: by Takeout naming, every part finished, oldest first, with each part's key", () => {
  const parts = [
    { name: 'takeout-20250301T000000Z-001.zip', finished: true },
    { name: 'takeout-20250101T000000Z-002.tgz', finished: true },
    { name: 'takeout-20250101T000000Z-001.zip', finished: true },
    { name: 'takeout-20250201T000000Z-001.zip', finished: true },
    { name: 'takeout-20250201T000000Z-002.zip', finished: false },
    { name: 'my-photos.zip', finished: true },
  ].map((part) => ({ ...part, key: `/t/${part.name}` }));
  assert.deepEqual(fullyProcessedExports(parts), [
    {
      timestamp: '20250101T000000Z',
      parts: 2,
      names: ['takeout-20250101T000000Z-001.zip', 'takeout-20250101T000000Z-002.tgz'],
      keys: ['/t/takeout-20250101T000000Z-001.zip', '/t/takeout-20250101T000000Z-002.tgz'],
    },
    {
      timestamp: '20250301T000000Z',
      parts: 1,
      names: ['takeout-20250301T000000Z-001.zip'],
      keys: ['/t/takeout-20250301T000000Z-001.zip'],
    },
  ]);
});

const FOLDER = 'Takeout/Google Photos/Photos from 2024';

/** Photo `i` of 2024: day `i + 1` of June, from its sidecar (the JPEG has no EXIF date). */
function photo(i: number, label = ''): { media: ArchiveEntry; sidecar: ArchiveEntry } {
  const name = `IMG_${String(i).padStart(4, '0')}.jpg`;
  return {
    media: { name: `${FOLDER}/${name}`, data: makeJpeg({ comment: `${label}photo ${i}`, shade: i }) },
    sidecar: {
      name: `${FOLDER}/${name}.json`,
      data: makeSidecar({ title: name, photoTakenTime: String(Date.UTC(2024, 5, i + 1, 12) / 1000) }),
    },
  };
}

/** Three parts, two photos each with their sidecars; photo 6's sidecar is in part 1, its bytes in part 3. */
function threeParts(): ArchiveEntry[][] {
  const p = [1, 2, 3, 4, 5, 6].map((i) => photo(i));
  const at = (i: number) => p[i - 1] as { media: ArchiveEntry; sidecar: ArchiveEntry };
  return [
    [at(1).media, at(1).sidecar, at(2).media, at(2).sidecar, at(6).sidecar],
    [at(3).media, at(3).sidecar, at(4).media, at(4).sidecar],
    [at(5).media, at(5).sidecar, at(6).media],
  ];
}

async function counted(place: TakeoutDir, inputs: string[], args: string[] = []) {
  const reads = path.join(place.dir, `reads-${Math.random().toString(36).slice(2)}`);
  const opens = path.join(place.dir, `opens-${Math.random().toString(36).slice(2)}`);
  const run = await place.run(inputs, args, {
    PHOTO_BACKUP_COUNT_MEDIA_READS: reads,
    PHOTO_BACKUP_LIST_PART_OPENS: opens,
  });
  noStack(`${run.stdout}${run.stderr}`);
  const text = (file: string) => readFile(file, 'utf8').catch(() => '');
  const opened = (await text(opens))
    .split('\n')
    .filter(Boolean)
    .map((file) => path.basename(file));
  const mediaReads = (await text(reads)).split('\n').filter(Boolean).map(Number);
  return {
    ...run,
    output: `${run.stdout}${run.stderr}`,
    opened,
    mediaReads: mediaReads.reduce((a, b) => a + b, 0),
  };
}

/** The --json events on stdout. */
const jsonEvents = (stdout: string) =>
  stdout
    .split('\n')
    .filter((text) => text.startsWith('{'))
    .map((text) => JSON.parse(text) as { type: string; time: string; [field: string]: unknown });

const names = (count: number) =>
  Array.from({ length: count }, (_, i) => `takeout-20250101T000000Z-00${i + 1}.zip`);

async function memoryLines(place: TakeoutDir): Promise<string[]> {
  const text = await readFile(path.join(place.folder, '.photo-backup', PART_MEMORY_FILE), 'utf8').catch(
    () => '',
  );
  return text.split('\n').filter(Boolean);
}

for (const kind of ['zip', 'tgz'] as const)
  test(`a rerun over finished ${kind} parts opens none of them and reads no media; the export is reported safe to delete`, async () => {
    const place = await openTakeoutDir();
    const names = (count: number) =>
      Array.from({ length: count }, (_, i) => `takeout-20250101T000000Z-00${i + 1}.${kind}`);
    try {
      await place.write(threeParts(), kind);
      const downloads = path.join(place.dir, 'downloads');
      const one = await counted(place, [downloads]);
      assert.equal(one.code, 0, one.output);
      assert.deepEqual(one.opened, names(3));
      assert.match(
        one.output,
        /Takeout export 20250101T000000Z \(3 parts\) is fully processed for 2024: it is safe to delete/,
      );
      assert.doesNotMatch(one.stdout, /export-processed/, 'an event only with --json');
      assert.equal((await memoryLines(place)).length, 3);
      const tree = await treeHashes(place.folder);
      assert.equal(tree.size, 6);

      // With --json, a script reading stdout learns which files it may delete, before the summary.
      const two = await counted(place, [downloads], ['--json']);
      assert.equal(two.code, 0, two.output);
      assert.deepEqual(two.opened, [], 'no finished part opened');
      assert.equal(two.mediaReads, 0);
      assert.match(two.stderr, /3 Takeout part\(s\) finished for 2024 by an earlier run/);
      assert.match(two.stderr, /Takeout export 20250101T000000Z \(3 parts\) is fully processed/);
      const events = jsonEvents(two.stdout);
      const processed = events.filter((event) => event.type === 'export-processed');
      const real = await realpath(downloads);
      assert.deepEqual(
        processed.map(({ time: _, ...event }) => event),
        [
          {
            type: 'export-processed',
            source: 'takeout',
            year: 2024,
            timestamp: '20250101T000000Z',
            parts: 3,
            files: names(3).map((name) => ({ name, path: path.join(real, name) })),
          },
        ],
      );
      const types = events.map((event) => event.type);
      assert.ok(types.indexOf('export-processed') < types.indexOf('summary'), types.join(', '));
      assert.deepEqual(await treeHashes(place.folder), tree);
      assert.equal((await memoryLines(place)).length, 3, 'nothing new to remember');
    } finally {
      await place.close();
    }
  });

test('a part that changed is read again: new bytes (size) or only a new modification time', async () => {
  const place = await openTakeoutDir();
  try {
    const parts = threeParts();
    const files = await place.write(parts, 'zip');
    const downloads = path.join(place.dir, 'downloads');
    assert.equal((await counted(place, [downloads])).code, 0);
    const seven = photo(7);
    await writeFile(
      files[1] as string,
      buildZip([...(parts[1] as ArchiveEntry[]), seven.media, seven.sidecar]),
    );
    const later = new Date(Date.now() + 60_000);
    await utimes(files[2] as string, later, later);
    const two = await counted(place, [downloads]);
    assert.equal(two.code, 0, two.output);
    assert.deepEqual(two.opened, names(3).slice(1), 'the two changed parts, not the first');
    assert.equal((await treeHashes(place.folder)).size, 7, 'the new photo is saved');
    const three = await counted(place, [downloads]);
    assert.deepEqual(three.opened, [], 'remembered again with their new identities');
  } finally {
    await place.close();
  }
});

test('a failed item leaves its part unfinished, and the part holding its sidecar too: the rerun reads both and dates it from the sidecar', async () => {
  const place = await openTakeoutDir();
  try {
    await place.write(threeParts(), 'zip');
    const downloads = path.join(place.dir, 'downloads');
    // Photo 6 (bytes in part 3, sidecar in part 1) belongs on 2024-06-07: make that day fail.
    await mkdir(place.folder, { recursive: true });
    const day = path.join(place.folder, '2024-06-07');
    await writeFile(day, 'not a day folder');
    const one = await counted(place, [downloads]);
    assert.equal(one.code, 1, one.output);
    assert.doesNotMatch(one.output, /fully processed/);
    const remembered = (await memoryLines(place)).map((text) => (JSON.parse(text) as { name: string }).name);
    assert.deepEqual(remembered, [names(3)[1]], 'only the part with nothing of photo 6 is finished');

    await rm(day);
    const two = await counted(place, [downloads]);
    assert.equal(two.code, 0, two.output);
    assert.deepEqual(two.opened, [names(3)[0], names(3)[2]], 'part 2 is not opened');
    const tree = await treeHashes(place.folder);
    assert.ok(tree.has('2024-06-07/IMG_0006.jpg'), `dated from its sidecar in part 1: ${[...tree.keys()]}`);
    assert.match(two.output, /fully processed for 2024/);
  } finally {
    await place.close();
  }
});

test("an album's JSON in a part of its own serves the album's copies: a copy that failed keeps that part unfinished, so the rerun names the album by its title", async () => {
  const place = await openTakeoutDir();
  try {
    const one = photo(1);
    const album = 'Takeout/Google Photos/Trip';
    await place.write(
      [
        [{ name: `${album}/metadata.json`, data: makeAlbumJson('Our Trip') }],
        [
          one.media,
          one.sidecar,
          { name: `${album}/IMG_0001.jpg`, data: one.media.data },
          { name: `${album}/IMG_0001.jpg.json`, data: one.sidecar.data },
        ],
      ],
      'zip',
    );
    const downloads = path.join(place.dir, 'downloads');
    // Photo 1 belongs on 2024-06-02: make that day fail, for its year copy and its album copy.
    await mkdir(place.folder, { recursive: true });
    const day = path.join(place.folder, '2024-06-02');
    await writeFile(day, 'not a day folder');
    const first = await counted(place, [downloads], ['--albums']);
    assert.equal(first.code, 1, first.output);
    assert.deepEqual(await memoryLines(place), [], 'the JSON part serves the failed copy: not finished');

    await rm(day);
    const again = await counted(place, [downloads], ['--albums']);
    assert.equal(again.code, 0, again.output);
    assert.deepEqual(again.opened, names(2), 'the JSON part is read again');
    assert.deepEqual(await readdir(path.join(place.folder, 'albums')), ['Our Trip']);
    assert.equal((await memoryLines(place)).length, 2);
  } finally {
    await place.close();
  }
});

test("two exports with different photos at one path: one saved, the other failed, leaves the failed one's part unfinished", async () => {
  const place = await openTakeoutDir();
  try {
    const downloads = path.join(place.dir, 'downloads');
    await mkdir(downloads, { recursive: true });
    const first = photo(1, 'first ');
    const second = { media: photo(1, 'second ').media, sidecar: photo(2).sidecar };
    second.sidecar = { ...second.sidecar, name: first.sidecar.name };
    await writeFile(
      path.join(downloads, 'takeout-20250101T000000Z-001.zip'),
      buildZip([first.media, first.sidecar]),
    );
    await writeFile(
      path.join(downloads, 'takeout-20250201T000000Z-001.zip'),
      buildZip([second.media, second.sidecar]),
    );
    // The second photo belongs on 2024-06-03: make that day fail.
    await mkdir(place.folder, { recursive: true });
    await writeFile(path.join(place.folder, '2024-06-03'), 'not a day folder');
    const one = await counted(place, [downloads]);
    assert.equal(one.code, 1, one.output);
    assert.ok((await treeHashes(place.folder)).has('2024-06-02/IMG_0001.jpg'), 'the first is saved');
    const remembered = (await memoryLines(place)).map((text) => (JSON.parse(text) as { name: string }).name);
    assert.ok(
      !remembered.includes('takeout-20250201T000000Z-001.zip'),
      `not finished: ${remembered} ${one.output}`,
    );
    await rm(path.join(place.folder, '2024-06-03'));
    const two = await counted(place, [downloads]);
    assert.equal(two.code, 0, two.output);
    assert.ok((await treeHashes(place.folder)).has('2024-06-03/IMG_0001.jpg'), 'the second is saved');
  } finally {
    await place.close();
  }
});

test('a damaged line of the memory is warned about and ignored; the good lines still count', async () => {
  const place = await openTakeoutDir();
  try {
    await place.write(threeParts(), 'zip');
    const downloads = path.join(place.dir, 'downloads');
    assert.equal((await counted(place, [downloads])).code, 0);
    const file = path.join(place.folder, '.photo-backup', PART_MEMORY_FILE);
    const lines = await memoryLines(place);
    // The first part's line damaged, and a line cut short at the end (a killed write).
    await writeFile(file, `{"year":2024,"key":\n${lines.slice(1).join('\n')}\n{"year":20`);
    const two = await counted(place, [downloads]);
    assert.equal(two.code, 0, two.output);
    assert.match(two.output, /Ignored 2 damaged line\(s\) of .*takeout-parts\.jsonl/);
    assert.deepEqual(two.opened, [names(3)[0]], 'only the part whose line was damaged');
    assert.equal(two.mediaReads, 0, 'its photos are known from the record');
    const three = await counted(place, [downloads]);
    assert.deepEqual(three.opened, []);
    assert.doesNotMatch(three.output, /damaged line/, 'the damaged lines were dropped');
  } finally {
    await place.close();
  }
});

test('a run that takes other items of the year (videos left out) reads the parts again', async () => {
  const place = await openTakeoutDir();
  try {
    await place.write(threeParts(), 'zip');
    const downloads = path.join(place.dir, 'downloads');
    assert.equal((await counted(place, [downloads])).code, 0);
    const two = await counted(place, [downloads], ['--skip-videos']);
    assert.equal(two.code, 0, two.output);
    assert.deepEqual(two.opened, names(3));
    assert.deepEqual((await counted(place, [downloads])).opened, [], 'the plain run is still remembered');
  } finally {
    await place.close();
  }
});

test('another year reads the parts again: they were finished for 2024 only', async () => {
  const place = await openTakeoutDir();
  try {
    await place.write(threeParts(), 'zip');
    const downloads = path.join(place.dir, 'downloads');
    assert.equal((await counted(place, [downloads])).code, 0);
    const reads = path.join(place.dir, 'opens-2023');
    const run = await runCli(['2023', 'photos', '--takeout', downloads], {
      cwd: place.dir,
      env: { PHOTO_BACKUP_LIST_PART_OPENS: reads },
    });
    noStack(`${run.stdout}${run.stderr}`);
    const opened = (await readFile(reads, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((file) => path.basename(file));
    assert.deepEqual(opened, names(3));
    const again = await runCli(['2023', 'photos', '--takeout', downloads], {
      cwd: place.dir,
      env: { PHOTO_BACKUP_LIST_PART_OPENS: `${reads}-again` },
    });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(await readFile(`${reads}-again`, 'utf8').catch(() => ''), '', 'finished for 2023 now');
  } finally {
    await place.close();
  }
});

test('a saved file deleted from the backup folder makes the rerun read every part again and save it again', async () => {
  const place = await openTakeoutDir();
  try {
    await place.write(threeParts(), 'zip');
    const downloads = path.join(place.dir, 'downloads');
    assert.equal((await counted(place, [downloads])).code, 0);
    const tree = await treeHashes(place.folder);
    const [gone] = [...tree.keys()].sort();
    await rm(path.join(place.folder, gone as string));
    const two = await counted(place, [downloads]);
    assert.equal(two.code, 0, two.output);
    assert.match(two.output, /1 file\(s\) the record holds for 2024 are missing from the backup folder/);
    assert.deepEqual(two.opened, names(3), 'every part read again');
    assert.deepEqual(await treeHashes(place.folder), tree, 'the deleted photo is back, nothing else changed');
    const three = await counted(place, [downloads]);
    assert.deepEqual(three.opened, [], 'finished again');
  } finally {
    await place.close();
  }
});

test('a record that cannot be synced to disk leaves no part remembered: the next run reads every part again', async () => {
  // A part remembered is never read again, so the memory is written only over a record known to
  // be on the disk (Manifest.sync before the source closes): after a power cut, a remembered part
  // whose items' lines were still in the page cache would leave those items unsaved for good.
  const place = await openTakeoutDir();
  try {
    await place.write(threeParts(), 'zip');
    const downloads = path.join(place.dir, 'downloads');
    const one = await place.run([downloads], [], { PHOTO_BACKUP_FAIL_RECORD_SYNC: '1' });
    noStack(`${one.stdout}${one.stderr}`);
    assert.equal(one.code, 0, `${one.stdout}${one.stderr}`);
    assert.match(
      `${one.stdout}${one.stderr}`,
      /The record could not be synced to disk: no Takeout part is remembered/,
    );
    assert.doesNotMatch(`${one.stdout}${one.stderr}`, /safe to delete/, 'no export called safe to delete');
    assert.deepEqual(await memoryLines(place), []);
    assert.equal((await treeHashes(place.folder)).size, 6);

    const two = await counted(place, [downloads]);
    assert.equal(two.code, 0, two.output);
    assert.deepEqual(two.opened, names(3), 'every part read again');
    assert.equal((await memoryLines(place)).length, 3, 'remembered once the record is synced');
  } finally {
    await place.close();
  }
});
