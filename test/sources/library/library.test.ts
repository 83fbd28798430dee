/**
 * The Library API source (src/sources/library/): the search body of one year, what a listed
 * MediaItem becomes, batchGet 50 ids a call, and Google's 2025 change explained (a 403, an empty
 * year). Over real HTTP against the emulator; whole runs through backupYear are test/backup.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { authorize } from '../../../src/auth/index.ts';
import { type BackupOptions, backupYear } from '../../../src/backup.ts';
import { HttpClient } from '../../../src/http.ts';
import type { BackupEvent } from '../../../src/report/events.ts';
import { GoogleApi } from '../../../src/sources/google-api.ts';
import { createLibrarySource, LibraryRefusedError, searchBody } from '../../../src/sources/library/index.ts';
import type { SourceItem } from '../../../src/sources/source.ts';
import { fastRetry, testBackupOptions } from '../../helpers/backup-options.ts';
import { writeAccount } from '../../helpers/cli.ts';
import {
  type Emulator,
  type EmulatorItem,
  generateItems,
  startEmulator,
} from '../../support/emulator/index.ts';

let dir: string;
let emulator: Emulator;
let http: HttpClient;

function readyItems(items: EmulatorItem[]): EmulatorItem[] {
  return items.map((item) => (item.kind === 'video' ? { ...item, videoStatus: 'READY' as const } : item));
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pb-library-'));
  emulator = await startEmulator({ generate: { year: 2024, count: 30, videoEvery: 7 } });
  emulator.setItems(readyItems(emulator.items));
  http = new HttpClient({ policy: fastRetry, readTimeoutMs: 2000 });
});
afterEach(async () => {
  await http.close();
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

async function libraryApi(): Promise<GoogleApi> {
  const clientSecretPath = path.join(dir, 'client_secret.json');
  const tokenPath = path.join(dir, 'token.json');
  if (!(await stat(tokenPath).catch(() => undefined))) await writeAccount(emulator, dir);
  const authorizer = await authorize({
    clientSecretPath,
    tokenPath,
    interactive: false,
    openBrowser: false,
    ui: { info: () => undefined },
  });
  return new GoogleApi(http, authorizer, emulator.libraryUrl);
}

/** backupYear with the library source over the emulator, its events collected. */
async function run(overrides: Partial<BackupOptions> = {}) {
  const api = await libraryApi();
  const events: BackupEvent[] = [];
  const source = createLibrarySource({
    api,
    year: 2024,
    onNotice: (notice) => events.push({ type: 'notice', ...notice }),
  });
  const options = testBackupOptions(path.join(dir, 'photos'), overrides);
  const result = await backupYear(options, {
    source,
    report: (event) => events.push(event),
    signal: new AbortController().signal,
  });
  return { ...result, events };
}

async function listAll(source: ReturnType<typeof createLibrarySource>): Promise<SourceItem[]> {
  const items: SourceItem[] = [];
  for await (const item of source.list(new AbortController().signal)) items.push(item);
  return items;
}

test('searchBody asks for one calendar year, newest first, 100 a page, the page token only when given', () => {
  const filters = { dateFilter: { dates: [{ year: 2024, month: 0, day: 0 }] } };
  assert.deepEqual(searchBody(2024), {
    pageSize: 100,
    filters,
    orderBy: 'MediaMetadata.creation_time desc',
  });
  assert.deepEqual(searchBody(2024, 'next'), {
    pageSize: 100,
    filters,
    orderBy: 'MediaMetadata.creation_time desc',
    pageToken: 'next',
  });
  assert.equal('pageToken' in searchBody(2024, ''), false, 'an empty token is no token');
});

test('list: every item of the year, newest first, as photo or video dated by the API; a video in processing is for later', async () => {
  const items = readyItems(generateItems({ year: 2024, count: 5, videoEvery: 2 })).map((item, index) =>
    index === 1 ? { ...item, videoStatus: 'PROCESSING' as const, description: 'at the lake' } : item,
  );
  emulator.setItems(items);
  const listed = await listAll(createLibrarySource({ api: await libraryApi(), year: 2024 }));
  const newestFirst = [...items].sort((a, b) => b.creationTime.localeCompare(a.creationTime));
  assert.deepEqual(
    listed.map((item) => item.id),
    newestFirst.map((item) => item.id),
  );
  for (const item of listed) {
    const original = items.find((candidate) => candidate.id === item.id);
    assert.ok(original);
    assert.equal(item.filename, original.filename);
    assert.equal(item.kind, original.kind);
    assert.equal(item.dateSource, 'api');
    assert.equal(item.takenAt?.toISOString(), new Date(original.creationTime).toISOString());
  }
  const processing = listed.find((item) => item.id === items[1]?.id);
  assert.match(
    processing?.unavailable ?? '',
    /still processing this video \(PROCESSING\); a later run saves it/,
  );
  assert.deepEqual(processing?.metadata, {
    title: 'VID_0002.mp4',
    description: 'at the lake',
    cameraMake: 'Google',
    cameraModel: 'Pixel 8',
  });
  assert.equal(
    listed.filter((item) => item.unavailable !== undefined).length,
    1,
    'photos and READY videos open',
  );
});

test('getByIds: 50 ids a batchGet call, each id once; an id Google no longer has is gone', async () => {
  emulator.setItems(readyItems(generateItems({ year: 2024, count: 60 })));
  const known = emulator.items.map((item) => item.id);
  const source = createLibrarySource({ api: await libraryApi(), year: 2024 });
  assert.ok(source.getByIds, 'the library source reads items by id');
  const { items, gone } = await source.getByIds(
    [...known, known[0] ?? '', 'no-such-id'],
    new AbortController().signal,
  );
  assert.deepEqual(
    items.map((item) => item.id),
    known,
  );
  assert.deepEqual(gone, ['no-such-id']);
  assert.equal(emulator.stats.requests['library.batchGet'], 2, '61 distinct ids: two calls');
});

test('expired download URLs are refreshed with mediaItems:batchGet', async () => {
  // URLs die after 1 s while each download waits 100 ms, one at a time: the later ones expire before their turn.
  emulator.setFaults({ urlTtlMs: 1000 });
  emulator.setLatency({ mediaMs: 100 });
  const { exitCode, summary } = await run({ concurrency: 1 });
  assert.equal(exitCode, 0, JSON.stringify(summary.failed));
  assert.ok((emulator.stats.requests['library.batchGet'] ?? 0) > 0, JSON.stringify(emulator.stats.requests));
});

test('a 403 from the Library API explains the 2025 change and names the other sources', async () => {
  const { clientSecretPath, tokenPath } = await writeAccount(emulator, dir, {
    scopes: ['https://www.googleapis.com/auth/photospicker.mediaitems.readonly'],
  });
  const api = new GoogleApi(
    http,
    {
      getAccessToken: async () => JSON.parse(await readFile(tokenPath, 'utf8')).access_token,
      refresh: async () => '',
    },
    emulator.libraryUrl,
  );
  void clientSecretPath;
  const source = createLibrarySource({ api, year: 2024 });
  await assert.rejects(
    backupYear(
      {
        year: 2024,
        folder: path.join(dir, 'photos'),
        timeZone: 'UTC',
        concurrency: 2,
        maxSkipped: 5,
        all: false,
        dryRun: false,
        includeUndated: false,
      },
      { source, report: () => undefined, signal: new AbortController().signal },
    ),
    (error: unknown) =>
      error instanceof LibraryRefusedError &&
      /31 March 2025/.test(error.message) &&
      /--source picker/.test(error.message) &&
      /--takeout/.test(error.message),
  );
});

test('an empty year says why and what to do instead', async () => {
  emulator.setItems([]);
  const empty = await run();
  assert.equal(empty.summary.found, 0);
  const notice = empty.events.find((event) => event.type === 'notice');
  assert.ok(
    notice &&
      notice.type === 'notice' &&
      /found nothing in 2024/.test(notice.message) &&
      /picker/.test(notice.message),
  );
});
