/** Pure pieces of `auth status` and `auth logout`: the status lines, time format, revoke answers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LIBRARY_SCOPE, PICKER_SCOPE } from '../../src/auth/index.ts';
import { type RevokeOutcome, revokeOutcome, tokenToRevoke } from '../../src/auth/revoke.ts';
import { describeSignIn, formatInstant, type SignInFacts } from '../../src/auth/status.ts';

const NOW = Date.UTC(2026, 11, 2, 17, 40);
const CLIENT = '123-abc.apps.googleusercontent.com';

const instantCases = [
  { ms: NOW, zone: 'UTC', expected: '2026-12-02 17:40 UTC' },
  { ms: NOW, zone: 'Europe/Madrid', expected: '2026-12-02 18:40 UTC+01:00' },
  { ms: NOW, zone: 'America/St_Johns', expected: '2026-12-02 14:10 UTC-03:30' },
];
for (const { ms, zone, expected } of instantCases) {
  test(`formatInstant in ${zone}`, () => assert.equal(formatInstant(ms, zone), expected));
}

function facts(token: SignInFacts['token'], client: SignInFacts['client'] = { id: CLIENT }): SignInFacts {
  return {
    clientSecretFile: '`client_secret.json` in `/b`',
    client,
    tokenFile: '`token.json` in `/b`',
    token,
    now: NOW,
    timeZone: 'UTC',
  };
}
const good = {
  client_id: CLIENT,
  access_token: 'ya29.secret-access',
  refresh_token: '1//secret-refresh',
  scope: `${LIBRARY_SCOPE} ${PICKER_SCOPE}`,
  expiry_date: NOW + 3_600_000,
};

const statusCases: { name: string; input: SignInFacts; signedIn: boolean; says: RegExp[] }[] = [
  {
    name: 'issued two days ago: ends in five',
    input: facts({ status: 'ok', token: { ...good, refresh_token_issued_at: NOW - 2 * 86_400_000 } }),
    signedIn: true,
    says: [
      /^Client: 123-abc\.apps\.googleusercontent\.com \(`client_secret\.json` in `\/b`\)$/m,
      /refresh token issued: 2026-11-30 17:40 UTC/,
      /if your app is in Testing, it stops working on 2026-12-07 17:40 UTC/,
      /access token: valid until 2026-12-02 18:40 UTC/,
    ],
  },
  {
    name: 'issued eight days ago: a Testing app has lost it',
    input: facts({ status: 'ok', token: { ...good, refresh_token_issued_at: NOW - 8 * 86_400_000 } }),
    signedIn: true,
    says: [/if your app is in Testing, it stopped working on 2026-12-01 17:40 UTC/],
  },
  {
    name: 'another client',
    input: facts({ status: 'ok', token: { ...good, client_id: 'other.apps.googleusercontent.com' } }),
    signedIn: false,
    says: [/issued to another client: other\.apps/, /not usable: it belongs to another OAuth client/],
  },
  {
    name: 'no refresh token',
    input: facts({ status: 'ok', token: { ...good, refresh_token: undefined } }),
    signedIn: false,
    says: [/refresh token: none/, /not usable: it has no refresh token/],
  },
  {
    name: 'a picker-only grant',
    input: facts({ status: 'ok', token: { ...good, scope: PICKER_SCOPE } }),
    signedIn: true,
    says: [
      /scopes granted:\n {4}https:\/\/www\.googleapis\.com\/auth\/photospicker\.mediaitems\.readonly \(the picker source\)\n {2}refresh/,
    ],
  },
  {
    name: 'unusable file',
    input: facts({ status: 'unusable', reason: 'is not valid JSON' }),
    signedIn: false,
    says: [/Sign-in: `token\.json` in `\/b` is not valid JSON, so it cannot be used/],
  },
  {
    name: 'no client secret',
    input: facts({ status: 'ok', token: good }, { problem: '`client_secret.json` not found in `/b`.' }),
    signedIn: false,
    says: [/^Client: none usable: `client_secret\.json` not found/m],
  },
];
for (const { name, input, signedIn, says } of statusCases) {
  test(`describeSignIn: ${name}`, () => {
    const status = describeSignIn(input);
    const text = status.lines.join('\n');
    assert.equal(status.signedIn, signedIn, text);
    for (const pattern of says) assert.match(text, pattern);
    assert.ok(!text.includes('secret-access') && !text.includes('secret-refresh'), 'never a token');
  });
}

const revokeCases: { status: number; body: string; expected: RevokeOutcome }[] = [
  { status: 200, body: '{}', expected: { kind: 'revoked' } },
  { status: 200, body: '', expected: { kind: 'revoked' } },
  {
    status: 400,
    body: '{"error":"invalid_token","error_description":"Token expired or revoked"}',
    expected: { kind: 'gone' },
  },
  {
    status: 400,
    body: '{"error":"unsupported_token_type"}',
    expected: { kind: 'refused', status: 400, error: 'unsupported_token_type' },
  },
  { status: 503, body: '<html>', expected: { kind: 'refused', status: 503, error: 'HTTP 503' } },
];
for (const { status, body, expected } of revokeCases) {
  test(`revokeOutcome: ${status} ${body.slice(0, 30)}`, () =>
    assert.deepEqual(revokeOutcome(status, body), expected));
}

test('tokenToRevoke: the refresh token first, else the access token, else none', () => {
  assert.equal(tokenToRevoke({ refresh_token: 'r', access_token: 'a' }), 'r');
  assert.equal(tokenToRevoke({ access_token: 'a' }), 'a');
  assert.equal(tokenToRevoke({}), undefined);
});
