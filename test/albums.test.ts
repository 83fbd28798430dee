/**
 * Album folders (--albums): the pure planner's names and collisions, then black-box over Takeout
 * folders written here: links lead to the day-folder file (same inode, same bytes), hostile album
 * names stay inside albums/, reruns keep the folders in step, links are never written through, and
 * where symlinks are refused the links are hard links.
 */
import assert from 'node:assert/strict';
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { type AlbumMember, LiveAlbumLinks, linkAlbumFolders, planAlbumLinks } from '../src/albums.ts';
import type { SavedRecord } from '../src/manifest.ts';
import { SidecarWriter } from '../src/metadata/sidecar-writer.ts';
import type { BackupEvent } from '../src/report/events.ts';
import { runCli } from './helpers/cli.ts';
import { makeAlbumJson, makeJpeg, makeSidecar } from './helpers/takeout-builder.ts';

const planCases: Array<{ name: string; members: AlbumMember[]; expected: Array<[string, string]> }> = [
  {
    name: 'album names made safe like file names: .., /, ESC, CON',
    members: [
      { path: '2024-01-01/IMG_1.jpg', albums: ['..', 'a/b/../c', '\u001b[31mred', 'CON', '.photo-backup'] },
    ],
    expected: [
      ['albums/_CON/IMG_1.jpg', '2024-01-01/IMG_1.jpg'],
      ['albums/unnamed/IMG_1.jpg', '2024-01-01/IMG_1.jpg'],
      ['albums/_photo-backup/IMG_1.jpg', '2024-01-01/IMG_1.jpg'],
      ['albums/_[31mred/IMG_1.jpg', '2024-01-01/IMG_1.jpg'],
      ['albums/a_b_._c/IMG_1.jpg', '2024-01-01/IMG_1.jpg'],
    ],
  },
  {
    name: 'two albums with one safe name (a/b, a_b, A_B): the one needing no change keeps it, the others a suffix',
    members: [{ path: '2024-01-01/IMG_1.jpg', albums: ['a/b', 'a_b', 'A_B'] }],
    expected: [
      ['albums/A_B/IMG_1.jpg', '2024-01-01/IMG_1.jpg'],
      ['albums/a_b~SUFFIX/IMG_1.jpg', '2024-01-01/IMG_1.jpg'],
      ['albums/a_b~SUFFIX/IMG_1.jpg', '2024-01-01/IMG_1.jpg'],
    ],
  },
  {
    name: 'two files of one name in an album: the earlier path keeps it, the later a suffix',
    members: [
      { path: '2024-05-02/IMG_1.jpg', albums: ['Trip'] },
      { path: '2024-05-01/IMG_1.jpg', albums: ['Trip'] },
      { path: '2024-05-01/img_1.JPG', albums: ['Trip'] },
    ],
    expected: [
      ['albums/Trip/IMG_1.jpg', '2024-05-01/IMG_1.jpg'],
      ['albums/Trip/img_1~SUFFIX.JPG', '2024-05-01/img_1.JPG'],
      ['albums/Trip/IMG_1~SUFFIX.jpg', '2024-05-02/IMG_1.jpg'],
    ],
  },
  {
    name: 'one file in an album twice (from the record and from this run) is one link',
    members: [
      { path: '2024-05-01/IMG_1.jpg', albums: ['Trip'] },
      { path: '2024-05-01/IMG_1.jpg', albums: ['Trip', 'Trip'] },
    ],
    expected: [['albums/Trip/IMG_1.jpg', '2024-05-01/IMG_1.jpg']],
  },
];

for (const { name, members, expected } of planCases) {
  test(`planAlbumLinks: ${name}`, () => {
    const links = planAlbumLinks(members);
    const shown = links
      .map((plan): [string, string] => [plan.link.replace(/~[0-9a-f]{8}/, '~SUFFIX'), plan.target])
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1));
    assert.deepEqual(
      shown,
      [...expected].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1)),
    );
    // Every link is albums/<one folder>/<one name>: nothing can climb out or nest.
    for (const plan of links) {
      const parts = plan.link.split('/');
      assert.equal(parts.length, 3, plan.link);
      assert.ok(!parts.includes('..') && !parts.includes('.'), plan.link);
    }
    // Two links never share a name (as a case-folding file system sees it).
    const keys = links.map((plan) => plan.link.toLowerCase());
    assert.equal(new Set(keys).size, keys.length);
  });
}

// ------------------------------------------------------------------------------------------------
// Black-box over Takeout folders.

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pb-albums-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const P = 'Takeout/Google Photos';
const at = (iso: string) => String(Date.parse(iso) / 1000);
const img1 = makeJpeg({ comment: 'one, first account' });
const img1Other = makeJpeg({ comment: 'one, of the other account: another photo' });
const img2 = makeJpeg({ comment: 'two' });
const only = makeJpeg({ comment: 'only in an album' });
const old = makeJpeg({ comment: 'of 2023' });
const HOSTILE = ['..', '\u001b[31mred', 'CON', 'a/b', 'a_b'];

async function put(root: string, name: string, data: Buffer | string): Promise<void> {
  const file = path.join(root, name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, data);
}

async function photo(root: string, folder: string, name: string, data: Buffer, iso: string) {
  await put(root, `${P}/${folder}/${name}`, data);
  await put(root, `${P}/${folder}/${name}.json`, makeSidecar({ title: name, photoTakenTime: at(iso) }));
}

/** The first account's export: a year folder, an album titled apart from its folder, hostile albums. */
async function writeExportA(options: { tripHoldsImg1?: boolean } = {}): Promise<string> {
  const root = path.join(dir, 'takeout-a');
  await photo(root, 'Photos from 2024', 'IMG_1.jpg', img1, '2024-06-15T10:00:00Z');
  await photo(root, 'Photos from 2024', 'IMG_2.jpg', img2, '2024-06-16T10:00:00Z');
  await photo(root, 'Photos from 2023', 'OLD.jpg', old, '2023-06-16T10:00:00Z');
  await put(root, `${P}/Trip/metadata.json`, makeAlbumJson('Summer: 2024'));
  if (options.tripHoldsImg1 !== false) await photo(root, 'Trip', 'IMG_1.jpg', img1, '2024-06-15T10:00:00Z');
  await photo(root, 'Trip', 'ONLY.jpg', only, '2024-06-17T10:00:00Z');
  await photo(root, 'Trip', 'OLD.jpg', old, '2023-06-16T10:00:00Z');
  for (const [index, title] of HOSTILE.entries()) {
    await put(root, `${P}/hostile ${index}/metadata.json`, makeAlbumJson(title));
    await photo(root, `hostile ${index}`, 'IMG_2.jpg', img2, '2024-06-16T10:00:00Z');
  }
  return root;
}

/** The other account's export: another IMG_1.jpg, on another day, in an album of the same title. */
async function writeExportB(): Promise<string> {
  const root = path.join(dir, 'takeout-b');
  await photo(root, 'Photos from 2024', 'IMG_1.jpg', img1Other, '2024-08-01T10:00:00Z');
  await put(root, `${P}/Trip/metadata.json`, makeAlbumJson('Summer: 2024'));
  await photo(root, 'Trip', 'IMG_1.jpg', img1Other, '2024-08-01T10:00:00Z');
  return root;
}

const out = () => path.join(dir, 'out');
const backup = (inputs: string[], extra: string[] = [], env: NodeJS.ProcessEnv = {}) =>
  runCli(['2024', 'out', '--takeout', ...inputs, '--albums', ...extra], { cwd: dir, env });

/** The link at `link` (relative to the backup folder) leads to the day-folder file `target`: same inode, same bytes. */
async function assertLinksTo(link: string, target: string): Promise<void> {
  const full = path.join(out(), link);
  const info = await lstat(full);
  assert.ok(info.isSymbolicLink(), `${link} is a symlink`);
  assert.equal(await readlink(full), path.join('..', '..', ...target.split('/')));
  const [viaLink, day] = await Promise.all([stat(full), lstat(path.join(out(), target))]);
  assert.ok(day.isFile(), `${target} is a real file`);
  assert.equal(viaLink.ino, day.ino);
  assert.equal(viaLink.dev, day.dev);
  assert.deepEqual(await readFile(full), await readFile(path.join(out(), target)));
}

test('--albums: every saved item of an album is a relative link to its day-folder file, named by the album title', async () => {
  const result = await backup([await writeExportA(), await writeExportB()]);
  assert.equal(result.code, 0, result.stderr);
  await assertLinksTo('albums/Summer_ 2024/IMG_1.jpg', '2024-06-15/IMG_1.jpg');
  // The other account's IMG_1.jpg, in the album of the same title: a suffix, not a lost link.
  const trip = (await readdir(path.join(out(), 'albums', 'Summer_ 2024'))).sort();
  const other = trip.find((name) => /^IMG_1~[0-9a-f]{8}\.jpg$/.test(name));
  assert.ok(other, trip.join(', '));
  await assertLinksTo(`albums/Summer_ 2024/${other}`, '2024-08-01/IMG_1.jpg');
  // An item only in an album folder is saved in its day folder first, and linked.
  await assertLinksTo('albums/Summer_ 2024/ONLY.jpg', '2024-06-17/ONLY.jpg');
  // Of another year: not saved, so no link.
  assert.deepEqual(trip, ['IMG_1.jpg', other, 'ONLY.jpg'].sort());
  assert.match(
    `${result.stdout}${result.stderr}`,
    /link {2}albums\/Summer_ 2024\/ONLY\.jpg -> 2024-06-17\/ONLY\.jpg/,
  );
});

test('--albums: hostile album names (.., ESC, CON, a/b beside a_b) are folders directly inside albums/', async () => {
  const result = await backup([await writeExportA()]);
  assert.equal(result.code, 0, result.stderr);
  const albums = (await readdir(path.join(out(), 'albums'))).sort();
  assert.equal(albums.length, 6, albums.join(', '));
  assert.ok(albums.includes('unnamed'), 'the album named .. is a folder named unnamed');
  assert.ok(albums.includes('_[31mred'), 'ESC is replaced');
  assert.ok(albums.includes('_CON'), 'CON is not a device name');
  assert.ok(albums.includes('a_b'), 'the album named a_b keeps its name');
  assert.ok(
    albums.some((name) => /^a_b~[0-9a-f]{8}$/.test(name)),
    'a/b gets a suffix',
  );
  for (const album of albums) {
    assert.ok((await lstat(path.join(out(), 'albums', album))).isDirectory(), album);
    if (album !== 'Summer_ 2024') await assertLinksTo(`albums/${album}/IMG_2.jpg`, '2024-06-16/IMG_2.jpg');
  }
  // Nothing next to the backup folder: the names stayed inside.
  assert.deepEqual((await readdir(dir)).sort(), ['out', 'takeout-a']);
});

test('--albums rerun: nothing changes, a link whose target is gone is replaced, an item taken out of an album keeps its link', async () => {
  const exportA = await writeExportA();
  assert.equal((await backup([exportA])).code, 0);
  const keptLink = path.join(out(), 'albums', 'unnamed', 'IMG_2.jpg');
  const before = await lstat(keptLink);

  const again = await backup([exportA]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(`${again.stdout}${again.stderr}`, /made 0 link\(s\), replaced 0, 7 already there/);
  assert.equal((await lstat(keptLink)).ino, before.ino, 'an existing link is left as it is');

  // A link whose target is gone (a dangling link where the album link belongs).
  const dangling = path.join(out(), 'albums', 'Summer_ 2024', 'ONLY.jpg');
  await rm(dangling);
  await symlink(path.join('..', '..', '2024-06-17', 'MOVED.jpg'), dangling);
  // A later Takeout where IMG_1.jpg is no longer in the album.
  await rm(exportA, { recursive: true });
  const later = await backup([await writeExportA({ tripHoldsImg1: false })]);
  assert.equal(later.code, 0, later.stderr);
  assert.match(`${later.stdout}${later.stderr}`, /replaced 1/);
  await assertLinksTo('albums/Summer_ 2024/ONLY.jpg', '2024-06-17/ONLY.jpg');
  await assertLinksTo('albums/Summer_ 2024/IMG_1.jpg', '2024-06-15/IMG_1.jpg');
});

test('--albums: a planted link is never written through: albums/ leading outside, an album folder leading outside, a link to an outside file', async () => {
  const exportA = await writeExportA();
  const outside = path.join(dir, 'outside');
  await mkdir(outside);
  await writeFile(path.join(outside, 'precious.jpg'), 'precious');
  await mkdir(out());
  await symlink(outside, path.join(out(), 'albums'));
  const first = await backup([exportA]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(
    first.stdout + first.stderr,
    /albums in the backup folder is a link to .*outside, and nothing is written through it/,
  );
  assert.deepEqual(await readdir(outside), ['precious.jpg']);

  // albums/ a real folder, one album folder a link outside, one album link planted to an outside file.
  await rm(path.join(out(), 'albums'));
  await mkdir(path.join(out(), 'albums', 'Summer_ 2024'), { recursive: true });
  await symlink(outside, path.join(out(), 'albums', 'unnamed'));
  await symlink(path.join(outside, 'precious.jpg'), path.join(out(), 'albums', 'Summer_ 2024', 'IMG_1.jpg'));
  const second = await backup([exportA]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(
    second.stdout + second.stderr,
    /albums\/unnamed in the backup folder is a link to .*outside, and nothing is written through it/,
  );
  assert.deepEqual(await readdir(outside), ['precious.jpg']);
  assert.equal(await readFile(path.join(outside, 'precious.jpg'), 'utf8'), 'precious');
  // The planted link itself is replaced by the right one; what it led to is untouched.
  await assertLinksTo('albums/Summer_ 2024/IMG_1.jpg', '2024-06-15/IMG_1.jpg');
});

test('--albums where symlinks are refused (EPERM, as on Windows without developer mode): hard links, never a copy', async () => {
  const result = await backup([await writeExportA()], [], { PHOTO_BACKUP_REFUSE_SYMLINKS: '1' });
  assert.equal(result.code, 0, result.stderr);
  assert.match(`${result.stdout}${result.stderr}`, /as hard links: this system refused symlinks/);
  const link = await lstat(path.join(out(), 'albums', 'Summer_ 2024', 'IMG_1.jpg'));
  const day = await lstat(path.join(out(), '2024-06-15', 'IMG_1.jpg'));
  assert.ok(link.isFile() && !link.isSymbolicLink());
  assert.equal(link.ino, day.ino, 'the same file, not a second copy of the bytes');
  assert.ok(day.nlink >= 2);
  // A rerun (symlinks allowed now) keeps the hard links.
  const again = await backup([path.join(dir, 'takeout-a')]);
  assert.match(`${again.stdout}${again.stderr}`, /made 0 link\(s\), replaced 0, 7 already there/);
});

test('--albums --dry-run: says which links would be made and writes nothing', async () => {
  const result = await backup([await writeExportA()], ['--dry-run']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    `${result.stdout}${result.stderr}`,
    /would link albums\/Summer_ 2024\/ONLY\.jpg -> 2024-06-17\/ONLY\.jpg/,
  );
  assert.match(
    `${result.stdout}${result.stderr}`,
    /would link albums\/unnamed\/IMG_2\.jpg -> 2024-06-16\/IMG_2\.jpg/,
  );
  await assert.rejects(lstat(out()), 'nothing written');
});

test('without --albums no album folder is made, but the record keeps the album names for a later --albums run', async () => {
  const exportA = await writeExportA();
  const plain = await runCli(['2024', 'out', '--takeout', exportA], { cwd: dir });
  assert.equal(plain.code, 0, plain.stderr);
  await assert.rejects(lstat(path.join(out(), 'albums')));
  const journal = await readFile(path.join(out(), '.photo-backup', 'saved.jsonl'), 'utf8');
  assert.match(journal, /"albums":\["Summer: 2024"\]/);
  const later = await backup([exportA]);
  assert.equal(later.code, 0, later.stderr);
  await assertLinksTo('albums/Summer_ 2024/ONLY.jpg', '2024-06-17/ONLY.jpg');
});

test('--albums: an old export names its album in albumData.title; an untitled album is named by its folder', async () => {
  const root = path.join(dir, 'takeout-old');
  await photo(root, 'Photos from 2024', 'IMG_2.jpg', img2, '2024-06-16T10:00:00Z');
  await put(
    root,
    `${P}/Old style/metadata.json`,
    JSON.stringify({ albumData: { title: 'Ski week', date: '' } }),
  );
  await photo(root, 'Old style', 'IMG_2.jpg', img2, '2024-06-16T10:00:00Z');
  await put(root, `${P}/Untitled(1)/metadata.json`, makeAlbumJson(''));
  await photo(root, 'Untitled(1)', 'IMG_2.jpg', img2, '2024-06-16T10:00:00Z');
  const result = await backup([root]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual((await readdir(path.join(out(), 'albums'))).sort(), ['Ski week', 'Untitled(1)']);
  await assertLinksTo('albums/Ski week/IMG_2.jpg', '2024-06-16/IMG_2.jpg');
  await assertLinksTo('albums/Untitled(1)/IMG_2.jpg', '2024-06-16/IMG_2.jpg');
});

test('--albums --dry-run: a photo that would get a ~suffix (a same-named photo already in its day) is linked as the suffixed file, as the real run then links it', async () => {
  const exportA = await writeExportA();
  assert.equal((await backup([exportA])).code, 0);
  // The other account's IMG_1.jpg on the same day as the saved one: it would be saved as IMG_1~<hash>.jpg.
  const root = path.join(dir, 'takeout-c');
  await put(root, `${P}/Beach/metadata.json`, makeAlbumJson('Beach'));
  await photo(root, 'Beach', 'IMG_1.jpg', img1Other, '2024-06-15T12:00:00Z');
  const result = await backup([root], ['--dry-run']);
  const output = `${result.stdout}${result.stderr}`;
  assert.equal(result.code, 0, output);
  const planned = /would save 2024-06-15\/(IMG_1~[0-9a-f]+\.jpg)/i.exec(output)?.[1];
  assert.ok(planned, `a suffixed name is planned:\n${output}`);
  assert.ok(
    output.includes(`would link albums/Beach/${planned} -> 2024-06-15/${planned}`),
    `the link leads to the suffixed file:\n${output}`,
  );
  await assert.rejects(lstat(path.join(out(), 'albums', 'Beach')), 'nothing written');
  // The real run makes exactly the link the dry run listed.
  assert.equal((await backup([root])).code, 0);
  await assertLinksTo(`albums/Beach/${planned}`, `2024-06-15/${planned}`);
});

/** A folder with day-folder files and their records, for the links made while a year downloads. */
async function savedYear(files: Array<[string, string[]]>) {
  const folder = await mkdtemp(path.join(tmpdir(), 'pb-live-links-'));
  const records: SavedRecord[] = [];
  for (const [relative, albums] of files) {
    await mkdir(path.join(folder, path.dirname(relative)), { recursive: true });
    await writeFile(path.join(folder, relative), relative);
    records.push({
      id: relative,
      path: relative,
      size: relative.length,
      source: 'library',
      savedAt: '2024-12-31T00:00:00.000Z',
      metadata: { albums },
    });
  }
  const events: BackupEvent[] = [];
  const report = (event: BackupEvent) => events.push(event);
  return { folder, records, events, report };
}

/** Every link under albums/: `albums/<album>/<name>` → the day-folder file it leads to. */
async function linksIn(folder: string): Promise<Map<string, string>> {
  const links = new Map<string, string>();
  for (const album of await readdir(path.join(folder, 'albums'))) {
    for (const name of await readdir(path.join(folder, 'albums', album))) {
      const link = path.join(folder, 'albums', album, name);
      assert.ok((await lstat(link)).isSymbolicLink(), `${album}/${name} is a link`);
      const target = path.relative(folder, path.resolve(path.dirname(link), await readlink(link)));
      links.set(`albums/${album}/${name}`, target.split(path.sep).join('/'));
    }
  }
  return links;
}

test('links made as files are saved: the album step at the end makes none again, counts them, and the folders are the plan', async () => {
  const year = await savedYear([
    ['2024-05-02/IMG_2.jpg', ['Trip']],
    ['2024-05-01/IMG_1.jpg', ['Trip', 'Family']],
  ]);
  try {
    const live = new LiveAlbumLinks(year.folder, 2024, year.report);
    live.start(['Trip', 'Family', 'Unused']);
    for (const record of year.records) live.link(record.path, record.metadata?.albums as string[]);
    assert.equal(live.made.size, 3);
    const madeLive = year.events.filter((event) => event.type === 'album-link').length;
    assert.equal(madeLive, 3, 'one event per link, as it is made');
    await linkAlbumFolders({ ...year, year: 2024, dryRun: false, seen: [], live });
    assert.equal(year.events.filter((event) => event.type === 'album-link').length, 3, 'none made twice');
    const notice = year.events.find(
      (event) => event.type === 'notice' && /Album folders:/.test(event.message),
    );
    assert.match(
      notice?.type === 'notice' ? notice.message : '',
      /2 album\(s\) in albums\/, made 3 link\(s\), replaced 0, 0 already there/,
    );
    const plan = planAlbumLinks(
      year.records.map((record) => ({ path: record.path, albums: record.metadata?.albums as string[] })),
    );
    assert.deepEqual(await linksIn(year.folder), new Map(plan.map((link) => [link.link, link.target])));
  } finally {
    await rm(year.folder, { recursive: true, force: true });
  }
});

test('links made as files are saved by the writer thread: in `made` once settled, one event each, and a name taken meanwhile is left to the end', async () => {
  const year = await savedYear([
    ['2024-05-02/IMG_2.jpg', ['Trip']],
    ['2024-05-01/IMG_1.jpg', ['Trip', 'Family']],
  ]);
  const writer = new SidecarWriter();
  try {
    const live = new LiveAlbumLinks(year.folder, 2024, year.report, writer);
    live.start(['Trip', 'Family']);
    const [second, first] = year.records as [SavedRecord, SavedRecord];
    live.link(first.path, ['Trip', 'Family']);
    // Taken after the album folder was listed (by the first link), before this link is asked
    // for: the thread's symlink finds the name taken (EEXIST).
    await writeFile(path.join(year.folder, 'albums', 'Trip', 'IMG_2.jpg'), 'not a link');
    live.link(second.path, ['Trip']);
    assert.equal(live.made.size, 0, 'nothing counted before the thread answers');
    await live.settled();
    assert.deepEqual(
      new Map(live.made),
      new Map([
        ['albums/Trip/IMG_1.jpg', '2024-05-01/IMG_1.jpg'],
        ['albums/Family/IMG_1.jpg', '2024-05-01/IMG_1.jpg'],
      ]),
    );
    assert.equal(year.events.filter((event) => event.type === 'album-link').length, 2);
    await linkAlbumFolders({ ...year, year: 2024, dryRun: false, seen: [], live });
    const notices = year.events.flatMap((event) => (event.type === 'notice' ? [event.message] : []));
    assert.ok(
      notices.some((message) => message.includes('albums/Trip/IMG_2.jpg is a file, not a link')),
      `the end step says why the taken name has no link:\n${notices.join('\n')}`,
    );
    assert.equal(
      await readlink(path.join(year.folder, 'albums', 'Family', 'IMG_1.jpg')),
      path.join('..', '..', '2024-05-01', 'IMG_1.jpg'),
    );
  } finally {
    await writer.close();
    await rm(year.folder, { recursive: true, force: true });
  }
});

test('links made as files are saved, then a same-named file of an earlier day: the end gives it the plain name, as the plan does, and leaves no stray link', async () => {
  // Newest first: 2024-05-02's IMG_1.jpg is saved (and linked) before 2024-05-01's, which is
  // saved before the albums were known, and 2024-05-01's img_1.JPG (another spelling of the name).
  const year = await savedYear([
    ['2024-05-02/IMG_1.jpg', ['Trip']],
    ['2024-05-02/img_1.JPG', ['Trip']],
    ['2024-05-01/IMG_1.jpg', ['Trip']],
  ]);
  try {
    const live = new LiveAlbumLinks(year.folder, 2024, year.report);
    live.start(['Trip']);
    live.link('2024-05-02/IMG_1.jpg', ['Trip']);
    live.link('2024-05-02/img_1.JPG', ['Trip']);
    assert.deepEqual(
      [...live.made],
      [['albums/Trip/IMG_1.jpg', '2024-05-02/IMG_1.jpg']],
      'a name taken this run is left to the end',
    );
    await linkAlbumFolders({ ...year, year: 2024, dryRun: false, seen: [], live });
    const plan = planAlbumLinks(year.records.map((record) => ({ path: record.path, albums: ['Trip'] })));
    assert.equal(plan.length, 3);
    assert.deepEqual(await linksIn(year.folder), new Map(plan.map((link) => [link.link, link.target])));
    assert.equal((await readdir(path.join(year.folder, 'albums', 'Trip'))).length, 3);
  } finally {
    await rm(year.folder, { recursive: true, force: true });
  }
});

test('links made as hard links (symlinks refused) as files are saved, then a same-named file of an earlier day: the early hard link the plan names otherwise is removed, no stray name is left', async () => {
  const year = await savedYear([
    ['2024-05-02/IMG_1.jpg', ['Trip']],
    ['2024-05-01/IMG_1.jpg', ['Trip']],
  ]);
  const before = process.env.PHOTO_BACKUP_REFUSE_SYMLINKS;
  process.env.PHOTO_BACKUP_REFUSE_SYMLINKS = '1';
  try {
    const live = new LiveAlbumLinks(year.folder, 2024, year.report);
    live.start(['Trip']);
    live.link('2024-05-02/IMG_1.jpg', ['Trip']);
    assert.deepEqual([...live.madeHard], ['albums/Trip/IMG_1.jpg'], 'made as a hard link');
    await linkAlbumFolders({ ...year, year: 2024, dryRun: false, seen: [], live });
    const plan = planAlbumLinks(year.records.map((record) => ({ path: record.path, albums: ['Trip'] })));
    const names = (await readdir(path.join(year.folder, 'albums', 'Trip'))).sort();
    assert.deepEqual(names, plan.map((link) => link.link.slice('albums/Trip/'.length)).sort());
    for (const link of plan) {
      const [a, b] = await Promise.all([
        stat(path.join(year.folder, link.link)),
        stat(path.join(year.folder, link.target)),
      ]);
      assert.equal(a.ino, b.ino, `${link.link} is ${link.target}`);
    }
  } finally {
    if (before === undefined) delete process.env.PHOTO_BACKUP_REFUSE_SYMLINKS;
    else process.env.PHOTO_BACKUP_REFUSE_SYMLINKS = before;
    await rm(year.folder, { recursive: true, force: true });
  }
});

test('links made as files are saved: albums whose safe names collide, a name the album folder holds in another spelling: left to the end, which makes the plan', async () => {
  const year = await savedYear([
    ['2024-05-03/IMG_3.jpg', ['a/b', 'a_b']],
    ['2024-05-02/IMG_2.jpg', ['Trip']],
    ['2024-05-01/img_2.jpg', ['Trip']],
  ]);
  try {
    // An earlier run's link, to the earlier day's file: IMG_2.jpg is the same name on many disks.
    await mkdir(path.join(year.folder, 'albums', 'Trip'), { recursive: true });
    await symlink(
      path.join('..', '..', '2024-05-01', 'img_2.jpg'),
      path.join(year.folder, 'albums', 'Trip', 'img_2.jpg'),
    );
    const live = new LiveAlbumLinks(year.folder, 2024, year.report);
    live.start(['a/b', 'a_b', 'Trip']);
    live.link('2024-05-03/IMG_3.jpg', ['a/b', 'a_b']);
    live.link('2024-05-02/IMG_2.jpg', ['Trip']);
    assert.deepEqual([...live.made], [], 'no link whose name the end could give another');
    await linkAlbumFolders({ ...year, year: 2024, dryRun: false, seen: [], live });
    const plan = planAlbumLinks(
      year.records.map((record) => ({ path: record.path, albums: record.metadata?.albums as string[] })),
    );
    assert.equal(plan.length, 4);
    assert.deepEqual(await linksIn(year.folder), new Map(plan.map((link) => [link.link, link.target])));
    const notice = year.events.find(
      (event) => event.type === 'notice' && /Album folders:/.test(event.message),
    );
    assert.match(
      notice?.type === 'notice' ? notice.message : '',
      /made 3 link\(s\), replaced 0, 1 already there/,
    );
  } finally {
    await rm(year.folder, { recursive: true, force: true });
  }
});
