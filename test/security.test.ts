/**
 * Secrets and launchers: no token, code or client secret in any output or file of a run; the token
 * file 0600 and written atomically. The launchers (backup.sh, backup.bat) are test/launchers.test.ts.
 * The consent listener (127.0.0.1 only, matching state, one request, PKCE) is covered by test/auth/authorizer.test.ts.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import type { CliResult } from './helpers/cli.ts';
import { allFiles, backup, openAccount, readyItems } from './helpers/reliability.ts';

test('no token, code or client secret in stdout, stderr, --json or any file the runs leave', async () => {
  const account = await openAccount(readyItems(30), {
    faults: { mediaResetRate: 0.2, firstAttempts: 1 },
  });
  const refreshes = () => account.emulator.stats.requests['oauth.token'] ?? 0;
  try {
    const outputs: CliResult[] = [];
    // Each run's saved access token is refused (401) at its first call: the run refreshes it and
    // goes on, so new tokens pass through it and its files. Ended by the emulator, not by a clock
    // racing the run (a lifetime in milliseconds ran out twice in a row on a loaded machine).
    account.emulator.expireAccessTokens();
    outputs.push(await backup(account, ['--json', '--verbose']));
    assert.equal(outputs[0]?.code, 0, outputs[0]?.stderr);
    assert.equal(refreshes(), 1, 'the first run refreshed its token');
    account.emulator.expireAccessTokens();
    outputs.push(await backup(account, ['--verbose', '--all']));
    assert.equal(outputs[1]?.code, 0, outputs[1]?.stderr);
    assert.equal(refreshes(), 2, 'the second run refreshed the token the first one saved');
    account.emulator.revokeRefreshTokens();
    account.emulator.expireAccessTokens();
    const refused = await backup(account, ['--json']);
    outputs.push(refused);
    assert.equal(refused.code, 3, refused.stderr);
    const secrets = account.emulator.issuedSecrets().filter((secret) => secret.length >= 8);
    assert.ok(secrets.length >= 4, 'the emulator issued secrets to look for');
    const texts = outputs.flatMap((result) => [result.stdout, result.stderr]);
    for (const file of await allFiles(account.folder))
      texts.push(await readFile(path.join(account.folder, file), 'latin1'));
    for (const secret of secrets)
      for (const text of texts) assert.ok(!text.includes(secret), `a secret (${secret.slice(0, 4)}…) leaked`);
  } finally {
    await account.close();
  }
});

test('the token file is 0600 after a refresh saved it back, and no temporary token file is left', async () => {
  const account = await openAccount(readyItems(5));
  try {
    account.emulator.expireAccessTokens();
    const before = await readFile(path.join(account.dir, 'token.json'), 'utf8');
    const result = await backup(account);
    assert.equal(result.code, 0, result.stderr);
    const tokenPath = path.join(account.dir, 'token.json');
    assert.notEqual(await readFile(tokenPath, 'utf8'), before, 'the refreshed token was saved');
    assert.equal((await stat(tokenPath)).mode & 0o777, 0o600);
    assert.deepEqual((await readdir(account.dir)).sort(), ['client_secret.json', 'photos', 'token.json']);
  } finally {
    await account.close();
  }
});
