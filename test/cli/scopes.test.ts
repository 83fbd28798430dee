/**
 * Black-box: each source needs only its own scope. The built CLI with no terminal attached, against
 * the emulator, with a saved sign-in that allows only the picker (the person left the Library box
 * unticked on Google's granular consent page). Run `npm run build` first; `npm test` does.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { emulatorEnv, runCli, writeAccount } from '../helpers/cli.ts';
import { type Emulator, pickerScope, startEmulator } from '../support/emulator/index.ts';

let dir: string;
let emulator: Emulator;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pb-cli-scopes-'));
  emulator = await startEmulator({
    generate: { year: 2024, count: 4, photoSize: 2000 },
    picker: { pollInterval: '0.01s', pollsBeforePicked: 1 },
  });
  await writeAccount(emulator, dir, { scopes: [pickerScope] });
});
afterEach(async () => {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

test('a picker-only sign-in works for --source picker in a script (exit 0, no new consent)', async () => {
  const result = await runCli(['2024', 'out', '--source', 'picker', '--no-browser'], {
    cwd: dir,
    env: emulatorEnv(emulator),
  });
  const output = result.stdout + result.stderr;
  assert.equal(result.code, 0, output);
  assert.equal(
    (await readdir(path.join(dir, 'out'))).filter((name) => name.startsWith('2024-')).length > 0,
    true,
  );
  assert.equal(emulator.stats.requests['oauth.authorize'] ?? 0, 0);
});

test('--source library with a picker-only sign-in in a script: exit 3 naming the box to tick', async () => {
  const result = await runCli(['2024', 'out', '--source', 'library'], {
    cwd: dir,
    env: emulatorEnv(emulator),
  });
  assert.equal(result.code, 3, result.stderr);
  assert.match(result.stderr, /does not allow Google Photos "Manage photos added by this app"/);
  assert.match(
    result.stderr,
    /Run photo-backup once at a terminal: it asks Google for that permission alone/,
  );
  assert.equal(
    emulator.stats.requests['library.search'] ?? 0,
    0,
    'the Library API is not called without its scope',
  );
});

test('--source auto with a picker-only sign-in in a script: says to run --source picker, exit 3', async () => {
  const result = await runCli(['2024', 'out'], { cwd: dir, env: emulatorEnv(emulator) });
  assert.equal(result.code, 3, result.stderr);
  assert.match(result.stdout + result.stderr, /photo-backup 2024 out --source picker/);
  assert.equal(emulator.stats.requests['library.search'] ?? 0, 0);
});
