/**
 * The reliability suite's common ground: an emulator account in a temp folder, the built CLI run
 * against it, and the one check every fault, crash and interruption must pass: every item of the
 * year saved byte-identical exactly once, no temporary file left, and the record consistent.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseJournal } from '../../src/manifest.ts';
import {
  type Emulator,
  type EmulatorItem,
  type EmulatorOptions,
  generateItems,
  startEmulator,
} from '../support/emulator/index.ts';
import { type CliResult, emulatorEnv, runCli, sha256, treeHashes, writeAccount } from './cli.ts';

export const YEAR = 2024;

export interface Account {
  dir: string;
  /** The backup folder, `<dir>/photos`. */
  folder: string;
  emulator: Emulator;
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/** Generated items of 2024 whose videos are all READY, so a perfect run saves every one. */
export function readyItems(
  count: number,
  options: { photoSize?: number; seed?: number } = {},
): EmulatorItem[] {
  return generateItems({ year: YEAR, count, videoEvery: 9, ...options }).map((item) =>
    item.kind === 'video' ? { ...item, videoStatus: 'READY' as const } : item,
  );
}

/** A temp folder with client_secret.json and token.json for a fresh emulator serving `items`. */
export async function openAccount(items: EmulatorItem[], options: EmulatorOptions = {}): Promise<Account> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pb-rel-'));
  const emulator = await startEmulator({ ...options, items });
  await writeAccount(emulator, dir);
  return {
    dir,
    folder: path.join(dir, 'photos'),
    emulator,
    env: emulatorEnv(emulator),
    close: async () => {
      await emulator.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** `photo-backup 2024 photos …` in the account's folder. */
export function backup(
  account: Account,
  args: string[] = [],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; onSpawn?: (pid: number) => void } = {},
): Promise<CliResult> {
  return runCli([String(YEAR), 'photos', ...args], {
    cwd: account.dir,
    env: { ...account.env, ...options.env },
    timeoutMs: options.timeoutMs ?? 120_000,
    ...(options.onSpawn ? { onSpawn: options.onSpawn } : {}),
  });
}

/** The items of the year the emulator serves (of `only`, when given). */
function yearItems(emulator: Emulator, only?: readonly string[]): EmulatorItem[] {
  const wanted = only ? new Set(only) : undefined;
  return emulator.items.filter(
    (item) => item.creationTime.startsWith(String(YEAR)) && (!wanted || wanted.has(item.id)),
  );
}

/** sha256 of each item of the year the emulator serves (of `only`), as a sorted list (one per item). */
export function expectedHashes(emulator: Emulator, only?: readonly string[]): string[] {
  return yearItems(emulator, only)
    .map((item) => sha256(emulator.contentOf(item.id)))
    .sort();
}

/** Every file under `dir`, relative, hidden ones included (temporary files are hidden). */
export async function allFiles(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const files: string[] = [];
  for (const entry of entries) {
    if (entry.isDirectory())
      files.push(...(await allFiles(path.join(dir, entry.name), `${prefix}${entry.name}/`)));
    else files.push(`${prefix}${entry.name}`);
  }
  return files;
}

/**
 * The check: the files are the year's items, byte-identical, each exactly once (no copy under a
 * second name); no temporary file anywhere; the journal records each item once per id, at a path
 * that holds a file of the recorded size; and no lock is left behind.
 */
export async function assertComplete(
  folder: string,
  emulator: Emulator,
  label = '',
  /** The ids that must be saved (default: every item of the year); the picker saves only what was picked. */
  only?: readonly string[],
): Promise<void> {
  if (only) assert.ok(yearItems(emulator, only).length > 0, `${label} none of the expected items is served`);
  const tree = await treeHashes(folder);
  const leftovers = (await allFiles(folder)).filter(
    (file) => file.endsWith('.part') || file.endsWith('.tmp') || file === '.photo-backup/lock',
  );
  assert.deepEqual(leftovers, [], `${label} temporary files or lock left`);
  assert.deepEqual(
    [...tree.values()].sort(),
    expectedHashes(emulator, only),
    `${label} every item once, byte-identical`,
  );
  const journal = parseJournal(await readFile(path.join(folder, '.photo-backup', 'saved.jsonl'), 'utf8'));
  const latest = new Map(journal.records.map((record) => [record.id, record]));
  const ids = yearItems(emulator, only).map((item) => item.id);
  assert.deepEqual([...latest.keys()].sort(), [...ids].sort(), `${label} every item recorded`);
  const paths = new Set<string>();
  for (const record of latest.values()) {
    const info = await stat(path.join(folder, record.path)).catch(() => undefined);
    assert.equal(info?.size, record.size, `${label} recorded file ${record.path} on disk with its size`);
    assert.ok(!paths.has(record.path), `${label} two items recorded at ${record.path}`);
    paths.add(record.path);
  }
}

/** Lines of the journal now (0 when there is none yet). */
export async function journalLines(folder: string): Promise<number> {
  const text = await readFile(path.join(folder, '.photo-backup', 'saved.jsonl'), 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line.trim() !== '').length;
}

/** Polls `condition` every 10 ms until it holds (or `timeoutMs` passes: then throws). */
export async function waitFor(
  condition: () => Promise<boolean> | boolean,
  timeoutMs = 60_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The `stopped` event of a `--json` run. */
export function stoppedReason(stdout: string): string | undefined {
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const event = JSON.parse(line) as { type?: string; reason?: string };
    if (event.type === 'stopped') return event.reason;
  }
  return undefined;
}

/** path → sha256 of a finished, uninterrupted run over `items`: what every other run must equal. */
export async function referenceTree(
  items: EmulatorItem[],
  args: string[] = [],
  more: { emulator?: EmulatorOptions; only?: readonly string[] } = {},
): Promise<Map<string, string>> {
  const account = await openAccount(items, more.emulator);
  try {
    const result = await backup(account, args);
    assert.equal(result.code, 0, result.stderr);
    await assertComplete(account.folder, account.emulator, 'reference', more.only);
    return await treeHashes(account.folder);
  } finally {
    await account.close();
  }
}

/**
 * Kills a run with SIGKILL the n-th time it reaches `point` (the crash hook), runs the same command
 * again, and checks the result is the uninterrupted run's: same files, same bytes, nothing twice,
 * nothing missing, and the second run walked to the end instead of stopping on skips.
 */
export async function crashThenResume(
  items: EmulatorItem[],
  reference: Map<string, string>,
  point: string,
  n: number,
  args: string[] = [],
  more: { emulator?: EmulatorOptions; only?: readonly string[]; check?: (account: Account) => void } = {},
): Promise<void> {
  const account = await openAccount(items, more.emulator);
  try {
    const crashed = await backup(account, args, { env: { PHOTO_BACKUP_CRASH_AT: `${point}:${n}` } });
    assert.equal(
      crashed.signal,
      'SIGKILL',
      `${point}:${n} was reached (exit ${crashed.code}) ${crashed.stderr}`,
    );
    const resumed = await backup(account, [...args, '--json']);
    assert.equal(resumed.code, 0, `${point}:${n} resumed: ${resumed.stderr}`);
    assert.equal(stoppedReason(resumed.stdout), 'end', `${point}:${n}: the second run walked the whole year`);
    await assertComplete(account.folder, account.emulator, `${point}:${n}`, more.only);
    more.check?.(account);
    assert.deepEqual(
      await treeHashes(account.folder),
      reference,
      `${point}:${n}: same files as an uninterrupted run`,
    );
  } finally {
    await account.close();
  }
}

/** The picker through the CLI, no terminal: one round, the link printed, no browser. */
export const PICKER_ARGS = ['--source', 'picker', '--no-browser'];

/** A user who presses Done after two quick polls and picks `pickedIds` (default: every item). */
export function quickPicker(pickedIds?: string[]): EmulatorOptions['picker'] {
  return { pollInterval: '0.01s', pollsBeforePicked: 2, ...(pickedIds ? { pickedIds } : {}) };
}

/** Every picking session was deleted, but for `left` ones whose run was killed (they expire on their own). */
export function assertSessionsDeleted(emulator: Emulator, left = 0, label = ''): void {
  assert.equal(emulator.openPickerSessions(), left, `${label} picking sessions left open`);
}
