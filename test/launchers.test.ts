/**
 * The launchers. backup.sh is run black-box through sh: a relative folder lands where the user
 * ran it, through a symlink too, with the client secret found beside the script. backup.bat can
 * only be checked statically here (no Windows): its structure lines, read as text.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type CliResult, treeHashes } from './helpers/cli.ts';
import { assertComplete, openAccount, readyItems, YEAR } from './helpers/reliability.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function runShell(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', args, {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TZ: 'UTC', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

test('backup.sh through a symlink: a relative folder lands where it was run, --demo', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pb-launch-'));
  try {
    await mkdir(path.join(dir, 'bin'));
    await mkdir(path.join(dir, 'work'));
    // ~/bin/backup.sh → the clone's backup.sh, through a relative link and then an absolute one.
    await symlink(path.join(ROOT, 'backup.sh'), path.join(dir, 'bin', 'real-link.sh'));
    await symlink('real-link.sh', path.join(dir, 'bin', 'backup.sh'));
    const result = await runShell(
      [path.join(dir, 'bin', 'backup.sh'), '2024', 'rel', '--demo'],
      path.join(dir, 'work'),
    );
    assert.equal(result.code, 0, result.stderr);
    const days = (await readdir(path.join(dir, 'work', 'rel'))).filter((name) => name !== '.photo-backup');
    assert.ok(days.length > 10, `day folders: ${days.join(', ')}`);
    assert.ok(
      days.every((day) => day.startsWith('2024-')),
      days.join(', '),
    );
    assert.deepEqual((await readdir(path.join(dir, 'work'))).sort(), ['rel']);
    assert.deepEqual((await readdir(path.join(dir, 'bin'))).sort(), ['backup.sh', 'real-link.sh']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('backup.sh: a folder with spaces and quotes, relative to where it was run; the client secret beside the script', async () => {
  const account = await openAccount(readyItems(6));
  try {
    // A copy of the launcher's folder: the script and the client secret, links to the program.
    for (const name of ['bin', 'dist', 'node_modules', 'package.json'])
      await symlink(path.join(ROOT, name), path.join(account.dir, name));
    await copyFile(path.join(ROOT, 'backup.sh'), path.join(account.dir, 'backup.sh'));
    const folder = `my "best" photos 'of' $HOME`;
    const elsewhere = path.join(account.dir, 'elsewhere');
    await mkdir(elsewhere);
    const result = await runShell(
      [path.join(account.dir, 'backup.sh'), String(YEAR), folder, '--max-skipped', '3'],
      elsewhere,
      account.env,
    );
    assert.equal(result.code, 0, result.stderr);
    await assertComplete(path.join(elsewhere, folder), account.emulator);
    assert.ok((await treeHashes(path.join(elsewhere, folder))).size > 0);
    assert.deepEqual(await readdir(elsewhere), [folder]);
  } finally {
    await account.close();
  }
});

test('backup.sh: a failed npm install stops it with exit 2 and a message', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pb-launch-'));
  try {
    // A launcher folder with no node_modules, and an `npm` on PATH that fails.
    await copyFile(path.join(ROOT, 'backup.sh'), path.join(dir, 'backup.sh'));
    await mkdir(path.join(dir, 'fake-bin'));
    const npm = path.join(dir, 'fake-bin', 'npm');
    await writeFile(npm, '#!/bin/sh\necho "npm error network" >&2\nexit 1\n', { mode: 0o755 });
    const result = await runShell([path.join(dir, 'backup.sh'), '--demo'], dir, {
      PATH: `${path.join(dir, 'fake-bin')}:${process.env.PATH}`,
    });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /npm install failed in .*see its message above/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('backup.bat, a static check of its structure lines (no Windows to run it here)', async () => {
  const text = await readFile(path.join(ROOT, 'backup.bat'), 'utf8');
  // cmd.exe mis-reads labels and goto in files with bare LF line ends.
  assert.ok(!/[^\r]\n/.test(text), 'every line ends in CRLF');
  const lines = text
    .split('\r\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^rem\b/i.test(line));
  assert.equal(lines[0], '@echo off');
  // setlocal first: the variables it sets end with the script, not in the caller's window.
  assert.equal(lines[1], 'setlocal');
  // The caller's window is never moved: no cd, and every pushd is undone on each way out.
  assert.ok(!lines.some((line) => /^cd\b|^chdir\b/i.test(line)), 'no cd');
  const pushd = lines.indexOf('pushd "%HERE%"');
  assert.ok(pushd > 0, 'pushd into the script folder for npm install');
  assert.equal(lines[pushd + 1], 'call npm install --no-audit --no-fund');
  // A failed npm install stops it, after popd.
  assert.equal(lines[pushd + 2], 'if errorlevel 1 goto install_failed');
  assert.equal(lines[pushd + 3], 'popd');
  const failed = lines.indexOf(':install_failed');
  assert.ok(failed > pushd);
  assert.equal(lines[failed + 1], 'popd');
  assert.match(lines[failed + 2] ?? '', /^echo .*npm install failed.* 1>&2$/);
  assert.equal(lines[failed + 3], 'exit /b 2');
  assert.equal(lines.filter((line) => line === 'pushd "%HERE%"').length, 1);
  // The program runs in the caller's folder, with every argument as typed, and its exit code.
  assert.match(text, /^node "%HERE%bin\\photo-backup\.js" %SECRET% %\*\r$/m);
  assert.match(text, /^set "HERE=%~dp0"\r$/m);
  assert.doesNotMatch(text, /%1|%2/, 'no argument taken apart');
  assert.equal(lines[lines.indexOf(':install_failed') - 1], 'exit /b %ERRORLEVEL%');
});
