/**
 * Answers the real Google gives that a client written beside its own emulator could miss: an API
 * not enabled, media redirects, the media-byte quota, too many picker sessions, and a video that
 * stays in processing. Black-box through the built CLI against the emulator's modes for them
 * (run `npm run build` first; `npm test` does), plus the pure rules underneath.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import {
  HttpClient,
  HttpError,
  headersForRedirect,
  isBareMediaRateLimit,
  isServiceDisabled,
  parseGoogleError,
  safeActivationUrl,
} from '../src/http.ts';
import { parseJournal } from '../src/manifest.ts';
import type { BackupSummary } from '../src/report/events.ts';
import { MEDIA_QUOTA_STOP } from '../src/run-end.ts';
import { isTooManySessions } from '../src/sources/picker/api.ts';
import { emulatorEnv, runCli, sha256, treeHashes, writeAccount } from './helpers/cli.ts';
import { type Emulator, type EmulatorItem, startEmulator } from './support/emulator/index.ts';

let dir: string;
let emulator: Emulator;

function readyItems(items: EmulatorItem[]): EmulatorItem[] {
  return items.map((item) => (item.kind === 'video' ? { ...item, videoStatus: 'READY' as const } : item));
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pb-google-answers-'));
  emulator = await startEmulator({
    generate: { year: 2024, count: 20, videoEvery: 5, photoSize: 2000, videoSize: 5000 },
    picker: { pollInterval: '0.01s', pollsBeforePicked: 1 },
  });
  emulator.setItems(readyItems(emulator.items));
  await writeAccount(emulator, dir);
});
afterEach(async () => {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCli(['2024', 'out', ...args], { cwd: dir, env: emulatorEnv(emulator) });

function summaryOf(stdout: string): BackupSummary {
  const line = stdout
    .split('\n')
    .filter((text) => text.startsWith('{'))
    .map((text) => JSON.parse(text) as { type: string; summary?: BackupSummary })
    .find((event) => event.type === 'summary');
  assert.ok(line?.summary, stdout);
  return line.summary;
}

const journal = async () =>
  parseJournal(await readFile(path.join(dir, 'out', '.photo-backup', 'saved.jsonl'), 'utf8'));

describe('an API that is not enabled (403 SERVICE_DISABLED)', () => {
  test('library: names the API, prints the activation link, exit 3, never says to delete the token; auto also names the picker and Takeout commands', async () => {
    emulator.setFaults({ serviceDisabled: { service: 'library' } });
    for (const source of ['library', 'auto']) {
      const result = await cli('--source', source);
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stderr, /The Photos Library API is not enabled in the Google Cloud project/);
      assert.ok(
        result.stderr.includes(
          'https://console.developers.google.com/apis/api/photoslibrary.googleapis.com/overview?project=123456789012',
        ),
        result.stderr,
      );
      assert.match(result.stderr, /keep token\.json/);
      assert.doesNotMatch(result.stderr, /delete token|31 March 2025|\n\s+at /i);
      // auto was not told which API to use: it also names the routes that need no Library API,
      // as its other refusals do (the `--source auto` is dropped from the command it prints).
      if (source === 'auto') {
        assert.ok(
          result.stderr.includes(
            'To continue, run:\n  photo-backup 2024 out --source picker\nor, with a Takeout export:\n  photo-backup 2024 out --takeout <archives>\n',
          ),
          result.stderr,
        );
        assert.equal(result.stderr.match(/not enabled/g)?.length, 1, result.stderr);
      }
    }
    assert.equal(emulator.stats.requests['picker.sessions.create'], undefined, 'auto does not go on');
  });

  test('picker, the older answer with only a Help link: the same, exit 3', async () => {
    emulator.setFaults({ serviceDisabled: { service: 'picker', form: 'help-only' } });
    const result = await cli('--source', 'picker', '--no-browser');
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /The Photos Picker API is not enabled/);
    assert.ok(
      result.stderr.includes('/apis/api/photospicker.googleapis.com/overview?project='),
      result.stderr,
    );
    assert.doesNotMatch(result.stderr, /delete token/i);
    assert.equal(emulator.stats.requests['picker.sessions.create'], 1, 'not retried');
  });

  test('the rule: ErrorInfo reason, or the older message; the link only when it is Google console https', () => {
    const withInfo = parseGoogleError(
      JSON.stringify({
        error: {
          code: 403,
          status: 'PERMISSION_DENIED',
          message: 'x',
          details: [
            { reason: 'SERVICE_DISABLED', metadata: { activationUrl: 'https://console.cloud.google.com/a' } },
          ],
        },
      }),
    );
    assert.ok(isServiceDisabled(403, withInfo));
    assert.equal(safeActivationUrl(withInfo), 'https://console.cloud.google.com/a');
    const older = parseGoogleError(
      JSON.stringify({
        error: {
          code: 403,
          message: 'Photos Library API has not been used in project 1 before or it is disabled. Enable it…',
        },
      }),
    );
    assert.ok(isServiceDisabled(403, older));
    assert.ok(
      !isServiceDisabled(
        403,
        parseGoogleError(
          '{"error":{"code":403,"message":"Request had insufficient authentication scopes."}}',
        ),
      ),
    );
    for (const hostile of [
      'http://console.cloud.google.com/a',
      'https://evil.example/a',
      'javascript:alert(1)',
    ]) {
      assert.equal(safeActivationUrl({ reasons: [], activationUrl: hostile }), undefined, hostile);
    }
  });
});

describe('redirects on media downloads', () => {
  test('library: =d and =dv redirected to another host are followed and saved', async () => {
    emulator.setFaults({ mediaRedirect: true });
    const result = await cli('--source', 'library');
    assert.equal(result.code, 0, result.stderr);
    const tree = await treeHashes(path.join(dir, 'out'));
    assert.deepEqual(
      [...tree.values()].sort(),
      emulator.items.map((item) => sha256(emulator.contentOf(item.id))).sort(),
    );
    assert.ok((emulator.stats.requests['media.redirected'] ?? 0) >= emulator.items.length);
  });

  test('picker: the Bearer token is not sent to the other host, so its downloads work', async () => {
    emulator.setFaults({ mediaRedirect: true });
    const result = await cli('--source', 'picker', '--no-browser');
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal((await treeHashes(path.join(dir, 'out'))).size, emulator.items.length);
    assert.equal(emulator.stats.requests['media.redirected.authorization'], undefined);
  });

  test('a redirect loop ends after a few hops as a failure of that item, not a hang', async () => {
    const server = createServer((req, res) => {
      res.writeHead(302, { location: `/again${req.url}` });
      res.end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const http = new HttpClient();
    try {
      const { port } = server.address() as AddressInfo;
      await assert.rejects(
        http.open(`http://127.0.0.1:${port}/x=d`, {}, AbortSignal.timeout(5000)),
        (error) => {
          assert.ok(error instanceof HttpError);
          assert.match(error.message, /too many redirects/);
          assert.equal(error.kind, 'fatal');
          return true;
        },
      );
    } finally {
      await http.close();
      server.close();
    }
  });

  test('the rule: Authorization and cookies stay with their origin', () => {
    const headers = { authorization: 'Bearer x', Cookie: 'c', range: 'bytes=0-' };
    const from = new URL('https://lh3.googleusercontent.com/a=d');
    assert.deepEqual(
      headersForRedirect(headers, from, new URL('https://lh3.googleusercontent.com/b')),
      headers,
    );
    assert.deepEqual(headersForRedirect(headers, from, new URL('https://video.googleusercontent.com/b')), {
      range: 'bytes=0-',
    });
  });
});

describe('the media-byte quota', () => {
  test('media 429s with no JSON in a row end the run as a quota stop (exit 4); the next run continues', async () => {
    emulator.setFaults({ mediaQuotaAfter: 3 });
    const result = await cli('--source', 'library', '--concurrency', '2');
    assert.equal(result.code, 4, result.stdout + result.stderr);
    assert.match(result.stderr, /media host refused 5 downloads in a row with 429/);
    assert.match(result.stderr, /run the same command tomorrow/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
    // Not six retries for every item: a handful of refused answers, then the stop.
    const media = emulator.stats.requests.media ?? 0;
    assert.ok(media <= 3 + MEDIA_QUOTA_STOP + 2, `media requests: ${media}`);

    emulator.setFaults({});
    const again = await cli('--source', 'library');
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await treeHashes(path.join(dir, 'out'))).size, emulator.items.length);
  });

  test('the rule: a 429 of the media host without JSON, not an API 429 nor one with a body', () => {
    const bare = new HttpError({
      status: 429,
      url: 'https://lh3/x',
      google: parseGoogleError('<html>'),
      media: true,
    });
    assert.ok(isBareMediaRateLimit(bare));
    const api = new HttpError({ status: 429, url: 'https://photoslibrary/x', google: parseGoogleError('') });
    assert.ok(!isBareMediaRateLimit(api));
    const json = new HttpError({
      status: 429,
      url: 'https://lh3/x',
      google: parseGoogleError('{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","message":"m"}}'),
      media: true,
    });
    assert.ok(!isBareMediaRateLimit(json));
  });
});

test('too many picker sessions, with or without an ErrorInfo: exit 4 with the message, no retries', async () => {
  for (const form of ['plain', 'rate-limit'] as const) {
    emulator.resetStats();
    emulator.setFaults({ tooManySessions: form });
    const result = await cli('--source', 'picker', '--no-browser');
    assert.equal(result.code, 4, `${form}: ${result.stderr}`);
    assert.match(result.stderr, /too many sessions/);
    assert.match(result.stderr, /Too many sessions have been created/, 'Google’s message is shown');
    assert.equal(emulator.stats.requests['picker.sessions.create'], 1, form);
  }
});

test('the rule: RESOURCE_EXHAUSTED on sessions.create is "too many sessions" unless it names a per-minute quota', () => {
  const answer = (details: unknown[], retryAfterMs?: number) =>
    new HttpError({
      status: 429,
      url: 'https://photospicker.googleapis.com/v1/sessions',
      google: parseGoogleError(
        JSON.stringify({ error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: 'm', details } }),
      ),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  assert.ok(isTooManySessions(answer([])));
  assert.ok(isTooManySessions(answer([{ reason: 'RATE_LIMIT_EXCEEDED', metadata: {} }])));
  assert.ok(
    !isTooManySessions(
      answer([{ reason: 'RATE_LIMIT_EXCEEDED', metadata: { quota_limit: 'WritesPerMinutePerUser' } }]),
    ),
  );
  assert.ok(!isTooManySessions(answer([], 1000)));
});

describe('a video that stays in processing', () => {
  test('is remembered as pending, asked for by id, and the skip rule applies to the rest', async () => {
    const video = emulator.items.find((item) => item.kind === 'video') as EmulatorItem;
    const withVideo = (status: 'PROCESSING' | 'READY') =>
      emulator.setItems(
        emulator.items.map((item) => (item.id === video.id ? { ...item, videoStatus: status } : item)),
      );
    withVideo('PROCESSING');

    const first = await cli('--source', 'library', '--json');
    assert.equal(first.code, 0, first.stderr);
    const one = summaryOf(first.stdout);
    assert.deepEqual(
      one.unavailable.map((item) => item.id),
      [video.id],
    );
    assert.equal(one.complete, true, 'the year is walked; only the video waits');
    assert.deepEqual([...(await journal()).pending.keys()], [video.id]);

    emulator.resetStats();
    const second = await cli('--source', 'library', '--json');
    assert.equal(second.code, 0, second.stderr);
    const two = summaryOf(second.stdout);
    assert.equal(two.stopped.reason, 'skips', JSON.stringify(two.stopped));
    assert.deepEqual(
      two.unavailable.map((item) => item.filename),
      [video.filename],
      'still processing: listed in the summary',
    );
    assert.equal(emulator.stats.requests['library.batchGet'], 1);
    assert.deepEqual([...(await journal()).pending.keys()], [video.id]);

    withVideo('READY');
    const third = await cli('--source', 'library', '--json');
    assert.equal(third.code, 0, third.stderr);
    const three = summaryOf(third.stdout);
    assert.equal(three.saved, 1);
    assert.equal(three.unavailable.length, 0);
    assert.equal(three.stopped.reason, 'skips');
    const after = await journal();
    assert.equal(after.pending.size, 0);
    assert.ok(after.records.some((record) => record.id === video.id));
    const tree = await treeHashes(path.join(dir, 'out'));
    assert.ok([...tree.values()].includes(sha256(emulator.contentOf(video.id))));
  });

  test('a pending item Google no longer has is dropped with a notice', async () => {
    const video = emulator.items.find((item) => item.kind === 'video') as EmulatorItem;
    emulator.setItems(
      emulator.items.map((item) => (item.id === video.id ? { ...item, videoStatus: 'PROCESSING' } : item)),
    );
    assert.equal((await cli('--source', 'library')).code, 0);
    emulator.setItems(emulator.items.filter((item) => item.id !== video.id));
    const result = await cli('--source', 'library');
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout + result.stderr,
      new RegExp(`${video.filename} is no longer in Google Photos`),
    );
    assert.equal((await journal()).pending.size, 0);
  });

  test('the record: a pending line, ended by a saved line or a done line; torn lines ignored', () => {
    const lines = [
      { pending: 'a', of: 'library:2024', filename: 'a.mp4', at: 't' },
      { pending: 'b', of: 'library:2024', filename: 'b.mp4', at: 't' },
      { pending: 'c', of: 'library:2024', filename: 'c.mp4', at: 't' },
      { id: 'a', path: '2024-01-01/a.mp4', size: 1, source: 'library', savedAt: 't' },
      { pending: 'b', of: 'library:2024', filename: '', at: 't', done: true },
    ].map((line) => JSON.stringify(line));
    const parsed = parseJournal(`${lines.join('\n')}\n{"pending":"d","of":`);
    assert.deepEqual([...parsed.pending.keys()], ['c']);
    assert.equal(parsed.walks.size, 0, 'a pending line is not a walk line');
    assert.equal(parsed.bad, 1);
  });
});

test('a second --demo run stops by the skip rule instead of walking all 48 items again', async () => {
  const first = await runCli(['--demo', '2024', '--json'], { cwd: dir });
  assert.equal(first.code, 0, first.stderr);
  const one = summaryOf(first.stdout);
  assert.equal(one.found, 48);
  assert.ok(one.unavailable.length >= 1, 'the demo has a video still processing');
  const second = await runCli(['--demo', '2024', '--json'], { cwd: dir });
  assert.equal(second.code, 0, second.stderr);
  const two = summaryOf(second.stdout);
  assert.equal(two.stopped.reason, 'skips', JSON.stringify(two.stopped));
  assert.ok(two.skipped === 6 && two.found < 48, `found ${two.found}, skipped ${two.skipped}`);
  assert.equal(two.unavailable.length, one.unavailable.length, 'the processing video is listed again');
});
