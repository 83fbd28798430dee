/** Pure formatting of sizes, rates, names and the summary for people. */
import type { BackupSummary, StopReason } from './events.ts';

/**
 * What a terminal must not be handed raw: C0 controls and DEL (ESC starts the sequences that set
 * the title or clear the screen), C1 controls (0x9b is a one-character CSI), the line and
 * paragraph separators, bidirectional controls, which reorder the text after them on screen
 * (https://trojansource.codes/), and zero-width characters, which hide a difference between names.
 * Line feeds are matched here and kept by `printable`.
 */
const UNPRINTABLE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is escaped
  /[\u0000-\u001f\u007f-\u009f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff]/g;

function escapeCharacter(char: string): string {
  const code = char.charCodeAt(0);
  return code < 0x100
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** A name (from Google, an archive, a path) shown as text: every control character escaped, as `\x1b` or `\u202e`. */
export function printableName(name: string): string {
  return name.replace(UNPRINTABLE, escapeCharacter);
}

/** A message shown as text: as printableName, but its own line breaks stay. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (char) => (char === '\n' ? char : escapeCharacter(char)));
}

/**
 * A --json line with the characters JSON.stringify leaves raw (DEL, C1, separators, bidi and
 * zero-width) written as \u escapes: the same JSON value, and nothing a terminal acts on.
 */
export function asciiSafeJson(json: string): string {
  return json.replace(UNPRINTABLE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Under a minute with one decimal (`4.2s`), then `3m05s`, then `2h07m`. */
export function formatDuration(ms: number): string {
  // Rounded to tenths first, so 59.96 s reads `1m00s`, not `60.0s`.
  if (Math.round(ms / 100) < 600) return `${(Math.max(0, Math.round(ms / 100)) / 10).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

export interface Progress {
  /** Items listed so far. */
  found: number;
  /** How many items the run has in all, once the source knows (else undefined). */
  total?: number;
  /** Items settled (saved, skipped, left out, failed). */
  done: number;
  bytes: number;
  /** Time since the first byte arrived: the rate and the ETA leave out start-up and sign-in. */
  transferMs: number;
  /** Items settled when the first byte arrived: they took no transfer time, so the ETA leaves them out. */
  doneBeforeTransfer?: number;
}

/**
 * `7/20 items (35%) · 12 MB · 3.1 MB/s · ETA 41.0s`. The percentage and the ETA only with a known
 * total; the ETA once some items took transfer time, from their pace.
 */
export function progressLine(progress: Progress): string {
  const { done, total, bytes, transferMs } = progress;
  const rate = transferMs > 0 ? (bytes * 1000) / transferMs : 0;
  const parts: string[] = [];
  if (total !== undefined && total > 0) {
    const percent = Math.min(100, Math.floor((done * 100) / total));
    parts.push(`${done}/${total} items (${percent}%)`);
  } else {
    parts.push(`${done}/${progress.found} items`);
  }
  parts.push(formatBytes(bytes), `${formatBytes(rate)}/s`);
  const paced = done - (progress.doneBeforeTransfer ?? 0);
  if (total !== undefined && total > done && paced > 0 && transferMs > 0) {
    parts.push(`ETA ${formatDuration(((total - done) * transferMs) / paced)}`);
  }
  return parts.join(' · ');
}

export const ENDED_BY_ERROR: ReadonlySet<StopReason> = new Set<StopReason>(['quota', 'error', 'interrupted']);

/** The closing summary, a few lines. */
export function summaryLines(summary: BackupSummary, elapsedMs: number): string[] {
  const lines: string[] = [];
  const verb = summary.dryRun ? 'Would save' : 'Saved';
  const saved = summary.dryRun ? summary.planned : summary.saved;
  lines.push(
    `${verb} ${saved} file(s)${summary.dryRun ? '' : ` (${formatBytes(summary.bytes)})`}, ` +
      `skipped ${summary.skipped} already saved` +
      (summary.copies
        ? `, ${summary.copies} identical cop${summary.copies === 1 ? 'y' : 'ies'} recorded once`
        : '') +
      `, ${summary.failed.length} failed` +
      (summary.unavailable.length ? `, ${summary.unavailable.length} not yet (a later run saves them)` : '') +
      ` — ${summary.source}, ${summary.year}, in ${formatDuration(elapsedMs)}.`,
  );
  if (summary.sidecars)
    lines.push(
      `  XMP sidecars: ${summary.sidecars.written} ${summary.dryRun ? 'to write' : 'written'}` +
        (summary.sidecars.kept
          ? `, ${summary.sidecars.kept} left as they were (changed since written)`
          : '') +
        '.',
    );
  for (const failure of summary.failed.slice(0, 20))
    lines.push(`  failed: ${printableName(failure.filename)}: ${failure.reason}`);
  if (summary.failed.length > 20) lines.push(`  … and ${summary.failed.length - 20} more failures`);
  for (const item of summary.unavailable.slice(0, 10))
    lines.push(`  not yet: ${printableName(item.filename)}: ${item.reason}`);
  const years = Object.entries(summary.otherYears).sort(([a], [b]) => a.localeCompare(b));
  if (years.length > 0) {
    const total = years.reduce((sum, [, count]) => sum + count, 0);
    lines.push(
      `  left out ${total} item(s) of other years: ${years.map(([year, count]) => `${year} (${count})`).join(', ')}`,
    );
  }
  if (summary.undated.length > 0) {
    lines.push(
      `  left out ${summary.undated.length} item(s) with no capture date (add --include-undated to save them under undated/): ` +
        summary.undated.slice(0, 5).map(printableName).join(', ') +
        (summary.undated.length > 5 ? ', …' : ''),
    );
  }
  for (const [kind, flag] of [
    ['video', '--skip-videos'],
    ['photo', '--skip-photos'],
  ] as const) {
    const count = summary.leftOut[kind];
    if (count > 0)
      lines.push(`  left out ${count} ${kind}(s) by choice (${flag}); they are not counted as saved`);
  }
  // A run ended by an error or Ctrl-C says why once, as the error the reporter prints before the summary.
  if (!ENDED_BY_ERROR.has(summary.stopped.reason)) lines.push(summary.stopped.message);
  if (summary.failed.length > 0) lines.push('Run the same command again to retry what failed.');
  return lines;
}
