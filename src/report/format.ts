/** Pure formatting of sizes, rates, names and the summary for people. */
import type { BackupSummary } from './events.ts';

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

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

export interface Progress {
  found: number;
  done: number;
  bytes: number;
  elapsedMs: number;
}

export function progressLine(progress: Progress): string {
  const rate = progress.elapsedMs > 0 ? (progress.bytes * 1000) / progress.elapsedMs : 0;
  return `${progress.done}/${progress.found} items · ${formatBytes(progress.bytes)} · ${formatBytes(rate)}/s`;
}

/** The closing summary, a few lines. */
export function summaryLines(summary: BackupSummary, elapsedMs: number): string[] {
  const lines: string[] = [];
  const verb = summary.dryRun ? 'Would save' : 'Saved';
  const saved = summary.dryRun ? summary.found - summary.skipped : summary.saved;
  lines.push(
    `${verb} ${saved} file(s)${summary.dryRun ? '' : ` (${formatBytes(summary.bytes)})`}, ` +
      `skipped ${summary.skipped} already saved` +
      (summary.copies
        ? `, ${summary.copies} identical cop${summary.copies === 1 ? 'y' : 'ies'} recorded once`
        : '') +
      `, ${summary.failed.length} failed — ${summary.source}, ${summary.year}, in ${formatDuration(elapsedMs)}.`,
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
  lines.push(summary.stopped.message);
  if (summary.failed.length > 0) lines.push('Run the same command again to retry what failed.');
  return lines;
}
