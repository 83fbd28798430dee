/**
 * Capture dates read from HEIC/AVIF and MP4/MOV containers (src/sources/takeout/formats/media-dates.ts and quicktime-dates.ts):
 * one table of files (good, broken, partial) → resolved date, run by one loop; then read costs,
 * the stream reader, QuickTime date text, and createTakeoutSource over each kind of input.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { SourceItem } from '../../../src/sources/source.ts';
import { type ExifCapture, resolveCaptureDate } from '../../../src/sources/takeout/dates.ts';
import {
  type ByteReader,
  bufferReader,
  streamReader,
} from '../../../src/sources/takeout/formats/byte-readers.ts';
import { mayHaveMediaDate, readMediaDate } from '../../../src/sources/takeout/formats/media-dates.ts';
import {
  chooseMovieDate,
  mvhdCreated,
  parseMediaDateText,
} from '../../../src/sources/takeout/formats/quicktime-dates.ts';
import { createTakeoutSource } from '../../../src/sources/takeout/index.ts';
import {
  type ArchiveEntry,
  buildTgz,
  buildZip,
  isoBox,
  isoFullBox,
  makeHeic,
  makeJpeg,
  makeMp4,
  makeSidecar,
  quickTimeSeconds,
} from '../../helpers/takeout-builder.ts';

interface Dated {
  takenAt: string | undefined;
  offset: number | undefined;
  source: string;
}

/** What a capture resolves to with no sidecar, in a zone that differs from UTC. */
function resolved(capture: ExifCapture | undefined): Dated | undefined {
  if (!capture) return undefined;
  const date = resolveCaptureDate({ exif: capture, timeZone: 'Asia/Tokyo' });
  return { takenAt: date.takenAt?.toISOString(), offset: date.utcOffsetMinutes, source: date.dateSource };
}

const JULY = new Date('2024-07-20T16:30:00Z');
const heicDate = { dateTimeOriginal: '2024:07:20 18:30:00', offsetTimeOriginal: '+02:00' };
const heicExpected: Dated = { takenAt: '2024-07-20T16:30:00.000Z', offset: 120, source: 'exif' };
const mvhdExpected: Dated = { takenAt: '2024-07-20T16:30:00.000Z', offset: undefined, source: 'exif' };

const readCases: Array<{ name: string; bytes: Buffer; expected: ReturnType<typeof resolved> }> = [
  { name: 'HEIC, Exif item in mdat (iloc v0)', bytes: makeHeic(heicDate), expected: heicExpected },
  {
    name: 'HEIC, Exif item in idat (iloc v1, construction method 1)',
    bytes: makeHeic({ ...heicDate, exifIn: 'idat' }),
    expected: heicExpected,
  },
  {
    name: 'HEIC, iloc v2 with 8-byte offsets, lengths and base offset',
    bytes: makeHeic({ ...heicDate, ilocVersion: 2, offsetSize: 8, lengthSize: 8, baseOffsetSize: 8 }),
    expected: heicExpected,
  },
  {
    name: 'HEIC, iloc v1 with a 4-byte base offset and 0-byte extent offsets',
    bytes: makeHeic({ ...heicDate, ilocVersion: 1, offsetSize: 0, baseOffsetSize: 4 }),
    expected: heicExpected,
  },
  {
    name: 'HEIF, infe v3 (32-bit item ids), brand mif1',
    bytes: makeHeic({ ...heicDate, infeVersion: 3, ilocVersion: 2, brand: 'mif1' }),
    expected: heicExpected,
  },
  {
    name: 'AVIF, Exif payload with no Exif\\0\\0 before the TIFF header',
    bytes: makeHeic({ ...heicDate, brand: 'avif', bareTiff: true }),
    expected: heicExpected,
  },
  {
    name: 'HEIC without OffsetTimeOriginal: a wall clock read in the caller zone',
    bytes: makeHeic({ dateTimeOriginal: '2024:07:20 18:30:00' }),
    expected: { takenAt: '2024-07-20T09:30:00.000Z', offset: undefined, source: 'exif' },
  },
  {
    name: 'HEIC with 700 tile items listed before the Exif item',
    bytes: makeHeic({ ...heicDate, tileItems: 700 }),
    expected: heicExpected,
  },
  { name: 'HEIC with no Exif item', bytes: makeHeic({}), expected: undefined },
  {
    name: 'HEIC with a placeholder DateTimeOriginal',
    bytes: makeHeic({ dateTimeOriginal: '0000:00:00 00:00:00' }),
    expected: undefined,
  },
  {
    name: 'a JPEG named .HEIC is read as a JPEG',
    bytes: makeJpeg(heicDate),
    expected: heicExpected,
  },
  {
    name: 'MP4, mdat first, mvhd v0: UTC, no offset',
    bytes: makeMp4({ creationTime: quickTimeSeconds(JULY) }),
    expected: mvhdExpected,
  },
  {
    name: 'MP4, mvhd v1 (64-bit times)',
    bytes: makeMp4({ mvhdVersion: 1, creationTime: quickTimeSeconds(JULY) }),
    expected: mvhdExpected,
  },
  {
    name: 'MOV, moov first, brand qt',
    bytes: makeMp4({ brand: 'qt', moovFirst: true, creationTime: quickTimeSeconds(JULY) }),
    expected: mvhdExpected,
  },
  {
    name: 'MP4 with a 64-bit mdat size before moov',
    bytes: makeMp4({ largeMdat: true, creationTime: quickTimeSeconds(JULY) }),
    expected: mvhdExpected,
  },
  { name: 'mvhd creation_time 0 (the 1904 epoch) is a placeholder', bytes: makeMp4({}), expected: undefined },
  {
    name: 'mvhd creation_time 2082844800 (1970-01-01) is a placeholder',
    bytes: makeMp4({ creationTime: 2_082_844_800 }),
    expected: undefined,
  },
  {
    name: 'mvhd holding a Unix time (reads as 1958) is not a date',
    bytes: makeMp4({ creationTime: Math.floor(JULY.getTime() / 1000) }),
    expected: undefined,
  },
  {
    name: '©day with an offset wins over mvhd',
    bytes: makeMp4({ creationTime: quickTimeSeconds(JULY), day: '2024-07-20T18:30:00+0200' }),
    expected: heicExpected,
  },
  {
    name: '©day alone, offset with a colon',
    bytes: makeMp4({ day: '2024-07-20T18:30:00+02:00' }),
    expected: heicExpected,
  },
  {
    name: 'classic udta ©day',
    bytes: makeMp4({ classicDay: '2024-07-20T18:30:00+0200', creationTime: quickTimeSeconds(JULY) }),
    expected: heicExpected,
  },
  {
    name: 'Apple creationdate wins over ©day',
    bytes: makeMp4({
      appleCreationDate: '2024-07-20T18:30:00+0200',
      day: '2024-07-21T09:00:00+0900',
      creationTime: quickTimeSeconds(JULY),
    }),
    expected: heicExpected,
  },
  {
    name: 'a zone-less ©day and mvhd give the offset',
    bytes: makeMp4({ day: '2024-07-20 18:30:00', creationTime: quickTimeSeconds(JULY) }),
    expected: heicExpected,
  },
  {
    name: 'a ©day in UTC (Z) is an instant with no offset',
    bytes: makeMp4({ day: '2024-07-20T16:30:00.000000Z' }),
    expected: mvhdExpected,
  },
  {
    name: 'a year-only ©day says nothing; mvhd is used',
    bytes: makeMp4({ day: '2019', creationTime: quickTimeSeconds(JULY) }),
    expected: mvhdExpected,
  },
];

function patchedSize(bytes: Buffer, type: string, size: number): Buffer {
  const copy = Buffer.from(bytes);
  const at = copy.indexOf(type, 0, 'latin1') - 4;
  assert.ok(at >= 0, `${type} is in the file`);
  copy.writeUInt32BE(size, at);
  return copy;
}

const mp4 = makeMp4({ creationTime: quickTimeSeconds(JULY), day: '2024-07-20T18:30:00+0200' });
const heic = makeHeic(heicDate);

const brokenCases: Array<{ name: string; bytes: Buffer }> = [
  { name: 'empty', bytes: Buffer.alloc(0) },
  { name: 'random bytes', bytes: Buffer.from('this is not a media file at all, just text') },
  { name: 'MP4 cut inside mdat', bytes: mp4.subarray(0, 600) },
  { name: 'MP4 cut inside mvhd', bytes: mp4.subarray(0, mp4.indexOf('mvhd', 0, 'latin1') + 10) },
  { name: 'HEIC cut before its Exif item', bytes: heic.subarray(0, heic.length - 40) },
  { name: 'HEIC cut inside meta', bytes: heic.subarray(0, 60) },
  { name: 'mdat declares 4 GB in a small file', bytes: patchedSize(mp4, 'mdat', 0xfffffff0) },
  { name: 'mdat declares a size smaller than its header', bytes: patchedSize(mp4, 'mdat', 4) },
  { name: 'mdat size 1 with a 64-bit size of 0', bytes: patchedSize(mp4, 'mdat', 1) },
  { name: 'iloc declares a size of 7', bytes: patchedSize(heic, 'iloc', 7) },
  {
    name: 'Exif item extent far past the end of the file',
    bytes: (() => {
      const copy = Buffer.from(heic);
      // The second iloc item's extent offset (v0, 4-byte fields): the last 8 bytes of iloc.
      const iloc = copy.indexOf('iloc', 0, 'latin1') - 4;
      const end = iloc + copy.readUInt32BE(iloc);
      copy.writeUInt32BE(0x7ffffff0, end - 8);
      return copy;
    })(),
  },
  {
    name: 'thousands of empty boxes',
    bytes: Buffer.concat([isoBox('ftyp', Buffer.from('isom')), ...Array(5000).fill(isoBox('free', []))]),
  },
];

test('the cases above can fail: the unbroken files do have a date', async () => {
  assert.ok(await readMediaDate(bufferReader(mp4)));
  assert.ok(await readMediaDate(bufferReader(heic)));
});

/** A container cut short, or claiming more than the file holds, still gives the boxes it holds. */
const partialCases: Array<{ name: string; bytes: Buffer; expected: ReturnType<typeof resolved> }> = [
  {
    name: 'MP4 cut after mvhd (©day lost)',
    bytes: mp4.subarray(0, mp4.length - 150),
    expected: mvhdExpected,
  },
  { name: 'moov declares 2 GB', bytes: patchedSize(mp4, 'moov', 0x7fffffff), expected: heicExpected },
  {
    name: 'mvhd declares size 0: it runs to the end of moov, hiding udta',
    bytes: patchedSize(mp4, 'mvhd', 0),
    expected: mvhdExpected,
  },
  { name: 'HEIC meta declares 2 GB', bytes: patchedSize(heic, 'meta', 0x7fffffff), expected: heicExpected },
];

/** Size 0 on the last box of moov is legal: moov ends where it does. */
function mvhdSizeZeroAtEnd(): Buffer {
  const moov = isoBox('moov', isoFullBox('mvhd', 0, [Buffer.alloc(4), Buffer.alloc(96)]));
  const body = Buffer.from(moov);
  body.writeUInt32BE(0, 8);
  body.writeUInt32BE(quickTimeSeconds(JULY), 20);
  return Buffer.concat([isoBox('ftyp', Buffer.from('isom')), body]);
}

/** Every file above, read whole from a buffer: its name, its bytes and what it resolves to. */
const fileRows: Array<{ title: string; bytes: Buffer; expected: ReturnType<typeof resolved> }> = [
  ...readCases.map(({ name, bytes, expected }) => ({ title: `media date: ${name}`, bytes, expected })),
  ...brokenCases.map(({ name, bytes }) => ({
    title: `media date, broken file is undated without throwing: ${name}`,
    bytes,
    expected: undefined,
  })),
  ...partialCases.map(({ name, bytes, expected }) => ({
    title: `media date, partial file: ${name}`,
    bytes,
    expected,
  })),
  {
    title: 'a mvhd size of 0 still reads when the box runs to its container end',
    bytes: mvhdSizeZeroAtEnd(),
    expected: mvhdExpected,
  },
];

for (const { title, bytes, expected } of fileRows) {
  test(title, async () => {
    // resolved() of no capture is undefined: a broken file must give no capture at all, and not throw.
    assert.deepEqual(resolved(await readMediaDate(bufferReader(bytes))), expected);
  });
}

/** Counts what a parser asks for. */
function countingReader(bytes: Uint8Array): ByteReader & { bytesRead: number; reads: number } {
  const inner = bufferReader(bytes);
  const counter = {
    size: inner.size,
    bytesRead: 0,
    reads: 0,
    async read(offset: number, length: number) {
      const result = await inner.read(offset, length);
      counter.bytesRead += result.length;
      counter.reads += 1;
      return result;
    },
  };
  return counter;
}

test('a moov after a 16 MB mdat costs a few small reads, not the file', async () => {
  const big = makeMp4({ creationTime: quickTimeSeconds(JULY), mdatBytes: 16 * 1024 * 1024 });
  const reader = countingReader(big);
  assert.deepEqual(resolved(await readMediaDate(reader)), mvhdExpected);
  assert.ok(reader.bytesRead < 4096, `read ${reader.bytesRead} bytes`);
  assert.ok(reader.reads < 20, `${reader.reads} reads`);
});

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

test('stream reader: a trailing moov is found as the chunks pass; nothing behind is kept', async () => {
  const file = makeMp4({ creationTime: quickTimeSeconds(JULY), mdatBytes: 300_000 });
  for (const size of [1, 7, 4096, 65536]) {
    const reader = streamReader(chunked(file, size), file.length);
    assert.deepEqual(resolved(await readMediaDate(reader)), mvhdExpected, `chunks of ${size}`);
    assert.equal((await reader.read(0, 16)).length, 0, 'reads behind the stream give nothing');
    await reader.close();
  }
  const heicReader = streamReader(chunked(heic, 100), heic.length);
  assert.deepEqual(resolved(await readMediaDate(heicReader)), heicExpected);
});

test('stream reader: boxes past the budget are not read, and the stream is not pulled there', async () => {
  const file = makeMp4({ creationTime: quickTimeSeconds(JULY), mdatBytes: 300_000 });
  let pulled = 0;
  async function* counted() {
    for await (const chunk of chunked(file, 1000)) {
      pulled += chunk.length;
      yield chunk;
    }
  }
  const reader = streamReader(counted(), file.length, 100_000);
  assert.equal(await readMediaDate(reader), undefined);
  assert.ok(pulled <= 1000, `pulled ${pulled} bytes`);
});

test('stream reader: a failing stream is "no date", and its error is kept', async () => {
  const file = makeMp4({ creationTime: quickTimeSeconds(JULY), mdatBytes: 5000 });
  async function* failing() {
    yield file.subarray(0, 2000);
    throw new Error('unexpected end of file');
  }
  const reader = streamReader(failing(), file.length);
  assert.equal(await readMediaDate(reader), undefined);
  assert.match(String(reader.failure), /unexpected end of file/);
});

const textCases: Array<{ input: string; expected: ReturnType<typeof parseMediaDateText> }> = [
  {
    input: '2024-07-20T18:30:00+0200',
    expected: {
      wall: { year: 2024, month: 7, day: 20, hour: 18, minute: 30, second: 0 },
      offsetMinutes: 120,
    },
  },
  {
    input: '2024-07-20T18:30:00-05:30',
    expected: {
      wall: { year: 2024, month: 7, day: 20, hour: 18, minute: 30, second: 0 },
      offsetMinutes: -330,
    },
  },
  {
    input: '2024-07-20T16:30:00.000000Z',
    expected: { wall: { year: 2024, month: 7, day: 20, hour: 16, minute: 30, second: 0 }, utc: true },
  },
  {
    input: '2024-07-20 18:30:00',
    expected: { wall: { year: 2024, month: 7, day: 20, hour: 18, minute: 30, second: 0 } },
  },
  { input: '2024', expected: undefined },
  { input: '1904-01-01T00:00:00Z', expected: undefined },
  { input: '', expected: undefined },
];

for (const { input, expected } of textCases) {
  test(`QuickTime date text: "${input}"`, () => {
    assert.deepEqual(parseMediaDateText(input), expected);
  });
}

test('mvhd: version 2 and a box that is too short give nothing', () => {
  const good = isoFullBox('mvhd', 0, [Buffer.from([0, 0, 0, 0]), Buffer.alloc(96)]);
  good.writeUInt32BE(quickTimeSeconds(JULY), 12);
  assert.ok(mvhdCreated(good));
  const v2 = Buffer.from(good);
  v2[8] = 2;
  assert.equal(mvhdCreated(v2), undefined);
  assert.equal(mvhdCreated(good.subarray(0, 14)), undefined);
});

test('a zone-less text equal to the mvhd instant claims no offset (it may be UTC without its Z)', () => {
  const wall = { year: 2024, month: 7, day: 20, hour: 16, minute: 30, second: 0 };
  assert.deepEqual(chooseMovieDate({ texts: ['2024-07-20 16:30:00'], created: wall }), { wall, utc: true });
});

test('which names are opened for an ISO-BMFF date', () => {
  for (const name of ['IMG_1.HEIC', 'a.heif', 'b.avif', 'c.MP4', 'd.mov', 'PXL_1.MP', 'e.MP~2', 'f.m4v'])
    assert.ok(mayHaveMediaDate(name), name);
  for (const name of ['IMG_1.jpg', 'a.png', 'b.mkv', 'c.json']) assert.ok(!mayHaveMediaDate(name), name);
});

// ---------------------------------------------------------------------------------------------
// End to end: createTakeoutSource over zip (deflated and stored), tgz and folder inputs

const PHOTOS = 'Takeout/Google Photos/Photos from 2024';
const AUGUST = new Date('2024-08-01T00:15:00Z');
const LIVE_SIDECAR = '1718445600'; // 2024-06-15T10:00:00Z
const liveStill = makeHeic({ dateTimeOriginal: '2024:06:15 12:00:00', offsetTimeOriginal: '+02:00' });
const liveStillNoSidecar = makeHeic({
  dateTimeOriginal: '2024:05:01 20:00:00',
  offsetTimeOriginal: '-04:00',
});
const otherDay = quickTimeSeconds(new Date('2024-09-09T09:09:09Z'));

function mediaEntries(): ArchiveEntry[] {
  return [
    { name: `${PHOTOS}/IMG_0001.HEIC`, data: makeHeic({ ...heicDate, imageBytes: 200_000 }) },
    {
      name: `${PHOTOS}/VID_DAY.MP4`,
      data: makeMp4({
        creationTime: quickTimeSeconds(AUGUST),
        day: '2024-08-01T09:15:00+0900',
        mdatBytes: 300_000,
      }),
    },
    { name: `${PHOTOS}/VID_UTC.MOV`, data: makeMp4({ brand: 'qt', creationTime: quickTimeSeconds(JULY) }) },
    // A Live Photo whose still has a sidecar: the video borrows it, not its own mvhd date.
    { name: `${PHOTOS}/LIVE.HEIC`, data: liveStill },
    {
      name: `${PHOTOS}/LIVE.HEIC.json`,
      data: makeSidecar({ title: 'LIVE.HEIC', photoTakenTime: LIVE_SIDECAR }),
    },
    { name: `${PHOTOS}/LIVE.MOV`, data: makeMp4({ creationTime: otherDay }) },
    // A Live Photo with no sidecar at all: the video takes its still's EXIF.
    { name: `${PHOTOS}/LIVE2.HEIC`, data: liveStillNoSidecar },
    { name: `${PHOTOS}/LIVE2.MOV`, data: makeMp4({ creationTime: otherDay }) },
    // Broken media are only undated.
    { name: `${PHOTOS}/BROKEN.MP4`, data: patchedSize(mp4, 'mdat', 0xfffffff0) },
  ];
}

const expectedItems: Record<string, { takenAt?: string; offset?: number; source: string }> = {
  'IMG_0001.HEIC': { takenAt: '2024-07-20T16:30:00.000Z', offset: 120, source: 'exif' },
  'VID_DAY.MP4': { takenAt: '2024-08-01T00:15:00.000Z', offset: 540, source: 'exif' },
  'VID_UTC.MOV': { takenAt: '2024-07-20T16:30:00.000Z', source: 'exif' },
  'LIVE.HEIC': { takenAt: '2024-06-15T10:00:00.000Z', offset: 120, source: 'sidecar' },
  'LIVE.MOV': { takenAt: '2024-06-15T10:00:00.000Z', offset: 120, source: 'sidecar' },
  'LIVE2.HEIC': { takenAt: '2024-05-02T00:00:00.000Z', offset: -240, source: 'exif' },
  'LIVE2.MOV': { takenAt: '2024-05-02T00:00:00.000Z', offset: -240, source: 'exif' },
  'BROKEN.MP4': { source: 'none' },
};

async function withTempDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'takeout-media-dates-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function listDates(input: string) {
  const source = createTakeoutSource({ inputs: [input], timeZone: 'Asia/Tokyo' });
  const found: Record<string, { takenAt?: string; offset?: number; source: string }> = {};
  const items: SourceItem[] = [];
  const signal = new AbortController().signal;
  for await (const listed of source.list(signal)) {
    // Dates are resolved on demand, as the pipeline does for items the record does not hold.
    const item = (await listed.resolve?.(signal)) ?? listed;
    items.push(item);
    const entry: { takenAt?: string; offset?: number; source: string } = { source: item.dateSource };
    if (item.takenAt) entry.takenAt = item.takenAt.toISOString();
    if (item.utcOffsetMinutes !== undefined) entry.offset = item.utcOffsetMinutes;
    found[item.filename] = entry;
  }
  await source.close?.();
  return { found, items, problems: source.problems() };
}

const inputKinds: Array<{ kind: string; write: (dir: string) => Promise<string> }> = [
  {
    kind: 'zip, deflated entries (a trailing moov is inflated forward)',
    write: async (dir) => {
      const file = path.join(dir, 'takeout-20250101T000000Z-001.zip');
      await writeFile(file, buildZip(mediaEntries()));
      return file;
    },
  },
  {
    kind: 'zip, stored entries (a trailing moov is read by seeking)',
    write: async (dir) => {
      const file = path.join(dir, 'takeout-20250101T000000Z-001.zip');
      await writeFile(
        file,
        buildZip(mediaEntries().map((entry) => ({ ...entry, method: 'store' as const }))),
      );
      return file;
    },
  },
  {
    kind: 'tgz (a trailing moov is reached as pass 1 streams by)',
    write: async (dir) => {
      const file = path.join(dir, 'takeout-20250101T000000Z-001.tgz');
      await writeFile(file, buildTgz(mediaEntries()));
      return file;
    },
  },
  {
    kind: 'extracted folder',
    write: async (dir) => {
      for (const entry of mediaEntries()) {
        const file = path.join(dir, 'extracted', entry.name);
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, entry.data);
      }
      return path.join(dir, 'extracted');
    },
  },
];

for (const { kind, write } of inputKinds) {
  test(`createTakeoutSource dates HEIC and MP4/MOV by their own metadata: ${kind}`, async () => {
    await withTempDir(async (dir) => {
      const { found, items, problems } = await listDates(await write(dir));
      assert.deepEqual(problems, []);
      assert.deepEqual(found, expectedItems);
      const live2 = items.find((item) => item.filename === 'LIVE2.MOV');
      assert.equal(live2?.metadata?.dateFrom, 'Photos from 2024/LIVE2.HEIC');
      const live = items.find((item) => item.filename === 'LIVE.MOV');
      assert.equal(live?.metadata?.sidecarBorrowed, true);
    });
  });
}

test('a deflated zip video with a sidecar date is not inflated for its moov (its head is enough)', async () => {
  await withTempDir(async (dir) => {
    const file = path.join(dir, 'takeout.zip');
    const video = makeMp4({
      creationTime: quickTimeSeconds(AUGUST),
      day: '2024-08-01T09:15:00+0900',
      mdatBytes: 300_000,
    });
    await writeFile(
      file,
      buildZip([
        { name: `${PHOTOS}/V.MP4`, data: video },
        { name: `${PHOTOS}/V.MP4.json`, data: makeSidecar({ title: 'V.MP4', photoTakenTime: LIVE_SIDECAR }) },
      ]),
    );
    const { found } = await listDates(file);
    // The ©day offset sits past the first 128 KiB: with a sidecar date it is not looked for.
    assert.deepEqual(found['V.MP4'], { takenAt: '2024-06-15T10:00:00.000Z', source: 'sidecar' });
  });
});
