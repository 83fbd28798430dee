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
import { usageError } from '../../errors.ts';
import { isValidTimeZone, unknownTimeZoneError } from '../../timezone.ts';
import type { Source, SourceItem } from '../source.ts';
import { type OpenBody, openRandomAccess, tarPartBodies } from './bodies.ts';
import { type CatalogEntry, type CatalogOptions, readCatalog } from './catalog.ts';
import { Findings } from './findings.ts';
import { ItemFacts, listedFacts } from './item-facts.ts';
import { inputNotFound, ReaderPool } from './parts.ts';
import { countMediaRead, writeMediaReadCount } from './read-count.ts';

export interface TakeoutSourceOptions {
  /** Takeout parts: .zip, .tgz/.tar.gz/.tar files, or folders (extracted Takeouts or folders of parts). */
  inputs: string[];
  /** Zone for wall-clock dates with no offset (EXIF without OffsetTimeOriginal, file names): IANA or 'UTC', as resolveTimeZone gives. */
  timeZone: string;
  /** Also list items in Trash/Bin or flagged `trashed` (left out by default, like immich-go). */
  includeTrash?: boolean;
  onWarning?: (message: string) => void;
  /** Parts found elsewhere than on disk (the Drive source); `inputs` then only name them in messages. */
  findParts?: CatalogOptions['findParts'];
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
};

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
    return {
      ...listedFacts(entry),
      dateSource: 'none',
      open: counted,
      ...(contentHash ? { contentHash } : {}),
      resolve: async () => ({
        ...(await itemFacts.resolve(entry)),
        open: counted,
        ...(contentHash ? { contentHash } : {}),
      }),
    };
  }

  async function* list(signal: AbortSignal): AsyncGenerator<SourceItem> {
    try {
      const catalog = await readCatalog(options, findings, pool);
      sequential = catalog.tarParts.length > 0;
      known =
        catalog.randomAccess.length + catalog.tarParts.reduce((sum, { entries }) => sum + entries.size, 0);
      const itemFacts = new ItemFacts(catalog.originals, pool, options.timeZone);
      facts = itemFacts;
      const entries = catalog.randomAccess;
      for (let at = 0; at < entries.length; at++) {
        signal.throwIfAborted();
        const entry = entries[at] as CatalogEntry;
        // Let go once handed on: the item holds it while it is saved, and the listing's memory
        // (an entry per photo) shrinks while the record's grows, instead of both adding up.
        entries[at] = undefined;
        yield listedItem(entry, itemFacts, openRandomAccess(entry.copy), true);
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
    name: 'takeout',
    stopsOnSkips: false,
    get sequential() {
      return sequential;
    },
    endMessage: () => 'Read every archive.',
    total: () => known,
    problems: () => findings.problems(),
    list,
    async close() {
      facts?.clear();
      await pool.closeAll();
      writeMediaReadCount();
    },
  };
}
