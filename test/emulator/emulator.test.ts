import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import {
  type Emulator,
  type EmulatorItem,
  generateItems,
  libraryScope,
  pickerScope,
  startEmulator,
} from '../support/emulator/index.ts';

// biome-ignore lint/suspicious/noExplicitAny: responses are probed loosely; the assertions check their shape
type Json = Record<string, any>;

const year = 2024;

function pkcePair(
  verifier = 'v'.repeat(43) + createHash('sha1').update(String(Math.random())).digest('hex'),
) {
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function clientOf(emulator: Emulator, kind: 'installed' | 'web' = 'installed') {
  const json = emulator.clientSecret(kind) as Record<string, { client_id: string; client_secret: string }>;
  const client = json[kind];
  assert.ok(client);
  return { id: client.client_id, secret: client.client_secret };
}

/** Follows the consent URL like a browser would after "Allow": returns the redirect target. */
async function consent(
  emulator: Emulator,
  params: Record<string, string>,
): Promise<{ status: number; location?: URL; body: string }> {
  const url = new URL(emulator.authUri);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  const res = await fetch(url, { redirect: 'manual' });
  const location = res.headers.get('location');
  return { status: res.status, location: location ? new URL(location) : undefined, body: await res.text() };
}

async function token(
  emulator: Emulator,
  form: Record<string, string>,
): Promise<{ status: number; body: Json }> {
  const res = await fetch(emulator.tokenUri, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

async function api(
  url: string,
  options: { token?: string; method?: string; body?: unknown } = {},
): Promise<{ status: number; body: Json; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, {
    method: options.method ?? (options.body !== undefined ? 'POST' : 'GET'),
    headers,
    body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {}, headers: res.headers };
}

async function search(emulator: Emulator, accessToken: string, body: unknown) {
  return api(`${emulator.libraryUrl}/v1/mediaItems:search`, { token: accessToken, body });
}

const yearFilter = { dateFilter: { dates: [{ year, month: 0, day: 0 }] } };

async function download(
  url: string,
  accessToken?: string,
): Promise<{ status: number; bytes: Buffer; headers: Headers }> {
  const res = await fetch(url, { headers: accessToken ? { authorization: `Bearer ${accessToken}` } : {} });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const unauthenticatedBody = {
  error: {
    code: 401,
    message:
      'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
    status: 'UNAUTHENTICATED',
  },
};
const insufficientScopeBody = {
  error: {
    code: 403,
    message: 'Request had insufficient authentication scopes.',
    status: 'PERMISSION_DENIED',
  },
};

describe('OAuth', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator();
  });
  after(() => emulator.close());

  const consentParams = (
    emulatorClientId: string,
    challenge: string,
    redirect = 'http://127.0.0.1:4567',
  ) => ({
    client_id: emulatorClientId,
    redirect_uri: redirect,
    response_type: 'code',
    scope: `${libraryScope} ${pickerScope}`,
    state: 'state-123',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    access_type: 'offline',
    prompt: 'consent',
  });

  test('code + PKCE exchange, single-use code, refresh, then invalid_grant after revoke', async () => {
    const client = clientOf(emulator);
    const { verifier, challenge } = pkcePair();
    const answer = await consent(emulator, consentParams(client.id, challenge));
    assert.equal(answer.status, 302);
    assert.equal(answer.location?.origin, 'http://127.0.0.1:4567');
    assert.equal(answer.location?.searchParams.get('state'), 'state-123');
    const code = answer.location?.searchParams.get('code');
    assert.ok(code);
    const form = {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: 'http://127.0.0.1:4567',
      client_id: client.id,
      client_secret: client.secret,
    };
    const exchanged = await token(emulator, form);
    assert.equal(exchanged.status, 200);
    assert.equal(exchanged.body.token_type, 'Bearer');
    assert.equal(exchanged.body.scope, `${libraryScope} ${pickerScope}`);
    assert.equal(exchanged.body.expires_in, 3600);
    assert.ok(exchanged.body.access_token && exchanged.body.refresh_token);

    const again = await token(emulator, form);
    assert.deepEqual(again, {
      status: 400,
      body: { error: 'invalid_grant', error_description: 'Bad Request' },
    });

    const refreshed = await token(emulator, {
      grant_type: 'refresh_token',
      refresh_token: exchanged.body.refresh_token,
      client_id: client.id,
      client_secret: client.secret,
    });
    assert.equal(refreshed.status, 200);
    assert.equal(refreshed.body.refresh_token, undefined);
    const listed = await search(emulator, refreshed.body.access_token, {});
    assert.equal(listed.status, 200);

    emulator.revokeRefreshTokens();
    const revoked = await token(emulator, {
      grant_type: 'refresh_token',
      refresh_token: exchanged.body.refresh_token,
      client_id: client.id,
      client_secret: client.secret,
    });
    assert.deepEqual(revoked, {
      status: 400,
      body: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' },
    });
    for (const secret of [
      client.secret,
      code,
      verifier,
      exchanged.body.access_token,
      exchanged.body.refresh_token,
    ]) {
      assert.ok(emulator.issuedSecrets().includes(secret));
    }
  });

  test('wrong verifier, wrong redirect, wrong secret and unknown client are refused', async () => {
    const client = clientOf(emulator);
    const exchange = async (override: Record<string, string>) => {
      const { verifier, challenge } = pkcePair();
      const answer = await consent(emulator, consentParams(client.id, challenge, 'http://localhost:9999/cb'));
      return token(emulator, {
        grant_type: 'authorization_code',
        code: answer.location?.searchParams.get('code') ?? '',
        code_verifier: verifier,
        redirect_uri: 'http://localhost:9999/cb',
        client_id: client.id,
        client_secret: client.secret,
        ...override,
      });
    };
    assert.deepEqual(await exchange({ code_verifier: 'x'.repeat(43) }), {
      status: 400,
      body: { error: 'invalid_grant', error_description: 'Invalid code verifier.' },
    });
    assert.equal(
      (await exchange({ redirect_uri: 'http://localhost:9998/cb' })).body.error,
      'redirect_uri_mismatch',
    );
    assert.deepEqual(await exchange({ client_secret: 'GOCSPX-wrong' }), {
      status: 401,
      body: { error: 'invalid_client', error_description: 'Unauthorized' },
    });
    assert.deepEqual(await exchange({ client_id: 'nobody.apps.googleusercontent.com' }), {
      status: 401,
      body: { error: 'invalid_client', error_description: 'The OAuth client was not found.' },
    });
    assert.equal((await exchange({ grant_type: 'password' })).body.error, 'unsupported_grant_type');
    assert.equal((await exchange({ code: '' })).body.error, 'invalid_request');
  });

  test('consent validates client, loopback redirect and S256; deny redirects with access_denied', async () => {
    const client = clientOf(emulator);
    const { challenge } = pkcePair();
    const unknown = await consent(emulator, consentParams('nope.apps.googleusercontent.com', challenge));
    assert.equal(unknown.status, 401);
    assert.match(unknown.body, /invalid_client/);
    const remote = await consent(emulator, consentParams(client.id, challenge, 'https://example.com/cb'));
    assert.equal(remote.status, 400);
    assert.equal(remote.location, undefined);
    assert.match(remote.body, /redirect_uri_mismatch/);
    const oob = await consent(emulator, consentParams(client.id, challenge, 'urn:ietf:wg:oauth:2.0:oob'));
    assert.equal(oob.status, 400);
    const plain = await consent(emulator, {
      ...consentParams(client.id, challenge),
      code_challenge_method: 'plain',
    });
    assert.equal(plain.status, 400);
    const noPkce = consentParams(client.id, challenge) as Record<string, string>;
    delete noPkce.code_challenge;
    assert.equal((await consent(emulator, noPkce)).status, 400);
    const localhost = await consent(emulator, consentParams(client.id, challenge, 'http://localhost'));
    assert.equal(localhost.status, 302);

    emulator.setOAuth({ deny: true });
    const denied = await consent(emulator, consentParams(client.id, challenge));
    emulator.setOAuth({ deny: false });
    assert.equal(denied.status, 302);
    assert.equal(denied.location?.searchParams.get('error'), 'access_denied');
    assert.equal(denied.location?.searchParams.get('state'), 'state-123');
    assert.equal(denied.location?.searchParams.get('code'), null);
  });

  test('a refresh token only with access_type=offline, and again only with prompt=consent', async () => {
    const client = clientOf(emulator);
    const exchange = async (params: Record<string, string>) => {
      const { verifier, challenge } = pkcePair();
      const answer = await consent(emulator, {
        ...consentParams(client.id, challenge),
        scope: pickerScope,
        ...params,
      });
      return token(emulator, {
        grant_type: 'authorization_code',
        code: answer.location?.searchParams.get('code') ?? '',
        code_verifier: verifier,
        redirect_uri: 'http://127.0.0.1:4567',
        client_id: client.id,
        client_secret: client.secret,
      });
    };
    const online = await exchange({ access_type: 'online' });
    assert.equal(online.status, 200);
    assert.equal(online.body.refresh_token, undefined);
    assert.ok((await exchange({ prompt: '' })).body.refresh_token, 'first offline consent');
    assert.equal((await exchange({ prompt: '' })).body.refresh_token, undefined, 'already consented');
    assert.ok((await exchange({ prompt: 'consent' })).body.refresh_token, 'forced consent');
  });

  test('client_secret.json points at the emulator', () => {
    const installed = emulator.clientSecret('installed') as Json;
    assert.equal(installed.installed.auth_uri, emulator.authUri);
    assert.equal(installed.installed.token_uri, emulator.tokenUri);
    assert.deepEqual(installed.installed.redirect_uris, ['http://localhost']);
    const web = emulator.clientSecret('web') as Json;
    assert.ok(web.web.client_id);
    assert.notEqual(web.web.client_id, installed.installed.client_id);
  });
});

describe('Library API', () => {
  let emulator: Emulator;
  let accessToken: string;
  const items = generateItems({
    year,
    count: 237,
    photoSize: 2000,
    videoSize: 3000,
    nonAppCreated: 3,
    otherYear: 2,
  });
  before(async () => {
    emulator = await startEmulator({ items });
    accessToken = emulator.issueToken().access_token;
  });
  after(() => emulator.close());

  test('401 without, with an invalid and with an expired token; 403 without the scope', async () => {
    const url = `${emulator.libraryUrl}/v1/mediaItems:search`;
    const missing = await api(url, { body: {} });
    assert.equal(missing.status, 401);
    assert.deepEqual(missing.body, unauthenticatedBody);
    assert.deepEqual((await api(url, { body: {}, token: 'ya29.forged' })).body, unauthenticatedBody);
    const pickerOnly = emulator.issueToken({ scopes: [pickerScope] }).access_token;
    const forbidden = await api(url, { body: {}, token: pickerOnly });
    assert.equal(forbidden.status, 403);
    assert.deepEqual(forbidden.body, insufficientScopeBody);
    const removedScope = emulator.issueToken({
      scopes: ['https://www.googleapis.com/auth/photoslibrary.readonly'],
    });
    assert.equal((await api(url, { body: {}, token: removedScope.access_token })).status, 403);

    const old = emulator.issueToken().access_token;
    emulator.expireAccessTokens();
    const expired = await api(url, { body: {}, token: old });
    assert.equal(expired.status, 401);
    assert.deepEqual(expired.body, unauthenticatedBody);
    accessToken = emulator.issueToken().access_token;
    assert.equal((await api(url, { body: {}, token: accessToken })).status, 200);
  });

  test('validation: pageSize, orderBy, dates, unknown fields, page token', async () => {
    const cases: { body: Json; status: number }[] = [
      { body: { pageSize: 101 }, status: 400 },
      { body: { pageSize: -1 }, status: 400 },
      { body: { pageSize: 100 }, status: 200 },
      { body: { orderBy: 'MediaMetadata.creation_time' }, status: 400 },
      { body: { filters: yearFilter, orderBy: 'MediaMetadata.creation_time' }, status: 200 },
      { body: { filters: yearFilter, orderBy: 'MediaMetadata.creation_time desc' }, status: 200 },
      { body: { filters: yearFilter, orderBy: 'creationTime' }, status: 400 },
      {
        body: {
          filters: { ...yearFilter, mediaTypeFilter: { mediaTypes: ['PHOTO'] } },
          orderBy: 'MediaMetadata.creation_time',
        },
        status: 400,
      },
      { body: { filters: { dateFilter: { dates: [{ year: 0, month: 0, day: 0 }] } } }, status: 400 },
      { body: { filters: { dateFilter: { dates: [{ year, month: 0, day: 5 }] } } }, status: 400 },
      {
        body: { filters: { dateFilter: { dates: new Array(6).fill({ year, month: 1, day: 1 }) } } },
        status: 400,
      },
      { body: { filters: { mediaTypeFilter: { mediaTypes: ['PHOTO', 'VIDEO'] } } }, status: 400 },
      { body: { albumId: 'x', filters: yearFilter }, status: 400 },
      { body: { pageSize: 10, bogus: true }, status: 400 },
      { body: { pageToken: 'not-a-token' }, status: 400 },
    ];
    for (const { body, status } of cases) {
      const answer = await search(emulator, accessToken, body);
      assert.equal(answer.status, status, JSON.stringify(body));
      if (status === 400) assert.equal(answer.body.error.status, 'INVALID_ARGUMENT', JSON.stringify(body));
    }
  });

  test('a year with nothing answers {}', async () => {
    const empty = await search(emulator, accessToken, {
      filters: { dateFilter: { dates: [{ year: 2011, month: 0, day: 0 }] } },
    });
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.body, {});
  });

  test('paging covers every app-created item of the year exactly once, newest first', async () => {
    const expected = emulator.items.filter(
      (item) => item.appCreated !== false && item.creationTime.startsWith(`${year}-`),
    );
    const seen: Json[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const page = await search(emulator, accessToken, { pageSize: 50, pageToken, filters: yearFilter });
      assert.equal(page.status, 200);
      assert.ok((page.body.mediaItems?.length ?? 0) <= 50);
      seen.push(...(page.body.mediaItems ?? []));
      pageToken = page.body.nextPageToken;
      pages++;
    } while (pageToken);
    assert.equal(pages, Math.ceil(expected.length / 50));
    assert.equal(seen.length, expected.length);
    assert.equal(new Set(seen.map((item) => item.id)).size, expected.length);
    const times = seen.map((item) => Date.parse(item.mediaMetadata.creationTime));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
    );

    const defaultPage = await search(emulator, accessToken, { filters: yearFilter });
    assert.equal(defaultPage.body.mediaItems.length, 25);
    const oldest = await search(emulator, accessToken, {
      filters: yearFilter,
      orderBy: 'MediaMetadata.creation_time',
    });
    assert.equal(oldest.body.mediaItems[0].id, seen.at(-1)?.id);
  });

  test('date ranges and media types filter on the UTC date', async () => {
    const march = await search(emulator, accessToken, {
      pageSize: 100,
      filters: {
        dateFilter: {
          ranges: [{ startDate: { year, month: 3, day: 1 }, endDate: { year, month: 3, day: 31 } }],
        },
      },
    });
    const expected = emulator.items.filter(
      (item) => item.appCreated !== false && item.creationTime.startsWith(`${year}-03-`),
    );
    assert.deepEqual(
      new Set(march.body.mediaItems.map((item: Json) => item.id)),
      new Set(expected.map((item) => item.id)),
    );
    const videos = await search(emulator, accessToken, {
      pageSize: 100,
      filters: { mediaTypeFilter: { mediaTypes: ['VIDEO'] } },
    });
    assert.ok(videos.body.mediaItems.length > 0);
    assert.ok(
      videos.body.mediaItems.every((item: Json) => item.mimeType === 'video/mp4' && item.mediaMetadata.video),
    );
  });

  test('MediaItem JSON has the Library shape', async () => {
    const video = emulator.items.find((item) => item.kind === 'video' && item.videoStatus === 'PROCESSING');
    assert.ok(video);
    const got = await api(`${emulator.libraryUrl}/v1/mediaItems/${video.id}`, { token: accessToken });
    assert.equal(got.status, 200);
    assert.deepEqual(Object.keys(got.body), [
      'id',
      'productUrl',
      'baseUrl',
      'mimeType',
      'mediaMetadata',
      'filename',
    ]);
    assert.equal(got.body.mediaMetadata.width, '1920');
    assert.equal(got.body.mediaMetadata.video.status, 'PROCESSING');
    assert.doesNotMatch(got.body.baseUrl, /=/);
    assert.equal(got.body.productUrl, `https://photos.google.com/lr/photo/${video.id}`);
    const photo = emulator.items.find((item) => item.kind === 'photo');
    const gotPhoto = await api(`${emulator.libraryUrl}/v1/mediaItems/${photo?.id}`, { token: accessToken });
    assert.equal(typeof gotPhoto.body.mediaMetadata.height, 'string');
    assert.ok(gotPhoto.body.mediaMetadata.photo);
    const notMine = emulator.items.find((item) => item.appCreated === false);
    const hidden = await api(`${emulator.libraryUrl}/v1/mediaItems/${notMine?.id}`, { token: accessToken });
    assert.equal(hidden.status, 400);
  });

  test('batchGet: at most 50, no repeats, not empty, given order, status for missing', async () => {
    const ids = emulator.items.map((item) => item.id);
    const url = (list: string[]) =>
      `${emulator.libraryUrl}/v1/mediaItems:batchGet?${list.map((id) => `mediaItemIds=${encodeURIComponent(id)}`).join('&')}`;
    assert.equal((await api(url(ids.slice(0, 51)), { token: accessToken })).status, 400);
    assert.equal((await api(url([ids[0] ?? '', ids[0] ?? '']), { token: accessToken })).status, 400);
    assert.equal((await api(url([]), { token: accessToken })).status, 400);
    const wanted = [ids[7] ?? '', 'AF1QipMissing', ids[3] ?? ''];
    const answer = await api(url(wanted), { token: accessToken });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.mediaItemResults[0].mediaItem.id, ids[7]);
    assert.deepEqual(answer.body.mediaItemResults[1], {
      status: { code: 3, message: 'Invalid media item ID.' },
    });
    assert.equal(answer.body.mediaItemResults[2].mediaItem.id, ids[3]);
    assert.equal((await api(url(ids.slice(0, 50)), { token: accessToken })).body.mediaItemResults.length, 50);
  });
});

describe('media host', () => {
  let emulator: Emulator;
  let accessToken: string;
  before(async () => {
    emulator = await startEmulator({
      generate: { year, count: 30, photoSize: 150_000, videoSize: 3_000_000, videoEvery: 5 },
    });
    accessToken = emulator.issueToken().access_token;
  });
  after(() => emulator.close());

  async function baseUrlOf(id: string): Promise<string> {
    const got = await api(`${emulator.libraryUrl}/v1/mediaItems/${id}`, { token: accessToken });
    return got.body.baseUrl as string;
  }

  test('=d and =dv serve exactly contentOf, with Content-Length and Content-Type; bearer tolerated', async () => {
    const photo = emulator.items.find((item) => item.kind === 'photo') as EmulatorItem;
    const video = emulator.items.find(
      (item) => item.kind === 'video' && item.videoStatus === 'READY',
    ) as EmulatorItem;
    const photoAnswer = await download(`${await baseUrlOf(photo.id)}=d`);
    assert.equal(photoAnswer.status, 200);
    assert.equal(photoAnswer.headers.get('content-type'), 'image/jpeg');
    assert.equal(Number(photoAnswer.headers.get('content-length')), photo.size);
    assert.ok(photoAnswer.bytes.equals(emulator.contentOf(photo.id)));
    const withBearer = await download(`${await baseUrlOf(photo.id)}=d`, accessToken);
    assert.ok(withBearer.bytes.equals(photoAnswer.bytes));
    const videoAnswer = await download(`${await baseUrlOf(video.id)}=dv`);
    assert.equal(videoAnswer.status, 200);
    assert.equal(videoAnswer.headers.get('content-type'), 'video/mp4');
    assert.equal(videoAnswer.bytes.length, 3_000_000);
    assert.ok(videoAnswer.bytes.equals(emulator.contentOf(video.id)));
    const streamed: Buffer[] = [];
    for await (const chunk of emulator.streamOf(video.id)) streamed.push(chunk);
    assert.ok(Buffer.concat(streamed).equals(videoAnswer.bytes));
  });

  test('a PROCESSING video has no =dv; thumbnails are small JPEGs', async () => {
    const processing = emulator.items.find((item) => item.videoStatus === 'PROCESSING') as EmulatorItem;
    assert.ok(processing);
    const base = await baseUrlOf(processing.id);
    assert.equal((await download(`${base}=dv`)).status, 404);
    const thumb = await download(`${base}=w512-h512`);
    assert.equal(thumb.status, 200);
    assert.equal(thumb.headers.get('content-type'), 'image/jpeg');
  });

  test('generated bytes: valid JPEG segment chain and MP4 boxes, distinct per item, deterministic', async () => {
    const photos = emulator.items.filter((item) => item.kind === 'photo');
    const hashes = new Set(
      photos.map((item) => createHash('sha256').update(emulator.contentOf(item.id)).digest('hex')),
    );
    assert.equal(hashes.size, photos.length);
    for (const item of photos.slice(0, 3)) {
      const bytes = emulator.contentOf(item.id);
      assert.equal(bytes.length, item.size);
      assert.deepEqual([...bytes.subarray(0, 2)], [0xff, 0xd8]);
      let offset = 2;
      const markers: number[] = [];
      while (offset < bytes.length) {
        assert.equal(bytes[offset], 0xff, `marker at ${offset}`);
        const marker = bytes[offset + 1] ?? 0;
        markers.push(marker);
        if (marker === 0xd9) break;
        const length = bytes.readUInt16BE(offset + 2);
        offset += 2 + length;
        if (marker === 0xda) {
          // scan data until EOI
          offset = bytes.indexOf(Buffer.from([0xff, 0xd9]), offset);
        }
      }
      assert.equal(offset + 2, bytes.length);
      assert.ok(markers.includes(0xe1), 'has Exif');
      assert.ok(markers.includes(0xfe), 'has COM padding');
      assert.ok(bytes.includes(Buffer.from(`${item.creationTime.slice(0, 4)}:`)));
    }
    const video = emulator.items.find((item) => item.kind === 'video') as EmulatorItem;
    const mp4 = emulator.contentOf(video.id);
    const boxes: string[] = [];
    for (let offset = 0; offset < mp4.length; ) {
      const size = mp4.readUInt32BE(offset);
      boxes.push(mp4.toString('latin1', offset + 4, offset + 8));
      offset += size;
      assert.ok(offset <= mp4.length);
    }
    assert.deepEqual(boxes, ['ftyp', 'free', 'mdat']);
    const again = await startEmulator({
      generate: { year, count: 30, photoSize: 150_000, videoSize: 3_000_000, videoEvery: 5 },
    });
    try {
      assert.deepEqual(
        again.items.map((item) => item.id),
        emulator.items.map((item) => item.id),
      );
      assert.ok(again.contentOf(video.id).equals(mp4));
    } finally {
      await again.close();
    }
  });

  test('Range requests', async () => {
    const photo = emulator.items.find((item) => item.kind === 'photo') as EmulatorItem;
    const res = await fetch(`${await baseUrlOf(photo.id)}=d`, { headers: { range: 'bytes=100000-' } });
    assert.equal(res.status, 206);
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.ok(bytes.equals(emulator.contentOf(photo.id).subarray(100_000)));
  });

  test('expired and tampered URLs answer 403', async () => {
    const shortLived = await startEmulator({ urlTtlMs: 50, generate: { year, count: 3 } });
    try {
      const t = shortLived.issueToken().access_token;
      const id = shortLived.items[0]?.id ?? '';
      const got = await api(`${shortLived.libraryUrl}/v1/mediaItems/${id}`, { token: t });
      await sleep(80);
      assert.equal((await download(`${got.body.baseUrl}=d`)).status, 403);
    } finally {
      await shortLived.close();
    }
    const base = await baseUrlOf(emulator.items[0]?.id ?? '');
    const tampered = `${base.slice(0, -3)}${base.endsWith('AAA') ? 'BBB' : 'AAA'}`;
    assert.equal((await download(`${tampered}=d`)).status, 403);
  });
});

describe('Picker API', () => {
  let emulator: Emulator;
  let accessToken: string;
  const picked = generateItems({ year, count: 120, photoSize: 1000, nonAppCreated: 5, otherYear: 5 });
  before(async () => {
    emulator = await startEmulator({
      items: picked,
      picker: { pollsBeforePicked: 2, pollInterval: '0.05s', maxSessions: 3 },
    });
    accessToken = emulator.issueToken({ scopes: [pickerScope] }).access_token;
  });
  after(() => emulator.close());

  test('session flow: polling, FAILED_PRECONDITION before picking, listing, bearer-only media, delete', async () => {
    const created = await api(`${emulator.pickerUrl}/v1/sessions`, {
      token: accessToken,
      body: { pickingConfig: { maxItemCount: '5000' } },
    });
    assert.equal(created.status, 200);
    assert.equal(created.body.mediaItemsSet, false);
    assert.equal(created.body.pollingConfig.pollInterval, '0.05s');
    const timeoutIn = Number(/^(\d+(?:\.\d+)?)s$/.exec(created.body.pollingConfig.timeoutIn)?.[1]);
    assert.ok(timeoutIn > 1790 && timeoutIn <= 1800);
    assert.equal(created.body.pickingConfig.maxItemCount, '2000');
    assert.ok(Date.parse(created.body.expireTime) > Date.now());
    const id = created.body.id as string;
    assert.equal(created.body.pickerUri, `${emulator.url}/picker/${id}`);

    const early = await api(`${emulator.pickerUrl}/v1/mediaItems?sessionId=${id}`, { token: accessToken });
    assert.equal(early.status, 400);
    assert.equal(early.body.error.status, 'FAILED_PRECONDITION');

    const polls: boolean[] = [];
    let session: Json = {};
    for (let n = 0; n < 3; n++) {
      session = (await api(`${emulator.pickerUrl}/v1/sessions/${id}`, { token: accessToken })).body;
      polls.push(session.mediaItemsSet);
    }
    assert.deepEqual(polls, [false, false, true]);
    assert.equal(session.pollingConfig, undefined);

    const seen: Json[] = [];
    let pageToken: string | undefined;
    do {
      const query = `sessionId=${id}&pageSize=40${pageToken ? `&pageToken=${pageToken}` : ''}`;
      const page = await api(`${emulator.pickerUrl}/v1/mediaItems?${query}`, { token: accessToken });
      assert.equal(page.status, 200);
      seen.push(...page.body.mediaItems);
      pageToken = page.body.nextPageToken;
    } while (pageToken);
    assert.equal(seen.length, picked.length);
    assert.ok(seen.some((item) => item.createTime.startsWith(`${year - 1}-`)));
    const first = seen[0] as Json;
    assert.deepEqual(Object.keys(first), ['id', 'createTime', 'type', 'mediaFile']);
    assert.equal(typeof first.mediaFile.mediaFileMetadata.width, 'number');
    const video = seen.find((item) => item.type === 'VIDEO') as Json;
    assert.ok(video.mediaFile.mediaFileMetadata.videoMetadata.processingStatus);

    const url = `${first.mediaFile.baseUrl}=d`;
    assert.equal((await download(url)).status, 401);
    const withToken = await download(url, accessToken);
    assert.equal(withToken.status, 200);
    assert.ok(withToken.bytes.equals(emulator.contentOf(first.id)));

    assert.equal(
      (await api(`${emulator.pickerUrl}/v1/sessions/${id}`, { token: accessToken, method: 'DELETE' })).status,
      200,
    );
    const gone = await api(`${emulator.pickerUrl}/v1/sessions/${id}`, { token: accessToken });
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.status, 'NOT_FOUND');
  });

  test('opening pickerUri completes the picking; pickedIds and maxItemCount limit it', async () => {
    emulator.setPicker({ pickedIds: picked.slice(0, 7).map((item) => item.id), pollsBeforePicked: 100 });
    const created = await api(`${emulator.pickerUrl}/v1/sessions`, {
      token: accessToken,
      body: { pickingConfig: { maxItemCount: '5' } },
    });
    const page = await fetch(created.body.pickerUri);
    assert.match(await page.text(), /Picked 5 items/);
    const session = await api(`${emulator.pickerUrl}/v1/sessions/${created.body.id}`, { token: accessToken });
    assert.equal(session.body.mediaItemsSet, true);
    const list = await api(`${emulator.pickerUrl}/v1/mediaItems?sessionId=${created.body.id}`, {
      token: accessToken,
    });
    assert.equal(list.body.mediaItems.length, 5);
    assert.equal(list.body.nextPageToken, undefined);
    await api(`${emulator.pickerUrl}/v1/sessions/${created.body.id}`, {
      token: accessToken,
      method: 'DELETE',
    });
    emulator.setPicker({ pickedIds: undefined, pollsBeforePicked: 2 });
  });

  test('scope check, RESOURCE_EXHAUSTED after maxSessions, expired sessions are NOT_FOUND', async () => {
    const libraryOnly = emulator.issueToken({ scopes: [libraryScope] }).access_token;
    const denied = await api(`${emulator.pickerUrl}/v1/sessions`, { token: libraryOnly, body: {} });
    assert.equal(denied.status, 403);
    assert.deepEqual(denied.body, insufficientScopeBody);

    const ids: string[] = [];
    for (let n = 0; n < 3; n++) {
      const created = await api(`${emulator.pickerUrl}/v1/sessions`, { token: accessToken, body: {} });
      assert.equal(created.status, 200);
      ids.push(created.body.id);
    }
    const refused = await api(`${emulator.pickerUrl}/v1/sessions`, { token: accessToken, body: {} });
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.status, 'RESOURCE_EXHAUSTED');
    for (const id of ids)
      await api(`${emulator.pickerUrl}/v1/sessions/${id}`, { token: accessToken, method: 'DELETE' });

    emulator.setPicker({ sessionTtlMs: 30 });
    const shortLived = await api(`${emulator.pickerUrl}/v1/sessions`, { token: accessToken, body: {} });
    await sleep(50);
    assert.equal(
      (await api(`${emulator.pickerUrl}/v1/sessions/${shortLived.body.id}`, { token: accessToken })).status,
      404,
    );
    emulator.setPicker({ sessionTtlMs: undefined });
  });
});

describe('faults', () => {
  let emulator: Emulator;
  let accessToken: string;
  before(async () => {
    emulator = await startEmulator({ generate: { year, count: 40, photoSize: 400_000, videoEvery: 0 } });
    accessToken = emulator.issueToken().access_token;
  });
  after(() => emulator.close());

  const searchYear = () => search(emulator, accessToken, { filters: yearFilter });

  test('API 503 at a rate, only on the first attempt when asked', async () => {
    emulator.setFaults({ apiUnavailableRate: 1, firstAttempts: 1 });
    const first = await searchYear();
    assert.equal(first.status, 503);
    assert.equal(first.body.error.status, 'UNAVAILABLE');
    assert.equal((await searchYear()).status, 200);
    assert.equal(emulator.stats.faults.apiUnavailable, 1);
    emulator.setFaults({});
  });

  test('429 per minute for a burst, with Retry-After', async () => {
    emulator.setFaults({ perMinuteQuota: { after: 1, burst: 2, retryAfterSeconds: 3 } });
    assert.equal((await searchYear()).status, 200);
    for (let n = 0; n < 2; n++) {
      const limited = await searchYear();
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get('retry-after'), '3');
      assert.equal(limited.body.error.details[0].metadata.quota_limit, 'WritesPerMinutePerUser');
      assert.equal(limited.body.error.details[0].reason, 'RATE_LIMIT_EXCEEDED');
    }
    assert.equal((await searchYear()).status, 200);
    emulator.setFaults({});
  });

  test('429 per day after N calls, exactly the documented body', async () => {
    emulator.setFaults({ dailyQuotaAfter: 2 });
    assert.equal((await searchYear()).status, 200);
    assert.equal((await searchYear()).status, 200);
    const refused = await searchYear();
    assert.equal(refused.status, 429);
    const message =
      "Quota exceeded for quota metric 'All requests' and limit 'All requests per day' of service 'photoslibrary.googleapis.com' for consumer 'project_number:123456789012'.";
    assert.deepEqual(refused.body, {
      error: {
        code: 429,
        message,
        errors: [{ message, domain: 'global', reason: 'rateLimitExceeded' }],
        status: 'RESOURCE_EXHAUSTED',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'RATE_LIMIT_EXCEEDED',
            domain: 'googleapis.com',
            metadata: {
              service: 'photoslibrary.googleapis.com',
              quota_metric: 'photoslibrary.googleapis.com/all_requests',
              quota_limit: 'ApiCallsPerProjectPerDay',
              quota_limit_value: '10000',
              quota_location: 'global',
              consumer: 'projects/123456789012',
            },
          },
          {
            '@type': 'type.googleapis.com/google.rpc.Help',
            links: [
              {
                description: 'Request a higher quota limit.',
                url: 'https://cloud.google.com/docs/quota#requesting_higher_quota',
              },
            ],
          },
        ],
      },
    });
    emulator.setFaults({});
  });

  async function photoUrl(index = 0): Promise<{ url: string; item: EmulatorItem }> {
    const item = emulator.items[index] as EmulatorItem;
    const got = await api(`${emulator.libraryUrl}/v1/mediaItems/${item.id}`, { token: accessToken });
    return { url: `${got.body.baseUrl}=d`, item };
  }

  /** Reads a media response with undici; resolves with the bytes or rejects on a broken body. */
  async function readMedia(url: string): Promise<{ status: number; length: number; bytes: Buffer }> {
    const res = await request(url);
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) chunks.push(chunk as Buffer);
    return {
      status: res.statusCode,
      length: Number(res.headers['content-length']),
      bytes: Buffer.concat(chunks),
    };
  }

  test('media 503, then fine on the next attempt', async () => {
    emulator.setFaults({ mediaUnavailableRate: 1, firstAttempts: 1 });
    const { url, item } = await photoUrl();
    assert.equal((await readMedia(url)).status, 503);
    const second = await readMedia(url);
    assert.equal(second.status, 200);
    assert.ok(second.bytes.equals(emulator.contentOf(item.id)));
    emulator.setFaults({});
  });

  test('media connection reset in mid-body and short body both break the read', async () => {
    for (const faults of [
      { mediaResetRate: 1, firstAttempts: 1 },
      { mediaShortBodyRate: 1, firstAttempts: 1 },
    ]) {
      emulator.setFaults(faults);
      const { url, item } = await photoUrl(1);
      await assert.rejects(readMedia(url));
      const retry = await readMedia(url);
      assert.ok(retry.bytes.equals(emulator.contentOf(item.id)));
    }
    assert.equal(emulator.stats.faults.mediaReset, 1);
    assert.equal(emulator.stats.faults.mediaShortBody, 1);
    emulator.setFaults({});
  });

  test('media stall pauses mid-body, then completes', async () => {
    emulator.setFaults({ mediaStall: { rate: 1, ms: 300 } });
    const { url, item } = await photoUrl(2);
    const started = Date.now();
    const answer = await readMedia(url);
    assert.ok(Date.now() - started >= 280);
    assert.ok(answer.bytes.equals(emulator.contentOf(item.id)));
    emulator.setFaults({});
  });

  test('URLs expiring after a short time and access tokens expiring early', async () => {
    emulator.setFaults({ urlTtlMs: 40 });
    const { url } = await photoUrl(3);
    await sleep(80);
    assert.equal((await readMedia(url)).status, 403);
    // Long enough that the first call lands inside it on a loaded machine (60 ms did not always).
    emulator.setFaults({ accessTokenLifetimeMs: 500 });
    const fresh = emulator.issueToken().access_token;
    assert.equal((await search(emulator, fresh, {})).status, 200);
    await sleep(600);
    const late = await search(emulator, fresh, {});
    assert.equal(late.status, 401);
    assert.deepEqual(late.body, unauthenticatedBody);
    emulator.setFaults({});
  });

  test('latency injection', async () => {
    emulator.setLatency({ apiMs: 120, mediaMs: 120 });
    let started = Date.now();
    const { url } = await photoUrl(4);
    assert.ok(Date.now() - started >= 110);
    started = Date.now();
    await readMedia(url);
    assert.ok(Date.now() - started >= 110);
    emulator.setLatency({});
  });

  test('fault decisions are deterministic for a seed, whatever the order', async () => {
    const decide = async (order: number[]) => {
      const e = await startEmulator({
        generate: { year, count: 40, photoSize: 1000, videoEvery: 0 },
        faults: { mediaUnavailableRate: 0.5, seed: 7 },
      });
      try {
        const t = e.issueToken().access_token;
        const outcome: Record<string, number> = {};
        for (const index of order) {
          const item = e.items[index] as EmulatorItem;
          const got = await api(`${e.libraryUrl}/v1/mediaItems/${item.id}`, { token: t });
          outcome[item.id] = (await download(`${got.body.baseUrl}=d`)).status;
        }
        return outcome;
      } finally {
        await e.close();
      }
    };
    const forward = [...Array(40).keys()];
    const a = await decide(forward);
    const b = await decide([...forward].reverse());
    assert.deepEqual(a, b);
    assert.ok(Object.values(a).includes(503) && Object.values(a).includes(200));
  });
});

describe('generated items', () => {
  test('spread over the year in UTC, a few videos, one PROCESSING, a same-name pair on one day', () => {
    const items = generateItems({ year, count: 300 });
    const days = new Set(items.map((item) => item.creationTime.slice(0, 10)));
    assert.ok(days.size > 200);
    assert.ok(
      items.every((item) => item.creationTime.startsWith(`${year}-`) && item.creationTime.endsWith('Z')),
    );
    const videos = items.filter((item) => item.kind === 'video');
    assert.ok(videos.length >= 2);
    assert.equal(items.filter((item) => item.videoStatus === 'PROCESSING').length, 1);
    const [a, b] = items;
    assert.ok(a && b);
    assert.equal(a.filename, b.filename);
    assert.equal(a.creationTime.slice(0, 10), b.creationTime.slice(0, 10));
    assert.notEqual(a.id, b.id);
  });

  test('5,000 × 30 KB and a 2 GB video cost little', async () => {
    const started = Date.now();
    const emulator = await startEmulator({ generate: { year, count: 5000, photoSize: 30_000 } });
    try {
      let total = 0;
      for (const item of emulator.items.slice(0, 500)) total += emulator.contentOf(item.id).length;
      assert.ok(total >= 500 * 30_000);
      const huge = {
        ...(emulator.items[0] as EmulatorItem),
        id: 'huge',
        kind: 'video' as const,
        mimeType: 'video/mp4',
        size: 2 * 1024 ** 3,
      };
      emulator.setItems([huge]);
      let streamed = 0;
      let chunks = 0;
      for await (const chunk of emulator.streamOf('huge')) {
        streamed += chunk.length;
        if (++chunks > 50) break;
      }
      assert.ok(streamed > 0);
      assert.equal(emulator.items[0]?.size, 2 * 1024 ** 3);
    } finally {
      await emulator.close();
    }
    assert.ok(Date.now() - started < 5000);
  });
});

describe('main.ts', () => {
  test('--help prints the options and exits 0; an unknown option exits 2 pointing to --help', () => {
    const help = spawnSync(process.execPath, ['--import', 'tsx', 'test/support/emulator/main.ts', '--help'], {
      encoding: 'utf8',
    });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^Usage: node --import tsx test\/support\/emulator\/main\.ts/);
    for (const option of ['--generate YEAR:COUNT', '--faults JSON', '--write-credentials DIR'])
      assert.ok(help.stdout.includes(option), option);
    const bad = spawnSync(process.execPath, ['--import', 'tsx', 'test/support/emulator/main.ts', '--bogus'], {
      encoding: 'utf8',
    });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /Unknown option '--bogus'[\s\S]*--help/);
  });

  test('prints one ready line, serves admin routes, closes on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/support/emulator/main.ts',
        '--generate',
        `${year}:12`,
        '--photo-size',
        '5000',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const lines = createInterface({ input: child.stdout });
      const [line] = (await once(lines, 'line')) as [string];
      const ready = JSON.parse(line) as Json;
      assert.match(ready.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      for (const key of ['libraryUrl', 'pickerUrl', 'authUri', 'tokenUri']) assert.ok(ready[key], key);
      const credentials = (await (await fetch(`${ready.url}/__emulator/token`)).json()) as Json;
      assert.ok(credentials.refresh_token);
      const secret = (await (await fetch(`${ready.url}/__emulator/client-secret`)).json()) as Json;
      assert.equal(secret.installed.token_uri, ready.tokenUri);
      const setFaults = await fetch(`${ready.url}/__emulator/faults`, {
        method: 'POST',
        body: JSON.stringify({ apiUnavailableRate: 1 }),
      });
      assert.equal(setFaults.status, 200);
      const listed = await search({ libraryUrl: ready.libraryUrl } as Emulator, credentials.access_token, {
        filters: yearFilter,
      });
      assert.equal(listed.status, 503);
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0);
  });
});
