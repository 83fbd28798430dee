/**
 * What has been saved, kept under `<folder>/.photo-backup/`: an append-only journal of one JSON
 * object per line. Appends are single writes (one line, or the lines that queued behind the write
 * before), so a crash can at worst tear the last line, which loading ignores. A file counts as
 * saved only once its line is written, and only while the
 * file on disk still has the recorded size, so neither a torn line nor a half-written file after
 * a power cut is ever taken for a saved file.
 *
 * Why one file: the journal's format, its parsing and the in-memory index built from it must
 * agree line for line; the pure parts (parseJournal, recordedPathProblem) are exported and tested alone.
 */
import { randomBytes } from 'node:crypto';
import { constants, writeSync } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { crashPoint } from './crash-hook.ts';
import { BackupError, ExitCode } from './errors.ts';
import { nameKey } from './layout.ts';
import type { ItemEvidence, MediaKind } from './sources/source.ts';

export const STATE_FOLDER = '.photo-backup';
const JOURNAL = 'saved.jsonl';

export interface SavedRecord {
  id: string;
  /** Relative to the backup folder, with `/`. */
  path: string;
  size: number;
  source: string;
  savedAt: string;
  sha256?: string;
  /** Set when the item's bytes were already saved for another item: `path` is that file. */
  copyOf?: string;
  takenAt?: string;
  /** Minutes east of UTC of the clock the day folder was chosen with (the item's own, or --timezone's at takenAt). */
  utcOffsetMinutes?: number;
  dateSource?: string;
  /** What the source knew about the item (metadata/facts.ts metadataOfFacts, plus a source's own keys). */
  metadata?: Record<string, unknown>;
  /** sha256 of the XMP sidecar this tool last wrote beside the file: a sidecar with other bytes was edited. */
  xmpSha256?: string;
  /**
   * What told this item apart when it was saved, for sources whose ids are places rather than
   * identities (a Takeout path holds another photo in a later export). A record without it was
   * written before evidence was kept: plan.ts verifies such a record by content once, and the
   * run writes it again with its evidence.
   */
  evidence?: ItemEvidence;
  /**
   * The record this one takes the place of: the same item saved before under another id or path
   * (a photo whose date was edited in Google Photos, moved to its new day folder). Loading drops
   * that record; the file at its path is removed only once this record is written.
   */
  movedFrom?: { id: string; path: string };
}

interface WalkRecord {
  walk: string;
  complete: boolean;
  at: string;
}

/**
 * An item a walk listed but could not save yet (a video Google is still processing): the next run
 * asks for it by id, so the rest of the year need not be walked again for it. `done` (or a saved
 * line for the id) ends it.
 */
export interface PendingRecord {
  pending: string;
  /** The walk key (not `walk`, so a reader that knows no pending lines skips them as foreign). */
  of: string;
  filename: string;
  at: string;
  done?: true;
}

export interface PendingItem {
  id: string;
  filename: string;
}

type Line = SavedRecord | WalkRecord | PendingRecord;

function isWalk(line: Line): line is WalkRecord {
  return typeof (line as WalkRecord).walk === 'string';
}

/** A day folder as dayOf writes it (a year of up to 6 digits), or the folder of undated items. */
const RECORDED_FOLDER = /^(\d{4,6}-\d{2}-\d{2}|undated)$/;

/**
 * Why a recorded path may not be used, or undefined when it may: only `<day>/<name>` or
 * `undated/<name>` inside the backup folder. The record is a file anyone (or a bug, or a power
 * cut) can change, and its paths are written to: never absolute, never `..`, never into the
 * state folder, no `\` or drive letters (separators on Windows). Pure.
 */
export function recordedPathProblem(recorded: unknown): string | undefined {
  if (typeof recorded !== 'string' || recorded === '') return 'no path';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\\:\u0000-\u001f\u007f]/.test(recorded)) return 'a path with \\, : or control characters';
  if (recorded.startsWith('/')) return 'an absolute path';
  const parts = recorded.split('/');
  if (parts.includes('..') || parts.includes('.')) return 'a path with . or ..';
  if (parts.length !== 2) return 'not <day>/<name>';
  const [folder, name] = parts as [string, string];
  if (!RECORDED_FOLDER.test(folder)) return 'not in a day folder';
  if (name === '' || name.startsWith('.')) return 'not a saved file name';
  return undefined;
}

function isPending(line: Line): line is PendingRecord {
  const pending = line as PendingRecord;
  return typeof pending.pending === 'string' && typeof pending.of === 'string';
}

/** Parses the journal text; torn, foreign or unsafe lines are counted and left out. Pure. */
export function parseJournal(text: string): {
  records: SavedRecord[];
  walks: Map<string, boolean>;
  /** Items still pending, by id (in the order they became pending). */
  pending: Map<string, PendingRecord>;
  bad: number;
} {
  const records: SavedRecord[] = [];
  const walks = new Map<string, boolean>();
  const pending = new Map<string, PendingRecord>();
  let bad = 0;
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    let line: Line;
    try {
      line = JSON.parse(raw) as Line;
    } catch {
      bad++;
      continue;
    }
    if (line === null || typeof line !== 'object') bad++;
    else if (isPending(line)) {
      if (line.done === true) pending.delete(line.pending);
      else if (typeof line.filename === 'string') pending.set(line.pending, line);
      else bad++;
    } else if (isWalk(line)) walks.set(line.walk, line.complete === true);
    else if (
      typeof line.id === 'string' &&
      typeof line.size === 'number' &&
      recordedPathProblem(line.path) === undefined &&
      (line.copyOf === undefined || recordedPathProblem(line.copyOf) === undefined) &&
      (line.movedFrom === undefined ||
        (typeof line.movedFrom === 'object' &&
          line.movedFrom !== null &&
          typeof line.movedFrom.id === 'string' &&
          recordedPathProblem(line.movedFrom.path) === undefined))
    ) {
      records.push(line);
      pending.delete(line.id);
    } else bad++;
  }
  return { records, walks, pending, bad };
}

/**
 * The walk of a source's year, or of what a run that leaves a kind out (--skip-videos) walks: a
 * walk without videos, finished, says nothing of the videos, so its end is kept under its own key.
 */
export function walkKey(source: string, year: number, leftOut?: MediaKind): string {
  return leftOut === undefined ? `${source}:${year}` : `${source}:${year}:without-${leftOut}s`;
}

/** The in-memory view of the journal, plus appends. */
/** A file of the state folder as text; '' when there is none. Never through a link (ELOOP is thrown). */
export async function readStateFile(file: string): Promise<string> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
  try {
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

export class Manifest {
  readonly folder: string;
  /** Every record of an id: one, except where one Takeout path held different photos over time. */
  private readonly byId = new Map<string, SavedRecord[]>();
  private recordCount = 0;
  private readonly byPathKey = new Map<string, string>();
  private readonly byHash = new Map<string, string>();
  /** Records by Google's photo id (Takeout's sidecar `url`), copies left out; stale ones are skipped when read. */
  private readonly byPhotoId = new Map<string, SavedRecord[]>();
  private readonly walks: Map<string, boolean>;
  private readonly pending: Map<string, PendingRecord>;
  private handle: FileHandle | undefined;
  private writes: Promise<void> = Promise.resolve();
  /** Lines waiting for the write in flight to end; they go out together in the next write. */
  private batch: string[] | undefined;
  private lines: number;
  private readonly readOnly: boolean;
  /** Lines left out when loading: torn, not a record, or naming a path outside the day folders. */
  readonly ignoredLines: number;
  /** The journal ends in a torn line (a crash mid-write): start the next line on a line of its own. */
  private tornTail = false;

  private constructor(folder: string, parsed: ReturnType<typeof parseJournal>, readOnly: boolean) {
    this.folder = folder;
    this.walks = parsed.walks;
    this.pending = parsed.pending;
    this.readOnly = readOnly;
    this.ignoredLines = parsed.bad;
    this.lines = parsed.records.length + parsed.walks.size + parsed.pending.size + parsed.bad;
    for (const record of parsed.records) this.remember(record);
  }

  /** Loads the journal of `folder` (the backup folder). `readOnly` for --dry-run: nothing is written. */
  static async load(folder: string, options: { readOnly?: boolean } = {}): Promise<Manifest> {
    let text = '';
    const file = path.join(folder, STATE_FOLDER, JOURNAL);
    try {
      // Not through a link: the record is appended to, and a link could lead anywhere.
      text = await readStateFile(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT')
        throw new BackupError(
          `Cannot read the record of what was saved, ${file} (${code === 'ELOOP' ? 'a link' : (code ?? 'unreadable')}). ` +
            'Move it aside (the next run then checks every file again) or make it a readable file, then run again.',
          ExitCode.usage,
          { cause: error },
        );
    }
    // A run killed while compacting leaves its half-made copy; only a run holding the lock may remove it.
    if (!options.readOnly) await removeCompactionLeftovers(folder);
    const manifest = new Manifest(folder, parseJournal(text), options.readOnly ?? false);
    manifest.tornTail = text.length > 0 && !text.endsWith('\n');
    return manifest;
  }

  /**
   * A record replaces the one of its id at the same path, and any of its id when ids are
   * identities (no evidence). With evidence at another path it is another item that stood at the
   * same place in an export (a Takeout path), and both are kept.
   */
  private remember(record: SavedRecord): void {
    if (record.movedFrom) this.forget(record.movedFrom.id, record.movedFrom.path);
    const records = this.byId.get(record.id) ?? [];
    const key = nameKey(record.path);
    const at = records.findIndex(
      (previous) => (!record.evidence && !previous.evidence) || nameKey(previous.path) === key,
    );
    if (at === -1) {
      records.push(record);
      this.recordCount++;
    } else {
      const previous = records[at] as SavedRecord;
      const previousKey = previous.path === record.path ? key : nameKey(previous.path);
      if (!previous.copyOf && this.byPathKey.get(previousKey) === record.id)
        this.byPathKey.delete(previousKey);
      records[at] = record;
    }
    this.byId.set(record.id, records);
    if (!record.copyOf) this.byPathKey.set(key, record.id);
    if (record.sha256 && !record.copyOf) this.byHash.set(`${record.size}:${record.sha256}`, record.path);
    const photoId = record.evidence?.photoId;
    if (typeof photoId === 'string' && !record.copyOf) {
      const same = (this.byPhotoId.get(photoId) ?? []).filter((previous) => this.isCurrent(previous));
      same.push(record);
      this.byPhotoId.set(photoId, same);
    }
  }

  /** Drops the record of `id` at `at` (a moved item's old place). */
  private forget(id: string, at: string): void {
    const records = this.byId.get(id);
    if (!records) return;
    const key = nameKey(at);
    const index = records.findIndex((previous) => nameKey(previous.path) === key);
    if (index === -1) return;
    records.splice(index, 1);
    this.recordCount--;
    if (records.length === 0) this.byId.delete(id);
    if (this.byPathKey.get(key) === id) this.byPathKey.delete(key);
  }

  private isCurrent(record: SavedRecord): boolean {
    return this.byId.get(record.id)?.includes(record) === true;
  }

  /** The records (not copies) of the photo Google knows by this id, in any path or id. */
  recordsOfPhoto(photoId: string): SavedRecord[] {
    return (this.byPhotoId.get(photoId) ?? []).filter((record) => this.isCurrent(record));
  }

  /** The records that name the file at `relativePath` as the copy they are. */
  copiesAt(relativePath: string): SavedRecord[] {
    const key = nameKey(relativePath);
    const copies: SavedRecord[] = [];
    for (const record of this.allRecords())
      if (record.copyOf !== undefined && nameKey(record.copyOf) === key) copies.push(record);
    return copies;
  }

  get size(): number {
    return this.recordCount;
  }

  /** The latest record of an id. */
  get(id: string): SavedRecord | undefined {
    return this.byId.get(id)?.at(-1);
  }

  /** Every record (each id's, each place it was saved at). */
  *allRecords(): Iterable<SavedRecord> {
    for (const records of this.byId.values()) yield* records;
  }

  /**
   * How many files the record holds in the year's day folders (and in undated/ when asked) that
   * are not in `folder` with their recorded size: deleted, or a disk restored from an older copy.
   */
  async missingFiles(year: number, options: { undated?: boolean } = {}): Promise<number> {
    const prefix = `${year}-`;
    const paths = new Map<string, number>();
    for (const record of this.allRecords()) {
      if (record.path.startsWith(prefix) || (options.undated && record.path.startsWith('undated/')))
        paths.set(record.path, record.size);
    }
    let missing = 0;
    const queue = [...paths];
    const worker = async () => {
      for (let next = queue.pop(); next; next = queue.pop()) {
        const info = await lstat(path.join(this.folder, next[0])).catch(() => undefined);
        if (!info?.isFile() || info.size !== next[1]) missing++;
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    return missing;
  }

  /** Every record of an id, oldest first. */
  recordsOf(id: string): readonly SavedRecord[] {
    return this.byId.get(id) ?? [];
  }

  /** Every record, each the latest of its id at its path. */
  *records(): IterableIterator<SavedRecord> {
    for (const records of this.byId.values()) yield* records;
  }

  /** The id of the item recorded at this path (compared as the file system may: case and normalization folded). */
  ownerOf(relativePath: string): string | undefined {
    return this.byPathKey.get(nameKey(relativePath));
  }

  /** The path of a saved file with these bytes, if any. */
  pathWithContent(size: number, sha256: string): string | undefined {
    return this.byHash.get(`${size}:${sha256}`);
  }

  isWalkComplete(key: string): boolean {
    return this.walks.get(key) === true;
  }

  async record(record: SavedRecord): Promise<void> {
    this.remember(record);
    this.pending.delete(record.id);
    await this.append(record);
  }

  /** Items of `walk` left for a later run, oldest first. */
  pendingOf(walk: string): PendingItem[] {
    const items: PendingItem[] = [];
    for (const entry of this.pending.values())
      if (entry.of === walk) items.push({ id: entry.pending, filename: entry.filename });
    return items;
  }

  isPending(id: string): boolean {
    return this.pending.has(id);
  }

  async markPending(walk: string, item: PendingItem): Promise<void> {
    const line: PendingRecord = {
      pending: item.id,
      of: walk,
      filename: item.filename,
      at: new Date().toISOString(),
    };
    this.pending.set(item.id, line);
    await this.append(line);
  }

  /** The item is no longer waited for (Google no longer has it). */
  async clearPending(walk: string, id: string): Promise<void> {
    if (!this.pending.delete(id)) return;
    await this.append({ pending: id, of: walk, filename: '', at: new Date().toISOString(), done: true });
  }

  async markWalk(key: string, complete: boolean): Promise<void> {
    this.walks.set(key, complete);
    await this.append({ walk: key, complete, at: new Date().toISOString() });
  }

  private append(line: Line): Promise<void> {
    if (this.readOnly) return Promise.resolve();
    const text = `${this.tornTail ? '\n' : ''}${JSON.stringify(line)}\n`;
    this.tornTail = false;
    this.lines++;
    if (this.batch) {
      this.batch.push(text);
      return this.writes;
    }
    // One write at a time, in order. Lines that come while a write is under way wait for it and
    // then go out together in one write call: each resolves only once its own line is written.
    const batch = [text];
    this.batch = batch;
    this.writes = this.writes.then(() => {
      this.batch = undefined;
      return this.write(batch.join(''));
    });
    return this.writes;
  }

  private async write(text: string): Promise<void> {
    if (!this.handle) {
      await mkdir(path.join(this.folder, STATE_FOLDER), { recursive: true });
      this.handle = await open(
        path.join(this.folder, STATE_FOLDER, JOURNAL),
        constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
        0o644,
      );
    }
    const handle = this.handle;
    await crashPoint('mid-journal-write', () => handle.write(text.slice(0, Math.ceil(text.length / 2))));
    // Synchronous: appending a few hundred bytes takes microseconds, less than a thread-pool hand-off.
    writeSync(handle.fd, text);
  }

  /** Flushes, and rewrites the journal without superseded lines when it has grown twice too long. */
  async close(): Promise<void> {
    await this.writes.catch(() => undefined);
    if (this.handle) {
      await this.handle.sync().catch(() => undefined);
      await this.handle.close();
      this.handle = undefined;
    }
    const live = this.recordCount + this.walks.size + this.pending.size;
    if (this.readOnly || this.lines <= 2 * live + 100) return;
    const file = path.join(this.folder, STATE_FOLDER, JOURNAL);
    const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    const lines: string[] = [];
    for (const records of this.byId.values())
      for (const record of records) {
        // The record it replaced is not written again, so nothing is left for it to drop (and
        // written before it, it would drop another item saved at the old place since).
        lines.push(JSON.stringify(record, (key, value) => (key === 'movedFrom' ? undefined : value)));
      }
    for (const [walk, complete] of this.walks)
      lines.push(JSON.stringify({ walk, complete, at: new Date().toISOString() }));
    for (const entry of this.pending.values()) lines.push(JSON.stringify(entry));
    const handle = await open(temp, 'w');
    try {
      await handle.write(`${lines.join('\n')}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await crashPoint('mid-compaction');
    await rename(temp, file);
  }
}

async function removeCompactionLeftovers(folder: string): Promise<void> {
  const dir = path.join(folder, STATE_FOLDER);
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names)
    if (name.startsWith(`${JOURNAL}.`) && name.endsWith('.tmp'))
      await rm(path.join(dir, name), { force: true });
}
