/**
 * The Drive reader over real HTTP against the emulator's Drive: small neighbouring entries read
 * side by side (as the listing reads sidecars) come in fewer requests than entries, and a large
 * entry is one stream that the server sends only as fast as it is read (never held whole).
 * Counts of requests and bytes, never times.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { authorize } from '../../../src/auth/index.ts';
import { HttpClient } from '../../../src/http.ts';
import { DriveApi, DriveFileChangedError, type DriveFileRef } from '../../../src/sources/drive/api.ts';
import { mergeReads, openDriveReader, VersionCheck } from '../../../src/sources/drive/reader.ts';
import {
  readZipDirectory,
  readZipEntry,
  readZipEntryPrefix,
} from '../../../src/sources/takeout/formats/zip-reader.ts';
import { fastRetry } from '../../helpers/backup-options.ts';
import { writeAccount } from '../../helpers/cli.ts';
import { buildZip, type ZipEntryOptions } from '../../helpers/takeout-builder.ts';
import { driveScope, type Emulator, startEmulator } from '../../support/emulator/index.ts';

let dir: string;
let emulator: Emulator;
let http: HttpClient;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pb-drive-reader-'));
  emulator = await startEmulator();
  http = new HttpClient({ policy: fastRetry });
});
afterEach(async () => {
  await http.close();
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

async function apiAndPart(entries: ZipEntryOptions[]): Promise<{ api: DriveApi; part: DriveFileRef }> {
  const content = buildZip(entries);
  const file = emulator.drive.add({ name: 'takeout-20260101T000000Z-001.zip', content });
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
  return { api, part: { id: file.id, name: file.name, size: content.length } };
}

const mediaRequests = () => emulator.stats.requests['drive.files.media'] ?? 0;

test('mergeReads: reads close together are one request, far apart or too long are not', () => {
  const reads = [
    { start: 0, end: 100 },
    { start: 150, end: 300 },
    { start: 100_000, end: 100_010 },
    { start: 100_020, end: 2_000_000 },
  ];
  const groups = mergeReads(reads, 1000, 1_000_000);
  assert.deepEqual(
    groups.map(({ start, end, reads }) => [start, end, reads.length]),
    [
      [0, 300, 2],
      [100_000, 100_010, 1],
      [100_020, 2_000_000, 1],
    ],
  );
});

test('small neighbouring entries read side by side come in fewer requests than entries, with their own bytes', async () => {
  const sidecars = Array.from({ length: 24 }, (_, index) => ({
    name: `Takeout/Google Photos/Photos from 2024/IMG_${index}.jpg.supplemental-metadata.json`,
    data: JSON.stringify({
      title: `IMG_${index}.jpg`,
      photoTakenTime: { timestamp: String(1_700_000_000 + index) },
    }),
    method: 'store' as const,
  }));
  const { api, part } = await apiAndPart(sidecars);
  const reader = openDriveReader(api, part);
  const entries = await readZipDirectory(reader);
  emulator.resetStats();
  // As the listing reads sidecars: all asked for at once.
  const read = await Promise.all(entries.map((entry) => readZipEntryPrefix(reader, entry, entry.size)));
  read.forEach((bytes, index) => {
    assert.equal(bytes.toString('utf8'), sidecars[index]?.data);
  });
  assert.ok(
    mediaRequests() < entries.length / 4,
    `${mediaRequests()} requests for ${entries.length} entries`,
  );
  const entryBytes = entries.reduce((sum, entry) => sum + 30 + Buffer.byteLength(entry.name) + entry.size, 0);
  assert.ok(
    emulator.stats.driveBytes < entryBytes + 64 * 1024,
    `${emulator.stats.driveBytes} bytes served for ${entryBytes} bytes of entries`,
  );
});

test('a large entry is one stream the server sends only as it is read, then whole and correct', async () => {
  const large = Buffer.alloc(48 * 1024 * 1024);
  for (let at = 0; at < large.length; at += 4)
    large.writeUInt32LE((Math.imul(at + 1, 2654435761) ^ at) >>> 0, at);
  const { api, part } = await apiAndPart([
    { name: 'Takeout/Google Photos/Photos from 2024/VID_1.mp4', data: large, method: 'store' },
    {
      name: 'Takeout/Google Photos/Photos from 2024/VID_1.mp4.supplemental-metadata.json',
      data: '{}',
      method: 'store',
    },
  ]);
  const reader = openDriveReader(api, part);
  const [video] = await readZipDirectory(reader);
  assert.ok(video);
  emulator.resetStats();
  const chunks = readZipEntry(reader, video)[Symbol.asyncIterator]();
  const hash = createHash('sha256');
  const first = await chunks.next();
  assert.ok(!first.done);
  hash.update(first.value);
  // Not reading on: the server stops once the socket buffers are full, far short of the entry.
  let served = -1;
  while (served !== emulator.stats.driveBytes) {
    served = emulator.stats.driveBytes;
    await sleep(100);
  }
  assert.ok(served < large.length / 2, `${served} of ${large.length} bytes sent while the reader waited`);
  for (let next = await chunks.next(); !next.done; next = await chunks.next()) hash.update(next.value);
  assert.equal(hash.digest('hex'), createHash('sha256').update(large).digest('hex'));
  // The local header (with the first bytes read ahead) and one stream for the rest.
  assert.equal(mediaRequests(), 2);
  assert.ok(
    emulator.stats.driveBytes < large.length + 64 * 1024,
    `${emulator.stats.driveBytes} bytes served`,
  );
});

test('reads anywhere give the file bytes: exact reads, probes read ahead, the kept end, streams from kept bytes', async () => {
  const content = Buffer.alloc(600_000);
  for (let at = 0; at < content.length; at++) content[at] = (at * 31 + (at >> 10)) & 0xff;
  const file = emulator.drive.add({ name: 'takeout-20260101T000000Z-002.zip', content });
  const { api } = await apiAndPart([{ name: 'x', data: 'x', method: 'store' }]);
  const reader = openDriveReader(api, { id: file.id, name: file.name, size: content.length });
  const expect = (start: number, end: number) => content.subarray(start, Math.min(content.length, end));
  // The end first (kept), then a longer read ending there: only its start is fetched.
  assert.ok(
    (await reader.read(content.length - 4096, 4096)).equals(expect(content.length - 4096, content.length)),
  );
  emulator.resetStats();
  assert.ok(
    (await reader.read(content.length - 50_000, 50_000)).equals(
      expect(content.length - 50_000, content.length),
    ),
  );
  assert.equal(emulator.stats.driveBytes, 50_000 - 4096, 'the kept end is not fetched again');
  let seed = 7;
  for (let i = 0; i < 200; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const position = seed % content.length;
    // Probes (a few bytes), small reads and reads across kept and unkept bytes.
    const length = i % 3 === 0 ? (seed >>> 8) % 64 : (seed >>> 8) % 90_000;
    const bytes = await reader.read(position, length);
    assert.ok(bytes.equals(expect(position, position + length)), `read ${position}+${length}`);
    if (i % 5 === 0) {
      const end = Math.min(content.length - 1, position + ((seed >>> 4) % 200_000));
      const chunks: Buffer[] = [];
      for await (const chunk of reader.stream(position, end)) chunks.push(Buffer.from(chunk));
      assert.ok(Buffer.concat(chunks).equals(expect(position, end + 1)), `stream ${position}-${end}`);
    }
  }
  // Reads side by side, some overlapping, each with its own bytes.
  const starts = Array.from({ length: 40 }, (_, index) => 1000 + index * 700);
  const side = await Promise.all(starts.map((start) => reader.read(start, 900)));
  side.forEach((bytes, index) => {
    const start = starts[index] as number;
    assert.ok(bytes.equals(expect(start, start + 900)), `side by side at ${start}`);
  });
});

test("the readers of a part's entries share one version check while it is fresh; a part found changed stays changed", async () => {
  const content = Buffer.alloc(300_000, 7);
  const { api, part } = await apiAndPart([{ name: 'x', data: 'x', method: 'store' }]);
  const file = emulator.drive.add({ name: 'takeout-20260101T000000Z-002.zip', content });
  // As listed: with its md5Checksum, which a replacement of the same size changes.
  const ref = await api.getFile(file.id);
  let now = 0;
  const shared = new VersionCheck(api, ref, () => now);
  const gets = () => emulator.stats.requests['drive.files.get'] ?? 0;
  const streamed = async (at: number) => {
    const reader = openDriveReader(api, ref, { check: shared });
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of reader.stream(at, at + 9_999)) chunks.push(Buffer.from(chunk));
    } finally {
      await reader.close();
    }
    return Buffer.concat(chunks);
  };
  emulator.resetStats();
  const bodies = await Promise.all([0, 50_000, 100_000, 150_000].map(streamed));
  for (const body of bodies) assert.ok(body.equals(content.subarray(0, 10_000)));
  assert.equal(await streamed(200_000).then((body) => body.length), 10_000);
  assert.equal(gets(), 1, 'one files.get for five readers');
  // Its answer grows old: the next reader asks again, and the part was replaced meanwhile.
  now += 60_000;
  emulator.setFaults({
    drive: [{ fault: 'replaced', sameSize: true, on: ['get'], fileIds: [file.id], times: 1 }],
  });
  await assert.rejects(streamed(0), DriveFileChangedError);
  emulator.setFaults({});
  now += 60_000;
  await assert.rejects(streamed(100_000), DriveFileChangedError, 'still changed, not asked again');
  assert.equal(gets(), 2);
  assert.equal(shared.calls, 2);
  // A reader of its own (the listing's) checks for itself.
  const own = openDriveReader(api, part);
  await own.read(0, 10);
  assert.equal(gets(), 3);
});
