/**
 * Black-box helpers for the Drive source: an emulator whose Drive holds scheduled Takeout exports
 * of a generated library (a full export and an incremental one, split into parts), and the built
 * CLI run over it with `--source drive --json`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DRIVE_SCOPE } from '../../src/auth/scopes.ts';
import {
  type DriveExport,
  incrementalExports,
  putTakeoutExports,
  splitByBytes,
} from '../support/emulator/drive-takeout.ts';
import { type DriveFile, type Emulator, startEmulator } from '../support/emulator/index.ts';
import { type CliResult, emulatorEnv, runCli, sha256, treeHashes, writeAccount } from './cli.ts';
import type { ZipEntryOptions } from './takeout-builder.ts';

export const DRIVE_YEAR = 2024;

export interface DriveAccount {
  dir: string;
  emulator: Emulator;
  exports: DriveExport[];
  /** Every part, oldest export first, each with the archive entries it holds. */
  parts: Array<{ file: DriveFile; entries: ZipEntryOptions[] }>;
  close(): Promise<void>;
}

export interface DriveAccountOptions {
  /** Items of the year (default 8); as many again of another year are left out. */
  count?: number;
  photoSize?: number;
  videoSize?: number;
  /** About this many bytes of entries per part (default: one photo, so sidecars land in the next part). */
  partBytes?: number;
}

export async function openDriveAccount(options: DriveAccountOptions = {}): Promise<DriveAccount> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pb-drive-year-'));
  const photoSize = options.photoSize ?? 300_000;
  const emulator = await startEmulator({
    generate: {
      year: DRIVE_YEAR,
      count: options.count ?? 8,
      videoEvery: 4,
      otherYear: 4,
      photoSize,
      videoSize: options.videoSize ?? photoSize + 100_000,
    },
  });
  const partBytes = options.partBytes ?? photoSize;
  const { exports } = putTakeoutExports(
    emulator,
    incrementalExports(emulator.items, 2, new Date('2025-01-10T08:00:00Z')),
    { partBytes },
  );
  const parts = exports.flatMap((made) => {
    const split = splitByBytes(made.entries, partBytes);
    return made.parts.map((file, index) => ({ file, entries: split[index] ?? [] }));
  });
  await writeAccount(emulator, dir, { scopes: [DRIVE_SCOPE] });
  return {
    dir,
    emulator,
    exports,
    parts,
    close: async () => {
      await emulator.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface DriveRun extends CliResult {
  events: Array<Record<string, unknown> & { type: string }>;
}

/** `photo-backup 2024 <folder> --source drive --json …` against the account's emulator. */
export async function runDrive(
  account: DriveAccount,
  folder: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
  onSpawn?: (pid: number) => void,
): Promise<DriveRun> {
  const result = await runCli([String(DRIVE_YEAR), folder, '--source', 'drive', '--json', ...args], {
    cwd: account.dir,
    env: { ...emulatorEnv(account.emulator), ...env },
    ...(onSpawn ? { onSpawn } : {}),
  });
  const events = result.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown> & { type: string });
  return { ...result, events };
}

/** The year's media entries a part holds (not sidecars, albums or other years). */
export function yearMediaOf(part: { entries: ZipEntryOptions[] }): string[] {
  return part.entries
    .map((entry) => entry.name)
    .filter((name) => name.includes(`/Photos from ${DRIVE_YEAR}/`) && !/\.(json|html)$/.test(name));
}

/** The first part holding media of the year that is not the first part of its export. */
export function yearPart(account: DriveAccount): { file: DriveFile; entries: ZipEntryOptions[] } {
  const found = account.parts.find((part, index) => index > 0 && yearMediaOf(part).length > 0);
  if (!found) throw new Error('no part holds media of the year');
  return found;
}

/** sha256 of every media file of the year, as the emulator made them. */
export function expectedMedia(account: DriveAccount): string[] {
  return account.emulator.items
    .filter((item) => item.creationTime.startsWith(String(DRIVE_YEAR)))
    .map((item) => sha256(account.emulator.contentOf(item.id)))
    .sort();
}

/** sha256 of every media file saved under `folder` (sidecars and the state folder left out). */
export async function savedMedia(folder: string): Promise<string[]> {
  const tree = await treeHashes(folder);
  return [...tree.entries()]
    .filter(([name]) => !/\.(json|xmp)$/.test(name) && !name.startsWith('.'))
    .map(([, hash]) => hash)
    .sort();
}

/** The whole tree (every file but the state folder) of an uninterrupted run into `reference`. */
export async function driveReference(account: DriveAccount): Promise<Map<string, string>> {
  const folder = path.join(account.dir, 'reference');
  const run = await runDrive(account, folder);
  if (run.code !== 0) throw new Error(`reference run: exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  return treeHashes(folder);
}

/** The run's summary event. */
export function summaryOf(run: DriveRun): { saved: number; failed: unknown[] } {
  const event = run.events.find((each) => each.type === 'summary') as
    | { summary: { saved: number; failed: unknown[] } }
    | undefined;
  if (!event) throw new Error(`no summary in ${run.stdout.slice(-500)}`);
  return event.summary;
}
