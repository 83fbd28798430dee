/**
 * Archive bombs at full size, through the built CLI: a sidecar declaring 100 bytes that inflates
 * to 1 GB, a tgz whose pax header declares (and holds) 1 GB, and forty honest 8 MB sidecars. The
 * CLI's peak resident set size (getrusage, written by bench/peak-rss.cjs as the child exits) stays
 * under PEAK_RSS_MB while the bomb is reported and every other photo is saved. The small versions
 * are test/sources/takeout/bombs.test.ts.
 */
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createDeflateRaw, createGzip } from 'node:zlib';
import { allFiles, YEAR } from '../../../helpers/reliability.ts';
import {
  buildTar,
  buildZip,
  makeJpeg,
  makeSidecar,
  tarHeader,
  type ZipEntryOptions,
} from '../../../helpers/takeout-builder.ts';
import { openTakeoutDir, type TakeoutDir } from '../../../helpers/takeout-year.ts';

/** Well above an honest run over a small Takeout (about 100 MB), far below a 1 GB buffer. */
const PEAK_RSS_MB = 300;
const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;
const PEAK_RSS = fileURLToPath(new URL('../../../../bench/peak-rss.cjs', import.meta.url));
const FOLDER = `Takeout/Google Photos/Photos from ${YEAR}`;
const taken = (day: number) => String(Date.UTC(YEAR, 2, day, 10) / 1000);

function honest(): ZipEntryOptions[] {
  return [1, 2, 3].flatMap((day) => [
    { name: `${FOLDER}/IMG_000${day}.jpg`, data: makeJpeg({ comment: `photo ${day}` }) },
    {
      name: `${FOLDER}/IMG_000${day}.jpg.json`,
      data: makeSidecar({ title: `IMG_000${day}.jpg`, photoTakenTime: taken(day) }),
    },
  ]);
}

/** `total` bytes of `fill`, one MiB at a time, never all in memory. */
function* filler(total: number, fill = 0x20): Generator<Buffer> {
  const chunk = Buffer.alloc(MiB, fill);
  for (let left = total; left > 0; left -= MiB) yield left >= MiB ? chunk : chunk.subarray(0, left);
}

async function deflated(total: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const deflate = createDeflateRaw({ level: 9 });
  deflate.on('data', (chunk: Buffer) => chunks.push(chunk));
  await pipeline(Readable.from(filler(total)), deflate);
  return Buffer.concat(chunks);
}

/** Runs the CLI over `inputs`; its peak RSS in MB as the child measured it. */
async function runMeasured(place: TakeoutDir, inputs: string[]) {
  const rssFile = path.join(place.dir, 'rss.txt');
  const result = await place.run(inputs, [], {
    NODE_OPTIONS: `--require ${PEAK_RSS}`,
    BENCH_RSS_FILE: rssFile,
  });
  const peakMb = Number(await readFile(rssFile, 'utf8')) / 1024;
  console.log(`peak RSS ${peakMb.toFixed(0)} MB`);
  return { ...result, output: result.stdout + result.stderr, peakMb };
}

async function saved(place: TakeoutDir): Promise<string[]> {
  return (await allFiles(place.folder)).filter((file) => !file.includes('.photo-backup')).sort();
}

async function downloads(place: TakeoutDir, name: string): Promise<string> {
  await mkdir(path.join(place.dir, 'downloads'), { recursive: true });
  return path.join(place.dir, 'downloads', name);
}

test(`takeout bomb, full size: a sidecar declaring 100 bytes that inflates to 1 GB; peak RSS under ${PEAK_RSS_MB} MB`, async () => {
  const place = await openTakeoutDir();
  try {
    const zip = buildZip([
      ...honest(),
      { name: `${FOLDER}/IMG_20240309_101010.jpg`, data: makeJpeg({ comment: 'bombed sidecar' }) },
      {
        name: `${FOLDER}/IMG_20240309_101010.jpg.json`,
        data: '',
        deflated: await deflated(GiB),
        declaredSize: 100,
      },
    ]);
    const part = await downloads(place, 'takeout-20250101T000000Z-001.zip');
    await writeFile(part, zip);
    const result = await runMeasured(place, [part]);
    assert.equal(result.code, 1, result.output);
    assert.match(result.output, /IMG_20240309_101010\.jpg\.json" inflates past its declared 100 bytes/);
    assert.equal((await saved(place)).length, 4);
    assert.ok(result.peakMb < PEAK_RSS_MB, `peak RSS ${result.peakMb.toFixed(0)} MB`);
  } finally {
    await place.close();
  }
});

test(`takeout bomb, full size: a tgz whose pax header declares and holds 1 GB; peak RSS under ${PEAK_RSS_MB} MB`, async () => {
  const place = await openTakeoutDir();
  try {
    const good = buildTar([...honest(), { name: 'Takeout/archive_browser.html', data: '<!doctype html>' }]);
    const after = buildTar([{ name: `${FOLDER}/IMG_0009.jpg`, data: makeJpeg({ comment: 'after' }) }]);
    const part = await downloads(place, 'takeout-20250101T000000Z-001.tgz');
    await pipeline(
      Readable.from(
        (function* () {
          yield good.subarray(0, good.length - 1024);
          yield tarHeader('PaxHeader/bomb', GiB, 'x');
          yield* filler(GiB, 0x0a);
          yield after;
        })(),
      ),
      createGzip(),
      createWriteStream(part),
    );
    const result = await runMeasured(place, [part]);
    assert.equal(result.code, 1, result.output);
    assert.match(result.output, /declares a pax header of 1073741824 bytes/);
    assert.equal((await saved(place)).length, 3);
    assert.ok(result.peakMb < PEAK_RSS_MB, `peak RSS ${result.peakMb.toFixed(0)} MB`);
  } finally {
    await place.close();
  }
});

test(`takeout bomb, full size: forty honest 8 MB sidecars are all used; peak RSS under ${PEAK_RSS_MB} MB`, async () => {
  const place = await openTakeoutDir();
  try {
    const entries: ZipEntryOptions[] = [];
    for (let index = 0; index < 40; index++) {
      const name = `IMG_${String(index).padStart(4, '0')}.jpg`;
      // A sidecar naming many people: what makes honest ones big.
      const people = Array.from({ length: (8 * 1024 * 1024) / 32 }, (_, person) => ({
        name: `Person ${index}-${person}`,
      }));
      const sidecar = JSON.stringify({
        title: name,
        photoTakenTime: { timestamp: taken(1 + (index % 28)) },
        people,
      });
      entries.push({ name: `${FOLDER}/${name}`, data: makeJpeg({ comment: `photo ${index}` }) });
      entries.push({ name: `${FOLDER}/${name}.json`, data: sidecar });
    }
    const part = await downloads(place, 'takeout-20250101T000000Z-001.zip');
    await writeFile(part, buildZip(entries));
    const result = await runMeasured(place, [part]);
    assert.equal(result.code, 0, result.output);
    const files = await saved(place);
    assert.equal(files.length, 40, files.join('\n'));
    // Dated from their sidecars (the names hold no date).
    assert.ok(
      files.every((file) => file.startsWith(`${YEAR}-03-`)),
      files.join('\n'),
    );
    assert.ok(result.peakMb < PEAK_RSS_MB, `peak RSS ${result.peakMb.toFixed(0)} MB`);
  } finally {
    await place.close();
  }
});
