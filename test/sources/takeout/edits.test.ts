/**
 * A photo edited in Google Photos comes again in a later (incremental) export, through the built
 * CLI: it is the same item with new evidence, recognised by Google's photo id (the sidecar's
 * `url`, `https://photos.google.com/photo/<id>`) even where its path changed. A new date moves
 * the saved file to its new day folder (never a second copy, never removed before the copy is in
 * place, also when the run is killed mid-move); a new location or description rewrites its XMP
 * sidecar with --xmp (not one the user edited); new pixels (`IMG-edited.jpg`, which borrows the
 * original's sidecar) are saved beside the original.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { Manifest, parseJournal, type SavedRecord } from '../../../src/manifest.ts';
import { formatGpsCoordinate } from '../../../src/metadata/xmp.ts';
import { sha256, treeHashes } from '../../helpers/cli.ts';
import {
  buildTgz,
  buildZip,
  makeJpeg,
  makeSidecar,
  type ZipEntryOptions,
} from '../../helpers/takeout-builder.ts';
import { openTakeoutDir, type TakeoutDir } from '../../helpers/takeout-year.ts';

type Kind = 'zip' | 'tgz' | 'folder';

interface Photo {
  /** Where this export puts it, under `Takeout/Google Photos/`. */
  at: string;
  bytes: Buffer;
  title: string;
  taken: Date;
  /** Google's id: the same in every export of this photo. */
  id?: string;
  location?: { latitude: number; longitude: number };
  description?: string;
  /** No sidecar of its own (an edited copy: it borrows its original's). */
  bare?: boolean;
}

function entriesOf(photos: readonly Photo[]): ZipEntryOptions[] {
  const entries: ZipEntryOptions[] = [];
  for (const photo of photos) {
    entries.push({ name: `Takeout/Google Photos/${photo.at}`, data: photo.bytes });
    if (photo.bare) continue;
    entries.push({
      name: `Takeout/Google Photos/${photo.at}.supplemental-metadata.json`,
      data: makeSidecar({
        title: photo.title,
        photoTakenTime: String(photo.taken.getTime() / 1000),
        ...(photo.id ? { url: `https://photos.google.com/photo/${photo.id}` } : {}),
        ...(photo.location ? { geoData: photo.location } : {}),
        ...(photo.description ? { description: photo.description } : {}),
      }),
    });
  }
  return entries;
}

/** One export as a zip, a tgz or an extracted folder in `<dir>/exports`; returns the input path. */
async function writeExport(
  place: TakeoutDir,
  label: string,
  kind: Kind,
  photos: readonly Photo[],
): Promise<string> {
  const entries = entriesOf(photos);
  const base = path.join(place.dir, 'exports', label);
  if (kind === 'folder') {
    for (const entry of entries) {
      const file = path.join(base, entry.name);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, entry.data);
    }
    return base;
  }
  await mkdir(path.dirname(base), { recursive: true });
  const file = `${base}.${kind}`;
  await writeFile(file, kind === 'zip' ? buildZip(entries) : buildTgz(entries));
  return file;
}

/** One Takeout part, zip or tgz by its name, in the place's downloads folder; its path. */
async function writeDownload(place: TakeoutDir, name: string, photos: readonly Photo[]): Promise<string> {
  const downloads = path.join(place.dir, 'downloads');
  await mkdir(downloads, { recursive: true });
  const file = path.join(downloads, name);
  const entries = entriesOf(photos);
  await writeFile(file, name.endsWith('.zip') ? buildZip(entries) : buildTgz(entries));
  return file;
}

const run = (place: TakeoutDir, input: string, args: string[] = [], env: NodeJS.ProcessEnv = {}) =>
  place.run([input], ['--timezone', 'UTC', '--json', ...args], env);

/** Where each of these photos' bytes are in the backup (relative paths, sorted). */
async function placesOf(folder: string, bytes: Buffer): Promise<string[]> {
  const places: string[] = [];
  for (const [file, hash] of await treeHashes(folder)) if (hash === sha256(bytes)) places.push(file);
  return places.sort();
}

/** Every record names a file that is there with the recorded size. */
async function assertRecordSound(folder: string): Promise<void> {
  const manifest = await Manifest.load(folder, { readOnly: true });
  for (const record of manifest.allRecords()) {
    const info = await stat(path.join(folder, record.path)).catch(() => undefined);
    assert.equal(info?.size, record.size, `${record.path} is recorded: it must be there`);
  }
}

function summaryOf(stdout: string): { saved: number; failed: unknown[] } {
  for (const line of stdout.split('\n').reverse()) {
    if (!line.startsWith('{')) continue;
    const event = JSON.parse(line) as { type?: string; summary?: { saved: number; failed: unknown[] } };
    if (event.type === 'summary' && event.summary) return event.summary;
  }
  throw new Error(`no summary in ${stdout.slice(-500)}`);
}

const A = makeJpeg({ dateTimeOriginal: '2024:03:01 10:00:00', comment: 'photo A', shade: 40 });
const B = makeJpeg({ dateTimeOriginal: '2024:03:01 11:00:00', comment: 'photo B', shade: -40 });
const march = (day: number, hour = 12) => new Date(Date.UTC(2024, 2, day, hour));

for (const kind of ['zip', 'tgz', 'folder'] as const) {
  test(`takeout ${kind}: a date edited in Google Photos moves the saved file to its new day, once; a rerun changes nothing`, async () => {
    const place = await openTakeoutDir();
    try {
      const first = await writeExport(place, 'full', kind, [
        {
          at: 'Photos from 2024/IMG_0001.jpg',
          bytes: A,
          title: 'IMG_0001.jpg',
          taken: march(1),
          id: 'AF1QipA',
        },
        {
          at: 'Photos from 2024/IMG_0002.jpg',
          bytes: B,
          title: 'IMG_0002.jpg',
          taken: march(1),
          id: 'AF1QipB',
        },
      ]);
      const one = await run(place, first);
      assert.equal(one.code, 0, one.stdout + one.stderr);
      assert.deepEqual(await placesOf(place.folder, A), ['2024-03-01/IMG_0001.jpg']);
      // The incremental export: A's date was edited; B's too, and B is now alone in the export
      // under another name (Google numbers same-named files per export, so its path changed).
      const second = await writeExport(place, 'incremental', kind, [
        {
          at: 'Photos from 2024/IMG_0001.jpg',
          bytes: A,
          title: 'IMG_0001.jpg',
          taken: march(5),
          id: 'AF1QipA',
        },
        {
          at: 'Photos from 2024/IMG_0002(1).jpg',
          bytes: B,
          title: 'IMG_0002.jpg',
          taken: march(7),
          id: 'AF1QipB',
        },
      ]);
      const before = await treeHashes(place.folder);
      const dry = await run(place, second, ['--dry-run']);
      assert.equal(dry.code, 0, dry.stdout + dry.stderr);
      assert.match(
        dry.stdout,
        /IMG_0001\.jpg: its date was edited in Google Photos; it would move to 2024-03-05/,
      );
      assert.deepEqual(await treeHashes(place.folder), before, 'a dry run moves nothing');
      const two = await run(place, second);
      assert.equal(two.code, 0, two.stdout + two.stderr);
      assert.equal(summaryOf(two.stdout).saved, 0, 'nothing downloaded again');
      assert.deepEqual(await placesOf(place.folder, A), ['2024-03-05/IMG_0001.jpg'], 'moved, not copied');
      assert.deepEqual(await placesOf(place.folder, B), ['2024-03-07/IMG_0002.jpg'], 'found by its photo id');
      assert.equal(
        (await stat(path.join(place.folder, '2024-03-05/IMG_0001.jpg'))).mtime.toISOString(),
        march(5).toISOString(),
        'the file time is the new capture time',
      );
      await assert.rejects(stat(path.join(place.folder, '2024-03-01')), 'the emptied day folder is gone');
      assert.match(two.stdout, /IMG_0001\.jpg: its date was edited in Google Photos; moved to 2024-03-05/);
      await assertRecordSound(place.folder);
      const tree = await treeHashes(place.folder);
      const three = await run(place, second);
      assert.equal(three.code, 0, three.stdout + three.stderr);
      assert.equal(summaryOf(three.stdout).saved, 0);
      assert.deepEqual(await treeHashes(place.folder), tree, 'a rerun changes nothing');
    } finally {
      await place.close();
    }
  });
}

test('takeout zip: a new location and description rewrite the XMP sidecar; one the user edited is kept', async () => {
  const place = await openTakeoutDir();
  try {
    const before = { latitude: 48.8566, longitude: 2.3522 };
    const after = { latitude: 41.3874, longitude: 2.1686 };
    const first = await writeExport(place, 'full', 'zip', [
      {
        at: 'Photos from 2024/IMG_0001.jpg',
        bytes: A,
        title: 'IMG_0001.jpg',
        taken: march(1),
        id: 'AF1QipA',
        location: before,
        description: 'in Paris',
      },
      {
        at: 'Photos from 2024/IMG_0002.jpg',
        bytes: B,
        title: 'IMG_0002.jpg',
        taken: march(1),
        id: 'AF1QipB',
        description: 'first words',
      },
    ]);
    const one = await run(place, first, ['--xmp']);
    assert.equal(one.code, 0, one.stdout + one.stderr);
    const xmpA = path.join(place.folder, '2024-03-01/IMG_0001.jpg.xmp');
    const xmpB = path.join(place.folder, '2024-03-01/IMG_0002.jpg.xmp');
    assert.match(await readFile(xmpA, 'utf8'), /in Paris/);
    assert.ok((await readFile(xmpA, 'utf8')).includes(formatGpsCoordinate(before.latitude, 'N', 'S')));
    // The user edits B's sidecar by hand: it is theirs from now on.
    const edited = (await readFile(xmpB, 'utf8')).replace('first words', 'my own words');
    await writeFile(xmpB, edited);
    const second = await writeExport(place, 'incremental', 'zip', [
      {
        at: 'Photos from 2024/IMG_0001.jpg',
        bytes: A,
        title: 'IMG_0001.jpg',
        taken: march(1),
        id: 'AF1QipA',
        location: after,
        description: 'in Barcelona',
      },
      {
        at: 'Photos from 2024/IMG_0002.jpg',
        bytes: B,
        title: 'IMG_0002.jpg',
        taken: march(1),
        id: 'AF1QipB',
        description: 'second words',
      },
    ]);
    const two = await run(place, second, ['--xmp']);
    assert.equal(two.code, 0, two.stdout + two.stderr);
    const textA = await readFile(xmpA, 'utf8');
    assert.match(textA, /in Barcelona/);
    assert.doesNotMatch(textA, /in Paris/);
    assert.ok(textA.includes(formatGpsCoordinate(after.latitude, 'N', 'S')), textA);
    assert.equal(await readFile(xmpB, 'utf8'), edited, 'the user-edited sidecar is left as it is');
    assert.deepEqual(await placesOf(place.folder, A), ['2024-03-01/IMG_0001.jpg']);
    // Without --xmp the record still learns the new facts: a later --xmp run writes them.
    const third = await writeExport(place, 'later', 'zip', [
      {
        at: 'Photos from 2024/IMG_0001.jpg',
        bytes: A,
        title: 'IMG_0001.jpg',
        taken: march(1),
        id: 'AF1QipA',
        location: after,
        description: 'in Girona',
      },
    ]);
    const three = await run(place, third);
    assert.equal(three.code, 0, three.stdout + three.stderr);
    assert.match(await readFile(xmpA, 'utf8'), /in Barcelona/, 'no sidecar written without --xmp');
    const four = await run(place, third, ['--xmp']);
    assert.equal(four.code, 0, four.stdout + four.stderr);
    assert.match(await readFile(xmpA, 'utf8'), /in Girona/);
  } finally {
    await place.close();
  }
});

test('takeout zip: new pixels (an edit, IMG-edited.jpg) are saved beside the original, which stays', async () => {
  const place = await openTakeoutDir();
  try {
    const original = {
      at: 'Photos from 2024/IMG_0001.jpg',
      bytes: A,
      title: 'IMG_0001.jpg',
      taken: march(3),
      id: 'AF1QipA',
    };
    const one = await run(place, await writeExport(place, 'full', 'zip', [original]));
    assert.equal(one.code, 0, one.stdout + one.stderr);
    const editedBytes = makeJpeg({ comment: 'photo A, cropped in Google Photos', shade: 10 });
    const frenchBytes = makeJpeg({ comment: 'photo B, filtre', shade: 60 });
    const second = await writeExport(place, 'incremental', 'zip', [
      original,
      // Google's name for the edited version, with no sidecar of its own (it uses the original's).
      {
        at: 'Photos from 2024/IMG_0001-edited.jpg',
        bytes: editedBytes,
        title: '',
        taken: march(3),
        bare: true,
      },
      // A French account's export: the suffix is localized (gpth extras.dart, immich-go docs).
      {
        at: 'Photos from 2024/IMG_0002.jpg',
        bytes: B,
        title: 'IMG_0002.jpg',
        taken: march(4),
        id: 'AF1QipB',
      },
      {
        at: 'Photos from 2024/IMG_0002-modifié.jpg',
        bytes: frenchBytes,
        title: '',
        taken: march(4),
        bare: true,
      },
    ]);
    const two = await run(place, second);
    assert.equal(two.code, 0, two.stdout + two.stderr);
    assert.equal(summaryOf(two.stdout).saved, 3, 'the two edited versions, and B (new in this export)');
    assert.deepEqual(await placesOf(place.folder, A), ['2024-03-03/IMG_0001.jpg']);
    assert.deepEqual(await placesOf(place.folder, editedBytes), ['2024-03-03/IMG_0001-edited.jpg']);
    assert.deepEqual(await placesOf(place.folder, frenchBytes), ['2024-03-04/IMG_0002-modifié.jpg']);
  } finally {
    await place.close();
  }
});

for (const point of ['mid-move-after-copy', 'mid-move-after-record'] as const) {
  test(`takeout zip: killed ${point.replace(/-/g, ' ')}, the photo is always under a final name; a rerun finishes the move`, async () => {
    const photos = (taken: Date): Photo[] => [
      { at: 'Photos from 2024/IMG_0001.jpg', bytes: A, title: 'IMG_0001.jpg', taken, id: 'AF1QipA' },
    ];
    // An uninterrupted run, for the tree to end with.
    const reference = await openTakeoutDir();
    let expected: Map<string, string>;
    try {
      assert.equal(
        (await run(reference, await writeExport(reference, 'full', 'zip', photos(march(1))), ['--xmp'])).code,
        0,
      );
      assert.equal(
        (
          await run(reference, await writeExport(reference, 'incremental', 'zip', photos(march(9))), [
            '--xmp',
          ])
        ).code,
        0,
      );
      expected = await treeHashes(reference.folder);
      assert.ok(expected.has('2024-03-09/IMG_0001.jpg') && expected.has('2024-03-09/IMG_0001.jpg.xmp'));
    } finally {
      await reference.close();
    }
    const place = await openTakeoutDir();
    try {
      assert.equal(
        (await run(place, await writeExport(place, 'full', 'zip', photos(march(1))), ['--xmp'])).code,
        0,
      );
      const second = await writeExport(place, 'incremental', 'zip', photos(march(9)));
      const killed = await run(place, second, ['--xmp'], { PHOTO_BACKUP_CRASH_AT: `${point}:1` });
      assert.equal(killed.signal, 'SIGKILL', killed.stdout + killed.stderr);
      assert.ok((await placesOf(place.folder, A)).length >= 1, 'the photo is under a final name');
      await assertRecordSound(place.folder);
      const rerun = await run(place, second, ['--xmp']);
      assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr);
      assert.deepEqual(await treeHashes(place.folder), expected, 'the same tree as an uninterrupted run');
      await assertRecordSound(place.folder);
    } finally {
      await place.close();
    }
  });
}

test('takeout: a full and an incremental export read in one run (cron over a downloads folder): the edited date wins, one file', async () => {
  const place = await openTakeoutDir();
  try {
    const photos = (taken: Date): Photo[] => [
      { at: 'Photos from 2024/IMG_0001.jpg', bytes: A, title: 'IMG_0001.jpg', taken, id: 'AF1QipA' },
      {
        at: 'Photos from 2024/IMG_0002.jpg',
        bytes: B,
        title: 'IMG_0002.jpg',
        taken: march(2),
        id: 'AF1QipB',
      },
    ];
    const downloads = path.join(place.dir, 'downloads');
    await mkdir(downloads, { recursive: true });
    // Takeout's own names: the timestamp orders the exports, oldest first.
    await writeFile(
      path.join(downloads, 'takeout-20250110T080000Z-001.zip'),
      buildZip(entriesOf(photos(march(1)))),
    );
    await writeFile(
      path.join(downloads, 'takeout-20250312T080000Z-001.zip'),
      buildZip(entriesOf(photos(march(20)).slice(0, 1))),
    );
    const one = await run(place, downloads);
    assert.equal(one.code, 0, one.stdout + one.stderr);
    assert.deepEqual(await placesOf(place.folder, A), ['2024-03-20/IMG_0001.jpg']);
    assert.deepEqual(await placesOf(place.folder, B), ['2024-03-02/IMG_0002.jpg']);
    await assertRecordSound(place.folder);
    const tree = await treeHashes(place.folder);
    const two = await run(place, downloads);
    assert.equal(two.code, 0, two.stdout + two.stderr);
    assert.deepEqual(await treeHashes(place.folder), tree, 'a rerun changes nothing');
    // The full export read again alone (its parts forgotten): its older date does not undo the edit.
    await rm(path.join(place.folder, '.photo-backup', 'takeout-parts.jsonl'), { force: true });
    const old = await run(place, path.join(downloads, 'takeout-20250110T080000Z-001.zip'));
    assert.equal(old.code, 0, old.stdout + old.stderr);
    assert.deepEqual(await treeHashes(place.folder), tree, 'an older export read again changes nothing');
  } finally {
    await place.close();
  }
});

test('takeout zip: lines written again from the record keep all it held: a moved photo, its album copy, --xmp from the record after the move', async () => {
  const place = await openTakeoutDir();
  try {
    const photo = {
      at: 'Photos from 2024/IMG_0001.jpg',
      bytes: A,
      title: 'IMG_0001.jpg',
      taken: march(1),
      id: 'AF1QipA',
      description: 'in Paris',
      location: { latitude: 48.8566, longitude: 2.3522 },
    };
    // The photo and its album's copy (the same bytes: recorded as a copy of the photo's file).
    const first = await writeExport(place, 'full', 'zip', [photo, { ...photo, at: 'Trip/IMG_0001.jpg' }]);
    const one = await run(place, first, ['--xmp']);
    assert.equal(one.code, 0, one.stdout + one.stderr);
    const journal = path.join(place.folder, '.photo-backup', 'saved.jsonl');
    /** The latest line of each id: the photo's own file, and the copy recorded of it. */
    const latest = async () => {
      const byId = new Map<string, SavedRecord>();
      for (const line of parseJournal(await readFile(journal, 'utf8')).records) byId.set(line.id, line);
      const lines = [...byId.values()];
      assert.equal(lines.length, 2, JSON.stringify(lines));
      return {
        owner: lines.find((line) => line.copyOf === undefined) as SavedRecord,
        copy: lines.find((line) => line.copyOf !== undefined) as SavedRecord,
      };
    };
    const { owner, copy } = await latest();
    assert.ok(owner?.xmpSha256 && owner.metadata && owner.takenAt, JSON.stringify(owner));
    assert.ok(copy?.metadata && copy.takenAt, JSON.stringify(copy));
    const movedPath = `2024-03-05/${path.basename(owner.path)}`;

    // Its date edited in Google Photos: it moves (without --xmp: its sidecar goes along unchanged).
    // The export holds the item whose file it is (which of the two is saved first is a race).
    const ownerAt = owner.id.slice('takeout:'.length);
    const second = await writeExport(place, 'incremental', 'zip', [
      { ...photo, at: ownerAt, taken: march(5) },
    ]);
    const two = await run(place, second);
    assert.equal(two.code, 0, two.stdout + two.stderr);
    const moved = await latest();
    const ownerMoved = moved.owner;
    assert.equal(ownerMoved.path, movedPath);
    assert.equal(ownerMoved.takenAt, march(5).toISOString());
    assert.equal(ownerMoved.xmpSha256, owner.xmpSha256, 'the hash of the sidecar that went along');
    // What the new export says of it (album names come only with an album folder in it).
    const facts = (metadata: unknown) => {
      const { title, description, location } = metadata as Record<string, unknown>;
      return { title, description, location };
    };
    assert.deepEqual(facts(ownerMoved.metadata), facts(owner.metadata));
    assert.equal(facts(owner.metadata).description, 'in Paris');
    assert.equal(ownerMoved.dateSource, owner.dateSource);
    const { path: copyPath, copyOf, movedFrom, ...copyKept } = moved.copy;
    const { path: _path, copyOf: _copyOf, ...copyBefore } = copy;
    assert.equal(copyPath, movedPath);
    assert.equal(copyOf, movedPath);
    assert.deepEqual(movedFrom, { id: copy.id, path: copy.path });
    assert.deepEqual(copyKept, copyBefore, "the copy's line keeps everything but its place");

    // --xmp from the record: the sidecar gets the new date and the recorded metadata, and the
    // line written with its hash keeps the rest.
    const three = await run(place, second, ['--xmp']);
    assert.equal(three.code, 0, three.stdout + three.stderr);
    const xmp = await readFile(path.join(place.folder, `${movedPath}.xmp`), 'utf8');
    assert.match(xmp, /in Paris/);
    assert.match(xmp, /2024-03-05T12:00/);
    assert.ok(xmp.includes(formatGpsCoordinate(photo.location.latitude, 'N', 'S')), xmp);
    const rewritten = (await latest()).owner;
    assert.ok(rewritten?.xmpSha256 && rewritten.xmpSha256 !== ownerMoved.xmpSha256);
    assert.deepEqual(rewritten, { ...ownerMoved, xmpSha256: rewritten.xmpSha256 });
    await assertRecordSound(place.folder);
  } finally {
    await place.close();
  }
});

// Regression: when the file was saved for one copy of a photo (its year folder's or an album's)
// and a later export held only the other copy with an edited date, that copy's record (a copy of
// the file) was updated in place, and the file stayed in its old day folder.
for (const { owner, kill } of [
  { owner: 'the album copy' },
  { owner: 'the year-folder copy' },
  { owner: 'the album copy', kill: 'mid-move-after-record' },
] as const) {
  test(`takeout: a date edited in Google Photos moves the saved file when ${owner} owns it and the later export holds only the other copy${kill ? `; killed ${kill.replace(/-/g, ' ')}, the rerun finishes the move` : ''}`, async () => {
    const place = await openTakeoutDir();
    try {
      const photo: Photo = {
        at: 'Photos from 2024/IMG_0001.jpg',
        bytes: A,
        title: 'IMG_0001.jpg',
        taken: march(1),
        id: 'AF1QipA',
      };
      const album: Photo = { ...photo, at: 'Trip/IMG_0001.jpg' };
      const stamp = '20250110T080000Z';
      const partOf = (name: string, photos: Photo[]) => writeDownload(place, name, photos);
      // Which copy's download ends first, and so owns the file, is a race in one run. Made sure
      // here: the album's copy in a zip part and the year's in a tgz part of the same export
      // (tgz parts are read after the zips, one item at a time), or one download at a time
      // (year-folder copies are listed first).
      const first =
        owner === 'the album copy'
          ? await run(
              place,
              await partOf(`takeout-${stamp}-001.zip`, [album]),
              [await partOf(`takeout-${stamp}-002.tgz`, [photo])].flatMap((file) => ['--takeout', file]),
            )
          : await run(place, await partOf(`takeout-${stamp}-001.zip`, [photo, album]), [
              '--concurrency',
              '1',
            ]);
      assert.equal(first.code, 0, first.stdout + first.stderr);
      const saved = await placesOf(place.folder, A);
      assert.equal(saved.length, 1, 'one file for both copies');
      const ownerId = owner === 'the album copy' ? 'takeout:Trip/IMG_0001.jpg' : `takeout:${photo.at}`;
      const journal = parseJournal(
        await readFile(path.join(place.folder, '.photo-backup', 'saved.jsonl'), 'utf8'),
      ).records;
      assert.equal(journal.find((line) => line.copyOf === undefined)?.id, ownerId, JSON.stringify(journal));

      // The later export: the other copy alone, with the date edited.
      const other = owner === 'the album copy' ? photo : album;
      const second = await partOf('takeout-20250312T080000Z-001.zip', [{ ...other, taken: march(5) }]);
      if (kill) {
        const killed = await run(place, second, [], { PHOTO_BACKUP_CRASH_AT: `${kill}:1` });
        assert.equal(killed.signal, 'SIGKILL', killed.stdout + killed.stderr);
        assert.ok((await placesOf(place.folder, A)).length >= 1, 'the photo is under a final name');
        await assertRecordSound(place.folder);
      }
      const two = await run(place, second);
      assert.equal(two.code, 0, two.stdout + two.stderr);
      assert.equal(summaryOf(two.stdout).saved, 0, 'nothing downloaded again');
      const name = path.basename(saved[0] as string);
      assert.deepEqual(await placesOf(place.folder, A), [`2024-03-05/${name}`], 'moved, not copied');
      await assert.rejects(stat(path.join(place.folder, '2024-03-01')), 'the emptied day folder is gone');
      assert.equal(
        (await stat(path.join(place.folder, `2024-03-05/${name}`))).mtime.toISOString(),
        march(5).toISOString(),
      );
      await assertRecordSound(place.folder);
      const tree = await treeHashes(place.folder);
      const three = await run(place, second);
      assert.equal(three.code, 0, three.stdout + three.stderr);
      assert.deepEqual(await treeHashes(place.folder), tree, 'a rerun changes nothing');
      // The first export read again (its parts forgotten): its older date does not undo the edit.
      await rm(path.join(place.folder, '.photo-backup', 'takeout-parts.jsonl'), { force: true });
      const old = await run(place, path.join(place.dir, 'downloads', `takeout-${stamp}-001.zip`));
      assert.equal(old.code, 0, old.stdout + old.stderr);
      assert.deepEqual(await placesOf(place.folder, A), [`2024-03-05/${name}`]);
      await assertRecordSound(place.folder);
    } finally {
      await place.close();
    }
  });
}

test('takeout: a new description of the copy that does not own the file rewrites the file’s XMP sidecar (it takes the file over)', async () => {
  const place = await openTakeoutDir();
  try {
    const photo: Photo = {
      at: 'Photos from 2024/IMG_0001.jpg',
      bytes: A,
      title: 'IMG_0001.jpg',
      taken: march(1),
      id: 'AF1QipA',
      description: 'in Paris',
    };
    const album: Photo = { ...photo, at: 'Trip/IMG_0001.jpg' };
    const partOf = (name: string, photos: Photo[]) => writeDownload(place, name, photos);
    // The album's copy owns the file (its zip part is read before the year's tgz part).
    const one = await run(place, await partOf('takeout-20250110T080000Z-001.zip', [album]), [
      '--takeout',
      await partOf('takeout-20250110T080000Z-002.tgz', [photo]),
      '--xmp',
    ]);
    assert.equal(one.code, 0, one.stdout + one.stderr);
    const xmpPath = path.join(place.folder, '2024-03-01/IMG_0001.jpg.xmp');
    assert.match(await readFile(xmpPath, 'utf8'), /in Paris/);
    const second = await partOf('takeout-20250312T080000Z-001.zip', [{ ...photo, description: 'in Lyon' }]);
    const two = await run(place, second, ['--xmp']);
    assert.equal(two.code, 0, two.stdout + two.stderr);
    assert.equal(summaryOf(two.stdout).saved, 0);
    assert.deepEqual(await placesOf(place.folder, A), ['2024-03-01/IMG_0001.jpg']);
    assert.match(await readFile(xmpPath, 'utf8'), /in Lyon/);
    await assertRecordSound(place.folder);
    const tree = await treeHashes(place.folder);
    const three = await run(place, second, ['--xmp']);
    assert.equal(three.code, 0, three.stdout + three.stderr);
    assert.deepEqual(await treeHashes(place.folder), tree, 'a rerun changes nothing');
  } finally {
    await place.close();
  }
});
