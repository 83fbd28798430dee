/**
 * The Takeout source: Google Takeout parts (.zip, .tgz/.tar.gz, extracted folders, in any mix)
 * become one list of SourceItems with dates and bytes. Archives are read in place and streamed:
 * zip entries by offset, tgz entries in archive order (two passes), nothing extracted to disk.
 *
 * Flow: catalog (open parts, merge them into one tree per export, match sidecars: catalog.ts) →
 * facts (names and evidence now, dates when asked: item-facts.ts) → bodies (opening the bytes:
 * bodies.ts). Year-folder copies come before album copies, then each tgz part in archive order.
 */

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { usageError } from '../../errors.ts';
import type { ProcessedExportFile } from '../../report/events.ts';
import { isValidTimeZone, unknownTimeZoneError } from '../../timezone.ts';
import type { Source, SourceItem, SourceName } from '../source.ts';
import { type OpenBody, openRandomAccess, tarPartBodies } from './bodies.ts';
import {
  albumFileKey,
  type Catalog,
  type CatalogEntry,
  type CatalogOptions,
  readCatalog,
  type SkipPart,
} from './catalog.ts';
import { Findings } from './findings.ts';
import { ItemFacts, listedFacts } from './item-facts.ts';
import {
  appendFinishedParts,
  finishedParts,
  fullyProcessedExports,
  isFinished,
  loadPartMemory,
  localPartIdentity,
  type PartIdentity,
  type PartMemory,
  type ProcessedExport,
  rememberLine,
  rewritePartMemory,
} from './part-memory.ts';
import { inputNotFound, type Part, ReaderPool } from './parts.ts';
import { countMediaRead, writeMediaReadCount } from './read-count.ts';

export interface TakeoutSourceOptions {
  /** Takeout parts: .zip, .tgz/.tar.gz/.tar files, or folders (extracted Takeouts or folders of parts). */
  inputs: string[];
  /** Zone for wall-clock dates with no offset (EXIF without OffsetTimeOriginal, file names): IANA or 'UTC', as resolveTimeZone gives. */
  timeZone: string;
  /** Also list items in Trash/Bin or flagged `trashed` (left out by default, like immich-go). */
  includeTrash?: boolean;
  onWarning?: (message: string) => void;
  onInfo?: (message: string) => void;
  /**
   * The memory of finished parts (part-memory.ts): parts finished for `year` and unchanged are not
   * opened, and the parts this run finishes are appended when it closes, unless `readOnly`.
   */
  memory?: { stateFolder: string; year: number; scope: string; readOnly: boolean };
  /**
   * The year being saved: items whose sidecar dates them well outside it are not read for a date
   * of their own (item-facts.ts). Unset, every undecided item's own date is read.
   */
  year?: number;
  /** Parts found elsewhere than on disk (the Drive source); `inputs` then only name them in messages. */
  findParts?: CatalogOptions['findParts'];
  /**
   * Where the run reads from, as the user sees it (start line, summary, record): `takeout`
   * unless set. The items keep their `takeout:` ids whatever it is, so one export read from
   * Drive and later from a download is saved once.
   */
  name?: SourceName;
  /** The summary's line for an export all of whose parts are finished; Takeout's own wording unless set. */
  describeProcessed?: (done: ProcessedExport, year: number) => string;
  /**
   * Told of each export all of whose parts are finished for the year, when the source closes
   * (before the summary): the facts of the `export-processed` event, for a script to delete it.
   */
  onProcessed?: (done: { timestamp: string; parts: number; files: ProcessedExportFile[] }) => void;
  /** A processed export's part as `onProcessed` names it: by its real path unless set (Drive: its file id). */
  processedFile?: (key: string, name: string) => ProcessedExportFile;
}

export type TakeoutSource = Source & {
  /**
   * True when a tgz part holds items. Items from a tgz are read from one shared stream in archive
   * order: an item's `open()` is fast only until the next item is requested, so the pipeline
   * should finish each item's transfer before pulling the next one. A later `open()` still works
   * but re-reads the tgz from its start to that entry (slow on big parts). Known once the catalog
   * is read, before the first item is listed; false until then.
   */
  readonly sequential: boolean;
  /** Damaged parts and unreadable entries found so far; non-empty means the run should exit 1. */
  problems(): string[];
  /**
   * The exports (`takeout-<timestamp>-<n>` parts) every part of which, as given, is finished for
   * the year: their lines for the end of the summary. Known once the source is closed.
   */
  processedExports(): string[];
};

/** The prefix of a Takeout item's id before its path inside the Photos folder (item-facts.ts). */
const ID_PREFIX = 'takeout:';

/** An item id that stands for more than one entry, or is served by more than one part. */
class SharedItem {
  constructor(
    readonly parts: Part[],
    public entries: number,
  ) {}
}

/** The parts an item's entry in `partsOfItem` names, as a new array. */
function partsIn(held: Part | SharedItem | null | undefined): Part[] {
  if (held instanceof SharedItem) return [...held.parts];
  return held ? [held] : [];
}

/**
 * The parts an album copy's name and size (albumFileKey) takes its albums from: those holding its
 * copies in album folders, and those holding the JSON of those folders. Only album files have one.
 */
function albumServers(catalog: Catalog): Map<string, Set<Part>> {
  const servers = new Map<string, Set<Part>>();
  const add = (entry: CatalogEntry) => {
    if (entry.folderKind !== 'album') return;
    const key = albumFileKey(entry);
    const parts = servers.get(key) ?? new Set<Part>();
    parts.add(entry.copy.part);
    for (const part of catalog.albumJsonParts.get(entry.folder) ?? []) parts.add(part);
    servers.set(key, parts);
  };
  for (const entry of catalog.randomAccess) if (entry) add(entry);
  for (const { entries } of catalog.tarParts) for (const entry of entries.values()) add(entry);
  return servers;
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
  // Checked here, before the run makes the backup folder or its lock: a mistyped path writes nothing.
  if (!options.findParts) {
    for (const input of options.inputs) {
      if (!existsSync(input)) throw inputNotFound(input);
    }
  }
  const findings = new Findings(options.onWarning);
  const pool = new ReaderPool();
  let sequential = false;
  let facts: ItemFacts | undefined;
  /** Every item the catalog holds, once it is read: the progress line's total. */
  let known: number | undefined;
  const memoryOptions = options.memory;
  let memory: PartMemory | undefined;
  /** Each archive part met, by its path: its identity before it was read, and whether it was finished already. */
  const metParts = new Map<string, { identity: PartIdentity; skipped: boolean }>();
  /** Per archive part read: how many of the year's items it holds or serves are not settled yet. */
  const unsettled = new Map<Part, number>();
  /**
   * The parts of each item not settled yet, by its path inside the Photos folder (its id without
   * `takeout:`: the entry's own key string, no new string per item). Almost every item is one
   * entry in one part, held as that part alone (`null`: one entry in no part read). A
   * `SharedItem` counts the entries when two exports hold different photos at one path (one id):
   * one saved must not make the other's part finished.
   */
  const partsOfItem = new Map<string, Part | SharedItem | null>();
  let exportLines: string[] = [];

  /** Files the record holds for the year are missing: no part is skipped, so they are saved again. */
  let readEveryPart = false;

  const skipPart: SkipPart = async (file, given) => {
    if (!memory || !memoryOptions) return false;
    const identity = given ?? (await localPartIdentity(file).catch(() => undefined));
    if (!identity) return false;
    // Read again when saved files are missing, and still remembered as finished once read.
    const skipped = !readEveryPart && isFinished(memory, memoryOptions.year, memoryOptions.scope, identity);
    metParts.set(file, { identity, skipped });
    return skipped;
  };

  /**
   * An item's parts: its own, its sidecar's and its original's (they may be other parts of the
   * export), and those that give it its albums (`albumParts`): a part skipped as finished must
   * not take from an item read later its date, its album names or its folder's kind.
   */
  const track = (entry: CatalogEntry, albumParts: ReadonlyMap<string, Set<Part>>) => {
    const held = partsOfItem.get(entry.key);
    const parts = partsIn(held);
    const entries = (held instanceof SharedItem ? held.entries : held === undefined ? 0 : 1) + 1;
    const fromAlbums = entry.albums.length > 0 ? albumParts.get(albumFileKey(entry)) : undefined;
    for (const part of [
      entry.copy.part,
      entry.sidecar?.part,
      entry.original?.copy.part,
      ...(fromAlbums ?? []),
    ]) {
      const count = part && unsettled.get(part);
      if (!part || count === undefined || parts.includes(part)) continue;
      parts.push(part);
      unsettled.set(part, count + 1);
    }
    partsOfItem.set(
      entry.key,
      entries > 1 || parts.length > 1 ? new SharedItem(parts, entries) : (parts[0] ?? null),
    );
  };

  /**
   * Also after a run stopped early (the download quota, Ctrl-C, an error): the counts were taken
   * from the whole catalog before the first item was listed, so a part whose count is 0 had every
   * item it holds or serves settled, and one with an item not reached or failed is not finished.
   */
  async function rememberFinished(): Promise<void> {
    if (!memoryOptions) return;
    const outcomes = new Map(
      [...unsettled].map(([part, count]) => [
        part,
        { scanned: !findings.hasProblemAbout(part.file), unsettled: count },
      ]),
    );
    const finished = new Set(finishedParts(outcomes).map((part) => part.file));
    const lines = [...finished].flatMap((file) => {
      const met = metParts.get(file);
      return met
        ? [
            {
              year: memoryOptions.year,
              scope: memoryOptions.scope,
              name: path.basename(file),
              ...met.identity,
            },
          ]
        : [];
    });
    if (!memoryOptions.readOnly) {
      const write = async () => {
        if (!memory || memory.bad === 0) return appendFinishedParts(memoryOptions.stateFolder, lines);
        // Damaged lines are dropped by writing the good ones and this run's anew.
        for (const line of lines) rememberLine(memory, line);
        await rewritePartMemory(memoryOptions.stateFolder, memory.finished.values());
      };
      await write().catch((error: unknown) =>
        findings.warn(
          `The memory of finished Takeout parts was not written (${error instanceof Error ? error.message : String(error)}); the next run reads those parts again.`,
        ),
      );
    }
    const exports = fullyProcessedExports(
      [...metParts].map(([file, met]) => ({
        name: path.basename(file),
        key: met.identity.key,
        finished: met.skipped || finished.has(file),
      })),
    );
    const fileOf = options.processedFile ?? ((key: string, name: string) => ({ name, path: key }));
    for (const done of exports)
      options.onProcessed?.({
        timestamp: done.timestamp,
        parts: done.parts,
        files: done.names.map((name, index) => fileOf(done.keys[index] ?? '', name)),
      });
    exportLines = exports.map((done) =>
      options.describeProcessed
        ? options.describeProcessed(done, memoryOptions.year)
        : `Takeout export ${done.timestamp} (${done.parts} part${done.parts === 1 ? '' : 's'}) is fully processed for ${memoryOptions.year}: it is safe to delete.`,
    );
  }

  /**
   * The item as listed: what the archive directory and the sidecars say, no media byte read. Its
   * date (EXIF may be needed) comes from `resolve`, which the pipeline calls only for items the
   * record does not already hold.
   */
  function listedItem(
    entry: CatalogEntry,
    itemFacts: ItemFacts,
    open: OpenBody,
    randomAccess: boolean,
    readAhead?: () => void,
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
    const listed = listedFacts(entry);
    return {
      ...listed,
      dateSource: 'none',
      open: counted,
      ...(contentHash ? { contentHash } : {}),
      resolve: async () => {
        readAhead?.();
        return {
          ...(await itemFacts.resolve(entry)),
          // The listed item's own id string (the same text): the run's listed-items map holds it
          // already, and the record keeps it, so one string per photo, not two (56 bytes each).
          id: listed.id,
          open: counted,
          ...(contentHash ? { contentHash } : {}),
        };
      },
    };
  }

  async function* list(signal: AbortSignal): AsyncGenerator<SourceItem> {
    try {
      if (memoryOptions) {
        memory = await loadPartMemory(memoryOptions.stateFolder);
        if (memory.bad > 0)
          findings.warn(
            `Ignored ${memory.bad} damaged line(s) of ${path.join(memoryOptions.stateFolder, 'takeout-parts.jsonl')}; the parts they named are read again.`,
          );
      }
      const catalog = await readCatalog({ ...options, skipPart }, findings, pool);
      const skipped = [...metParts.values()].filter((met) => met.skipped).length;
      if (skipped > 0 && memoryOptions)
        options.onInfo?.(
          `${skipped} Takeout part(s) finished for ${memoryOptions.year} by an earlier run and unchanged since: not read again.`,
        );
      if (memoryOptions) {
        for (const part of catalog.parts) if (metParts.has(part.file)) unsettled.set(part, 0);
        const albumParts = albumServers(catalog);
        for (const entry of catalog.randomAccess) if (entry) track(entry, albumParts);
        for (const { entries } of catalog.tarParts)
          for (const entry of entries.values()) track(entry, albumParts);
      }
      sequential = catalog.tarParts.length > 0;
      known =
        catalog.randomAccess.length + catalog.tarParts.reduce((sum, { entries }) => sum + entries.size, 0);
      const itemFacts = new ItemFacts(catalog.originals, pool, options.timeZone, options.year);
      facts = itemFacts;
      const entries = catalog.randomAccess;
      for (let at = 0; at < entries.length; at++) {
        signal.throwIfAborted();
        const entry = entries[at] as CatalogEntry;
        // Let go once handed on: the item holds it while it is saved, and the listing's memory
        // (an entry per photo) shrinks while the record's grows, instead of both adding up.
        entries[at] = undefined;
        yield listedItem(entry, itemFacts, openRandomAccess(entry.copy), true, () =>
          itemFacts.readAhead(entries, at + 1),
        );
      }
      for (const { part, entries } of catalog.tarParts) {
        signal.throwIfAborted();
        for await (const { entry, open } of tarPartBodies(part, entries, signal, findings)) {
          yield listedItem(entry, itemFacts, open, false);
        }
      }
    } finally {
      await pool.closeAll();
    }
  }

  return {
    name: options.name ?? 'takeout',
    stopsOnSkips: false,
    get sequential() {
      return sequential;
    },
    endMessage: () => 'Read every archive.',
    total: () => known,
    problems: () => findings.problems(),
    processedExports: () => exportLines,
    recordMissing(missing) {
      if (!memoryOptions || readEveryPart) return;
      readEveryPart = true;
      options.onInfo?.(
        `${missing} file(s) the record holds for ${memoryOptions.year} are missing from the backup folder: every Takeout part is read again, so they are saved again.`,
      );
    },
    settled(id) {
      const key = id.startsWith(ID_PREFIX) ? id.slice(ID_PREFIX.length) : id;
      const held = partsOfItem.get(key);
      if (held === undefined) return;
      if (held instanceof SharedItem && --held.entries > 0) return;
      partsOfItem.delete(key);
      for (const part of partsIn(held)) {
        const count = unsettled.get(part);
        if (count !== undefined) unsettled.set(part, count - 1);
      }
    },
    list,
    async close(end) {
      facts?.clear();
      await pool.closeAll();
      // Only over a record on disk: a part remembered is never read again (manifest.ts sync).
      if (end?.recordSynced !== false) await rememberFinished();
      else
        findings.warn(
          'The record could not be synced to disk: no Takeout part is remembered as finished, so the next run reads them again.',
        );
      writeMediaReadCount();
    },
  };
}
