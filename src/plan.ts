/**
 * Pure decisions: for each listed item, where it goes and whether to download it, plus the
 * seed's skip-stop rule. backup.ts gathers the facts (what is recorded, what is on disk) and acts.
 */
import { dayOf, nameKey, relativePathOf, safeFileName, suffixedName, UNDATED_FOLDER } from './layout.ts';
import type { SourceItem } from './sources/source.ts';

export interface PlanContext {
  year: number;
  /** IANA zone for the day folder when the item has no offset of its own. */
  zone: string;
  /** Drop items whose day is in another year (picker, takeout); the Library API already filters by year. */
  enforceYear: boolean;
  includeUndated: boolean;
  /** The recorded item at a path, compared case- and normalization-insensitively (this run's claims included). */
  ownerOf(relativePath: string): string | undefined;
  /** The recorded path and size of an item saved earlier. */
  recordOf(id: string): { path: string; size: number } | undefined;
}

export type Placement =
  | { kind: 'exclude'; reason: 'other-year'; day: string }
  | { kind: 'exclude'; reason: 'undated' }
  | { kind: 'unavailable'; reason: string }
  | { kind: 'place'; path: string; recorded?: { path: string; size: number } };

/** Where an item belongs. A second item wanting a taken name gets a suffix from its id. */
export function placeItem(item: SourceItem, context: PlanContext): Placement {
  const recorded = context.recordOf(item.id);
  if (recorded) return { kind: 'place', path: recorded.path, recorded };
  let folder: string;
  if (item.takenAt === undefined || Number.isNaN(item.takenAt.getTime())) {
    if (!context.includeUndated) return { kind: 'exclude', reason: 'undated' };
    folder = UNDATED_FOLDER;
  } else {
    folder = dayOf(item.takenAt, context.zone, item.utcOffsetMinutes);
    if (context.enforceYear && Number(folder.slice(0, 4)) !== context.year) {
      return { kind: 'exclude', reason: 'other-year', day: folder };
    }
  }
  if (item.unavailable) return { kind: 'unavailable', reason: item.unavailable };
  const name = safeFileName(item.filename);
  let path = relativePathOf(folder, name);
  const owner = context.ownerOf(path);
  if (owner !== undefined && owner !== item.id) path = relativePathOf(folder, suffixedName(name, item.id));
  return { kind: 'place', path };
}

export type Decision =
  | { action: 'skip'; reason: 'recorded' | 'exists' }
  | { action: 'download'; path: string; reason: 'new' | 'missing' | 'changed' };

export interface DiskFacts {
  /** Size of the file now at the placed path, or undefined when there is none. */
  sizeOnDisk: number | undefined;
  /** The item's size when the source knows it (or a probe found it). */
  itemSize: number | undefined;
}

/**
 * Skip what is already saved: an item recorded whose file is still there with its size, or a file
 * of the same name and size in its day folder (a backup made by the original script).
 * A file of that name but another size belongs to something else: save beside it with a suffix.
 */
export function decideItem(
  item: SourceItem,
  placement: Placement & { kind: 'place' },
  facts: DiskFacts,
): Decision {
  if (placement.recorded) {
    if (facts.sizeOnDisk === placement.recorded.size) return { action: 'skip', reason: 'recorded' };
    return { action: 'download', path: placement.path, reason: 'missing' };
  }
  if (facts.sizeOnDisk === undefined) return { action: 'download', path: placement.path, reason: 'new' };
  if (facts.itemSize !== undefined && facts.itemSize === facts.sizeOnDisk)
    return { action: 'skip', reason: 'exists' };
  const slash = placement.path.lastIndexOf('/');
  const folder = placement.path.slice(0, slash);
  const name = placement.path.slice(slash + 1);
  return { action: 'download', path: relativePathOf(folder, suffixedName(name, item.id)), reason: 'changed' };
}

export interface SkipState {
  consecutive: number;
  stopped: boolean;
}

/**
 * The seed's rule: stop after more than `maxSkipped` consecutive skips; a download resets the
 * count. `armed` is false while the year has never been walked to its end (a first run, or one
 * after an interrupted run), so such a run walks on instead of stopping at the first skips.
 */
export function nextSkipState(
  state: SkipState,
  action: 'skip' | 'download',
  rule: { maxSkipped: number; armed: boolean },
): SkipState {
  if (action === 'download') return { consecutive: 0, stopped: false };
  const consecutive = state.consecutive + 1;
  return { consecutive, stopped: rule.armed && consecutive > rule.maxSkipped };
}

/** Key for a path in the claims map of a run. */
export function claimKey(relativePath: string): string {
  return nameKey(relativePath);
}
