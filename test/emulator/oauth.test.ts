/**
 * The emulator's OAuth modes answer the way Google does (each mode's source is cited in
 * src/emulator/oauth.ts): granular consent, incremental authorization, access blocked, a deleted
 * client, and a refresh token that another client was issued.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, beforeEach, test } from 'node:test';
import { type Emulator, libraryScope, pickerScope, startEmulator } from '../support/emulator/index.ts';

let emulator: Emulator;
before(async () => {
  emulator = await startEmulator();
});
after(() => emulator.close());
beforeEach(() =>
  emulator.setOAuth({
    grantScopes: undefined,
    blockConsent: false,
    deletedClient: false,
    otherClientError: undefined,
  }),
);

const REDIRECT = 'http://127.0.0.1:4567';

function client(kind: 'installed' | 'web' = 'installed') {
  const json = emulator.clientSecret(kind) as Record<string, { client_id: string; client_secret: string }>;
  const found = json[kind];
  assert.ok(found);
  return { id: found.client_id, secret: found.client_secret };
}

/** A browser at the consent page; `extra` adds or overrides query parameters. */
async function consent(scopes: string[], extra: Record<string, string> = {}) {
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(emulator.authUri);
  const params: Record<string, string> = {
    client_id: client().id,
    redirect_uri: REDIRECT,
    response_type: 'code',
    scope: scopes.join(' '),
    state: 'state-1',
    access_type: 'offline',
    prompt: 'consent',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...extra,
  };
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  const res = await fetch(url, { redirect: 'manual' });
  const location = res.headers.get('location');
  return {
    status: res.status,
    location: location ? new URL(location) : undefined,
    body: await res.text(),
    verifier,
  };
}

async function token(form: Record<string, string>) {
  const res = await fetch(emulator.tokenUri, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function exchange(answer: { location?: URL; verifier: string }) {
  return token({
    grant_type: 'authorization_code',
    code: answer.location?.searchParams.get('code') ?? '',
    code_verifier: answer.verifier,
    redirect_uri: REDIRECT,
    client_id: client().id,
    client_secret: client().secret,
  });
}

test('granular consent: only the ticked scope is in the redirect and in the token answer', async () => {
  emulator.setOAuth({ grantScopes: [pickerScope] });
  const answer = await consent([libraryScope, pickerScope]);
  assert.equal(answer.status, 302);
  assert.equal(answer.location?.searchParams.get('scope'), pickerScope);
  const exchanged = await exchange(answer);
  assert.equal(exchanged.status, 200);
  assert.equal(exchanged.body.scope, pickerScope);
  assert.equal(typeof exchanged.body.refresh_token, 'string');
});

test('granular consent with no box ticked is answered like Deny', async () => {
  emulator.setOAuth({ grantScopes: [] });
  const answer = await consent([libraryScope]);
  assert.equal(answer.status, 302);
  assert.equal(answer.location?.searchParams.get('error'), 'access_denied');
  assert.equal(answer.location?.searchParams.get('code'), null);
});

test('include_granted_scopes=true: a consent for one scope covers what was granted before', async () => {
  emulator.setOAuth({ grantScopes: [pickerScope] });
  await exchange(await consent([libraryScope, pickerScope]));
  emulator.setOAuth({ grantScopes: undefined });
  const incremental = await consent([libraryScope], { include_granted_scopes: 'true' });
  const exchanged = await exchange(incremental);
  assert.deepEqual(String(exchanged.body.scope).split(' ').sort(), [libraryScope, pickerScope].sort());
  const alone = await exchange(await consent([libraryScope]));
  assert.equal(alone.body.scope, libraryScope, 'without the parameter only the requested scope');
});

test('access blocked (not a test user): an error page, never a redirect', async () => {
  emulator.setOAuth({ blockConsent: true });
  const answer = await consent([pickerScope]);
  assert.equal(answer.status, 403);
  assert.equal(answer.location, undefined);
  assert.match(answer.body, /Access blocked/);
  assert.match(answer.body, /access_denied/);
  assert.match(answer.body, /developer-approved testers/);
});

test('a deleted client: the consent page says deleted_client, the token endpoint answers 401', async () => {
  const issued = emulator.issueToken();
  emulator.setOAuth({ deletedClient: true });
  const page = await consent([pickerScope]);
  assert.equal(page.status, 401);
  assert.equal(page.location, undefined);
  assert.match(page.body, /deleted_client/);
  const refreshed = await token({
    grant_type: 'refresh_token',
    refresh_token: issued.refresh_token,
    client_id: client().id,
    client_secret: client().secret,
  });
  assert.deepEqual(refreshed, {
    status: 401,
    body: { error: 'deleted_client', error_description: 'The OAuth client was deleted.' },
  });
});

for (const mode of ['unauthorized_client', 'invalid_client'] as const) {
  test(`a refresh token of another client is refused with ${mode}`, async () => {
    const foreign = emulator.issueToken({ client: 'web' });
    emulator.setOAuth({ otherClientError: mode });
    const refreshed = await token({
      grant_type: 'refresh_token',
      refresh_token: foreign.refresh_token,
      client_id: client().id,
      client_secret: client().secret,
    });
    assert.equal(refreshed.status, mode === 'invalid_client' ? 401 : 400);
    assert.equal(refreshed.body.error, mode);
  });
}

async function revoke(value: string) {
  const res = await fetch(emulator.revokeUri, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: value }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function libraryStatus(accessToken: string) {
  const res = await fetch(`${emulator.libraryUrl}/v1/mediaItems`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  await res.arrayBuffer();
  return res.status;
}

test('revoke a refresh token: 200, then refresh answers invalid_grant and its access token 401', async () => {
  const issued = emulator.issueToken();
  assert.equal(await libraryStatus(issued.access_token), 200);
  assert.deepEqual(await revoke(issued.refresh_token), { status: 200, body: {} });
  const refreshed = await token({
    grant_type: 'refresh_token',
    refresh_token: issued.refresh_token,
    client_id: client().id,
    client_secret: client().secret,
  });
  assert.deepEqual(refreshed, {
    status: 400,
    body: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' },
  });
  assert.equal(await libraryStatus(issued.access_token), 401, 'the grant is gone with its refresh token');
  assert.deepEqual(await revoke(issued.refresh_token), {
    status: 400,
    body: { error: 'invalid_token', error_description: 'Token expired or revoked' },
  });
});

test('revoke an access token: its refresh token is revoked too, as Google documents', async () => {
  const issued = emulator.issueToken();
  assert.equal((await revoke(issued.access_token)).status, 200);
  const refreshed = await token({
    grant_type: 'refresh_token',
    refresh_token: issued.refresh_token,
    client_id: client().id,
    client_secret: client().secret,
  });
  assert.equal(refreshed.body.error, 'invalid_grant');
  assert.equal((await revoke('not-a-token')).status, 400);
});
