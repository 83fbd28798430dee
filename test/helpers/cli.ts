/** Black-box helpers: a Google account on the emulator, and the built CLI run as a child process. */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Emulator } from '../support/emulator/index.ts';

export const BIN = fileURLToPath(new URL('../../bin/photo-backup.js', import.meta.url));

/** Writes client_secret.json and token.json for the emulator into `dir`. */
export async function writeAccount(emulator: Emulator, dir: string, options: { scopes?: string[] } = {}) {
  const secret = emulator.clientSecret('installed') as { installed: { client_id: string } };
  const clientSecretPath = path.join(dir, 'client_secret.json');
  const tokenPath = path.join(dir, 'token.json');
  await writeFile(clientSecretPath, JSON.stringify(secret));
  const token = {
    ...emulator.issueToken(options.scopes ? { scopes: options.scopes } : {}),
    client_id: secret.installed.client_id,
  };
  await writeFile(tokenPath, JSON.stringify(token), { mode: 0o600 });
  return { clientSecretPath, tokenPath };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function emulatorEnv(emulator: Emulator): NodeJS.ProcessEnv {
  return {
    PHOTO_BACKUP_LIBRARY_URL: emulator.libraryUrl,
    PHOTO_BACKUP_PICKER_URL: emulator.pickerUrl,
    PHOTO_BACKUP_DRIVE_URL: emulator.driveUrl,
    PHOTO_BACKUP_RETRY_BASE_MS: '5',
  };
}

/** Runs `photo-backup args…` in `cwd` with no terminal attached. */
export function runCli(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; onSpawn?: (pid: number) => void },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TZ: 'UTC', ...options.env },
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
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    if (child.pid) options.onSpawn?.(child.pid);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * Runs `photo-backup args…` with stdout and stderr going to one file opened for appending, as a
 * terminal or `2>&1` interleaves them: `output` is in the order the user reads it.
 */
export async function runCliMerged(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<{ code: number | null; output: string }> {
  const scratch = await mkdtemp(path.join(tmpdir(), 'pb-merged-'));
  const file = path.join(scratch, 'output.txt');
  const handle = await open(file, 'a');
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], {
        cwd: options.cwd,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, TZ: 'UTC', ...options.env },
        stdio: ['ignore', handle.fd, handle.fd],
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('error', reject);
      child.on('close', (exit) => {
        clearTimeout(timer);
        resolve(exit);
      });
    });
    return { code, output: await readFile(file, 'utf8') };
  } finally {
    await handle.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Every file under `root` (relative, `/`-separated) → sha256, leaving out the state folder. */
export async function treeHashes(root: string): Promise<Map<string, string>> {
  const result = new Map<string, string>();
  const walk = async (dir: string, prefix: string) => {
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch {
      return;
    }
    for (const name of entries.sort()) {
      if (name === '.photo-backup') continue;
      const full = path.join(dir, name);
      const info = await stat(full);
      if (info.isDirectory()) await walk(full, `${prefix}${name}/`);
      else
        result.set(
          `${prefix}${name}`,
          createHash('sha256')
            .update(await readFile(full))
            .digest('hex'),
        );
    }
  };
  await walk(root, '');
  return result;
}

export function sha256(buffer: Buffer): string {
  return createHash('sha256').update(buffer).digest('hex');
}
