/**
 * Black-box: `photo-backup auth status` and `auth logout`, the built CLI with no terminal, against
 * the emulator (its revoke endpoint through PHOTO_BACKUP_REVOKE_URL), and with --demo.
 */
import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { emulatorEnv, runCli, writeAccount } from '../helpers/cli.ts';
import { type Emulator, libraryScope, pickerScope, startEmulator } from '../support/emulator/index.ts';

let dir: string;
let emulator: Emulator;
let tokenPath: string;

const DAY = 24 * 3_600_000;
/** `2026-12-09 17:40 UTC`, written out here without the product's formatter. */
const utc = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pb-cli-auth-'));
  emulator = await startEmulator();
  ({ tokenPath } = await writeAccount(emulator, dir));
});
afterEach(async () => {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

const env = () => ({ ...emulatorEnv(emulator), PHOTO_BACKUP_REVOKE_URL: emulator.revokeUri });

async function editToken(change: (token: Record<string, unknown>) => void) {
  const token = JSON.parse(await readFile(tokenPath, 'utf8')) as Record<string, unknown>;
  change(token);
  await writeFile(tokenPath, JSON.stringify(token), { mode: 0o600 });
  return token;
}

function assertNoSecrets(output: string) {
  for (const secret of emulator.issuedSecrets()) assert.ok(!output.includes(secret), 'a secret was printed');
}

async function refreshStatus(refreshToken: string): Promise<string | undefined> {
  const secret = (emulator.clientSecret('installed') as { installed: Record<string, string> }).installed;
  const res = await fetch(emulator.tokenUri, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: String(secret.client_id),
      client_secret: String(secret.client_secret),
    }),
  });
  return ((await res.json()) as { error?: string }).error;
}

test('auth status: the client id, the scopes, the issue time and the Testing end 7 days later; exit 0', async () => {
  const issued = Date.now() - DAY;
  const token = await editToken((t) => {
    t.refresh_token_issued_at = issued;
  });
  const result = await runCli(['auth', 'status'], { cwd: dir, env: env() });
  assert.equal(result.code, 0, result.stderr);
  const secret = emulator.clientSecret('installed') as { installed: { client_id: string } };
  assert.match(result.stdout, new RegExp(`Client: ${secret.installed.client_id.replace(/\./g, '\\.')}`));
  assert.ok(result.stdout.includes(`${libraryScope} (the library source)`), result.stdout);
  assert.ok(result.stdout.includes(`${pickerScope} (the picker source)`), result.stdout);
  assert.ok(result.stdout.includes(`refresh token issued: ${utc(issued)}`), result.stdout);
  assert.ok(
    result.stdout.includes(`if your app is in Testing, it stops working on ${utc(issued + 7 * DAY)}`),
    result.stdout,
  );
  assertNoSecrets(result.stdout + result.stderr);
  assert.equal(typeof token.refresh_token, 'string');
  assert.equal(emulator.stats.requests['oauth.token'] ?? 0, 0, 'status asks Google nothing');
});

test('auth status --json: one object with the client id, scopes and times, never a secret; exit 0', async () => {
  const issued = Date.now() - DAY;
  const token = await editToken((t) => {
    t.refresh_token_issued_at = issued;
  });
  const result = await runCli(['auth', 'status', '--json'], { cwd: dir, env: env() });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.trim().split('\n').length, 1, result.stdout);
  const status = JSON.parse(result.stdout) as Record<string, unknown>;
  const secret = emulator.clientSecret('installed') as { installed: { client_id: string } };
  assert.equal(status.signedIn, true);
  assert.equal(status.clientId, secret.installed.client_id);
  assert.deepEqual([...(status.scopes as string[])].sort(), [libraryScope, pickerScope].sort());
  assert.equal(status.hasRefreshToken, true);
  assert.equal(status.refreshTokenIssuedAt, new Date(issued).toISOString());
  assert.equal(status.testingExpiresAt, new Date(issued + 7 * DAY).toISOString());
  assert.equal(status.accessTokenExpiresAt, new Date(token.expiry_date as number).toISOString());
  assert.equal(status.demo, false);
  assertNoSecrets(result.stdout + result.stderr);
  assert.ok(!result.stdout.includes('client_secret'), 'no client secret field');

  await rm(tokenPath);
  const missing = await runCli(['auth', 'status', '--json'], { cwd: dir, env: env() });
  assert.equal(missing.code, 3);
  const none = JSON.parse(missing.stdout) as Record<string, unknown>;
  assert.equal(none.signedIn, false);
  assert.equal(none.tokenFile, 'missing');
  assert.equal(none.refreshTokenIssuedAt, null);
});

test('auth status: a token file from before the issue time was kept says "unknown"', async () => {
  const result = await runCli(['auth', 'status'], { cwd: dir, env: env() });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /refresh token issued: unknown/);
  assert.match(result.stdout, /If your app is in Testing, Google ends it 7 days after the consent/);
});

test('auth status: no saved sign-in is exit 3 and says what the next run does', async () => {
  await rm(tokenPath);
  const result = await runCli(['auth', 'status'], { cwd: dir, env: env() });
  assert.equal(result.code, 3);
  assert.match(result.stdout, /Sign-in: none \(`token\.json` in `.*` not found\)/);
});

test('auth logout: revoked at Google, the file deleted, and the refresh token is refused afterwards', async () => {
  const token = await editToken(() => undefined);
  const result = await runCli(['auth', 'logout'], { cwd: dir, env: env() });
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    /Logged out: Google revoked the sign-in, and `token\.json` in `.*` was deleted\./,
  );
  await assert.rejects(access(tokenPath));
  assert.equal(emulator.stats.requests['oauth.revoke'], 1);
  assert.equal(await refreshStatus(String(token.refresh_token)), 'invalid_grant');
  assertNoSecrets(result.stdout + result.stderr);

  const again = await runCli(['auth', 'logout'], { cwd: dir, env: env() });
  assert.equal(again.code, 0);
  assert.match(again.stdout, /No saved sign-in: `token\.json` not found in .* Nothing to log out\./);
});

test('auth logout of a sign-in Google already ended (400 invalid_token): the file deleted, exit 0', async () => {
  emulator.revokeRefreshTokens();
  await editToken((t) => {
    delete t.access_token;
  });
  const result = await runCli(['auth', 'logout'], { cwd: dir, env: env() });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /was deleted\. Google no longer knew the sign-in/);
  await assert.rejects(access(tokenPath));
});

test('auth logout with Google out of reach: the file is still deleted, exit 1 naming what to do', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address() as AddressInfo;
  await new Promise((resolve) => closed.close(resolve));
  const result = await runCli(['auth', 'logout'], {
    cwd: dir,
    env: { ...env(), PHOTO_BACKUP_REVOKE_URL: `http://127.0.0.1:${port}/revoke` },
  });
  assert.equal(result.code, 1, result.stdout + result.stderr);
  assert.match(
    result.stderr,
    /was deleted, .* but it was not revoked \(Google could not be reached: ECONNREFUSED\)/,
  );
  assert.match(result.stderr, /https:\/\/myaccount\.google\.com\/permissions/);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  await assert.rejects(access(tokenPath));
  assertNoSecrets(result.stdout + result.stderr);
});

test('auth logout leaves a file that is not a sign-in alone: exit 2', async () => {
  await writeFile(tokenPath, 'not json');
  const result = await runCli(['auth', 'logout'], { cwd: dir, env: env() });
  assert.equal(result.code, 2);
  assert.match(
    result.stderr,
    /`token\.json` in `.*` is not valid JSON, so it is not a sign-in photo-backup can revoke/,
  );
  assert.equal(await readFile(tokenPath, 'utf8'), 'not json');
});

test('auth status --demo and auth logout --demo work on the demo sign-in', async () => {
  const before = Date.now();
  const status = await runCli(['auth', 'status', '--demo'], { cwd: dir });
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /^Demo: /);
  assert.ok(status.stdout.includes(`${pickerScope} (the picker source)`));
  const issued = /refresh token issued: (\d{4}-\d\d-\d\d \d\d:\d\d) UTC/.exec(status.stdout)?.[1];
  assert.ok(issued, status.stdout);
  assert.ok(Date.parse(`${issued.replace(' ', 'T')}:00Z`) >= before - 60_000);
  assert.match(status.stdout, /if your app is in Testing, it stops working on /);

  const logout = await runCli(['auth', 'logout', '--demo'], { cwd: dir });
  assert.equal(logout.code, 0, logout.stderr);
  assert.match(logout.stdout, /Logged out: Google revoked the sign-in/);
  assert.match(logout.stdout, /now answers invalid_grant for that refresh token/);
});

test('auth with no subcommand or an unknown option: exit 2 with the usage', async () => {
  const bare = await runCli(['auth'], { cwd: dir });
  assert.equal(bare.code, 2);
  assert.match(bare.stderr, /Usage: photo-backup auth/);
  const unknown = await runCli(['auth', 'status', '--bogus'], { cwd: dir });
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown option '--bogus'/);
});
