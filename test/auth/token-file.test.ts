import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Credentials } from 'google-auth-library';
import { LIBRARY_SCOPE, PICKER_SCOPE } from '../../src/auth/index.ts';
import {
  checkToken,
  mergeTokens,
  parseTokenFile,
  readTokenFile,
  type SavedToken,
  saveToken,
  type TokenFileRead,
} from '../../src/auth/token-file.ts';

const CLIENT = '123-abc.apps.googleusercontent.com';
const BOTH = `${LIBRARY_SCOPE} ${PICKER_SCOPE}`;
const NOW = Date.UTC(2026, 11, 2, 17, 0);
const saved: SavedToken = {
  client_id: CLIENT,
  access_token: 'ya29.old',
  refresh_token: '1//old-refresh',
  expiry_date: 1_000,
  scope: BOTH,
  token_type: 'Bearer',
};

const parseCases: { name: string; input: string; expected: TokenFileRead }[] = [
  { name: 'empty', input: '', expected: { status: 'unusable', reason: 'is empty' } },
  {
    name: 'corrupt (cut short by a crash)',
    input: '{"client_id":"x","access',
    expected: { status: 'unusable', reason: 'is not valid JSON' },
  },
  {
    name: 'not an object',
    input: '"token"',
    expected: { status: 'unusable', reason: 'is not a saved sign-in (expected a JSON object)' },
  },
  {
    name: "google-auth-library's plain Credentials without client_id is read, not refused",
    input: JSON.stringify({ refresh_token: 'r', scope: BOTH, expiry_date: 5, token_type: 'Bearer' }),
    expected: {
      status: 'ok',
      token: { refresh_token: 'r', scope: BOTH, expiry_date: 5, token_type: 'Bearer' },
    },
  },
  {
    name: 'the refresh token issue time is read back',
    input: JSON.stringify({ refresh_token: 'r', refresh_token_issued_at: 7 }),
    expected: { status: 'ok', token: { refresh_token: 'r', refresh_token_issued_at: 7 } },
  },
  {
    name: 'malformed refresh_token_issued_at',
    input: JSON.stringify({ ...saved, refresh_token_issued_at: '2026-12-02' }),
    expected: { status: 'unusable', reason: 'has a malformed "refresh_token_issued_at"' },
  },
  {
    name: 'malformed expiry_date',
    input: JSON.stringify({ ...saved, expiry_date: 'soon' }),
    expected: { status: 'unusable', reason: 'has a malformed "expiry_date"' },
  },
  {
    name: 'malformed refresh_token',
    input: JSON.stringify({ ...saved, refresh_token: 42 }),
    expected: { status: 'unusable', reason: 'has a malformed "refresh_token"' },
  },
  { name: 'ok', input: JSON.stringify(saved), expected: { status: 'ok', token: saved } },
  {
    name: 'ok, nulls and unknown fields dropped',
    input: JSON.stringify({ ...saved, id_token: null, refresh_token_expires_in: 604799 }),
    expected: { status: 'ok', token: saved },
  },
];
for (const { name, input, expected } of parseCases) {
  test(`parseTokenFile: ${name}`, () => {
    assert.deepEqual(parseTokenFile(input), expected);
  });
}

const checkCases: { name: string; input: SavedToken; expected: string | undefined }[] = [
  { name: 'usable', input: saved, expected: undefined },
  {
    name: 'usable with scopes in another order',
    input: { ...saved, scope: `${PICKER_SCOPE} ${LIBRARY_SCOPE}` },
    expected: undefined,
  },
  {
    name: 'another client',
    input: { ...saved, client_id: 'other.apps.googleusercontent.com' },
    expected: 'belongs to another OAuth client (client_secret.json was replaced)',
  },
  {
    name: 'no refresh token',
    input: { ...saved, refresh_token: undefined },
    expected: 'has no refresh token',
  },
  {
    name: 'no client_id: taken to be this client',
    input: { ...saved, client_id: undefined },
    expected: undefined,
  },
  {
    // Each source needs only its own scope: a picker-only grant is usable for the picker.
    name: 'a picker-only grant is usable (scopes are checked per source)',
    input: { ...saved, scope: PICKER_SCOPE },
    expected: undefined,
  },
];
for (const { name, input, expected } of checkCases) {
  test(`checkToken: ${name}`, () => {
    assert.equal(checkToken(input, { clientId: CLIENT }), expected);
  });
}

const mergeCases: { name: string; input: Credentials; expected: SavedToken }[] = [
  {
    name: 'a refresh answer (no refresh_token) keeps the old refresh token',
    input: { access_token: 'ya29.new', expiry_date: 2_000, scope: BOTH, token_type: 'Bearer' },
    expected: { ...saved, access_token: 'ya29.new', expiry_date: 2_000 },
  },
  {
    name: 'an answer without scope keeps the old scope',
    input: { access_token: 'ya29.new', expiry_date: 2_000, refresh_token: null },
    expected: { ...saved, access_token: 'ya29.new', expiry_date: 2_000 },
  },
  {
    name: 'a rotated refresh token replaces the old one, stamped with its issue time',
    input: { access_token: 'ya29.new', refresh_token: '1//new-refresh', expiry_date: 3_000 },
    expected: {
      ...saved,
      access_token: 'ya29.new',
      refresh_token: '1//new-refresh',
      expiry_date: 3_000,
      refresh_token_issued_at: NOW,
    },
  },
  {
    name: 'the same refresh token answered again keeps its (unknown) issue time',
    input: { access_token: 'ya29.new', refresh_token: '1//old-refresh', expiry_date: 3_000 },
    expected: { ...saved, access_token: 'ya29.new', expiry_date: 3_000 },
  },
];
for (const { name, input, expected } of mergeCases) {
  test(`mergeTokens: ${name}`, () => {
    assert.deepEqual(mergeTokens(saved, input, NOW), expected);
  });
}

test('mergeTokens: a first consent stamps the refresh token, a later refresh keeps the stamp', () => {
  const first = mergeTokens({ client_id: CLIENT }, { access_token: 'a', refresh_token: '1//r' }, NOW);
  assert.equal(first.refresh_token_issued_at, NOW);
  const later = mergeTokens(first, { access_token: 'b' }, NOW + 3_600_000);
  assert.equal(later.refresh_token_issued_at, NOW);
});

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'auth-token-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test(
  'saveToken writes a 0600 file that readTokenFile reads back',
  { skip: process.platform === 'win32' },
  () =>
    withDir(async (dir) => {
      const file = path.join(dir, 'token.json');
      await saveToken(file, saved);
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      assert.deepEqual(await readTokenFile(file), { status: 'ok', token: saved });
    }),
);

test(
  'saveToken replaces a world-readable file by rename: new inode, mode 0600, no temp file left',
  {
    skip: process.platform === 'win32',
  },
  () =>
    withDir(async (dir) => {
      const file = path.join(dir, 'token.json');
      await writeFile(file, '{"old":true}', { mode: 0o644 });
      const before = await stat(file);
      await saveToken(file, { ...saved, access_token: 'ya29.second' });
      const after = await stat(file);
      // Writing in place would keep the inode; a temp file renamed over it gives a new one.
      assert.notEqual(after.ino, before.ino);
      assert.equal(after.mode & 0o777, 0o600);
      assert.deepEqual(await readdir(dir), ['token.json']);
      assert.equal(JSON.parse(await readFile(file, 'utf8')).access_token, 'ya29.second');
    }),
);

test('saveToken creates the folder and fails cleanly when it cannot write', () =>
  withDir(async (dir) => {
    const file = path.join(dir, 'nested', 'token.json');
    await saveToken(file, saved);
    assert.equal((await readTokenFile(file)).status, 'ok');
    // A folder where the token file should be: the rename fails and the temporary file is removed.
    const blocked = path.join(dir, 'blocked');
    await mkdir(path.join(blocked, 'inside'), { recursive: true });
    await assert.rejects(saveToken(blocked, saved), { code: 'EISDIR' });
    assert.deepEqual((await readdir(dir)).sort(), ['blocked', 'nested']);
  }));

test('readTokenFile: a missing file is missing, not unusable', () =>
  withDir(async (dir) => {
    assert.deepEqual(await readTokenFile(path.join(dir, 'token.json')), { status: 'missing' });
  }));
