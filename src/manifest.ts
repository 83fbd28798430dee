/**
 * What has been saved, kept under `<folder>/.photo-backup/`: an append-only journal of one JSON
 * object per line. Appends are single writes (one line, or the lines that queued behind the write
 * before), so a crash can at worst tear the last line, which loading ignores. A file counts as
 * saved only once its line is written, and only while the
 * file on disk still has the recorded size, so neither a torn line nor a half-written file after
 * a power cut is ever taken for a saved file.
 */
import { randomBytes } from 'node:crypto';
import { writeSync } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { crashPoint } from './crash-hook.ts';
import { nameKey } from './layout.ts';

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
  dateSource?: string;
  metadata?: Record<string, unknown>;
}

interface WalkRecord {
  walk: string;
  complete: boolean;
  at: string;
}

type Line = SavedRecord | WalkRecord;

function isWalk(line: Line): line is WalkRecord {
  return typeof (line as WalkRecord).walk === 'string';
}

/** Parses the journal text; torn or foreign lines are counted and left out. Pure. */
export function parseJournal(text: string): {
  records: SavedRecord[];
  walks: Map<string, boolean>;
  bad: number;
} {
  const records: SavedRecord[] = [];
  const walks = new Map<string, boolean>();
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
    if (isWalk(line)) walks.set(line.walk, line.complete === true);
    else if (typeof line.id === 'string' && typeof line.path === 'string' && typeof line.size === 'number')
      records.push(line);
    else bad++;
  }
  return { records, walks, bad };
}

export function walkKey(source: string, year: number): string {
  return `${source}:${year}`;
}

/** The in-memory view of the journal, plus appends. */
export class Manifest {
  readonly folder: string;
  private readonly byId = new Map<string, SavedRecord>();
  private readonly byPathKey = new Map<string, string>();
  private readonly byHash = new Map<string, string>();
  private readonly walks: Map<string, boolean>;
  private handle: FileHandle | undefined;
  private writes: Promise<void> = Promise.resolve();
  /** Lines waiting for the write in flight to end; they go out together in the next write. */
  private batch: string[] | undefined;
  private lines: number;
  private readonly readOnly: boolean;
  /** The journal ends in a torn line (a crash mid-write): start the next line on a line of its own. */
  private tornTail = false;

  private constructor(folder: string, parsed: ReturnType<typeof parseJournal>, readOnly: boolean) {
    this.folder = folder;
    this.walks = parsed.walks;
    this.readOnly = readOnly;
    this.lines = parsed.records.length + parsed.walks.size + parsed.bad;
    for (const record of parsed.records) this.remember(record);
  }

  /** Loads the journal of `folder` (the backup folder). `readOnly` for --dry-run: nothing is written. */
  static async load(folder: string, options: { readOnly?: boolean } = {}): Promise<Manifest> {
    let text = '';
    try {
      text = await readFile(path.join(folder, STATE_FOLDER, JOURNAL), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    // A run killed while compacting leaves its half-made copy; only a run holding the lock may remove it.
    if (!options.readOnly) await removeCompactionLeftovers(folder);
    const manifest = new Manifest(folder, parseJournal(text), options.readOnly ?? false);
    manifest.tornTail = text.length > 0 && !text.endsWith('\n');
    return manifest;
  }

  private remember(record: SavedRecord): void {
    const previous = this.byId.get(record.id);
    if (previous) this.byPathKey.delete(nameKey(previous.path));
    this.byId.set(record.id, record);
    if (!record.copyOf) this.byPathKey.set(nameKey(record.path), record.id);
    if (record.sha256 && !record.copyOf) this.byHash.set(`${record.size}:${record.sha256}`, record.path);
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: string): SavedRecord | undefined {
    return this.byId.get(id);
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
    await this.append(record);
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
      this.handle = await open(path.join(this.folder, STATE_FOLDER, JOURNAL), 'a');
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
    if (this.readOnly || this.lines <= 2 * (this.byId.size + this.walks.size) + 100) return;
    const file = path.join(this.folder, STATE_FOLDER, JOURNAL);
    const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    const lines: string[] = [];
    for (const record of this.byId.values()) lines.push(JSON.stringify(record));
    for (const [walk, complete] of this.walks)
      lines.push(JSON.stringify({ walk, complete, at: new Date().toISOString() }));
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
