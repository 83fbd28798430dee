import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import {
  backoffDelay,
  classifyError,
  classifyResponse,
  defaultRetryPolicy,
  HttpClient,
  HttpError,
  loadUndici,
  parseGoogleError,
  parseRetryAfter,
  retryDelay,
  ShortBodyError,
  withRetry,
} from '../src/http.ts';
import { startEmulator } from './support/emulator/index.ts';

// Error bodies as Google sends them (photo-backup's API notes, §1.7).
const DAILY_QUOTA = JSON.stringify({
  error: {
    code: 429,
    message:
      "Quota exceeded for quota metric 'All requests' and limit 'All requests per day' of service 'photoslibrary.googleapis.com' for consumer 'project_number:1'.",
    status: 'RESOURCE_EXHAUSTED',
    details: [
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: 'RATE_LIMIT_EXCEEDED',
        domain: 'googleapis.com',
        metadata: { quota_limit: 'ApiCallsPerProjectPerDay', quota_limit_value: '10000' },
      },
    ],
  },
});
const PER_MINUTE = JSON.stringify({
  error: {
    code: 429,
    message:
      'Quota exceeded for quota metric "Write requests" and limit "Write requests per minute per user"',
    status: 'RESOURCE_EXHAUSTED',
    details: [{ reason: 'RATE_LIMIT_EXCEEDED', metadata: { quota_limit: 'WritesPerMinutePerUser' } }],
  },
});
const SCOPES = JSON.stringify({
  error: {
    code: 403,
    message: 'Request had insufficient authentication scopes.',
    status: 'PERMISSION_DENIED',
  },
});
const UNAUTHENTICATED = JSON.stringify({
  error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' },
});

for (const { name, status, body, media, expected } of [
  { name: 'daily quota', status: 429, body: DAILY_QUOTA, media: false, expected: 'daily-quota' },
  { name: 'per-minute quota', status: 429, body: PER_MINUTE, media: false, expected: 'retry' },
  { name: '429 without a body', status: 429, body: '', media: false, expected: 'retry' },
  { name: '503', status: 503, body: '', media: false, expected: 'retry' },
  { name: '500 HTML', status: 500, body: '<html>', media: true, expected: 'retry' },
  { name: '401', status: 401, body: UNAUTHENTICATED, media: false, expected: 'unauthorized' },
  { name: '403 scopes', status: 403, body: SCOPES, media: false, expected: 'permission' },
  { name: '403 on a media URL', status: 403, body: '', media: true, expected: 'expired' },
  { name: '404 on a media URL', status: 404, body: '', media: true, expected: 'expired' },
  { name: '400 on an API call', status: 400, body: '{}', media: false, expected: 'fatal' },
  { name: '404 on an API call', status: 404, body: '{}', media: false, expected: 'fatal' },
]) {
  test(`classifyResponse: ${name} → ${expected}`, () => {
    assert.equal(classifyResponse(status, parseGoogleError(body), media), expected);
  });
}

test('parseGoogleError reads status, message, reasons and quota limit; survives junk', () => {
  const info = parseGoogleError(DAILY_QUOTA);
  assert.equal(info.status, 'RESOURCE_EXHAUSTED');
  assert.equal(info.quotaLimit, 'ApiCallsPerProjectPerDay');
  assert.deepEqual(info.reasons, ['RATE_LIMIT_EXCEEDED']);
  assert.deepEqual(parseGoogleError('not json'), { reasons: [] });
  assert.deepEqual(parseGoogleError('{"error": 5}'), { reasons: [] });
  assert.equal(
    parseGoogleError('{"error":"invalid_grant","error_description":"Token has been expired or revoked."}')
      .status,
    'invalid_grant',
  );
});

for (const { name, error, expected } of [
  {
    name: 'ECONNRESET',
    error: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
    expected: 'retry',
  },
  {
    name: 'undici body timeout',
    error: Object.assign(new Error('Body Timeout Error'), { code: 'UND_ERR_BODY_TIMEOUT' }),
    expected: 'retry',
  },
  {
    name: 'undici socket error',
    error: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
    expected: 'retry',
  },
  {
    name: 'wrapped cause',
    error: new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) }),
    expected: 'retry',
  },
  { name: 'short body', error: new ShortBodyError(5, 10), expected: 'retry' },
  { name: 'terminated', error: new Error('terminated'), expected: 'retry' },
  { name: 'ENOSPC', error: Object.assign(new Error('no space'), { code: 'ENOSPC' }), expected: 'fatal' },
  { name: 'a plain bug', error: new TypeError('x is undefined'), expected: 'fatal' },
]) {
  test(`classifyError: ${name} → ${expected}`, () => assert.equal(classifyError(error), expected));
}

test('parseRetryAfter reads seconds and HTTP dates', () => {
  assert.equal(parseRetryAfter('3', 0), 3000);
  assert.equal(parseRetryAfter('0.5', 0), 500);
  assert.equal(parseRetryAfter(undefined, 0), undefined);
  assert.equal(parseRetryAfter('soon', 0), undefined);
  const now = Date.parse('2024-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('Mon, 01 Jan 2024 00:00:10 GMT', now), 10_000);
});

test('backoff grows, stays within bounds, and honours Retry-After and the 429 minimum', () => {
  const policy = { ...defaultRetryPolicy, baseDelayMs: 100, maxDelayMs: 5000, rateLimitDelayMs: 3000 };
  assert.equal(
    backoffDelay(0, policy, () => 0),
    50,
  );
  assert.equal(
    backoffDelay(3, policy, () => 1),
    800,
  );
  assert.equal(
    backoffDelay(20, policy, () => 1),
    5000,
  );
  const withHeader = new HttpError({
    status: 503,
    url: 'http://x/',
    google: { reasons: [] },
    retryAfterMs: 1234,
  });
  assert.equal(
    retryDelay(withHeader, 0, policy, () => 0),
    1234,
  );
  const rateLimited = new HttpError({ status: 429, url: 'http://x/', google: { reasons: [] } });
  assert.equal(
    retryDelay(rateLimited, 0, policy, () => 0),
    3000,
  );
});

test('withRetry retries what is retryable, then gives up; never retries fatal errors', async () => {
  const policy = { ...defaultRetryPolicy, retries: 3, baseDelayMs: 1, maxDelayMs: 2 };
  let calls = 0;
  const value = await withRetry(
    async () => {
      calls++;
      if (calls < 3) throw new ShortBodyError(1, 2);
      return 'ok';
    },
    { policy },
  );
  assert.equal(value, 'ok');
  assert.equal(calls, 3);
  calls = 0;
  await assert.rejects(
    withRetry(
      async () => {
        calls++;
        throw new ShortBodyError(1, 2);
      },
      { policy },
    ),
    ShortBodyError,
  );
  assert.equal(calls, 4);
  calls = 0;
  await assert.rejects(
    withRetry(
      async () => {
        calls++;
        throw new TypeError('bug');
      },
      { policy },
    ),
    TypeError,
  );
  assert.equal(calls, 1);
});

test('HttpError messages never carry the query string of a signed URL', () => {
  const error = new HttpError({
    status: 403,
    url: 'http://127.0.0.1:1/lh3/abc?sig=SECRET&token=SECRET',
    google: { reasons: [] },
  });
  assert.ok(!error.message.includes('SECRET'));
});

// undici's index loads fetch, WebSocket, the mocks and more: the run takes its Agent and `request`
// from their own files (a start-up cost, docs/performance.md). An undici that moved them would
// still work through the index; this test says so instead of letting the start grow quietly.
test('the HTTP client uses the Agent and request of undici from their own files, over real HTTP', async () => {
  const require = createRequire(import.meta.url);
  const parts = await loadUndici();
  assert.equal(parts.Agent, require('undici/lib/dispatcher/agent.js'));
  const emulator = await startEmulator({ items: [] });
  const http = new HttpClient({ policy: { retries: 0 } });
  try {
    // A JSON call and a media GET with a query string: the path and search reach the server.
    const error = await http
      .jsonOnce({
        method: 'GET',
        url: `${emulator.driveUrl}/drive/v3/files?q=${encodeURIComponent("name = 'x'")}`,
      })
      .catch((caught: unknown) => caught);
    assert.ok(error instanceof HttpError && error.status === 401, String(error));
    const opened = await http
      .open(`${emulator.driveUrl}/drive/v3/files/none?alt=media`, {}, new AbortController().signal)
      .catch((caught: unknown) => caught);
    assert.ok(opened instanceof HttpError && opened.status === 401, String(opened));
  } finally {
    await http.close();
    await emulator.close();
  }
});
