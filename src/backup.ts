/**
 * backupYear(options, deps) → summary. The one-way flow: the source lists, plan.ts decides,
 * transfer.ts writes, manifest.ts records, and every step is reported as an event.
 *
 * Why one long file: backupYear is one run, and its steps (record matching, saving, the listing
 * loop, finishing) are closures over that run's state (record, claims, skip state, the stop
 * signal, the summary). Split into modules they would pass that state around whole. What needs
 * no run state lives apart: disk-facts.ts (what the folder holds) and run-end.ts (how a run ends).
 */
import { lstat, mkdir, readlink, realpath, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { type AlbumMember, albumsOf, LiveAlbumLinks, linkAlbumFolders } from './albums.ts';
import { crashPoint } from './crash-hook.ts';
import { createDiskLookup, fileDigests, sizeOnDisk } from './disk-facts.ts';
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
import { ListedItems } from './listed-items.ts';
import { acquireLock, type Lock } from './lock.ts';
import {
  type KeptRecord,
  Manifest,
  type RecordView,
  type SavedRecord,
  STATE_FOLDER,
  walkKey,
} from './manifest.ts';
import { SidecarWriter } from './metadata/sidecar-writer.ts';
import { createSidecarStep } from './metadata/step.ts';
import { finishMove, placeCopy } from './move.ts';
import {
  type ContentFacts,
  claimKey,
  compareContent,
  decideItem,
  hasNewFacts,
  itemFacts,
  leftOutByChoice,
  listingVariant,
  matchRecord,
  nextSkipState,
  type PlanContext,
  placeItem,
  recordFacts,
  reviseItem,
  type SkipState,
  walksOfRun,
  yearOfDay,
} from './plan.ts';
import { type BackupSummary, EVENTS_SCHEMA_VERSION, type Report, type StopReason } from './report/events.ts';
import {
  describe,
  fatalError,
  listingError,
  MEDIA_QUOTA_STOP,
  mediaQuotaMessage,
  stopMessage,
} from './run-end.ts';
import type { MediaKind, Source, SourceItem } from './sources/source.ts';
import { zoneOffsetMinutes } from './timezone.ts';
import { commitTemp, discardTemp, diskError, sweepTemps, TempSpace, writeTemp } from './transfer.ts';

export interface BackupOptions {
  year: number;
  /** The backup folder (absolute or relative to the working directory). */
  folder: string;
  /** IANA zone for day folders. */
  timeZone: string;
  concurrency: number;
  maxSkipped: number;
  /** Never stop on skips: walk the whole year and fill gaps. */
  all: boolean;
  dryRun: boolean;
  includeUndated: boolean;
  /** The kind of media to leave out (--skip-videos: 'video', --skip-photos: 'photo'); unset: both saved. */
  leaveOut?: MediaKind;
  /** Write an XMP sidecar (`<file name>.xmp`) beside every saved file of the year (metadata/step.ts). */
  xmp?: boolean;
  /** Link every saved item of the year that belongs to an album into albums/<album>/ (albums.ts). */
  albums?: boolean;
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

async function ensureFolder(folder: string, dryRun: boolean): Promise<void> {
  try {
    const info = await stat(folder);
    if (!info.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A level above the folder is a file (stat's ENOTDIR); the folder itself being a file is diskError's.
    if (code === 'ENOTDIR' && (error as NodeJS.ErrnoException).syscall === 'stat')
      throw await creationError(error, folder, folder);
    if (code !== 'ENOENT') throw diskError(error, folder);
    const link = await readlink(folder).catch(() => undefined);
    if (link !== undefined)
      throw new BackupError(
        `${folder} is a link to ${link}, which does not exist (a disk not mounted?). Connect or mount it, or give another folder.`,
        ExitCode.usage,
        { cause: error },
      );
    if (dryRun) return;
    await makeFolder(folder);
  }
}

/**
 * `mkdir -p` for the backup folder, one level at a time, each level tried once. Node's recursive
 * mkdir is not used here: where mkdir answers ENOENT although the parent exists (under /proc)
 * it retries forever, and on a read-only file system it reports ENOENT instead of EROFS. Here
 * every refusal ends the run at once, naming the level that could not be made.
 */
async function makeFolder(folder: string, wanted = folder): Promise<void> {
  const refused = (cause: unknown, at: string) => creationError(cause, at, wanted);
  try {
    await mkdir(folder);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && (await stat(folder).catch(() => undefined))?.isDirectory()) return;
    const parent = path.dirname(folder);
    if (code !== 'ENOENT' || parent === folder) throw await refused(error, folder);
  }
  await makeFolder(path.dirname(folder), wanted);
  await mkdir(folder).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code === 'EEXIST' && (await stat(folder).catch(() => undefined))?.isDirectory()) return;
    throw await refused(error, folder);
  });
}

/** The message for a backup folder that cannot be made, naming the level that refused and what to do. */
async function creationError(cause: unknown, at: string, wanted: string): Promise<BackupError> {
  const code = (cause as NodeJS.ErrnoException).code ?? 'error';
  const head = `Cannot create the backup folder ${wanted}`;
  if (code === 'ENOTDIR' || code === 'EEXIST') {
    // The file in the way is the nearest existing level that is not a folder.
    let file = at;
    for (let up = at; path.dirname(up) !== up; up = path.dirname(up)) {
      const info = await stat(up).catch(() => undefined);
      if (info && !info.isDirectory()) file = up;
      if (info) break;
    }
    return new BackupError(`${head}: ${file} is a file, not a folder. Give another folder.`, ExitCode.usage, {
      cause,
    });
  }
  if (code === 'ENOENT')
    return new BackupError(
      `${head}: ${path.dirname(at)} does not take new folders (it is a system folder, not a disk). Give a folder on a disk you can write to.`,
      ExitCode.usage,
      { cause },
    );
  const disk = diskError(cause, at);
  if (disk instanceof BackupError && disk.exitCode === ExitCode.itemsFailed) return disk;
  return new BackupError(
    `${head}: ${at} cannot be made there (${code}, a read-only or protected place). Give a folder on a disk you can write to.`,
    ExitCode.usage,
    { cause },
  );
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
    planned: 0,
    copies: 0,
    skipped: 0,
    bytes: 0,
    failed: [],
    unavailable: [],
    otherYears: {},
    undated: [],
    leftOut: { photo: 0, video: 0 },
    stopped: { reason: 'end', message: 'Listed the whole year.' },
    complete: false,
  };
  // The run is announced once the folder, the lock and the record are known good: a run that
  // cannot start prints only why, not a start line and a summary of nothing.
  await ensureFolder(folder, options.dryRun);
  let recovered: string | undefined;
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
      recovered = `An earlier run was stopped before it finished${removed ? `; removed ${removed} unfinished download(s)` : ''}. Continuing.`;
    }
  }

  let manifest: Manifest;
  try {
    manifest = await Manifest.load(folder, { readOnly: options.dryRun });
  } catch (error) {
    await lock?.release();
    throw error;
  }
  report({
    type: 'start',
    schemaVersion: EVENTS_SCHEMA_VERSION,
    source: source.name,
    year: options.year,
    folder,
    dryRun: options.dryRun,
  });
  if (recovered) report({ type: 'notice', level: 'info', message: recovered });
  if (source.recordMissing) {
    const missing = await manifest.missingFiles(options.year, { undated: options.includeUndated === true });
    if (missing > 0) source.recordMissing(missing);
  }
  if (manifest.ignoredLines > 0)
    report({
      type: 'notice',
      level: 'warn',
      message: `Ignored ${manifest.ignoredLines} damaged line(s) of ${path.join(folder, STATE_FOLDER, 'saved.jsonl')} (cut short, not a record, or naming a place outside the day folders); the items they named are checked again.`,
    });
  /** Day folders (relative, `2024-03-17`) this run made: mkdir's answer (dayFolder, below). */
  const daysMade = new Set<string>();
  /**
   * The thread that writes the sidecars and makes the album links of the files saved this run
   * (metadata/sidecar-writer.ts), started at its first job; ended in the `finally` below.
   */
  const fileWriter =
    !options.dryRun && (options.xmp === true || options.albums === true) ? new SidecarWriter() : undefined;
  const sidecars = createSidecarStep({
    enabled: options.xmp === true,
    ...(fileWriter ? { writer: fileWriter } : {}),
    folder,
    year: options.year,
    timeZone: options.timeZone,
    dryRun: options.dryRun,
    includeUndated: options.includeUndated,
    manifest,
    report,
    summary,
    madeThisRun: (day) => daysMade.has(day),
  });
  const walk = walkKey(source.name, options.year);
  const walks = walksOfRun((kind) => walkKey(source.name, options.year, kind), options.leaveOut);
  const armed =
    source.stopsOnSkips && !options.all && walks.arming.some((key) => manifest.isWalkComplete(key));
  if (source.stopsOnSkips && !options.dryRun) {
    for (const key of walks.all)
      if (key === walks.own || manifest.isWalkComplete(key)) await manifest.markWalk(key, false);
  }
  // Items an earlier run could not save yet: asked for by id first, so they need no walk of the year.
  const pending = source.getByIds ? manifest.pendingOf(walk) : [];

  /** Album names by item id, from a source that lists albums apart from items (--albums). */
  let albumsById: Map<string, string[]> | undefined;
  /**
   * Listed while the year downloads, not before: the album step at the end needs them, and the
   * records (and sidecars) of items saved once they are known. Items saved before that are given
   * theirs at the end (`albumsLater`). A dry run waits for them: its planned items are not recorded.
   */
  let albumsListed: Promise<void> | undefined;
  const albumsUnknown = new WeakSet<SourceItem>();
  const albumsLater: KeptRecord[] = [];
  /** The links of the files saved once the albums are known, made as each is saved (albums.ts). */
  const liveLinks =
    options.albums && source.albumsById && !options.dryRun
      ? new LiveAlbumLinks(folder, options.year, report, fileWriter)
      : undefined;
  if (options.albums && source.albumsById) {
    albumsListed = source.albumsById(signal).then(
      (found) => {
        albumsById = found;
        if (liveLinks) {
          const titles = new Set<string>();
          for (const albums of found.values()) for (const album of albums) titles.add(album);
          // The album names the record holds for the year (read back: metadata is not kept in memory).
          for (const record of manifest.fullRecords((kept) => kept.path.startsWith(`${options.year}-`)))
            for (const album of albumsOf(record.metadata)) titles.add(album);
          liveLinks.start(titles);
        }
      },
      (error: unknown) => {
        if (signal.aborted) return;
        report({
          type: 'notice',
          level: 'warn',
          message: `Album folders: the albums could not be listed (${describe(error)}); the albums the record knows are linked.`,
        });
      },
    );
    if (options.dryRun) await albumsListed;
  }
  /** Items of this run whose albums the record may not hold (skipped, or planned in a dry run). */
  const albumsSeen: AlbumMember[] = [];
  const noteAlbums = (item: SourceItem, relative: string) => {
    if (!options.albums) return;
    const albums = albumsOf(item.metadata);
    if (albums.length > 0) albumsSeen.push({ path: relative, albums });
  };

  const listedSizeAt = createDiskLookup(folder);
  /** Files this run moved into day folders (an edited date): the lookup's listings predate them. */
  const movedHere = new Set<string>();
  const sizeAt = (relative: string) =>
    movedHere.has(relative) ? sizeOnDisk(path.join(folder, relative)) : listedSizeAt(relative);
  const claims = new Map<string, string>();
  /** Items whose id is a place (Takeout), and the record their evidence says they are. */
  const matched = new WeakMap<SourceItem, RecordView>();
  const contentClaims = new Map<string, string>();
  const context: PlanContext = {
    year: options.year,
    timeZone: options.timeZone,
    enforceYear: source.filtersYear !== true,
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
    if (item.takenAt) {
      record.takenAt = item.takenAt.toISOString();
      // The clock of the day folder, for a sidecar's time now or in a later run.
      record.utcOffsetMinutes =
        item.utcOffsetMinutes ?? zoneOffsetMinutes(options.timeZone, item.takenAt.getTime());
    }
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
  const recordedAs = async (item: SourceItem): Promise<RecordView | undefined> => {
    const facts = itemFacts(item);
    const own = await pickRecord(item, facts, manifest.recordsOf(item.id));
    if (own || facts.photoId === undefined) return own;
    // The same Google photo saved from another path: renumbered in a later export, or in another
    // year folder after its date was edited. Not one this run wrote, nor one from this same export
    // (a run killed before it recorded the album copy): that is another copy in this export (an
    // album's), recorded as a copy of it when saved.
    const sameExport = (record: KeptRecord) =>
      facts.exportedAt !== undefined && recordFacts(record).exportedAt === facts.exportedAt;
    const elsewhere = manifest
      .recordsOfPhoto(facts.photoId)
      .filter((record) => record.id !== item.id && !seen.recordedThisRun(record.id) && !sameExport(record));
    return pickRecord(item, facts, elsewhere);
  };

  const pickRecord = async (
    item: SourceItem,
    facts: ContentFacts,
    records: readonly KeptRecord[],
  ): Promise<RecordView | undefined> => {
    const match = matchRecord(records, facts);
    if (match.kind === 'same') return match.record;
    if (match.kind === 'new') return undefined;
    for (const record of match.records) {
      if (!(await sameContent(item, facts, record.path, recordFacts(record).sha256))) continue;
      // A record kept with its evidence keeps it: a newer one (an edited date) is a revision.
      if (record.evidence || !item.evidence || record.id !== item.id) return record;
      // The whole line, read back: the kept record has no dates or metadata to write again.
      const upgraded: SavedRecord = { ...manifest.fullRecord(record), evidence: item.evidence };
      return options.dryRun ? upgraded : manifest.record(upgraded);
    }
    return undefined;
  };

  /**
   * A saved item that came again with edited facts ("same item, new evidence"): its record takes
   * the new facts (so its XMP sidecar is written again at the end, unless the user edited it), and
   * a new date moves its file to the new day folder (move.ts: copy in place, record, remove the
   * old). The record it is now; undefined when the move failed (a failed row; the old stays).
   */
  const revise = async (prior: RecordView, item: SourceItem): Promise<RecordView | undefined> => {
    // A copy (the file was saved for another copy of the photo: an album's, or its year folder's,
    // whichever download ended first): the file is revised as its owner's, and this item takes
    // it over, so a new date moves the file, and its XMP is written from the new facts. The
    // owner it had becomes a copy of it (completeMove, or below when it stays).
    const fileOwner = prior.copyOf === undefined ? undefined : ownerRecordAt(prior.copyOf);
    const file = fileOwner ?? prior;
    const revision = reviseItem(fileOwner ? { id: prior.id, path: fileOwner.path } : prior, item, context);
    const target = revision.action === 'move' ? revision.to : revision.path;
    const next = savedRecord(item, target, file.size, {
      sha256: file.sha256,
      ...(prior.copyOf === undefined || fileOwner ? {} : { copyOf: prior.copyOf }),
    });
    if (file.xmpSha256) next.xmpSha256 = file.xmpSha256;
    if (prior.id !== item.id || target !== prior.path) next.movedFrom = { id: prior.id, path: prior.path };
    if (options.dryRun) {
      if (revision.action === 'move')
        report({
          type: 'notice',
          level: 'info',
          message: `${prior.path}: its date was edited in Google Photos; it would move to ${revision.to}.`,
        });
      return prior;
    }
    seen.markRecorded(item.id);
    if (revision.action === 'update') {
      await manifest.record(next);
      if (fileOwner) await manifest.record(copyRecord(fileOwner, next.path));
      return next;
    }
    try {
      await dayFolder(path.dirname(path.join(folder, revision.to)));
      const placed = await placeCopy(
        path.join(folder, revision.from),
        path.join(folder, revision.to),
        { size: prior.size, ...(prior.sha256 ? { sha256: prior.sha256 } : {}) },
        item.takenAt,
      );
      if (placed === 'taken') throw new Error(`${revision.to} in the backup folder holds another file`);
      movedHere.add(revision.to);
      await crashPoint('mid-move-after-copy');
      await manifest.record(next);
      await crashPoint('mid-move-after-record');
      await completeMove(next);
    } catch (error) {
      const failure = {
        id: item.id,
        filename: item.filename,
        reason: `its date was edited in Google Photos, and moving ${revision.from} to ${revision.to} failed (${describe(error)}); it stays where it is, and the next run tries again`,
      };
      summary.failed.push(failure);
      report({ type: 'failed', ...failure });
      return undefined;
    }
    report({
      type: 'notice',
      level: 'info',
      message: `${revision.from}: its date was edited in Google Photos; moved to ${revision.to}.`,
    });
    return next;
  };

  /** The record that owns the file at `relative` (not a copy of it), if any. */
  const ownerRecordAt = (relative: string): KeptRecord | undefined => {
    const id = manifest.ownerOf(relative);
    const key = nameKey(relative);
    return id === undefined
      ? undefined
      : manifest.recordsOf(id).find((record) => record.copyOf === undefined && nameKey(record.path) === key);
  };

  /** `record` as a copy of the file at `relative`: its whole line, read back (its dates and metadata go along). */
  const copyRecord = (record: KeptRecord, relative: string): SavedRecord => ({
    ...manifest.fullRecord(record),
    path: relative,
    copyOf: relative,
    ...(nameKey(record.path) === nameKey(relative)
      ? {}
      : { movedFrom: { id: record.id, path: record.path } }),
  });

  /**
   * The rest of a move the record holds (also a run stopped after recording it): what else names
   * the old file follows (its copies, and the owner it had when a copy of it took it over: the
   * same bytes, a copy now), and the old name goes.
   */
  const completeMove = async (record: RecordView): Promise<void> => {
    const from = record.movedFrom;
    if (!from || nameKey(from.path) === nameKey(record.path)) return;
    const key = nameKey(from.path);
    const sameBytes = (other: KeptRecord) =>
      other.size === record.size && other.sha256 !== undefined && other.sha256 === record.sha256;
    const along = [...manifest.records()].filter(
      (other) =>
        nameKey(other.copyOf ?? other.path) === key && (other.copyOf !== undefined || sameBytes(other)),
    );
    for (const other of along) await manifest.record(copyRecord(other, record.path));
    // Another item saved at the old place since: that file is its own.
    if (manifest.ownerOf(from.path) !== undefined) return;
    await finishMove(folder, from.path, record.path, {
      size: record.size,
      ...(record.sha256 ? { sha256: record.sha256 } : {}),
    });
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
      // Before any await of it: a saved file's sidecar step then knows its folder is new.
      ready.then(
        (made) => {
          if (made !== undefined) daysMade.add(path.relative(folder, dir));
        },
        () => undefined,
      );
      dayFolders.set(dir, ready);
    }
    return ready;
  };

  /** Tells the source an item is settled for the year (a Takeout remembers its finished parts by it). */
  const settle = (item: SourceItem) => {
    if (!options.dryRun) source.settled?.(item.id);
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
              throw quotaError(mediaQuotaMessage(source), { cause: error });
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
        // Only a real file still holding those bytes is a copy to point at: not one deleted since,
        // nor a link put in its place.
        const held =
          existing !== undefined &&
          existing !== relative &&
          (await sizeOnDisk(path.join(folder, existing))) === temp.bytes;
        if (existing !== undefined && held) {
          await discardTemp(temp);
          await manifest.record(
            savedRecord(item, existing, temp.bytes, { sha256: temp.sha256, copyOf: existing }),
          );
          seen.markRecorded(item.id);
          summary.copies++;
          report({ type: 'saved', id: item.id, path: existing, bytes: 0, copyOf: existing });
          settle(item);
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
      seen.markRecorded(item.id);
      await crashPoint('after-rename-before-record');
      const record = sidecars.attach(savedRecord(item, relative, temp.bytes, { sha256: temp.sha256 }));
      const kept = await manifest.record(record);
      if (albumsUnknown.has(item)) albumsLater.push(kept);
      // The record answers for the path and the bytes from here on (ownerOf, pathWithContent), so
      // the run's own claims stay as many as the items in flight, not one pair per saved file.
      const claim = claimKey(relative);
      if (claims.get(claim) === item.id) claims.delete(claim);
      const contentKey = `${temp.bytes}:${temp.sha256}`;
      if (temp.sha256 && contentClaims.get(contentKey) === relative) contentClaims.delete(contentKey);
      await crashPoint('after-record');
      // Off this download's path, now that the line says which sidecar belongs here.
      sidecars.write(record);
      if (liveLinks && !albumsUnknown.has(item)) liveLinks.link(relative, albumsOf(record.metadata));
      summary.saved++;
      summary.bytes += temp.bytes;
      report({ type: 'saved', id: item.id, path: relative, bytes: temp.bytes });
      settle(item);
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
  /** Saves under way by Google photo id (Takeout): a later export's copy of the photo waits for its record. */
  const savingPhotos = new Map<string, { task: Promise<void>; exportedAt: string | undefined }>();
  let skipState: SkipState = { consecutive: 0, stopped: false };
  /** Items listed and ids recorded this run (listed-items.ts). */
  const seen = new ListedItems();
  const listedBefore = (item: Pick<SourceItem, 'id' | 'size' | 'evidence'>): boolean =>
    seen.listedBefore(item.id, listingVariant(item));
  /** The total last reported (`total` event). */
  let total: number | undefined;
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
          listedBefore({ id: entry.id });
          const later = {
            id: entry.id,
            filename: entry.filename,
            reason: 'Google did not return it this time; a later run asks again.',
          };
          summary.unavailable.push(later);
          report({ type: 'not-yet', ...later });
        }
      }
      for (const item of answer.items) yield { item, retried: true };
    }
    for await (const item of source.list(stop.signal)) yield { item, retried: false };
  }

  /**
   * The item with the facts that cost reads (its date from its bytes). Bytes that could not be
   * read are this item's failure (not settled: its Takeout part is not finished, and the next run
   * reads it again); the run's own stops (quota, sign-in, an interruption) end the run.
   */
  async function resolvedOrFailed(item: SourceItem): Promise<SourceItem | undefined> {
    if (!item.resolve) return item;
    try {
      return await item.resolve(stop.signal);
    } catch (error) {
      if (stop.signal.aborted || fatalError(error)) throw error;
      const failure = {
        id: item.id,
        filename: item.filename,
        reason: `its date could not be read: ${describe(error)}`,
      };
      summary.failed.push(failure);
      report({ type: 'failed', ...failure });
      return undefined;
    }
  }

  try {
    for await (const { item: listedItem, retried } of items()) {
      if (stop.signal.aborted) break;
      // An item Google lists twice (on two pages) is saved once.
      if (listedBefore(listedItem)) {
        // The same item again (same place and evidence): settled with the first one, which is
        // told on its own, so a source counting its entries (a Takeout's parts) sees both.
        settle(listedItem);
        continue;
      }
      summary.found++;
      report({ type: 'found', count: summary.found });
      const expected = source.total?.();
      if (expected !== undefined && expected !== total) {
        total = expected;
        report({ type: 'total', count: total });
      }
      if (leftOutByChoice(listedItem, options.leaveOut)) {
        // Before any record lookup or read of its bytes: the user does not want it at all.
        summary.leftOut[listedItem.kind]++;
        report({
          type: 'excluded',
          id: listedItem.id,
          filename: listedItem.filename,
          reason: 'by-choice',
          mediaKind: listedItem.kind,
        });
        settle(listedItem);
        continue;
      }
      let item = listedItem;
      if (item.evidence) {
        // The same Google photo still being saved (an earlier export's copy, this run): its
        // record decides whether this one is new or the same item with new facts.
        // Not a copy of the same export (an album's): that one is told apart by content as before.
        const saving =
          item.evidence.photoId === undefined ? undefined : savingPhotos.get(item.evidence.photoId);
        if (saving && saving.exportedAt !== undefined && saving.exportedAt !== item.evidence.exportedAt)
          await saving.task;
        let record = await recordedAs(item);
        if (record && hasNewFacts(recordFacts(record), itemFacts(item), record.id === item.id)) {
          const resolved = await resolvedOrFailed(item);
          if (!resolved) continue;
          item = resolved;
          record = await revise(record, item);
          if (!record) continue;
        } else if (record?.movedFrom && !options.dryRun) {
          await completeMove(record).catch(() => undefined);
        }
        if (record) matched.set(item, record);
      }
      // What costs reads (an EXIF date) is learnt only for items the record does not settle.
      if (!context.recordOf(item)) {
        const resolved = await resolvedOrFailed(item);
        if (!resolved) continue;
        item = resolved;
      }
      const sourceAlbums = albumsById?.get(item.id);
      if (sourceAlbums) item = { ...item, metadata: { ...item.metadata, albums: sourceAlbums } };
      else if (albumsListed && !albumsById) albumsUnknown.add(item);
      let placement = placeItem(item, context);
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
        settle(item);
        continue;
      }
      if (placement.kind === 'unavailable') {
        const entry = { id: item.id, filename: item.filename, reason: placement.reason };
        summary.unavailable.push(entry);
        report({ type: 'not-yet', ...entry });
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
      let onDisk = await sizeAt(placement.path);
      if (onDisk === 'link') {
        // A link where this item's file belongs (planted, or made by hand): it is not this photo,
        // whatever it points at, and nothing is written through or over it. The item is saved
        // beside it under a free name, so nothing is lost and the link stays the user's to judge;
        // failing the day instead would keep the photo out of the backup until someone acts.
        const target = await readlink(path.join(folder, placement.path)).catch(() => '?');
        const beside = decideItem(
          item,
          { kind: 'place', path: placement.path },
          { sizeOnDisk: 0, itemSize: undefined, contentDiffers: true },
        );
        const freeName = beside.action === 'download' ? beside.path : undefined;
        if (freeName === undefined || (await sizeAt(freeName)) !== undefined) {
          const failure = {
            id: item.id,
            filename: item.filename,
            reason: `${placement.path} in the backup folder is a link to ${target}, not a file, and no free name is beside it: replace the link with the file, then run again`,
          };
          summary.failed.push(failure);
          report({ type: 'failed', ...failure });
          continue;
        }
        report({
          type: 'notice',
          level: 'warn',
          message: `${placement.path} in the backup folder is a link to ${target}, not a file: it is not followed or replaced, and ${item.filename} is saved beside it as ${freeName}.`,
        });
        placement = { kind: 'place', path: freeName };
        onDisk = undefined;
      }
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
        noteAlbums(item, placement.path);
        report({ type: 'skipped', id: item.id, path: placement.path, reason: decision.reason });
        settle(item);
        if (!retried && skipState.stopped) {
          stopReason = 'skips';
          break;
        }
        continue;
      }
      claims.set(claimKey(decision.path), item.id);
      if (options.dryRun) {
        summary.planned++;
        noteAlbums(item, decision.path);
        report({
          type: 'planned',
          id: item.id,
          path: decision.path,
          dateSource: item.dateSource,
          ...(item.takenAt ? { takenAt: item.takenAt.toISOString() } : {}),
        });
        sidecars.planned(savedRecord(item, decision.path, 0));
        continue;
      }
      const task = limit(() => saveOne(item, decision.path));
      // Asked as each item arrives, not once before listing: a Takeout knows it has a tgz only
      // once its parts are open, before its first item.
      if (source.sequential === true) {
        await task;
        continue;
      }
      inFlight.add(task);
      void task.finally(() => inFlight.delete(task));
      const photoId = item.evidence?.photoId;
      if (photoId !== undefined) {
        savingPhotos.set(photoId, { task, exportedAt: item.evidence?.exportedAt });
        void task.finally(() => {
          if (savingPhotos.get(photoId)?.task === task) savingPhotos.delete(photoId);
        });
      }
      // Bounded look-ahead: listing runs ahead of downloads, but not without end (memory).
      while (inFlight.size >= options.concurrency * 4) await Promise.race(inFlight);
    }
    if (!stopReason && !stop.signal.aborted) {
      reachedEnd = true;
      // The listing ended: what it found is all there is, whether or not the source knew before.
      if (total !== summary.found) report({ type: 'total', count: summary.found });
    }
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
    // The record on disk before the source closes: closing may write what relies on it (the
    // memory of finished Takeout parts, manifest.ts sync). Not synced, no part is remembered.
    const synced = await manifest.sync().then(
      () => true,
      () => false,
    );
    await source.close?.({ recordSynced: synced }).catch(() => undefined);
    // The sidecars of the files saved: written (or failed rows) before the run is judged.
    await sidecars.flush();
    const interrupted = signal.aborted && !fatal;
    if (interrupted) stopReason = 'interrupted';
    const reason: StopReason = stopReason ?? (reachedEnd ? 'end' : 'error');
    const clean = summary.failed.length === 0 && unremembered === 0 && !fatal && !interrupted;
    summary.complete = clean && (reachedEnd || reason === 'skips');
    try {
      if (albumsListed && !interrupted) {
        await albumsListed;
        // The files saved before the albums were known: their record line (and sidecar) again, with them.
        for (const kept of albumsLater) {
          const albums = albumsById?.get(kept.id);
          if (!albums) continue;
          const record = manifest.fullRecord(kept);
          const withAlbums = sidecars.attach({ ...record, metadata: { ...record.metadata, albums } });
          await manifest.record(withAlbums);
          sidecars.write(withAlbums);
        }
      }
      // Not after Ctrl-C: the user asked to stop; the next run writes what is missing.
      if (!interrupted) await sidecars.finish(signal);
      if (options.albums && !interrupted)
        await linkAlbumFolders({
          folder,
          year: options.year,
          dryRun: options.dryRun,
          // Whole records, read back (the albums are in their metadata); only the year's are read.
          records: manifest.fullRecords((kept) => kept.path.startsWith(`${options.year}-`)),
          seen: albumsSeen,
          ...(albumsById ? { albumsById } : {}),
          ...(liveLinks ? { live: liveLinks } : {}),
          report,
        }).catch((error: unknown) =>
          report({
            type: 'notice',
            level: 'warn',
            message: `Album folders were not made: ${describe(error)}.`,
          }),
        );
      if (source.stopsOnSkips && summary.complete && !options.dryRun)
        await manifest.markWalk(walks.own, true);
      await manifest.close();
      // Empty by now: every download removed or renamed its file.
      if (!options.dryRun) await rm(temps.root, { recursive: true, force: true }).catch(() => undefined);
    } finally {
      await sidecars.close();
      await liveLinks?.settled();
      await fileWriter?.close();
      await lock?.release();
    }
    summary.stopped = { reason, message: stopMessage(reason, options, fatal, source) };
    report({ type: 'stopped', ...summary.stopped });
    report({ type: 'summary', summary });
    if (fatal) throw fatal;
    if (interrupted) throw new InterruptedError();
    return { summary, exitCode: summary.failed.length > 0 ? ExitCode.itemsFailed : ExitCode.ok };
  }
}
