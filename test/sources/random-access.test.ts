/**
 * RandomAccessReader: a local file, and a Drive file through ranged reads that keep a zip's
 * small reads (end record, central directory, local headers) to a few requests. The Drive half
 * runs over real HTTP against the emulator (more of it in test/sources/drive/reader.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { authorize } from '../../src/auth/index.ts';
import { contentBuffer } from '../../src/emulator/items.ts';
import { HttpClient } from '../../src/http.ts';
import { DriveApi } from '../../src/sources/drive/api.ts';
import { listTakeoutExports } from '../../src/sources/drive/exports.ts';
import { openDriveReader } from '../../src/sources/drive/reader.ts';
import { openFileReader, type RandomAccessReader } from '../../src/sources/random-access.ts';
import { fastRetry } from '../helpers/backup-options.ts';
import { writeAccount } from '../helpers/cli.ts';
import { putTakeoutExports } from '../support/emulator/drive-takeout.ts';
import { driveScope, type Emulator, generateItems, startEmulator } from '../support/emulator/index.ts';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pb-random-access-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const DATA = Buffer.alloc(1_000_000);
for (let i = 0; i < DATA.length; i++) DATA[i] = (i * 31 + (i >> 10)) & 0xff;

async function fileReader(): Promise<RandomAccessReader> {
  const file = path.join(dir, 'data.bin');
  await writeFile(file, DATA);
  return openFileReader(file);
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

test('a file reader: positional reads, shorter only at the end, and streams of inclusive ranges', async () => {
  const reader = await fileReader();
  try {
    assert.equal(reader.size, DATA.length);
    assert.ok((await reader.read(12_345, 100)).equals(DATA.subarray(12_345, 12_445)));
    assert.ok((await reader.read(DATA.length - 10, 100)).equals(DATA.subarray(DATA.length - 10)));
    assert.equal((await reader.read(DATA.length, 10)).length, 0);
    assert.ok((await collect(reader.stream(500, 299_999))).equals(DATA.subarray(500, 300_000)));
  } finally {
    await reader.close();
  }
});

/** The end-of-central-directory record and the names in the directory: what the zip reader reads first. */
async function zipNames(
  reader: RandomAccessReader,
): Promise<Array<{ name: string; offset: number; size: number }>> {
  const tailLength = Math.min(reader.size, 22 + 0xffff);
  const tail = await reader.read(reader.size - tailLength, tailLength);
  const at = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(at >= 0, 'end record found');
  const count = tail.readUInt16LE(at + 10);
  const directory = await reader.read(tail.readUInt32LE(at + 16), tail.readUInt32LE(at + 12));
  const entries: Array<{ name: string; offset: number; size: number }> = [];
  for (let offset = 0, index = 0; index < count; index++) {
    const nameLength = directory.readUInt16LE(offset + 28);
    const skip = nameLength + directory.readUInt16LE(offset + 30) + directory.readUInt16LE(offset + 32);
    entries.push({
      name: directory.subarray(offset + 46, offset + 46 + nameLength).toString('utf8'),
      offset: directory.readUInt32LE(offset + 42),
      size: directory.readUInt32LE(offset + 24),
    });
    offset += 46 + skip;
  }
  return entries;
}

test('a Takeout part in Drive read in place: directory and entries with a handful of ranged requests', async () => {
  const emulator: Emulator = await startEmulator();
  const http = new HttpClient({ policy: fastRetry });
  try {
    const items = generateItems({ year: 2026, count: 30, photoSize: 40_000, videoEvery: 0 });
    putTakeoutExports(emulator, [{ time: new Date('2026-01-01T00:00:00Z'), items }]);
    const { clientSecretPath, tokenPath } = await writeAccount(emulator, dir, { scopes: [driveScope] });
    const tokens = await authorize({
      clientSecretPath,
      tokenPath,
      interactive: false,
      openBrowser: false,
      ui: { info: () => undefined },
      scopes: [driveScope],
    });
    const api = new DriveApi(http, tokens, emulator.driveUrl);
    const [found] = await listTakeoutExports(api);
    const part = found?.parts[0];
    assert.ok(part);
    const reader = openDriveReader(api, part);
    emulator.resetStats();

    const entries = await zipNames(reader);
    const photos = entries.filter((entry) => entry.name.endsWith('.jpg'));
    assert.equal(photos.length, 30);
    assert.ok((emulator.stats.requests['drive.files.media'] ?? 0) <= 2, 'end record and directory');

    // One photo: its local header (read ahead), its bytes as a stream.
    const photo = photos[7];
    const item = items[7];
    assert.ok(photo && item);
    const header = await reader.read(photo.offset, 30);
    const start = photo.offset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
    const bytes = await collect(reader.stream(start, start + photo.size - 1));
    assert.ok(bytes.equals(contentBuffer(item)));
    // Far less than the part: the directory, one header, one photo, and the read-ahead.
    assert.ok(emulator.stats.driveBytes < part.size / 4, `${emulator.stats.driveBytes} of ${part.size}`);
    await reader.close();
  } finally {
    await http.close();
    await emulator.close();
  }
});
