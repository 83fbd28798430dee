/**
 * Every command in the README works as written. Each line of each ```sh block is a command; those
 * that need Google, a browser, the registry or minutes are skipped by the explicit list below
 * (each with its reason, and each must still be in the README), every other one runs in a
 * temporary folder of its own and must exit 0.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Commands that cannot run here, and why. */
const NOT_OFFLINE = new Map<string, string>([
  ['npx photos-year-backup 2024', 'the npm registry, and the package is not published yet'],
  ['npm install -g photos-year-backup', 'the npm registry, and the package is not published yet'],
  ['npx photo-backup 2024 --source picker', 'Google and a person picking in a browser'],
  ['npx photo-backup 2024 --source picker --rounds 3', 'Google and a person picking in a browser'],
  ['npx photo-backup 2024', 'Google: a client secret and a sign-in'],
  ['npx photo-backup auth status', 'a saved sign-in: without one it says so with exit 3'],
  ['npx photo-backup 2003 photos_backup', 'Google: a client secret and a sign-in'],
  ['npx photo-backup', 'Google: a client secret and a sign-in'],
  ['./backup.sh', 'Google: a client secret and a sign-in'],
  ['backup', 'Windows (backup.bat)'],
  [
    'npx photo-backup 2024 photos --takeout ~/Downloads/takeout-20250101T000000Z-001.zip ~/Downloads/takeout-20250101T000000Z-002.zip',
    "the reader's own Takeout archives",
  ],
]);

/** Commands whose first half needs the registry: the rest is what runs (the clone has node_modules). */
const OFFLINE_PART = new Map<string, string>([
  ['npm install && npx photo-backup --demo', 'npx photo-backup --demo'],
  // The suite itself is what runs this test (and .ci/run runs it, checked below): the Takeout run is the rest.
  [
    'npm test && npx photo-backup 2024 out --takeout test/fixtures/sample-takeout',
    'npx photo-backup 2024 out --takeout test/fixtures/sample-takeout',
  ],
]);

/** The commands of every ```sh block, comments and continuation lines joined. */
function shellCommands(markdown: string): string[] {
  const commands: string[] = [];
  const blocks = markdown.matchAll(/^[ \t]*```sh\n([\s\S]*?)^[ \t]*```$/gm);
  for (const [, body] of blocks) {
    const joined = (body ?? '').replace(/\\\n\s*/g, ' ');
    for (const raw of joined.split('\n')) {
      const line = raw.replace(/\s+#\s.*$/, '').trim();
      if (line !== '' && !line.startsWith('#')) commands.push(line);
    }
  }
  return commands;
}

let readme: string;
let commands: string[];
let root: string;
before(async () => {
  readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  commands = shellCommands(readme);
  root = await mkdtemp(path.join(tmpdir(), 'pb-readme-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/**
 * Runs a README command in a folder that looks like the clone's (its fixtures, source, launcher
 * and node_modules linked in), with `npx photo-backup` meaning this clone's command: outside a
 * clone npx would fetch the unrelated `photo-backup` package from the registry.
 */
async function runInClone(command: string): Promise<{ code: number | null; output: string; cwd: string }> {
  const cwd = await mkdtemp(path.join(root, 'run-'));
  for (const name of ['test', 'src', 'node_modules', 'backup.sh', 'package.json'])
    await symlink(path.join(ROOT, name), path.join(cwd, name));
  const bin = JSON.stringify(path.join(ROOT, 'bin', 'photo-backup.js'));
  const script = command.replace(/(^|&& )npx photo-backup\b/g, `$1node ${bin}`);
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script], {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TZ: 'UTC' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      output += text;
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      output += text;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, cwd });
    });
  });
}

describe('README commands', async () => {
  const text = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  for (const command of shellCommands(text)) {
    const reason = NOT_OFFLINE.get(command);
    if (reason) continue; // listed in NOT_OFFLINE, checked by the test below
    test(command, async () => {
      const run = await runInClone(OFFLINE_PART.get(command) ?? command);
      assert.equal(run.code, 0, run.output);
    });
  }

  test('every command is run or listed as needing something this machine does not have', () => {
    assert.ok(commands.length >= 10, `found ${commands.length} commands`);
    for (const listed of [...NOT_OFFLINE.keys(), ...OFFLINE_PART.keys()])
      assert.ok(commands.includes(listed), `"${listed}" is listed but no longer in the README`);
  });

  test('.ci/run runs the README test command from a clean install', async () => {
    const ci = await readFile(path.join(ROOT, '.ci', 'run'), 'utf8');
    const testCommand = 'npm test && npx photo-backup 2024 out --takeout test/fixtures/sample-takeout';
    assert.ok(commands.includes(testCommand), 'the README has the test command');
    assert.ok(readme.includes('`npm ci`'), 'the README names the clean install CI does first');
    const lines = ci.split('\n');
    assert.ok(lines.includes('npm ci'), '.ci/run installs cleanly');
    assert.ok(lines.includes(testCommand), '.ci/run runs exactly the README test command');
  });

  test('the newcomer path is two commands: demo first, then tests and a Takeout run of the sample', () => {
    assert.deepEqual(commands.slice(0, 2), [
      'npm install && npx photo-backup --demo',
      'npm test && npx photo-backup 2024 out --takeout test/fixtures/sample-takeout',
    ]);
  });
});
