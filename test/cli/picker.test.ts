/**
 * Black-box: the built CLI with the picker source, as a child process with no terminal attached,
 * against the emulator (run `npm run build` first; `npm test` does).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterEach, beforeEach, test } from 'node:test';
import { run } from '../../src/cli.ts';
import { emulatorEnv, runCli, sha256, treeHashes, writeAccount } from '../helpers/cli.ts';
import { type Emulator, startEmulator } from '../support/emulator/index.ts';

let dir: string;
let emulator: Emulator;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pb-cli-picker-'));
  emulator = await startEmulator({
    generate: { year: 2024, count: 12, videoEvery: 5, otherYear: 2, photoSize: 2000, videoSize: 6000 },
    picker: { pollInterval: '0.01s', pollsBeforePicked: 2 },
  });
  emulator.setItems(
    emulator.items.map((item) => (item.kind === 'video' ? { ...item, videoStatus: 'READY' } : item)),
  );
  await writeAccount(emulator, dir);
});
afterEach(async () => {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

test('--source picker without a terminal: prints the link, saves the picked items of the year, exit 0', async () => {
  const result = await runCli(['2024', 'out', '--source', 'picker', '--no-browser'], {
    cwd: dir,
    env: emulatorEnv(emulator),
  });
  const output = result.stdout + result.stderr;
  assert.equal(result.code, 0, output);
  assert.match(
    result.stderr,
    /Pick the photos of 2024 in Google Photos — up to 2000 per round — then press Done: http:\/\/127\.0\.0\.1:\d+\/picker\/\S+/,
  );
  const expected = emulator.items.filter((item) => item.creationTime.startsWith('2024'));
  const tree = await treeHashes(path.join(dir, 'out'));
  assert.equal(tree.size, expected.length, [...tree.keys()].join(', '));
  assert.deepEqual(
    [...tree.values()].sort(),
    expected.map((item) => sha256(emulator.contentOf(item.id))).sort(),
  );
  assert.ok(!(await readdir(path.join(dir, 'out'))).some((name) => name.startsWith('2023')));
  assert.equal(emulator.stats.requests['picker.sessions.delete'], 1, 'session deleted');
  for (const secret of emulator.issuedSecrets())
    assert.ok(!output.includes(secret), 'no token or secret printed');

  // Again: a new session picking the same items saves nothing twice.
  const again = await runCli(['2024', 'out', '--source', 'picker', '--no-browser'], {
    cwd: dir,
    env: emulatorEnv(emulator),
  });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(await treeHashes(path.join(dir, 'out')), tree);
});

test('--source auto with an empty library and no terminal: exit 3 and the exact command to run', async () => {
  emulator.setItems(emulator.items.map((item) => ({ ...item, appCreated: false })));
  const result = await runCli(['2024', 'out', '--source', 'auto'], { cwd: dir, env: emulatorEnv(emulator) });
  const output = result.stdout + result.stderr;
  assert.equal(result.code, 3, output);
  assert.match(output, /Since 31 March 2025/);
  assert.ok(output.includes('\n  photo-backup 2024 out --source picker\n'), output);
  assert.equal(emulator.stats.requests['picker.sessions.create'], undefined, 'no session started unasked');
});

test('--demo --source picker shows the picker flow with no Google account', async () => {
  const result = await runCli(['--demo', '2024', '--source', 'picker'], { cwd: dir });
  const output = result.stdout + result.stderr;
  assert.equal(result.code, 0, output);
  assert.match(output, /Demo:/);
  assert.match(output, /Pick the photos of 2024 in Google Photos — up to 2000 per round — then press Done: /);
  assert.match(output, /picker/);
  const tree = await treeHashes(path.join(dir, 'photos-demo'));
  assert.ok(tree.size > 10, `saved ${tree.size} files`);
});

test('--source picker when nothing is picked: a message and exit 0', async () => {
  emulator.setPicker({ pickedIds: [] });
  const result = await runCli(['2024', 'out', '--source', 'picker', '--no-browser'], {
    cwd: dir,
    env: emulatorEnv(emulator),
  });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout + result.stderr, /Nothing was picked/);
});

test('--source picker when Google refuses new sessions: exit 4 and why', async () => {
  emulator.setPicker({ maxSessions: 0 });
  const result = await runCli(['2024', 'out', '--source', 'picker', '--no-browser'], {
    cwd: dir,
    env: emulatorEnv(emulator),
  });
  assert.equal(result.code, 4, result.stderr);
  assert.match(result.stderr, /too many sessions/);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
});

test('auto at a terminal: explains, continues with the picker, and asks after each round', async () => {
  // In-process with a fake terminal (a child process would need a pty).
  emulator.setItems(emulator.items.map((item) => ({ ...item, appCreated: false })));
  const ids = emulator.items.filter((item) => item.creationTime.startsWith('2024')).map((item) => item.id);
  emulator.setPicker({ pickedIds: ids.slice(0, 4) });
  const answers = ['y', 'n'];
  const stdin = Object.assign(new PassThrough(), { isTTY: true });
  let errText = '';
  let outText = '';
  const stderr = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        const text = chunk.toString();
        errText += text;
        if (text.includes('another round?')) {
          const answer = answers.shift();
          if (answer === 'y') emulator.setPicker({ pickedIds: ids.slice(2, 7) });
          setImmediate(() => stdin.write(`${answer}\n`));
        }
        callback();
      },
    }),
    { isTTY: true, columns: 120 },
  );
  const stdout = { write: (text: string) => (outText += text) };
  const code = await run(
    ['node', 'photo-backup', '2024', 'out', '--no-browser'],
    { stdout, stderr, stdin, env: emulatorEnv(emulator), cwd: dir, now: () => new Date() },
    new AbortController().signal,
  );
  assert.equal(code, 0, errText + outText);
  assert.match(errText + outText, /found nothing in 2024/);
  assert.match(errText, /Continuing with the picker/);
  assert.match(errText, /Round 2: pick more photos of 2024/);
  assert.equal(answers.length, 0, 'asked twice');
  assert.equal(emulator.stats.requests['picker.sessions.create'], 2);
  const tree = await treeHashes(path.join(dir, 'out'));
  assert.deepEqual(
    [...tree.values()].sort(),
    ids
      .slice(0, 7)
      .map((id) => sha256(emulator.contentOf(id)))
      .sort(),
  );
});
