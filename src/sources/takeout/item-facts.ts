/**
 * The facts of one catalog entry: what is known without reading it (names, size, the evidence
 * that tells it apart from another photo at the same path), and on demand its date and metadata,
 * which may read the file's own EXIF, HEIF or QuickTime date.
 */

import { crc32 } from 'node:zlib';
import { factsFromTakeout, metadataOfFacts } from '../../metadata/facts.ts';
import { openFileReader, type RandomAccessReader, withFailures } from '../random-access.ts';
import type { DateSource, ItemEvidence, SourceItem } from '../source.ts';
import { type CatalogEntry, isTrashed } from './catalog.ts';
import { type ExifCapture, guessDateFromPath, parseSidecarTimestamp, resolveCaptureDate } from './dates.ts';
import { bufferReader, handleReader, reopeningReader } from './formats/byte-readers.ts';
import { EXIF_HEAD_BYTES } from './formats/exif.ts';
import { MEDIA_STREAM_BUDGET, mayHaveMediaDate, readMediaDate } from './formats/media-dates.ts';
import { readZipEntry, readZipEntryPrefix, type ZipEntry, zipEntryDataOffset } from './formats/zip-reader.ts';
import { mayHaveExif, mediaType } from './media-names.ts';
import { parseTakeoutPartName } from './part-names.ts';
import { openPart, type Part, type PartFile, type ReaderPool, zipCrcOf, zipEntryOf } from './parts.ts';
import { countMediaRead } from './read-count.ts';
import { baseName, type JsonFacts, ownString } from './tree.ts';

export type ListedFacts = Omit<SourceItem, 'open' | 'dateSource'>;
export type ResolvedFacts = Omit<SourceItem, 'open'>;

/** What every listed item carries before any media byte is read: names, size, and its evidence. */
export function listedFacts(entry: CatalogEntry): ListedFacts {
  const filename = baseName(entry.copy.path);
  const type = mediaType(filename);
  return {
    // One flat string: the record keeps the id, and a joined one would keep the entry's key (a
    // slice) and with it the entry's whole path in the archive.
    id: ownString(`takeout:${entry.key}`),
    filename,
    kind: type.kind,
    ...(type.mimeType ? { mimeType: type.mimeType } : {}),
    size: entry.copy.size,
    dedupeByContent: true,
    evidence: evidenceOf(entry),
  };
}

/** Entries whose dates are read ahead of the pipeline (ItemFacts.readAhead). */
const AHEAD = 4;

/** Dates and metadata of the entries of one catalog; the dates of `originals` are read once and kept. */
export class ItemFacts {
  // By entry, not by key: two exports may each hold another photo at one key.
  private readonly exifCache = new Map<CatalogEntry, Promise<ExifCapture | undefined>>();

  constructor(
    private readonly originals: ReadonlySet<CatalogEntry>,
    private readonly pool: ReaderPool,
    private readonly timeZone: string,
    /** The year being saved, when known: see `outsideYear`. */
    private readonly year?: number,
  ) {}

  /**
   * True when the sidecar puts the item two days or more outside the year. Its date is then the
   * sidecar's whatever the file says (a file's own date only lends a sidecar date its UTC offset,
   * at most 14 hours either way), so it lands in another year and its bytes need not be read:
   * for Takeouts read over the network (Drive), that keeps every other year's media unread.
   */
  private outsideYear(sidecarDate: Date | undefined): boolean {
    if (this.year === undefined || !sidecarDate) return false;
    const margin = 2 * 86_400_000;
    const time = sidecarDate.getTime();
    return time < Date.UTC(this.year, 0, 1) - margin || time >= Date.UTC(this.year + 1, 0, 1) + margin;
  }

  clear(): void {
    this.exifCache.clear();
    this.ahead.clear();
  }

  /**
   * Dates read ahead of the pipeline's ask. The pipeline resolves one item after another, and
   * over the network each date is a round trip: once it asks for one, the next few entries of
   * remote parts (Drive) that may be in the year are read already, so their waits overlap. Only
   * after an ask, so a rerun whose items the record holds reads none. At most AHEAD kept.
   */
  private readonly ahead = new Map<CatalogEntry, Promise<ExifCapture | undefined>>();

  readAhead(entries: readonly (CatalogEntry | undefined)[], from: number): void {
    for (let at = from; at < Math.min(entries.length, from + AHEAD); at++) {
      const entry = entries[at];
      if (!entry || entry.copy.part.open === undefined || this.ahead.has(entry) || this.exifCache.has(entry))
        continue;
      const sidecarDate = entry.sidecar ? takenAtOf(entry.sidecar.json) : undefined;
      if (this.outsideYear(sidecarDate)) continue;
      if (!mayHaveExif(entry.copy.path) && !mayHaveMediaDate(entry.copy.path)) continue;
      countMediaRead();
      // Read ahead and maybe never asked for (dropped below, or the run stopped): its failure is
      // told to the item that asks, never an unhandled rejection.
      const read = readMediaDateOf(entry.copy, this.pool, sidecarDate === undefined);
      read.catch(() => undefined);
      this.ahead.set(entry, read);
      while (this.ahead.size > AHEAD) this.ahead.delete(this.ahead.keys().next().value as CatalogEntry);
    }
  }

  private takeAhead(entry: CatalogEntry): Promise<ExifCapture | undefined> | undefined {
    const read = this.ahead.get(entry);
    if (read) this.ahead.delete(entry);
    return read;
  }

  async resolve(entry: CatalogEntry): Promise<ResolvedFacts> {
    const ownSidecarDate = entry.sidecar ? takenAtOf(entry.sidecar.json) : undefined;
    if (ownSidecarDate && this.outsideYear(ownSidecarDate)) {
      return {
        ...listedFacts(entry),
        takenAt: ownSidecarDate,
        dateSource: 'sidecar',
        metadata: metadataOf(entry, undefined),
      };
    }
    const original = entry.original;
    const ownExif = await this.exifOf(entry);
    // A Live/Motion video part's own QuickTime date is only a fallback: its still's date comes first.
    const videoPart = original !== undefined && mediaType(entry.copy.path).kind === 'video';
    const preferOriginal = original !== undefined && (!ownExif || videoPart);
    const originalExif = original && preferOriginal ? await this.exifOf(original) : undefined;
    let sidecarDate = entry.sidecar ? takenAtOf(entry.sidecar.json) : undefined;
    let exif = ownExif;
    let inherited: string | undefined;
    if (original && preferOriginal && !sidecarDate) {
      // Edited copies and Live/Motion video parts have no sidecar of their own (or borrow one that
      // is not theirs): they land on their original's day.
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
      ...(sidecarDate || exif ? {} : { fileName: guessDateFromPath(entry.key) }),
      timeZone: this.timeZone,
    });
    const item: ResolvedFacts = {
      ...listedFacts(entry),
      dateSource: resolved.dateSource as DateSource,
      metadata: metadataOf(entry, inherited),
    };
    if (resolved.takenAt) item.takenAt = resolved.takenAt;
    if (resolved.utcOffsetMinutes !== undefined) item.utcOffsetMinutes = resolved.utcOffsetMinutes;
    return item;
  }

  private exifOf(entry: CatalogEntry): Promise<ExifCapture | undefined> {
    const copy = entry.copy;
    if (!mayHaveExif(copy.path) && !mayHaveMediaDate(copy.path)) return Promise.resolve(undefined);
    if (copy.part.kind === 'tar') return Promise.resolve(copy.exif);
    let cached = this.exifCache.get(entry) ?? this.takeAhead(entry);
    if (!cached) {
      const needsDate = !(entry.sidecar && takenAtOf(entry.sidecar.json));
      countMediaRead();
      cached = readMediaDateOf(copy, this.pool, needsDate);
      // Cached for later items too: a failure is theirs when they ask, not an unhandled rejection.
      cached.catch(() => undefined);
      // Kept only for the originals of other items (edited copies, Live/Motion parts read it
      // again); every other item's date is read once, and a cache of all of them grew with the run.
      if (this.originals.has(entry)) this.exifCache.set(entry, cached);
    }
    return cached;
  }
}

/**
 * What tells this photo apart from another Google later puts at the same path (it numbers
 * same-named files per export, so `IMG_0001.jpg` can be another photo next time): the CRC-32 the
 * zip directory holds (or tgz pass 1 computed), and the item's own sidecar, never one borrowed.
 */
function evidenceOf(entry: CatalogEntry): ItemEvidence {
  const crc = zipCrcOf(entry.copy) ?? entry.copy.crc32;
  const exportedAt = exportTimeOf(entry.copy.part);
  const json = entry.sidecar && !entry.sidecar.borrowed ? entry.sidecar.json : undefined;
  // The usual evidence named at once (same key order as below), so every field lives in the
  // object itself: added one by one, the last ones went to a property array (about 40 bytes a
  // record, kept by the manifest for the whole run).
  const takenTime = json?.takenTime === undefined ? undefined : String(json.takenTime);
  if (
    crc !== undefined &&
    json?.title !== undefined &&
    json.photoId !== undefined &&
    takenTime !== undefined
  ) {
    const { title, photoId } = json;
    const sidecarFacts = sidecarFactsCrc(json);
    return exportedAt === undefined
      ? { crc32: crc, takenTime, title, photoId, sidecarFacts }
      : { crc32: crc, exportedAt, takenTime, title, photoId, sidecarFacts };
  }
  const evidence: ItemEvidence = {};
  if (crc !== undefined) evidence.crc32 = crc;
  if (exportedAt !== undefined) evidence.exportedAt = exportedAt;
  if (json) {
    if (json.takenTime !== undefined) evidence.takenTime = String(json.takenTime);
    if (json.title !== undefined) evidence.title = json.title;
    if (json.photoId !== undefined) evidence.photoId = json.photoId;
    evidence.sidecarFacts = sidecarFactsCrc(json);
  }
  return evidence;
}

/** One string per part, not one per item: every record the manifest keeps holds it. */
const exportTimes = new WeakMap<Part, string | null>();

/** When Google made the export a part belongs to, from Takeout's part name; undefined when renamed. */
function exportTimeOf(part: Part): string | undefined {
  let time = exportTimes.get(part);
  if (time === undefined) {
    time = parseTakeoutPartName(baseName(part.file.replace(/\\/g, '/')))?.time.toISOString() ?? null;
    exportTimes.set(part, time);
  }
  return time ?? undefined;
}

/** A checksum of the sidecar facts a user can edit in Google Photos besides the date. */
function sidecarFactsCrc(json: JsonFacts): number {
  const facts = [
    json.location ?? null,
    json.description ?? null,
    json.people ?? null,
    json.favorited ?? null,
  ];
  return crc32(JSON.stringify(facts));
}

/** The sidecar's `photoTakenTime` as an instant (dates.ts `sidecarTakenAt`, from the kept facts). */
function takenAtOf(json: JsonFacts): Date | undefined {
  return parseSidecarTimestamp(json.takenTime);
}

function metadataOf(entry: CatalogEntry, inherited: string | undefined): Record<string, unknown> {
  const record: JsonFacts = entry.sidecar?.json ?? { kind: 'other' };
  // What a sidecar needs (location with geoData before geoDataExif, people, favourite…), kept for
  // a later --xmp run; the albums are the album titles of the album folders that hold a copy.
  const facts = factsFromTakeout(
    {
      title: record.title,
      description: record.description,
      geoData: record.location,
      people: record.people?.map((name) => ({ name })),
      favorited: record.favorited,
    },
    { id: `takeout:${entry.key}`, albums: entry.albums, filename: baseName(entry.copy.path) },
  );
  // Its own object already, extended in place: a spread copy got a hidden class of its own per
  // item (a heap snapshot: one per photo, about 250 bytes each, kept by the manifest's records).
  const metadata = metadataOfFacts(facts);
  metadata.archived = record.archived === true || entry.folderKind === 'archive';
  metadata.favorited = record.favorited === true;
  if (entry.folderKind === 'locked') metadata.locked = true;
  if (isTrashed(entry)) metadata.trashed = true;
  if (entry.sidecar) {
    metadata.sidecar = entry.sidecar.key;
    metadata.matchMethod = entry.sidecar.method;
    if (entry.sidecar.borrowed) metadata.sidecarBorrowed = true;
  } else {
    metadata.matchMethod = 'none';
  }
  if (inherited) metadata.dateFrom = inherited;
  return metadata;
}

/**
 * A file's own date (EXIF, HEIF or QuickTime) read in place. Folder files and stored zip entries
 * are read with small positional reads, so a `moov` at the end of a big video, or a raw file's
 * Exif IFD far into it, costs a few small reads. A deflated zip entry cannot be read out of order:
 * it is inflated forward, up to MEDIA_STREAM_BUDGET (boxes past it stay unread), again from its
 * start when the file points back (a HEIC's `meta` after `mdat`), and only for items with no
 * sidecar date; otherwise its first bytes are enough.
 *
 * Bytes that say nothing (no date, a damaged box tree) give no date. Bytes that could not be read
 * (Drive's quota, a part gone or replaced, a disk error) are the item's failure, thrown: taken for
 * "no date", a photo with no sidecar would be left out as undated and its part remembered as
 * finished, so it would never be read again.
 */
async function readMediaDateOf(
  copy: PartFile,
  pool: ReaderPool,
  needsDate: boolean,
): Promise<ExifCapture | undefined> {
  const watch = new FetchWatch();
  const zip = zipEntryOf(copy);
  let found: ExifCapture | undefined;
  if (zip && zip.method === 0) {
    const handle = watch.reader(await pool.get(copy.part));
    const start = await zipEntryDataOffset(handle, zip).catch(() => undefined);
    // A local header that does not parse is the body's problem, told when it is saved.
    found = start === undefined ? undefined : await readMediaDate(handleReader(handle, start, copy.size));
    return watch.checked(found);
  }
  if (zip) {
    // Most EXIF is in the first bytes (one pooled read); a box tree cut at the head could give a
    // lesser date (mvhd without its ©day), so only EXIF files settle for the head when undated.
    if (!needsDate || mayHaveExif(copy.path)) {
      const handle = watch.reader(await pool.get(copy.part));
      const head = await readZipEntryPrefix(handle, zip, EXIF_HEAD_BYTES).catch(() => undefined);
      found = head === undefined ? undefined : await readMediaDate(bufferReader(head, copy.size));
      if (found || !needsDate || head === undefined || head.length >= copy.size) return watch.checked(found);
    }
    const part = copy.part;
    const reader = reopeningReader(
      () => zipEntryOnce(part, zip, (opened) => watch.reader(opened)),
      copy.size,
      MEDIA_STREAM_BUDGET,
    );
    try {
      found = await readMediaDate(reader);
    } finally {
      await reader.close();
    }
    return watch.checked(found);
  }
  const handle = watch.reader(await openFileReader(copy.fsPath as string));
  try {
    found = await readMediaDate(handleReader(handle, 0, copy.size));
  } finally {
    await handle.close();
  }
  return watch.checked(found);
}

/**
 * What the readers under a date read failed with. readMediaDate never throws, and the zip reader
 * throws for damaged content too (no date: the save says why); a failure of the part's own reader
 * (the disk, Drive's quota, a part gone or replaced) is the fetching's, and thrown.
 */
class FetchWatch {
  private failure: { error: unknown } | undefined;

  reader(reader: RandomAccessReader): RandomAccessReader {
    return withFailures(reader, (error) => {
      this.failure ??= { error };
      return error;
    });
  }

  checked(found: ExifCapture | undefined): ExifCapture | undefined {
    if (this.failure) throw this.failure.error;
    return found;
  }
}

/** One pass over a zip entry through a reader of its own (the reopening reader may start over). */
async function* zipEntryOnce(
  part: PartFile['part'],
  zip: ZipEntry,
  wrap: (reader: RandomAccessReader) => RandomAccessReader,
): AsyncGenerator<Uint8Array> {
  const reader = wrap(await openPart(part, 'entry'));
  try {
    yield* readZipEntry(reader, zip);
  } finally {
    await reader.close();
  }
}
