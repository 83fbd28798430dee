/**
 * Everything a run tells the user, as data. backup.ts emits these; the reporters in this folder
 * turn them into a progress line, plain lines or JSON lines (--json).
 */
import type { DateSource, MediaKind, SourceName } from '../sources/source.ts';

export type StopReason = 'end' | 'skips' | 'quota' | 'interrupted' | 'error';

export interface FailedItem {
  id: string;
  filename: string;
  reason: string;
}

export interface BackupSummary {
  source: SourceName;
  year: number;
  folder: string;
  dryRun: boolean;
  /** Items the source listed so far. */
  found: number;
  saved: number;
  /** --dry-run: the items it would save (one `planned` event each). */
  planned: number;
  /** Saved items whose bytes matched a file saved already: recorded, not written again. */
  copies: number;
  skipped: number;
  bytes: number;
  failed: FailedItem[];
  /** Items left for a later run (a video Google is still processing). */
  unavailable: FailedItem[];
  /** Items of other years, by year (picker and takeout only). */
  otherYears: Record<string, number>;
  /** Items with no capture date, not saved without --include-undated. */
  undated: string[];
  /** Items left out by choice (--skip-videos, --skip-photos), by kind: neither saved nor skipped. */
  leftOut: Record<MediaKind, number>;
  stopped: { reason: StopReason; message: string };
  /** With --xmp: sidecars written this run, and ones left as they were (edited, or another program's). */
  sidecars?: { written: number; kept: number };
  /** True when the whole year was walked with nothing left to do: the next run may stop by the skip rule. */
  complete: boolean;
}

/**
 * The version of the --json event stream (docs/events.md), in the `start` event. Raised when a
 * field changes meaning or goes away; new event types and new fields do not raise it.
 */
export const EVENTS_SCHEMA_VERSION = 1;

/** A file of an export fully processed for the year (`export-processed`): what to delete. */
export interface ProcessedExportFile {
  /** Its file name: `takeout-20250110T080000Z-001.zip`. */
  name: string;
  /** A part on disk: its real path, absolute. */
  path?: string;
  /** A part in Google Drive: the Drive file's id. */
  driveFileId?: string;
}

/** Every event a run emits. docs/events.md documents each type and field (a test holds them equal). */
export type BackupEvent =
  | {
      type: 'start';
      schemaVersion: number;
      source: SourceName;
      year: number;
      folder: string;
      dryRun: boolean;
    }
  /** An address the user must open: the Google sign-in (consent) or a picker round's page. */
  | { type: 'link'; purpose: 'consent' | 'picker'; url: string; round?: number }
  | { type: 'found'; count: number }
  /** How many items the run has in all, once the source knows (a Takeout's catalog, a picked round, the end of a listing). */
  | { type: 'total'; count: number }
  | { type: 'saved'; id: string; path: string; bytes: number; copyOf?: string }
  | { type: 'planned'; id: string; path: string; dateSource: DateSource; takenAt?: string }
  | {
      type: 'album-link';
      /** `albums/<album>/<file>`. */
      path: string;
      /** The day-folder file it leads to. */
      target: string;
      action: 'made' | 'replaced';
      kind: 'symlink' | 'hardlink';
      dryRun: boolean;
    }
  | { type: 'skipped'; id: string; path: string; reason: 'recorded' | 'exists' }
  | {
      type: 'excluded';
      id: string;
      filename: string;
      reason: 'other-year' | 'undated' | 'by-choice';
      day?: string;
      /** With `by-choice`: the kind the user left out. */
      mediaKind?: MediaKind;
    }
  | { type: 'failed'; id: string; filename: string; reason: string }
  /** An item left for a later run (a video Google is still processing): not a failure, exit 0. */
  | { type: 'not-yet'; id: string; filename: string; reason: string }
  | {
      type: 'sidecar';
      path: string;
      action: 'written' | 'planned';
      reason: 'new' | 'missing' | 'changed' | 'damaged';
    }
  | { type: 'bytes'; count: number }
  | { type: 'retry'; what: string; attempt: number; delayMs: number; reason: string }
  | { type: 'notice'; level: 'info' | 'warn'; message: string }
  /**
   * An export (`takeout-<timestamp>-<n>` parts) every part of which is finished for the year, so
   * safe to delete: told when the source closes, before `stopped`. Said in words after the summary.
   */
  | {
      type: 'export-processed';
      source: SourceName;
      year: number;
      /** Takeout's timestamp of the export, as in its names (`20250110T080000Z`). */
      timestamp: string;
      parts: number;
      /** Its parts, by part number. */
      files: ProcessedExportFile[];
      /** With Drive, the folder the parts are in. */
      driveFolder?: string;
    }
  | { type: 'stopped'; reason: StopReason; message: string }
  | { type: 'summary'; summary: BackupSummary };

export type Report = (event: BackupEvent) => void;

/** Events that end an item's way through the pipeline: the progress count, and a picker round's end. */
export const SETTLED_EVENTS: ReadonlySet<BackupEvent['type']> = new Set<BackupEvent['type']>([
  'saved',
  'planned',
  'skipped',
  'excluded',
  'failed',
  'not-yet',
]);
