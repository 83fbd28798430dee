/**
 * Pure decisions: for each listed item, where it goes and whether to download it, plus the
 * seed's skip-stop rule. backup.ts gathers the facts (what is recorded, what is on disk) and acts.
 */
import { createHash } from 'node:crypto';
import { dayOf, nameKey, relativePathOf, safeFileName, suffixedName, UNDATED_FOLDER } from './layout.ts';
import type { ItemEvidence, MediaKind, SourceItem } from './sources/source.ts';

export interface PlanContext {
  year: number;
  /** IANA zone for the day folder when the item has no offset of its own. */
  timeZone: string;
  /** Drop items whose day is in another year (picker, takeout); the Library API already filters by year. */
  enforceYear: boolean;
  includeUndated: boolean;
  /** The recorded item at a path, compared case- and normalization-insensitively (this run's claims included). */
  ownerOf(relativePath: string): string | undefined;
  /**
   * The record of this item saved earlier: by id, and where ids are places (`item.evidence`) only
   * the record whose evidence says it is the same item (matchRecord).
   */
  recordOf(item: SourceItem): { path: string; size: number } | undefined;
}

export type Placement =
  | { kind: 'exclude'; reason: 'other-year'; day: string }
  | { kind: 'exclude'; reason: 'undated' }
  | { kind: 'unavailable'; reason: string }
  | { kind: 'place'; path: string; recorded?: { path: string; size: number } };

/**
 * Whether the user left this item's kind out (--skip-videos, --skip-photos). Such an item is
 * neither saved nor "already saved": it is counted apart and stands outside the skip rule, which
 * is about files saved before.
 */
export function leftOutByChoice(item: SourceItem, leaveOut: MediaKind | undefined): boolean {
  return leaveOut !== undefined && item.kind === leaveOut;
}

/**
 * The walks a run's start makes unfinished, and the one its clean end finishes. Saving anything
 * new breaks the skip rule's premise (all before the stop point is saved) for every walk of the
 * year, so each one finished is reopened; a run that leaves a kind out finishes only its own.
 */
export function walksOfRun(
  key: (leftOut?: MediaKind) => string,
  leaveOut: MediaKind | undefined,
): { own: string; all: string[]; arming: string[] } {
  const own = key(leaveOut);
  const whole = key();
  return {
    own,
    all: [whole, key('video'), key('photo')],
    // The whole year walked to its end also covers a walk that leaves a kind out.
    arming: own === whole ? [whole] : [own, whole],
  };
}

/** The year of a `YYYY-MM-DD` day folder, all its digits (a sidecar can say year 20243). */
export function yearOfDay(day: string): number {
  return Number(day.slice(0, day.indexOf('-', 1)));
}

const RECORDED_DAY = /^(-?\d+-\d\d-\d\d)\//;

/**
 * Where an item belongs. A second item wanting a taken name gets a suffix from its id. A recorded
 * item keeps its recorded path, and counts for the year of its day folder only.
 */
export function placeItem(item: SourceItem, context: PlanContext): Placement {
  const recorded = context.recordOf(item);
  if (recorded) {
    if (context.enforceYear) {
      const day = RECORDED_DAY.exec(recorded.path)?.[1];
      if (day !== undefined && yearOfDay(day) !== context.year)
        return { kind: 'exclude', reason: 'other-year', day };
      if (recorded.path.startsWith(`${UNDATED_FOLDER}/`) && !context.includeUndated)
        return { kind: 'exclude', reason: 'undated' };
    }
    return { kind: 'place', path: recorded.path, recorded };
  }
  let folder: string;
  if (item.takenAt === undefined || Number.isNaN(item.takenAt.getTime())) {
    if (!context.includeUndated) return { kind: 'exclude', reason: 'undated' };
    folder = UNDATED_FOLDER;
  } else {
    folder = dayOf(item.takenAt, context.timeZone, item.utcOffsetMinutes);
    if (context.enforceYear && yearOfDay(folder) !== context.year) {
      return { kind: 'exclude', reason: 'other-year', day: folder };
    }
  }
  if (item.unavailable) return { kind: 'unavailable', reason: item.unavailable };
  const name = safeFileName(item.filename);
  let path = relativePathOf(folder, name);
  if (!item.evidence) {
    const owner = context.ownerOf(path);
    if (owner !== undefined && owner !== item.id) path = relativePathOf(folder, suffixedName(name, item.id));
    return { kind: 'place', path };
  }
  // An item not matched to a record is never the owner of a name, even one recorded under its id:
  // that is another photo that once stood at the same Takeout path.
  for (const key of [item.id, variantKey(item)]) {
    if (context.ownerOf(path) === undefined) break;
    path = relativePathOf(folder, suffixedName(name, key));
  }
  return { kind: 'place', path };
}

/** What a suffix is made from for an item whose id another item may share: its id and its evidence. */
function variantKey(item: SourceItem): string {
  const evidence = item.evidence ?? {};
  return [item.id, item.size, evidence.crc32, evidence.takenTime, evidence.title].join('\n');
}

/** What is known of an item's bytes, from the source or from the record. */
export interface ContentFacts extends ItemEvidence {
  size?: number;
  sha256?: string;
}

export type Sameness = 'same' | 'different' | 'unknown';

/**
 * Whether two descriptions are of the same bytes: a content hash or a CRC-32 decides when both
 * sides have it, else both sidecar facts. Any fact that differs means another item. Pure.
 */
export function compareContent(a: ContentFacts, b: ContentFacts): Sameness {
  if (a.size !== undefined && b.size !== undefined && a.size !== b.size) return 'different';
  // Google's photo ids (the sidecar's `url`) differ: two photos, whatever else agrees.
  const ids = a.photoId !== undefined && b.photoId !== undefined;
  if (ids && a.photoId !== b.photoId) return 'different';
  if (a.sha256 !== undefined && b.sha256 !== undefined) return a.sha256 === b.sha256 ? 'same' : 'different';
  if (a.crc32 !== undefined && b.crc32 !== undefined) return a.crc32 === b.crc32 ? 'same' : 'different';
  const taken = a.takenTime !== undefined && b.takenTime !== undefined;
  const title = a.title !== undefined && b.title !== undefined;
  // One Google photo whose date or name was edited since: its bytes decide whether it is the same.
  if ((taken && a.takenTime !== b.takenTime) || (title && a.title !== b.title))
    return ids ? 'unknown' : 'different';
  if (taken && title && a.size !== undefined && b.size !== undefined) return 'same';
  return 'unknown';
}

/** The facts a record holds, taking only well-formed fields (the record is input too). */
export function recordFacts(record: { size: number; sha256?: unknown; evidence?: unknown }): ContentFacts {
  const facts: ContentFacts = { size: record.size };
  if (typeof record.sha256 === 'string' && /^[0-9a-f]{64}$/.test(record.sha256)) facts.sha256 = record.sha256;
  const evidence = record.evidence;
  if (typeof evidence === 'object' && evidence !== null) {
    const { crc32, takenTime, title, photoId, sidecarFacts, exportedAt } = evidence as Record<
      string,
      unknown
    >;
    if (isCrc(crc32)) facts.crc32 = crc32;
    if (typeof takenTime === 'string') facts.takenTime = takenTime;
    if (typeof title === 'string') facts.title = title;
    if (typeof photoId === 'string' && photoId !== '') facts.photoId = photoId;
    if (isCrc(sidecarFacts)) facts.sidecarFacts = sidecarFacts;
    if (typeof exportedAt === 'string') facts.exportedAt = exportedAt;
  }
  return facts;
}

function isCrc(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}

export function itemFacts(item: SourceItem): ContentFacts {
  return { ...(item.size === undefined ? {} : { size: item.size }), ...item.evidence };
}

export type RecordMatch<R> =
  | { kind: 'same'; record: R }
  | { kind: 'unknown'; records: R[] }
  | { kind: 'new' };

/**
 * Which record, of those under an item's id, is this item. Only one whose facts say "same" is;
 * the ones that cannot tell (written before evidence was kept) are handed back to be checked by
 * content; none of them is taken on trust, so a new photo at an old path is never skipped.
 */
export function matchRecord<R extends { size: number; sha256?: unknown; evidence?: unknown }>(
  records: readonly R[],
  facts: ContentFacts,
): RecordMatch<R> {
  const unknown: R[] = [];
  for (let index = records.length - 1; index >= 0; index--) {
    const record = records[index] as R;
    const verdict = compareContent(recordFacts(record), facts);
    if (verdict === 'same') return { kind: 'same', record };
    if (verdict === 'unknown') unknown.push(record);
  }
  return unknown.length > 0 ? { kind: 'unknown', records: unknown } : { kind: 'new' };
}

export type Decision =
  | { action: 'skip'; reason: 'recorded' | 'exists' }
  | { action: 'download'; path: string; reason: 'new' | 'missing' | 'changed' };

export interface DiskFacts {
  /** Size of the file now at the placed path, or undefined when there is none. */
  sizeOnDisk: number | undefined;
  /** The item's size when the source knows it (or a probe found it). */
  itemSize: number | undefined;
  /** The file there was compared by content with the item and holds other bytes. */
  contentDiffers?: boolean;
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
  if (facts.itemSize !== undefined && facts.itemSize === facts.sizeOnDisk && !facts.contentDiffers)
    return { action: 'skip', reason: 'exists' };
  const slash = placement.path.lastIndexOf('/');
  const folder = placement.path.slice(0, slash);
  const name = placement.path.slice(slash + 1);
  const key = item.evidence ? variantKey(item) : item.id;
  return { action: 'download', path: relativePathOf(folder, suffixedName(name, key)), reason: 'changed' };
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

/**
 * What makes a listed item one item in a run, besides its id: its evidence where ids are places
 * (0 where they are identities). Kept per id for every item of a run, so one number, not a string:
 * the first 48 bits of the SHA-256 of the size and evidence (the flat string of them was about 72
 * bytes an item, 7 MB at 100,000 photos, twice that in the heap's peak; the number is 16). Two
 * different listings of one id are taken for one with a chance of 2^-48.
 */
export function listingVariant(item: Pick<SourceItem, 'size' | 'evidence'>): number {
  const evidence = item.evidence;
  if (!evidence) return 0;
  // With the sidecar's other facts: a later export's copy with an edited location is not the same listing.
  const text = [item.size, evidence.crc32, evidence.takenTime, evidence.title, evidence.sidecarFacts].join(
    '\n',
  );
  return createHash('sha256').update(text).digest().readUIntBE(0, 6);
}

/**
 * Whether an item matched to its record came again with facts the user can edit in Google Photos
 * (its date; its location, description, people or favourite, as one checksum), or under another
 * id (the same Google photo at another path of a later export: renumbered, or in another year
 * folder after a date edit). Only such an item is resolved and its record brought up to date; a
 * fact one side lacks (a record written before it was kept) is no change. Pure.
 */
export function hasNewFacts(recorded: ContentFacts, listed: ContentFacts, sameId: boolean): boolean {
  // An export no newer than the one the record's facts come from (an old export read again).
  if (
    recorded.exportedAt !== undefined &&
    listed.exportedAt !== undefined &&
    listed.exportedAt <= recorded.exportedAt
  )
    return false;
  if (!sameId) return true;
  if (
    recorded.takenTime !== undefined &&
    listed.takenTime !== undefined &&
    recorded.takenTime !== listed.takenTime
  )
    return true;
  return (
    recorded.sidecarFacts !== undefined &&
    listed.sidecarFacts !== undefined &&
    recorded.sidecarFacts !== listed.sidecarFacts
  );
}

/**
 * What a saved item's new facts change on disk ("same item, new evidence"): its file moves to the
 * day folder of its new date, keeping its saved name (suffixed when another item holds that name
 * there); otherwise only its record (and so its XMP sidecar) is brought up to date. A copy (its
 * bytes saved for another item) never moves on its own: the owner's move takes it along. An item
 * now undated stays where it is. Pure.
 */
export type Revision = { action: 'update'; path: string } | { action: 'move'; from: string; to: string };

export function reviseItem(
  recorded: { id: string; path: string; copyOf?: string },
  item: SourceItem,
  context: Pick<PlanContext, 'timeZone' | 'ownerOf'>,
): Revision {
  const slash = recorded.path.lastIndexOf('/');
  const folder = recorded.path.slice(0, slash);
  const stay: Revision = { action: 'update', path: recorded.path };
  if (recorded.copyOf !== undefined || item.takenAt === undefined || Number.isNaN(item.takenAt.getTime()))
    return stay;
  const day = dayOf(item.takenAt, context.timeZone, item.utcOffsetMinutes);
  if (day === folder) return stay;
  const name = recorded.path.slice(slash + 1);
  let to = relativePathOf(day, name);
  const owner = context.ownerOf(to);
  if (owner !== undefined && owner !== item.id && owner !== recorded.id)
    to = relativePathOf(day, suffixedName(name, item.id));
  return { action: 'move', from: recorded.path, to };
}
