/**
 * The one narrow interface every source implements (library, picker, takeout, drive), like rclone's
 * backends: a source lists items and opens their bytes; it never decides where they go.
 */

/**
 * Where a run reads from, as the user sees it (the start line, the summary, `--json`, the record's
 * `source`). Not an item's identity: Takeout items read from Drive keep their `takeout:` ids.
 */
export type SourceName = 'library' | 'picker' | 'takeout' | 'drive';
export type MediaKind = 'photo' | 'video';

/** Where an item's capture date came from; shown by --dry-run and kept in the record. */
export type DateSource = 'api' | 'sidecar' | 'exif' | 'filename' | 'none';

export interface OpenedMedia {
  /** The bytes. Iterated once; an error while iterating is classified like an error from open(). */
  body: AsyncIterable<Uint8Array>;
  /** Expected length when known (Content-Length, archive entry size): a shorter or longer body is an error. */
  size?: number;
}

/**
 * Facts about an item's content that cost no read of its bytes, for sources whose ids are places
 * that another item can take later (a Takeout path: Google numbers same-named files per export,
 * so `IMG_0001.jpg` can be another photo in the next export). Compared with the record by plan.ts.
 */
export interface ItemEvidence {
  /** CRC-32 of the bytes: a zip's central directory gives it, a tgz read passes every byte anyway. */
  crc32?: number;
  /** The item's own sidecar: `photoTakenTime.timestamp` and `title`. */
  takenTime?: string;
  title?: string;
  /**
   * Google's own id of the photo (the sidecar's `url`), the same in every export: a later export
   * that holds the photo again, at another path or with edited facts, is the same item.
   */
  photoId?: string;
  /**
   * CRC-32 of what the sidecar says beyond the date (location, description, people, favourite):
   * when it changes, the photo was edited in Google Photos and its record (and XMP) is brought
   * up to date, without a read of the media for items where nothing changed.
   */
  sidecarFacts?: number;
  /**
   * When Google made the export these facts come from (its parts' `takeout-<UTC timestamp>-…`
   * names), ISO 8601: facts from an export no newer than the record's never replace them, so
   * reading an old export again does not undo a later edit. Unset where the parts were renamed.
   */
  exportedAt?: string;
}

export interface SourceItem {
  /** Stable across runs and rounds: Google's media item id, or `takeout:<path inside Google Photos>`. */
  id: string;
  /** The name as the source gives it; untrusted (layout.ts makes it safe). */
  filename: string;
  kind: MediaKind;
  mimeType?: string;
  /** Capture instant when known. Undefined means undated. */
  takenAt?: Date;
  /**
   * Minutes east of UTC of the capture's local clock when the source knows it (EXIF OffsetTimeOriginal).
   * When set, it decides the day folder instead of --timezone.
   */
  utcOffsetMinutes?: number;
  dateSource: DateSource;
  /** Size in bytes when known before opening. */
  size?: number;
  /** Set when the item cannot be saved now (a video still processing); the text is reported. */
  unavailable?: string;
  /**
   * When true, the bytes are hashed while saved and an item whose bytes were already saved
   * (this run or earlier) is recorded as a copy of that file instead of being written twice.
   */
  dedupeByContent?: boolean;
  /**
   * Facts to keep in the record for a later metadata step (location, description…). `albums`, a
   * list of album names as Google shows them, is what --albums links by.
   */
  metadata?: Record<string, unknown>;
  /**
   * Set when the id is a place, not an identity: the item is "already saved" only when this
   * evidence (and `size`) agrees with the record, and a content hash where it cannot tell.
   */
  evidence?: ItemEvidence;
  /** sha256 of the bytes (reads all of them), for when the evidence cannot tell two items apart. */
  contentHash?(signal: AbortSignal): Promise<string>;
  /**
   * The facts that cost reads of the bytes (an EXIF date): until called, `takenAt` and
   * `metadata` may be missing. The pipeline calls it only for items the record does not settle,
   * so a run over archives already saved reads no media bytes.
   */
  resolve?(signal: AbortSignal): Promise<SourceItem>;
  /** Opens the bytes. Called again for each retry, so it must start from the beginning each time. */
  open(signal: AbortSignal): Promise<OpenedMedia>;
  /**
   * Finds the size without downloading (an HTTP HEAD), for an unrecorded file of the same name
   * found in the day folder: equal sizes mean the original script saved it already.
   */
  probeSize?(signal: AbortSignal): Promise<number | undefined>;
}

export interface Source {
  readonly name: SourceName;
  /**
   * True when the listing comes newest first and complete, so consecutive skips mean the rest of
   * the year was saved by an earlier run (the seed's skip-stop rule). False for picked items and
   * archives, where every item must be looked at.
   */
  readonly stopsOnSkips: boolean;
  /**
   * True when items must be consumed in listing order (a .tgz read as one stream): the pipeline
   * finishes each item's transfer before it asks for the next. Read as each item arrives: a
   * source may know it only once its listing has begun (a Takeout, once its parts are open).
   */
  readonly sequential?: boolean;
  /**
   * True when list() gives only items of the year asked for (the Library API filters by date
   * itself, by the day Google shows): the pipeline then files each item under its day without a
   * second year check. False or unset: items of other years are left out and counted.
   */
  readonly filtersYear?: boolean;
  /** The stop message when the listing ended ("Read every archive."). Unset: "Listed all of <year>." */
  endMessage?(year: number): string;
  /**
   * Which media-download limit a run of bare 429s from the media host means and when to come back
   * (the Picker API's is per minute). Unset: the project's daily download quota.
   */
  readonly mediaLimitAdvice?: string;
  /**
   * Problems met on the way that did not stop the run (a damaged archive part): printed after the
   * summary, and the run is not clean (exit 1). Asked once, after the run.
   */
  problems?(): readonly string[];
  /**
   * Items asked for by id, for the ones an earlier run left pending (a video still processing):
   * with it, such items are remembered and asked for at the start of each run, so they do not
   * keep the year unfinished. `gone` holds ids the source no longer has.
   */
  getByIds?(ids: string[], signal: AbortSignal): Promise<{ items: SourceItem[]; gone: string[] }>;
  /**
   * How many items list() yields in all, once the source knows (a Takeout after reading its
   * catalog; the picker once a round is listed, growing with each round): the progress line's
   * percentage and ETA. Asked after each item listed. Unset or undefined: known at the listing's end.
   */
  total?(): number | undefined;
  /**
   * The album names of the items that belong to albums, by item id (the Library API: the albums
   * this app created). Asked once at the start of a run with --albums. Unset: items carry their
   * albums in `metadata.albums` (Takeout), or the source knows none (the picker).
   */
  albumsById?(signal: AbortSignal): Promise<Map<string, string[]>>;
  /**
   * Told of each item the run settled for the year: saved, already saved, or left out (another
   * year, undated, by choice); an item listed twice is told twice. Not told of failed items, nor
   * in a dry run. A Takeout uses it to
   * remember the parts it need not read again.
   */
  settled?(id: string): void;
  /**
   * Told before listing when files the record holds for the year are gone from the backup folder
   * (deleted by the user, a disk restored from an older copy): a Takeout then reads every part
   * again, finished or not, so those files are saved again.
   */
  recordMissing?(missing: number): void;
  /** Items in listing order. The caller may stop early (`break`); the generator must then clean up. */
  list(signal: AbortSignal): AsyncIterable<SourceItem>;
  /**
   * Release what the source holds (picker session, open archives). Called once, also after errors.
   * `recordSynced`: the run's record lines are on the disk (fsync), so state that trusts them may
   * be written; false when syncing failed.
   */
  close?(end?: { recordSynced: boolean }): Promise<void>;
}

/** A fact the source wants the user to know, e.g. why the Library API found nothing. */
export interface SourceNotice {
  level: 'info' | 'warn';
  message: string;
}
