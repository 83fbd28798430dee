/**
 * Dates from every file a camera makes: each layout below is one a real camera, phone or tool
 * writes and that a head-only reader missed. Built byte by byte (test/helpers/camera-files.ts);
 * exiftool reads the same dates from them.
 */

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  type ExifCapture,
  guessDateFromPath,
  resolveCaptureDate,
} from '../../../src/sources/takeout/dates.ts';
import {
  type ByteReader,
  bufferReader,
  holdHead,
  reopeningReader,
  streamReader,
} from '../../../src/sources/takeout/formats/byte-readers.ts';
import { readMediaDate } from '../../../src/sources/takeout/formats/media-dates.ts';
import { createTakeoutSource } from '../../../src/sources/takeout/index.ts';
import {
  iccSegments,
  makeLayeredJpeg,
  makePng,
  makeTiff,
  makeWebp,
  photoshopSegment,
  TAG,
  xmpSegment,
} from '../../helpers/camera-files.ts';
import {
  type ArchiveEntry,
  buildTgz,
  buildZip,
  makeHeic,
  makeJpeg,
  makeMp4,
  makeSidecar,
  quickTimeSeconds,
} from '../../helpers/takeout-builder.ts';

interface Dated {
  takenAt?: string;
  offset?: number;
  source: string;
}

/** What a capture resolves to with no sidecar, in a zone that differs from UTC and from the files. */
function resolved(capture: ExifCapture | undefined): Dated | undefined {
  if (!capture) return undefined;
  const date = resolveCaptureDate({ exif: capture, timeZone: 'Asia/Tokyo' });
  const result: Dated = { source: date.dateSource };
  if (date.takenAt) result.takenAt = date.takenAt.toISOString();
  if (date.utcOffsetMinutes !== undefined) result.offset = date.utcOffsetMinutes;
  return result;
}

const WALL = '2024:03:17 10:22:05';
const ANDROID_UTC = new Date('2024-03-17T22:22:05Z');
const dated = { [TAG.dateTimeOriginal]: WALL, [TAG.offsetTimeOriginal]: '+01:00' };
const withOffset: Dated = { takenAt: '2024-03-17T09:22:05.000Z', offset: 60, source: 'exif' };
/** 10:22:05 read in Asia/Tokyo. */
const zoneless: Dated = { takenAt: '2024-03-17T01:22:05.000Z', source: 'exif' };

const cases: Array<{ name: string; bytes: Buffer; expected: Dated | undefined }> = [
  {
    name: 'JPEG: EXIF after a 200 KB APP2 ICC profile (past a 128 KiB head)',
    bytes: makeLayeredJpeg(iccSegments(200_000), makeTiff({ exif: dated })),
    expected: withOffset,
  },
  {
    name: 'JPEG: EXIF after XMP (APP1) and a 150 KB Photoshop block (APP13)',
    bytes: makeLayeredJpeg(
      [xmpSegment(), photoshopSegment(60_000), photoshopSegment(60_000), photoshopSegment(30_000)],
      makeTiff({ magic: 'MM*', exif: dated }),
    ),
    expected: withOffset,
  },
  {
    name: 'JPEG: big ICC profile and no EXIF at all',
    bytes: makeLayeredJpeg(iccSegments(200_000), undefined),
    expected: undefined,
  },
  {
    name: 'DNG: Exif IFD after a 300 KB preview',
    bytes: makeTiff({ exif: dated, exifIfdAt: 300_000, size: 400_000 }),
    expected: withOffset,
  },
  {
    name: 'NEF (big-endian): Exif IFD at 200 KB',
    bytes: makeTiff({
      magic: 'MM*',
      exif: { [TAG.dateTimeOriginal]: WALL },
      exifIfdAt: 200_000,
      size: 250_000,
    }),
    expected: zoneless,
  },
  {
    name: 'CR2: IFD0 at 0x10 behind the CR header',
    bytes: makeTiff({
      ifd0At: 0x10,
      afterHeader: Buffer.from([0x43, 0x52, 2, 0, 0, 0, 0, 0]),
      exif: dated,
      exifIfdAt: 150_000,
      size: 160_000,
    }),
    expected: withOffset,
  },
  {
    name: 'ARW: Exif pointer written with type IFD (13)',
    bytes: makeTiff({ exif: dated, pointerTypeIfd: true }),
    expected: withOffset,
  },
  { name: 'ORF: IIRO magic', bytes: makeTiff({ magic: 'IIRO', exif: dated }), expected: withOffset },
  { name: 'ORF: IIRS magic', bytes: makeTiff({ magic: 'IIRS', exif: dated }), expected: withOffset },
  { name: 'ORF: MMOR magic', bytes: makeTiff({ magic: 'MMOR', exif: dated }), expected: withOffset },
  {
    name: 'RW2: IIU magic, IFD0 at 0x18',
    bytes: makeTiff({ magic: 'IIU', ifd0At: 0x18, exif: dated, exifIfdAt: 140_000, size: 150_000 }),
    expected: withOffset,
  },
  {
    name: 'TIFF (libtiff layout): IFD0 at the end, the Exif IFD before it',
    bytes: makeTiff({ ifd0At: 190_000, exif: dated, exifIfdAt: 180_000, size: 200_000 }),
    expected: withOffset,
  },
  { name: 'PNG: eXIf before IDAT', bytes: makePng(makeTiff({ exif: dated })), expected: withOffset },
  {
    name: 'PNG: eXIf after IDAT, behind text chunks',
    bytes: makePng(makeTiff({ magic: 'MM*', exif: dated }), { exifAfterIdat: true, textChunks: 50 }),
    expected: withOffset,
  },
  { name: 'PNG without eXIf', bytes: makePng(undefined), expected: undefined },
  {
    name: 'WebP: EXIF chunk after the image',
    bytes: makeWebp(makeTiff({ exif: dated })),
    expected: withOffset,
  },
  {
    name: 'WebP: EXIF chunk with a JPEG-style Exif\\0\\0 prefix, odd-sized image chunk',
    bytes: makeWebp(makeTiff({ exif: dated }), { exifPrefix: true, imageBytes: 1001 }),
    expected: withOffset,
  },
  { name: 'WebP without EXIF', bytes: makeWebp(undefined), expected: undefined },
  {
    name: 'scanner JPEG: only CreateDate (DateTimeDigitized) with OffsetTimeDigitized',
    bytes: makeLayeredJpeg(
      [],
      makeTiff({ exif: { [TAG.createDate]: WALL, [TAG.offsetTimeDigitized]: '+01:00' } }),
    ),
    expected: withOffset,
  },
  {
    name: 'scanner TIFF: only CreateDate, no offset',
    bytes: makeTiff({ exif: { [TAG.createDate]: WALL } }),
    expected: zoneless,
  },
  {
    name: 'a placeholder DateTimeOriginal gives way to CreateDate',
    bytes: makeTiff({ exif: { [TAG.dateTimeOriginal]: '0000:00:00 00:00:00', [TAG.createDate]: WALL } }),
    expected: zoneless,
  },
  {
    name: 'raw with a placeholder DateTimeOriginal, CreateDate and both offsets far into the file',
    bytes: makeTiff({
      exif: {
        [TAG.dateTimeOriginal]: '0000:00:00 00:00:00',
        [TAG.createDate]: WALL,
        [TAG.offsetTimeOriginal]: '+09:00',
        [TAG.offsetTimeDigitized]: '+01:00',
      },
      exifIfdAt: 300_000,
      size: 310_000,
    }),
    expected: withOffset,
  },
  {
    name: 'DateTimeOriginal wins over CreateDate',
    bytes: makeTiff({ exif: { ...dated, [TAG.createDate]: '2020:01:01 00:00:00' } }),
    expected: withOffset,
  },
  {
    name: 'TIFF with the date tags in IFD0 (no Exif IFD)',
    bytes: makeTiff({ ifd0: { [TAG.dateTimeOriginal]: WALL } }),
    expected: zoneless,
  },
  {
    name: 'ModifyDate (IFD0 DateTime) alone is not a capture date',
    bytes: makeTiff({ ifd0: { [TAG.dateTime]: WALL } }),
    expected: undefined,
  },
  {
    name: 'Samsung HEIC: meta after mdat',
    bytes: makeHeic({
      dateTimeOriginal: WALL,
      offsetTimeOriginal: '+01:00',
      metaAfterMdat: true,
      imageBytes: 300_000,
    }),
    expected: withOffset,
  },
  {
    name: 'Android MP4: mvhd in UTC and a classic udta ©day with its offset',
    bytes: makeMp4({ creationTime: quickTimeSeconds(ANDROID_UTC), classicDay: '2024-03-17T23:22:05+0100' }),
    expected: { takenAt: '2024-03-17T22:22:05.000Z', offset: 60, source: 'exif' },
  },
];

for (const { name, bytes, expected } of cases) {
  test(`camera file date: ${name}`, async () => {
    assert.deepEqual(resolved(await readMediaDate(bufferReader(bytes))), expected);
  });
}

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

test('camera file dates read forward-only: a tgz entry (head held) and a deflated zip entry (read again)', async () => {
  // The libtiff layout points back past the held head: only a reader that can start again finds it.
  const backwards = new Set(['TIFF (libtiff layout): IFD0 at the end, the Exif IFD before it']);
  for (const { name, bytes, expected } of cases) {
    const held = holdHead(streamReader(chunked(bytes, 4096), bytes.length), 128 * 1024);
    const heif = name.includes('HEIC')
      ? holdHead(streamReader(chunked(bytes, 4096), bytes.length), 1 << 25)
      : held;
    const again = reopeningReader(() => chunked(bytes, 4096), bytes.length);
    assert.deepEqual(
      resolved(await readMediaDate(heif)),
      backwards.has(name) ? undefined : expected,
      `${name}, forward-only`,
    );
    assert.deepEqual(resolved(await readMediaDate(again)), expected, `${name}, read again`);
    await held.close();
    await heif.close();
    await again.close();
  }
});

/** Counts what a parser asks for. */
function countingReader(bytes: Uint8Array): ByteReader & { bytesRead: number } {
  const inner = bufferReader(bytes);
  const counter = {
    size: inner.size,
    bytesRead: 0,
    async read(offset: number, length: number) {
      const result = await inner.read(offset, length);
      counter.bytesRead += result.length;
      return result;
    },
  };
  return counter;
}

test('JPEG segments and raw IFDs are reached by their offsets, not read through', async () => {
  const jpeg = countingReader(makeLayeredJpeg(iccSegments(400_000), makeTiff({ exif: dated })));
  assert.deepEqual(resolved(await readMediaDate(jpeg)), withOffset);
  assert.ok(jpeg.bytesRead < 4096, `JPEG: read ${jpeg.bytesRead} bytes`);
  const raw = countingReader(makeTiff({ exif: dated, exifIfdAt: 5_000_000, size: 6_000_000 }));
  assert.deepEqual(resolved(await readMediaDate(raw)), withOffset);
  assert.ok(raw.bytesRead < 1024, `raw: read ${raw.bytesRead} bytes`);
});

const brokenCases: Array<{ name: string; bytes: Buffer }> = [
  {
    name: 'JPEG cut inside a big APP2',
    bytes: makeLayeredJpeg(iccSegments(200_000), makeTiff({ exif: dated })).subarray(0, 100_000),
  },
  {
    name: 'TIFF whose Exif pointer is past the end',
    bytes: makeTiff({ exif: dated, exifIfdAt: 300_000, size: 400_000 }).subarray(0, 200_000),
  },
  { name: 'PNG signature only', bytes: Buffer.from('\x89PNG\r\n\x1a\n', 'latin1') },
  {
    name: 'PNG eXIf chunk claiming 2 GB',
    bytes: (() => {
      const png = makePng(makeTiff({ exif: dated }));
      png.writeUInt32BE(0x7fffffff, png.indexOf('eXIf', 0, 'latin1') - 4);
      return png;
    })(),
  },
  { name: 'WebP header only', bytes: Buffer.from('RIFF\x04\0\0\0WEBP', 'latin1') },
];

for (const { name, bytes } of brokenCases) {
  test(`camera file, broken: ${name} is undated without throwing`, async () => {
    assert.equal(await readMediaDate(bufferReader(bytes)), undefined);
  });
}

// ---------------------------------------------------------------------------------------------
// Phone burst names with Unix milliseconds

const nameCases: Array<{ name: string; expected: string | undefined }> = [
  { name: 'IMG_1710670925123.jpg', expected: '2024-03-17T10:22:05.000Z' },
  { name: 'burst_1710670925123_COVER.jpg', expected: '2024-03-17T10:22:05.000Z' },
  { name: 'BURST1710670925123.jpg', expected: '2024-03-17T10:22:05.000Z' },
  { name: 'VID_1710670925123.mp4', expected: '2024-03-17T10:22:05.000Z' },
  { name: 'FB_IMG_1710670925123.jpg', expected: '2024-03-17T10:22:05.000Z' },
  { name: 'Screenshot_1710670925123.png', expected: '2024-03-17T10:22:05.000Z' },
  // An id that only looks like one (no camera prefix) stays undated, as before.
  { name: '1581270440551-d356c6b2-6178-49af-bcdf-b308a5b4b.jpg', expected: undefined },
  // Outside 2000–2100: not a capture time.
  { name: 'IMG_4102444800000.jpg', expected: undefined },
  { name: 'IMG_9999999999999.jpg', expected: undefined },
  // More than 13 digits is an id.
  { name: 'IMG_17106709251234.jpg', expected: undefined },
  // A date name keeps its own reading.
  { name: 'IMG_20240317_102205.jpg', expected: '2024-03-17T01:22:05.000Z' },
];

for (const { name, expected } of nameCases) {
  test(`file name date, Unix milliseconds: ${name} → ${expected}`, () => {
    const guess = guessDateFromPath(`Photos from 2024/${name}`);
    const date = resolveCaptureDate({ ...(guess ? { fileName: guess } : {}), timeZone: 'Asia/Tokyo' });
    assert.equal(date.takenAt?.toISOString(), expected);
  });
}

// ---------------------------------------------------------------------------------------------
// End to end: every input kind

const PHOTOS = 'Takeout/Google Photos/Photos from 2024';

function cameraEntries(): ArchiveEntry[] {
  return [
    { name: `${PHOTOS}/ICC.jpg`, data: makeLayeredJpeg(iccSegments(200_000), makeTiff({ exif: dated })) },
    { name: `${PHOTOS}/RAW.DNG`, data: makeTiff({ exif: dated, exifIfdAt: 300_000, size: 400_000 }) },
    { name: `${PHOTOS}/P1010001.ORF`, data: makeTiff({ magic: 'IIRO', exif: dated }) },
    { name: `${PHOTOS}/P1000001.RW2`, data: makeTiff({ magic: 'IIU', ifd0At: 0x18, exif: dated }) },
    {
      name: `${PHOTOS}/20240317_102205.heic`,
      data: makeHeic({
        dateTimeOriginal: WALL,
        offsetTimeOriginal: '+01:00',
        metaAfterMdat: true,
        imageBytes: 300_000,
      }),
    },
    { name: `${PHOTOS}/SCREEN.png`, data: makePng(makeTiff({ exif: dated }), { exifAfterIdat: true }) },
    { name: `${PHOTOS}/STICKER.webp`, data: makeWebp(makeTiff({ exif: dated })) },
    {
      name: `${PHOTOS}/SCAN0001.jpg`,
      data: makeLayeredJpeg(
        [],
        makeTiff({ exif: { [TAG.createDate]: WALL, [TAG.offsetTimeDigitized]: '+01:00' } }),
      ),
    },
    // Android: mvhd in UTC and a local ©day with its offset; the offset picks the day (17, not Tokyo's 18).
    {
      name: `${PHOTOS}/VID_20240317_232205.mp4`,
      data: makeMp4({ creationTime: quickTimeSeconds(ANDROID_UTC), classicDay: '2024-03-17T23:22:05+0100' }),
    },
    { name: `${PHOTOS}/IMG_1710670925123.jpg`, data: makeJpeg() },
    // Content wins over the name.
    {
      name: `${PHOTOS}/burst_1600000000000_COVER.jpg`,
      data: makeJpeg({ dateTimeOriginal: WALL, offsetTimeOriginal: '+01:00' }),
    },
    // One sidecar, so the tree is found by its sidecars as before.
    { name: `${PHOTOS}/WITH_SIDECAR.jpg`, data: makeJpeg({ comment: 'x' }) },
    {
      name: `${PHOTOS}/WITH_SIDECAR.jpg.json`,
      data: makeSidecar({ title: 'WITH_SIDECAR.jpg', photoTakenTime: '1710670925' }),
    },
  ];
}

const expectedItems: Record<string, Dated> = {
  'ICC.jpg': withOffset,
  'RAW.DNG': withOffset,
  'P1010001.ORF': withOffset,
  'P1000001.RW2': withOffset,
  '20240317_102205.heic': withOffset,
  'SCREEN.png': withOffset,
  'STICKER.webp': withOffset,
  'SCAN0001.jpg': withOffset,
  'VID_20240317_232205.mp4': { takenAt: '2024-03-17T22:22:05.000Z', offset: 60, source: 'exif' },
  'IMG_1710670925123.jpg': { takenAt: '2024-03-17T10:22:05.000Z', source: 'filename' },
  'burst_1600000000000_COVER.jpg': withOffset,
  'WITH_SIDECAR.jpg': { takenAt: '2024-03-17T10:22:05.000Z', source: 'sidecar' },
};

async function withTempDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'takeout-camera-dates-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function listDates(input: string) {
  const warnings: string[] = [];
  const source = createTakeoutSource({
    inputs: [input],
    timeZone: 'Asia/Tokyo',
    onWarning: (message) => warnings.push(message),
  });
  const found: Record<string, Dated> = {};
  const signal = new AbortController().signal;
  for await (const listed of source.list(signal)) {
    const item = (await listed.resolve?.(signal)) ?? listed;
    const entry: Dated = { source: item.dateSource };
    if (item.takenAt) entry.takenAt = item.takenAt.toISOString();
    if (item.utcOffsetMinutes !== undefined) entry.offset = item.utcOffsetMinutes;
    found[item.filename] = entry;
  }
  await source.close?.();
  return { found, warnings, problems: source.problems() };
}

async function writeFolder(dir: string, entries: readonly ArchiveEntry[]): Promise<string> {
  for (const entry of entries) {
    const file = path.join(dir, 'extracted', entry.name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, entry.data);
  }
  return path.join(dir, 'extracted');
}

const inputKinds: Array<{ kind: string; write: (dir: string, entries: ArchiveEntry[]) => Promise<string> }> =
  [
    {
      kind: 'zip, deflated entries',
      write: async (dir, entries) => {
        const file = path.join(dir, 'takeout-20250101T000000Z-001.zip');
        await writeFile(file, buildZip(entries));
        return file;
      },
    },
    {
      kind: 'zip, stored entries',
      write: async (dir, entries) => {
        const file = path.join(dir, 'takeout-20250101T000000Z-001.zip');
        await writeFile(file, buildZip(entries.map((entry) => ({ ...entry, method: 'store' as const }))));
        return file;
      },
    },
    {
      kind: 'tgz',
      write: async (dir, entries) => {
        const file = path.join(dir, 'takeout-20250101T000000Z-001.tgz');
        await writeFile(file, buildTgz(entries));
        return file;
      },
    },
    { kind: 'extracted folder', write: writeFolder },
  ];

for (const { kind, write } of inputKinds) {
  test(`createTakeoutSource dates every camera layout from its contents: ${kind}`, async () => {
    await withTempDir(async (dir) => {
      const { found, problems } = await listDates(await write(dir, cameraEntries()));
      assert.deepEqual(problems, []);
      assert.deepEqual(found, expectedItems);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// A Takeout with its sidecars removed, and NAS/desktop leftovers saved beside the photos

const photo = makeJpeg({ dateTimeOriginal: WALL, offsetTimeOriginal: '+01:00' });
const thumbnail = makeJpeg({ dateTimeOriginal: WALL, comment: 'thumbnail' });

function leftoverEntries(): ArchiveEntry[] {
  return [
    // Synology DSM: one @eaDir per folder, one subfolder per photo.
    { name: `${PHOTOS}/@eaDir/IMG_0001.jpg/SYNOFILE_THUMB_XL.jpg`, data: thumbnail },
    { name: `${PHOTOS}/@eaDir/IMG_0001.jpg/SYNOFILE_THUMB_M.jpg`, data: thumbnail },
    { name: 'Takeout/Google Photos/@eaDir/Photos from 2024/SYNOINDEX_MEDIA_INFO', data: 'x' },
    // QNAP QTS.
    { name: `${PHOTOS}/.@__thumb/s100IMG_0001.jpg`, data: thumbnail },
    // Windows, macOS.
    { name: `${PHOTOS}/Thumbs.db`, data: Buffer.alloc(512, 1) },
    { name: `${PHOTOS}/desktop.ini`, data: '[.ShellClassInfo]\r\n' },
    { name: `${PHOTOS}/.DS_Store`, data: Buffer.alloc(64, 2) },
    { name: `${PHOTOS}/._IMG_0001.jpg`, data: Buffer.alloc(82, 3) },
    { name: `__MACOSX/${PHOTOS}/._IMG_0001.jpg`, data: Buffer.alloc(82, 3) },
  ];
}

const sidecarFree: Array<{ kind: string; write: (dir: string, entries: ArchiveEntry[]) => Promise<string> }> =
  [
    inputKinds[0] as (typeof inputKinds)[number],
    inputKinds[2] as (typeof inputKinds)[number],
    inputKinds[3] as (typeof inputKinds)[number],
  ];

for (const { kind, write } of sidecarFree) {
  test(`a Takeout whose sidecars were all removed is found by its folders and dated by content: ${kind}`, async () => {
    await withTempDir(async (dir) => {
      const entries: ArchiveEntry[] = [
        { name: `${PHOTOS}/IMG_0001.jpg`, data: photo },
        { name: `${PHOTOS}/IMG_1710670925123.jpg`, data: makeJpeg({ comment: 'named' }) },
        {
          name: 'Takeout/Google Photos/Trip to Rome/IMG_0002.jpg',
          data: makeJpeg({ ...{ dateTimeOriginal: WALL }, comment: 'r' }),
        },
        // Drive files beside Photos are not photos of the library.
        { name: 'Takeout/Drive/notes.jpg', data: makeJpeg({ comment: 'drive' }) },
      ];
      const { found, warnings, problems } = await listDates(await write(dir, entries));
      assert.deepEqual(problems, []);
      assert.deepEqual(found, {
        'IMG_0001.jpg': withOffset,
        'IMG_1710670925123.jpg': { takenAt: '2024-03-17T10:22:05.000Z', source: 'filename' },
        'IMG_0002.jpg': zoneless,
      });
      assert.ok(
        warnings.some((warning) => /No JSON sidecars/.test(warning)),
        warnings.join('\n'),
      );
    });
  });
}

test('a Takeout folder under an unknown (localized) name is found by its year folders', async () => {
  await withTempDir(async (dir) => {
    const input = await writeFolder(dir, [
      { name: 'Takeout/Zdjęcia Google/Zdjęcia z 2024/IMG_0001.jpg', data: photo },
    ]);
    const { found } = await listDates(input);
    assert.deepEqual(found, { 'IMG_0001.jpg': withOffset });
  });
});

for (const { kind, write } of inputKinds) {
  test(`NAS and desktop leftovers inside a Takeout are ignored, with one notice: ${kind}`, async () => {
    await withTempDir(async (dir) => {
      const entries: ArchiveEntry[] = [
        { name: `${PHOTOS}/IMG_0001.jpg`, data: photo },
        {
          name: `${PHOTOS}/IMG_0001.jpg.json`,
          data: makeSidecar({ title: 'IMG_0001.jpg', photoTakenTime: '1710670925' }),
        },
        ...leftoverEntries(),
      ];
      const { found, warnings, problems } = await listDates(await write(dir, entries));
      assert.deepEqual(problems, []);
      assert.deepEqual(Object.keys(found), ['IMG_0001.jpg']);
      const notices = warnings.filter((warning) => /leftover/.test(warning));
      assert.equal(notices.length, 1, warnings.join('\n'));
      assert.match(notices[0] as string, /^9 NAS or desktop leftover files ignored/);
    });
  });
}
