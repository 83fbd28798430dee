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
import { closeSync, constants, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { crashPoint, recordSyncFailure } from './crash-hook.ts';
import { BackupError, ExitCode } from './errors.ts';
import { nameKey } from './layout.ts';
import {
  baseOf,
  HashKeyedMap,
  isCrc,
  packCrc,
  packHash,
  packTimestamp,
  unpackCrc,
  unpackHash,
} from './record-compact.ts';
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

/**
 * What the run's decisions read of a saved record: every record of the journal is kept in memory
 * as this much (a KeptRecord), and the rest of its line (dates, metadata, savedAt) is read back
 * from the journal only where a whole record is needed (Manifest.fullRecord).
 */
export interface RecordView {
  readonly id: string;
  readonly path: string;
  readonly size: number;
  readonly sha256?: string | undefined;
  readonly copyOf?: string | undefined;
  readonly evidence?: ItemEvidence | undefined;
  readonly xmpSha256?: string | undefined;
  readonly movedFrom?: { id: string; path: string } | undefined;
}

/** A kept record's rarely set fields, in an object of their own only where one is set. */
class KeptRest {
  constructor(
    readonly copyOf: string | undefined,
    /** Packed (record-compact.ts packHash). */
    readonly xmpSha256: string | undefined,
    readonly movedFrom: { id: string; path: string } | undefined,
    /** An evidence value not held packed (a field of another type: a record written by hand or damaged), as it was. */
    readonly rawEvidence: ItemEvidence | undefined,
    readonly hasRawEvidence: boolean,
  ) {}
}

/**
 * A record as the manifest keeps it: the fields decisions read, and where its line is in the
 * journal. Not a SavedRecord (it has no `source`, `savedAt`, dates or metadata), so it cannot be
 * spread into a new line by mistake: a line written from a kept record starts from
 * Manifest.fullRecord, or the new line would lose the dates and metadata of the old.
 *
 * Packed (src/record-compact.ts): every saved photo of a year holds one for the whole run, so the
 * evidence is held in the record's own fields (no object of its own), the sha256 as its 32 bytes,
 * the CRC-32s as small integers (no heap numbers), the sidecar's taken time as a number, its title
 * not at all when it is the saved file's name, and the fields most records lack in one object only
 * where one is set. Each getter gives back exactly the value the journal line held.
 */
export class KeptRecord implements RecordView {
  readonly id: string;
  readonly size: number;
  /** The path's day folder, one string per folder for all records (null: a path without `/`). */
  #folder: string | null;
  /** The path's file name; undefined where it is the id's last part (a Takeout id's entry name). */
  #name: string | undefined;
  /** Byte offset of its line in the journal, and the line's length in bytes (without the newline); -1 until written. */
  offset = -1;
  length = 0;
  #sha256: string | undefined;
  /** Packed; `null` when the record has no evidence (an id that is an identity). */
  #crc32: number | undefined | null;
  /** A number where the string reads back as the same (record-compact.ts packTimestamp). */
  #takenTime: number | string | undefined;
  /** `true`: the saved file's name. */
  #title: string | true | undefined;
  #photoId: string | undefined;
  #sidecarFacts: number | undefined;
  #exportedAt: string | undefined;
  #rest: KeptRest | undefined;
  /** Only the manifest makes these (a nominal type: no object literal is one). */
  declare private readonly kept: true;

  /** @internal Made by the manifest only. */
  constructor(record: SavedRecord) {
    this.id = record.id;
    this.size = record.size;
    const slash = record.path.lastIndexOf('/');
    this.#folder = slash === -1 ? null : folderString(record.path.slice(0, slash));
    const name = slash === -1 ? record.path : record.path.slice(slash + 1);
    this.#name = name === baseOf(record.id) ? undefined : flat(name);
    this.#sha256 = typeof record.sha256 === 'string' ? packHash(record.sha256) : undefined;
    this.#crc32 = null;
    this.#takenTime = undefined;
    this.#title = undefined;
    this.#photoId = undefined;
    this.#sidecarFacts = undefined;
    this.#exportedAt = undefined;
    const evidence = record.evidence;
    const packable = evidence === undefined || isPackable(evidence);
    if (evidence !== undefined && packable) {
      const { crc32, takenTime, title, photoId, sidecarFacts, exportedAt } = evidence;
      this.#crc32 = crc32 === undefined ? undefined : packCrc(crc32);
      this.#takenTime = takenTime === undefined ? undefined : (packTimestamp(takenTime) ?? takenTime);
      this.#title = title !== undefined && title === baseOf(record.path) ? true : title;
      // Copied out of the sidecar's `url` it was sliced from (a slice keeps the whole url alive).
      this.#photoId = photoId === undefined ? undefined : flat(photoId);
      this.#sidecarFacts = sidecarFacts === undefined ? undefined : packCrc(sidecarFacts);
      this.#exportedAt = exportedAt;
    }
    const xmpSha256 = typeof record.xmpSha256 === 'string' ? packHash(record.xmpSha256) : undefined;
    this.#rest =
      record.copyOf !== undefined || xmpSha256 !== undefined || record.movedFrom !== undefined || !packable
        ? new KeptRest(
            record.copyOf,
            xmpSha256,
            record.movedFrom,
            packable ? undefined : keptEvidence(evidence),
            !packable,
          )
        : undefined;
  }

  get path(): string {
    const name = this.#name ?? baseOf(this.id);
    return this.#folder === null ? name : `${this.#folder}/${name}`;
  }

  get sha256(): string | undefined {
    return this.#sha256 === undefined ? undefined : unpackHash(this.#sha256);
  }

  /** The sha256 as the content index keys it (record-compact.ts packHash). */
  get packedSha256(): string | undefined {
    return this.#sha256;
  }

  get copyOf(): string | undefined {
    return this.#rest?.copyOf;
  }

  get xmpSha256(): string | undefined {
    const packed = this.#rest?.xmpSha256;
    return packed === undefined ? undefined : unpackHash(packed);
  }

  get movedFrom(): { id: string; path: string } | undefined {
    return this.#rest?.movedFrom;
  }

  /** Whether the record has evidence (without building it). */
  get hasEvidence(): boolean {
    return this.#rest?.hasRawEvidence ? Boolean(this.#rest.rawEvidence) : this.#crc32 !== null;
  }

  /** The evidence's photo id (without building the evidence). */
  get photoId(): unknown {
    return this.#rest?.hasRawEvidence ? this.#rest.rawEvidence?.photoId : this.#photoId;
  }

  /** The evidence as the line held it (its six fields, as plan.ts recordFacts reads them); a new object each time. */
  get evidence(): ItemEvidence | undefined {
    const rest = this.#rest;
    if (rest?.hasRawEvidence) return rest.rawEvidence;
    const crc32 = this.#crc32;
    if (crc32 === null) return undefined;
    const takenTime = this.#takenTime;
    const title = this.#title;
    const sidecarFacts = this.#sidecarFacts;
    return {
      crc32: crc32 === undefined ? undefined : unpackCrc(crc32),
      takenTime: typeof takenTime === 'number' ? String(takenTime) : takenTime,
      title: title === true ? baseOf(this.path) : title,
      photoId: this.#photoId,
      sidecarFacts: sidecarFacts === undefined ? undefined : unpackCrc(sidecarFacts),
      exportedAt: this.#exportedAt,
    };
  }
}

/** Each day folder's name once, for every record in it (a year has at most 366). */
const folderStrings = new Map<string, string>();

function folderString(folder: string): string {
  let held = folderStrings.get(folder);
  if (held === undefined) {
    held = flat(folder);
    folderStrings.set(folder, held);
  }
  return held;
}

/**
 * Whether evidence can be held packed: an object whose six fields are each absent or of the
 * type the tool writes (CRC-32s as 32-bit unsigned integers, the rest strings). Anything else
 * (the record is input: a hand-edited or damaged line) is kept as it was.
 */
function isPackable(evidence: unknown): evidence is ItemEvidence {
  if (typeof evidence !== 'object' || evidence === null) return false;
  const { crc32, takenTime, title, photoId, sidecarFacts, exportedAt } = evidence as Record<string, unknown>;
  const text = (value: unknown) => value === undefined || typeof value === 'string';
  return (
    (crc32 === undefined || isCrc(crc32)) &&
    (sidecarFacts === undefined || isCrc(sidecarFacts)) &&
    text(takenTime) &&
    text(title) &&
    text(photoId) &&
    text(exportedAt)
  );
}

/**
 * Evidence not held packed, as kept: every field named up front (no property array of its own,
 * as an object given its fields one by one gets). Only what plan.ts recordFacts reads.
 */
function keptEvidence(evidence: ItemEvidence | undefined): ItemEvidence | undefined {
  if (typeof evidence !== 'object' || evidence === null) return evidence;
  const { crc32, takenTime, title, photoId, sidecarFacts, exportedAt } = evidence;
  return {
    crc32,
    takenTime,
    title,
    photoId: typeof photoId === 'string' ? flat(photoId) : photoId,
    sidecarFacts,
    exportedAt,
  };
}

/** A string of its own (a slice of a longer one keeps that one in memory). */
function flat(text: string): string {
  return JSON.parse(JSON.stringify(text)) as string;
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

/** One line of the journal, as loading takes it. Pure. */
type ParsedLine =
  | { kind: 'blank' }
  | { kind: 'bad' }
  | { kind: 'pending'; line: PendingRecord }
  | { kind: 'walk'; line: WalkRecord }
  | { kind: 'record'; line: SavedRecord };

function parseLine(raw: string): ParsedLine {
  if (raw.trim() === '') return { kind: 'blank' };
  let line: Line;
  try {
    line = JSON.parse(raw) as Line;
  } catch {
    return { kind: 'bad' };
  }
  if (line === null || typeof line !== 'object') return { kind: 'bad' };
  if (isPending(line))
    return line.done === true || typeof line.filename === 'string'
      ? { kind: 'pending', line }
      : { kind: 'bad' };
  if (isWalk(line)) return { kind: 'walk', line };
  if (
    typeof line.id === 'string' &&
    typeof line.size === 'number' &&
    recordedPathProblem(line.path) === undefined &&
    (line.copyOf === undefined || recordedPathProblem(line.copyOf) === undefined) &&
    (line.movedFrom === undefined ||
      (typeof line.movedFrom === 'object' &&
        line.movedFrom !== null &&
        typeof line.movedFrom.id === 'string' &&
        recordedPathProblem(line.movedFrom.path) === undefined))
  )
    return { kind: 'record', line };
  return { kind: 'bad' };
}

/** What loading builds from the journal's lines, one at a time (parseJournal and Manifest.load). */
class JournalReader {
  readonly walks = new Map<string, boolean>();
  /** Items still pending, by id (in the order they became pending). */
  readonly pending = new Map<string, PendingRecord>();
  bad = 0;
  records = 0;

  /** Takes one line; its record, when it is one, is handed back (the caller keeps it). */
  take(raw: string): SavedRecord | undefined {
    const parsed = parseLine(raw);
    switch (parsed.kind) {
      case 'blank':
        return undefined;
      case 'bad':
        this.bad++;
        return undefined;
      case 'pending':
        if (parsed.line.done === true) this.pending.delete(parsed.line.pending);
        else this.pending.set(parsed.line.pending, parsed.line);
        return undefined;
      case 'walk':
        this.walks.set(parsed.line.walk, parsed.line.complete === true);
        return undefined;
      case 'record':
        this.records++;
        this.pending.delete(parsed.line.id);
        return parsed.line;
    }
  }
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
  const reader = new JournalReader();
  for (const raw of text.split('\n')) {
    const record = reader.take(raw);
    if (record) records.push(record);
  }
  return { records, walks: reader.walks, pending: reader.pending, bad: reader.bad };
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

/** How much of the journal loading reads at a time: never the whole file in memory at once. */
const LOAD_CHUNK = 1 << 20;
/** How much of the journal one read back of a line brings in, for the lines after it. */
const READ_BLOCK = 1 << 16;
const NEWLINE = 0x0a;

/** Each id's records, or each photo's: the one record itself, an array only once there are two. */
type OneOrMore = KeptRecord | KeptRecord[];

function listOf(held: OneOrMore | undefined): readonly KeptRecord[] {
  if (held === undefined) return [];
  return Array.isArray(held) ? held : [held];
}

export class Manifest {
  readonly folder: string;
  /** Every record of an id: one, except where one Takeout path held different photos over time. */
  private readonly byId = new Map<string, OneOrMore>();
  private recordCount = 0;
  /**
   * The record (not a copy) at each path, by its folded key (layout.ts nameKey): keyed in memory by
   * the key's hash, so no folded path string is kept per saved photo.
   */
  private readonly byPathKey = new HashKeyedMap<KeptRecord>((record) => nameKey(record.path));
  /** Saved files (not copies) by their packed sha256 (the record's own string: the key costs nothing more). */
  private readonly byHash = new Map<string, KeptRecord>();
  /** Records by Google's photo id (Takeout's sidecar `url`), copies left out; stale ones are skipped when read. */
  private readonly byPhotoId = new Map<string, OneOrMore>();
  /**
   * Records whose line is not in the journal (yet): queued behind a write, a write that failed, or
   * a read-only (--dry-run) manifest. Their whole record stays in memory until written.
   */
  private readonly unwritten = new Map<KeptRecord, SavedRecord>();
  private readonly walks: Map<string, boolean>;
  private readonly pending: Map<string, PendingRecord>;
  private handle: FileHandle | undefined;
  /**
   * The journal loaded, read by offset for whole records. Opened once: a journal replaced by a
   * rename since (another program's compaction) leaves this one as it was, so offsets stay true.
   */
  private reader: number | undefined;
  /** The last block of it read (Manifest.lineAt). */
  private block: { start: number; bytes: Buffer } | undefined;
  /** The journal's length in bytes, where the next line goes. */
  private end: number;
  private writes: Promise<void> = Promise.resolve();
  /** Lines waiting for the write in flight to end; they go out together in the next write. */
  private batch: { text: string; kept: KeptRecord | undefined }[] | undefined;
  private lines: number;
  private readonly readOnly: boolean;
  /** Lines left out when loading: torn, not a record, or naming a path outside the day folders. */
  readonly ignoredLines: number;
  /** The journal ends in a torn line (a crash mid-write): start the next line on a line of its own. */
  private tornTail = false;

  private constructor(
    folder: string,
    loaded: { reader: JournalReader; fd: number | undefined; end: number; tornTail: boolean },
    readOnly: boolean,
  ) {
    this.folder = folder;
    this.walks = loaded.reader.walks;
    this.pending = loaded.reader.pending;
    this.readOnly = readOnly;
    this.ignoredLines = loaded.reader.bad;
    this.lines = loaded.reader.records + this.walks.size + this.pending.size + loaded.reader.bad;
    this.reader = loaded.fd;
    this.end = loaded.end;
    this.tornTail = loaded.tornTail;
  }

  private get file(): string {
    return path.join(this.folder, STATE_FOLDER, JOURNAL);
  }

  /** Loads the journal of `folder` (the backup folder). `readOnly` for --dry-run: nothing is written. */
  static async load(folder: string, options: { readOnly?: boolean } = {}): Promise<Manifest> {
    const file = path.join(folder, STATE_FOLDER, JOURNAL);
    const reader = new JournalReader();
    const kept: KeptRecord[] = [];
    let fd: number | undefined;
    let end = 0;
    let lastByte = NEWLINE;
    try {
      // Not through a link: the record is appended to, and a link could lead anywhere.
      try {
        fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      if (fd !== undefined) {
        // Line by line from chunks, each line's byte offset kept with its record.
        const chunk = Buffer.allocUnsafe(LOAD_CHUNK);
        let carry: Buffer | undefined;
        let carryStart = 0;
        for (;;) {
          const read = readSync(fd, chunk, 0, LOAD_CHUNK, end);
          if (read === 0) break;
          const data = carry ? Buffer.concat([carry, chunk.subarray(0, read)]) : chunk.subarray(0, read);
          const dataStart = carry ? carryStart : end;
          end += read;
          lastByte = chunk[read - 1] as number;
          let from = 0;
          for (let at = data.indexOf(NEWLINE); at !== -1; at = data.indexOf(NEWLINE, from)) {
            takeLine(data, from, at, dataStart);
            from = at + 1;
          }
          // The rest waits for the next chunk (copied: the chunk's buffer is read into again).
          carry = from < data.length ? Buffer.from(data.subarray(from)) : undefined;
          carryStart = dataStart + from;
        }
        if (carry) takeLine(carry, 0, carry.length, carryStart);
        if (end === 0) {
          closeSync(fd);
          fd = undefined;
        }
      }
    } catch (error) {
      if (fd !== undefined) closeSync(fd);
      const code = (error as NodeJS.ErrnoException).code;
      throw new BackupError(
        `Cannot read the record of what was saved, ${file} (${code === 'ELOOP' ? 'a link' : (code ?? 'unreadable')}). ` +
          'Move it aside (the next run then checks every file again) or make it a readable file, then run again.',
        ExitCode.usage,
        { cause: error },
      );
    }
    // A run killed while compacting leaves its half-made copy; only a run holding the lock may remove it.
    if (!options.readOnly) await removeCompactionLeftovers(folder);
    const manifest = new Manifest(
      folder,
      { reader, fd, end, tornTail: lastByte !== NEWLINE },
      options.readOnly ?? false,
    );
    for (const record of kept) manifest.remember(record);
    return manifest;

    function takeLine(data: Buffer, from: number, to: number, dataStart: number): void {
      const record = reader.take(data.toString('utf8', from, to));
      if (!record) return;
      const one = new KeptRecord(record);
      one.offset = dataStart + from;
      one.length = to - from;
      kept.push(one);
    }
  }

  /**
   * The whole record of a kept one, read back from its line (or from memory while the line is not
   * written). The line's id, path and size are checked: a journal changed under this run by
   * another program (written over in place) is a BackupError (exit 2), never another line's record.
   * A fresh object: the caller may change it and record it again.
   */
  fullRecord(kept: KeptRecord): SavedRecord {
    const unwritten = this.unwritten.get(kept);
    if (unwritten) return { ...unwritten };
    let line: unknown;
    try {
      line = JSON.parse(this.lineAt(kept.offset, kept.length));
    } catch {
      line = undefined;
    }
    const record = line as SavedRecord | undefined;
    if (
      record === undefined ||
      record === null ||
      typeof record !== 'object' ||
      record.id !== kept.id ||
      record.path !== kept.path ||
      record.size !== kept.size
    )
      throw new BackupError(
        `The record of what was saved, ${this.file}, was changed by another program while this run used it ` +
          `(the line of ${kept.path} is no longer where it was). Nothing more is written from it; run again, and the record is read afresh.`,
        ExitCode.usage,
      );
    return record;
  }

  /**
   * The text at `offset`, from a block of the journal read once for the lines after it too (the
   * records are read back in the journal's order: --xmp from the record reads 50,000 of them). A
   * block stays true: the journal read is only appended to (a compaction opens the new one).
   */
  private lineAt(offset: number, length: number): string {
    this.reader ??= openSync(this.file, constants.O_RDONLY | constants.O_NOFOLLOW);
    const block = this.block;
    if (block && offset >= block.start && offset + length <= block.start + block.bytes.length)
      return block.bytes.toString('utf8', offset - block.start, offset - block.start + length);
    const bytes = Buffer.allocUnsafe(Math.max(length, READ_BLOCK));
    const read = readSync(this.reader, bytes, 0, bytes.length, offset);
    this.block = { start: offset, bytes: bytes.subarray(0, read) };
    return bytes.toString('utf8', 0, Math.min(read, length));
  }

  /** The whole records of the kept ones that `which` takes, read back one at a time, in the record's order. */
  *fullRecords(which: (kept: KeptRecord) => boolean = () => true): IterableIterator<SavedRecord> {
    for (const kept of this.allRecords()) if (which(kept)) yield this.fullRecord(kept);
  }

  /**
   * A record replaces the one of its id at the same path, and any of its id when ids are
   * identities (no evidence). With evidence at another path it is another item that stood at the
   * same place in an export (a Takeout path), and both are kept.
   */
  private remember(record: KeptRecord): void {
    if (record.movedFrom) this.forget(record.movedFrom.id, record.movedFrom.path);
    const held = this.byId.get(record.id);
    const key = nameKey(record.path);
    const records = listOf(held);
    const at = records.findIndex(
      (previous) => (!record.hasEvidence && !previous.hasEvidence) || nameKey(previous.path) === key,
    );
    if (at === -1) {
      if (held === undefined) this.byId.set(record.id, record);
      else if (Array.isArray(held)) held.push(record);
      else this.byId.set(record.id, [held, record]);
      this.recordCount++;
    } else {
      const previous = records[at] as KeptRecord;
      const previousKey = previous.path === record.path ? key : nameKey(previous.path);
      if (!previous.copyOf && this.byPathKey.get(previousKey)?.id === record.id)
        this.byPathKey.delete(previousKey);
      if (Array.isArray(held)) held[at] = record;
      else this.byId.set(record.id, record);
    }
    if (!record.copyOf) this.byPathKey.set(key, record);
    const packed = record.packedSha256;
    if (packed && !record.copyOf) this.byHash.set(packed, record);
    const photoId = record.photoId;
    if (typeof photoId === 'string' && !record.copyOf) {
      const same = listOf(this.byPhotoId.get(photoId)).filter((previous) => this.isCurrent(previous));
      this.byPhotoId.set(photoId, same.length === 0 ? record : [...same, record]);
    }
  }

  /** Drops the record of `id` at `at` (a moved item's old place). */
  private forget(id: string, at: string): void {
    const held = this.byId.get(id);
    if (!held) return;
    const key = nameKey(at);
    const records = listOf(held);
    const index = records.findIndex((previous) => nameKey(previous.path) === key);
    if (index === -1) return;
    const rest = records.filter((_, other) => other !== index);
    this.recordCount--;
    if (rest.length === 0) this.byId.delete(id);
    else this.byId.set(id, rest.length === 1 ? (rest[0] as KeptRecord) : rest);
    if (this.byPathKey.get(key)?.id === id) this.byPathKey.delete(key);
  }

  private isCurrent(record: KeptRecord): boolean {
    const held = this.byId.get(record.id);
    return held === record || (Array.isArray(held) && held.includes(record));
  }

  /** The records (not copies) of the photo Google knows by this id, in any path or id. */
  recordsOfPhoto(photoId: string): KeptRecord[] {
    return listOf(this.byPhotoId.get(photoId)).filter((record) => this.isCurrent(record));
  }

  /** The records that name the file at `relativePath` as the copy they are. */
  copiesAt(relativePath: string): KeptRecord[] {
    const key = nameKey(relativePath);
    const copies: KeptRecord[] = [];
    for (const record of this.allRecords())
      if (record.copyOf !== undefined && nameKey(record.copyOf) === key) copies.push(record);
    return copies;
  }

  get size(): number {
    return this.recordCount;
  }

  /** The latest record of an id. */
  get(id: string): KeptRecord | undefined {
    const held = this.byId.get(id);
    return Array.isArray(held) ? held.at(-1) : held;
  }

  /** Every record (each id's, each place it was saved at). */
  *allRecords(): IterableIterator<KeptRecord> {
    for (const held of this.byId.values()) {
      if (Array.isArray(held)) yield* held;
      else yield held;
    }
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
  recordsOf(id: string): readonly KeptRecord[] {
    return listOf(this.byId.get(id));
  }

  /** Every record, each the latest of its id at its path. */
  records(): IterableIterator<KeptRecord> {
    return this.allRecords();
  }

  /** The id of the item recorded at this path (compared as the file system may: case and normalization folded). */
  ownerOf(relativePath: string): string | undefined {
    return this.byPathKey.get(nameKey(relativePath))?.id;
  }

  /** The path of a saved file with these bytes, if any. */
  pathWithContent(size: number, sha256: string): string | undefined {
    const record = this.byHash.get(packHash(sha256));
    return record?.size === size ? record.path : undefined;
  }

  isWalkComplete(key: string): boolean {
    return this.walks.get(key) === true;
  }

  /** Writes the record's line; what the manifest keeps of it is handed back (resolved once written). */
  async record(record: SavedRecord): Promise<KeptRecord> {
    const kept = new KeptRecord(record);
    const text = JSON.stringify(record);
    this.unwritten.set(kept, record);
    this.remember(kept);
    this.pending.delete(record.id);
    await this.append(text, kept);
    return kept;
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
    await this.append(JSON.stringify(line));
  }

  /** The item is no longer waited for (Google no longer has it). */
  async clearPending(walk: string, id: string): Promise<void> {
    if (!this.pending.delete(id)) return;
    await this.append(
      JSON.stringify({ pending: id, of: walk, filename: '', at: new Date().toISOString(), done: true }),
    );
  }

  async markWalk(key: string, complete: boolean): Promise<void> {
    this.walks.set(key, complete);
    await this.append(JSON.stringify({ walk: key, complete, at: new Date().toISOString() }));
  }

  private append(json: string, kept?: KeptRecord): Promise<void> {
    if (this.readOnly) return Promise.resolve();
    const text = `${this.tornTail ? '\n' : ''}${json}\n`;
    this.tornTail = false;
    this.lines++;
    if (this.batch) {
      this.batch.push({ text, kept });
      return this.writes;
    }
    // One write at a time, in order. Lines that come while a write is under way wait for it and
    // then go out together in one write call: each resolves only once its own line is written.
    const batch = [{ text, kept }];
    this.batch = batch;
    this.writes = this.writes.then(() => {
      this.batch = undefined;
      return this.write(batch);
    });
    return this.writes;
  }

  private async write(batch: readonly { text: string; kept: KeptRecord | undefined }[]): Promise<void> {
    if (!this.handle) {
      await mkdir(path.join(this.folder, STATE_FOLDER), { recursive: true });
      this.handle = await open(
        this.file,
        constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
        0o644,
      );
    }
    const handle = this.handle;
    const text = batch.length === 1 ? (batch[0]?.text as string) : batch.map((line) => line.text).join('');
    await crashPoint('mid-journal-write', () => handle.write(text.slice(0, Math.ceil(text.length / 2))));
    try {
      // Synchronous: appending a few hundred bytes takes microseconds, less than a thread-pool hand-off.
      writeSync(handle.fd, text);
    } catch (error) {
      // Part of it may be there (a full disk): the next line goes after what is, on a line of its own.
      const size = fstatSync(handle.fd).size;
      if (size !== this.end) this.tornTail = true;
      this.end = size;
      throw error;
    }
    // Where each line went: known only now, in the order the lines were written.
    let at = this.end;
    for (const line of batch) {
      const bytes = Buffer.byteLength(line.text);
      if (line.kept) {
        const leading = line.text.charCodeAt(0) === NEWLINE ? 1 : 0;
        line.kept.offset = at + leading;
        line.kept.length = bytes - leading - 1;
        this.unwritten.delete(line.kept);
      }
      at += bytes;
    }
    this.end = at;
  }

  /**
   * Every line written so far on the disk itself (fsync), not only in the page cache: what other
   * state trusts the record must be written after this. The Takeout source's memory of finished
   * parts is: a part remembered is never read again, so after a power cut a part remembered
   * without its items' lines would leave those items unsaved for good. With the lines on disk,
   * a file they name that the cut left short or absent is found by missingFiles and saved again.
   */
  async sync(): Promise<void> {
    await this.writes.catch(() => undefined);
    const failure = recordSyncFailure();
    if (failure) throw failure;
    await this.handle?.sync();
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
    if (this.readOnly || this.lines <= 2 * live + 100) {
      // A read after this opens the journal again (the same file: the lock is released after).
      if (this.reader !== undefined) closeSync(this.reader);
      this.reader = undefined;
      this.block = undefined;
      return;
    }
    const temp = `${this.file}.${randomBytes(4).toString('hex')}.tmp`;
    const handle = await open(temp, 'w');
    /** Where each record's line goes in the new journal, taken once it replaces the old. */
    const placed: { kept: KeptRecord; offset: number; length: number }[] = [];
    try {
      let chunk: string[] = [];
      let chunkBytes = 0;
      let at = 0;
      const put = async (line: string, kept?: KeptRecord) => {
        const bytes = Buffer.byteLength(line);
        if (kept) placed.push({ kept, offset: at, length: bytes });
        at += bytes + 1;
        chunk.push(line);
        chunkBytes += bytes + 1;
        if (chunkBytes >= LOAD_CHUNK) {
          await handle.write(`${chunk.join('\n')}\n`);
          chunk = [];
          chunkBytes = 0;
        }
      };
      for (const kept of this.allRecords()) {
        // The record it replaced is not written again, so nothing is left for it to drop (and
        // written before it, it would drop another item saved at the old place since).
        const record = this.fullRecord(kept);
        await put(
          JSON.stringify(record, (key, value) => (key === 'movedFrom' ? undefined : value)),
          kept,
        );
      }
      for (const [walk, complete] of this.walks)
        await put(JSON.stringify({ walk, complete, at: new Date().toISOString() }));
      for (const entry of this.pending.values()) await put(JSON.stringify(entry));
      if (chunk.length > 0) await handle.write(`${chunk.join('\n')}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await crashPoint('mid-compaction');
    await rename(temp, this.file);
    // The offsets held are the new journal's from here on.
    if (this.reader !== undefined) closeSync(this.reader);
    this.reader = undefined;
    this.block = undefined;
    for (const line of placed) {
      line.kept.offset = line.offset;
      line.kept.length = line.length;
      this.unwritten.delete(line.kept);
    }
  }
}

async function removeCompactionLeftovers(folder: string): Promise<void> {
  const dir = path.join(folder, STATE_FOLDER);
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names)
    if (name.startsWith(`${JOURNAL}.`) && name.endsWith('.tmp'))
      await rm(path.join(dir, name), { force: true });
}
