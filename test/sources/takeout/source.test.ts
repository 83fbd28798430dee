import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { backupYear } from '../../../src/backup.ts';
import { BackupError, ExitCode } from '../../../src/errors.ts';
import type { Source, SourceItem } from '../../../src/sources/source.ts';
import { createTakeoutSource, type TakeoutSourceOptions } from '../../../src/sources/takeout/index.ts';
import { testBackupOptions } from '../../helpers/backup-options.ts';
import {
  type ArchiveEntry,
  buildTgz,
  buildZip,
  makeAlbumJson,
  makeJpeg,
  makeSidecar,
  type ZipEntryOptions,
} from '../../helpers/takeout-builder.ts';
import { writeSampleTakeout } from '../../helpers/takeout-sample.ts';

async function withTempDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'takeout-source-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Listed {
  item: SourceItem;
  bytes: Buffer;
}

async function readAll(item: SourceItem): Promise<Buffer> {
  const opened = await item.open(new AbortController().signal);
  const chunks: Buffer[] = [];
  for await (const chunk of opened.body) chunks.push(Buffer.from(chunk));
  const bytes = Buffer.concat(chunks);
  if (opened.size !== undefined) assert.equal(bytes.length, opened.size, `size of ${item.id}`);
  return bytes;
}

/** Lists every item and reads its bytes before pulling the next (what `sequential` asks for). */
async function listAll(options: Partial<TakeoutSourceOptions> & { inputs: string[] }) {
  const warnings: string[] = [];
  const source = createTakeoutSource({
    timeZone: 'UTC',
    onWarning: (message) => warnings.push(message),
    ...options,
  });
  const listed: Listed[] = [];
  const signal = new AbortController().signal;
  for await (const listedItem of source.list(signal)) {
    // Dates and metadata are resolved on demand, as the pipeline does for items it saves.
    const item = (await listedItem.resolve?.(signal)) ?? listedItem;
    listed.push({ item, bytes: await readAll(item) });
  }
  await source.close?.();
  const byId = new Map(listed.map((entry) => [entry.item.id, entry]));
  return { source, listed, byId, warnings, ids: listed.map((entry) => entry.item.id) };
}

const P = 'Takeout/Google Photos';
// 2024-06-15T10:00:00Z and friends.
const T_IMG1 = '1718445600';
const T_LIVE = '1718532000';
const T_2023 = '1688205600';

const img1 = makeJpeg({
  dateTimeOriginal: '2024:06:15 12:00:00',
  offsetTimeOriginal: '+02:00',
  comment: 'img1',
});
const img1Edited = makeJpeg({ comment: 'img1 edited' });
const live = makeJpeg({ dateTimeOriginal: '2024:06:16 12:00:00', comment: 'live still' });
const liveVideo = Buffer.from('not really an mp4, but bytes are bytes');
const albumOnly = makeJpeg({ comment: 'album only' });
const albumDifferent = makeJpeg({ comment: 'img1 re-encoded for the album' });
const exifOnly = makeJpeg({ dateTimeOriginal: '2024:03:01 08:00:00', comment: 'exif only' });
const trashed = makeJpeg({ comment: 'trashed' });
const old = makeJpeg({ comment: '2023' });

function takeoutEntries(root = P, year = 'Photos from 2024'): ArchiveEntry[] {
  return [
    { name: 'Takeout/archive_browser.html', data: '<html></html>' },
    { name: `${root}/${year}/IMG_1.jpg`, data: img1 },
    {
      name: `${root}/${year}/IMG_1.jpg.supplemental-metadata.json`,
      data: makeSidecar({
        title: 'IMG_1.jpg',
        photoTakenTime: T_IMG1,
        // The place as the camera wrote it, and as the user corrected it in Google Photos.
        geoDataExif: { latitude: 48.1, longitude: 11.5 },
        geoData: { latitude: 48.2, longitude: 11.6, altitude: 520 },
        description: 'Lake',
        people: ['Ana', 'Zoë'],
      }),
    },
    { name: `${root}/${year}/IMG_1-edited.jpg`, data: img1Edited },
    { name: `${root}/${year}/IMG_2.jpg`, data: live },
    {
      name: `${root}/${year}/IMG_2.jpg.json`,
      data: makeSidecar({ title: 'IMG_2.jpg', photoTakenTime: T_LIVE, favorited: true }),
    },
    { name: `${root}/${year}/IMG_2.MP4`, data: liveVideo },
    { name: `${root}/${year}/IMG_3.jpg`, data: exifOnly },
    { name: `${root}/${year}/IMG_20240704_101112.jpg`, data: makeJpeg({ comment: 'name only' }) },
    { name: `${root}/${year}/scan.jpg`, data: makeJpeg({ comment: 'undated' }) },
    { name: `${root}/Photos from 2023/OLD.jpg`, data: old },
    {
      name: `${root}/Photos from 2023/OLD.jpg.json`,
      data: makeSidecar({ title: 'OLD.jpg', photoTakenTime: T_2023 }),
    },
    { name: `${root}/Trip/metadata.json`, data: makeAlbumJson('Trip') },
    { name: `${root}/Trip/IMG_1.jpg`, data: img1 },
    {
      name: `${root}/Trip/IMG_1.jpg.supplemental-metadata.json`,
      data: makeSidecar({ title: 'IMG_1.jpg', photoTakenTime: T_IMG1 }),
    },
    { name: `${root}/Trip/ALBUM_ONLY.jpg`, data: albumOnly },
    {
      name: `${root}/Trip/ALBUM_ONLY.jpg.json`,
      data: makeSidecar({ title: 'ALBUM_ONLY.jpg', photoTakenTime: T_IMG1 }),
    },
    { name: `${root}/Other album/metadata.json`, data: makeAlbumJson('Other album') },
    { name: `${root}/Other album/IMG_1.jpg`, data: albumDifferent },
    {
      name: `${root}/Other album/IMG_1.jpg.json`,
      data: makeSidecar({ title: 'IMG_1.jpg', photoTakenTime: T_IMG1 }),
    },
    { name: `${root}/Trash/GONE.jpg`, data: trashed },
    {
      name: `${root}/Trash/GONE.jpg.json`,
      data: makeSidecar({ title: 'GONE.jpg', photoTakenTime: T_IMG1, trashed: true }),
    },
  ];
}

const EXPECTED_IDS = [
  'takeout:Photos from 2023/OLD.jpg',
  'takeout:Photos from 2024/IMG_1-edited.jpg',
  'takeout:Photos from 2024/IMG_1.jpg',
  'takeout:Photos from 2024/IMG_2.jpg',
  'takeout:Photos from 2024/IMG_2.MP4',
  'takeout:Photos from 2024/IMG_20240704_101112.jpg',
  'takeout:Photos from 2024/IMG_3.jpg',
  'takeout:Photos from 2024/scan.jpg',
  'takeout:Other album/IMG_1.jpg',
  'takeout:Trip/ALBUM_ONLY.jpg',
  'takeout:Trip/IMG_1.jpg',
];

function checkTakeoutItems(byId: Map<string, Listed>, prefix = 'Photos from 2024'): void {
  const one = byId.get(`takeout:${prefix}/IMG_1.jpg`);
  assert.ok(one);
  assert.equal(one.item.takenAt?.toISOString(), '2024-06-15T10:00:00.000Z');
  assert.equal(one.item.dateSource, 'sidecar');
  assert.equal(one.item.utcOffsetMinutes, 120, 'EXIF OffsetTimeOriginal lends the offset');
  assert.equal(one.item.dedupeByContent, true);
  assert.equal(one.item.filename, 'IMG_1.jpg');
  assert.equal(one.item.kind, 'photo');
  assert.equal(one.item.mimeType, 'image/jpeg');
  assert.deepEqual(one.bytes, img1);
  assert.deepEqual(
    one.item.metadata?.location,
    { latitude: 48.2, longitude: 11.6, altitude: 520 },
    'geoData (as Google shows it, edits included) wins over geoDataExif',
  );
  assert.deepEqual(one.item.metadata?.people, ['Ana', 'Zoë']);
  assert.equal(one.item.metadata?.title, 'IMG_1.jpg');
  assert.equal(one.item.metadata?.description, 'Lake');
  assert.deepEqual(one.item.metadata?.albums, ['Trip']);
  assert.equal(one.item.metadata?.matchMethod, 'supplemental');

  const edited = byId.get(`takeout:${prefix}/IMG_1-edited.jpg`);
  assert.equal(edited?.item.takenAt?.toISOString(), '2024-06-15T10:00:00.000Z');
  assert.equal(edited?.item.dateSource, 'sidecar');
  assert.equal(edited?.item.metadata?.matchMethod, 'edited');
  assert.deepEqual(edited?.bytes, img1Edited);

  const video = byId.get(`takeout:${prefix}/IMG_2.MP4`);
  assert.equal(video?.item.kind, 'video');
  assert.equal(video?.item.takenAt?.toISOString(), '2024-06-16T10:00:00.000Z');
  assert.equal(video?.item.metadata?.matchMethod, 'live');
  // The still's EXIF wall clock (12:00) minus the instant (10:00): +2 h, shared with the video.
  assert.equal(video?.item.utcOffsetMinutes, 120);
  assert.deepEqual(video?.bytes, liveVideo);
  assert.equal(byId.get(`takeout:${prefix}/IMG_2.jpg`)?.item.metadata?.favorited, true);

  const exif = byId.get(`takeout:${prefix}/IMG_3.jpg`);
  assert.equal(exif?.item.dateSource, 'exif');
  assert.equal(exif?.item.takenAt?.toISOString(), '2024-03-01T08:00:00.000Z');
  assert.equal(exif?.item.utcOffsetMinutes, undefined);

  const named = byId.get(`takeout:${prefix}/IMG_20240704_101112.jpg`);
  assert.equal(named?.item.dateSource, 'filename');
  assert.equal(named?.item.takenAt?.toISOString(), '2024-07-04T10:11:12.000Z');

  const undated = byId.get(`takeout:${prefix}/scan.jpg`);
  assert.equal(undated?.item.dateSource, 'none');
  assert.equal(undated?.item.takenAt, undefined);

  assert.equal(
    byId.get('takeout:Photos from 2023/OLD.jpg')?.item.takenAt?.toISOString(),
    '2023-07-01T10:00:00.000Z',
  );
  assert.deepEqual(byId.get('takeout:Trip/ALBUM_ONLY.jpg')?.bytes, albumOnly);
  assert.deepEqual(byId.get('takeout:Other album/IMG_1.jpg')?.bytes, albumDifferent);
  assert.deepEqual(byId.get('takeout:Trip/IMG_1.jpg')?.item.metadata?.albums, ['Trip']);
}

test('zip: every non-trash item, with dates, sources, metadata and exact bytes; year folders first', async () => {
  await withTempDir(async (dir) => {
    const zip = path.join(dir, 'takeout-20240712T112341Z-001.zip');
    await writeFile(
      zip,
      buildZip(
        takeoutEntries().map((entry, index) => ({ ...entry, method: index % 2 ? 'store' : 'deflate' })),
      ),
    );
    const { source, ids, byId, listed } = await listAll({ inputs: [zip] });
    assert.deepEqual([...ids].sort(), [...EXPECTED_IDS].sort());
    const firstAlbum = listed.findIndex((entry) => entry.item.id.startsWith('takeout:Trip/'));
    const lastYear = listed.findLastIndex((entry) => entry.item.id.startsWith('takeout:Photos from'));
    assert.ok(lastYear < firstAlbum, 'year-folder copies come before album copies');
    checkTakeoutItems(byId);
    assert.equal(source.sequential, false);
    assert.deepEqual(source.problems(), []);
    assert.equal(source.stopsOnSkips, false);
  });
});

test('zip: trash is left out unless includeTrash', async () => {
  await withTempDir(async (dir) => {
    const zip = path.join(dir, 'takeout.zip');
    await writeFile(zip, buildZip(takeoutEntries()));
    const withTrash = await listAll({ inputs: [zip], includeTrash: true });
    const gone = withTrash.byId.get('takeout:Trash/GONE.jpg');
    assert.equal(gone?.item.metadata?.trashed, true);
    assert.deepEqual(gone?.bytes, trashed);
  });
});

test('tgz: the same items as the zip, read in archive order; sequential is set', async () => {
  await withTempDir(async (dir) => {
    const tgz = path.join(dir, 'takeout-20230720T065335Z-001.tgz');
    await writeFile(tgz, buildTgz(takeoutEntries()));
    const { source, ids, byId } = await listAll({ inputs: [tgz] });
    assert.deepEqual([...ids].sort(), [...EXPECTED_IDS].sort());
    checkTakeoutItems(byId);
    assert.equal(source.sequential, true);
    assert.deepEqual(source.problems(), []);
  });
});

test('tgz: an item opened after the next one was pulled, or opened twice, still gives its bytes', async () => {
  await withTempDir(async (dir) => {
    const tgz = path.join(dir, 'takeout.tar.gz');
    await writeFile(tgz, buildTgz(takeoutEntries()));
    const source = createTakeoutSource({ inputs: [tgz], timeZone: 'UTC' });
    const items: SourceItem[] = [];
    for await (const item of source.list(new AbortController().signal)) items.push(item);
    const one = items.find((item) => item.id === 'takeout:Photos from 2024/IMG_1.jpg');
    assert.ok(one);
    assert.deepEqual(await readAll(one), img1);
    assert.deepEqual(await readAll(one), img1);
  });
});

test('tgz: pulling the next item waits until the opened body has been read', async () => {
  await withTempDir(async (dir) => {
    const tgz = path.join(dir, 'takeout.tgz');
    await writeFile(tgz, buildTgz(takeoutEntries()));
    const source = createTakeoutSource({ inputs: [tgz], timeZone: 'UTC' });
    const signal = new AbortController().signal;
    const iterator = source.list(signal)[Symbol.asyncIterator]();
    const seen = new Map<string, Buffer>();
    let current = await iterator.next();
    while (!current.done) {
      const opened = await current.value.open(signal);
      // Ask for the next item before reading this one, as a pipeline with a queue would.
      const next = iterator.next();
      const chunks: Buffer[] = [];
      for await (const chunk of opened.body) chunks.push(Buffer.from(chunk));
      seen.set(current.value.id, Buffer.concat(chunks));
      current = await next;
    }
    assert.deepEqual([...seen.keys()].sort(), [...EXPECTED_IDS].sort());
    assert.deepEqual(seen.get('takeout:Photos from 2024/IMG_1.jpg'), img1);
    assert.deepEqual(seen.get('takeout:Trip/ALBUM_ONLY.jpg'), albumOnly);
  });
});

test('split parts: a sidecar in another part, the same path in two parts is one item', async () => {
  await withTempDir(async (dir) => {
    const all = takeoutEntries();
    const sidecarsOnly = all.filter((entry) => entry.name.endsWith('.json'));
    const mediaOnly = all.filter((entry) => !entry.name.endsWith('.json'));
    const part1 = path.join(dir, 'takeout-20250912T060118Z-1-001.zip');
    const part2 = path.join(dir, 'takeout-20250912T060118Z-1-002.tgz');
    // The photo IMG_1.jpg is in both parts.
    await writeFile(
      part1,
      buildZip([...sidecarsOnly, ...mediaOnly.filter((entry) => entry.name.endsWith('/IMG_1.jpg'))]),
    );
    await writeFile(part2, buildTgz(mediaOnly));
    const { source, ids, byId } = await listAll({ inputs: [part1, part2] });
    assert.deepEqual([...ids].sort(), [...EXPECTED_IDS].sort());
    assert.equal(new Set(ids).size, ids.length, 'no id twice');
    checkTakeoutItems(byId);
    assert.equal(source.sequential, true);
  });
});

test('localized names: Google Fotos / Fotos von 2024, found by content', async () => {
  await withTempDir(async (dir) => {
    const zip = path.join(dir, 'takeout.zip');
    await writeFile(zip, buildZip(takeoutEntries('Takeout/Google Fotos', 'Fotos von 2024')));
    const { byId, ids } = await listAll({ inputs: [zip] });
    assert.ok(ids.includes('takeout:Fotos von 2024/IMG_1.jpg'));
    checkTakeoutItems(byId, 'Fotos von 2024');
  });
});

test('an unknown product-folder name is found by its sidecars; other products are ignored', async () => {
  await withTempDir(async (dir) => {
    const zip = path.join(dir, 'takeout.zip');
    await writeFile(
      zip,
      buildZip([
        ...takeoutEntries('Takeout/Google รูปภาพ', 'รูปภาพจากปี 2024'),
        { name: 'Takeout/Drive/holiday.jpg', data: makeJpeg({ comment: 'drive' }) },
      ]),
    );
    const { ids } = await listAll({ inputs: [zip] });
    assert.ok(ids.includes('takeout:รูปภาพจากปี 2024/IMG_1.jpg'));
    assert.ok(!ids.some((id) => id.includes('holiday')));
  });
});

test('zip slip entries are refused with a warning and never listed', async () => {
  await withTempDir(async (dir) => {
    const zip = path.join(dir, 'takeout.zip');
    const evil = makeJpeg({ comment: 'evil' });
    await writeFile(
      zip,
      buildZip([
        ...takeoutEntries(),
        { name: `${P}/Photos from 2024/../../../../evil1.jpg`, data: evil },
        { name: '/etc/evil2.jpg', data: evil },
        { name: 'C:/Windows/evil3.jpg', data: evil },
        { name: `${P}\\Photos from 2024\\..\\..\\..\\evil4.jpg`, data: evil },
      ]),
    );
    const { ids, warnings, listed } = await listAll({ inputs: [zip] });
    assert.ok(!ids.some((id) => id.includes('evil')));
    assert.ok(!listed.some((entry) => entry.bytes.equals(evil)));
    assert.equal(warnings.filter((warning) => warning.includes('refused')).length, 4);

    const tgz = path.join(dir, 'takeout.tgz');
    await writeFile(tgz, buildTgz([...takeoutEntries(), { name: `${P}/../../evil5.jpg`, data: evil }]));
    const fromTgz = await listAll({ inputs: [tgz] });
    assert.ok(!fromTgz.ids.some((id) => id.includes('evil')));
    assert.equal(fromTgz.warnings.filter((warning) => warning.includes('refused')).length, 1);
  });
});

test('a truncated or corrupt part is reported; the other parts are still listed', async () => {
  await withTempDir(async (dir) => {
    const good = path.join(dir, 'takeout-001.zip');
    const truncatedZip = path.join(dir, 'takeout-002.zip');
    const truncatedTgz = path.join(dir, 'takeout-003.tgz');
    const garbage = path.join(dir, 'takeout-004.zip');
    const entries = takeoutEntries();
    await writeFile(good, buildZip(entries));
    const otherYear = [
      { name: `${P}/Photos from 2022/A.jpg`, data: makeJpeg({ comment: 'a' }) },
      {
        name: `${P}/Photos from 2022/A.jpg.json`,
        data: makeSidecar({ title: 'A.jpg', photoTakenTime: '1650000000' }),
      },
    ];
    const zipBytes = buildZip(otherYear);
    await writeFile(truncatedZip, zipBytes.subarray(0, Math.floor(zipBytes.length / 2)));
    // Incompressible, so cutting the gzip's last bytes cuts this entry.
    const bigPhoto = Buffer.concat([makeJpeg(), randomBytes(60_000)]);
    const tgzBytes = buildTgz([
      ...otherYear.map((entry) => ({ ...entry, name: entry.name.replace('2022', '2021') })),
      { name: `${P}/Photos from 2021/BIG.jpg`, data: bigPhoto },
    ]);
    await writeFile(truncatedTgz, tgzBytes.subarray(0, tgzBytes.length - 200));
    await writeFile(garbage, Buffer.from('PK\u0003\u0004 this is not really a zip at all'));
    const { source, ids, byId } = await listAll({ inputs: [good, truncatedZip, truncatedTgz, garbage] });
    const problems = source.problems();
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.ok(problems.some((problem) => problem.includes(truncatedZip) && problem.includes('truncated')));
    assert.ok(problems.some((problem) => problem.includes(truncatedTgz)));
    assert.ok(problems.some((problem) => problem.includes(garbage)));
    for (const id of EXPECTED_IDS) assert.ok(ids.includes(id), id);
    assert.ok(!ids.includes('takeout:Photos from 2021/BIG.jpg'), 'the cut-off entry is not listed');
    // The complete entries before the damage in the tgz are still used.
    assert.equal(byId.get('takeout:Photos from 2021/A.jpg')?.item.dateSource, 'sidecar');
  });
});

test('a damaged entry fails when read, not silently', async () => {
  await withTempDir(async (dir) => {
    const zip = path.join(dir, 'takeout.zip');
    const bytes = buildZip(takeoutEntries().map((entry) => ({ ...entry, method: 'store' as const })));
    const at = bytes.indexOf(img1.subarray(40, 80));
    bytes[at + 10] = (bytes[at + 10] as number) ^ 0xff;
    await writeFile(zip, bytes);
    const source = createTakeoutSource({ inputs: [zip], timeZone: 'UTC' });
    let failed = 0;
    for await (const item of source.list(new AbortController().signal)) {
      try {
        await readAll(item);
      } catch (error) {
        failed += 1;
        assert.match(String(error), /CRC-32/);
      }
    }
    assert.ok(failed >= 1);
  });
});

test('encrypted entries: a problem when other entries are usable, a usage error when none is', async () => {
  await withTempDir(async (dir) => {
    const mixed = path.join(dir, 'mixed.zip');
    const secret: ZipEntryOptions = {
      name: `${P}/Photos from 2024/SECRET.jpg`,
      data: makeJpeg(),
      encrypted: true,
    };
    const bzip: ZipEntryOptions = { name: `${P}/Photos from 2024/BZ.jpg`, data: makeJpeg(), methodCode: 12 };
    await writeFile(mixed, buildZip([...takeoutEntries(), secret, bzip]));
    const { source, ids } = await listAll({ inputs: [mixed] });
    assert.ok(!ids.some((id) => id.includes('SECRET') || id.includes('BZ.jpg')));
    assert.equal(source.problems().length, 2);
    assert.match(source.problems().join('\n'), /encrypted/);
    assert.match(source.problems().join('\n'), /unsupported compression/);

    const locked = path.join(dir, 'locked.zip');
    await writeFile(locked, buildZip(takeoutEntries().map((entry) => ({ ...entry, encrypted: true }))));
    await assert.rejects(listAll({ inputs: [locked] }), (error: unknown) => {
      assert.ok(error instanceof BackupError);
      assert.equal(error.exitCode, ExitCode.usage);
      assert.match(error.message, /locked\.zip/);
      assert.match(error.message, /encrypted/);
      return true;
    });
  });
});

test('not an archive, a folder with no Takeout, a missing path: usage errors naming the input', async () => {
  await withTempDir(async (dir) => {
    const text = path.join(dir, 'notes.txt');
    await writeFile(text, 'hello');
    const empty = path.join(dir, 'empty');
    await mkdir(path.join(empty, 'sub'), { recursive: true });
    await writeFile(path.join(empty, 'sub', 'photo.jpg'), makeJpeg());
    for (const input of [text, empty, path.join(dir, 'missing.zip')]) {
      await assert.rejects(listAll({ inputs: [input] }), (error: unknown) => {
        assert.ok(error instanceof BackupError);
        assert.equal(error.exitCode, ExitCode.usage);
        assert.ok(error.message.includes(input), error.message);
        return true;
      });
    }
    assert.throws(() => createTakeoutSource({ inputs: [text], timeZone: 'Mars/Olympus' }), BackupError);
  });
});

test('folder input: an extracted Takeout, mixed with an archive part', async () => {
  await withTempDir(async (dir) => {
    const root = path.join(dir, 'extracted');
    const entries = takeoutEntries();
    for (const entry of entries.filter((candidate) => !candidate.name.includes('Trip/'))) {
      const file = path.join(root, ...entry.name.split('/'));
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, entry.data);
    }
    const zip = path.join(dir, 'albums.zip');
    await writeFile(zip, buildZip(entries.filter((entry) => entry.name.includes('Trip/'))));
    const { ids, byId, source } = await listAll({ inputs: [root, zip] });
    assert.deepEqual([...ids].sort(), [...EXPECTED_IDS].sort());
    checkTakeoutItems(byId);
    assert.equal(source.sequential, false);
  });
});

test('ZIP64 records are read', async () => {
  await withTempDir(async (dir) => {
    const zip = path.join(dir, 'takeout.zip');
    await writeFile(zip, buildZip(takeoutEntries(), { zip64: true }));
    const { ids, byId } = await listAll({ inputs: [zip] });
    assert.deepEqual([...ids].sort(), [...EXPECTED_IDS].sort());
    checkTakeoutItems(byId);
  });
});

test('zip entries can be read concurrently', async () => {
  await withTempDir(async (dir) => {
    const zip = path.join(dir, 'takeout.zip');
    await writeFile(zip, buildZip(takeoutEntries()));
    const source = createTakeoutSource({ inputs: [zip], timeZone: 'UTC' });
    const items: SourceItem[] = [];
    for await (const item of source.list(new AbortController().signal)) items.push(item);
    const bodies = await Promise.all(items.map((item) => readAll(item)));
    assert.equal(bodies.length, EXPECTED_IDS.length);
    assert.deepEqual(bodies[items.findIndex((item) => item.id === 'takeout:Trip/ALBUM_ONLY.jpg')], albumOnly);
  });
});

test('the caller zone turns zone-less EXIF into an instant', async () => {
  await withTempDir(async (dir) => {
    const zip = path.join(dir, 'takeout.zip');
    await writeFile(zip, buildZip(takeoutEntries()));
    const { byId } = await listAll({ inputs: [zip], timeZone: 'Asia/Tokyo' });
    assert.equal(
      byId.get('takeout:Photos from 2024/IMG_3.jpg')?.item.takenAt?.toISOString(),
      '2024-02-29T23:00:00.000Z',
    );
  });
});

test('the shipped sample Takeout is what its script writes, and lists as documented', async () => {
  const shipped = new URL('../../fixtures/sample-takeout/', import.meta.url).pathname;
  await withTempDir(async (dir) => {
    const fresh = path.join(dir, 'sample-takeout');
    await writeSampleTakeout(fresh);
    const files = (await readdir(fresh, { recursive: true, withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(fresh, path.join(entry.parentPath, entry.name)))
      .sort();
    assert.equal(files.length, 23);
    for (const file of files) {
      assert.deepEqual(
        await readFile(path.join(shipped, file)),
        await readFile(path.join(fresh, file)),
        file,
      );
    }
  });
  const { ids, byId, source } = await listAll({ inputs: [shipped], timeZone: 'Europe/Berlin' });
  assert.deepEqual(source.problems(), []);
  assert.equal(ids.length, 11);
  assert.ok(!ids.some((id) => id.includes('Trash')));
  const year2024 = [...byId.values()].filter((entry) => entry.item.takenAt?.getUTCFullYear() === 2024);
  assert.equal(year2024.length, 10);
  assert.equal(
    byId.get('takeout:Photos from 2024/IMG_0777.MP4')?.item.takenAt?.toISOString(),
    '2024-08-03T12:05:10.000Z',
  );
  assert.equal(byId.get('takeout:Photos from 2024/DSC_0001.jpg')?.item.dateSource, 'exif');
});

test('a tgz inside a folder of parts: the backup reads its items one at a time, in archive order', async () => {
  await withTempDir(async (dir) => {
    // The tgz is not given by name: it is found by reading the folder, when the catalog is read.
    const parts = path.join(dir, 'downloads');
    await mkdir(parts);
    const all = takeoutEntries();
    await writeFile(path.join(parts, 'takeout-20240712T112341Z-001.tgz'), buildTgz(all));
    const takeout = createTakeoutSource({ inputs: [parts], timeZone: 'UTC' });
    const events: string[] = [];
    // The Takeout source as the pipeline sees it, noting when an item is pulled and when its bytes end.
    const watched: Source = {
      name: takeout.name,
      stopsOnSkips: takeout.stopsOnSkips,
      get sequential() {
        return takeout.sequential;
      },
      close: () => takeout.close?.() ?? Promise.resolve(),
      async *list(signal) {
        for await (const item of takeout.list(signal)) {
          events.push(`pulled ${item.id}`);
          const open = async (openSignal: AbortSignal) => {
            const opened = await item.open(openSignal);
            return {
              ...opened,
              body: (async function* () {
                yield* opened.body;
                events.push(`read ${item.id}`);
              })(),
            };
          };
          const resolve = item.resolve;
          yield {
            ...item,
            open,
            ...(resolve ? { resolve: async (s: AbortSignal) => ({ ...(await resolve(s)), open }) } : {}),
          };
        }
      },
    };
    const folder = path.join(dir, 'backup');
    const result = await backupYear(testBackupOptions(folder, { concurrency: 4 }), {
      source: watched,
      report: () => {},
      signal: new AbortController().signal,
    });
    assert.equal(result.exitCode, ExitCode.ok);
    assert.equal(takeout.sequential, true);
    const pulled = events.filter((event) => event.startsWith('pulled '));
    assert.ok(pulled.length > 2, 'several items of 2024');
    // Every item saved was read to its end before the next one was pulled.
    for (const [index, event] of events.entries()) {
      if (!event.startsWith('read ')) continue;
      assert.equal(
        events[index - 1],
        `pulled ${event.slice('read '.length)}`,
        `${event} right after its pull`,
      );
    }
    assert.ok(events.some((event) => event.startsWith('read ')));
  });
});
