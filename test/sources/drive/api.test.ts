/**
 * The Drive client over real HTTP against the emulator: listing with paging, Takeout exports
 * grouped oldest first, ranged reads, and each Drive fault handled as a backup run needs it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { authorize } from '../../../src/auth/index.ts';
import { BackupError, ExitCode } from '../../../src/errors.ts';
import { HttpClient, HttpError, ShortBodyError } from '../../../src/http.ts';
import {
  classifyDriveError,
  DriveApi,
  DriveFileChangedError,
  DriveFileGoneError,
  type DriveFileInfo,
  decideRetry,
} from '../../../src/sources/drive/api.ts';
import { listTakeoutExports } from '../../../src/sources/drive/exports.ts';
import { openDriveReader } from '../../../src/sources/drive/reader.ts';
import { fastRetry } from '../../helpers/backup-options.ts';
import { writeAccount } from '../../helpers/cli.ts';
import { incrementalExports, putTakeoutExports } from '../../support/emulator/drive-takeout.ts';
import {
  type DriveFile,
  driveScope,
  type Emulator,
  generateItems,
  libraryScope,
  pickerScope,
  startEmulator,
} from '../../support/emulator/index.ts';

let dir: string;
let emulator: Emulator;
let http: HttpClient;
let api: DriveApi;
let retries: Array<{ error: unknown; delayMs: number }>;

/** 4 MiB of bytes that differ at every offset. */
const BIG = Buffer.alloc(4 * 1024 * 1024);
for (let i = 0; i < BIG.length; i += 4) BIG.writeUInt32LE((i * 2654435761) >>> 0, i);

async function makeApi(policy = fastRetry): Promise<DriveApi> {
  const { clientSecretPath, tokenPath } = await writeAccount(emulator, dir, {
    scopes: [libraryScope, pickerScope, driveScope],
  });
  const authorizer = await authorize({
    clientSecretPath,
    tokenPath,
    interactive: false,
    openBrowser: false,
    ui: { info: () => undefined },
    scopes: [driveScope],
  });
  await http.close();
  http = new HttpClient({ policy, readTimeoutMs: 5000 });
  return new DriveApi(http, authorizer, emulator.driveUrl, {
    onRetry: (error, _attempt, delayMs) => retries.push({ error, delayMs }),
  });
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pb-drive-'));
  emulator = await startEmulator();
  http = new HttpClient({ policy: fastRetry });
  retries = [];
  api = await makeApi();
});
afterEach(async () => {
  await http.close();
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

function bigFile(content = BIG): { file: DriveFile; ref: DriveFileInfo } {
  const file = emulator.drive.add({ name: 'takeout-20260101T000000Z-001.zip', content });
  return { file, ref: { id: file.id, name: file.name, size: content.length, parents: file.parents } };
}

/**
 * 24 MiB: the loopback socket's buffers take a few MiB the server writes before a client that
 * stopped reading drops the connection; a file well past that shows whether the rest was read.
 */
const HUGE = Buffer.concat([BIG, BIG, BIG, BIG, BIG, BIG]);

test('listFiles follows nextPageToken to the last page', async () => {
  const folder = emulator.drive.add({ name: 'Takeout' });
  for (let i = 0; i < 7; i++)
    emulator.drive.add({ name: `f${i}`, parents: [folder.id], content: Buffer.from([i]) });
  const names: string[] = [];
  for await (const file of api.listFiles({ q: `'${folder.id}' in parents`, pageSize: 3, orderBy: 'name' }))
    names.push(file.name);
  assert.deepEqual(names, ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6']);
  assert.equal(emulator.stats.requests['drive.files.list'], 3);
});

test('Takeout exports in Drive: grouped by timestamp, oldest first, parts by number; other files left out', async () => {
  const items = generateItems({ year: 2026, count: 12, photoSize: 3000, videoEvery: 0 });
  // Made out of order: the listing must sort them, not trust Drive's order.
  const { folderId, exports } = putTakeoutExports(
    emulator,
    [
      { time: new Date('2026-05-01T08:00:00Z'), items: items.slice(8) },
      { time: new Date('2026-01-01T08:00:00Z'), items: items.slice(0, 6) },
      { time: new Date('2026-03-01T08:00:00Z'), items: items.slice(6, 8) },
    ],
    { partBytes: 8000 },
  );
  emulator.drive.add({
    name: 'takeout-20260101T080000Z-009.zip',
    parents: [folderId],
    content: Buffer.from('x'),
    trashed: true,
  });
  emulator.drive.add({ name: 'takeout notes.txt', parents: [folderId], content: Buffer.from('x') });
  emulator.drive.add({ name: 'takeout-20260701T080000Z-001.zip', content: Buffer.from('not in the folder') });

  const found = await listTakeoutExports(api, { folderName: 'Takeout' });
  assert.deepEqual(
    found.map((each) => each.timestamp),
    ['20260101T080000Z', '20260301T080000Z', '20260501T080000Z'],
  );
  const first = found[0];
  const made = exports[1];
  assert.ok(first && made && made.parts.length > 2, 'the full export has several parts');
  assert.deepEqual(
    first.parts.map((part) => part.name),
    made.parts.map((part) => part.name),
  );
  assert.deepEqual(
    first.parts.map((part) => part.part.number),
    made.parts.map((_, index) => index + 1),
  );
  const part = first.parts[0];
  assert.ok(part);
  assert.equal(part.size, made.parts[0]?.content?.length);
  assert.match(part.md5Checksum ?? '', /^[0-9a-f]{32}$/);
  assert.ok(part.modifiedTime);
});

test('a scheduled Takeout in the emulator: one full export, then incremental ones two months apart', async () => {
  const items = generateItems({ year: 2025, count: 20, photoSize: 2000, videoEvery: 0 });
  const specs = incrementalExports(items, 3, new Date('2026-01-02T03:00:00Z'));
  const { exports } = putTakeoutExports(emulator, specs, { partBytes: 10_000 });
  const found = await listTakeoutExports(api);
  assert.deepEqual(
    found.map((each) => each.timestamp),
    ['20260102T030000Z', '20260304T030000Z', '20260504T030000Z'],
  );
  const names = exports.map((each) =>
    each.entries.filter((entry) => entry.name.endsWith('.jpg')).map((entry) => entry.name),
  );
  assert.deepEqual(
    names.map((each) => each.length),
    [10, 5, 5],
  );
  for (const each of names)
    assert.equal(new Set(each).size, each.length, 'same names numbered within an export');
});

test('--drive-folder: exports in a folder of another name; a name no folder has is exit 2 naming it', async () => {
  const items = generateItems({ year: 2026, count: 2, photoSize: 1000, videoEvery: 0 });
  putTakeoutExports(emulator, [{ time: new Date('2026-02-01T00:00:00Z'), items }], {
    folderName: "Ana's exports",
  });
  const found = await listTakeoutExports(api, { folderName: "Ana's exports" });
  assert.equal(found.length, 1);
  await assert.rejects(listTakeoutExports(api), (error) => {
    assert.ok(error instanceof BackupError);
    assert.equal(error.exitCode, ExitCode.usage);
    assert.match(error.message, /No folder named "Takeout" in your Google Drive.*--drive-folder/s);
    return true;
  });
});

test('readRange gives exactly the bytes asked for, anywhere in the file', async () => {
  const { ref } = bigFile();
  for (const [start, end] of [
    [0, 0],
    [0, 21],
    [1_000_003, 1_070_000],
    [BIG.length - 22, BIG.length - 1],
    [0, BIG.length - 1],
  ] as const) {
    const bytes = await api.readRange(ref, start, end);
    assert.ok(bytes.equals(BIG.subarray(start, end + 1)), `${start}-${end}`);
  }
  await assert.rejects(api.readRange(ref, BIG.length - 1, BIG.length), RangeError);
});

test('metadata: getFile gives size, md5Checksum and modifiedTime; a deleted file is DriveFileGoneError', async () => {
  const { file } = bigFile();
  const info = await api.getFile(file.id);
  assert.equal(info.size, BIG.length);
  assert.equal(info.md5Checksum, (await import('node:crypto')).createHash('md5').update(BIG).digest('hex'));
  emulator.drive.delete(file.id);
  await assert.rejects(api.getFile(file.id, undefined, file.name), DriveFileGoneError);
});

test('401 with an expired access token: one refresh, then the read goes on', async () => {
  const { ref } = bigFile();
  emulator.expireAccessTokens();
  const before = emulator.stats.requests['oauth.token'] ?? 0;
  const bytes = await api.readRange(ref, 10, 99);
  assert.ok(bytes.equals(BIG.subarray(10, 100)));
  assert.equal((emulator.stats.requests['oauth.token'] ?? 0) - before, 1, 'refreshed once');
});

// Changed on purpose: the 401 was handed on as it came, and a run took it for a damaged part (while
// listing) or a failed item; it is now the sign-in error that ends the run (exit 3), the 401 its cause.
test('401 that a refresh does not mend: refreshed once, then a sign-in error (exit 3) with the 401 as its cause', async () => {
  const { ref } = bigFile();
  emulator.setFaults({ drive: [{ fault: 'unauthorized' }] });
  const before = emulator.stats.requests['oauth.token'] ?? 0;
  const refused = (error: unknown) =>
    error instanceof BackupError &&
    error.exitCode === ExitCode.auth &&
    /refused the saved sign-in \(401/.test(error.message) &&
    error.cause instanceof HttpError &&
    error.cause.status === 401;
  await assert.rejects(api.readRange(ref, 0, 9), refused);
  assert.equal((emulator.stats.requests['oauth.token'] ?? 0) - before, 1);
  await assert.rejects(
    (async () => {
      for await (const _ of api.listFiles({ q: 'trashed = false' })) break;
    })(),
    refused,
  );
});

for (const fault of ['rateLimitExceeded', 'userRateLimitExceeded', 'tooManyRequests'] as const) {
  test(`${fault}: backed off and tried again, for listing and for ranged reads`, async () => {
    const { ref } = bigFile();
    emulator.setFaults({ drive: [{ fault, times: 2 }] });
    const bytes = await api.readRange(ref, 5, 50);
    assert.ok(bytes.equals(BIG.subarray(5, 51)));
    assert.equal(retries.length, 2);
    emulator.setFaults({ drive: [{ fault, on: ['list'], times: 1 }] });
    const listed: string[] = [];
    for await (const file of api.listFiles({ q: 'trashed = false' })) listed.push(file.name);
    assert.deepEqual(listed, [ref.name]);
    assert.equal(retries.length, 3);
  });
}

test('429 with Retry-After: the wait is what the server said', async () => {
  api = await makeApi({ ...fastRetry, maxDelayMs: 5000 });
  const { ref } = bigFile();
  emulator.setFaults({ drive: [{ fault: 'tooManyRequests', times: 1, retryAfterSeconds: 1 }] });
  assert.ok((await api.readRange(ref, 0, 3)).equals(BIG.subarray(0, 4)));
  assert.deepEqual(
    retries.map((retry) => retry.delayMs),
    [1000],
  );
});

test('403 downloadQuotaExceeded: a quota stop (exit 4) naming the part, not retried', async () => {
  const { ref } = bigFile();
  emulator.setFaults({ drive: [{ fault: 'downloadQuotaExceeded', on: ['media'] }] });
  await assert.rejects(api.readRange(ref, 0, 9), (error) => {
    assert.ok(error instanceof BackupError);
    assert.equal(error.exitCode, ExitCode.quota);
    assert.match(
      error.message,
      /"takeout-20260101T000000Z-001\.zip".*downloadQuotaExceeded.*again tomorrow/s,
    );
    return true;
  });
  assert.equal(retries.length, 0);
  assert.equal(emulator.stats.requests['drive.files.media'], 1);
});

test('a part deleted mid-run: DriveFileGoneError naming it', async () => {
  const { file, ref } = bigFile();
  emulator.setFaults({ drive: [{ fault: 'deleted', fileIds: [file.id], after: 1 }] });
  await api.readRange(ref, 0, 9);
  await assert.rejects(api.readRange(ref, 10, 19), (error) => {
    assert.ok(error instanceof DriveFileGoneError);
    assert.match(error.message, /"takeout-20260101T000000Z-001\.zip" is no longer in Google Drive/);
    return true;
  });
});

test('a part replaced mid-run (another size): DriveFileChangedError, never bytes of the new version', async () => {
  const { file, ref } = bigFile();
  emulator.setFaults({ drive: [{ fault: 'replaced', fileIds: [file.id], after: 1, times: 1 }] });
  await api.readRange(ref, 0, 9);
  await assert.rejects(api.readRange(ref, 10, 19), DriveFileChangedError);
  // And when the new version is shorter than the range asked for, Drive answers 416.
  emulator.drive.replace(file.id, Buffer.from('short'));
  await assert.rejects(api.readRange(ref, 1000, 1999), (error) => {
    assert.ok(error instanceof DriveFileChangedError);
    assert.match(error.message, /shorter/);
    return true;
  });
});

test('checkUnchanged: a replacement of the same size shows in md5Checksum; the same version passes', async () => {
  const { file } = bigFile();
  const ref = await api.getFile(file.id);
  assert.equal((await api.checkUnchanged(ref)).md5Checksum, ref.md5Checksum);
  const same = Buffer.from(BIG);
  same[12345] = (same[12345] ?? 0) ^ 0xff;
  emulator.drive.replace(file.id, same);
  await assert.rejects(api.checkUnchanged(ref), (error) => {
    assert.ok(error instanceof DriveFileChangedError);
    assert.match(error.message, /md5Checksum/);
    return true;
  });
  emulator.drive.delete(file.id);
  await assert.rejects(api.checkUnchanged(ref), DriveFileGoneError);
});

test('a range answered 200 with the whole file: the bytes asked for, the rest never read', async () => {
  const { ref } = bigFile(HUGE);
  emulator.setFaults({ drive: [{ fault: 'rangeIgnored' }] });
  const bytes = await api.readRange(ref, 100_000, 100_999);
  assert.ok(bytes.equals(HUGE.subarray(100_000, 101_000)));
  // The socket and Node's buffers hold some of what the server wrote before the connection was
  // dropped, but not the whole file.
  assert.ok(
    emulator.stats.driveBytes < HUGE.length / 2,
    `${emulator.stats.driveBytes} of ${HUGE.length} bytes left the server`,
  );
});

for (const fault of ['reset', 'short'] as const) {
  test(`a ${fault} body mid-range: the range is tried again from the first byte not yet read`, async () => {
    const { ref } = bigFile();
    emulator.setFaults({ drive: [{ fault, on: ['media'], times: 1, atFraction: 0.5 }] });
    const start = 1_000_000;
    const end = 2_999_999;
    const bytes = await api.readRange(ref, start, end);
    assert.ok(bytes.equals(BIG.subarray(start, end + 1)));
    assert.equal(emulator.stats.requests['drive.files.media'], 2);
    assert.equal(retries.length, 1);
    if (fault === 'short') {
      // Half the range came before the clean end; the second request asked only for the other half,
      // so the range crossed the wire once (asking again from `start` would make it 1.5 times). A
      // reset may throw away bytes already in the socket, so there only the result is checked.
      assert.equal(emulator.stats.driveBytes, end - start + 1);
    }
  });
}

test('a stream left early drops its connection: the rest of the range is not sent', async () => {
  const { ref } = bigFile(HUGE);
  let got = 0;
  for await (const chunk of api.streamRange(ref, 0, HUGE.length - 1)) {
    got += chunk.length;
    if (got >= 64 * 1024) break;
  }
  assert.ok(emulator.stats.driveBytes < HUGE.length / 2, String(emulator.stats.driveBytes));
});

test('classifyDriveError: what each Drive answer means', () => {
  const answer = (status: number, reason: string) =>
    new HttpError({ status, url: 'http://x/', google: { reasons: [], errorReasons: [reason] } });
  assert.equal(classifyDriveError(answer(403, 'userRateLimitExceeded')), 'retry');
  assert.equal(classifyDriveError(answer(403, 'rateLimitExceeded')), 'retry');
  assert.equal(classifyDriveError(answer(429, 'rateLimitExceeded')), 'retry');
  assert.equal(classifyDriveError(answer(403, 'downloadQuotaExceeded')), 'download-quota');
  assert.equal(classifyDriveError(answer(403, 'quotaExceeded')), 'download-quota');
  assert.equal(classifyDriveError(answer(404, 'notFound')), 'gone');
  assert.equal(classifyDriveError(answer(401, 'authError')), 'unauthorized');
  assert.equal(classifyDriveError(answer(503, 'backendError')), 'retry');
  assert.equal(classifyDriveError(answer(403, 'fileNotDownloadable')), 'fatal');
});

test('classifyDriveError: 412 conditionNotMet means the file changed', () => {
  const answer = new HttpError({
    status: 412,
    url: 'http://x/',
    google: { reasons: [], errorReasons: ['conditionNotMet'] },
  });
  assert.equal(classifyDriveError(answer), 'changed');
});

test('decideRetry: the one policy of every Drive call, as a table', () => {
  const policy = { retries: 3, baseDelayMs: 100, maxDelayMs: 1000, rateLimitDelayMs: 500 };
  const http = (status: number, reason: string, retryAfterMs?: number) =>
    new HttpError({
      status,
      url: 'http://x/',
      google: { reasons: [], errorReasons: [reason] },
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  const cases: Array<{
    name: string;
    error: unknown;
    attempt?: number;
    refreshed?: boolean;
    expected: ReturnType<typeof decideRetry>;
  }> = [
    { name: '401, not refreshed yet', error: http(401, 'authError'), expected: { action: 'refresh' } },
    {
      name: '401 after the refresh',
      error: http(401, 'authError'),
      refreshed: true,
      expected: { action: 'stop' },
    },
    // random() = 0.5: base/2 + 0.5 * (min(max, base * 2^attempt) - base/2).
    {
      name: '403 rateLimitExceeded, first try',
      error: http(403, 'rateLimitExceeded'),
      expected: { action: 'retry', delayMs: 75 },
    },
    {
      name: '403 userRateLimitExceeded, third try',
      error: http(403, 'userRateLimitExceeded'),
      attempt: 2,
      expected: { action: 'retry', delayMs: 225 },
    },
    {
      name: '403 userRateLimitExceeded, tries used up',
      error: http(403, 'userRateLimitExceeded'),
      attempt: 3,
      expected: { action: 'stop' },
    },
    {
      name: '429 without Retry-After: at least the rate-limit wait',
      error: http(429, 'rateLimitExceeded'),
      expected: { action: 'retry', delayMs: 500 },
    },
    {
      name: '429 with Retry-After 0.8 s: as told',
      error: http(429, 'rateLimitExceeded', 800),
      expected: { action: 'retry', delayMs: 800 },
    },
    {
      name: '403 rate limit with Retry-After 30 s: capped at the longest wait',
      error: http(403, 'rateLimitExceeded', 30_000),
      expected: { action: 'retry', delayMs: 1000 },
    },
    {
      name: '503 backendError',
      error: http(503, 'backendError'),
      expected: { action: 'retry', delayMs: 75 },
    },
    { name: 'a reset', error: reset, attempt: 1, expected: { action: 'retry', delayMs: 125 } },
    { name: 'a short body', error: new ShortBodyError(10, 20), expected: { action: 'retry', delayMs: 75 } },
    {
      name: '403 downloadQuotaExceeded: never retried',
      error: http(403, 'downloadQuotaExceeded'),
      expected: { action: 'stop' },
    },
    { name: '404 notFound', error: http(404, 'notFound'), expected: { action: 'stop' } },
    { name: '412 conditionNotMet', error: http(412, 'conditionNotMet'), expected: { action: 'stop' } },
    {
      name: '403 fileNotDownloadable',
      error: http(403, 'fileNotDownloadable'),
      expected: { action: 'stop' },
    },
  ];
  for (const { name, error, attempt = 0, refreshed = false, expected } of cases) {
    const failure = classifyDriveError(error);
    assert.deepEqual(
      decideRetry(failure, error, { attempt, refreshed }, policy, () => 0.5),
      expected,
      name,
    );
  }
});

test('a part replaced by one of the same size: the reader says it changed before handing on a byte', async () => {
  const { file } = bigFile();
  const ref = await api.getFile(file.id);
  const reader = openDriveReader(api, ref);
  try {
    assert.ok((await reader.read(0, 10)).equals(BIG.subarray(0, 10)));
  } finally {
    await reader.close();
  }
  // Replaced just before the next reader's check: same size, other bytes.
  emulator.setFaults({ drive: [{ fault: 'replaced', sameSize: true, on: ['get'], fileIds: [file.id] }] });
  const again = openDriveReader(api, ref);
  try {
    // Bytes 0..64 KiB were kept from the first reader (the listed version's own bytes); a read past
    // them is a request, and its answer waits for the check.
    await assert.rejects(again.read(200_000, 10), (error) => {
      assert.ok(error instanceof DriveFileChangedError);
      assert.match(error.message, /"takeout-20260101T000000Z-001\.zip" changed .*md5Checksum/);
      return true;
    });
    const streamed: Buffer[] = [];
    await assert.rejects(async () => {
      for await (const chunk of again.stream(1_000_000, 1_999_999)) streamed.push(Buffer.from(chunk));
    }, DriveFileChangedError);
    assert.equal(streamed.length, 0, 'no byte of the new version handed on');
  } finally {
    await again.close();
  }
});
