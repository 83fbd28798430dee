/**
 * The emulator in its own process with one five-year Takeout export in its Drive: every year's
 * photos (and a few large videos) with their sidecars and each year folder's metadata.json, split
 * into zip parts of about `--part-bytes`, so photos and sidecars land in different parts. It also
 * writes the plan of what one year needs (`--plan FILE`): the byte ranges of that year's media,
 * its sidecars and the album metadata.json files, and each part's central directory. The Drive
 * figures compare photo-backup's bytes and time with plain GETs of exactly those ranges.
 *
 *   node --import tsx bench/emulator-drive.ts --last 2024 --photos 80 --photo-size 400000 \
 *     --videos 2 --video-size 40000000 --part-bytes 50000000 --plan plan.json
 *
 * Prints one JSON line when ready ({ url, driveUrl, items, parts }) and closes on SIGTERM.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { RandomAccessReader } from '../src/sources/random-access.ts';
import { readZipDirectory, zipEntryDataOffset } from '../src/sources/takeout/formats/zip-reader.ts';
import { putTakeoutExports } from '../test/support/emulator/drive-takeout.ts';
import { type EmulatorItem, generateItems, startEmulator } from '../test/support/emulator/index.ts';

const YEARS = 5;

export interface DrivePlanRange {
  fileId: string;
  /** What the bytes are: `directory`, `media`, `sidecar` or `album`. */
  kind: 'directory' | 'media' | 'sidecar' | 'album';
  name: string;
  /** Inclusive byte range in the part. */
  start: number;
  end: number;
}

export interface DrivePlan {
  year: number;
  parts: number;
  /** Bytes of each kind the year needs. */
  bytes: Record<DrivePlanRange['kind'], number>;
  /** Photos and videos of the year (what a run saves). */
  media: number;
  ranges: DrivePlanRange[];
}

function memoryReader(content: Buffer): RandomAccessReader {
  return {
    size: content.length,
    read: async (position, length) => content.subarray(position, Math.min(content.length, position + length)),
    stream: async function* (start, end) {
      yield content.subarray(start, end + 1);
    },
    close: async () => undefined,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      last: { type: 'string' },
      photos: { type: 'string' },
      'photo-size': { type: 'string' },
      videos: { type: 'string', default: '0' },
      'video-size': { type: 'string', default: '0' },
      'part-bytes': { type: 'string' },
      plan: { type: 'string' },
    },
  });
  const last = Number(values.last);
  const photos = Number(values.photos);
  const videos = Number(values.videos);
  const count = photos + videos;
  const items: EmulatorItem[] = [];
  for (let year = last - YEARS + 1; year <= last; year++) {
    // Videos spread through the year: every (count / videos)th item.
    const videoEvery = videos > 0 ? Math.floor(count / videos) : 0;
    items.push(
      ...generateItems({
        year,
        count,
        photoSize: Number(values['photo-size']),
        videoSize: Number(values['video-size']),
        videoEvery,
        seed: year,
      }),
    );
  }
  // The PROCESSING video the generator keeps back is a Library API matter: a Takeout holds it.
  for (const item of items) if (item.kind === 'video') item.videoStatus = 'READY';
  items.sort((a, b) => Date.parse(a.creationTime) - Date.parse(b.creationTime));
  const emulator = await startEmulator({ items, admin: true });
  const { exports } = putTakeoutExports(
    emulator,
    [{ time: new Date(Date.UTC(last + 1, 0, 2, 3)), items: emulator.items }],
    { partBytes: Number(values['part-bytes']) },
  );
  const plan: DrivePlan = {
    year: last,
    parts: 0,
    bytes: { directory: 0, media: 0, sidecar: 0, album: 0 },
    media: 0,
    ranges: [],
  };
  const yearFolder = `Takeout/Google Photos/Photos from ${last}/`;
  for (const part of exports.flatMap((found) => found.parts)) {
    const content = part.content as Buffer;
    const reader = memoryReader(content);
    const entries = await readZipDirectory(reader);
    plan.parts++;
    // From the central directory to the end: the directory and the end record (no comment, no
    // ZIP64 in these parts, so the end record is the last 22 bytes and names the offset).
    const directoryAt = content.readUInt32LE(content.length - 22 + 16);
    plan.ranges.push({
      fileId: part.id,
      kind: 'directory',
      name: part.name,
      start: directoryAt,
      end: content.length - 1,
    });
    for (const entry of entries) {
      const album = entry.name.endsWith('/metadata.json');
      if (!album && !entry.name.startsWith(yearFolder)) continue;
      const kind = album ? 'album' : entry.name.endsWith('.json') ? 'sidecar' : 'media';
      if (kind === 'media') plan.media++;
      const start = await zipEntryDataOffset(reader, entry);
      plan.ranges.push({
        fileId: part.id,
        kind,
        name: entry.name,
        start,
        end: start + entry.compressedSize - 1,
      });
    }
  }
  for (const range of plan.ranges) plan.bytes[range.kind] += range.end - range.start + 1;
  if (values.plan) await writeFile(values.plan, JSON.stringify(plan));
  process.stdout.write(
    `${JSON.stringify({
      url: emulator.url,
      libraryUrl: emulator.libraryUrl,
      driveUrl: emulator.driveUrl,
      items: emulator.items.length,
      parts: plan.parts,
    })}\n`,
  );
  const shutdown = () => {
    emulator.close().catch(() => undefined);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`emulator-drive: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
});
