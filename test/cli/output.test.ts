/**
 * Black-box: what the built CLI prints, as a user at a terminal, in a log (cron) or a script
 * (--json) sees it. Each message once; input checked before anything is written; counts that
 * agree with the lines above them. Run `npm run build` first; `npm test` does.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LIBRARY_SCOPE, PICKER_SCOPE } from '../../src/auth/scopes.ts';
import { BIN, emulatorEnv, runCli, runCliMerged, writeAccount } from '../helpers/cli.ts';
import { type Emulator, startEmulator } from '../support/emulator/index.ts';

const SAMPLE = fileURLToPath(new URL('../fixtures/sample-takeout', import.meta.url));

let dir: string;
let emulator: Emulator;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pb-output-'));
  emulator = await startEmulator({ generate: { year: 2024, count: 12, videoEvery: 5 } });
});
afterEach(async () => {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

const count = (text: string, part: string) => text.split(part).length - 1;
const lines = (text: string, start: string) => text.split('\n').filter((line) => line.startsWith(start));

test('a --takeout path that does not exist: only the error, exit 2, and no folder written', async () => {
  const result = await runCli(['2024', 'photos', '--takeout', 'no-such-takeout.zip'], { cwd: dir });
  assert.equal(result.code, 2, result.stderr);
  assert.equal(result.stdout, '', 'no start line and no summary of nothing');
  assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  assert.match(result.stderr, /no-such-takeout\.zip" not found/);
  assert.deepEqual(await readdir(dir), [], 'no photos/.photo-backup/ made');
});

test('the daily quota before anything was listed: the message once, and no "Saved 0 file(s)" summary of nothing', async () => {
  await writeAccount(emulator, dir);
  emulator.setFaults({ dailyQuotaAfter: 0 });
  const result = await runCli(['2024', '--source', 'library'], { cwd: dir, env: emulatorEnv(emulator) });
  assert.equal(result.code, 4, result.stderr);
  const output = result.stdout + result.stderr;
  assert.equal(count(output, 'daily request quota'), 1, output);
  assert.doesNotMatch(output, /Saved \d+ file/);
});

test('Ctrl-C: "Interrupted." is printed once and the exit code is 130', async () => {
  await writeAccount(emulator, dir);
  // Slow downloads, so the run is still going when the signal comes.
  emulator.setLatency({ mediaMs: 5_000 });
  const child = spawn(process.execPath, [BIN, '2024', '--source', 'library'], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TZ: 'UTC', ...emulatorEnv(emulator) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    output += text;
    if (text.includes('Backing up')) child.kill('SIGINT');
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    output += text;
  });
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(code, 130, output);
  assert.equal(count(output, 'Interrupted.'), 1, output);
});

test('--dry-run: "Would save N" is the number of "would save" lines (items of other years are not counted)', async () => {
  const result = await runCli(['2024', 'out', '--dry-run', '--takeout', SAMPLE], { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  const listed = lines(result.stdout, 'would save ').length;
  assert.ok(listed > 0);
  assert.match(result.stdout, new RegExp(`Would save ${listed} file\\(s\\)`));
  assert.match(result.stdout, /left out 1 item\(s\) of other years/);
});

test('in a log (no terminal): a line per saved file, skips only as a count unless --verbose; --quiet: the summary', async () => {
  const quiet = await runCli(['2024', 'out', '--quiet', '--takeout', SAMPLE], { cwd: dir });
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.deepEqual(lines(quiet.stdout, 'saved '), []);
  assert.doesNotMatch(quiet.stdout, /Backing up/);
  assert.match(quiet.stdout, /^Saved 9 file\(s\)/m);

  const again = await runCli(['2024', 'out', '--takeout', SAMPLE], { cwd: dir });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(lines(again.stdout, 'skip'), [], again.stdout);
  assert.match(again.stdout, /skipped 10 already saved/);

  const verbose = await runCli(['2024', 'out', '--verbose', '--takeout', SAMPLE], { cwd: dir });
  assert.equal(lines(verbose.stdout, 'skip  ').length, 10, verbose.stdout);
});

test('a fresh run in a log prints one "saved" line per file saved', async () => {
  const result = await runCli(['2024', 'out', '--takeout', SAMPLE], { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(lines(result.stdout, 'saved ').length, 9, result.stdout);
});

test('--json: the start event has a schemaVersion; "not yet" items agree in events, summary, text and exit code', async () => {
  await writeAccount(emulator, dir);
  const processing = emulator.items.filter((item) => item.kind === 'video' && item.videoStatus !== 'READY');
  assert.ok(processing.length > 0, 'the emulator has a video still processing');
  const result = await runCli(['2024', '--source', 'library', '--json'], {
    cwd: dir,
    env: emulatorEnv(emulator),
  });
  assert.equal(result.code, 0, result.stderr);
  const events = result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  assert.equal(events[0].type, 'start');
  assert.equal(events[0].schemaVersion, 1);
  const notYet = events.filter((event) => event.type === 'not-yet');
  const summary = events.at(-1).summary;
  assert.equal(notYet.length, processing.length);
  assert.equal(summary.unavailable.length, notYet.length);
  assert.equal(events.filter((event) => event.type === 'failed').length, 0, 'not a failure');
  assert.match(result.stderr, new RegExp(`0 failed, ${notYet.length} not yet`));
});

test('--json with the picker: the picker link is an event on stdout, not only text on stderr', async () => {
  const result = await runCli(['2024', '--demo', '--source', 'picker', '--json'], { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  const events = result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  const link = events.find((event) => event.type === 'link');
  assert.ok(link, result.stdout);
  assert.equal(link.purpose, 'picker');
  assert.equal(link.round, 1);
  assert.ok(result.stderr.includes(link.url), 'and said in words on stderr');
});

/** Runs the CLI in a pseudo-terminal (python3's pty) with `term` as TERM; returns what it printed. */
function runAtTerminal(args: string[], term: string): Promise<string> {
  const driver = `
import json, os, pty, sys
argv, env = json.loads(sys.argv[1]), json.loads(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execve(argv[0], argv, env)
out = b""
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
os.waitpid(pid, 0)
sys.stdout.write(json.dumps(out.decode("utf8", "replace")))
`;
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, TZ: 'UTC', TERM: term };
  return new Promise((resolve, reject) => {
    const child = spawn(
      'python3',
      ['-c', driver, JSON.stringify([process.execPath, BIN, ...args]), JSON.stringify(env)],
      { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
    });
    child.on('error', reject);
    child.on('close', () => resolve(JSON.parse(text) as string));
  });
}

test('at a terminal with TERM=dumb: plain lines, no carriage return and no ANSI sequence', async () => {
  const args = ['2024', 'out', '--takeout', SAMPLE];
  // The same run at a terminal that can move the cursor redraws its progress line in place.
  const smart = await runAtTerminal(args, 'xterm-256color');
  assert.ok(smart.includes('\r\x1b[2K'), JSON.stringify(smart));
  await rm(path.join(dir, 'out'), { recursive: true, force: true });
  const dumb = await runAtTerminal(args, 'dumb');
  assert.match(dumb, /Saved 9 file\(s\)/, dumb);
  assert.ok(!dumb.includes('\x1b'), JSON.stringify(dumb));
  // The pty turns each line feed into CR LF; a CR anywhere else would be a rewrite of the line.
  assert.ok(!dumb.replaceAll('\r\n', '\n').includes('\r'), JSON.stringify(dumb));
});

test('the Library API refusing (403): the error once, and no "Saved 0 file(s)" summary of nothing', async () => {
  await writeAccount(emulator, dir);
  emulator.setFaults({ serviceDisabled: { service: 'library' } });
  for (const source of ['library', 'auto']) {
    const result = await runCliMerged(['2024', 'out', '--source', source], {
      cwd: dir,
      env: emulatorEnv(emulator),
    });
    assert.equal(result.code, 3, result.output);
    assert.equal(count(result.output, 'Photos Library API is not enabled'), 1, result.output);
    assert.doesNotMatch(result.output, /Saved \d+ file/, 'nothing ran: no summary');
  }
});

test('a scope the saved sign-in lacks at Google (403 insufficient scope): the error once, no summary of nothing', async () => {
  const { tokenPath } = await writeAccount(emulator, dir, { scopes: [PICKER_SCOPE] });
  // The file claims the Library scope, Google's token does not have it: the API answers 403.
  const token = JSON.parse(await readFile(tokenPath, 'utf8')) as Record<string, unknown>;
  await writeFile(tokenPath, JSON.stringify({ ...token, scope: `${LIBRARY_SCOPE} ${PICKER_SCOPE}` }));
  const result = await runCliMerged(['2024', 'out', '--source', 'library'], {
    cwd: dir,
    env: emulatorEnv(emulator),
  });
  assert.equal(result.code, 3, result.output);
  const errorLines = result.output.split('\n').filter((line) => /scope|refused|allow/i.test(line));
  assert.ok(errorLines.length > 0, result.output);
  assert.equal(count(result.output, errorLines[0] as string), 1, result.output);
  assert.doesNotMatch(result.output, /Saved \d+ file/, 'nothing ran: no summary');
});

test('a picking session that times out: the error once, and no summary of nothing', async () => {
  await emulator.close();
  emulator = await startEmulator({
    generate: { year: 2024, count: 4 },
    picker: { pollInterval: '0.01s', pollsBeforePicked: 1_000_000, timeoutIn: '0.05s' },
  });
  await writeAccount(emulator, dir);
  const result = await runCliMerged(['2024', 'out', '--source', 'picker', '--no-browser'], {
    cwd: dir,
    env: emulatorEnv(emulator),
  });
  assert.equal(result.code, 3, result.output);
  assert.equal(count(result.output, 'Nobody pressed Done'), 1, result.output);
  assert.doesNotMatch(result.output, /Saved \d+ file/, 'nothing ran: no summary');
});

test('the download quota ending a run that saved some: the error first, then the summary, each once', async () => {
  await writeAccount(emulator, dir);
  // The media host's download quota runs out after 3 files: 5 refusals in a row end the run.
  emulator.setFaults({ mediaQuotaAfter: 3 });
  const result = await runCliMerged(['2024', 'out', '--source', 'library', '--concurrency', '1'], {
    cwd: dir,
    env: emulatorEnv(emulator),
  });
  assert.equal(result.code, 4, result.output);
  assert.equal(count(result.output, 'refused 5 downloads in a row'), 1, result.output);
  assert.equal(lines(result.output, 'Saved ').length, 1, result.output);
  assert.match(result.output, /Saved [1-9]\d* file/, 'some were saved');
  assert.ok(
    result.output.indexOf('refused 5 downloads in a row') < result.output.indexOf('Saved '),
    `the error before the summary:\n${result.output}`,
  );
});
