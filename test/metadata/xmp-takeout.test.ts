/**
 * `--xmp` through the built CLI over a Takeout: a sidecar beside every saved file, parsed back;
 * the sidecars of a folder saved without `--xmp` written later from the record alone (no media
 * byte read, counted by the test-only PHOTO_BACKUP_COUNT_MEDIA_READS); an edited sidecar kept
 * with one notice; --dry-run names them and writes none; exiftool reads one a real run wrote.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { parseJournal } from '../../src/manifest.ts';
import { sha256, treeHashes } from '../helpers/cli.ts';
import { buildZip, makeAlbumJson, makeJpeg, makeSidecar } from '../helpers/takeout-builder.ts';
import { openTakeoutDir, type TakeoutDir } from '../helpers/takeout-year.ts';
import { readXmp } from '../helpers/xml.ts';
import { alt, bag, NS, text } from '../helpers/xmp.ts';

const ROOT = 'Takeout/Google Photos';
const YEAR_FOLDER = `${ROOT}/Photos from 2024`;

/** A lake photo with all Google knows: a corrected place, people, a favourite, an album; and two plain ones. */
function exportZip(): Buffer {
  const lake = makeJpeg({ dateTimeOriginal: '2024:07:20 18:42:05', offsetTimeOriginal: '+02:00', shade: 80 });
  const lakeSidecar = makeSidecar({
    title: 'IMG_0420.jpg',
    photoTakenTime: '1721493725',
    description: 'Evening at the lake',
    geoDataExif: { latitude: 47.5596, longitude: 7.5886, altitude: 260 },
    geoData: { latitude: 47.5612, longitude: 7.5901, altitude: 255 },
    people: ['Ana', 'Zoë'],
    favorited: true,
  });
  const entries = [
    { name: `${YEAR_FOLDER}/IMG_0420.jpg`, data: lake },
    { name: `${YEAR_FOLDER}/IMG_0420.jpg.supplemental-metadata.json`, data: lakeSidecar },
    { name: `${ROOT}/Summer trip/metadata.json`, data: makeAlbumJson('Summer trip') },
    { name: `${ROOT}/Summer trip/IMG_0420.jpg`, data: lake },
    { name: `${ROOT}/Summer trip/IMG_0420.jpg.supplemental-metadata.json`, data: lakeSidecar },
  ];
  for (let i = 1; i <= 8; i++) {
    const name = `IMG_${1000 + i}.jpg`;
    entries.push(
      { name: `${YEAR_FOLDER}/${name}`, data: makeJpeg({ comment: `plain ${i}`, shade: i * 10 }) },
      {
        name: `${YEAR_FOLDER}/${name}.json`,
        data: makeSidecar({ title: name, photoTakenTime: String(1704103200 + i * 86_400) }),
      },
    );
  }
  return buildZip(entries);
}

async function writeExport(place: TakeoutDir): Promise<string> {
  const file = path.join(place.dir, 'takeout-001.zip');
  await writeFile(file, exportZip());
  return file;
}

/** Runs with the media-read counter on; the run and how many media reads it made. */
async function countedRun(place: TakeoutDir, inputs: string[], args: string[]) {
  const counter = path.join(place.dir, `reads-${Math.random().toString(36).slice(2)}.txt`);
  const run = await place.run(inputs, args, { PHOTO_BACKUP_COUNT_MEDIA_READS: counter });
  const reads = Number((await readFile(counter, 'utf8').catch(() => '')).trim() || Number.NaN);
  return { run, reads };
}

/** The saved files (not .xmp) and the sidecars, relative to the backup folder. */
async function filesOf(folder: string): Promise<{ media: string[]; sidecars: Map<string, string> }> {
  const tree = await treeHashes(folder);
  const media = [...tree.keys()].filter((name) => !name.endsWith('.xmp'));
  const sidecars = new Map<string, string>();
  for (const name of tree.keys())
    if (name.endsWith('.xmp')) sidecars.set(name, await readFile(path.join(folder, name), 'utf8'));
  return { media, sidecars };
}

test('takeout --xmp: every saved file gets <name>.xmp with what the sidecar JSON holds, its hash recorded', async () => {
  const place = await openTakeoutDir();
  try {
    const input = await writeExport(place);
    const { run } = await countedRun(place, [input], ['--xmp']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const { media, sidecars } = await filesOf(place.folder);
    assert.equal(media.length, 9);
    assert.deepEqual([...sidecars.keys()].sort(), media.map((name) => `${name}.xmp`).sort());
    const lake = sidecars.get('2024-07-20/IMG_0420.jpg.xmp');
    assert.ok(lake);
    const { properties } = readXmp(lake);
    // geoData (the place as Google shows it, the user's correction) wins over the camera's geoDataExif.
    assert.deepEqual(properties.get(`${NS.exif}GPSLatitude`), text('47,33.672000N'));
    assert.deepEqual(properties.get(`${NS.exif}GPSLongitude`), text('7,35.406000E'));
    assert.deepEqual(properties.get(`${NS.exif}GPSAltitude`), text('255/1'));
    // The time with the offset the day folder used (the photo's own EXIF offset, +02:00).
    assert.deepEqual(properties.get(`${NS.exif}DateTimeOriginal`), text('2024-07-20T18:42:05+02:00'));
    assert.deepEqual(properties.get(`${NS.xmp}CreateDate`), text('2024-07-20T18:42:05+02:00'));
    assert.deepEqual(properties.get(`${NS.dc}description`), alt('Evening at the lake'));
    assert.deepEqual(properties.get(`${NS.dc}title`), alt('IMG_0420.jpg'));
    assert.deepEqual(properties.get(`${NS.iptcExt}PersonInImage`), bag('Ana', 'Zoë'));
    assert.deepEqual(properties.get(`${NS.dc}subject`), bag('Summer trip'));
    assert.deepEqual(properties.get(`${NS.lr}hierarchicalSubject`), bag('Albums|Summer trip'));
    assert.deepEqual(properties.get(`${NS.xmp}Rating`), text('5'));
    assert.deepEqual(properties.get(`${NS.pb}Source`), text('takeout'));
    const plain = readXmp(sidecars.get('2024-01-02/IMG_1001.jpg.xmp') ?? '').properties;
    assert.deepEqual(plain.get(`${NS.exif}DateTimeOriginal`), text('2024-01-02T10:00:00+00:00'));
    assert.equal(plain.get(`${NS.xmp}Rating`), undefined);
    assert.equal(plain.get(`${NS.exif}GPSLatitude`), undefined, 'all-zero coordinates are no location');
    // Nothing half-written is left, and the record keeps each sidecar's hash.
    const days = await readdir(place.folder);
    for (const day of days.filter((name) => !name.startsWith('.')))
      assert.ok(!(await readdir(path.join(place.folder, day))).some((name) => name.endsWith('.part')));
    const { records } = parseJournal(
      await readFile(path.join(place.folder, '.photo-backup', 'saved.jsonl'), 'utf8'),
    );
    for (const [name, content] of sidecars) {
      const record = records.findLast((entry) => `${entry.path}.xmp` === name && !entry.copyOf);
      assert.equal(record?.xmpSha256, sha256(Buffer.from(content)), name);
    }
  } finally {
    await place.close();
  }
});

test('takeout: a folder saved without --xmp gets the same sidecars later from the record, reading no media byte', async () => {
  const direct = await openTakeoutDir();
  const later = await openTakeoutDir();
  try {
    const first = await direct.run([await writeExport(direct)], ['--xmp']);
    assert.equal(first.code, 0, first.stderr);
    const input = await writeExport(later);
    const plain = await later.run([input], []);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal((await filesOf(later.folder)).sidecars.size, 0);

    const dry = await countedRun(later, [input], ['--xmp', '--dry-run']);
    assert.equal(dry.run.code, 0, dry.run.stderr);
    assert.equal((dry.run.stdout.match(/^would write \S+\.xmp$/gm) ?? []).length, 9, dry.run.stdout);
    assert.match(dry.run.stdout, /^would write 2024-07-20\/IMG_0420\.jpg\.xmp$/m);
    assert.equal((await filesOf(later.folder)).sidecars.size, 0, '--dry-run writes none');

    const { run, reads } = await countedRun(later, [input], ['--xmp']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(reads, 0, 'no media byte read for sidecars of files already saved');
    assert.match(run.stdout, /XMP sidecars: 9 written/);
    assert.deepEqual((await filesOf(later.folder)).sidecars, (await filesOf(direct.folder)).sidecars);

    // Again: nothing to write, nothing read.
    const again = await countedRun(later, [input], ['--xmp']);
    assert.equal(again.reads, 0);
    assert.match(again.run.stdout, /XMP sidecars: 0 written/);
  } finally {
    await direct.close();
    await later.close();
  }
});

test('takeout --xmp: a sidecar changed since it was written is left as it is, with one notice counting them; a deleted, emptied or torn one is written again', async () => {
  const place = await openTakeoutDir();
  try {
    const input = await writeExport(place);
    assert.equal((await place.run([input], ['--xmp'])).code, 0);
    const edited = path.join(place.folder, '2024-07-20', 'IMG_0420.jpg.xmp');
    const mine = (await readFile(edited, 'utf8')).replace('Evening at the lake', 'Sunset, Lake Constance');
    await writeFile(edited, mine);
    const other = path.join(place.folder, '2024-01-02', 'IMG_1001.jpg.xmp');
    await writeFile(other, '<x:xmpmeta xmlns:x="adobe:ns:meta/"/>\n');
    // A sidecar deleted is written again.
    const deleted = path.join(place.folder, '2024-01-03', 'IMG_1002.jpg.xmp');
    const before = await readFile(deleted, 'utf8');
    await rm(deleted);
    // One cut to nothing (a power cut before its bytes reached the disk) is written again too.
    const cut = path.join(place.folder, '2024-01-04', 'IMG_1003.jpg.xmp');
    const whole = await readFile(cut, 'utf8');
    await writeFile(cut, '');
    // One cut short (a crash or power cut left its head under the final name), and one whose
    // blocks are zeros: no whole XMP packet, so no edit either; both are written again.
    const torn = path.join(place.folder, '2024-01-05', 'IMG_1004.jpg.xmp');
    const tornWhole = await readFile(torn, 'utf8');
    await writeFile(torn, tornWhole.slice(0, Math.floor(tornWhole.length / 2)));
    const zeros = path.join(place.folder, '2024-01-06', 'IMG_1005.jpg.xmp');
    const zerosWhole = await readFile(zeros, 'utf8');
    await writeFile(zeros, Buffer.alloc(zerosWhole.length));

    const run = await place.run([input], ['--xmp']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await readFile(edited, 'utf8'), mine, 'the edit is kept');
    assert.equal(await readFile(other, 'utf8'), '<x:xmpmeta xmlns:x="adobe:ns:meta/"/>\n');
    assert.equal(await readFile(deleted, 'utf8'), before);
    assert.equal(await readFile(cut, 'utf8'), whole);
    assert.equal(await readFile(torn, 'utf8'), tornWhole, 'a torn sidecar is written again');
    assert.equal(await readFile(zeros, 'utf8'), zerosWhole, 'a zero-filled sidecar is written again');
    const notices = (run.stdout + run.stderr).match(/Left \d+ XMP sidecar\(s\) as they are[^\n]*/g) ?? [];
    assert.equal(notices.length, 1, run.stdout);
    assert.match(notices[0] ?? '', /^Left 2 XMP sidecar\(s\)/);
    assert.match(notices[0] ?? '', /2024-07-20\/IMG_0420\.jpg\.xmp/);
    assert.doesNotMatch(notices[0] ?? '', /IMG_100[345]/, 'no damaged one is called an edit');
    assert.match(run.stdout, /XMP sidecars: 4 written, 2 left as they were/);
  } finally {
    await place.close();
  }
});

/**
 * exiftool is the reader most photo tools trust (CI installs libimage-exiftool-perl):
 * PHOTO_BACKUP_REQUIRE_EXIFTOOL=1 turns a missing exiftool into a failure instead of a skip.
 */
test('exiftool (needs exiftool installed) reads a sidecar a real run wrote, without warnings', async (t) => {
  const probe = spawnSync('exiftool', ['-ver'], { encoding: 'utf8' });
  if ((probe.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    if (process.env.PHOTO_BACKUP_REQUIRE_EXIFTOOL === '1')
      assert.fail(
        'exiftool is not installed but PHOTO_BACKUP_REQUIRE_EXIFTOOL=1: install libimage-exiftool-perl',
      );
    t.skip('exiftool is not installed (apt-get install libimage-exiftool-perl)');
    return;
  }
  const place = await openTakeoutDir();
  try {
    assert.equal((await place.run([await writeExport(place)], ['--xmp'])).code, 0);
    const sidecar = path.join(place.folder, '2024-07-20', 'IMG_0420.jpg.xmp');
    const read = spawnSync(
      'exiftool',
      ['-j', '-a', '-G1', '-n', '-validate', '-warning', '-XMP:all', sidecar],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(read.status, 0, read.stderr);
    const [tags] = JSON.parse(read.stdout) as Record<string, unknown>[];
    assert.ok(tags);
    assert.equal(tags['ExifTool:Warning'], undefined, JSON.stringify(tags));
    assert.equal(tags['ExifTool:Validate'], '0 0 0', 'no errors, warnings or minor warnings');
    assert.equal(tags['XMP-exif:DateTimeOriginal'], '2024:07:20 18:42:05+02:00');
    assert.equal(tags['XMP-exif:GPSLatitude'], 47.5612);
    assert.equal(tags['XMP-exif:GPSLongitude'], 7.5901);
    assert.equal(tags['XMP-dc:Description'], 'Evening at the lake');
    assert.deepEqual(tags['XMP-iptcExt:PersonInImage'], ['Ana', 'Zoë']);
    assert.equal(tags['XMP-xmp:Rating'], 5);
  } finally {
    await place.close();
  }
});

test('the README’s example sidecar is what a run over the sample Takeout writes', async () => {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const example = /^`out\/(\S+\.xmp)` from that run, as written:\n\n```xml\n([\s\S]*?)```$/m.exec(readme);
  assert.ok(example, 'README shows an example sidecar');
  const place = await openTakeoutDir();
  try {
    const sample = new URL('../fixtures/sample-takeout', import.meta.url).pathname;
    const run = await place.run([sample], ['--xmp']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await readFile(path.join(place.folder, example[1] ?? ''), 'utf8'), example[2]);
  } finally {
    await place.close();
  }
});
