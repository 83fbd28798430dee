/**
 * backupYear(options, deps) → summary. The one-way flow: the source lists, plan.ts decides,
 * transfer.ts writes, manifest.ts records, and every step is reported as an event.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, readdir, readlink, realpath, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import pLimit from 'p-limit';
import { crashPoint } from './crash-hook.ts';
import { BackupError, ExitCode, InterruptedError, quotaError } from './errors.ts';
import {
  classifyError,
  defaultRetryPolicy,
  HttpError,
  isBareMediaRateLimit,
  type RetryPolicy,
  withRetry,
} from './http.ts';
import { nameKey } from './layout.ts';
import { acquireLock, type Lock } from './lock.ts';
import { Manifest, type SavedRecord, STATE_FOLDER, walkKey } from './manifest.ts';
import {
  type ContentFacts,
  claimKey,
  compareContent,
  decideItem,
  itemFacts,
  listingKey,
  matchRecord,
  nextSkipState,
  type PlanContext,
  placeItem,
  recordFacts,
  type SkipState,
  yearOfDay,
} from './plan.ts';
import type { BackupSummary, Report, StopReason } from './report/events.ts';
import type { Source, SourceItem } from './sources/source.ts';
import { commitTemp, discardTemp, diskError, sweepTemps, TempSpace, writeTemp } from './transfer.ts';

export interface BackupOptions {
  year: number;
  /** The backup folder (absolute or relative to the working directory). */
  folder: string;
  /** IANA zone for day folders. */
  zone: string;
  concurrency: number;
  maxSkipped: number;
  /** Never stop on skips: walk the whole year and fill gaps. */
  all: boolean;
  dryRun: boolean;
  includeUndated: boolean;
  /** How often a failing download is tried again (network faults). */
  retryPolicy?: RetryPolicy;
}

export interface BackupDeps {
  source: Source;
  report: Report;
  signal: AbortSignal;
}

export interface BackupResult {
  summary: BackupSummary;
  exitCode: number;
}

const QUOTA_MESSAGE =
  "Google's daily request quota for this project is used up. It resets every day (around midnight Pacific time): " +
  'run the same command tomorrow and it continues where this run stopped.';

/** Media 429s without a JSON body, in a row over the whole run, that end it as a quota stop. */
export const MEDIA_QUOTA_STOP = 5;

/**
 * The Library API's media bytes are limited per day, the Picker API's per minute
 * (https://developers.google.com/photos/overview/api-limits-quotas): when to come back differs.
 */
function mediaQuotaMessage(source: Source['name']): string {
  const refused = `Google's media host refused ${MEDIA_QUOTA_STOP} downloads in a row with 429 Too Many Requests: `;
  if (source === 'picker') {
    return (
      refused +
      "the project's per-minute limit of photo and video downloads is used up. Wait a few minutes, then run the " +
      'same command again (what was saved is skipped).'
    );
  }
  return (
    refused +
    "the project's daily quota of photo and video downloads (75,000 a day for the Library API) is most likely used " +
    'up. It resets every day (around midnight Pacific time): run the same command tomorrow and it continues where ' +
    'this run stopped.'
  );
}

async function sizeOnDisk(file: string): Promise<number | undefined> {
  try {
    const info = await stat(file);
    return info.isFile() ? info.size : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The size of the file at a relative path, for the plan: one `readdir` per day folder for the run
 * instead of a `stat` per item (a stat that fails costs as much as one that finds a file). A name
 * the folder does not hold, compared as `nameKey` (case and normalization folded), is not there;
 * a name it holds is stat'ed as before, for its size and for whether this file system takes the
 * name for it. A folder is listed when the run plans its first item, before the run writes into it;
 * a file the run writes later has its name claimed, so no later item of the run looks it up.
 * The backup folder itself is listed once: a day folder it does not hold is not read at all.
 */
function createDiskLookup(folder: string): (relative: string) => Promise<number | undefined> {
  const listings = new Map<string, Promise<Set<string> | undefined>>();
  let top: Promise<Set<string> | undefined> | undefined;
  const list = async (dir: string): Promise<Set<string> | undefined> => {
    const first = dir.split('/')[0] as string;
    if (dir !== '') {
      top ??= readdir(folder).then(
        (names) => new Set(names.map(nameKey)),
        () => undefined,
      );
      const held = await top;
      if (held && !held.has(nameKey(first))) return new Set();
    }
    try {
      return new Set((await readdir(path.join(folder, dir))).map(nameKey));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Any other failure: no listing, and each item is stat'ed as before.
      return code === 'ENOENT' || code === 'ENOTDIR' ? new Set() : undefined;
    }
  };
  return async (relative) => {
    const slash = relative.lastIndexOf('/');
    const dir = relative.slice(0, Math.max(0, slash));
    let listing = listings.get(dir);
    if (!listing) {
      listing = list(dir);
      listings.set(dir, listing);
    }
    const names = await listing;
    if (names && !names.has(nameKey(relative.slice(slash + 1)))) return undefined;
    return sizeOnDisk(path.join(folder, relative));
  };
}

/**
 * sha256, CRC-32 and size of a file on disk, in one read: to adopt a file of a source whose
 * copies are told apart by content, or to check a saved file against an archive entry's CRC-32.
 */
async function fileDigests(file: string): Promise<ContentFacts & { size: number; sha256: string }> {
  const hash = createHash('sha256');
  let crc = 0;
  let size = 0;
  await pipeline(createReadStream(file), async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) {
      hash.update(chunk);
      crc = crc32(chunk, crc);
      size += chunk.length;
    }
  });
  return { size, crc32: crc, sha256: hash.digest('hex') };
}

async function ensureFolder(folder: string, dryRun: boolean): Promise<void> {
  try {
    const info = await stat(folder);
    if (!info.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw diskError(error, folder);
    const link = await readlink(folder).catch(() => undefined);
    if (link !== undefined)
      throw new BackupError(
        `${folder} is a link to ${link}, which does not exist (a disk not mounted?). Connect or mount it, or give another folder.`,
        ExitCode.usage,
        { cause: error },
      );
    if (dryRun) return;
    await mkdir(folder, { recursive: true }).catch((cause) => {
      throw diskError(cause, folder);
    });
  }
}

/**
 * Why `relative` (a day folder, or the state folder) must not be written into: it is a link that
 * leads outside the backup folder, or into its state folder. The backup folder itself may be a
 * link (a mounted disk); what is inside it is not written through. Undefined when it is fine or
 * not there yet.
 */
async function linkProblem(folder: string, relative: string): Promise<string | undefined> {
  const full = path.join(folder, relative);
  const info = await lstat(full).catch(() => undefined);
  if (!info?.isSymbolicLink()) return undefined;
  const target = await readlink(full).catch(() => '?');
  const [real, root] = await Promise.all([realpath(full).catch(() => undefined), realpath(folder)]);
  const state = path.join(root, STATE_FOLDER) + path.sep;
  if (relative !== STATE_FOLDER && real?.startsWith(root + path.sep) && !real.startsWith(state))
    return undefined;
  return `${relative} in the backup folder is a link to ${target}, outside the backup folder, and nothing is written through it: replace the link with a folder, then run again`;
}

/** Turns an error that ends the whole run into the BackupError the user sees. */
function fatalError(error: unknown): BackupError | undefined {
  if (error instanceof BackupError) return error;
  if (classifyError(error) === 'daily-quota') return quotaError(QUOTA_MESSAGE, { cause: error });
  return undefined;
}

/** A listing call that failed for good (retries spent, or an answer retrying cannot fix): ends the run, exit 1. */
function listingError(error: unknown, year: number): BackupError | undefined {
  if (!(error instanceof HttpError)) return undefined;
  return new BackupError(
    `Listing the photos of ${year} failed: ${error.message}. What was saved is kept; run the same command again (later, if Google is having trouble).`,
    ExitCode.itemsFailed,
    { cause: error },
  );
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

export async function backupYear(options: BackupOptions, deps: BackupDeps): Promise<BackupResult> {
  const { source, report, signal } = deps;
  const folder = path.resolve(options.folder);
  const policy = options.retryPolicy ?? defaultRetryPolicy;
  const summary: BackupSummary = {
    source: source.name,
    year: options.year,
    folder,
    dryRun: options.dryRun,
    found: 0,
    saved: 0,
    copies: 0,
    skipped: 0,
    bytes: 0,
    failed: [],
    unavailable: [],
    otherYears: {},
    undated: [],
    stopped: { reason: 'end', message: 'Listed the whole year.' },
    complete: false,
  };
  report({ type: 'start', source: source.name, year: options.year, folder, dryRun: options.dryRun });

  await ensureFolder(folder, options.dryRun);
  let lock: Lock | undefined;
  const temps = new TempSpace(path.join(folder, STATE_FOLDER, 'tmp'));
  if (!options.dryRun) {
    // The lock, the record and the temporary files live in the state folder: never through a link.
    const stateLink = await linkProblem(folder, STATE_FOLDER).catch(() => undefined);
    if (stateLink) throw new BackupError(`${stateLink}.`, ExitCode.usage);
    lock = await acquireLock(folder).catch((error) => {
      throw diskError(error, folder);
    });
    // Holding the lock, whatever is in the temporary folders was left by a stopped run.
    const left = await temps.clear().catch((error) => {
      throw diskError(error, folder);
    });
    if (lock.recoveredStale) {
      const removed = left + (await sweepTemps(folder));
      report({
        type: 'notice',
        level: 'info',
        message: `An earlier run was stopped before it finished${removed ? `; removed ${removed} unfinished download(s)` : ''}. Continuing.`,
      });
    }
  }

  let manifest: Manifest;
  try {
    manifest = await Manifest.load(folder, { readOnly: options.dryRun });
  } catch (error) {
    await lock?.release();
    throw error;
  }
  if (manifest.ignoredLines > 0)
    report({
      type: 'notice',
      level: 'warn',
      message: `Ignored ${manifest.ignoredLines} damaged line(s) of ${path.join(folder, STATE_FOLDER, 'saved.jsonl')} (cut short, not a record, or naming a place outside the day folders); the items they named are checked again.`,
    });
  const walk = walkKey(source.name, options.year);
  const armed = source.stopsOnSkips && !options.all && manifest.isWalkComplete(walk);
  if (source.stopsOnSkips && !options.dryRun) await manifest.markWalk(walk, false);
  // Items an earlier run could not save yet: asked for by id first, so they need no walk of the year.
  const pending = source.getByIds ? manifest.pendingOf(walk) : [];

  const sizeAt = createDiskLookup(folder);
  const claims = new Map<string, string>();
  /** Items whose id is a place (Takeout), and the record their evidence says they are. */
  const matched = new WeakMap<SourceItem, SavedRecord>();
  const contentClaims = new Map<string, string>();
  const context: PlanContext = {
    year: options.year,
    zone: options.zone,
    enforceYear: source.name !== 'library',
    includeUndated: options.includeUndated,
    ownerOf: (relative) => claims.get(claimKey(relative)) ?? manifest.ownerOf(relative),
    recordOf: (item) => (item.evidence ? matched.get(item) : manifest.get(item.id)),
  };

  const stop = new AbortController();
  const onAbort = () => stop.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  let fatal: BackupError | undefined;
  let stopReason: StopReason | undefined;
  let reachedEnd = false;
  /** Media 429s without JSON in a row (any item); a download that works resets it. */
  let bareMediaLimits = 0;
  /** Items left for later that no pending line remembers: they keep the walk unfinished. */
  let unremembered = 0;

  /** The record line for an item at `relative`; the date and metadata travel with it for a later metadata step. */
  /**
   * Built by assignment, not spreads: V8 gave every record made as `{ ...record, ...(hash ? { sha256 }
   * : {}) }` a hidden class of its own, about 330 bytes more per record the manifest keeps (a
   * 100,000-photo Takeout: 33 MB). The keys keep their order in the journal line.
   */
  const savedRecord = (
    item: SourceItem,
    relative: string,
    size: number,
    content: { sha256?: string | undefined; copyOf?: string } = {},
  ): SavedRecord => {
    const record: SavedRecord = {
      id: item.id,
      path: relative,
      size,
      source: source.name,
      savedAt: new Date().toISOString(),
      dateSource: item.dateSource,
    };
    if (item.takenAt) record.takenAt = item.takenAt.toISOString();
    if (item.metadata) record.metadata = item.metadata;
    if (item.evidence) record.evidence = item.evidence;
    if (content.sha256) record.sha256 = content.sha256;
    if (content.copyOf !== undefined) record.copyOf = content.copyOf;
    return record;
  };

  /**
   * The record this item is, among those of its id. A record that cannot tell (written before
   * evidence was kept) is checked by content, once: the saved file against the entry's CRC-32, or
   * the item's hash against the recorded one; then it is recorded again with its evidence. Taking
   * path and size on trust instead would skip a new photo of the same size at an old path.
   */
  const recordedAs = async (item: SourceItem): Promise<SavedRecord | undefined> => {
    const facts = itemFacts(item);
    const match = matchRecord(manifest.recordsOf(item.id), facts);
    if (match.kind === 'same') return match.record;
    if (match.kind === 'new') return undefined;
    for (const record of match.records) {
      if (!(await sameContent(item, facts, record.path, recordFacts(record).sha256))) continue;
      const upgraded: SavedRecord = { ...record, ...(item.evidence ? { evidence: item.evidence } : {}) };
      if (!options.dryRun) await manifest.record(upgraded);
      return upgraded;
    }
    return undefined;
  };

  /**
   * Whether the file at `relative` holds this item's bytes (`sha256`: what the record says it
   * holds, when the file need not be read). The file's facts when it does; undefined when it does
   * not or nothing can tell.
   */
  const sameContent = async (
    item: SourceItem,
    facts: ContentFacts,
    relative: string,
    sha256?: string,
  ): Promise<ContentFacts | undefined> => {
    let disk: ContentFacts | undefined = sha256 === undefined ? undefined : { sha256 };
    if (facts.crc32 !== undefined || disk === undefined)
      disk = await fileDigests(path.join(folder, relative)).catch(() => disk);
    if (disk === undefined) return undefined;
    let verdict = compareContent(disk, facts);
    if (verdict === 'unknown' && item.contentHash && disk.sha256 !== undefined) {
      const hashed = await item.contentHash(stop.signal).catch(() => undefined);
      if (hashed !== undefined) verdict = compareContent(disk, { ...facts, sha256: hashed });
    }
    return verdict === 'same' ? disk : undefined;
  };

  /**
   * Day folders made (or found) this run: made while the first file of the day downloads, not
   * after it. Resolves to the folder when this run made it (mkdir's answer), else undefined.
   */
  const dayFolders = new Map<string, Promise<string | undefined>>();
  const dayFolder = (dir: string): Promise<string | undefined> => {
    let ready = dayFolders.get(dir);
    if (!ready) {
      ready = mkdir(dir, { recursive: true });
      ready.catch(() => undefined);
      dayFolders.set(dir, ready);
    }
    return ready;
  };

  const saveOne = async (item: SourceItem, relative: string): Promise<void> => {
    const finalPath = path.join(folder, relative);
    const tempDir = temps.take();
    const dayReady = dayFolder(path.dirname(finalPath));
    let placed = false;
    try {
      const temp = await withRetry(
        () =>
          writeTemp(() => item.open(stop.signal), tempDir, path.basename(finalPath), {
            hash: item.dedupeByContent === true,
            signal: stop.signal,
            onBytes: (count) => report({ type: 'bytes', count }),
            modified: item.takenAt,
          }),
        {
          policy,
          signal: stop.signal,
          shouldRetry: (error) => {
            if (isBareMediaRateLimit(error) && ++bareMediaLimits >= MEDIA_QUOTA_STOP) {
              throw quotaError(mediaQuotaMessage(source.name), { cause: error });
            }
            return classifyError(error) === 'retry';
          },
          onRetry: (error, attempt, delayMs) =>
            report({
              type: 'retry',
              what: item.filename,
              attempt: attempt + 1,
              delayMs,
              reason: describe(error),
            }),
        },
      );
      bareMediaLimits = 0;
      if (temp.sha256) {
        const contentKey = `${temp.bytes}:${temp.sha256}`;
        const existing = contentClaims.get(contentKey) ?? manifest.pathWithContent(temp.bytes, temp.sha256);
        if (existing !== undefined && existing !== relative) {
          await discardTemp(temp);
          await manifest.record(
            savedRecord(item, existing, temp.bytes, { sha256: temp.sha256, copyOf: existing }),
          );
          summary.copies++;
          report({ type: 'saved', id: item.id, path: existing, bytes: 0, copyOf: existing });
          return;
        }
        contentClaims.set(contentKey, relative);
      }
      try {
        await dayReady.catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'EEXIST' && error.code !== 'ENOTDIR') throw error;
          // Only this day's items fail; the rest of the year is saved.
          throw new Error(
            `${path.dirname(relative)} in the backup folder is a file, not a folder: move or rename it, then run again to save this day`,
          );
        });
        await commitTemp(temp, finalPath);
      } catch (error) {
        await discardTemp(temp);
        throw error;
      }
      placed = true;
      await crashPoint('after-rename-before-record');
      await manifest.record(savedRecord(item, relative, temp.bytes, { sha256: temp.sha256 }));
      await crashPoint('after-record');
      summary.saved++;
      summary.bytes += temp.bytes;
      report({ type: 'saved', id: item.id, path: relative, bytes: temp.bytes });
    } catch (error) {
      if (stop.signal.aborted && (signal.aborted || fatal)) return;
      const disk = diskError(error, folder);
      const ends = fatalError(disk);
      if (ends) {
        if (!fatal) {
          fatal = ends;
          stopReason = ends.exitCode === ExitCode.quota ? 'quota' : 'error';
        }
        stop.abort(ends);
        return;
      }
      const failure = { id: item.id, filename: item.filename, reason: describe(error) };
      summary.failed.push(failure);
      report({ type: 'failed', ...failure });
    } finally {
      temps.give(tempDir);
      // Only days that have media get a folder: one this run made for nothing (the item failed,
      // or was a copy) goes again, unless another file is in it by now.
      if (!placed && (await dayReady.catch(() => undefined)) !== undefined) {
        await rmdir(path.dirname(finalPath)).catch(() => undefined);
      }
    }
  };

  const limit = pLimit(Math.max(1, options.concurrency));
  const inFlight = new Set<Promise<void>>();
  const sequential = source.sequential === true;
  let skipState: SkipState = { consecutive: 0, stopped: false };
  const listed = new Set<string>();
  /** Each day folder is checked once a run for a link that leads outside. */
  const dayLinks = new Map<string, Promise<string | undefined>>();

  /** The pending items Google gives again, then the listing. `retried` items stand outside the skip rule. */
  async function* items(): AsyncGenerator<{ item: SourceItem; retried: boolean }> {
    if (pending.length > 0 && source.getByIds) {
      report({
        type: 'notice',
        level: 'info',
        message: `Asking Google again for ${pending.length} item(s) an earlier run could not save yet.`,
      });
      const answer = await source.getByIds(
        pending.map((entry) => entry.id),
        stop.signal,
      );
      const returned = new Set(answer.items.map((item) => item.id));
      for (const id of answer.gone) await manifest.clearPending(walk, id);
      for (const entry of pending) {
        if (answer.gone.includes(entry.id)) {
          report({
            type: 'notice',
            level: 'warn',
            message: `${entry.filename} is no longer in Google Photos (deleted?); it is no longer waited for.`,
          });
        } else if (!returned.has(entry.id)) {
          listed.add(entry.id);
          const later = {
            id: entry.id,
            filename: entry.filename,
            reason: 'Google did not return it this time; a later run asks again.',
          };
          summary.unavailable.push(later);
          report({ type: 'failed', ...later, unavailable: true });
        }
      }
      for (const item of answer.items) yield { item, retried: true };
    }
    for await (const item of source.list(stop.signal)) yield { item, retried: false };
  }

  try {
    for await (const { item: listedItem, retried } of items()) {
      if (stop.signal.aborted) break;
      // An item Google lists twice (on two pages) is saved once.
      const key = listingKey(listedItem);
      if (listed.has(key)) continue;
      listed.add(key);
      summary.found++;
      report({ type: 'found', count: summary.found });
      let item = listedItem;
      if (item.evidence) {
        const record = await recordedAs(item);
        if (record) matched.set(item, record);
      }
      // What costs reads (an EXIF date) is learnt only for items the record does not settle.
      if (item.resolve && !context.recordOf(item)) item = await item.resolve(stop.signal);
      const placement = placeItem(item, context);
      if (placement.kind === 'exclude') {
        if (placement.reason === 'undated') summary.undated.push(item.filename);
        else {
          const year = String(yearOfDay(placement.day));
          summary.otherYears[year] = (summary.otherYears[year] ?? 0) + 1;
        }
        report({
          type: 'excluded',
          id: item.id,
          filename: item.filename,
          reason: placement.reason,
          ...(placement.reason === 'other-year' ? { day: placement.day } : {}),
        });
        continue;
      }
      if (placement.kind === 'unavailable') {
        const entry = { id: item.id, filename: item.filename, reason: placement.reason };
        summary.unavailable.push(entry);
        report({ type: 'failed', ...entry, unavailable: true });
        // Remembered as pending when the source can be asked for it by id: then it does not keep
        // the year unfinished, and the skip rule still applies to the rest next time.
        if (!source.getByIds) unremembered++;
        else if (!manifest.isPending(item.id) && !options.dryRun)
          await manifest.markPending(walk, { id: item.id, filename: item.filename });
        continue;
      }
      const day = placement.path.slice(0, placement.path.lastIndexOf('/'));
      let dayLink = dayLinks.get(day);
      if (!dayLink) {
        dayLink = linkProblem(folder, day).catch(() => undefined);
        dayLinks.set(day, dayLink);
      }
      const linked = await dayLink;
      if (linked) {
        // Only this day's items fail; the rest of the year is saved.
        const failure = { id: item.id, filename: item.filename, reason: `${linked} to save this day` };
        summary.failed.push(failure);
        report({ type: 'failed', ...failure });
        continue;
      }
      const onDisk = await sizeAt(placement.path);
      let itemSize = item.size;
      if (!placement.recorded && onDisk !== undefined && itemSize === undefined && item.probeSize) {
        itemSize = await item.probeSize(stop.signal).catch(() => undefined);
      }
      let decision = decideItem(item, placement, { sizeOnDisk: onDisk, itemSize });
      let digests: ContentFacts | undefined;
      if (decision.action === 'skip' && decision.reason === 'exists' && item.evidence) {
        // A file of the same name and size is this item only if its bytes say so.
        digests = await sameContent(item, itemFacts(item), placement.path);
        if (!digests)
          decision = decideItem(item, placement, { sizeOnDisk: onDisk, itemSize, contentDiffers: true });
      }
      if (!retried)
        skipState = nextSkipState(skipState, decision.action, { maxSkipped: options.maxSkipped, armed });
      if (decision.action === 'skip') {
        summary.skipped++;
        if (decision.reason === 'exists' && !options.dryRun && onDisk !== undefined) {
          // A file from the original script, or one a killed run renamed but did not record: adopt
          // it, so later runs know it by id. With its hash where copies are found by content
          // (Takeout albums), or a copy of it would be saved a second time under a suffixed name.
          claims.set(claimKey(placement.path), item.id);
          const sha256 = item.dedupeByContent
            ? (digests?.sha256 ?? (await fileDigests(path.join(folder, placement.path))).sha256)
            : undefined;
          await manifest.record(savedRecord(item, placement.path, onDisk, { sha256 }));
        }
        report({ type: 'skipped', id: item.id, path: placement.path, reason: decision.reason });
        if (!retried && skipState.stopped) {
          stopReason = 'skips';
          break;
        }
        continue;
      }
      claims.set(claimKey(decision.path), item.id);
      if (options.dryRun) {
        report({
          type: 'planned',
          id: item.id,
          path: decision.path,
          dateSource: item.dateSource,
          ...(item.takenAt ? { takenAt: item.takenAt.toISOString() } : {}),
        });
        continue;
      }
      const task = limit(() => saveOne(item, decision.path));
      if (sequential) {
        await task;
        continue;
      }
      inFlight.add(task);
      void task.finally(() => inFlight.delete(task));
      // Bounded look-ahead: listing runs ahead of downloads, but not without end (memory).
      while (inFlight.size >= options.concurrency * 4) await Promise.race(inFlight);
    }
    if (!stopReason && !stop.signal.aborted) reachedEnd = true;
  } catch (error) {
    const ends = fatalError(diskError(error, folder)) ?? listingError(error, options.year);
    if (ends) {
      fatal ??= ends;
      stopReason ??= ends.exitCode === ExitCode.quota ? 'quota' : 'error';
      // The API quota ran out or the listing broke: the media bytes have their own quota and URLs,
      // so the items already listed are still saved before the run ends.
      if (ends.exitCode !== ExitCode.quota && !(error instanceof HttpError)) stop.abort(ends);
    } else if (!(stop.signal.aborted && signal.aborted)) {
      stop.abort(error);
      await Promise.allSettled(inFlight);
      await finish();
      throw error;
    }
  }
  await Promise.allSettled(inFlight);
  return finish();

  async function finish(): Promise<BackupResult> {
    signal.removeEventListener('abort', onAbort);
    await source.close?.().catch(() => undefined);
    const interrupted = signal.aborted && !fatal;
    if (interrupted) stopReason = 'interrupted';
    const reason: StopReason = stopReason ?? (reachedEnd ? 'end' : 'error');
    const clean = summary.failed.length === 0 && unremembered === 0 && !fatal && !interrupted;
    summary.complete = clean && (reachedEnd || reason === 'skips');
    try {
      if (source.stopsOnSkips && summary.complete && !options.dryRun) await manifest.markWalk(walk, true);
      await manifest.close();
      // Empty by now: every download removed or renamed its file.
      if (!options.dryRun) await rm(temps.root, { recursive: true, force: true }).catch(() => undefined);
    } finally {
      await lock?.release();
    }
    summary.stopped = { reason, message: stopMessage(reason, options, fatal, source.name) };
    report({ type: 'stopped', ...summary.stopped });
    report({ type: 'summary', summary });
    if (fatal) throw fatal;
    if (interrupted) throw new InterruptedError();
    return { summary, exitCode: summary.failed.length > 0 ? ExitCode.itemsFailed : ExitCode.ok };
  }
}

function stopMessage(
  reason: StopReason,
  options: BackupOptions,
  fatal: BackupError | undefined,
  source: Source['name'],
): string {
  switch (reason) {
    case 'skips':
      return `Stopped after ${options.maxSkipped + 1} files in a row were already saved: the rest of ${options.year} was saved by an earlier run (use --all to check every item).`;
    case 'quota':
      return fatal?.message ?? QUOTA_MESSAGE;
    case 'interrupted':
      return 'Interrupted. What was saved is recorded; run the same command again to continue.';
    case 'error':
      return fatal?.message ?? 'Stopped by an error.';
    default:
      if (source === 'picker') return 'Every picked item was handled.';
      if (source === 'takeout') return 'Read every archive.';
      return `Listed all of ${options.year}.`;
  }
}
