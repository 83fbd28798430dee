/**
 * The memory of finished Takeout parts, per year, kept in `.photo-backup/takeout-parts.jsonl`: a
 * part is finished for a year once its scan completed and everything of that year it holds (its
 * media, and the items its sidecars serve) is settled. A finished part whose identity is unchanged
 * is not opened again; a changed one (size, modification, checksum) is read again.
 *
 * Decisions are pure (finishedParts, fullyProcessedExports, parsePartMemory); reading and
 * appending the file are the two edges (loadPartMemory, appendFinishedParts).
 */

import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, realpath, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { readStateFile } from '../../manifest.ts';
import { parseTakeoutPartName } from './part-names.ts';

export const PART_MEMORY_FILE = 'takeout-parts.jsonl';

/**
 * What tells a part is the same file as when it was finished. A local file gives its real path,
 * size and modification time; a Drive file can give `drive:<id>`, its size and
 * `<md5Checksum>@<modifiedTime>`. Compared as a whole: any change means read it again.
 */
export interface PartIdentity {
  key: string;
  size: number;
  version: string;
}

/** A part finished for `year`, as one line of the memory file. */
export interface FinishedPart extends PartIdentity {
  year: number;
  /**
   * The choices that decided which of its items the run took (time zone, trash, undated, left-out
   * kinds: partScope): a part finished while videos were left out is not finished for a run that
   * wants them.
   */
  scope: string;
  /** The file name (`takeout-20260115T101530Z-001.zip`): its export, for the summary. */
  name: string;
}

export interface PartMemory {
  /** By year, scope and key: the latest line wins. */
  finished: Map<string, FinishedPart>;
  /** Lines that were not a finished part (cut short, edited, another version's). */
  bad: number;
}

const memoryKey = (year: number, scope: string, key: string) => `${year}\u0000${scope}\u0000${key}`;

/** The memory file's text, read as hostile input: a line that is not a finished part is counted and ignored. Pure. */
export function parsePartMemory(text: string): PartMemory {
  const finished = new Map<string, FinishedPart>();
  let bad = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const part = finishedPartOf(line);
    if (part) rememberLine({ finished, bad }, part);
    else bad++;
  }
  return { finished, bad };
}

function finishedPartOf(line: string): FinishedPart | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { year, key, size, version, name, scope } = value as Record<string, unknown>;
  if (typeof year !== 'number' || !Number.isInteger(year) || year < 1000 || year > 9999) return undefined;
  if (typeof key !== 'string' || key === '' || typeof version !== 'string' || typeof name !== 'string')
    return undefined;
  if (typeof scope !== 'string') return undefined;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return undefined;
  return { year, key, size, version, name, scope };
}

/** Adds a finished part to `memory`, in place of an earlier line for the same part, year and scope. */
export function rememberLine(memory: PartMemory, part: FinishedPart): void {
  memory.finished.set(memoryKey(part.year, part.scope, part.key), part);
}

/** True when `identity` was finished for `year` with the same `scope` and has not changed since. Pure. */
export function isFinished(memory: PartMemory, year: number, scope: string, identity: PartIdentity): boolean {
  const known = memory.finished.get(memoryKey(year, scope, identity.key));
  return (
    known !== undefined &&
    known.scope === scope &&
    known.size === identity.size &&
    known.version === identity.version
  );
}

/** The choices that decide which items of a part a run takes for its year, as one string. Pure. */
export function partScope(choices: {
  timeZone: string;
  includeTrash: boolean;
  includeUndated: boolean;
  leaveOut?: string;
}): string {
  return [
    `zone=${choices.timeZone}`,
    `trash=${choices.includeTrash}`,
    `undated=${choices.includeUndated}`,
    `leave-out=${choices.leaveOut ?? ''}`,
  ].join(';');
}

/** A local part's identity: its real path (two names for one file are one part), size and mtime. */
export async function localPartIdentity(file: string): Promise<PartIdentity> {
  const [real, stats] = await Promise.all([realpath(file), stat(file)]);
  return { key: real, size: stats.size, version: `mtime:${stats.mtimeMs}` };
}

/** What a run learnt about one part it read. */
export interface PartOutcome {
  /** The part's scan completed: no damage found, and the listing went through it to its end. */
  scanned: boolean;
  /** Items of the year that it holds or serves (its sidecars, its originals) not settled by the run. */
  unsettled: number;
}

/** The parts that are finished now. Pure. */
export function finishedParts<P>(outcomes: ReadonlyMap<P, PartOutcome>): P[] {
  return [...outcomes]
    .filter(([, outcome]) => outcome.scanned && outcome.unsettled === 0)
    .map(([part]) => part);
}

/** An export every part of which is finished for the year: what the summary says of it. */
export interface ProcessedExport {
  /** Takeout's timestamp, `20260115T101530Z`. */
  timestamp: string;
  parts: number;
  /** Its parts' file names, by part number. */
  names: string[];
  /** Its parts' identity keys (PartIdentity.key: a real path, or `drive:<id>`), in the same order. */
  keys: string[];
}

/**
 * The exports (by Takeout's `takeout-<timestamp>-<n>` naming) all of whose parts given are
 * finished, oldest first. Parts named otherwise belong to no export. Pure.
 */
export function fullyProcessedExports(
  parts: ReadonlyArray<{ name: string; key: string; finished: boolean }>,
): ProcessedExport[] {
  const byExport = new Map<
    string,
    { time: number; names: Array<{ number: number; name: string; key: string }>; finished: boolean }
  >();
  for (const part of parts) {
    const named = parseTakeoutPartName(part.name);
    if (!named) continue;
    const entry = byExport.get(named.timestamp) ?? { time: named.time.getTime(), names: [], finished: true };
    entry.names.push({ number: named.number, name: part.name, key: part.key });
    entry.finished &&= part.finished;
    byExport.set(named.timestamp, entry);
  }
  return [...byExport]
    .filter(([, entry]) => entry.finished)
    .sort(([a, x], [b, y]) => x.time - y.time || (a < b ? -1 : 1))
    .map(([timestamp, entry]) => {
      const sorted = entry.names.sort(
        (a, b) => a.number - b.number || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
      );
      return {
        timestamp,
        parts: sorted.length,
        names: sorted.map(({ name }) => name),
        keys: sorted.map(({ key }) => key),
      };
    });
}

/** Reads the memory of `stateFolder`; none yet is an empty memory. Not through a link. */
export async function loadPartMemory(stateFolder: string): Promise<PartMemory> {
  const file = path.join(stateFolder, PART_MEMORY_FILE);
  let text = '';
  try {
    text = await readStateFile(file);
  } catch {
    // Unreadable is the same as none: every part is read again, which is slow but loses nothing.
    return { finished: new Map(), bad: 1 };
  }
  return parsePartMemory(text);
}

/**
 * Writes the whole memory anew (a temporary file, synced, then renamed over it): for a file with
 * damaged lines, so they are warned about once, not at every run.
 */
export async function rewritePartMemory(stateFolder: string, parts: Iterable<FinishedPart>): Promise<void> {
  await mkdir(stateFolder, { recursive: true });
  const file = path.join(stateFolder, PART_MEMORY_FILE);
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  const lines = [...parts].map((part) => `${JSON.stringify(part)}\n`).join('');
  const handle = await open(temp, 'w');
  try {
    await handle.write(lines);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
}

/**
 * Appends the parts finished by this run, in one write of whole lines after a newline when the
 * file ends cut short (a killed run), then syncs: a line is there whole or the part is read again.
 */
export async function appendFinishedParts(
  stateFolder: string,
  parts: readonly FinishedPart[],
): Promise<void> {
  if (parts.length === 0) return;
  await mkdir(stateFolder, { recursive: true });
  const handle = await open(
    path.join(stateFolder, PART_MEMORY_FILE),
    constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
    0o644,
  );
  try {
    const { size } = await handle.stat();
    let torn = false;
    if (size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      torn = last[0] !== 0x0a;
    }
    const lines = parts.map((part) => JSON.stringify(part)).join('\n');
    await handle.write(`${torn ? '\n' : ''}${lines}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
