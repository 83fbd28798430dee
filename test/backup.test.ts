/**
 * backupYear with the Library source over real HTTP against the emulator: what lands on disk,
 * the skip rule, incremental runs, interruptions, faults and quotas.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { authorize } from '../src/auth/index.ts';
import { type BackupOptions, backupYear } from '../src/backup.ts';
import { BackupError } from '../src/errors.ts';
import { HttpClient } from '../src/http.ts';
import { parseJournal } from '../src/manifest.ts';
import type { BackupEvent } from '../src/report/events.ts';
import { GoogleApi } from '../src/sources/google-api.ts';
import { createLibrarySource } from '../src/sources/library/index.ts';
import { fastRetry, testBackupOptions } from './helpers/backup-options.ts';
import { sha256, treeHashes, writeAccount } from './helpers/cli.ts';
import { type Emulator, type EmulatorItem, generateItems, startEmulator } from './support/emulator/index.ts';

let dir: string;
let emulator: Emulator;
let http: HttpClient;

function readyItems(items: EmulatorItem[]): EmulatorItem[] {
  return items.map((item) => (item.kind === 'video' ? { ...item, videoStatus: 'READY' as const } : item));
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pb-backup-'));
  emulator = await startEmulator({ generate: { year: 2024, count: 30, videoEvery: 7 } });
  emulator.setItems(readyItems(emulator.items));
  http = new HttpClient({ policy: fastRetry, readTimeoutMs: 2000 });
});
afterEach(async () => {
  await http.close();
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

async function run(
  overrides: Partial<BackupOptions> = {},
  signal = new AbortController().signal,
  watch?: (event: BackupEvent) => void,
) {
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
  const api = new GoogleApi(http, authorizer, emulator.libraryUrl);
  const events: BackupEvent[] = [];
  const source = createLibrarySource({
    api,
    year: 2024,
    onNotice: (notice) => events.push({ type: 'notice', ...notice }),
  });
  const options = testBackupOptions(path.join(dir, 'photos'), overrides);
  const report = (event: BackupEvent) => {
    events.push(event);
    watch?.(event);
  };
  const result = await backupYear(options, { source, report, signal });
  return { ...result, events };
}

/** What a perfect backup of the emulator's year looks like: path → sha256. */
function expectedTree(): Map<string, string> {
  const expected = new Map<string, string>();
  const names = new Map<string, number>();
  for (const item of emulator.items) {
    if (!item.creationTime.startsWith('2024')) continue;
    const key = `${item.creationTime.slice(0, 10)}/${item.filename}`;
    names.set(key, (names.get(key) ?? 0) + 1);
    expected.set(item.id, sha256(emulator.contentOf(item.id)));
  }
  return expected;
}

/** A finished or stopped run removes its temporary folders. */
async function assertNoTempFolder(): Promise<void> {
  const temp = path.join(dir, 'photos', '.photo-backup', 'tmp');
  await assert.rejects(stat(temp), { code: 'ENOENT' }, 'the temporary folder is removed');
}

async function assertComplete(): Promise<void> {
  const tree = await treeHashes(path.join(dir, 'photos'));
  const expected = expectedTree();
  assert.equal(tree.size, expected.size, `files on disk: ${[...tree.keys()].join(', ')}`);
  assert.deepEqual(
    [...tree.values()].sort(),
    [...expected.values()].sort(),
    'every item saved byte-identical, once',
  );
  for (const file of tree.keys()) assert.ok(!file.endsWith('.part'), `temporary file left: ${file}`);
  await assertNoTempFolder();
  const journal = parseJournal(
    await readFile(path.join(dir, 'photos', '.photo-backup', 'saved.jsonl'), 'utf8'),
  );
  const ids = new Set(journal.records.map((record) => record.id));
  assert.equal(ids.size, expected.size);
  for (const record of journal.records)
    assert.ok(tree.has(record.path), `recorded path on disk: ${record.path}`);
}

test('saves every item of the year into its day folder, byte-identical, with the capture time as mtime', async () => {
  const { summary, exitCode } = await run();
  assert.equal(exitCode, 0);
  assert.equal(summary.saved, expectedTree().size);
  assert.equal(summary.complete, true);
  await assertComplete();
  const first = emulator.items.find((item) => item.creationTime.startsWith('2024'));
  assert.ok(first);
  const day = path.join(dir, 'photos', first.creationTime.slice(0, 10));
  const names = await readdir(day);
  const info = await stat(path.join(day, names[0] as string));
  assert.ok(
    Math.abs(
      info.mtimeMs -
        Date.parse(
          emulator.items.find((i) => i.creationTime.slice(0, 10) === first.creationTime.slice(0, 10))
            ?.creationTime ?? '',
        ),
    ) < 2000 || names.length > 1,
  );
});

test('downloads are written in .photo-backup/tmp/<n>/, one folder per download, and renamed into place', async () => {
  const photos = path.join(dir, 'photos');
  const outside: string[] = [];
  const slots = new Set<string>();
  let looks = 0;
  // Each 'bytes' event comes while its temporary file is open: look at the whole tree then.
  const watch = (event: BackupEvent) => {
    if (event.type !== 'bytes') return;
    looks++;
    for (const file of readdirSync(photos, { recursive: true }) as string[]) {
      if (!file.endsWith('.part')) continue;
      const match = /^\.photo-backup[/\\]tmp[/\\](\d+)[/\\][^/\\]+\.[0-9a-z]+\.part$/.exec(file);
      if (match) slots.add(match[1] as string);
      else outside.push(file);
    }
  };
  const { exitCode } = await run({ concurrency: 3 }, undefined, watch);
  assert.equal(exitCode, 0);
  assert.ok(looks > 0);
  assert.deepEqual(outside, [], 'no temporary file outside the temporary folders');
  assert.ok(slots.size >= 1 && slots.size <= 3, `one folder per download in flight: ${[...slots]}`);
  await assertComplete();
});

test('a day folder on another disk (a mount point): files are copied beside their place, then renamed', async (t) => {
  // A day folder that is a link leading outside is not written through (test/record-input.test.ts);
  // one that is another file system mounted inside the backup folder is: renaming from the state
  // folder into it fails with EXDEV. Mounting needs root.
  const day = emulator.items.find((item) => item.creationTime.startsWith('2024'))?.creationTime.slice(0, 10);
  assert.ok(day);
  const elsewhere = path.join(dir, 'photos', day);
  await mkdir(elsewhere, { recursive: true });
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', elsewhere]).status !== 0)
    return t.skip('cannot mount a tmpfs here (needs root)');
  try {
    assert.notEqual((await stat(elsewhere)).dev, (await stat(dir)).dev, 'a file system of its own');
    const { exitCode } = await run();
    assert.equal(exitCode, 0);
    await assertComplete();
    const items = emulator.items.filter((item) => item.creationTime.startsWith(day));
    const names = await readdir(elsewhere);
    assert.equal(names.length, items.length, names.join(', '));
    // The copies keep the capture time (the day holds a same-name pair, so compared as sets).
    const seconds = (ms: number) => Math.round(ms / 1000);
    const times = await Promise.all(
      names.map(async (name) => (await stat(path.join(elsewhere, name))).mtimeMs),
    );
    assert.deepEqual(
      times.map(seconds).sort(),
      items.map((item) => seconds(Date.parse(item.creationTime))).sort(),
    );
  } finally {
    spawnSync('umount', [elsewhere]);
  }
});

test('two different items of one day with one name both land, the later with a suffix', async () => {
  await run();
  const tree = await treeHashes(path.join(dir, 'photos'));
  const byName = new Map<string, string[]>();
  for (const file of tree.keys()) {
    const base = file.replace(/~[0-9a-f]{8}(\.[^.]+)$/, '$1');
    byName.set(base, [...(byName.get(base) ?? []), file]);
  }
  assert.ok(
    [...byName.values()].some((files) => files.length === 2),
    'the emulator generates a same-name pair',
  );
});

test('a second run over a finished year downloads nothing and stops after 6 skips', async () => {
  await run();
  emulator.resetStats();
  const { summary } = await run();
  assert.equal(summary.saved, 0);
  assert.equal(summary.skipped, 6);
  assert.equal(summary.stopped.reason, 'skips');
  assert.equal(emulator.stats.mediaBytes, 0);
});

test('--all walks the whole year on a second run, and --max-skipped changes the stop', async () => {
  await run();
  assert.equal((await run({ all: true })).summary.skipped, expectedTree().size);
  assert.equal((await run({ maxSkipped: 2 })).summary.skipped, 3);
});

test('an incremental run saves only the new items, then stops by the skip rule', async () => {
  await run();
  const newest = emulator.items.filter((item) => item.kind === 'photo').slice(0, 3);
  const fresh = newest.map((item, index) => ({
    ...item,
    id: `new-${index}`,
    filename: `NEW_${index}.jpg`,
    creationTime: `2024-12-31T1${index}:00:00Z`,
  }));
  emulator.setItems([...emulator.items, ...fresh]);
  const { summary } = await run();
  assert.equal(summary.saved, 3);
  assert.equal(summary.stopped.reason, 'skips');
  assert.equal(summary.skipped, 6);
});

test('an interrupted run leaves no temp file, and the next run finishes the year instead of stopping at skips', async () => {
  emulator.setLatency({ mediaMs: 20 });
  const controller = new AbortController();
  let saved = 0;
  const interrupted = run({}, controller.signal).catch((error: unknown) => error);
  // Abort after a few files are saved.
  const timer = setInterval(async () => {
    const journal = await readFile(path.join(dir, 'photos', '.photo-backup', 'saved.jsonl'), 'utf8').catch(
      () => '',
    );
    saved = parseJournal(journal).records.length;
    if (saved >= 5) controller.abort();
  }, 5);
  const outcome = await interrupted;
  clearInterval(timer);
  assert.ok(outcome instanceof BackupError && outcome.exitCode === 130, String(outcome));
  const partial = await treeHashes(path.join(dir, 'photos'));
  assert.ok(partial.size < expectedTree().size);
  for (const file of partial.keys()) assert.ok(!file.includes('.part'), file);
  await assertNoTempFolder();
  emulator.setLatency({});
  const { summary } = await run();
  assert.equal(summary.stopped.reason, 'end');
  await assertComplete();
});

test('network faults: 503s, resets, short bodies and stalls are retried until every file is saved once', async () => {
  emulator.setFaults({
    seed: 7,
    apiUnavailableRate: 0.3,
    mediaUnavailableRate: 0.2,
    mediaResetRate: 0.2,
    mediaShortBodyRate: 0.2,
    mediaStall: { rate: 0.1, ms: 4000 },
    perMinuteQuota: { after: 2, burst: 2, retryAfterSeconds: 0 },
    firstAttempts: 2,
  });
  const { summary, exitCode } = await run();
  assert.equal(exitCode, 0, JSON.stringify(summary.failed));
  assert.ok(
    Object.values(emulator.stats.faults).reduce((a, b) => a + b, 0) > 5,
    JSON.stringify(emulator.stats.faults),
  );
  await assertComplete();
});

test('an item that fails for good leaves no empty day folder; its day is saved by the next run', async () => {
  const byDay = new Map<string, EmulatorItem[]>();
  for (const item of emulator.items) {
    const day = item.creationTime.slice(0, 10);
    byDay.set(day, [...(byDay.get(day) ?? []), item]);
  }
  const alone = [...byDay.values()].find((items) => items.length === 1)?.[0];
  assert.ok(alone, 'a day with one item');
  const day = path.join(dir, 'photos', alone.creationTime.slice(0, 10));
  emulator.setFaults({ mediaUnavailableRate: 1, itemIds: [alone.id] });
  // The temporary file, made while the request waited, is gone before each retry.
  const temps = path.join(dir, 'photos', '.photo-backup', 'tmp');
  const leftAtRetry: string[] = [];
  let retries = 0;
  const watch = (event: BackupEvent) => {
    if (event.type !== 'retry' || event.what !== alone.filename) return;
    retries++;
    const files = readdirSync(temps, { recursive: true }) as string[];
    leftAtRetry.push(...files.filter((file) => path.basename(file).startsWith(`${alone.filename}.`)));
  };
  const failed = await run({}, undefined, watch);
  assert.ok(retries > 0);
  assert.deepEqual(leftAtRetry, []);
  assert.equal(failed.exitCode, 1);
  assert.deepEqual(
    failed.summary.failed.map((entry) => entry.id),
    [alone.id],
  );
  await assert.rejects(stat(day), { code: 'ENOENT' }, 'no folder for a day without media');
  await assertNoTempFolder();
  emulator.setFaults({});
  assert.equal((await run()).exitCode, 0);
  await assertComplete();
});

test('daily quota: the run ends with exit 4, keeps what it saved, and the same command continues tomorrow', async () => {
  // Two pages of search results, and the quota runs out after the first.
  emulator.setItems(readyItems(generateItems({ year: 2024, count: 150, photoSize: 2000 })));
  emulator.setFaults({ dailyQuotaAfter: 1 });
  await assert.rejects(run(), (error: unknown) => {
    return (
      error instanceof BackupError &&
      error.exitCode === 4 &&
      /quota/i.test(error.message) &&
      /tomorrow|daily/i.test(error.message)
    );
  });
  const saved = parseJournal(
    await readFile(path.join(dir, 'photos', '.photo-backup', 'saved.jsonl'), 'utf8'),
  );
  assert.equal(saved.records.length, 100, 'the first page was saved and recorded');
  emulator.setFaults({});
  const { summary } = await run();
  assert.notEqual(summary.stopped.reason, 'skips');
  assert.equal(summary.saved, 50);
  await assertComplete();
});

test('an access token that stops working mid-run is refreshed once and the run goes on', async () => {
  await writeAccount(emulator, dir);
  emulator.expireAccessTokens();
  const { exitCode } = await run();
  assert.equal(exitCode, 0);
  assert.equal(emulator.stats.requests['oauth.token'], 1, JSON.stringify(emulator.stats.requests));
  await assertComplete();
  const token = JSON.parse(await readFile(path.join(dir, 'token.json'), 'utf8'));
  assert.ok(token.refresh_token, 'the refresh token is kept when the refreshed one is saved back');
});

test('files saved by the original script (same name and size) are skipped and adopted, not downloaded again', async () => {
  const unique = (name: string) => emulator.items.filter((item) => item.filename === name).length === 1;
  const photo = emulator.items.find(
    (item) => item.kind === 'photo' && item.creationTime.startsWith('2024') && unique(item.filename),
  );
  assert.ok(photo);
  const day = path.join(dir, 'photos', photo.creationTime.slice(0, 10));
  await mkdir(day, { recursive: true });
  await writeFile(path.join(day, photo.filename), emulator.contentOf(photo.id));
  const { summary } = await run();
  assert.equal(summary.skipped, 1);
  await assertComplete();
});

test('a file of the same name but another size in the day folder stays; the item is saved beside it with a suffix', async () => {
  const unique = (name: string) => emulator.items.filter((item) => item.filename === name).length === 1;
  const photo = emulator.items.find(
    (item) => item.kind === 'photo' && item.creationTime.startsWith('2024') && unique(item.filename),
  );
  assert.ok(photo);
  const day = path.join(dir, 'photos', photo.creationTime.slice(0, 10));
  await mkdir(day, { recursive: true });
  await writeFile(path.join(day, photo.filename), 'not the photo');
  const { summary, events } = await run();
  assert.equal(summary.skipped, 0);
  assert.equal(summary.saved, expectedTree().size);
  assert.equal(await readFile(path.join(day, photo.filename), 'utf8'), 'not the photo');
  const saved = events.find((event) => event.type === 'saved' && event.id === photo.id);
  assert.ok(saved?.type === 'saved' && saved.path.includes('~'), `saved as ${JSON.stringify(saved)}`);
  const bytes = await readFile(path.join(dir, 'photos', saved.path));
  assert.equal(sha256(bytes), sha256(emulator.contentOf(photo.id)));
});

test('--dry-run says where each file would go and writes nothing', async () => {
  const { summary, events } = await run({ dryRun: true });
  assert.equal(summary.saved, 0);
  assert.equal(events.filter((event) => event.type === 'planned').length, expectedTree().size);
  await assert.rejects(stat(path.join(dir, 'photos')));
});
