/**
 * Writes the small sample Takeout shipped in test/fixtures/sample-takeout (an extracted folder),
 * so `photo-backup 2024 out --takeout test/fixtures/sample-takeout` has something real to show.
 * Deterministic: running it again gives the same bytes (a test checks the committed copy).
 *
 *   node --import tsx test/helpers/takeout-sample.ts [folder]
 */

import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeAlbumJson, makeJpeg, makeSidecar } from './takeout-builder.ts';

export interface SampleFile {
  path: string;
  data: Buffer | string;
}

const ROOT = 'Takeout/Google Photos';
const YEAR = `${ROOT}/Photos from 2024`;

/** A minimal MP4 header (an `ftyp` box), standing in for a Live Photo's video part. */
function tinyMp4(label: string): Buffer {
  const ftyp = Buffer.from('\0\0\0\x18ftypmp42\0\0\0\0mp42isom', 'latin1');
  const free = Buffer.from(`free${label}`, 'latin1');
  const size = Buffer.alloc(4);
  size.writeUInt32BE(free.length + 4);
  return Buffer.concat([ftyp, size, free]);
}

export function sampleTakeoutFiles(): SampleFile[] {
  const lake = makeJpeg({ dateTimeOriginal: '2024:07:20 18:42:05', offsetTimeOriginal: '+02:00', shade: 80 });
  return [
    { path: 'Takeout/archive_browser.html', data: '<!doctype html><title>Takeout</title>\n' },
    // New-style sidecar name (2024+), EXIF with its offset.
    {
      path: `${YEAR}/IMG_20240105_093000.jpg`,
      data: makeJpeg({ dateTimeOriginal: '2024:01:05 09:30:00', offsetTimeOriginal: '+01:00', shade: 100 }),
    },
    {
      path: `${YEAR}/IMG_20240105_093000.jpg.supplemental-metadata.json`,
      data: makeSidecar({ title: 'IMG_20240105_093000.jpg', photoTakenTime: '1704443400' }),
    },
    // Pixel: the name is UTC; old-style sidecar name.
    {
      path: `${YEAR}/PXL_20240214_183000123.jpg`,
      data: makeJpeg({ dateTimeOriginal: '2024:02:14 19:30:00', shade: -90 }),
    },
    {
      path: `${YEAR}/PXL_20240214_183000123.jpg.json`,
      data: makeSidecar({
        title: 'PXL_20240214_183000123.jpg',
        photoTakenTime: '1707935400',
        favorited: true,
      }),
    },
    // A photo with a place, its edited copy (no sidecar of its own) and an album copy.
    { path: `${YEAR}/IMG_0420.jpg`, data: lake },
    {
      path: `${YEAR}/IMG_0420.jpg.supplemental-metadata.json`,
      data: makeSidecar({
        title: 'IMG_0420.jpg',
        photoTakenTime: '1721493725',
        description: 'Evening at the lake',
        geoDataExif: { latitude: 47.5596, longitude: 7.5886, altitude: 260 },
      }),
    },
    {
      path: `${YEAR}/IMG_0420-edited.jpg`,
      data: makeJpeg({ comment: 'edited in Google Photos', shade: 110 }),
    },
    // A Live Photo: the still has the sidecar, the video part borrows it.
    {
      path: `${YEAR}/IMG_0777.jpg`,
      data: makeJpeg({ dateTimeOriginal: '2024:08:03 14:05:10', offsetTimeOriginal: '+02:00', shade: -70 }),
    },
    {
      path: `${YEAR}/IMG_0777.jpg.json`,
      data: makeSidecar({ title: 'IMG_0777.jpg', photoTakenTime: '1722686710' }),
    },
    { path: `${YEAR}/IMG_0777.MP4`, data: tinyMp4('IMG_0777 live photo video') },
    // Two different photos with the same name: the second is (1), with its sidecar index moved.
    { path: `${YEAR}/IMG_0500.jpg`, data: makeJpeg({ dateTimeOriginal: '2024:09:10 10:00:00', shade: 75 }) },
    {
      path: `${YEAR}/IMG_0500.jpg.json`,
      data: makeSidecar({ title: 'IMG_0500.jpg', photoTakenTime: '1725955200' }),
    },
    {
      path: `${YEAR}/IMG_0500(1).jpg`,
      data: makeJpeg({ dateTimeOriginal: '2024:10:11 13:00:00', shade: -100 }),
    },
    {
      path: `${YEAR}/IMG_0500.jpg(1).json`,
      data: makeSidecar({ title: 'IMG_0500.jpg', photoTakenTime: '1728644400' }),
    },
    // No sidecar: dated by EXIF alone (a wall clock, so --timezone decides its instant).
    { path: `${YEAR}/DSC_0001.jpg`, data: makeJpeg({ dateTimeOriginal: '2024:12:24 20:15:00', shade: 90 }) },
    // Taken on New Year's Eve 2023: not part of a 2024 backup.
    {
      path: `${ROOT}/Photos from 2023/IMG_1231.jpg`,
      data: makeJpeg({ dateTimeOriginal: '2023:12:31 23:30:00', offsetTimeOriginal: '+01:00', shade: -80 }),
    },
    {
      path: `${ROOT}/Photos from 2023/IMG_1231.jpg.json`,
      data: makeSidecar({ title: 'IMG_1231.jpg', photoTakenTime: '1704061800' }),
    },
    { path: `${ROOT}/Summer trip/metadata.json`, data: makeAlbumJson('Summer trip') },
    { path: `${ROOT}/Summer trip/IMG_0420.jpg`, data: lake },
    {
      path: `${ROOT}/Summer trip/IMG_0420.jpg.supplemental-metadata.json`,
      data: makeSidecar({ title: 'IMG_0420.jpg', photoTakenTime: '1721493725' }),
    },
    // In the trash: left out unless asked for.
    {
      path: `${ROOT}/Trash/IMG_0999.jpg`,
      data: makeJpeg({ dateTimeOriginal: '2024:05:05 05:05:05', shade: 120 }),
    },
    {
      path: `${ROOT}/Trash/IMG_0999.jpg.json`,
      data: makeSidecar({ title: 'IMG_0999.jpg', photoTakenTime: '1714885505', trashed: true }),
    },
  ];
}

export async function writeSampleTakeout(folder: string): Promise<void> {
  await rm(folder, { recursive: true, force: true });
  for (const file of sampleTakeoutFiles()) {
    const target = path.join(folder, ...file.path.split('/'));
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, file.data);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const folder = process.argv[2] ?? path.join(here, '..', 'fixtures', 'sample-takeout');
  await writeSampleTakeout(folder);
  console.log(`Sample Takeout written to ${folder}`);
}
