/**
 * The Picker source over real HTTP against the emulator: sessions and polls, paging, the Bearer
 * media URLs, rounds, expiry of URLs and sessions, errors, and cleanup of sessions; end to end
 * through backupYear, so day folders, names and the record are the pipeline's.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { authorize } from '../../../src/auth/index.ts';
import { backupYear } from '../../../src/backup.ts';
import { BackupError, ExitCode, InterruptedError } from '../../../src/errors.ts';
import { HttpClient, HttpError } from '../../../src/http.ts';
import { parseJournal } from '../../../src/manifest.ts';
import type { BackupEvent } from '../../../src/report/events.ts';
import { withoutSourceOption } from '../../../src/run-source.ts';
import { GoogleApi } from '../../../src/sources/google-api.ts';
import { createSession, explainApiError, noPhotosAccountError } from '../../../src/sources/picker/api.ts';
import {
  createPickerSource,
  listPickedItems,
  type PickerRound,
  type PickerSourceOptions,
  parseDuration,
  pickInstruction,
} from '../../../src/sources/picker/index.ts';
import type { Source, SourceItem } from '../../../src/sources/source.ts';
import { fastRetry, testBackupOptions } from '../../helpers/backup-options.ts';
import { sha256, treeHashes, writeAccount } from '../../helpers/cli.ts';
import { type Emulator, type EmulatorItem, startEmulator } from '../../support/emulator/index.ts';

let dir: string;
let emulator: Emulator;
let http: HttpClient;
let api: GoogleApi;

/** Fast polls; the emulator still answers "not picked" twice before the user is done. */
const fastPicker = { pollInterval: '0.01s', pollsBeforePicked: 2 };

function readyItems(items: EmulatorItem[]): EmulatorItem[] {
  return items.map((item) => (item.kind === 'video' ? { ...item, videoStatus: 'READY' as const } : item));
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pb-picker-'));
  emulator = await startEmulator({
    generate: { year: 2024, count: 20, videoEvery: 6, otherYear: 3, photoSize: 3000, videoSize: 9000 },
    picker: fastPicker,
  });
  emulator.setItems(readyItems(emulator.items));
  http = new HttpClient({ policy: fastRetry, readTimeoutMs: 5000 });
  await writeAccount(emulator, dir);
  const authorizer = await authorize({
    clientSecretPath: path.join(dir, 'client_secret.json'),
    tokenPath: path.join(dir, 'token.json'),
    interactive: false,
    openBrowser: false,
    ui: { info: () => undefined },
  });
  api = new GoogleApi(http, authorizer, emulator.pickerUrl);
});
afterEach(async () => {
  await http.close();
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  rounds: PickerRound[];
  events: BackupEvent[];
}

function pickerSource(overrides: Partial<PickerSourceOptions> = {}, run: Run = { rounds: [], events: [] }) {
  return createPickerSource({
    api,
    year: 2024,
    onSession: (round) => {
      run.rounds.push(round);
    },
    onNotice: (notice) => run.events.push({ type: 'notice', ...notice }),
    ...overrides,
  });
}

async function backup(source: Source, run: Run, signal = new AbortController().signal) {
  const options = testBackupOptions(path.join(dir, 'photos'));
  return backupYear(options, { source, report: (event) => run.events.push(event), signal });
}

/** Runs the picker source through backupYear; the user picks what the emulator is told. */
async function runPicker(overrides: Partial<PickerSourceOptions> = {}) {
  const run: Run = { rounds: [], events: [] };
  const result = await backup(pickerSource(overrides, run), run);
  return { ...result, ...run };
}

/** Hands out the source's items only after the whole listing, after `between()` ran (time passes). */
function delayed(inner: Source, between: () => Promise<void>): Source {
  return {
    name: inner.name,
    stopsOnSkips: inner.stopsOnSkips,
    async *list(signal) {
      const items: SourceItem[] = [];
      for await (const item of inner.list(signal)) items.push(item);
      await between();
      yield* items;
    },
    close: () => inner.close?.() ?? Promise.resolve(),
  };
}

const requests = (route: string) => emulator.stats.requests[route] ?? 0;

function itemsOf2024(ids?: string[]): EmulatorItem[] {
  return emulator.items.filter(
    (item) => item.creationTime.startsWith('2024') && (ids === undefined || ids.includes(item.id)),
  );
}

/** Every given item on disk once, byte-identical, in its UTC day folder; nothing else. */
async function assertSaved(items: EmulatorItem[]): Promise<Map<string, string>> {
  const tree = await treeHashes(path.join(dir, 'photos'));
  assert.equal(tree.size, items.length, `files on disk: ${[...tree.keys()].join(', ')}`);
  for (const item of items) {
    const hash = sha256(emulator.contentOf(item.id));
    const found = [...tree].find(
      ([file, fileHash]) => fileHash === hash && file.startsWith(`${item.creationTime.slice(0, 10)}/`),
    );
    assert.ok(found, `${item.filename} (${item.id}) saved in its day folder`);
  }
  return tree;
}

test('parseDuration reads Google Duration strings', () => {
  for (const { input, expected } of [
    { input: '3.5s', expected: 3500 },
    { input: '1800s', expected: 1_800_000 },
    { input: '0s', expected: 0 },
    { input: '0.01s', expected: 10 },
    { input: '5', expected: undefined },
    { input: undefined, expected: undefined },
  ]) {
    assert.equal(parseDuration(input), expected, String(input));
  }
});

test('pickInstruction says what to do in one line, with the link', () => {
  assert.equal(
    pickInstruction(2024, 1, 'https://photos.google.com/picker/abc'),
    'Pick the photos of 2024 in Google Photos — up to 2000 per round — then press Done: https://photos.google.com/picker/abc',
  );
  assert.match(pickInstruction(2024, 2, 'u'), /^Round 2: pick more photos of 2024 .*: u$/);
});

// Regression: every picker 403 and FAILED_PRECONDITION said "delete token.json", which mends only a
// missing scope (the answers below are Google's envelopes as documented and reported).
test('picker refusals give the advice that matches the cause', () => {
  const answer = (status: number, google: Record<string, unknown>) =>
    new HttpError({
      status,
      url: 'https://photospicker.googleapis.com/v1/sessions',
      google: { reasons: [], ...google },
    });
  const text = (error: unknown) => (error instanceof BackupError ? error.message : String(error));
  const scope = text(
    explainApiError(
      answer(403, {
        status: 'PERMISSION_DENIED',
        message: 'Request had insufficient authentication scopes.',
      }),
    ),
  );
  assert.match(scope, /does not allow picking.*Delete token\.json/);
  const scopeInfo = text(
    explainApiError(
      answer(403, { status: 'PERMISSION_DENIED', reasons: ['ACCESS_TOKEN_SCOPE_INSUFFICIENT'] }),
    ),
  );
  assert.match(scopeInfo, /Delete token\.json/);
  const other = text(
    explainApiError(
      answer(403, { status: 'PERMISSION_DENIED', message: 'The caller does not have permission' }),
    ),
  );
  assert.match(
    other,
    /Google said: "The caller does not have permission"\. Signing in again would not change this/,
  );
  assert.match(other, /Keep token\.json/);
  assert.doesNotMatch(other, /delete token/i);
  const noPhotos = noPhotosAccountError(
    answer(400, { status: 'FAILED_PRECONDITION', message: 'Precondition check failed.' }),
  );
  assert.equal(noPhotos.exitCode, ExitCode.auth);
  assert.match(
    noPhotos.message,
    /has no active Google Photos \(FAILED_PRECONDITION\)\. If it is the account that holds your photos, open https:\/\/photos\.google\.com/,
  );
});

test('withoutSourceOption drops --source and its value, whatever its form', () => {
  for (const { input, expected } of [
    { input: ['2024', 'out', '--source', 'auto'], expected: ['2024', 'out'] },
    { input: ['--source=auto', '2024'], expected: ['2024'] },
    { input: ['2024', '--no-browser'], expected: ['2024', '--no-browser'] },
  ]) {
    assert.deepEqual(withoutSourceOption(['node', 'photo-backup', ...input]), [
      'node',
      'photo-backup',
      ...expected,
    ]);
  }
});

test('one session: created, link shown, polled until picked, items saved per day, session deleted', async () => {
  const { summary, exitCode, rounds } = await runPicker();
  assert.equal(exitCode, 0);
  assert.equal(rounds.length, 1);
  assert.match(
    rounds[0]?.instruction ?? '',
    /^Pick the photos of 2024 in Google Photos — up to 2000 per round — then press Done: http:\/\/127\.0\.0\.1:\d+\/picker\//,
  );
  assert.equal(requests('picker.sessions.create'), 1);
  assert.ok(requests('picker.sessions.get') >= 3, 'polled until the third poll said picked');
  assert.equal(requests('picker.sessions.delete'), 1, 'session deleted at the end');
  const expected = itemsOf2024();
  assert.equal(summary.saved, expected.length);
  assert.equal(summary.source, 'picker');
  await assertSaved(expected);
  const journal = parseJournal(
    await readFile(path.join(dir, 'photos', '.photo-backup', 'saved.jsonl'), 'utf8'),
  );
  assert.deepEqual(
    new Set(journal.records.map((record) => record.id)),
    new Set(expected.map((item) => item.id)),
    'recorded by picked item id',
  );
  assert.ok(journal.records.every((record) => record.source === 'picker' && record.dateSource === 'api'));
});

test('the picker source never stops on skips', () => {
  assert.equal(pickerSource().stopsOnSkips, false);
});

test('picked items of other years are left out and counted', async () => {
  const { summary } = await runPicker();
  assert.deepEqual(summary.otherYears, { '2023': 3 });
  const folders = await readdir(path.join(dir, 'photos'));
  assert.ok(!folders.some((folder) => folder.startsWith('2023')), folders.join(', '));
});

test('videos are saved from =dv (the video bytes, not a thumbnail), photos from =d', async () => {
  await runPicker();
  const videos = itemsOf2024().filter((item) => item.kind === 'video');
  assert.ok(videos.length >= 2);
  const tree = await treeHashes(path.join(dir, 'photos'));
  const hashes = new Set(tree.values());
  for (const video of videos) assert.ok(hashes.has(sha256(emulator.contentOf(video.id))), video.filename);
});

test('two picked items with the same name on one day get two distinct files', async () => {
  const [first, second] = emulator.items;
  assert.ok(first && second);
  assert.equal(first.filename, second.filename);
  assert.equal(first.creationTime.slice(0, 10), second.creationTime.slice(0, 10));
  await runPicker();
  const names = await readdir(path.join(dir, 'photos', first.creationTime.slice(0, 10)));
  const stem = first.filename.replace(/\.\w+$/, '');
  assert.equal(names.filter((name) => name.startsWith(stem)).length, 2, names.join(', '));
  await assertSaved(itemsOf2024());
});

test('a video Google is still processing is reported for later, not failed', async () => {
  const video = itemsOf2024().find((item) => item.kind === 'video');
  assert.ok(video);
  emulator.setItems(
    emulator.items.map((item) => (item.id === video.id ? { ...item, videoStatus: 'PROCESSING' } : item)),
  );
  const { summary, exitCode } = await runPicker();
  assert.equal(exitCode, 0);
  assert.deepEqual(
    summary.unavailable.map((entry) => entry.id),
    [video.id],
  );
  assert.match(summary.unavailable[0]?.reason ?? '', /still processing/);
});

test('pages through mediaItems.list 100 at a time', async () => {
  emulator.setItems(
    readyItems(
      (await import('../../support/emulator/index.ts')).generateItems({
        year: 2024,
        count: 230,
        videoEvery: 0,
        photoSize: 500,
      }),
    ),
  );
  const { summary } = await runPicker();
  assert.equal(summary.found, 230);
  assert.equal(summary.saved, 230);
  assert.equal(requests('picker.mediaItems.list'), 3);
});

test('FAILED_PRECONDITION from mediaItems.list before picking is done is waited on', async () => {
  emulator.setPicker({ pollsBeforePicked: 3 });
  const session = await createSession(api, new AbortController().signal);
  const listed: string[] = [];
  for await (const { item } of listPickedItems(api, session, {
    year: 2024,
    signal: new AbortController().signal,
  }))
    listed.push(item.id);
  assert.equal(listed.length, emulator.items.length);
  assert.ok(requests('picker.mediaItems.list') >= 2, 'the first list was refused and tried again');
  assert.ok(requests('picker.sessions.get') >= 4, 'polled in between');
});

test('picker downloads send the Bearer token (a URL without it is refused)', async () => {
  const session = await createSession(api, new AbortController().signal);
  emulator.setPicker({ pollsBeforePicked: 0 });
  let baseUrl: string | undefined;
  for await (const { item } of listPickedItems(api, session, {
    year: 2024,
    signal: new AbortController().signal,
  })) {
    if (item.type === 'PHOTO') {
      baseUrl = item.mediaFile?.baseUrl;
      break;
    }
  }
  assert.ok(baseUrl);
  const bare = await fetch(`${baseUrl}=d`);
  await bare.arrayBuffer();
  assert.ok(bare.status === 401 || bare.status === 403, `without a token: ${bare.status}`);
  // The same download through the source works, so the source sends the token.
  const { summary } = await runPicker();
  assert.equal(summary.failed.length, 0);
  assert.equal(summary.saved, itemsOf2024().length);
});

test('rounds: a second round overlapping the first saves each item once; a later run skips by id', async () => {
  const ids = itemsOf2024().map((item) => item.id);
  emulator.setPicker({ pickedIds: ids.slice(0, 8) });
  const run: Run = { rounds: [], events: [] };
  let asked = 0;
  const source = pickerSource(
    {
      askMore: async () => {
        asked++;
        if (asked > 1) return false;
        emulator.setPicker({ pickedIds: ids.slice(4, 12) });
        return true;
      },
    },
    run,
  );
  const { summary } = await backup(source, run);
  assert.equal(run.rounds.length, 2);
  assert.equal(asked, 2, 'asked after each round');
  assert.match(run.rounds[1]?.instruction ?? '', /^Round 2: pick more photos of 2024/);
  assert.equal(summary.saved, 12);
  const union = ids.slice(0, 12);
  for (const id of union) assert.equal(emulator.stats.mediaCompleted[id], 1, `${id} downloaded once`);
  await assertSaved(itemsOf2024(union));
  assert.ok(
    run.events.some(
      (event) => event.type === 'notice' && /4 already picked in an earlier round/.test(event.message),
    ),
  );
  assert.equal(requests('picker.sessions.delete'), 2, 'both sessions deleted');

  // A later run (a new session) picking items saved before: skipped by their id, nothing downloaded.
  emulator.setPicker({ pickedIds: ids.slice(8, 14) });
  emulator.resetStats();
  const later = await runPicker();
  assert.equal(later.summary.skipped, 4);
  assert.equal(later.summary.saved, 2);
  for (const id of ids.slice(8, 12)) assert.equal(emulator.stats.mediaRequests[id], undefined);
  await assertSaved(itemsOf2024(ids.slice(0, 14)));
});

test('--rounds 2 runs two sessions without asking', async () => {
  const ids = itemsOf2024().map((item) => item.id);
  emulator.setPicker({ pickedIds: ids.slice(0, 3) });
  const run: Run = { rounds: [], events: [] };
  const source = pickerSource(
    {
      rounds: 2,
      askMore: async () => assert.fail('not asked when the number of rounds is fixed'),
      onSession: (round) => {
        run.rounds.push(round);
        if (round.round === 2) emulator.setPicker({ pickedIds: ids.slice(3, 5) });
      },
    },
    run,
  );
  const { summary } = await backup(source, run);
  assert.equal(run.rounds.length, 2);
  assert.equal(summary.saved, 5);
  await assertSaved(itemsOf2024(ids.slice(0, 5)));
});

test('picking nothing ends cleanly with exit 0 and says so', async () => {
  emulator.setPicker({ pickedIds: [] });
  const { exitCode, summary, events } = await runPicker({
    askMore: async () => assert.fail('no second round'),
  });
  assert.equal(exitCode, 0);
  assert.equal(summary.found, 0);
  assert.ok(events.some((event) => event.type === 'notice' && /Nothing was picked/.test(event.message)));
  assert.equal(requests('picker.sessions.delete'), 1);
});

test('too many sessions (RESOURCE_EXHAUSTED) stops with a clear message and exit 4, without retrying', async () => {
  emulator.setPicker({ maxSessions: 0 });
  await assert.rejects(runPicker(), (error: unknown) => {
    assert.ok(error instanceof BackupError);
    assert.equal(error.exitCode, ExitCode.quota);
    assert.match(error.message, /too many sessions/);
    assert.match(error.message, /run the same command again later/);
    return true;
  });
  assert.equal(requests('picker.sessions.create'), 1);
});

test('nobody presses Done before timeoutIn: exit 3 and what to do; the session is deleted', async () => {
  emulator.setPicker({ pollsBeforePicked: 1_000_000, timeoutIn: '0.2s', pollInterval: '0.02s' });
  await assert.rejects(runPicker(), (error: unknown) => {
    assert.ok(error instanceof BackupError);
    assert.equal(error.exitCode, ExitCode.auth);
    assert.match(error.message, /Nobody pressed Done in Google Photos/);
    assert.match(error.message, /Run the same command again/);
    return true;
  });
  assert.ok(requests('picker.sessions.get') >= 1);
  assert.equal(requests('picker.sessions.delete'), 1);
});

test('expired download URLs are renewed by listing the session again', async () => {
  emulator.setFaults({ urlTtlMs: 30 });
  const run: Run = { rounds: [], events: [] };
  const source = delayed(pickerSource({}, run), async () => {
    await sleep(80); // every URL listed so far has expired
    emulator.setFaults({}); // URLs listed from now on last 60 minutes
  });
  const { summary, exitCode } = await backup(source, run);
  assert.equal(exitCode, 0, JSON.stringify(summary.failed));
  assert.equal(summary.saved, itemsOf2024().length);
  assert.ok(requests('picker.mediaItems.list') >= 2, 'listed again for fresh URLs');
  await assertSaved(itemsOf2024());
});

test('an access token that stops working mid-run is refreshed for downloads', async () => {
  const run: Run = { rounds: [], events: [] };
  const source = delayed(pickerSource({}, run), async () => emulator.expireAccessTokens());
  const { summary, exitCode } = await backup(source, run);
  assert.equal(exitCode, 0, JSON.stringify(summary.failed));
  assert.ok(requests('oauth.token') >= 1, 'refreshed');
  await assertSaved(itemsOf2024());
});

test('when the session has expired too, the items fail with a message to pick them again', async () => {
  emulator.setFaults({ urlTtlMs: 30 });
  emulator.setPicker({ sessionTtlMs: 1500 });
  const run: Run = { rounds: [], events: [] };
  const source = delayed(pickerSource({}, run), () => sleep(1600));
  const { summary, exitCode } = await backup(source, run);
  assert.equal(exitCode, ExitCode.itemsFailed);
  assert.equal(summary.saved, 0);
  assert.equal(summary.failed.length, itemsOf2024().length);
  for (const failure of summary.failed) assert.match(failure.reason, /has expired.*pick it again/);
});

test('Ctrl-C while waiting for the user deletes the session', async () => {
  emulator.setPicker({ pollsBeforePicked: 1_000_000, maxSessions: 1 });
  const controller = new AbortController();
  const run: Run = { rounds: [], events: [] };
  const source = pickerSource(
    {
      onSession: () => {
        setTimeout(() => controller.abort(new Error('interrupted')), 30);
      },
    },
    run,
  );
  await assert.rejects(backup(source, run, controller.signal), InterruptedError);
  assert.equal(requests('picker.sessions.delete'), 1);
  // With one open session allowed, a new one can only be created if the first is gone.
  const again = await createSession(api, new AbortController().signal);
  assert.ok(again.id);
});
