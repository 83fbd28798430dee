/**
 * One Drive file as a RandomAccessReader: ranged reads of `alt=media` through DriveApi that fetch
 * the bytes asked for and (almost) nothing else, in as few requests as that allows.
 *
 * - Exact reads: a sidecar, a central directory, a zip's end records are fetched as asked, never
 *   rounded out to blocks (other years' neighbouring photos would come along).
 * - Neighbours in one request: reads asked for in the same turn of the event loop (the listing
 *   reads sidecars side by side) are sorted and fetched together when the gap between them is
 *   small, so a run of small entries costs one round trip instead of one each.
 * - Probes read ahead: a read of a few bytes (a local header, a file's magic number) fetches the
 *   next READ_AHEAD bytes too and keeps them, so a photo's header, its EXIF and the first bytes of
 *   its body are one request, and a stream of the entry sends only what follows them.
 * - Large entries are streamed (DriveApi.streamRange, one request, backpressure): never held.
 *
 * What is kept (read-aheads and a file's last bytes, where the directory ends) is shared by the
 * readers of one DriveApi, bounded in bytes, least recently used dropped first, so an entry's
 * body opened by another reader than the one that read its date still starts from the kept bytes.
 *
 * Each reader checks that the file is still the version listed (files.get: size and
 * `md5Checksum`, api.checkUnchanged), while its first request is already on the way; no fetched
 * byte is handed on before the check passed, and no entry's stream starts before it, even one
 * served from kept bytes. A part replaced by another of the same size shows only in its checksum,
 * and without this its entries would fail on their CRC-32 with no word of why; with it, each
 * remaining item of that part fails saying the part changed (or is gone), naming it. The readers
 * of one part's entry bodies share one check (a VersionCheck): asked by the first of them, again
 * once its answer is CHECK_FRESH_MS old, and a part found changed or gone stays so for the run.
 * One check per body was a files.get per item, a seventh of a year's requests.
 */
import type { RandomAccessReader } from '../random-access.ts';
import { type DriveApi, DriveFileChangedError, DriveFileGoneError, type DriveFileRef } from './api.ts';

/** A read this short is a probe: a local header (30 bytes), a file's magic, a box header. */
const PROBE_BYTES = 64;
/** What a probe fetches: a local header, the EXIF or box headers after it, the body's start. */
const READ_AHEAD = 64 * 1024;
/** Reads in one turn this close together are one request: the gap costs less than a round trip. */
const MERGE_GAP = 8 * 1024;
/** No merged request longer than this (it is held whole until its readers take their parts). */
const MAX_MERGED = 1024 * 1024;
/** Kept bytes per DriveApi, across its files and readers. */
const KEPT_BYTES = 8 * 1024 * 1024;
/**
 * How long a shared check's answer stands. A part replaced after it is told by the next check;
 * entries read before that are still verified by their CRC-32 and by the size in every answer's
 * Content-Range.
 */
const CHECK_FRESH_MS = 2000;

export interface DriveReaderOptions {
  /** Bytes kept for all readers of one DriveApi; default 8 MiB. */
  keptBytes?: number;
  /** The check this reader shares with others of the same file; a check of its own when absent. */
  check?: VersionCheck;
}

/**
 * One file's version check shared by several readers (a part's entry bodies): the answer stands
 * for CHECK_FRESH_MS after it came; a file found changed or gone stays so. Any other failure
 * (retries given up) is the asking reader's alone, and the next asks again.
 */
export class VersionCheck {
  private answer: Promise<unknown> | undefined;
  /** When the answer came; undefined while it is on the way. */
  private answeredAt: number | undefined;
  /** Changed or gone: the answer stands for the rest of the run. */
  private final = false;
  /** files.get calls made (for tests). */
  calls = 0;

  constructor(
    private readonly api: DriveApi,
    private readonly file: DriveFileRef,
    private readonly now: () => number = () => performance.now(),
  ) {}

  check(): Promise<unknown> {
    const current = this.answer;
    const fresh =
      this.final || this.answeredAt === undefined || this.now() - this.answeredAt < CHECK_FRESH_MS;
    if (current && fresh) return current;
    this.calls++;
    this.answeredAt = undefined;
    const asked = this.api.checkUnchanged(this.file);
    this.answer = asked;
    asked.then(
      () => {
        if (this.answer === asked) this.answeredAt = this.now();
      },
      (error: unknown) => {
        if (this.answer !== asked) return;
        if (error instanceof DriveFileChangedError || error instanceof DriveFileGoneError) this.final = true;
        else this.answer = undefined;
      },
    );
    return asked;
  }
}

interface Span {
  key: string;
  start: number;
  bytes: Buffer;
}

/** Fetched bytes kept by file and offset, at most `limit` bytes, least recently used dropped first. */
class KeptSpans {
  /** Oldest first. */
  private spans: Span[] = [];
  private bytes = 0;

  constructor(private readonly limit: number) {}

  /** The span holding byte `position` of the file `key`. */
  find(key: string, position: number): Span | undefined {
    for (let index = this.spans.length - 1; index >= 0; index--) {
      const span = this.spans[index] as Span;
      if (span.key === key && span.start <= position && position < span.start + span.bytes.length)
        return span;
    }
    return undefined;
  }

  add(span: Span): void {
    if (span.bytes.length > this.limit) return;
    this.spans.push(span);
    this.bytes += span.bytes.length;
    while (this.bytes > this.limit) {
      const oldest = this.spans.shift() as Span;
      this.bytes -= oldest.bytes.length;
    }
  }
}

const keptByApi = new WeakMap<DriveApi, KeptSpans>();

interface Pending {
  start: number;
  /** Exclusive. */
  end: number;
  keep: boolean;
  signal: AbortSignal | undefined;
  resolve(bytes: Buffer): void;
  reject(error: unknown): void;
}

export class DriveReader implements RandomAccessReader {
  readonly size: number;
  /** Ranged requests this reader sent (for tests). */
  requests = 0;
  private readonly key: string;
  private pending: Pending[] = [];
  private scheduled = false;
  private verified: Promise<unknown> | undefined;

  constructor(
    private readonly api: DriveApi,
    private readonly file: DriveFileRef,
    private readonly kept: KeptSpans,
    private readonly shared?: VersionCheck,
  ) {
    this.size = file.size;
    // Another version of the file (same id) never reads the kept bytes of the one before.
    this.key = `${file.id}:${file.size}:${file.md5Checksum ?? ''}`;
  }

  async read(position: number, length: number, signal?: AbortSignal): Promise<Buffer> {
    const end = Math.min(this.size, position + Math.max(0, length));
    if (end <= position) return Buffer.alloc(0);
    const head: Buffer[] = [];
    let at = position;
    for (let span = this.kept.find(this.key, at); span && at < end; span = this.kept.find(this.key, at)) {
      const to = Math.min(end, span.start + span.bytes.length);
      head.push(span.bytes.subarray(at - span.start, to - span.start));
      at = to;
    }
    // The kept end of the file (read first, for the end records) is the directory's last part.
    const tail: Buffer[] = [];
    let stop = end;
    for (
      let span = this.kept.find(this.key, stop - 1);
      span && stop > at;
      span = this.kept.find(this.key, stop - 1)
    ) {
      const from = Math.max(at, span.start);
      tail.unshift(span.bytes.subarray(from - span.start, stop - span.start));
      stop = from;
    }
    if (at < stop) {
      const probe = length <= PROBE_BYTES && stop === end;
      const fetchEnd = probe ? Math.min(this.size, at + READ_AHEAD) : stop;
      const checked = this.check();
      const bytes = await this.fetch(at, fetchEnd, probe || fetchEnd === this.size, signal);
      await checked;
      head.push(bytes.subarray(0, stop - at));
    }
    const parts = [...head, ...tail];
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }

  /**
   * The kept bytes from `start` on, then one ranged request for the rest; nothing before the
   * version check passed, even bytes kept by another reader (an entry's body is the part's).
   */
  async *stream(start: number, end: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    const checked = this.check();
    const kept: Buffer[] = [];
    let at = start;
    for (let span = this.kept.find(this.key, at); span && at <= end; span = this.kept.find(this.key, at)) {
      const to = Math.min(end + 1, span.start + span.bytes.length);
      kept.push(span.bytes.subarray(at - span.start, to - span.start));
      at = to;
    }
    const rest = at <= end ? this.api.streamRange(this.file, at, end, signal) : undefined;
    // The request for the rest is sent now, while the check is on the way; its bytes wait for it.
    const first = rest?.next();
    first?.catch(() => undefined);
    if (rest) this.requests++;
    try {
      await checked;
      yield* kept;
      kept.length = 0;
      if (rest && first) {
        for (let next = await first; !next.done; next = await rest.next()) yield next.value;
      }
    } finally {
      if (rest) {
        await first?.catch(() => undefined);
        await rest.return(undefined);
      }
    }
  }

  /**
   * The version check, started by the first request, not at open: a reader opened and closed unread
   * costs no call. Not tied to that request's signal: later reads of this reader wait for the same answer.
   */
  private check(): Promise<unknown> {
    if (this.shared) {
      const shared = this.shared.check();
      shared.catch(() => undefined);
      return shared;
    }
    if (!this.verified) {
      this.verified = this.api.checkUnchanged(this.file);
      this.verified.catch(() => undefined);
    }
    return this.verified;
  }

  async close(): Promise<void> {}

  /** Bytes `start`..`end` (exclusive), fetched with the other reads of this turn. */
  private fetch(start: number, end: number, keep: boolean, signal: AbortSignal | undefined): Promise<Buffer> {
    signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      this.pending.push({ start, end, keep, signal, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.scheduled = false;
    const reads = this.pending.sort((a, b) => a.start - b.start);
    this.pending = [];
    for (const group of mergeReads(reads)) {
      this.requests++;
      const first = group.reads[0] as Pending;
      // A merged request serves several readers: one giving up does not stop it for the others.
      const signal = group.reads.length === 1 ? first.signal : undefined;
      this.api.readRange(this.file, group.start, group.end - 1, signal).then(
        (bytes) => {
          if (group.reads.some((read) => read.keep))
            this.kept.add({ key: this.key, start: group.start, bytes });
          for (const read of group.reads)
            read.resolve(bytes.subarray(read.start - group.start, read.end - group.start));
        },
        (error: unknown) => {
          for (const read of group.reads) read.reject(error);
        },
      );
    }
  }
}

/**
 * Pure: reads sorted by start, grouped into requests. A read joins the request before it when it
 * starts at most MERGE_GAP bytes after that request's end and the request stays within MAX_MERGED.
 */
export function mergeReads<T extends { start: number; end: number }>(
  reads: readonly T[],
  gap = MERGE_GAP,
  maxMerged = MAX_MERGED,
): Array<{ start: number; end: number; reads: T[] }> {
  const groups: Array<{ start: number; end: number; reads: T[] }> = [];
  for (const read of reads) {
    const last = groups[groups.length - 1];
    if (last && read.start <= last.end + gap && Math.max(last.end, read.end) - last.start <= maxMerged) {
      last.end = Math.max(last.end, read.end);
      last.reads.push(read);
    } else {
      groups.push({ start: read.start, end: read.end, reads: [read] });
    }
  }
  return groups;
}

export function openDriveReader(
  api: DriveApi,
  file: DriveFileRef,
  options: DriveReaderOptions = {},
): DriveReader {
  let kept = keptByApi.get(api);
  if (!kept) {
    kept = new KeptSpans(options.keptBytes ?? KEPT_BYTES);
    keptByApi.set(api, kept);
  }
  return new DriveReader(api, file, kept, options.check);
}
