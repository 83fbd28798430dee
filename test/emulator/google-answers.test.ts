/**
 * The emulator answers like Google: Google's documented requests and error answers replayed
 * against it, each checked for Google's HTTP status, `status` string and message shape, plus the
 * switchable modes of Google behaviours the client must handle (an API not enabled, too many
 * picker sessions, a bare media 429, media redirects). `--demo` serves none of the test routes.
 *
 * The table's facts, with their sources:
 * - search pageSize: "The default pageSize is 25, the maximum is 100."
 *   (https://developers.google.com/photos/library/reference/rest/v1/mediaItems/search). Whether
 *   Google refuses or trims a larger one is not documented; the emulator refuses, and the client
 *   never sends more than 100.
 * - orderBy: "The orderBy field only works when a dateFilter is used." (same page)
 * - batchGet: "The maximum number of media items that can be retrieved in one call is 50."
 *   (https://developers.google.com/photos/library/reference/rest/v1/mediaItems/batchGet)
 * - Picker mediaItems.list: "values above 100 will be coerced to 100. Negative values will result
 *   in an INVALID_ARGUMENT error." and "A FAILED_PRECONDITION error is returned if the user has not
 *   yet finished picking" (https://developers.google.com/photos/picker/reference/rest/v1/mediaItems/list)
 * - An unknown or deleted session: 404 NOT_FOUND, Google's standard answer for a missing entity
 *   (https://cloud.google.com/apis/design/errors#handling_errors).
 * - SERVICE_DISABLED: hermanho/MMM-GooglePhotos#204 (with ErrorInfo), mrworf/photoframe#147
 *   (Help link only).
 * - System parameters of every Google REST API (https://cloud.google.com/apis/docs/system-parameters):
 *   `prettyPrint` ("with indentations and line breaks", default true) and `fields`, a partial
 *   response (the photoslibrary.v1 discovery document lists both among its parameters).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startDemo } from '../../src/demo.ts';
import { type Emulator, startEmulator } from '../support/emulator/index.ts';

// biome-ignore lint/suspicious/noExplicitAny: answers are probed loosely; the assertions check their shape
type Json = Record<string, any>;

interface Case {
  name: string;
  api: 'library' | 'picker';
  method: 'GET' | 'POST';
  /** Path after the API's prefix; `{session}` is a live session not yet picked. */
  path: string;
  body?: unknown;
  httpStatus: number;
  status?: string;
  message?: RegExp;
  /** For a 200 answer: a check of its body. */
  check?: (body: Json) => void;
}

const ids = (count: number) =>
  Array.from({ length: count }, (_, index) => `mediaItemIds=id${index}`).join('&');

const cases: Case[] = [
  {
    name: 'search with pageSize over 100',
    api: 'library',
    method: 'POST',
    path: '/v1/mediaItems:search',
    body: { pageSize: 101 },
    httpStatus: 400,
    status: 'INVALID_ARGUMENT',
    message: /page size/i,
  },
  {
    name: 'search with orderBy and no dateFilter',
    api: 'library',
    method: 'POST',
    path: '/v1/mediaItems:search',
    body: { orderBy: 'MediaMetadata.creation_time desc' },
    httpStatus: 400,
    status: 'INVALID_ARGUMENT',
    message: /orderBy.*dateFilter/,
  },
  {
    name: 'batchGet with 51 ids',
    api: 'library',
    method: 'GET',
    path: `/v1/mediaItems:batchGet?${ids(51)}`,
    httpStatus: 400,
    status: 'INVALID_ARGUMENT',
    message: /50/,
  },
  {
    name: 'batchGet with 50 ids answers per item',
    api: 'library',
    method: 'GET',
    path: `/v1/mediaItems:batchGet?${ids(50)}`,
    httpStatus: 200,
    check: (body) => {
      assert.equal(body.mediaItemResults.length, 50);
      assert.equal(body.mediaItemResults[0].status.code, 3);
    },
  },
  {
    name: 'sessions.get of an unknown session',
    api: 'picker',
    method: 'GET',
    path: '/v1/sessions/00000000-0000-4000-8000-000000000000',
    httpStatus: 404,
    status: 'NOT_FOUND',
    message: /not found/i,
  },
  {
    name: 'mediaItems.list of an unknown session',
    api: 'picker',
    method: 'GET',
    path: '/v1/mediaItems?sessionId=00000000-0000-4000-8000-000000000000',
    httpStatus: 404,
    status: 'NOT_FOUND',
    message: /not found/i,
  },
  {
    name: 'mediaItems.list before picking is finished',
    api: 'picker',
    method: 'GET',
    path: '/v1/mediaItems?sessionId={session}',
    httpStatus: 400,
    status: 'FAILED_PRECONDITION',
    message: /not finished picking/,
  },
  {
    name: 'mediaItems.list with a negative pageSize',
    api: 'picker',
    method: 'GET',
    path: '/v1/mediaItems?sessionId={session}&pageSize=-1',
    httpStatus: 400,
    status: 'INVALID_ARGUMENT',
    message: /pageSize/,
  },
];

let emulator: Emulator;
let bearer: string;

async function call(
  api: 'library' | 'picker',
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Json }> {
  const base = api === 'library' ? emulator.libraryUrl : emulator.pickerUrl;
  const res = await request(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Json };
}

/** Google's envelope: `{"error": {code = HTTP status, message, status}}`. */
function assertGoogleError(answer: { status: number; json: Json }, httpStatus: number, status: string) {
  assert.equal(answer.status, httpStatus);
  const error = answer.json.error;
  assert.equal(typeof error, 'object');
  assert.equal(error.code, httpStatus);
  assert.equal(error.status, status);
  assert.equal(typeof error.message, 'string');
  assert.ok(error.message.length > 0);
}

describe("the emulator answers Google's documented requests like Google", () => {
  before(async () => {
    emulator = await startEmulator({
      generate: { year: 2024, count: 150, videoEvery: 0, photoSize: 100 },
      picker: { pollsBeforePicked: 1_000_000 },
    });
    bearer = emulator.issueToken().access_token as string;
  });
  after(() => emulator.close());

  for (const each of cases) {
    test(each.name, async () => {
      let path = each.path;
      if (path.includes('{session}')) {
        const session = await call('picker', 'POST', '/v1/sessions', {});
        path = path.replace('{session}', session.json.id);
      }
      const answer = await call(each.api, each.method, path, each.body);
      if (each.httpStatus === 200) {
        assert.equal(answer.status, 200);
        each.check?.(answer.json);
        return;
      }
      assertGoogleError(answer, each.httpStatus, each.status as string);
      if (each.message) assert.match(answer.json.error.message, each.message);
    });
  }

  test('system parameters: JSON is indented unless prettyPrint=false; fields= answers only the fields named', async () => {
    const raw = async (
      path: string,
      init: { method?: 'GET' | 'POST'; body?: unknown; headers?: object } = {},
    ) => {
      const res = await request(`${emulator.libraryUrl}${path}`, {
        method: init.method ?? 'GET',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', ...init.headers },
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      });
      return { status: res.statusCode, text: await res.body.text() };
    };
    const pretty = await raw('/v1/mediaItems?pageSize=2');
    assert.match(pretty.text, /\n {2}"mediaItems"/, 'indented by default');
    const compact = await raw('/v1/mediaItems?pageSize=2&prettyPrint=false');
    assert.equal(compact.text.includes('\n'), false, 'one line with prettyPrint=false');
    // The same answer (each baseUrl is signed anew for each answer).
    const unsigned = (text: string) =>
      (JSON.parse(text) as Json).mediaItems.map(({ baseUrl, ...item }: Json) => item);
    assert.deepEqual(unsigned(compact.text), unsigned(pretty.text), 'the same answer');

    const full = JSON.parse(pretty.text) as Json;
    const ids = await raw('/v1/mediaItems:search?fields=nextPageToken,mediaItems(id)&prettyPrint=false', {
      method: 'POST',
      body: { pageSize: 2 },
    });
    assert.equal(ids.status, 200);
    assert.deepEqual(JSON.parse(ids.text), {
      nextPageToken: JSON.parse(ids.text).nextPageToken,
      mediaItems: full.mediaItems.map((item: Json) => ({ id: item.id })),
    });
    assert.equal(typeof JSON.parse(ids.text).nextPageToken, 'string');
    // The sub-field form, and the header form (X-Goog-FieldMask).
    const slash = JSON.parse(
      (await raw('/v1/mediaItems?pageSize=2&fields=mediaItems/mediaMetadata/width')).text,
    );
    assert.deepEqual(slash, {
      mediaItems: full.mediaItems.map((item: Json) => ({
        mediaMetadata: { width: item.mediaMetadata.width },
      })),
    });
    const header = JSON.parse(
      (await raw('/v1/mediaItems?pageSize=2', { headers: { 'x-goog-fieldmask': 'mediaItems(id,filename)' } }))
        .text,
    );
    assert.deepEqual(header, {
      mediaItems: full.mediaItems.map((item: Json) => ({ id: item.id, filename: item.filename })),
    });
    // An error keeps its whole envelope.
    const refused = await raw('/v1/mediaItems:search?fields=mediaItems(id)', {
      method: 'POST',
      body: { pageSize: 101 },
    });
    assertGoogleError({ status: refused.status, json: JSON.parse(refused.text) }, 400, 'INVALID_ARGUMENT');
    // A mask that does not parse is refused.
    const malformed = await raw('/v1/mediaItems?pageSize=2&fields=mediaItems(id');
    assertGoogleError(
      { status: malformed.status, json: JSON.parse(malformed.text) },
      400,
      'INVALID_ARGUMENT',
    );
  });

  test('picker mediaItems.list coerces a pageSize over 100 to 100', async () => {
    const picked = await startEmulator({
      generate: { year: 2024, count: 150, videoEvery: 0, photoSize: 100 },
      picker: { pollsBeforePicked: 0 },
    });
    try {
      const token = picked.issueToken().access_token as string;
      const headers = { authorization: `Bearer ${token}` };
      const created = await request(`${picked.pickerUrl}/v1/sessions`, {
        method: 'POST',
        headers,
        body: '{}',
      });
      const session = (await created.body.json()) as Json;
      await (await request(`${picked.pickerUrl}/v1/sessions/${session.id}`, { headers })).body.dump();
      const list = await request(`${picked.pickerUrl}/v1/mediaItems?sessionId=${session.id}&pageSize=150`, {
        headers,
      });
      assert.equal(list.statusCode, 200);
      const body = (await list.body.json()) as Json;
      assert.equal(body.mediaItems.length, 100);
      assert.equal(typeof body.nextPageToken, 'string');
    } finally {
      await picked.close();
    }
  });
});

describe("the emulator's modes for Google behaviours the client must handle", () => {
  before(async () => {
    emulator = await startEmulator({ generate: { year: 2024, count: 4, videoEvery: 0, photoSize: 100 } });
    bearer = emulator.issueToken().access_token as string;
  });
  after(() => emulator.close());

  test('serviceDisabled (ErrorInfo form): 403 PERMISSION_DENIED, reason SERVICE_DISABLED, activationUrl', async () => {
    emulator.setFaults({ serviceDisabled: { service: 'library' } });
    const answer = await call('library', 'POST', '/v1/mediaItems:search', {});
    assertGoogleError(answer, 403, 'PERMISSION_DENIED');
    assert.match(answer.json.error.message, /Photos Library API has not been used in project \d+ before/);
    const info = answer.json.error.details.find((detail: Json) => detail.reason === 'SERVICE_DISABLED');
    assert.equal(info['@type'], 'type.googleapis.com/google.rpc.ErrorInfo');
    assert.equal(info.metadata.service, 'photoslibrary.googleapis.com');
    assert.match(info.metadata.activationUrl, /^https:\/\/console\.developers\.google\.com\/apis\/api\//);
    // The other API still answers.
    const picker = await call('picker', 'POST', '/v1/sessions', {});
    assert.equal(picker.status, 200);
  });

  test('serviceDisabled (older form): only the message and a Help link', async () => {
    emulator.setFaults({ serviceDisabled: { service: 'picker', form: 'help-only' } });
    const answer = await call('picker', 'POST', '/v1/sessions', {});
    assertGoogleError(answer, 403, 'PERMISSION_DENIED');
    assert.equal(answer.json.error.details.length, 1);
    assert.equal(answer.json.error.details[0]['@type'], 'type.googleapis.com/google.rpc.Help');
  });

  for (const form of ['plain', 'rate-limit'] as const) {
    test(`tooManySessions (${form}): sessions.create answers 429 RESOURCE_EXHAUSTED`, async () => {
      emulator.setFaults({ tooManySessions: form });
      const answer = await call('picker', 'POST', '/v1/sessions', {});
      assertGoogleError(answer, 429, 'RESOURCE_EXHAUSTED');
      assert.equal(answer.json.error.details !== undefined, form === 'rate-limit');
    });
  }

  test('mediaQuotaAfter: later media requests answer 429 with no JSON body', async () => {
    emulator.setFaults({ mediaQuotaAfter: 1 });
    const search = await call('library', 'POST', '/v1/mediaItems:search', {});
    const [first, second] = search.json.mediaItems as Json[];
    const ok = await request(`${first?.baseUrl}=d`);
    await ok.body.dump();
    assert.equal(ok.statusCode, 200);
    const refused = await request(`${second?.baseUrl}=d`);
    assert.equal(refused.statusCode, 429);
    const text = await refused.body.text();
    assert.throws(() => JSON.parse(text));
  });

  test('mediaRedirect: =d answers 302 to another port, which refuses an Authorization header', async () => {
    emulator.setFaults({ mediaRedirect: true });
    const search = await call('library', 'POST', '/v1/mediaItems:search', {});
    const item = (search.json.mediaItems as Json[])[0] as Json;
    const redirect = await request(`${item.baseUrl}=d`);
    await redirect.body.dump();
    assert.equal(redirect.statusCode, 302);
    const location = new URL(redirect.headers.location as string);
    assert.notEqual(location.origin, new URL(emulator.url).origin);
    const bytes = await request(location);
    assert.equal(bytes.statusCode, 200);
    assert.deepEqual(Buffer.from(await bytes.body.arrayBuffer()), emulator.contentOf(item.id));
    const withAuth = await request(location, { headers: { authorization: `Bearer ${bearer}` } });
    await withAuth.body.dump();
    assert.equal(withAuth.statusCode, 400);
  });
});

test('--demo serves no admin or fault routes', async () => {
  const demo = await startDemo(2024);
  try {
    for (const [method, path] of [
      ['GET', '/__emulator/token'],
      ['GET', '/__emulator/client-secret'],
      ['POST', '/__emulator/faults'],
      ['GET', '/__emulator/stats'],
    ] as const) {
      const res = await request(`${demo.url}${path}`, {
        method,
        ...(method === 'POST' ? { body: '{"apiUnavailableRate":1}' } : {}),
      });
      const body = (await res.body.json()) as Json;
      assert.equal(res.statusCode, 404, path);
      assert.equal(body.error.status, 'NOT_FOUND');
    }
  } finally {
    await demo.close();
  }
});
