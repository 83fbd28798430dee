/**
 * The Takeout source: Google Takeout parts (.zip, .tgz/.tar.gz, extracted folders, in any mix)
 * become one list of SourceItems with dates and bytes. Archives are read in place and streamed:
 * zip entries by offset, tgz entries in archive order (two passes), nothing extracted to disk.
 *
 * Flow: open parts → merge into one tree keyed by the path inside the Photos folder → match
 * sidecars per folder → decide dates → yield (year-folder copies before album copies, then each
 * tgz part in archive order).
 */

import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { type FileHandle, lstat, open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { usageError } from '../../errors.ts';
import type { DateSource, ItemEvidence, OpenedMedia, Source, SourceItem } from '../source.ts';
import {
  type ExifCapture,
  exifCapture,
  guessDateFromPath,
  isValidTimeZone,
  parseSidecarTimestamp,
  resolveCaptureDate,
} from './dates.ts';
import { EXIF_HEAD_BYTES, readExifDates } from './exif.ts';
import {
  bufferReader,
  handleReader,
  MEDIA_STREAM_BUDGET,
  mayHaveMediaDate,
  readMediaDate,
  streamReader,
} from './media-dates.ts';
import { countMediaRead, writeMediaReadCount } from './read-count.ts';
import {
  findOriginalMedia,
  indexMediaNames,
  type MatchMethod,
  matchSidecarsInFolder,
  type SidecarInfo,
} from './sidecar-match.ts';
import { openTarStream, readTarEntries } from './tar-reader.ts';
import {
  baseName,
  checkEntryPath,
  chooseRootNames,
  classifyFolder,
  type FolderKind,
  isMediaName,
  type JsonFacts,
  jsonFactsOf,
  mayHaveExif,
  mediaType,
  parentOf,
  pathInsideRoot,
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
  /** Zone for wall-clock dates with no offset (EXIF without OffsetTimeOriginal, file names): IANA, 'UTC' or 'local'. */
  timezone: string;
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

/** Sidecars and album JSON are a few KB; anything larger is not one. */
const MAX_JSON_BYTES = 8 * 1024 * 1024;
const READ_CONCURRENCY = 16;

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
  /** The still or unedited file this one belongs to, when it has no sidecar of its own. */
  original?: string;
  albums: readonly string[];
}

/** Shared by the plans of photos in no album (most of them), instead of an empty array each. */
const NO_ALBUMS: readonly string[] = Object.freeze([]);

interface Scan {
  randomAccess: Plan[];
  tarParts: Array<{ part: Part; plans: Map<number, Plan> }>;
  plans: Map<string, Plan>;
  /** Keys some other plan names as its `original`. */
  originals: Set<string>;
}

export function createTakeoutSource(options: TakeoutSourceOptions): TakeoutSource {
  if (options.inputs.length === 0) {
    throw usageError(
      'No Takeout given. Pass the takeout-*.zip or .tgz files, or the folder you extracted them into.',
    );
  }
  if (!isValidTimeZone(options.timezone)) {
    throw usageError(
      `Unknown time zone "${options.timezone}". Use an IANA name such as Europe/Berlin, or UTC or local.`,
    );
  }
  const problems: string[] = [];
  const warn = (message: string) => options.onWarning?.(message);
  let sequential = options.inputs.some((input) => sniffInputHasTar(input));
  const exifCache = new Map<string, Promise<ExifCapture | undefined>>();
  const pool = new HandlePool();

  async function exifOf(plan: Plan, scan: Scan): Promise<ExifCapture | undefined> {
    const copy = plan.copy;
    const isoBmff = mayHaveMediaDate(copy.path);
    if (!mayHaveExif(copy.path) && !isoBmff) return undefined;
    if (copy.part.kind === 'tar') return copy.exif;
    let cached = exifCache.get(plan.key);
    if (!cached) {
      const needsDate = !(plan.sidecar && takenAtOf(plan.sidecar.json));
      countMediaRead();
      cached = isoBmff
        ? readMediaDateOf(copy, pool, needsDate)
        : readHead(copy, EXIF_HEAD_BYTES, pool).then(
            (head) => exifCapture(readExifDates(head) ?? {}),
            () => undefined,
          );
      // Kept only for the originals of other items (edited copies, Live/Motion parts read it
      // again); every other item's date is read once, and a cache of all of them grew with the run.
      if (scan.originals.has(plan.key)) exifCache.set(plan.key, cached);
    }
    return cached;
  }

  async function describe(plan: Plan, scan: Scan): Promise<Omit<SourceItem, 'open'>> {
    const original = plan.original === undefined ? undefined : scan.plans.get(plan.original);
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
      timeZone: options.timezone,
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
      for (const plan of scan.randomAccess) {
        signal.throwIfAborted();
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
 * A HEIF or QuickTime date read in place. Folder files and stored zip entries are read with small
 * positional reads, so a `moov` at the end of a big video costs a few header reads. A deflated zip
 * entry cannot be read out of order: it is inflated forward, up to MEDIA_STREAM_BUDGET (boxes past
 * it stay unread), and only for items with no sidecar date; otherwise its first bytes are enough.
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
    if (copy.zip && !needsDate) {
      return await readMediaDate(bufferReader(await readHead(copy, EXIF_HEAD_BYTES, pool), copy.size));
    }
    if (copy.zip) {
      const reader = streamReader(readZipEntry(copy.part.file, copy.zip), copy.size, MEDIA_STREAM_BUDGET);
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
      } else if (mayHaveExif(name)) {
        const head = await collect(body, EXIF_HEAD_BYTES);
        const exif = exifCapture(readExifDates(head) ?? {});
        if (exif) file.exif = exif;
        file.exifRead = true;
      } else if (mayHaveMediaDate(name)) {
        // The gunzip stream passes every byte of the entry anyway, so a `moov` after `mdat` is
        // reached for free: the reader skips the chunks before it and keeps only small boxes.
        const reader = streamReader(body, entry.size);
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

async function loadJsonFiles(part: Part, pool: HandlePool, problems: string[]): Promise<void> {
  const jsonFiles = part.files.filter((file) => /\.json$/i.test(file.path) && file.size <= MAX_JSON_BYTES);
  const unreadable: string[] = [];
  await mapLimit(jsonFiles, READ_CONCURRENCY, async (file) => {
    try {
      file.json = parseJson(await readHead(file, file.size, pool));
    } catch (error) {
      unreadable.push(`"${file.path}" (${errorText(error)})`);
    }
  });
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
      if (part.kind !== 'tar') await loadJsonFiles(part, pool, problems);
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
      if (file.json?.kind !== 'photo') continue;
      const root = rootOfSidecar(file.path);
      if (root === undefined) continue;
      roots.add(root);
      sidecarCounts.set(root, (sidecarCounts.get(root) ?? 0) + 1);
    }
    rootsByPart.set(part, roots);
  }
  const rootNames = chooseRootNames(sidecarCounts);
  const fold = (text: string) => text.normalize('NFC').toLowerCase();
  for (const roots of rootsByPart.values()) {
    for (const root of roots) if (!rootNames.has(fold(baseName(root)))) roots.delete(root);
  }

  // One merged tree: the same path in several parts is one entry (immich-go#380).
  const tree = new Map<string, TreeEntry>();
  const rank = (file: PartFile) => (file.part.kind === 'tar' ? 1 : 0);
  for (const part of parts) {
    const roots = rootsByPart.get(part) ?? new Set<string>();
    for (const file of part.files) {
      const key = pathInsideRoot(file.path, roots, rootNames);
      if (key === undefined) continue;
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
      if (known.copy.size !== file.size) {
        warn(
          `"${key}" is in ${known.copy.part.file} (${known.copy.size} bytes) and ${file.part.file} (${file.size} bytes); the first is used.`,
        );
      }
      // Prefer a copy that can be read out of order; keep a JSON that parsed.
      if (rank(file) < rank(known.copy) || (known.copy.json === undefined && file.json !== undefined)) {
        tree.set(key, { key, copy: file });
      }
    }
  }

  if (tree.size === 0) {
    const given = options.inputs.map((input) => `"${input}"`).join(', ');
    const detail = problems.length > 0 ? ` ${problems.join(' ')}` : '';
    throw usageError(
      `No Google Photos Takeout found in ${given}.${detail} Pass the takeout-*.zip or .tgz files from takeout.google.com (with Google Photos selected), or the folder you extracted them into.`,
    );
  }

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

  const plans = new Map<string, Plan>();
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
        if (original !== undefined) plan.original = folder === '' ? original : `${folder}/${original}`;
      }
      if (folderKind === 'failed-videos') {
        failedVideos += 1;
        continue;
      }
      if (isTrashed(plan) && !options.includeTrash) continue;
      plans.set(plan.key, plan);
    }
  }
  if (failedVideos > 0) {
    warn(
      `${failedVideos} file(s) in "Failed Videos" skipped: Google could not process them (immich-go skips them too).`,
    );
  }

  // Album membership by (name, size), the key immich-go uses to link copies across folders.
  const albumsByFile = new Map<string, Set<string>>();
  const fileKey = (plan: Plan) => `${fold(baseName(plan.key))}\u0000${plan.copy.size}`;
  for (const plan of plans.values()) {
    if (plan.folderKind !== 'album') continue;
    const albums = albumsByFile.get(fileKey(plan)) ?? new Set<string>();
    albums.add(plan.folder);
    albumsByFile.set(fileKey(plan), albums);
  }
  for (const plan of plans.values()) {
    const albums = albumsByFile.get(fileKey(plan));
    plan.albums = albums ? [...albums].sort() : NO_ALBUMS;
  }

  // Year-folder copies first, so the saved file carries the year folder's name (spec §1.5).
  const order = (plan: Plan) => (plan.folderKind === 'album' ? 1 : 0);
  const randomAccess = [...plans.values()]
    .filter((plan) => plan.copy.part.kind !== 'tar')
    .sort((a, b) => order(a) - order(b) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const tarParts: Scan['tarParts'] = [];
  for (const part of parts) {
    if (part.kind !== 'tar') continue;
    const partPlans = new Map<number, Plan>();
    for (const plan of plans.values()) if (plan.copy.part === part) partPlans.set(plan.copy.index, plan);
    if (partPlans.size > 0) tarParts.push({ part, plans: partPlans });
  }
  // The plans hold what is needed from here on; every other entry (sidecars, album JSON, files
  // outside the Photos folder) is let go instead of being kept through the run by its part.
  for (const part of parts) part.files = [];
  const originals = new Set<string>();
  for (const plan of plans.values()) if (plan.original !== undefined) originals.add(plan.original);
  return { randomAccess, tarParts, plans, originals };
}
