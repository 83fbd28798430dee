import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadClientSecret } from '../../src/auth/index.ts';
import { BackupError, ExitCode } from '../../src/errors.ts';

// Shaped like a real Desktop client download; the values are made up.
const SECRET = 'GOCSPX-not-a-real-secret-1234';
const CLIENT_ID = '123456789012-abcdef.apps.googleusercontent.com';
const installed = {
  client_id: CLIENT_ID,
  project_id: 'photo-backup-test',
  auth_uri: 'https://accounts.google.com/o/oauth2/auth',
  token_uri: 'https://oauth2.googleapis.com/token',
  auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
  client_secret: SECRET,
  redirect_uris: ['http://localhost'],
};
const ok = {
  clientId: CLIENT_ID,
  clientSecret: SECRET,
  authUri: 'https://accounts.google.com/o/oauth2/auth',
  tokenUri: 'https://oauth2.googleapis.com/token',
};

type Expected = { ok: typeof ok } | { error: RegExp };

const cases: { name: string; input: string | undefined; expected: Expected }[] = [
  {
    name: 'missing file',
    input: undefined,
    expected: {
      error:
        /^`client_secret\.json` not found in `.+`\. Create a Desktop OAuth client \(README, "Set up Google access", step 4\)/,
    },
  },
  {
    name: 'empty file',
    input: '',
    expected: {
      error:
        /`client_secret\.json` in `.+` is empty\. In Google Cloud console .*add a new secret, or create a new Desktop client, and download that JSON/,
    },
  },
  { name: 'only whitespace', input: ' \n\t', expected: { error: /is empty/ } },
  {
    name: 'malformed JSON',
    input: `{"installed":{"client_secret":"${SECRET}"`,
    expected: { error: /is not valid JSON\. .*add a new secret/ },
  },
  { name: 'JSON array', input: '[]', expected: { error: /is not an OAuth client file/ } },
  {
    name: 'web client',
    input: JSON.stringify({ web: installed }),
    expected: {
      error:
        /"Web application" OAuth client; photo-backup needs a "Desktop app" client\. Create a Desktop OAuth client/,
    },
  },
  {
    name: 'neither installed nor web',
    input: JSON.stringify({ type: 'service_account' }),
    expected: { error: /has no "installed" section/ },
  },
  {
    name: 'installed is not an object',
    input: JSON.stringify({ installed: 'x' }),
    expected: { error: /"installed" section is not a JSON object/ },
  },
  {
    name: 'missing client_secret',
    input: JSON.stringify({ installed: { ...installed, client_secret: undefined } }),
    expected: { error: /lacks client_secret in its "installed" section/ },
  },
  {
    name: 'missing client_id and client_secret',
    input: JSON.stringify({ installed: { redirect_uris: [] } }),
    expected: { error: /lacks client_id and client_secret/ },
  },
  {
    name: 'empty client_id',
    input: JSON.stringify({ installed: { ...installed, client_id: ' ' } }),
    expected: { error: /lacks client_id/ },
  },
  {
    name: 'token_uri not a URL',
    input: JSON.stringify({ installed: { ...installed, token_uri: 'oauth2.googleapis.com' } }),
    expected: { error: /"token_uri" in its "installed" section is not an http\(s\) address/ },
  },
  { name: 'ok download', input: JSON.stringify({ installed }), expected: { ok } },
  {
    name: 'ok with a BOM and CRLF',
    input: `\uFEFF${JSON.stringify({ installed }, null, 2).replaceAll('\n', '\r\n')}`,
    expected: { ok },
  },
  {
    name: 'ok, old file with OOB redirect and v3 token_uri',
    input: JSON.stringify({
      installed: {
        ...installed,
        token_uri: 'https://www.googleapis.com/oauth2/v3/token',
        redirect_uris: ['urn:ietf:wg:oauth:2.0:oob', 'http://localhost'],
      },
    }),
    expected: { ok: { ...ok, tokenUri: 'https://www.googleapis.com/oauth2/v3/token' } },
  },
  {
    name: 'ok without auth_uri and token_uri: Google defaults',
    input: JSON.stringify({
      installed: { client_id: CLIENT_ID, client_secret: SECRET, redirect_uris: ['http://localhost'] },
    }),
    expected: { ok },
  },
  {
    name: 'ok with emulator endpoints',
    input: JSON.stringify({
      installed: {
        ...installed,
        auth_uri: 'http://127.0.0.1:4000/o/oauth2/auth',
        token_uri: 'http://127.0.0.1:4000/token',
      },
    }),
    expected: {
      ok: { ...ok, authUri: 'http://127.0.0.1:4000/o/oauth2/auth', tokenUri: 'http://127.0.0.1:4000/token' },
    },
  },
];

for (const { name, input, expected } of cases) {
  test(`loadClientSecret: ${name}`, async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'auth-secret-'));
    try {
      const file = path.join(dir, 'client_secret.json');
      if (input !== undefined) await writeFile(file, input);
      if ('ok' in expected) {
        assert.deepEqual(await loadClientSecret(file), expected.ok);
        return;
      }
      await assert.rejects(loadClientSecret(file), (error: unknown) => {
        assert.ok(error instanceof BackupError);
        assert.equal(error.exitCode, ExitCode.auth);
        assert.match(error.message, expected.error);
        assert.ok(error.message.includes(dir), 'the message names the folder');
        assert.ok(!error.message.includes(SECRET), 'the message never quotes the secret');
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

test('loadClientSecret: a folder where the file should be', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'auth-secret-'));
  try {
    const file = path.join(dir, 'client_secret.json');
    await mkdir(file);
    await assert.rejects(loadClientSecret(file), {
      name: 'BackupError',
      exitCode: ExitCode.auth,
      message: /is a folder, not a file/,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
