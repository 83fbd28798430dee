/**
 * The processes a benchmark figure runs: the emulator (its CPU stays out of the measured
 * process), photo-backup as the real CLI, and the baseline script. Each measured process is
 * timed from spawn to exit by this parent and reports its own peak RSS through peak-rss.cjs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'photo-backup.js');
const PEAK_RSS = path.join(ROOT, 'bench', 'peak-rss.cjs');
/** Under node_modules so that the transpiled baseline resolves `undici` like the CLI does. */
export const CACHE_DIR = path.join(ROOT, 'node_modules', '.cache', 'photo-backup-bench');
const BASELINE_JS = path.join(CACHE_DIR, 'baseline.mjs');

export interface EmulatorProcess {
  url: string;
  libraryUrl: string;
  items: number;
  close(): Promise<void>;
}

async function firstLine(child: ChildProcess, what: string): Promise<string> {
  if (!child.stdout) throw new Error(`${what}: no stdout`);
  const lines = createInterface({ input: child.stdout });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`${what} exited (${String(code)}) before it was ready`);
  });
  const line = (async () => {
    for await (const text of lines) return text;
    throw new Error(`${what} closed its output before it was ready`);
  })();
  try {
    return await Promise.race([line, exited]);
  } finally {
    exited.catch(() => undefined);
  }
}

/** Starts `script` (a TypeScript file under the project) as the emulator process and waits for its ready line. */
export async function startEmulatorProcess(script: string, args: string[]): Promise<EmulatorProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, script), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = JSON.parse(await firstLine(child, 'emulator')) as {
    url: string;
    libraryUrl: string;
    items: number;
  };
  return {
    ...ready,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface Account {
  clientSecretPath: string;
  tokenPath: string;
}

/** client_secret.json and token.json for the emulator, from its admin routes (`scopes`: the token's, when given). */
export async function writeAccount(emulatorUrl: string, dir: string, scopes?: string[]): Promise<Account> {
  await mkdir(dir, { recursive: true });
  const secret = (await (await fetch(`${emulatorUrl}/__emulator/client-secret`)).json()) as {
    installed: { client_id: string };
  };
  const query = scopes ? `?scopes=${encodeURIComponent(scopes.join(' '))}` : '';
  const token = (await (await fetch(`${emulatorUrl}/__emulator/token${query}`)).json()) as object;
  const clientSecretPath = path.join(dir, 'client_secret.json');
  const tokenPath = path.join(dir, 'token.json');
  await writeFile(clientSecretPath, JSON.stringify(secret), { mode: 0o600 });
  await writeFile(tokenPath, JSON.stringify({ ...token, client_id: secret.installed.client_id }), {
    mode: 0o600,
  });
  return { clientSecretPath, tokenPath };
}

/** Transpiles bench/baseline.ts to plain JavaScript once, so the baseline starts without a loader. */
export async function buildBaseline(): Promise<void> {
  const source = await readFile(path.join(ROOT, 'bench', 'baseline.ts'), 'utf8');
  const output = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    fileName: 'baseline.ts',
  });
  await mkdir(CACHE_DIR, { recursive: true });
  await writeFile(BASELINE_JS, output.outputText);
}

export interface Measured {
  ms: number;
  /** Peak resident set size of the measured process, in bytes. */
  peakRss: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

async function measure(args: string[], env: NodeJS.ProcessEnv, scratch: string): Promise<Measured> {
  const rssFile = path.join(scratch, `rss-${process.hrtime.bigint()}.txt`);
  const started = performance.now();
  const child = spawn(process.execPath, ['--require', PEAK_RSS, ...args], {
    cwd: scratch,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TZ: 'UTC', ...env, BENCH_RSS_FILE: rssFile },
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
  // No figure needs more than a few minutes; a hung run must not hang the bench.
  const timer = setTimeout(() => child.kill('SIGKILL'), 10 * 60_000);
  const [code] = (await once(child, 'close')) as [number | null];
  const ms = performance.now() - started;
  clearTimeout(timer);
  let peakRss = Number.NaN;
  try {
    // Kept until the bench ends, as the runs' files (bench/disk.ts).
    peakRss = Number(await readFile(rssFile, 'utf8')) * 1024;
  } catch {
    // The process died before its exit handler ran: the figure reports NaN and fails.
  }
  return { ms, peakRss, code, stdout, stderr };
}

export interface RunTarget {
  emulator: { libraryUrl: string };
  account: Account;
  year: number;
  dir: string;
  concurrency: number;
  /** Where the RSS report and other scratch files go. */
  scratch: string;
}

/** photo-backup as the user runs it: the built CLI, --json, pointed at the emulator. */
export function runPhotoBackup(target: RunTarget, extra: string[] = []): Promise<Measured> {
  return measure(
    [
      BIN,
      String(target.year),
      target.dir,
      '--concurrency',
      String(target.concurrency),
      '--json',
      '--client-secret',
      target.account.clientSecretPath,
      '--token',
      target.account.tokenPath,
      ...extra,
    ],
    { PHOTO_BACKUP_LIBRARY_URL: target.emulator.libraryUrl },
    target.scratch,
  );
}

/** Any Node script (`args[0]`) with its arguments and environment, measured like the others. */
export function runNode(args: string[], env: NodeJS.ProcessEnv, scratch: string): Promise<Measured> {
  return measure(args, env, scratch);
}

/** photo-backup with arbitrary arguments (the takeout figure). */
export function runPhotoBackupArgs(args: string[], scratch: string): Promise<Measured> {
  return measure([BIN, ...args], {}, scratch);
}

export async function runBaseline(target: RunTarget): Promise<Measured> {
  await mkdir(target.dir, { recursive: true });
  return measure(
    [
      BASELINE_JS,
      '--library-url',
      target.emulator.libraryUrl,
      '--token',
      target.account.tokenPath,
      '--year',
      String(target.year),
      '--dir',
      target.dir,
      '--concurrency',
      String(target.concurrency),
    ],
    {},
    target.scratch,
  );
}

/** Any command, timed the same way (unzip for the takeout figure). */
export async function runCommand(command: string, args: string[], cwd: string): Promise<Measured> {
  const started = performance.now();
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  const [code] = (await once(child, 'close')) as [number | null];
  return { ms: performance.now() - started, peakRss: Number.NaN, code, stdout: '', stderr };
}

/** One JSON event per line (photo-backup --json). */
export function jsonEvents(stdout: string): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      events.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // Not an event line.
    }
  }
  return events;
}
