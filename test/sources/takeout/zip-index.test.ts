/**
 * The compact central directory (ZipIndex): the same entries as one object per entry gave, for
 * ZIP64 fields, data descriptors, every way a name is decoded (UTF-8 flag, Info-ZIP Unicode Path,
 * plain UTF-8 with a byte order mark, CP437), links and encrypted entries.
 */

import assert from 'node:assert/strict';
import test from 'node:test';
import { crc32 } from 'node:zlib';
import type { RandomAccessReader } from '../../../src/sources/random-access.ts';
import {
  isEncrypted,
  isSymlink,
  readZipDirectory,
  readZipIndex,
  ZipFormatError,
} from '../../../src/sources/takeout/formats/zip-reader.ts';
import { zipEndRecords } from '../../helpers/takeout-builder.ts';

interface Record {
  raw: Buffer;
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  offset: number;
  madeBy: number;
  attributes: number;
  extra?: Buffer;
  /** Writes sizes and offset as 0xFFFFFFFF with a ZIP64 extra field holding them. */
  zip64?: boolean;
}

const GiB = 1024 ** 3;

function zip64Extra(record: Record): Buffer {
  const extra = Buffer.alloc(28);
  extra.writeUInt16LE(0x0001, 0);
  extra.writeUInt16LE(24, 2);
  extra.writeBigUInt64LE(BigInt(record.size), 4);
  extra.writeBigUInt64LE(BigInt(record.compressedSize), 12);
  extra.writeBigUInt64LE(BigInt(record.offset), 20);
  return extra;
}

function unicodePath(raw: Buffer, name: string, crc = crc32(raw)): Buffer {
  const utf8 = Buffer.from(name, 'utf8');
  const extra = Buffer.alloc(9 + utf8.length);
  extra.writeUInt16LE(0x7075, 0);
  extra.writeUInt16LE(5 + utf8.length, 2);
  extra[4] = 1;
  extra.writeUInt32LE(crc, 5);
  utf8.copy(extra, 9);
  return extra;
}

/**
 * A file of `size` bytes (only its tail is held: zeros before it) ending in the central
 * directory of `records`, a ZIP64 end record and locator, and the end record.
 */
function virtualZip(records: readonly Record[], size: number, options: { total?: number } = {}) {
  const centrals: Buffer[] = [];
  for (const record of records) {
    const extra = Buffer.concat([
      record.zip64 ? zip64Extra(record) : Buffer.alloc(0),
      record.extra ?? Buffer.alloc(0),
    ]);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(record.madeBy, 4);
    central.writeUInt16LE(45, 6);
    central.writeUInt16LE(record.flags, 8);
    central.writeUInt16LE(record.method, 10);
    central.writeUInt32LE(record.crc, 16);
    central.writeUInt32LE(record.zip64 ? 0xffffffff : record.compressedSize, 20);
    central.writeUInt32LE(record.zip64 ? 0xffffffff : record.size, 24);
    central.writeUInt16LE(record.raw.length, 28);
    central.writeUInt16LE(extra.length, 30);
    central.writeUInt32LE(record.attributes, 38);
    central.writeUInt32LE(record.zip64 ? 0xffffffff : record.offset, 42);
    centrals.push(central, record.raw, extra);
  }
  const directory = Buffer.concat(centrals);
  const total = options.total ?? records.length;
  const tailLength = directory.length + 56 + 20 + 22;
  const directoryAt = size - tailLength;
  const tail = Buffer.concat([
    directory,
    zipEndRecords({ entries: total, directoryLength: directory.length, directoryAt, zip64: true }),
  ]);
  const reader: RandomAccessReader = {
    size,
    async read(position, length) {
      const out = Buffer.alloc(Math.max(0, Math.min(length, size - position)));
      const from = Math.max(position, directoryAt);
      if (from < position + out.length) tail.copy(out, from - position, from - directoryAt);
      return out;
    },
    stream() {
      throw new Error('not read here');
    },
    async close() {},
  };
  return reader;
}

const UNIX = 0x031e;
const ascii = (text: string) => Buffer.from(text, 'latin1');
const base = { method: 8, crc: 0x9abcdef0, compressedSize: 100, size: 200, madeBy: 20, attributes: 0 };
const records: Record[] = [
  { ...base, raw: Buffer.from('Takeout/Google Photos/Photos from 2024/café.jpg'), flags: 0x800, offset: 0 },
  // ZIP64: a size past 4 GiB and an offset past 4 GiB, from the extra field.
  {
    ...base,
    raw: ascii('big.mp4'),
    flags: 0x800,
    size: 5 * GiB,
    compressedSize: 4096,
    offset: 5 * GiB,
    zip64: true,
  },
  // A data descriptor (bit 3): the local header has no sizes, the directory has them.
  { ...base, raw: ascii('described.jpg'), flags: 0x808, crc: 0x12345678, offset: 300 },
  // Info-ZIP Unicode Path: the UTF-8 name in the extra field, for a CP437 raw name.
  {
    ...base,
    raw: ascii('caf\x82.jpg'),
    flags: 0,
    offset: 400,
    extra: unicodePath(ascii('caf\x82.jpg'), 'café ☕.jpg'),
  },
  // A stale Unicode Path (its CRC-32 is of another name): CP437 then.
  {
    ...base,
    raw: ascii('b\x81.jpg'),
    flags: 0,
    offset: 500,
    extra: unicodePath(ascii('b\x81.jpg'), 'wrong.jpg', 1),
  },
  // Plain UTF-8 without the flag, with a byte order mark (dropped), and with the flag (kept).
  { ...base, raw: Buffer.from('\uFEFFbom.jpg'), flags: 0, offset: 600 },
  { ...base, raw: Buffer.from('\uFEFFbom.jpg'), flags: 0x800, offset: 700 },
  // Invalid UTF-8 under the flag: replaced, as before.
  { ...base, raw: Buffer.from([0x78, 0xff, 0x2e, 0x6a, 0x70, 0x67]), flags: 0x800, offset: 800 },
  {
    ...base,
    raw: ascii('link.jpg'),
    flags: 0x800,
    offset: 900,
    madeBy: UNIX,
    attributes: (0o120777 << 16) >>> 0,
  },
  { ...base, raw: ascii('locked.jpg'), flags: 0x801, offset: 1000, method: 12 },
  { ...base, raw: Buffer.alloc(0), flags: 0x800, offset: 1100, size: 0, compressedSize: 0, crc: 0 },
];
const names = [
  'Takeout/Google Photos/Photos from 2024/café.jpg',
  'big.mp4',
  'described.jpg',
  'café ☕.jpg',
  'bü.jpg',
  'bom.jpg',
  '\uFEFFbom.jpg',
  'x\uFFFD.jpg',
  'link.jpg',
  'locked.jpg',
  '',
];
const expected = records.map((record, index) => ({
  name: names[index] as string,
  method: record.method,
  flags: record.flags,
  crc32: record.crc,
  compressedSize: record.compressedSize,
  size: record.size,
  localHeaderOffset: record.offset,
  index,
  madeBy: record.madeBy,
  attributes: record.attributes,
}));

test('zip index: the same entries as before, for ZIP64, data descriptors and every name decoding', async () => {
  const reader = virtualZip(records, 6 * GiB);
  assert.deepEqual(await readZipDirectory(reader), expected);
  const index = await readZipIndex(reader);
  assert.equal(index.count, records.length);
  for (let at = 0; at < index.count; at++) {
    const entry = expected[at] as (typeof expected)[number];
    assert.deepEqual(index.entry(at), entry);
    assert.equal(index.name(at), entry.name);
    assert.equal(index.size(at), entry.size);
    assert.equal(index.crc32(at), entry.crc32);
    assert.equal(index.method(at), entry.method);
    assert.equal(index.isSymlink(at), isSymlink(entry), entry.name);
    assert.equal(index.isEncrypted(at), isEncrypted(entry), entry.name);
  }
  assert.deepEqual(
    expected.filter((_, at) => index.isSymlink(at) || index.isEncrypted(at)).map((entry) => entry.name),
    ['link.jpg', 'locked.jpg'],
  );
});

test('zip index: once its names are let go, an entry carries the name its caller kept', async () => {
  const index = await readZipIndex(virtualZip(records, 6 * GiB));
  index.forgetNames();
  assert.throws(() => index.name(0), /let go/);
  assert.deepEqual(index.entry(1, 'big.mp4'), expected[1]);
  assert.equal(index.entry(3, 'kept name.jpg').name, 'kept name.jpg');
});

test('zip index: a directory claiming more entries than it holds is damaged at the first missing one', async () => {
  const reader = virtualZip(records.slice(0, 2), 6 * GiB, { total: 1_000_000_000 });
  await assert.rejects(readZipIndex(reader), (error: unknown) => {
    assert.ok(error instanceof ZipFormatError);
    assert.match(error.message, /damaged at entry 3 of 1000000000/);
    return true;
  });
});
