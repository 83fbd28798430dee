/**
 * Which Takeout item is "already saved", through the built CLI. A Takeout path is a place, not an
 * identity: Google numbers same-named files per export (`IMG_0001.jpg`, `IMG_0001(1).jpg`), so a
 * later export, another account's export or a second phone puts another photo at a recorded path.
 * Such a photo is saved (with a suffix beside the first), never skipped; the same photo is never
 * saved twice; and a run over archives already saved reads no media bytes (counted through the
 * test-only PHOTO_BACKUP_COUNT_MEDIA_READS).
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { parseJournal, type SavedRecord } from '../../../src/manifest.ts';
import { sha256, treeHashes } from '../../helpers/cli.ts';
import {
  type ArchiveEntry,
  buildTgz,
  buildZip,
  makeJpeg,
  makeSidecar,
  type ZipEntryOptions,
} from '../../helpers/takeout-builder.ts';
import { openTakeoutDir, type TakeoutDir } from '../../helpers/takeout-year.ts';

const YEAR_FOLDER = 'Takeout/Google Photos/Photos from 2024';
const noStack = (text: string) => assert.doesNotMatch(text, /\n\s+at |hit a bug/, 'no stack trace');

type Kind = 'zip' | 'tgz' | 'folder';

interface Photo {
  /** The name Google gave it in this export. */
  name: string;
  bytes: Buffer;
  /** The camera's name, the sidecar's `title` (Google keeps it when it renumbers the file). */
  title: string;
  taken: Date;
  sidecar?: boolean;
}

/** `IMG_0001(1).jpg` has its sidecar at `IMG_0001.jpg(1).json`, as Google writes it. */
function sidecarName(photo: Photo): string {
  const numbered = /^(.*)\((\d+)\)(\.[^.]+)$/.exec(photo.name);
  return numbered ? `${numbered[1]}${numbered[3]}(${numbered[2]}).json` : `${photo.name}.json`;
}

function exportEntries(photos: readonly Photo[]): ArchiveEntry[] {
  const entries: ArchiveEntry[] = [];
  for (const photo of photos) {
    entries.push({ name: `${YEAR_FOLDER}/${photo.name}`, data: photo.bytes });
    if (photo.sidecar !== false) {
      entries.push({
        name: `${YEAR_FOLDER}/${sidecarName(photo)}`,
        data: makeSidecar({ title: photo.title, photoTakenTime: String(photo.taken.getTime() / 1000) }),
      });
    }
  }
  return entries;
}

/** Writes one export as a zip, a tgz or an extracted folder under `<dir>/<label>`; returns the input path. */
async function writeExport(
  place: TakeoutDir,
  label: string,
  kind: Kind,
  entries: readonly ZipEntryOptions[],
): Promise<string> {
  const base = path.join(place.dir, label);
  if (kind === 'folder') {
    for (const entry of entries) {
      const file = path.join(base, entry.name);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, entry.data);
    }
    return base;
  }
  await mkdir(place.dir, { recursive: true });
  const file = `${base}.${kind}`;
  await writeFile(file, kind === 'zip' ? buildZip(entries) : buildTgz(entries));
  return file;
}

interface Summary {
  saved: number;
  copies: number;
  skipped: number;
  otherYears: Record<string, number>;
}

function summaryOf(stdout: string): Summary {
  for (const line of stdout.split('\n').reverse()) {
    if (!line.startsWith('{')) continue;
    const event = JSON.parse(line) as { type?: string; summary?: Summary };
    if (event.type === 'summary' && event.summary) return event.summary;
  }
  throw new Error(`no summary in ${stdout.slice(-500)}`);
}

/** How many times each of these photos' bytes are in the backup. */
async function copiesInBackup(
  folder: string,
  photos: Record<string, Buffer>,
): Promise<Record<string, number>> {
  const hashes = [...(await treeHashes(folder)).values()];
  const counts: Record<string, number> = {};
  for (const [label, bytes] of Object.entries(photos))
    counts[label] = hashes.filter((hash) => hash === sha256(bytes)).length;
  return counts;
}

/**
 * Forgets which parts earlier runs finished (part-memory.ts), so a rerun lists the same archives
 * again and what is checked is how each item is recognised, not that finished parts are skipped.
 */
async function forgetFinishedParts(place: TakeoutDir): Promise<void> {
  await rm(path.join(place.folder, '.photo-backup', 'takeout-parts.jsonl'), { force: true });
}

/** Runs with the media-read counter on; returns the run and how many media reads it made. */
async function countedRun(place: TakeoutDir, inputs: string[], args: string[] = []) {
  const counter = path.join(place.dir, `reads-${Math.random().toString(36).slice(2)}.txt`);
  const run = await place.run(inputs, ['--json', ...args], { PHOTO_BACKUP_COUNT_MEDIA_READS: counter });
  const text = await readFile(counter, 'utf8').catch(() => '');
  const reads = text.trim() === '' ? undefined : Number(text.trim());
  return { run, reads };
}

const day = (hour: number) => new Date(Date.UTC(2024, 2, 1, hour));
const A = makeJpeg({
  dateTimeOriginal: '2024:03:01 10:00:00',
  comment: 'photo A from the first phone',
  shade: 70,
});
const C = makeJpeg({ dateTimeOriginal: '2024:03:01 11:00:00', comment: 'photo C, taken later', shade: -70 });
// Two phones, one camera name, one size: only the bytes (or the sidecar) tell them apart.
const P1 = makeJpeg({ dateTimeOriginal: '2024:03:01 10:00:00', comment: 'phone one', shade: 80 });
const P2 = makeJpeg({ dateTimeOriginal: '2024:03:01 12:00:00', comment: 'phone two', shade: 90 });

for (const kind of ['zip', 'tgz', 'folder'] as const) {
  test(`takeout ${kind}: a later export puts another photo at a recorded path: both are saved, the first once`, async () => {
    const place = await openTakeoutDir();
    try {
      const first = await writeExport(
        place,
        'export-1',
        kind,
        exportEntries([{ name: 'IMG_0001.jpg', bytes: A, title: 'IMG_0001.jpg', taken: day(10) }]),
      );
      const one = await place.run([first], ['--json']);
      assert.equal(one.code, 0, one.stderr);
      // Export 2: C took the name, A was renumbered.
      const second = await writeExport(
        place,
        'export-2',
        kind,
        exportEntries([
          { name: 'IMG_0001.jpg', bytes: C, title: 'IMG_0001.jpg', taken: day(11) },
          { name: 'IMG_0001(1).jpg', bytes: A, title: 'IMG_0001.jpg', taken: day(10) },
        ]),
      );
      const two = await place.run([second], ['--json']);
      assert.equal(two.code, 0, two.stderr);
      noStack(two.stderr);
      assert.deepEqual(await copiesInBackup(place.folder, { A, C }), { A: 1, C: 1 });
      assert.equal(summaryOf(two.stdout).saved, 1, 'C saved, A not saved again');
      // And once more: nothing new.
      const three = await place.run([second], ['--json']);
      assert.equal(three.code, 0, three.stderr);
      assert.equal(summaryOf(three.stdout).saved, 0);
      assert.deepEqual(await copiesInBackup(place.folder, { A, C }), { A: 1, C: 1 });
    } finally {
      await place.close();
    }
  });
}

for (const [kind, sidecar] of [
  ['zip', true],
  ['tgz', true],
  ['folder', true],
  ['folder', false],
] as const) {
  test(`takeout ${kind}${sidecar ? '' : ' without sidecars'}: two phones' same-named photos of one size are both saved`, async () => {
    assert.equal(P1.length, P2.length, 'the test needs photos of one size');
    const place = await openTakeoutDir();
    try {
      // One photo with a sidecar, in a later month, so the export is found as a Takeout by content.
      const marker: Photo = {
        name: 'MARKER.jpg',
        bytes: C,
        title: 'MARKER.jpg',
        taken: new Date(Date.UTC(2024, 5, 1)),
      };
      const first = await writeExport(
        place,
        'export-1',
        kind,
        exportEntries([
          marker,
          { name: 'IMG_0001.jpg', bytes: P1, title: 'IMG_0001.jpg', taken: day(10), sidecar },
        ]),
      );
      const one = await place.run([first]);
      assert.equal(one.code, 0, one.stderr);
      // The second phone's photo sorts first in the next export and takes the plain name.
      const second = await writeExport(
        place,
        'export-2',
        kind,
        exportEntries([
          marker,
          { name: 'IMG_0001.jpg', bytes: P2, title: 'IMG_0001.jpg', taken: day(12), sidecar },
          { name: 'IMG_0001(1).jpg', bytes: P1, title: 'IMG_0001.jpg', taken: day(10), sidecar },
        ]),
      );
      const two = await place.run([second], ['--json']);
      assert.equal(two.code, 0, two.stderr);
      assert.deepEqual(await copiesInBackup(place.folder, { P1, P2 }), { P1: 1, P2: 1 });
      const files = [...(await treeHashes(place.folder)).keys()]
        .filter((file) => file.startsWith('2024-03-01/'))
        .sort();
      assert.equal(files.length, 2, files.join(', '));
      assert.ok(files.includes('2024-03-01/IMG_0001.jpg'), 'the first keeps its name');
      assert.match(
        files.find((file) => file !== '2024-03-01/IMG_0001.jpg') ?? '',
        /^2024-03-01\/IMG_0001~[0-9a-f]{8}\.jpg$/,
      );
    } finally {
      await place.close();
    }
  });
}

test('takeout: two accounts saved into one folder keep both photos that share a path and a day', async () => {
  const place = await openTakeoutDir();
  try {
    // Ana's export as a zip, Ben's as a tgz: both hold `Photos from 2024/IMG_0001.jpg`, of one size.
    const ana = await writeExport(
      place,
      'ana',
      'zip',
      exportEntries([{ name: 'IMG_0001.jpg', bytes: P1, title: 'IMG_0001.jpg', taken: day(10) }]),
    );
    const ben = await writeExport(
      place,
      'ben',
      'tgz',
      exportEntries([{ name: 'IMG_0001.jpg', bytes: P2, title: 'IMG_0001.jpg', taken: day(12) }]),
    );
    for (const input of [ana, ben, ana, ben]) {
      const run = await place.run([input], ['--json']);
      assert.equal(run.code, 0, run.stderr);
    }
    assert.deepEqual(await copiesInBackup(place.folder, { P1, P2 }), { P1: 1, P2: 1 });
  } finally {
    await place.close();
  }
});

// Regression: given in one run, the two exports' same path merged into one entry and one photo was lost.
for (const [kindA, kindB] of [
  ['zip', 'zip'],
  ['zip', 'tgz'],
  ['folder', 'folder'],
] as const) {
  test(`takeout: two accounts' exports (${kindA} + ${kindB}) in ONE run sharing a path keep both photos; a rerun saves nothing`, async () => {
    const place = await openTakeoutDir();
    try {
      const ana = await writeExport(
        place,
        'ana',
        kindA,
        exportEntries([{ name: 'IMG_0001.jpg', bytes: P1, title: 'IMG_0001.jpg', taken: day(10) }]),
      );
      const ben = await writeExport(
        place,
        'ben',
        kindB,
        exportEntries([{ name: 'IMG_0001.jpg', bytes: P2, title: 'IMG_0001.jpg', taken: day(12) }]),
      );
      const one = await place.run([ana, ben], ['--json']);
      assert.equal(one.code, 0, one.stderr);
      noStack(one.stderr);
      assert.deepEqual(await copiesInBackup(place.folder, { P1, P2 }), { P1: 1, P2: 1 });
      const files = [...(await treeHashes(place.folder)).keys()].filter((file) =>
        file.startsWith('2024-03-01/'),
      );
      assert.ok(files.includes('2024-03-01/IMG_0001.jpg'), files.join(', '));
      assert.ok(
        files.some((file) => /^2024-03-01\/IMG_0001~[0-9a-f]{8}\.jpg$/.test(file)),
        files.join(', '),
      );
      assert.equal(summaryOf(one.stdout).saved, 2);
      await forgetFinishedParts(place);
      const again = await place.run([ana, ben], ['--json']);
      assert.equal(again.code, 0, again.stderr);
      const summary = summaryOf(again.stdout);
      assert.equal(summary.saved, 0);
      assert.equal(summary.skipped, 2, 'both reported as already saved');
      assert.deepEqual(await copiesInBackup(place.folder, { P1, P2 }), { P1: 1, P2: 1 });
    } finally {
      await place.close();
    }
  });
}

test('takeout: split parts of one export sharing a path with the same photo save it once', async () => {
  const place = await openTakeoutDir();
  try {
    const entries = exportEntries([
      { name: 'IMG_0001.jpg', bytes: P1, title: 'IMG_0001.jpg', taken: day(10) },
    ]);
    const marker = exportEntries([{ name: 'IMG_0002.jpg', bytes: C, title: 'IMG_0002.jpg', taken: day(11) }]);
    const one = await writeExport(place, 'takeout-20250101T000000Z-001', 'zip', [...entries, ...marker]);
    // The photo again in part 2, its sidecar only in part 1: still one item.
    const two = await writeExport(place, 'takeout-20250101T000000Z-002', 'zip', [entries[0] as ArchiveEntry]);
    const run = await place.run([one, two], ['--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await copiesInBackup(place.folder, { P1, C }), { P1: 1, C: 1 });
    assert.equal(summaryOf(run.stdout).saved, 2);
  } finally {
    await place.close();
  }
});

test("takeout: one export's parts keep their sidecars together when another account's export comes first", async () => {
  const place = await openTakeoutDir();
  try {
    const ben = await writeExport(
      place,
      'ben',
      'zip',
      exportEntries([{ name: 'IMG_0001.jpg', bytes: P2, title: 'IMG_0001.jpg', taken: day(12) }]),
    );
    // Ana's part 1 holds her IMG_0001 and IMG_0002's sidecar (1 June); part 2 holds IMG_0002 alone,
    // whose EXIF says 1 March: only its own export's sidecar puts it on 1 June.
    const anaPhotos = exportEntries([
      { name: 'IMG_0001.jpg', bytes: P1, title: 'IMG_0001.jpg', taken: day(10) },
      { name: 'IMG_0002.jpg', bytes: A, title: 'IMG_0002.jpg', taken: new Date(Date.UTC(2024, 5, 1, 9)) },
    ]);
    const photo2 = anaPhotos.find((entry) => entry.name.endsWith('/IMG_0002.jpg')) as ArchiveEntry;
    const one = await writeExport(
      place,
      'takeout-20250101T000000Z-001',
      'zip',
      anaPhotos.filter((entry) => entry !== photo2),
    );
    const two = await writeExport(place, 'takeout-20250101T000000Z-002', 'zip', [photo2]);
    const run = await place.run([ben, one, two], ['--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await copiesInBackup(place.folder, { P1, P2, A }), { P1: 1, P2: 1, A: 1 });
    const files = [...(await treeHashes(place.folder)).keys()];
    assert.ok(files.includes('2024-06-01/IMG_0002.jpg'), files.join(', '));
  } finally {
    await place.close();
  }
});

for (const kind of ['zip', 'folder'] as const) {
  test(`takeout ${kind}: a run over archives already saved reads no media bytes`, async () => {
    const place = await openTakeoutDir();
    try {
      const input = await writeExport(
        place,
        'export-1',
        kind,
        exportEntries([
          { name: 'IMG_0001.jpg', bytes: A, title: 'IMG_0001.jpg', taken: day(10) },
          { name: 'IMG_0002.jpg', bytes: C, title: 'IMG_0002.jpg', taken: day(11) },
        ]),
      );
      const first = await countedRun(place, [input]);
      assert.equal(first.run.code, 0, first.run.stderr);
      assert.ok((first.reads ?? 0) >= 2, `the counter counts: ${first.reads} reads in the first run`);
      await forgetFinishedParts(place);
      const again = await countedRun(place, [input]);
      assert.equal(again.run.code, 0, again.run.stderr);
      assert.equal(summaryOf(again.run.stdout).skipped, 2);
      assert.equal(again.reads, 0, 'no media byte read on the second run');
    } finally {
      await place.close();
    }
  });
}

/**
 * One export of IMG_0001.jpg (P1) saved, then its record written as a version before evidence
 * wrote it (no `evidence`), and no memory of finished parts (that version kept none either).
 */
async function savedWithoutEvidence(place: TakeoutDir) {
  const first = await writeExport(
    place,
    'export-1',
    'zip',
    exportEntries([{ name: 'IMG_0001.jpg', bytes: P1, title: 'IMG_0001.jpg', taken: day(10) }]),
  );
  assert.equal((await place.run([first])).code, 0);
  const journal = path.join(place.folder, '.photo-backup', 'saved.jsonl');
  const records = parseJournal(await readFile(journal, 'utf8')).records;
  const old = records.map(({ evidence: _, ...rest }) => rest);
  const oldText = `${old.map((record) => JSON.stringify(record)).join('\n')}\n`;
  await writeFile(journal, oldText);
  await forgetFinishedParts(place);
  return { first, journal, records, old, oldText };
}

test('takeout: a record from before evidence was kept is checked by content once, upgraded, never discarded', async () => {
  const place = await openTakeoutDir();
  try {
    const { first, journal, oldText } = await savedWithoutEvidence(place);
    // The same export again: A is recognised by its bytes on disk and not saved again.
    const same = await place.run([first], ['--json']);
    assert.equal(same.code, 0, same.stderr);
    assert.equal(summaryOf(same.stdout).saved, 0);
    const upgraded = parseJournal(await readFile(journal, 'utf8')).records;
    assert.ok(
      upgraded.some(
        (record) => record.path === '2024-03-01/IMG_0001.jpg' && record.evidence?.crc32 !== undefined,
      ),
      'the record is written again with its evidence',
    );
    await forgetFinishedParts(place);
    const cheap = await countedRun(place, [first]);
    assert.equal(cheap.reads, 0, 'after the upgrade a rerun reads no media bytes');

    // An old record and a later export with another photo of the same size at its path.
    await writeFile(journal, oldText);
    const second = await writeExport(
      place,
      'export-2',
      'zip',
      exportEntries([
        { name: 'IMG_0001.jpg', bytes: P2, title: 'IMG_0001.jpg', taken: day(12) },
        { name: 'IMG_0001(1).jpg', bytes: P1, title: 'IMG_0001.jpg', taken: day(10) },
      ]),
    );
    const two = await place.run([second], ['--json']);
    assert.equal(two.code, 0, two.stderr);
    assert.deepEqual(await copiesInBackup(place.folder, { P1, P2 }), { P1: 1, P2: 1 });
  } finally {
    await place.close();
  }
});

test('takeout: the line that upgrades a record with its evidence keeps everything else the record held', async () => {
  const place = await openTakeoutDir();
  try {
    const {
      first,
      journal,
      records,
      old: [old],
    } = await savedWithoutEvidence(place);
    const [saved] = records;
    assert.ok(saved?.metadata && saved.takenAt && saved.evidence, JSON.stringify(saved));
    const same = await place.run([first], ['--json']);
    assert.equal(same.code, 0, same.stderr);
    assert.equal(summaryOf(same.stdout).saved, 0);
    const lines = parseJournal(await readFile(journal, 'utf8')).records;
    assert.equal(lines.length, 2, 'the old line and its upgrade');
    const { evidence, ...rest } = lines[1] as SavedRecord;
    assert.ok(evidence?.crc32 !== undefined);
    assert.deepEqual(rest, old, 'dates, metadata and savedAt as the record held them');
  } finally {
    await place.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Input corner cases

test('takeout: two photos named café.jpg in NFC and in NFD, of one size, in one folder are both saved', async () => {
  const nfc = 'caf\u00e9.jpg';
  const nfd = 'cafe\u0301.jpg';
  const one = makeJpeg({ dateTimeOriginal: '2024:05:01 10:00:00', comment: 'one', shade: 40 });
  const two = makeJpeg({ dateTimeOriginal: '2024:05:01 11:00:00', comment: 'two', shade: 50 });
  assert.equal(one.length, two.length);
  const place = await openTakeoutDir();
  try {
    const input = await writeExport(place, 'export', 'zip', [
      ...exportEntries([{ name: 'other.jpg', bytes: A, title: 'other.jpg', taken: day(10) }]),
      { name: `${YEAR_FOLDER}/${nfc}`, data: one },
      { name: `${YEAR_FOLDER}/${nfd}`, data: two },
    ]);
    const run = await place.run([input], ['--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await copiesInBackup(place.folder, { one, two }), { one: 1, two: 1 });
    const again = await place.run([input], ['--json']);
    assert.equal(summaryOf(again.stdout).saved, 0);
  } finally {
    await place.close();
  }
});

test('takeout: a sidecar date in year 20243 is not of 2024: no 20243-… folder in a 2024 backup', async () => {
  const place = await openTakeoutDir();
  try {
    const far = new Date(0);
    far.setUTCFullYear(20243, 6, 14);
    const input = await writeExport(
      place,
      'export',
      'zip',
      exportEntries([
        { name: 'IMG_0001.jpg', bytes: A, title: 'IMG_0001.jpg', taken: day(10) },
        { name: 'FAR.jpg', bytes: makeJpeg({ comment: 'far' }), title: 'FAR.jpg', taken: far },
      ]),
    );
    const run = await place.run([input], ['--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual([...(await treeHashes(place.folder)).keys()], ['2024-03-01/IMG_0001.jpg']);
    assert.deepEqual(summaryOf(run.stdout).otherYears, { 20243: 1 });
  } finally {
    await place.close();
  }
});

test('takeout: a run for another year does not count the recorded items of 2024 as already saved', async () => {
  const place = await openTakeoutDir();
  try {
    const input = await writeExport(
      place,
      'export',
      'zip',
      exportEntries([
        { name: 'IMG_0001.jpg', bytes: A, title: 'IMG_0001.jpg', taken: day(10) },
        { name: 'IMG_0002.jpg', bytes: C, title: 'IMG_0002.jpg', taken: day(11) },
      ]),
    );
    assert.equal((await place.run([input])).code, 0);
    const { runCli } = await import('../../helpers/cli.ts');
    const other = await runCli(['1800', 'photos', '--takeout', input, '--json'], { cwd: place.dir });
    assert.equal(other.code, 0, other.stderr);
    const summary = summaryOf(other.stdout);
    assert.equal(summary.skipped, 0, 'nothing of 1800 was saved before');
    assert.deepEqual(summary.otherYears, { 2024: 2 });
  } finally {
    await place.close();
  }
});

test('takeout: a symbolic link stored in a zip is skipped with a notice, not saved as a photo', async () => {
  const place = await openTakeoutDir();
  try {
    const input = await writeExport(place, 'export', 'zip', [
      ...exportEntries([{ name: 'IMG_0001.jpg', bytes: A, title: 'IMG_0001.jpg', taken: day(10) }]),
      {
        name: `${YEAR_FOLDER}/IMG_20240301_120000.jpg`,
        data: '/etc/passwd',
        unixMode: 0o120777,
        method: 'store',
      },
    ]);
    const run = await place.run([input]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual([...(await treeHashes(place.folder)).keys()], ['2024-03-01/IMG_0001.jpg']);
    assert.match(`${run.stdout}${run.stderr}`, /symbolic link/);
  } finally {
    await place.close();
  }
});

test('takeout: an extracted Takeout folder given through a symbolic link is read as the folder', async () => {
  const place = await openTakeoutDir();
  try {
    const input = await writeExport(
      place,
      'export',
      'folder',
      exportEntries([{ name: 'IMG_0001.jpg', bytes: A, title: 'IMG_0001.jpg', taken: day(10) }]),
    );
    const link = path.join(place.dir, 'linked-export');
    await symlink(input, link);
    const run = await place.run([link]);
    assert.equal(run.code, 0, run.stderr);
    noStack(run.stderr);
    assert.deepEqual([...(await treeHashes(place.folder)).keys()], ['2024-03-01/IMG_0001.jpg']);
    await rm(link);
  } finally {
    await place.close();
  }
});
