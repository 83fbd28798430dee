/** Black-box: the built CLI as a child process, its exit codes, files and output. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { emulatorEnv, runCli, treeHashes, writeAccount } from '../helpers/cli.ts';
import { type Emulator, startEmulator } from '../support/emulator/index.ts';

let dir: string;
let emulator: Emulator;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pb-cli-'));
  emulator = await startEmulator({ generate: { year: 2024, count: 12, videoEvery: 5 } });
  emulator.setItems(
    emulator.items.map((item) => (item.kind === 'video' ? { ...item, videoStatus: 'READY' } : item)),
  );
});
afterEach(async () => {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

for (const { args, pattern } of [
  { args: ['20x4'], pattern: /Year "20x4" is not a year/ },
  { args: ['1799'], pattern: /out of range/ },
  { args: ['2999'], pattern: /out of range/ },
  { args: ['2024', 'photos', 'extra'], pattern: /too many arguments/ },
  { args: ['--concurrency', '0'], pattern: /--concurrency must be a whole number/ },
  { args: ['--timezone', 'Nowhere/Land'], pattern: /Time zone "Nowhere\/Land" is unknown/ },
  { args: ['--source', 'dropbox'], pattern: /Allowed choices are auto, library, picker, takeout/ },
  { args: ['--frobnicate'], pattern: /unknown option '--frobnicate'/ },
  { args: ['--source', 'takeout'], pattern: /needs the archives/ },
]) {
  test(`usage error: photo-backup ${args.join(' ')} → exit 2, one clear line, no stack`, async () => {
    const result = await runCli(args, { cwd: dir });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, pattern);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  });
}

test('--help shows the seed examples, every option and the exit codes', async () => {
  const result = await runCli(['--help'], { cwd: dir });
  assert.equal(result.code, 0);
  for (const text of [
    'photo-backup 2003 photos_backup',
    '--source',
    '--max-skipped',
    '--all',
    '--timezone',
    '--dry-run',
    '--json',
    '--no-browser',
    '--demo',
    '--xmp',
    'Exit codes',
  ]) {
    assert.ok(result.stdout.includes(text), text);
  }
});

test('-V prints the version', async () => {
  const result = await runCli(['-V'], { cwd: dir });
  assert.equal(result.code, 0);
  assert.match(result.stdout, /^\d+\.\d+\.\d+/);
});

test('a missing client_secret.json: exit 3 naming the file and what to do', async () => {
  const result = await runCli(['2024'], { cwd: dir, env: emulatorEnv(emulator) });
  assert.equal(result.code, 3, result.stderr);
  assert.ok(result.stderr.includes('client_secret.json'), result.stderr);
  assert.match(result.stderr, /Desktop/);
  assert.doesNotMatch(result.stderr, /\n\s+at /);
});

test('a year backup into ./photos, then a second run that stops after 6 skips; nothing secret printed', async () => {
  await writeAccount(emulator, dir);
  const first = await runCli(['2024', '--source', 'library'], { cwd: dir, env: emulatorEnv(emulator) });
  assert.equal(first.code, 0, first.stderr);
  const tree = await treeHashes(path.join(dir, 'photos'));
  assert.equal(tree.size, emulator.items.filter((item) => item.creationTime.startsWith('2024')).length);
  for (const day of await readdir(path.join(dir, 'photos'))) {
    if (day !== '.photo-backup') assert.match(day, /^2024-\d\d-\d\d$/);
  }
  const second = await runCli(['2024', '--source', 'library'], { cwd: dir, env: emulatorEnv(emulator) });
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /Saved 0 file/);
  assert.match(second.stdout, /Stopped after 6 files in a row were already saved/);
  const output = first.stdout + first.stderr + second.stdout + second.stderr;
  for (const secret of emulator.issuedSecrets()) assert.ok(!output.includes(secret), 'a secret was printed');
});

test('--json prints one JSON object per line on stdout, ending with the summary', async () => {
  await writeAccount(emulator, dir);
  const result = await runCli(['2024', 'out', '--json'], { cwd: dir, env: emulatorEnv(emulator) });
  assert.equal(result.code, 0, result.stderr);
  const events = result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  const types = new Set(events.map((event) => event.type));
  for (const type of ['start', 'saved', 'stopped', 'summary']) assert.ok(types.has(type), type);
  const summary = events.at(-1);
  assert.equal(summary.type, 'summary');
  assert.equal(summary.summary.saved, events.filter((event) => event.type === 'saved').length);
});

test('the daily quota ends the run with exit 4 and says the same command continues', async () => {
  await writeAccount(emulator, dir);
  emulator.setFaults({ dailyQuotaAfter: 0 });
  const result = await runCli(['2024', '--source', 'library'], { cwd: dir, env: emulatorEnv(emulator) });
  assert.equal(result.code, 4, result.stderr);
  assert.match(result.stderr, /quota/);
  assert.match(result.stderr, /same command/);
});

test('a file that fails for good is reported and the run goes on: exit 1', async () => {
  await writeAccount(emulator, dir);
  const victim = emulator.items.find((item) => item.kind === 'photo');
  assert.ok(victim);
  emulator.setFaults({ mediaUnavailableRate: 1, itemIds: [victim.id] });
  const result = await runCli(['2024', '--source', 'library'], { cwd: dir, env: emulatorEnv(emulator) });
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stdout, /1 failed/);
  assert.ok(result.stdout.includes(victim.filename));
  const tree = await treeHashes(path.join(dir, 'photos'));
  assert.equal(tree.size, emulator.items.filter((item) => item.creationTime.startsWith('2024')).length - 1);
});

test('--source auto with an empty library and no terminal: exit 3 with the command to run', async () => {
  await writeAccount(emulator, dir);
  emulator.setItems([]);
  const result = await runCli(['2024', 'my photos'], { cwd: dir, env: emulatorEnv(emulator) });
  assert.equal(result.code, 3, result.stderr);
  const output = result.stdout + result.stderr;
  // Regression: the notice and the advice both printed the explanation of Google's change.
  assert.equal(output.split('Since 31 March 2025').length - 1, 1, output);
  assert.match(result.stderr, /--source picker/);
});

test('--demo saves generated photos with no Google account', async () => {
  const result = await runCli(['--demo', '2024'], { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  const tree = await treeHashes(path.join(dir, 'photos-demo'));
  assert.ok(tree.size >= 40, `${tree.size} files`);
});

test('the token path defaults to token.json beside the client secret', async () => {
  const sub = path.join(dir, 'creds');
  await (await import('node:fs/promises')).mkdir(sub);
  await writeAccount(emulator, sub);
  await writeFile(path.join(dir, 'token.json'), 'not used');
  const result = await runCli(
    ['2024', '--source', 'library', '--client-secret', 'creds/client_secret.json'],
    {
      cwd: dir,
      env: emulatorEnv(emulator),
    },
  );
  assert.equal(result.code, 0, result.stderr);
});

test('output piped into a reader that closes early (| head) ends the run quietly, not with a crash', async () => {
  const { spawn } = await import('node:child_process');
  const { BIN } = await import('../helpers/cli.ts');
  const sample = path.join(path.dirname(BIN), '..', 'test', 'fixtures', 'sample-takeout');
  const child = spawn(process.execPath, [BIN, '2024', 'out', '--dry-run', '--takeout', sample], { cwd: dir });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  child.stdout.once('data', () => child.stdout.destroy());
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.doesNotMatch(stderr, /Unhandled 'error' event|EPIPE/, stderr);
  assert.ok(code === 0 || code === 130, String(code));
});
