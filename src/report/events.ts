/**
 * Everything a run tells the user, as data. backup.ts emits these; the reporters in this folder
 * turn them into a progress line, plain lines or JSON lines (--json).
 */
import type { DateSource, SourceName } from '../sources/source.ts';

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
  stopped: { reason: StopReason; message: string };
  /** True when the whole year was walked with nothing left to do: the next run may stop by the skip rule. */
  complete: boolean;
}

export type BackupEvent =
  | { type: 'start'; source: SourceName; year: number; folder: string; dryRun: boolean }
  | { type: 'found'; count: number }
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
  | { type: 'excluded'; id: string; filename: string; reason: 'other-year' | 'undated'; day?: string }
  | { type: 'failed'; id: string; filename: string; reason: string; unavailable?: boolean }
  | { type: 'bytes'; count: number }
  | { type: 'retry'; what: string; attempt: number; delayMs: number; reason: string }
  | { type: 'notice'; level: 'info' | 'warn'; message: string }
  | { type: 'stopped'; reason: StopReason; message: string }
  | { type: 'summary'; summary: BackupSummary };

export type Report = (event: BackupEvent) => void;
