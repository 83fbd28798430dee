/**
 * The `--xmp` step of a run: a sidecar beside every saved file, built from its record alone.
 *
 * backup.ts calls it at these points and knows nothing else of sidecars:
 * - `attach(record)` as a file is saved, before its record line is written, so the line carries
 *   the sidecar's hash (one line per item); then `write(record)` once the line is written: the
 *   sidecar goes to the writer thread (sidecar-writer.ts), off the downloads' path. A run killed
 *   in between leaves a record whose sidecar is absent: the next --xmp run writes it ("missing");
 * - `planned(record)` for --dry-run, to say which sidecar would be written;
 * - `flush()` once the downloads are done: every sidecar written (or failed) before the run is judged;
 * - `finish()` once at the end: every recorded item of the year whose sidecar this run did not
 *   handle gets one from its record. That is how a folder saved without `--xmp` gets its sidecars:
 *   nothing is listed, downloaded or read again, so it does not depend on how far the listing went
 *   (a library run stops after a few already-saved items; the record still knows the whole year);
 * - `close()` always, before the lock is let go: the writer thread ends.
 *
 * A sidecar whose bytes differ from what this tool wrote last (the hash in the record) was edited,
 * or written by another program: it is left as it is, and one notice counts them.
 */
import { hash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { BackupError } from '../errors.ts';
import type { KeptRecord, Manifest, SavedRecord } from '../manifest.ts';
import type { BackupSummary, Report } from '../report/events.ts';
import { zoneOffsetMinutes } from '../timezone.ts';
import { factsFromRecord } from './facts.ts';
import {
  decideSidecar,
  type ExistingSidecar,
  inspectSidecar,
  type SidecarDecision,
  sidecarPathFor,
  writeSidecar,
} from './sidecar-file.ts';
import { SidecarWriter } from './sidecar-writer.ts';
import { buildXmpPacket } from './xmp.ts';

export interface SidecarStepOptions {
  /** False: every call does nothing (no --xmp). */
  enabled: boolean;
  folder: string;
  year: number;
  timeZone: string;
  dryRun: boolean;
  includeUndated: boolean;
  manifest: Manifest;
  report: Report;
  summary: BackupSummary;
  /**
   * Whether this run made the day folder (`2024-03-17`): then nothing is at a sidecar's path that
   * this run did not put there, and a file's first sidecar needs no look at the disk.
   */
  madeThisRun?: (day: string) => boolean;
  /** The writer thread, shared with the album links (backup.ts ends it); else the step starts its own. */
  writer?: SidecarWriter;
}

export interface SidecarStep {
  /** The record of a file just saved, with its sidecar written beside it (and its hash in `xmpSha256`). */
  attach(record: SavedRecord): SavedRecord;
  /** After `record`'s line is written: the sidecar `attach` decided on goes to the writer thread. */
  write(record: SavedRecord): void;
  /** Resolves when every sidecar given to `write` is on disk or reported failed. */
  flush(): Promise<void>;
  /** Ends the writer thread (after what it was given); every run calls it, however it ends. */
  close(): Promise<void>;
  /** --dry-run: reports the sidecar the item of this (unwritten) record would get. */
  planned(record: SavedRecord): void;
  /** Sidecars from the record for the year's recorded items this run did not handle; then the notice. */
  finish(signal: AbortSignal): Promise<void>;
}

/**
 * Sidecars from the record written between two turns of the event loop (so Ctrl-C is heard), and
 * their record lines then go out in one write.
 */
const FINISH_CHUNK = 256;

type WriteReason = Extract<SidecarDecision, { action: 'write' }>['reason'];

/** How many kept sidecars the notice names. */
const NAMED_KEPT = 3;

export function createSidecarStep(options: SidecarStepOptions): SidecarStep {
  const { folder, manifest, report, summary } = options;
  const handled = new Set<string>();
  const kept: string[] = [];
  const counts = { written: 0, kept: 0 };
  if (options.enabled) summary.sidecars = counts;
  const offsetAt = (takenAt: Date) => zoneOffsetMinutes(options.timeZone, takenAt.getTime());

  /**
   * What to do for `record`'s sidecar, given what is at its path now; writes unless a dry run.
   * Synchronous, as every file call of this step (sidecar-file.ts says why).
   */
  const settle = (
    record: SavedRecord,
    recorded: string | undefined,
    existing: ExistingSidecar,
    later = false,
  ): string | undefined => {
    const relative = sidecarPathFor(record.path);
    const text = buildXmpPacket(factsFromRecord(record, offsetAt));
    // One call on the text (its UTF-8, as sidecarHash of the bytes): no hasher object per sidecar.
    const next = hash('sha256', text);
    // Sidecars are not flushed one by one (as the media): after a power cut one this tool wrote
    // can be there empty or cut short. That is no edit: decideSidecar has it written again.
    const decision = decideSidecar({ existing, ...(recorded ? { recorded } : {}), next });
    if (decision.action === 'keep') {
      counts.kept++;
      if (kept.length < NAMED_KEPT) kept.push(relative);
      return recorded;
    }
    if (decision.action === 'skip') return next;
    counts.written++;
    if (options.dryRun) {
      report({ type: 'sidecar', path: relative, action: 'planned', reason: decision.reason });
      return recorded;
    }
    if (later) {
      // Written by the writer thread once the record line carries `next` (write(), below).
      prepared.set(record.path, { text, sha256: next, reason: decision.reason });
      return next;
    }
    writeSidecar(path.join(folder, relative), Buffer.from(text, 'utf8'), { fsync: false });
    report({ type: 'sidecar', path: relative, action: 'written', reason: decision.reason });
    return next;
  };
  /** Sidecars attach decided to write, by media path, until write() hands them on. */
  const prepared = new Map<string, { text: string; sha256: string; reason: WriteReason }>();
  /** Sidecars handed to the writer thread and not on disk yet: what their path will hold. */
  const onTheWay = new Map<string, string>();
  const ownWriter = options.enabled && !options.dryRun && !options.writer ? new SidecarWriter() : undefined;
  const writer = options.enabled && !options.dryRun ? (options.writer ?? ownWriter) : undefined;
  const sent = new Set<Promise<void>>();
  const flush = async (): Promise<void> => {
    await writer?.flush();
    await Promise.all(sent);
  };

  /** A sidecar that could not be written: one failed row; the media stays saved. */
  const failed = (record: { id: string; path: string }, error: unknown) => {
    const relative = sidecarPathFor(record.path);
    const reason = `the XMP sidecar could not be written (${(error as NodeJS.ErrnoException).code ?? String(error)}); a later run with --xmp writes it`;
    const failure = { id: record.id, filename: path.basename(relative), reason };
    summary.failed.push(failure);
    report({ type: 'failed', ...failure });
  };

  /** The sidecar hash recorded for this path, from any earlier record of the item there. */
  const recordedHash = (record: SavedRecord): string | undefined =>
    record.xmpSha256 ??
    manifest.recordsOf(record.id).find((previous) => previous.path === record.path)?.xmpSha256;

  const inYear = (relative: string): boolean => {
    const folderName = relative.slice(0, relative.indexOf('/'));
    if (folderName === 'undated') return options.includeUndated;
    return Number(folderName.slice(0, folderName.indexOf('-', 1))) === options.year;
  };

  return {
    attach(record) {
      if (!options.enabled || record.copyOf) return record;
      const first = !handled.has(record.path);
      handled.add(record.path);
      try {
        const recorded = recordedHash(record);
        // A sidecar still on its way to the disk is what its path holds, for this decision.
        const coming = onTheWay.get(record.path) ?? prepared.get(record.path)?.sha256;
        const existing: ExistingSidecar =
          coming !== undefined
            ? { kind: 'file', sha256: coming }
            : first && options.madeThisRun?.(record.path.slice(0, record.path.indexOf('/')))
              ? { kind: 'absent' } // a folder this run made holds only what it wrote (one lstat less per file)
              : inspectSidecar(path.join(folder, sidecarPathFor(record.path)));
        const sha256 = settle(record, recorded, existing, writer !== undefined);
        // In place: the record is this save's own, and the key goes at the end of its line.
        if (sha256) record.xmpSha256 = sha256;
        return record;
      } catch (error) {
        failed(record, error);
        return record;
      }
    },

    write(record) {
      const job = prepared.get(record.path);
      if (!job || !writer) return;
      prepared.delete(record.path);
      const relative = sidecarPathFor(record.path);
      onTheWay.set(record.path, job.sha256);
      const done = writer.write(path.join(folder, relative), job.text).then((code) => {
        if (onTheWay.get(record.path) === job.sha256) onTheWay.delete(record.path);
        // The record says `sha256` while the sidecar is absent: a later --xmp run writes it.
        if (code !== undefined) failed(record, Object.assign(new Error(code), { code }));
        else report({ type: 'sidecar', path: relative, action: 'written', reason: job.reason });
      });
      sent.add(done);
      void done.finally(() => sent.delete(done));
    },

    flush,

    async close() {
      prepared.clear();
      if (ownWriter) await ownWriter.close();
      else await writer?.flush();
      await Promise.all(sent);
    },

    planned(record) {
      if (!options.enabled) return;
      handled.add(record.path);
      let existing: ExistingSidecar;
      try {
        existing = inspectSidecar(path.join(folder, sidecarPathFor(record.path)));
      } catch {
        existing = { kind: 'absent' };
      }
      settle(record, recordedHash(record), existing);
    },

    async finish(signal) {
      if (!options.enabled) return;
      await flush();
      /** The names in each day folder, listed once: most sidecars of a first --xmp run are absent. */
      const names = new Map<string, Set<string> | undefined>();
      const namesIn = (day: string) => {
        if (!names.has(day)) {
          let listed: Set<string> | undefined;
          try {
            listed = new Set(readdirSync(path.join(folder, day)));
          } catch {
            listed = undefined;
          }
          names.set(day, listed);
        }
        return names.get(day);
      };
      let stopped = false;
      const one = (kept: KeptRecord): void => {
        const day = kept.path.slice(0, kept.path.indexOf('/'));
        const inDay = namesIn(day);
        if (!inDay?.has(kept.path.slice(day.length + 1))) return;
        try {
          const sidecar = path.join(folder, sidecarPathFor(kept.path));
          const existing: ExistingSidecar = inDay.has(path.basename(sidecar))
            ? inspectSidecar(sidecar)
            : { kind: 'absent' };
          // The whole record, read back from its line: the sidecar is built from its dates and
          // metadata, and a new line (with the sidecar's hash) must keep them.
          const record = manifest.fullRecord(kept);
          const sha256 = settle(record, kept.xmpSha256, existing);
          // Not awaited here: the lines of a chunk join one write (Manifest.append), awaited below.
          if (sha256 !== kept.xmpSha256 && !options.dryRun && sha256 !== undefined) {
            record.xmpSha256 = sha256;
            lines.push(
              manifest.record(record).then(
                () => undefined,
                (error) => refused(record, error),
              ),
            );
          }
        } catch (error) {
          // The journal changed under the run (Manifest.fullRecord): the run ends with its message.
          if (error instanceof BackupError) throw error;
          refused(kept, error);
        }
      };
      /** The disk refuses (full, read-only): the rest would fail alike; a later run goes on. */
      const refused = (record: { id: string; path: string }, error: unknown) => {
        if (!stopped) failed(record, error);
        stopped = true;
      };
      let lines: Promise<void>[] = [];
      let inChunk = 0;
      // One at a time, in the record's order (a day's items together, as they were saved): creating
      // files in one folder after another is the file system's fastest order, and overlapping
      // creates through the thread pool cost more than they gained.
      for (const record of [...manifest.records()]) {
        if (signal.aborted || stopped) break;
        if (record.copyOf || handled.has(record.path) || !inYear(record.path)) continue;
        // Only the item the path belongs to now, and only while its file is still there.
        if (manifest.ownerOf(record.path) !== record.id) continue;
        handled.add(record.path);
        one(record);
        if (++inChunk >= FINISH_CHUNK) {
          inChunk = 0;
          await Promise.all(lines);
          lines = [];
          // A turn of the event loop: a signal (Ctrl-C) is heard, the events go out.
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      await Promise.all(lines);
      if (counts.kept > 0)
        report({
          type: 'notice',
          level: 'warn',
          message:
            `Left ${counts.kept} XMP sidecar(s) as they are: changed since photo-backup wrote them, or written by another program ` +
            `(${kept.join(', ')}${counts.kept > kept.length ? ', …' : ''}). Delete one to have it written again.`,
        });
    },
  };
}
