/**
 * The takeout figure: photo-backup reading a Google Takeout zip (photos with their JSON
 * sidecars, stored entries as Takeout writes them) for one year, against `unzip -q` extracting
 * the same archive to the same disk. Same repetitions and alternating order as the other figures.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, truncate } from 'node:fs/promises';
import path from 'node:path';
import { emptyOutput, flushToDisk } from './disk.ts';
import { jsonEvents, runCommand, runPhotoBackupArgs } from './processes.ts';
import type { Row } from './row.ts';
import { ZipWriter } from './zip-writer.ts';

export interface TakeoutFigureOptions {
  work: string;
  photos: number;
  year: number;
  repeats: number;
  median(values: number[]): number;
}

const PHOTO_SIZE = 500_000;
const LIMIT = 1.3;

/** A small valid JPEG of `size` bytes: SOI, COM segments (a stamp, then filler), EOI. */
function photoBytes(index: number, size: number, filler: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from([0xff, 0xd8])];
  const segment = (payload: Buffer) => {
    const header = Buffer.from([0xff, 0xfe, 0, 0]);
    header.writeUInt16BE(payload.length + 2, 2);
    parts.push(header, payload);
  };
  segment(Buffer.from(`photo-backup bench photo ${index}\n`));
  let left = size - 2 - 2 - 40;
  let offset = (index * 7919) % (filler.length - 65_533);
  while (left > 4) {
    const length = Math.min(65_533, left - 4);
    segment(filler.subarray(offset, offset + length));
    left -= length + 4;
    offset = (offset + 4099) % (filler.length - 65_533);
  }
  parts.push(Buffer.from([0xff, 0xd9]));
  return Buffer.concat(parts);
}

/** Takeout/Google Photos/Photos from YEAR/IMG_nnnn.jpg with IMG_nnnn.jpg.json beside each. */
async function buildArchive(file: string, photos: number, year: number): Promise<number> {
  const zip = await ZipWriter.create(file);
  const filler = Buffer.alloc(1 << 20);
  for (let offset = 0; offset < filler.length; offset += 4) {
    filler.writeUInt32LE((Math.imul(offset + 1, 2654435761) ^ (offset >>> 7)) >>> 0, offset);
  }
  const start = Date.UTC(year, 0, 1) / 1000;
  const step = Math.floor((365 * 86_400) / photos);
  const folder = `Takeout/Google Photos/Photos from ${year}`;
  let bytes = 0;
  for (let index = 0; index < photos; index++) {
    const name = `IMG_${String(index + 1).padStart(5, '0')}.jpg`;
    const taken = start + index * step + 3600;
    const data = photoBytes(index, PHOTO_SIZE, filler);
    const sidecar = Buffer.from(
      JSON.stringify({
        title: name,
        description: '',
        creationTime: {
          timestamp: String(taken + 60),
          formatted: new Date((taken + 60) * 1000).toUTCString(),
        },
        photoTakenTime: { timestamp: String(taken), formatted: new Date(taken * 1000).toUTCString() },
        geoData: { latitude: 0, longitude: 0, altitude: 0, latitudeSpan: 0, longitudeSpan: 0 },
        url: `https://photos.google.com/photo/bench${index}`,
        googlePhotosOrigin: { mobileUpload: { deviceType: 'ANDROID_PHONE' } },
      }),
    );
    await zip.add(`${folder}/${name}`, data);
    await zip.add(`${folder}/${name}.json`, sidecar);
    bytes += data.length + sidecar.length;
  }
  await zip.close();
  return bytes;
}

function notRun(figure: string, note: string): Row {
  return {
    figure,
    unit: 's',
    photoBackup: null,
    baseline: null,
    ratio: null,
    target: `≤ ${LIMIT} ×`,
    pass: null,
    note,
  };
}

export async function runTakeoutFigure(options: TakeoutFigureOptions): Promise<Row> {
  const figure = `Takeout: ${options.photos} photos + sidecars (${Math.round((options.photos * PHOTO_SIZE) / 1e6)} MB zip) vs unzip -q`;
  if (spawnSync('unzip', ['-v'], { stdio: 'ignore' }).error) {
    process.stderr.write(
      'bench: the takeout figure needs unzip: apt-get update && apt-get install -y unzip\n',
    );
    return notRun(figure, 'not run: unzip missing (apt-get install -y unzip)');
  }
  const archive = path.join(options.work, 'takeout-001.zip');
  const ours: number[] = [];
  const theirs: number[] = [];
  try {
    await buildArchive(archive, options.photos, options.year);
    flushToDisk(); // its writeback would otherwise start during the runs
    for (let repeat = 0; repeat < options.repeats; repeat++) {
      const order = repeat % 2 === 0 ? (['ours', 'theirs'] as const) : (['theirs', 'ours'] as const);
      for (const who of order) {
        const dir = path.join(options.work, `takeout-${who}-${repeat}`);
        if (who === 'ours') {
          const run = await runPhotoBackupArgs(
            [String(options.year), dir, '--takeout', archive, '--json'],
            options.work,
          );
          const summary = jsonEvents(run.stdout).find((event) => event.type === 'summary')?.summary as
            | { saved?: number; failed?: unknown[] }
            | undefined;
          if (!summary) {
            if (/not available in this build|unknown option/i.test(run.stderr)) {
              return notRun(figure, 'not run: takeout source not wired');
            }
            throw new Error(
              `photo-backup --takeout printed no summary (exit ${run.code}):\n${run.stderr.slice(-2000)}`,
            );
          }
          if (run.code !== 0 || summary.saved !== options.photos) {
            throw new Error(
              `photo-backup --takeout saved ${String(summary.saved)} of ${options.photos} (exit ${run.code}):\n${run.stderr.slice(-2000)}`,
            );
          }
          ours.push(run.ms / 1000);
        } else {
          await mkdir(dir, { recursive: true });
          const run = await runCommand('unzip', ['-q', archive, '-d', dir], options.work);
          if (run.code !== 0) throw new Error(`unzip failed (exit ${run.code}): ${run.stderr}`);
          theirs.push(run.ms / 1000);
        }
        await emptyOutput(dir); // bench/disk.ts: emptied, deleted when the bench ends
      }
    }
  } finally {
    await truncate(archive, 0);
  }
  const round = (value: number) => Math.round(value * 1000) / 1000;
  const ratio = options.median(ours) / options.median(theirs);
  return {
    figure,
    unit: 's',
    photoBackup: Math.round(options.median(ours) * 100) / 100,
    baseline: Math.round(options.median(theirs) * 100) / 100,
    ratio: Math.round(ratio * 100) / 100,
    target: `≤ ${LIMIT} ×`,
    pass: ratio <= LIMIT,
    runs: { photoBackup: ours.map(round), baseline: theirs.map(round) },
  };
}

export interface TakeoutEntriesOptions {
  work: string;
  /** Entries in the zip: half photos, half their sidecars. */
  entries: number;
  year: number;
}

const SMALL_PHOTO_SIZE = 2000;
const ENTRIES_LIMIT_MB = 250;

/** The sidecar Google writes beside a photo, with the fields photo-backup does not use too. */
function sidecarBytes(name: string, index: number, taken: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      title: name,
      description: '',
      imageViews: String(index % 97),
      creationTime: {
        timestamp: String(taken + 60),
        formatted: new Date((taken + 60) * 1000).toUTCString(),
      },
      photoTakenTime: { timestamp: String(taken), formatted: new Date(taken * 1000).toUTCString() },
      geoData: { latitude: 0, longitude: 0, altitude: 0, latitudeSpan: 0, longitudeSpan: 0 },
      geoDataExif: { latitude: 0, longitude: 0, altitude: 0, latitudeSpan: 0, longitudeSpan: 0 },
      url: `https://photos.google.com/photo/AF1QipBench${String(index).padStart(8, '0')}`,
      googlePhotosOrigin: { mobileUpload: { deviceType: 'ANDROID_PHONE' } },
    }),
  );
}

/**
 * Memory over many entries: a Takeout zip of `entries` small entries (photos of 2 KB, each with
 * its sidecar), saved by one real run. Peak RSS is the figure; the time per entry is its note.
 */
export async function runTakeoutEntriesFigure(options: TakeoutEntriesOptions): Promise<Row> {
  const photos = Math.floor(options.entries / 2);
  const figure = `Memory: Takeout of ${(photos * 2).toLocaleString('en')} small entries, peak RSS`;
  const archive = path.join(options.work, 'takeout-entries-001.zip');
  const dir = path.join(options.work, 'takeout-entries');
  try {
    const zip = await ZipWriter.create(archive);
    const filler = Buffer.alloc(1 << 17);
    for (let offset = 0; offset < filler.length; offset += 4) {
      filler.writeUInt32LE((Math.imul(offset + 1, 2654435761) ^ (offset >>> 9)) >>> 0, offset);
    }
    const start = Date.UTC(options.year, 0, 1) / 1000;
    const step = Math.floor((365 * 86_400) / photos);
    const folder = `Takeout/Google Photos/Photos from ${options.year}`;
    for (let index = 0; index < photos; index++) {
      const name = `IMG_${String(index + 1).padStart(6, '0')}.jpg`;
      const taken = start + index * step + 3600;
      await zip.add(`${folder}/${name}`, photoBytes(index, SMALL_PHOTO_SIZE, filler));
      await zip.add(`${folder}/${name}.json`, sidecarBytes(name, index, taken));
    }
    await zip.close();
    flushToDisk();
    const run = await runPhotoBackupArgs(
      [String(options.year), dir, '--takeout', archive, '--json'],
      options.work,
    );
    const summary = jsonEvents(run.stdout).find((event) => event.type === 'summary')?.summary as
      | { saved?: number }
      | undefined;
    if (run.code !== 0 || summary?.saved !== photos) {
      throw new Error(
        `photo-backup --takeout saved ${String(summary?.saved)} of ${photos} (exit ${run.code}):\n${run.stderr.slice(-2000)}`,
      );
    }
    const peak = run.peakRss / (1024 * 1024);
    const perEntry = (run.ms * 1000) / (photos * 2);
    return {
      figure,
      unit: 'MB',
      photoBackup: Math.round(peak * 10) / 10,
      baseline: null,
      ratio: null,
      target: `≤ ${ENTRIES_LIMIT_MB} MB`,
      pass: peak <= ENTRIES_LIMIT_MB,
      note: `${Math.round(perEntry)} µs per entry, ${Math.round(run.ms / 100) / 10} s for the run (${photos.toLocaleString('en')} saved)`,
    };
  } finally {
    await truncate(archive, 0).catch(() => undefined);
    await emptyOutput(dir).catch(() => undefined);
  }
}
