/**
 * Archives that lie about their sizes, through the built CLI (`--takeout`): an entry that inflates
 * past the size its zip directory declares, a pax header or GNU long name that declares more than
 * any honest one, and a sidecar too large to be one. Each is reported as damaged, nothing past a
 * declared size is held or written, and every other photo is saved. The full-size versions (1 GB
 * bombs, peak memory measured) are test/reliability/sources/takeout/bombs.test.ts.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { deflateRawSync, gzipSync } from 'node:zlib';
import { openFileReader } from '../../../src/sources/random-access.ts';
import { readZipDirectory, readZipEntryPrefix } from '../../../src/sources/takeout/formats/zip-reader.ts';
import { allFiles, YEAR } from '../../helpers/reliability.ts';
import {
  buildTar,
  buildZip,
  makeJpeg,
  makeSidecar,
  padded,
  tarHeader,
  type ZipEntryOptions,
} from '../../helpers/takeout-builder.ts';
import { openTakeoutDir, type TakeoutDir } from '../../helpers/takeout-year.ts';

const FOLDER = `Takeout/Google Photos/Photos from ${YEAR}`;
const taken = (day: number) => String(Date.UTC(YEAR, 2, day, 10) / 1000);

/** Three honest photos with sidecars, dated March 1 to 3. */
function honest(): ZipEntryOptions[] {
  return [1, 2, 3].flatMap((day) => [
    { name: `${FOLDER}/IMG_000${day}.jpg`, data: makeJpeg({ comment: `photo ${day}` }) },
    {
      name: `${FOLDER}/IMG_000${day}.jpg.json`,
      data: makeSidecar({ title: `IMG_000${day}.jpg`, photoTakenTime: taken(day) }),
    },
  ]);
}

async function writePart(place: TakeoutDir, name: string, bytes: Buffer): Promise<string> {
  await mkdir(path.join(place.dir, 'downloads'), { recursive: true });
  const file = path.join(place.dir, 'downloads', name);
  await writeFile(file, bytes);
  return file;
}

async function saved(place: TakeoutDir): Promise<string[]> {
  return (await allFiles(place.folder)).filter((file) => !file.includes('.photo-backup')).sort();
}

const noStack = (text: string) => assert.doesNotMatch(text, /\n\s+at |hit a bug/, 'no stack trace');

test('takeout bomb: a sidecar declaring 100 bytes that inflates to 20 MB is a damaged entry; its photo and the others are saved', async () => {
  const place = await openTakeoutDir();
  try {
    const bomb = deflateRawSync(Buffer.alloc(20 * 1024 * 1024, 0x20));
    const zip = buildZip([
      ...honest(),
      { name: `${FOLDER}/IMG_20240309_101010.jpg`, data: makeJpeg({ comment: 'bombed sidecar' }) },
      { name: `${FOLDER}/IMG_20240309_101010.jpg.json`, data: '', deflated: bomb, declaredSize: 100 },
    ]);
    const part = await writePart(place, 'takeout-20250101T000000Z-001.zip', zip);
    const result = await place.run([part]);
    const output = result.stdout + result.stderr;
    assert.equal(result.code, 1, output);
    assert.match(output, /takeout-20250101T000000Z-001\.zip/);
    assert.match(
      output,
      /IMG_20240309_101010\.jpg\.json" inflates past its declared 100 bytes: the archive is damaged/,
    );
    noStack(result.stderr);
    const files = await saved(place);
    assert.equal(files.length, 4, files.join('\n'));
    // Dated from its name, as with no sidecar.
    assert.ok(files.includes('2024-03-09/IMG_20240309_101010.jpg'), files.join('\n'));
    assert.ok(!files.some((file) => file.endsWith('.part')));
  } finally {
    await place.close();
  }
});

test('takeout bomb: a .jpg entry inflating past its declared size is not saved, leaves no .part, and the others are saved', async () => {
  const place = await openTakeoutDir();
  try {
    const jpeg = makeJpeg({ comment: 'the real start' });
    const bomb = deflateRawSync(Buffer.concat([jpeg, Buffer.alloc(20 * 1024 * 1024)]));
    const zip = buildZip([
      ...honest(),
      { name: `${FOLDER}/IMG_0009.jpg`, data: jpeg, deflated: bomb, declaredSize: jpeg.length },
      {
        name: `${FOLDER}/IMG_0009.jpg.json`,
        data: makeSidecar({ title: 'IMG_0009.jpg', photoTakenTime: taken(9) }),
      },
    ]);
    const part = await writePart(place, 'takeout-20250101T000000Z-001.zip', zip);
    const result = await place.run([part]);
    const output = result.stdout + result.stderr;
    assert.equal(result.code, 1, output);
    assert.match(output, /IMG_0009\.jpg/);
    assert.match(output, /inflates past its declared \d+ bytes/);
    noStack(result.stderr);
    const files = await saved(place);
    assert.equal(files.length, 3, files.join('\n'));
    assert.ok(!files.some((file) => file.includes('IMG_0009')));
    assert.ok(!(await allFiles(place.dir)).some((file) => file.endsWith('.part')), 'no .part left');
  } finally {
    await place.close();
  }
});

/** A tgz: the honest photos, then one extended header `type` declaring `declared` bytes over `body`. */
function tgzWithHeader(type: 'x' | 'L', declared: number, body: Buffer): Buffer {
  // The entry just before the damage is lost (a cut-off part may end inside it): a filler goes there.
  const good = buildTar([...honest(), { name: 'Takeout/archive_browser.html', data: '<!doctype html>' }]);
  const before = good.subarray(0, good.length - 1024);
  const after = buildTar([{ name: `${FOLDER}/IMG_0009.jpg`, data: makeJpeg({ comment: 'after' }) }]);
  return gzipSync(Buffer.concat([before, tarHeader('././@LongLink', declared, type), padded(body), after]));
}

test('takeout bomb: a pax header declaring 1 GB is a damaged archive; it is never read into memory, entries before it are saved', async () => {
  const place = await openTakeoutDir();
  try {
    // Declares 1 GB, holds 20 MB: enough for the old reader to start buffering it.
    const tgz = tgzWithHeader('x', 1024 * 1024 * 1024, Buffer.alloc(20 * 1024 * 1024, 0x20));
    const part = await writePart(place, 'takeout-20250101T000000Z-001.tgz', tgz);
    const result = await place.run([part]);
    const output = result.stdout + result.stderr;
    assert.equal(result.code, 1, output);
    assert.match(
      output,
      /takeout-20250101T000000Z-001\.tgz: header \d+ declares a pax header of 1073741824 bytes/,
    );
    assert.match(output, /the archive is damaged/);
    noStack(result.stderr);
    assert.equal((await saved(place)).length, 3);
  } finally {
    await place.close();
  }
});

test('takeout bomb: a GNU long name of 1 MB is a damaged archive, entries before it are saved', async () => {
  const place = await openTakeoutDir();
  try {
    const name = Buffer.alloc(1024 * 1024, 'a');
    const tgz = tgzWithHeader('L', name.length, name);
    const part = await writePart(place, 'takeout-20250101T000000Z-001.tgz', tgz);
    const result = await place.run([part]);
    const output = result.stdout + result.stderr;
    assert.equal(result.code, 1, output);
    assert.match(
      output,
      /declares a long name of 1048576 bytes \(at most 65536 are read\): the archive is damaged/,
    );
    noStack(result.stderr);
    assert.equal((await saved(place)).length, 3);
  } finally {
    await place.close();
  }
});

for (const kind of ['zip', 'tgz'] as const) {
  test(`takeout bomb (${kind}): a sidecar larger than 16 MiB is reported and not read; its photo is saved, dated from its name`, async () => {
    const place = await openTakeoutDir();
    try {
      const big = JSON.stringify({
        title: 'IMG_20240305_101010.jpg',
        photoTakenTime: { timestamp: taken(9) },
        description: 'x'.repeat(17 * 1024 * 1024),
      });
      const entries = [
        ...honest(),
        { name: `${FOLDER}/IMG_20240305_101010.jpg`, data: makeJpeg({ comment: 'big sidecar' }) },
        { name: `${FOLDER}/IMG_20240305_101010.jpg.json`, data: big },
      ];
      const bytes = kind === 'zip' ? buildZip(entries) : gzipSync(buildTar(entries));
      const part = await writePart(place, `takeout-20250101T000000Z-001.${kind}`, bytes);
      const result = await place.run([part]);
      const output = result.stdout + result.stderr;
      assert.equal(result.code, 1, output);
      assert.match(
        output,
        /"Takeout\/Google Photos\/Photos from 2024\/IMG_20240305_101010\.jpg\.json" holds \d+ bytes of JSON, more than the 16777216 a sidecar can be: not read; its photo is dated from its content or name/,
      );
      noStack(result.stderr);
      const files = await saved(place);
      assert.equal(files.length, 4, files.join('\n'));
      // Not March 9 (the sidecar's date): the name's date, as with no sidecar.
      assert.ok(
        files.some((file) => /2024-03-05/.test(file) && file.endsWith('IMG_20240305_101010.jpg')),
        files.join('\n'),
      );
    } finally {
      await place.close();
    }
  });
}

test('takeout: a tgz cut short says it is truncated, in words, and keeps what came before', async () => {
  const place = await openTakeoutDir();
  try {
    const filler = { name: 'Takeout/archive_browser.html', data: '<!doctype html>' };
    const whole = gzipSync(
      buildTar([
        ...honest(),
        filler,
        { name: `${FOLDER}/IMG_0009.jpg`, data: Buffer.alloc(4 * 1024 * 1024, 1) },
      ]),
    );
    const part = await writePart(
      place,
      'takeout-20250101T000000Z-001.tgz',
      whole.subarray(0, whole.length - 2000),
    );
    const result = await place.run([part]);
    const output = result.stdout + result.stderr;
    assert.equal(result.code, 1, output);
    assert.match(
      output,
      /takeout-20250101T000000Z-001\.tgz: the gzip stream ends early: the file is truncated/,
    );
    noStack(result.stderr);
    assert.equal((await saved(place)).length, 3);
  } finally {
    await place.close();
  }
});

test('zip head read: an entry that inflates a thousandfold still gives exactly its first bytes', async () => {
  const place = await openTakeoutDir();
  try {
    const noise = randomBytes(100 * 1024);
    const data = Buffer.concat([noise, Buffer.alloc(64 * 1024 * 1024)]);
    const part = await writePart(place, 'heads.zip', buildZip([{ name: 'zeros.jpg', data }]));
    const handle = await openFileReader(part);
    const [entry] = await readZipDirectory(handle);
    try {
      const head = await readZipEntryPrefix(handle, entry as NonNullable<typeof entry>, 128 * 1024);
      assert.equal(head.length, 128 * 1024);
      assert.ok(head.equals(data.subarray(0, 128 * 1024)));
    } finally {
      await handle.close();
    }
  } finally {
    await place.close();
  }
});
