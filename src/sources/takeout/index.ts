/**
 * The Takeout source: Google Takeout parts (.zip, .tgz/.tar.gz, extracted folders, in any mix)
 * become one list of SourceItems with dates and bytes. Archives are read in place and streamed:
 * zip entries by offset, tgz entries in archive order (two passes), nothing extracted to disk.
 *
 * Flow: open parts → merge into one tree per export keyed by the path inside the Photos folder → match
 * sidecars per folder → decide dates → yield (year-folder copies before album copies, then each
 * tgz part in archive order).
 */

import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { type FileHandle, lstat, open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { usageError } from '../../errors.ts';
import { isValidTimeZone, unknownTimeZoneError } from '../../timezone.ts';
import type { DateSource, ItemEvidence, OpenedMedia, Source, SourceItem } from '../source.ts';
import { type ExifCapture, guessDateFromPath, parseSidecarTimestamp, resolveCaptureDate } from './dates.ts';
import { EXIF_HEAD_BYTES } from './exif.ts';
import {
  bufferReader,
  handleReader,
  holdHead,
  MEDIA_STREAM_BUDGET,
  mayHaveMediaDate,
  readMediaDate,
  reopeningReader,
  streamHoldBytes,
  streamReader,
} from './media-dates.ts';
import { countMediaRead, writeMediaReadCount } from './read-count.ts';
import {
  findOriginalMedia,
  indexMediaNames,
  type MatchMethod,
  matchSidecarsInFolder,
  parseSidecarName,
  type SidecarInfo,
} from './sidecar-match.ts';
import { openTarStream, readTarEntries } from './tar-reader.ts';
import {
  baseName,
  checkEntryPath,
  chooseRootNames,
  classifyFolder,
  type FolderKind,
  isLeftover,
  isMediaName,
  type JsonFacts,
  jsonFactsOf,
  mayHaveExif,
  mediaType,
  parentOf,
  pathInsideRoot,
  rootNamesFromFolders,
  rootOfSidecar,
} from './tree.ts';
import {
  isEncrypted,
  isSupportedMethod,
  isSymlink,
  readZipDirectory,
  readZipEntry,
  readZipEntryPrefix,
  type ZipEntry,
  zipEntryDataOffset,
} from './zip-reader.ts';

export interface TakeoutSourceOptions {
  /** Takeout parts: .zip, .tgz/.tar.gz/.tar files, or folders (extracted Takeouts or folders of parts). */
  inputs: string[];
  /** Zone for wall-clock dates with no offset (EXIF without OffsetTimeOriginal, file names): IANA or 'UTC', as resolveTimeZone gives. */
  timeZone: string;
  /** Also list items in Trash/Bin or flagged `trashed` (left out by default, like immich-go). */
  includeTrash?: boolean;
  onWarning?: (message: string) => void;
}

export type TakeoutSource = Source & {
  /**
   * True when a tgz part is among the inputs. Items from a tgz are read from one shared stream in
   * archive order: an item's `open()` is fast only until the next item is requested, so the
   * pipeline should finish each item's transfer before pulling the next one. A later `open()`
   * still works but re-reads the tgz from its start to that entry (slow on big parts).
   */
  readonly sequential: boolean;
  /** Damaged parts and unreadable entries found so far; non-empty means the run should exit 1. */
  problems(): string[];
};

/**
 * Sidecars and album JSON are a few KB; one listing many people or a long description reaches a
 * few MB. Larger is not one: it is not read (parsing it takes several times its size in memory).
 */
const MAX_JSON_BYTES = 16 * 1024 * 1024;
const READ_CONCURRENCY = 16;
/** JSON files above this are read and parsed one at a time. */
const BIG_JSON_BYTES = 256 * 1024;

type PartKind = 'zip' | 'tar' | 'folder';

interface Part {
  file: string;
  kind: PartKind;
  order: number;
  files: PartFile[];
}

interface PartFile {
  part: Part;
  /** Normalized path inside the part; folder parts start with the folder's own name. */
  path: string;
  size: number;
  /** Ordinal inside a tar part (pass 2 finds the entry by it). */
  index: number;
  zip?: ZipEntry;
  fsPath?: string;
  /** What is used of a JSON file that parsed (tree.ts jsonFactsOf); the parsed object is not kept. */
  json?: JsonFacts;
  /** CRC-32 of a tgz media entry, computed in pass 1 as its bytes pass by. */
  crc32?: number;
  /** Read in tgz pass 1 (EXIF, or HEIF/QuickTime dates); undefined with `exifRead` means "no date". */
  exif?: ExifCapture;
  exifRead?: boolean;
}

interface TreeEntry {
  key: string;
  copy: PartFile;
}

interface Plan {
  key: string;
  copy: PartFile;
  folder: string;
  folderKind: FolderKind;
  sidecar?: { key: string; json: JsonFacts; method: MatchMethod; borrowed: boolean };
  /** The still or unedited file this one belongs to (of the same export), when it has no sidecar of its own. */
  original?: Plan;
  albums: readonly string[];
}

/** Shared by the plans of photos in no album (most of them), instead of an empty array each. */
const NO_ALBUMS: readonly string[] = Object.freeze([]);

interface Scan {
  /** Emptied slot by slot as the items are handed on (list). */
  randomAccess: Array<Plan | undefined>;
  tarParts: Array<{ part: Part; plans: Map<number, Plan> }>;
  /** Plans some other plan names as its `original`: only their dates are cached. */
  originals: Set<Plan>;
}

export function createTakeoutSource(options: TakeoutSourceOptions): TakeoutSource {
  if (options.inputs.length === 0) {
    throw usageError(
      'No Takeout given. Pass the takeout-*.zip or .tgz files, or the folder you extracted them into.',
    );
  }
  if (!isValidTimeZone(options.timeZone)) {
    throw unknownTimeZoneError(options.timeZone);
  }
  const problems: string[] = [];
  const warn = (message: string) => options.onWarning?.(message);
  let sequential = options.inputs.some((input) => sniffInputHasTar(input));
  // By plan, not by key: two exports may each hold another photo at one key.
  const exifCache = new Map<Plan, Promise<ExifCapture | undefined>>();
  const pool = new HandlePool();

  async function exifOf(plan: Plan, scan: Scan): Promise<ExifCapture | undefined> {
    const copy = plan.copy;
    if (!mayHaveExif(copy.path) && !mayHaveMediaDate(copy.path)) return undefined;
    if (copy.part.kind === 'tar') return copy.exif;
    let cached = exifCache.get(plan);
    if (!cached) {
      const needsDate = !(plan.sidecar && takenAtOf(plan.sidecar.json));
      countMediaRead();
      cached = readMediaDateOf(copy, pool, needsDate);
      // Kept only for the originals of other items (edited copies, Live/Motion parts read it
      // again); every other item's date is read once, and a cache of all of them grew with the run.
      if (scan.originals.has(plan)) exifCache.set(plan, cached);
    }
    return cached;
  }

  async function describe(plan: Plan, scan: Scan): Promise<Omit<SourceItem, 'open'>> {
    const original = plan.original;
    const ownExif = await exifOf(plan, scan);
    // A Live/Motion video part's own QuickTime date is only a fallback: its still's date comes first.
    const videoPart = original !== undefined && mediaType(plan.copy.path).kind === 'video';
    const preferOriginal = original !== undefined && (!ownExif || videoPart);
    const originalExif = original && preferOriginal ? await exifOf(original, scan) : undefined;
    let sidecarDate = plan.sidecar ? takenAtOf(plan.sidecar.json) : undefined;
    let exif = ownExif;
    let inherited: string | undefined;
    if (original && preferOriginal && !sidecarDate) {
      // Edited copies and Live/Motion video parts land on their original's day (spec §5).
      const originalDate = original.sidecar ? takenAtOf(original.sidecar.json) : undefined;
      if (originalDate || originalExif) {
        sidecarDate = originalDate;
        exif = originalExif;
        inherited = original.key;
      }
    } else if (original && preferOriginal) {
      exif = originalExif ?? ownExif;
    }
    const resolved = resolveCaptureDate({
      ...(sidecarDate ? { sidecar: sidecarDate } : {}),
      ...(exif ? { exif } : {}),
      ...(sidecarDate || exif ? {} : { fileName: guessDateFromPath(plan.key) }),
      timeZone: options.timeZone,
    });
    const item: Omit<SourceItem, 'open'> = {
      ...listedFacts(plan),
      dateSource: resolved.dateSource as DateSource,
      metadata: metadataOf(plan, inherited),
    };
    if (resolved.takenAt) item.takenAt = resolved.takenAt;
    if (resolved.utcOffsetMinutes !== undefined) item.utcOffsetMinutes = resolved.utcOffsetMinutes;
    return item;
  }

  /**
   * The item as listed: what the archive directory and the sidecars say, no media byte read. Its
   * date (EXIF may be needed) comes from `resolve`, which the pipeline calls only for items the
   * record does not already hold.
   */
  function listedItem(
    plan: Plan,
    scan: Scan,
    open: (signal: AbortSignal) => Promise<OpenedMedia>,
    randomAccess: boolean,
  ): SourceItem {
    const counted = (signal: AbortSignal) => {
      countMediaRead();
      return open(signal);
    };
    const contentHash = randomAccess
      ? async (signal: AbortSignal) => {
          const hash = createHash('sha256');
          for await (const chunk of (await counted(signal)).body) hash.update(chunk);
          return hash.digest('hex');
        }
      : undefined;
    const item: SourceItem = {
      ...listedFacts(plan),
      dateSource: 'none',
      open: counted,
      ...(contentHash ? { contentHash } : {}),
      resolve: async () => ({
        ...(await describe(plan, scan)),
        open: counted,
        ...(contentHash ? { contentHash } : {}),
      }),
    };
    return item;
  }

  async function* list(signal: AbortSignal): AsyncGenerator<SourceItem> {
    try {
      const scan = await scanTakeout(options, problems, warn, pool);
      sequential = scan.tarParts.length > 0;
      const plans = scan.randomAccess;
      for (let at = 0; at < plans.length; at++) {
        signal.throwIfAborted();
        const plan = plans[at] as Plan;
        // Let go once handed on: the item holds it while it is saved, and the listing's memory
        // (a plan per photo) shrinks while the record's grows, instead of both adding up.
        plans[at] = undefined;
        yield listedItem(plan, scan, async (openSignal) => openRandomAccess(plan.copy, openSignal), true);
      }
      for (const { part, plans } of scan.tarParts) {
        signal.throwIfAborted();
        const stream = await openTarStream(part.file, signal);
        try {
          for await (const entry of readTarEntries(stream)) {
            const plan = plans.get(entry.index);
            if (!plan) continue;
            const live = new LiveEntry(entry.body);
            yield listedItem(
              plan,
              scan,
              async (openSignal) => {
                const body = live.claim(openSignal);
                return {
                  body: body ?? rescanTarEntry(part.file, entry.index, openSignal),
                  size: plan.copy.size,
                };
              },
              false,
            );
            await live.release();
          }
        } catch (error) {
          if (signal.aborted) throw error;
          const message = `${part.file}: ${errorText(error)}`;
          // Pass 1 already reported a damaged part and kept only the entries before the damage.
          if (!problems.some((problem) => problem.startsWith(`${part.file}:`))) problems.push(message);
        }
      }
    } finally {
      await pool.closeAll();
    }
  }

  return {
    name: 'takeout',
    stopsOnSkips: false,
    get sequential() {
      return sequential;
    },
    endMessage: () => 'Read every archive.',
    problems: () => [...problems],
    list,
    async close() {
      exifCache.clear();
      await pool.closeAll();
      writeMediaReadCount();
    },
  };
}

/** What every listed item carries before any media byte is read: names, size, and its evidence. */
function listedFacts(plan: Plan): Omit<SourceItem, 'open' | 'dateSource'> {
  const filename = baseName(plan.copy.path);
  const type = mediaType(filename);
  return {
    id: `takeout:${plan.key}`,
    filename,
    kind: type.kind,
    ...(type.mimeType ? { mimeType: type.mimeType } : {}),
    size: plan.copy.size,
    dedupeByContent: true,
    evidence: evidenceOf(plan),
  };
}

/**
 * What tells this photo apart from another Google later puts at the same path (it numbers
 * same-named files per export, so `IMG_0001.jpg` can be another photo next time): the CRC-32 the
 * zip directory holds (or tgz pass 1 computed), and the item's own sidecar, never one borrowed.
 */
function evidenceOf(plan: Plan): ItemEvidence {
  const evidence: ItemEvidence = {};
  const crc = plan.copy.zip?.crc32 ?? plan.copy.crc32;
  if (crc !== undefined) evidence.crc32 = crc;
  const json = plan.sidecar && !plan.sidecar.borrowed ? plan.sidecar.json : undefined;
  if (json) {
    if (json.takenTime !== undefined) evidence.takenTime = String(json.takenTime);
    if (json.title !== undefined) evidence.title = json.title;
  }
  return evidence;
}

/** The sidecar's `photoTakenTime` as an instant (dates.ts `sidecarTakenAt`, from the kept facts). */
function takenAtOf(json: JsonFacts): Date | undefined {
  return parseSidecarTimestamp(json.takenTime);
}

function metadataOf(plan: Plan, inherited: string | undefined): Record<string, unknown> {
  const record: JsonFacts = plan.sidecar?.json ?? { kind: 'other' };
  const metadata: Record<string, unknown> = {};
  if (record.location) metadata.location = { ...record.location };
  if (record.description !== undefined) metadata.description = record.description;
  if (plan.albums.length > 0) metadata.albums = plan.albums;
  metadata.archived = record.archived === true || plan.folderKind === 'archive';
  metadata.favorited = record.favorited === true;
  if (plan.folderKind === 'locked') metadata.locked = true;
  if (isTrashed(plan)) metadata.trashed = true;
  if (plan.sidecar) {
    metadata.sidecar = plan.sidecar.key;
    metadata.matchMethod = plan.sidecar.method;
    if (plan.sidecar.borrowed) metadata.sidecarBorrowed = true;
  } else {
    metadata.matchMethod = 'none';
  }
  if (inherited) metadata.dateFrom = inherited;
  return metadata;
}

function isTrashed(plan: Plan): boolean {
  const json = plan.sidecar && !plan.sidecar.borrowed ? plan.sidecar.json : undefined;
  return plan.folderKind === 'trash' || json?.trashed === true;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The body of the tgz entry the generator is on. Claimed by the item's first open(); the generator
 * waits for a claimed body to be read to the end (or given up) before it moves to the next entry,
 * because both read the same gunzip stream.
 */
class LiveEntry {
  private claimed = false;
  private done = false;
  private finish: () => void = () => {};
  private readonly finished = new Promise<void>((resolve) => {
    this.finish = resolve;
  });

  constructor(private readonly body: AsyncIterable<Buffer>) {}

  claim(signal: AbortSignal): AsyncIterable<Uint8Array> | undefined {
    if (this.claimed || this.done) return undefined;
    this.claimed = true;
    let started = false;
    const finish = () => this.finish();
    // Given up before reading: let the generator move on. Once reading, the body's `finally` does
    // it, so the generator never skips bytes while this body still waits for a chunk.
    signal.addEventListener('abort', () => started || finish(), { once: true });
    const body = this.body;
    return (async function* () {
      started = true;
      try {
        signal.throwIfAborted();
        for await (const chunk of body) {
          yield chunk;
          signal.throwIfAborted();
        }
      } finally {
        finish();
      }
    })();
  }

  async release(): Promise<void> {
    if (this.claimed) await this.finished;
    this.done = true;
  }
}

/** A tgz entry opened out of order (a retry, or a consumer that pulled ahead): read the part again up to it. */
async function* rescanTarEntry(file: string, index: number, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const stream = await openTarStream(file, signal);
  for await (const entry of readTarEntries(stream)) {
    if (entry.index === index) {
      yield* entry.body;
      return;
    }
  }
  throw new Error(`entry ${index + 1} is missing from ${file}`);
}

async function openRandomAccess(copy: PartFile, signal: AbortSignal) {
  if (copy.zip) return { body: readZipEntry(copy.part.file, copy.zip, { signal }), size: copy.size };
  const fsPath = copy.fsPath as string;
  return { body: createReadStream(fsPath, { signal, highWaterMark: 256 * 1024 }), size: copy.size };
}

/**
 * Open handles for listing-time reads (sidecars, EXIF heads), one per archive or file, so tens of
 * thousands of small reads do not each open the file. Closed when listing ends.
 */
class HandlePool {
  private readonly handles = new Map<string, Promise<FileHandle>>();

  get(file: string): Promise<FileHandle> {
    let handle = this.handles.get(file);
    if (!handle) {
      handle = open(file, 'r');
      this.handles.set(file, handle);
    }
    return handle;
  }

  async closeAll(): Promise<void> {
    const handles = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(handles.map(async (handle) => (await handle.catch(() => undefined))?.close()));
  }
}

async function readHead(copy: PartFile, bytes: number, pool: HandlePool): Promise<Buffer> {
  if (copy.zip) return readZipEntryPrefix(await pool.get(copy.part.file), copy.zip, bytes);
  const handle = await open(copy.fsPath as string, 'r');
  try {
    const buffer = Buffer.alloc(Math.min(bytes, copy.size));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * A file's own date (EXIF, HEIF or QuickTime) read in place. Folder files and stored zip entries
 * are read with small positional reads, so a `moov` at the end of a big video, or a raw file's
 * Exif IFD far into it, costs a few small reads. A deflated zip entry cannot be read out of order:
 * it is inflated forward, up to MEDIA_STREAM_BUDGET (boxes past it stay unread), again from its
 * start when the file points back (a HEIC's `meta` after `mdat`), and only for items with no
 * sidecar date; otherwise its first bytes are enough.
 */
async function readMediaDateOf(
  copy: PartFile,
  pool: HandlePool,
  needsDate: boolean,
): Promise<ExifCapture | undefined> {
  try {
    if (copy.zip && copy.zip.method === 0) {
      const handle = await pool.get(copy.part.file);
      const start = await zipEntryDataOffset(handle, copy.zip);
      return await readMediaDate(handleReader(handle, start, copy.size));
    }
    // Most EXIF is in the first bytes (one pooled read); a box tree cut at the head could give a
    // lesser date (mvhd without its ©day), so only EXIF files settle for the head when undated.
    const headFirst = !needsDate || mayHaveExif(copy.path);
    if (copy.zip && headFirst) {
      const head = await readHead(copy, EXIF_HEAD_BYTES, pool);
      const fromHead = await readMediaDate(bufferReader(head, copy.size));
      if (fromHead || !needsDate || head.length >= copy.size) return fromHead;
    }
    if (copy.zip) {
      const zip = copy.zip;
      const reader = reopeningReader(() => readZipEntry(copy.part.file, zip), copy.size, MEDIA_STREAM_BUDGET);
      try {
        return await readMediaDate(reader);
      } finally {
        await reader.close();
      }
    }
    const handle = await open(copy.fsPath as string, 'r');
    try {
      return await readMediaDate(handleReader(handle, 0, copy.size));
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
}

/**
 * A tgz entry's body that keeps a CRC-32 of what passes: readers may stop early (a date is in the
 * first bytes) without ending it, and finish() reads the rest for the whole entry's CRC-32.
 */
class CrcBody implements AsyncIterable<Buffer> {
  private crc = 0;
  private readonly iterator: AsyncIterator<Buffer>;

  constructor(body: AsyncIterable<Buffer>) {
    this.iterator = body[Symbol.asyncIterator]();
  }

  private async next(): Promise<IteratorResult<Buffer>> {
    const result = await this.iterator.next();
    if (!result.done) this.crc = crc32(result.value, this.crc);
    return result;
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return {
      next: () => this.next(),
      return: async () => ({ done: true, value: undefined }),
    };
  }

  async finish(): Promise<number> {
    while (!(await this.next()).done);
    return this.crc;
  }
}

async function collect(body: AsyncIterable<Uint8Array>, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    chunks.push(Buffer.from(chunk));
    total += chunk.length;
    if (total >= limit) break;
  }
  return Buffer.concat(chunks).subarray(0, limit);
}

/** Parsed one at a time, and only the facts used are kept (undefined when it does not parse). */
function parseJson(bytes: Buffer): JsonFacts | undefined {
  let content: unknown;
  try {
    // Invalid UTF-8 is replaced rather than fatal (gpth#143); a BOM is dropped.
    content = JSON.parse(bytes.toString('utf8').replace(/^\uFEFF/, ''));
  } catch {
    return undefined;
  }
  return jsonFactsOf(content);
}

/**
 * A JSON file too large to be a sidecar. Named like one (`IMG_1.jpg.json`, a cut suffix, `(n)`):
 * a problem, its photo is saved dated from its content or name. Otherwise (other Takeout
 * products' big JSON, such as location history) only a warning.
 */
function oversizedJson(file: PartFile): { sidecar: boolean; message: string } {
  const rest = parseSidecarName(baseName(file.path))?.rest ?? '';
  const sidecar = isMediaName(rest) || isMediaName(rest.slice(0, rest.lastIndexOf('.')));
  return {
    sidecar,
    message: `${file.part.file}: "${file.path}" holds ${file.size} bytes of JSON, more than the ${MAX_JSON_BYTES} a sidecar can be: not read${sidecar ? '; its photo is dated from its content or name. Download this part again from Google Takeout' : ''}.`,
  };
}

function reportOversized(file: PartFile, problems: string[], warn: (message: string) => void): void {
  const { sidecar, message } = oversizedJson(file);
  if (sidecar) problems.push(message);
  else warn(message);
}

async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(workers);
}

// ---------------------------------------------------------------------------------------------
// Opening parts

const ARCHIVE_NAME = /\.(zip|tgz|tar\.gz|tar)$/i;

function sniffKind(file: string): 'zip' | 'tar' | 'unknown' {
  let handle: number | undefined;
  try {
    handle = openSync(file, 'r');
    const head = Buffer.alloc(262);
    const length = readSync(handle, head, 0, head.length, 0);
    if (length >= 4 && head.readUInt32LE(0) === 0x04034b50) return 'zip';
    if (length >= 4 && head.readUInt32LE(0) === 0x06054b50) return 'zip';
    if (length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'tar';
    if (length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
    return 'unknown';
  } catch {
    return 'unknown';
  } finally {
    if (handle !== undefined) closeSync(handle);
  }
}

function sniffInputHasTar(input: string): boolean {
  try {
    const stats = statSync(input);
    if (stats.isFile()) return sniffKind(input) === 'tar';
    if (!stats.isDirectory()) return false;
    return readdirSync(input).some(
      (name) => ARCHIVE_NAME.test(name) && sniffKind(path.join(input, name)) === 'tar',
    );
  } catch {
    return false;
  }
}

async function expandInputs(inputs: readonly string[], problems: string[]): Promise<Part[]> {
  const parts: Part[] = [];
  const add = (file: string, kind: PartKind) => parts.push({ file, kind, order: parts.length, files: [] });
  for (const input of inputs) {
    // Followed: a Takeout folder or archive given through a symbolic link is what the link names.
    const stats = await stat(input).catch(() => undefined);
    if (!stats) {
      throw usageError(`Takeout input "${input}" not found. Check the path, or download the Takeout again.`);
    }
    if (stats.isDirectory()) {
      for (const name of (await readdir(input)).sort()) {
        if (!ARCHIVE_NAME.test(name)) continue;
        const file = path.join(input, name);
        const kind = sniffKind(file);
        if (kind === 'unknown') problems.push(`${file}: not a zip or tgz archive; it was skipped.`);
        else add(file, kind);
      }
      add(input, 'folder');
      continue;
    }
    const kind = sniffKind(input);
    if (kind === 'unknown') {
      problems.push(
        `${input}: not a zip or tgz archive (and not a folder). Pass the takeout-*.zip/.tgz files Google made, or the folder you extracted them into.`,
      );
    } else {
      add(input, kind);
    }
  }
  return parts;
}

async function loadZip(part: Part, problems: string[], warn: (message: string) => void): Promise<void> {
  const entries = await readZipDirectory(part.file);
  const encrypted: string[] = [];
  const unsupported: string[] = [];
  const links: string[] = [];
  for (const entry of entries) {
    if (entry.name.endsWith('/') || entry.name.endsWith('\\')) continue;
    const checked = checkEntryPath(entry.name);
    if (!checked.ok) {
      warn(`${part.file}: refused entry "${entry.name}": ${checked.reason}.`);
      continue;
    }
    if (isSymlink(entry)) {
      links.push(checked.path);
      continue;
    }
    if (isEncrypted(entry)) {
      encrypted.push(checked.path);
      continue;
    }
    if (!isSupportedMethod(entry)) {
      unsupported.push(`${checked.path} (method ${entry.method})`);
      continue;
    }
    // The name as stored is almost always the normalized path: one string for both, not two.
    const entryPath = checked.path === entry.name ? entry.name : checked.path;
    part.files.push({ part, path: entryPath, size: entry.size, index: entry.index, zip: entry });
  }
  if (links.length > 0) {
    // Google's Takeout holds no links; a tar's links are skipped the same way (not a file entry).
    warn(
      `${part.file}: ${links.length} symbolic link${links.length === 1 ? '' : 's'} skipped, not a photo (first: "${links[0]}").`,
    );
  }
  if (encrypted.length > 0) {
    problems.push(
      `${part.file}: ${encrypted.length} encrypted entr${encrypted.length === 1 ? 'y' : 'ies'} skipped (first: "${encrypted[0]}"). Google does not encrypt Takeouts: use the original download, or extract it with your password and pass the folder.`,
    );
  }
  if (unsupported.length > 0) {
    problems.push(
      `${part.file}: ${unsupported.length} entr${unsupported.length === 1 ? 'y uses' : 'ies use'} an unsupported compression (first: "${unsupported[0]}"). Only stored and deflate are read: use the original Takeout download, or extract it and pass the folder.`,
    );
  }
}

/**
 * Pass 1 over a tgz: names, sizes, the JSON files, EXIF from the first bytes of photos, and the
 * HEIF/QuickTime dates of HEIC and MP4/MOV files (a `moov` after `mdat` too: see below).
 */
async function loadTar(part: Part, problems: string[], warn: (message: string) => void): Promise<void> {
  let pending: PartFile | undefined;
  try {
    const stream = await openTarStream(part.file);
    for await (const entry of readTarEntries(stream)) {
      if (pending) part.files.push(pending);
      pending = undefined;
      if (entry.type !== 'file') continue;
      const checked = checkEntryPath(entry.path);
      if (!checked.ok) {
        warn(`${part.file}: refused entry "${entry.path}": ${checked.reason}.`);
        continue;
      }
      const file: PartFile = { part, path: checked.path, size: entry.size, index: entry.index };
      const name = baseName(checked.path);
      // Every byte of a tgz passes through gunzip in this pass anyway: its CRC-32 costs no read.
      const body = isMediaName(name) ? new CrcBody(entry.body) : undefined;
      if (!body) {
        if (/\.json$/i.test(name) && entry.size <= MAX_JSON_BYTES)
          file.json = parseJson(await collect(entry.body, entry.size));
        else if (/\.json$/i.test(name)) reportOversized(file, problems, warn);
      } else if (mayHaveExif(name) || mayHaveMediaDate(name)) {
        // The gunzip stream passes every byte of the entry anyway, so a `moov` after `mdat` (or an
        // Exif IFD far into a raw file) is reached for free: the reader skips the chunks before it
        // and keeps only small boxes, plus the first bytes a parser may point back into.
        const reader = holdHead(streamReader(body, entry.size), streamHoldBytes(name));
        const exif = await readMediaDate(reader);
        await reader.close();
        if (reader.failure) throw reader.failure;
        if (exif) file.exif = exif;
        file.exifRead = true;
      }
      if (body) file.crc32 = await body.finish();
      // Kept only once the next header was read: a part cut off inside this entry loses it.
      pending = file;
    }
    if (pending) part.files.push(pending);
  } catch (error) {
    problems.push(
      `${part.file}: ${errorText(error)}. ${part.files.length} files before the damage are used; download this part again from Google Takeout.`,
    );
  }
}

async function loadFolder(part: Part, warn: (message: string) => void): Promise<void> {
  const top = path.basename(path.resolve(part.file));
  const walk = async (directory: string, relative: string): Promise<void> => {
    const entries = await readdir(directory, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const fsPath = path.join(directory, entry.name);
      const inside = `${relative}/${entry.name}`;
      if (entry.isSymbolicLink()) {
        warn(`${fsPath}: symbolic link not followed.`);
      } else if (entry.isDirectory()) {
        await walk(fsPath, inside);
      } else if (entry.isFile() && !(relative === top && ARCHIVE_NAME.test(entry.name))) {
        part.files.push({ part, path: inside, size: 0, index: part.files.length, fsPath });
      }
    }
  };
  await walk(part.file, top);
  await mapLimit(part.files, READ_CONCURRENCY, async (file) => {
    const stats = await lstat(file.fsPath as string);
    file.size = stats.size;
  });
}

async function loadJsonFiles(
  part: Part,
  pool: HandlePool,
  problems: string[],
  warn: (message: string) => void,
): Promise<void> {
  const jsonFiles = part.files.filter((file) => /\.json$/i.test(file.path));
  for (const file of jsonFiles) if (file.size > MAX_JSON_BYTES) reportOversized(file, problems, warn);
  const unreadable: string[] = [];
  const load = async (file: PartFile) => {
    try {
      file.json = parseJson(await readHead(file, file.size, pool));
      // Read once: its facts stand for it from here on (tree.ts, differ), so its zip entry (100
      // bytes a sidecar) is not held through the rest of the scan. Assigned, not deleted: the
      // object keeps its shape.
      if (file.json !== undefined) file.zip = undefined;
    } catch (error) {
      unreadable.push(`"${file.path}" (${errorText(error)})`);
    }
  };
  // Small ones side by side; big ones one at a time, so parsing never holds many big ones at once.
  const big = (file: PartFile) => file.size > BIG_JSON_BYTES;
  await mapLimit(
    jsonFiles.filter((file) => !big(file)),
    READ_CONCURRENCY,
    load,
  );
  await mapLimit(
    jsonFiles.filter((file) => big(file) && file.size <= MAX_JSON_BYTES),
    1,
    load,
  );
  if (unreadable.length > 0) {
    problems.push(
      `${part.file}: ${unreadable.length} JSON file(s) could not be read, first ${unreadable[0]}; their photos may be undated. Download this part again from Google Takeout.`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// The merged tree and the plan

async function scanTakeout(
  options: TakeoutSourceOptions,
  problems: string[],
  warn: (message: string) => void,
  pool: HandlePool,
): Promise<Scan> {
  const parts = await expandInputs(options.inputs, problems);
  for (const part of parts) {
    try {
      if (part.kind === 'zip') await loadZip(part, problems, warn);
      else if (part.kind === 'tar') await loadTar(part, problems, warn);
      else await loadFolder(part, warn);
      if (part.kind !== 'tar') await loadJsonFiles(part, pool, problems, warn);
    } catch (error) {
      part.files = [];
      problems.push(
        `${part.file}: ${errorText(error)}. This part was skipped; download it again from Google Takeout.`,
      );
    }
  }

  // Photos roots, by content: where the photo sidecars are (spec §1.3).
  const sidecarCounts = new Map<string, number>();
  const rootsByPart = new Map<Part, Set<string>>();
  for (const part of parts) {
    const roots = new Set<string>();
    for (const file of part.files) {
      if (file.json?.kind !== 'photo' || isLeftover(file.path)) continue;
      const root = rootOfSidecar(file.path);
      if (root === undefined) continue;
      roots.add(root);
      sidecarCounts.set(root, (sidecarCounts.get(root) ?? 0) + 1);
    }
    rootsByPart.set(part, roots);
  }
  let rootNames = chooseRootNames(sidecarCounts);
  if (rootNames.size === 0) {
    // No photo sidecar anywhere (another tool removed them): the folders still tell the root.
    rootNames = rootNamesFromFolders(parts.flatMap((part) => part.files.map((file) => file.path)));
    if (rootNames.size > 0)
      warn(
        'No JSON sidecars in this Takeout: it was recognised by its folders, and its files are dated from their own metadata or names.',
      );
  }
  const fold = (text: string) => text.normalize('NFC').toLowerCase();
  for (const roots of rootsByPart.values()) {
    for (const root of roots) if (!rootNames.has(fold(baseName(root)))) roots.delete(root);
  }

  // One merged tree per export: the same path in several parts is one entry (immich-go#380),
  // unless its content says otherwise (groupExports).
  const exports = await groupExports(
    parts,
    (file) => pathInsideRoot(file.path, rootsByPart.get(file.part) ?? new Set(), rootNames),
    warn,
  );
  if (exports.every((tree) => tree.size === 0)) {
    const given = options.inputs.map((input) => `"${input}"`).join(', ');
    const detail = problems.length > 0 ? ` ${problems.join(' ')}` : '';
    throw usageError(
      `No Google Photos Takeout found in ${given}.${detail} Pass the takeout-*.zip or .tgz files from takeout.google.com (with Google Photos selected), or the folder you extracted them into.`,
    );
  }
  const plans: Plan[] = [];
  let failedVideos = 0;
  for (const tree of exports) failedVideos += planExport(tree, options, plans);
  if (failedVideos > 0) {
    warn(
      `${failedVideos} file(s) in "Failed Videos" skipped: Google could not process them (immich-go skips them too).`,
    );
  }
  // Album membership by (name, size), the key immich-go uses to link copies across folders.
  const albumsByFile = new Map<string, Set<string>>();
  const fileKey = (plan: Plan) => `${fold(baseName(plan.key))}\u0000${plan.copy.size}`;
  for (const plan of plans) {
    if (plan.folderKind !== 'album') continue;
    const albums = albumsByFile.get(fileKey(plan)) ?? new Set<string>();
    albums.add(plan.folder);
    albumsByFile.set(fileKey(plan), albums);
  }
  for (const plan of plans) {
    const albums = albumsByFile.get(fileKey(plan));
    plan.albums = albums ? [...albums].sort() : NO_ALBUMS;
  }

  // Year-folder copies first, so the saved file carries the year folder's name (spec §1.5).
  const order = (plan: Plan) => (plan.folderKind === 'album' ? 1 : 0);
  const randomAccess = plans
    .filter((plan) => plan.copy.part.kind !== 'tar')
    .sort((a, b) => order(a) - order(b) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const tarParts: Scan['tarParts'] = [];
  for (const part of parts) {
    if (part.kind !== 'tar') continue;
    const partPlans = new Map<number, Plan>();
    for (const plan of plans) if (plan.copy.part === part) partPlans.set(plan.copy.index, plan);
    if (partPlans.size > 0) tarParts.push({ part, plans: partPlans });
  }
  // The plans hold what is needed from here on; every other entry (sidecars, album JSON, files
  // outside the Photos folder) is let go instead of being kept through the run by its part.
  for (const part of parts) part.files = [];
  const originals = new Set<Plan>();
  for (const plan of plans) if (plan.original !== undefined) originals.add(plan.original);
  return { randomAccess, tarParts, originals };
}

/**
 * The parts as exports, each one merged tree keyed by the path inside the Photos folder. The parts
 * of one export (`takeout-…-001.zip`, `-002.zip`) share that tree: a photo in one, its sidecar in
 * another, and a path found in two of them is one file. Two exports given together (two accounts,
 * or an old and a new one) can each hold another photo at one path, because Google numbers
 * same-named files per export. So a part joins the first tree whose files at its paths have the
 * same content (size, CRC-32, the sidecar's JSON), preferring its own export's name; a part that
 * disagrees with every tree starts its own, and its photos stay separate items.
 */
async function groupExports(
  parts: readonly Part[],
  keyOf: (file: PartFile) => string | undefined,
  warn: (message: string) => void,
): Promise<Array<Map<string, TreeEntry>>> {
  const exports: Array<{ tree: Map<string, TreeEntry>; stems: Set<string> }> = [];
  const rank = (file: PartFile) => (file.part.kind === 'tar' ? 1 : 0);
  const leftovers: string[] = [];
  for (const part of parts) {
    const keyed: Array<{ key: string; file: PartFile }> = [];
    for (const file of part.files) {
      const key = keyOf(file);
      if (key === undefined) continue;
      if (isLeftover(key)) {
        leftovers.push(key);
        continue;
      }
      keyed.push({ key, file });
    }
    const stem = exportStem(part.file);
    const candidates = [
      ...exports.filter((group) => group.stems.has(stem)),
      ...exports.filter((group) => !group.stems.has(stem)),
    ];
    let chosen: (typeof exports)[number] | undefined;
    for (const group of candidates) {
      let agrees = true;
      for (const { key, file } of keyed) {
        const known = group.tree.get(key);
        if (known && known.copy.part !== part && (await differ(known.copy, file, key))) {
          agrees = false;
          break;
        }
      }
      if (agrees) {
        chosen = group;
        break;
      }
    }
    if (!chosen) {
      chosen = { tree: new Map(), stems: new Set() };
      exports.push(chosen);
    }
    chosen.stems.add(stem);
    const tree = chosen.tree;
    for (const { key, file } of keyed) {
      const known = tree.get(key);
      if (!known) {
        tree.set(key, { key, copy: file });
        continue;
      }
      if (known.copy.part === part) {
        // Two entries of one part are two files, even when their names differ only in Unicode
        // normalization (café.jpg in NFC and in NFD): each keeps its own name as written.
        const own = (copy: PartFile) => {
          const folder = parentOf(key);
          return `${folder === '' ? '' : `${folder}/`}${baseName(copy.path)}`;
        };
        if (own(file) !== key && !tree.has(own(file))) {
          tree.set(own(file), { key: own(file), copy: file });
        } else if (own(known.copy) !== key && !tree.has(own(known.copy))) {
          tree.set(own(known.copy), { key: own(known.copy), copy: known.copy });
          tree.set(key, { key, copy: file });
        } else {
          warn(`"${key}" is in ${part.file} twice; the first is used.`);
        }
        continue;
      }
      // The same file in two parts: prefer a copy that can be read out of order; keep a JSON that parsed.
      if (rank(file) < rank(known.copy) || (known.copy.json === undefined && file.json !== undefined)) {
        tree.set(key, { key, copy: file });
      }
    }
  }
  if (leftovers.length > 0) {
    warn(
      `${leftovers.length} NAS or desktop leftover file${leftovers.length === 1 ? '' : 's'} ignored, not photos (Synology @eaDir, QNAP .@__thumb, Thumbs.db, .DS_Store, desktop.ini, AppleDouble ._ files; first: "${leftovers[0]}").`,
    );
  }

  return exports.map((group) => group.tree);
}

/** `takeout-20250101T000000Z-001.zip` → `takeout-20250101T000000Z`: the name the parts of one export share. */
function exportStem(file: string): string {
  const name = path.basename(file);
  const numbered = /^(.*)-\d{1,4}\.(?:zip|tgz|tar\.gz|tar)$/i.exec(name);
  return numbered ? (numbered[1] as string) : file;
}

/** Whether two parts' files at one path are different files: another size, CRC-32 or sidecar. */
async function differ(a: PartFile, b: PartFile, key: string): Promise<boolean> {
  if (a.size !== b.size) return true;
  if (a.json !== undefined && b.json !== undefined) return JSON.stringify(a.json) !== JSON.stringify(b.json);
  if (!isMediaName(baseName(key))) return false;
  const [crcA, crcB] = await Promise.all([crcOf(a), crcOf(b)]);
  return crcA !== undefined && crcB !== undefined && crcA !== crcB;
}

/**
 * A file's CRC-32: the zip directory's, the one tgz pass 1 computed, or (a folder's file, only
 * when another part holds the same path with the same size) read once and kept as evidence.
 */
async function crcOf(file: PartFile): Promise<number | undefined> {
  const known = file.zip?.crc32 ?? file.crc32;
  if (known !== undefined || file.fsPath === undefined) return known;
  countMediaRead();
  let crc = 0;
  try {
    for await (const chunk of createReadStream(file.fsPath)) crc = crc32(chunk as Buffer, crc);
  } catch {
    return undefined;
  }
  file.crc32 = crc;
  return crc;
}

/**
 * The plans of one export's merged tree, added to `plans`: sidecars matched per folder, originals
 * found in the same export. Returns how many Failed Videos were left out.
 */
function planExport(
  tree: ReadonlyMap<string, TreeEntry>,
  options: TakeoutSourceOptions,
  plans: Plan[],
): number {
  // Group by folder; album JSON decides what a top folder is.
  const folders = new Map<string, { media: TreeEntry[]; sidecars: TreeEntry[] }>();
  const albumFolders = new Set<string>();
  for (const entry of tree.values()) {
    const folder = parentOf(entry.key);
    let group = folders.get(folder);
    if (!group) {
      group = { media: [], sidecars: [] };
      folders.set(folder, group);
    }
    const name = baseName(entry.key);
    if (isMediaName(name)) {
      group.media.push(entry);
    } else if (entry.copy.json !== undefined) {
      const kind = entry.copy.json.kind;
      if (kind === 'photo') group.sidecars.push(entry);
      if (kind === 'album' && folder !== '') albumFolders.add(folder.split('/')[0] as string);
    }
  }

  const byKey = new Map<string, Plan>();
  const originals = new Map<Plan, string>();
  let failedVideos = 0;
  for (const [folder, group] of folders) {
    const top = folder === '' ? '' : (folder.split('/')[0] as string);
    const folderKind: FolderKind = top === '' ? 'root' : classifyFolder(top, albumFolders.has(top));
    const sidecarInfos: SidecarInfo[] = group.sidecars.map((entry) => {
      const title = entry.copy.json?.title;
      return title === undefined ? { name: baseName(entry.key) } : { name: baseName(entry.key), title };
    });
    const sidecarByName = new Map(group.sidecars.map((entry) => [baseName(entry.key), entry]));
    const mediaNames = group.media.map((entry) => baseName(entry.key));
    const matches = matchSidecarsInFolder(mediaNames, sidecarInfos);
    const mediaIndex = indexMediaNames(mediaNames);
    for (const entry of group.media) {
      const name = baseName(entry.key);
      const match = matches.get(name);
      const sidecarEntry = match ? sidecarByName.get(match.sidecar) : undefined;
      const plan: Plan = { key: entry.key, copy: entry.copy, folder: top, folderKind, albums: NO_ALBUMS };
      if (match && sidecarEntry) {
        plan.sidecar = {
          key: sidecarEntry.key,
          json: sidecarEntry.copy.json as JsonFacts,
          method: match.method,
          borrowed: match.borrowed,
        };
      }
      if (!match || match.borrowed) {
        const original = findOriginalMedia(name, mediaIndex);
        if (original !== undefined) originals.set(plan, folder === '' ? original : `${folder}/${original}`);
      }
      if (folderKind === 'failed-videos') {
        failedVideos += 1;
        continue;
      }
      if (isTrashed(plan) && !options.includeTrash) continue;
      byKey.set(plan.key, plan);
    }
  }
  for (const plan of byKey.values()) {
    const original = originals.get(plan);
    const found = original === undefined ? undefined : byKey.get(original);
    if (found) plan.original = found;
    plans.push(plan);
  }
  return failedVideos;
}
