/**
 * Turns events into output: a live progress line on a terminal, plain lines otherwise (cron, a
 * log, TERM=dumb), or one JSON object per line with --json (human text then goes to stderr).
 */
import { type BackupEvent, type BackupSummary, type Report, SETTLED_EVENTS } from './events.ts';
import {
  asciiSafeJson,
  ENDED_BY_ERROR,
  formatBytes,
  printable,
  printableName,
  progressLine,
  summaryLines,
} from './format.ts';

/** Where text goes: process.stdout/stderr, or a test's collector. */
export interface TextSink {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ReporterOptions {
  json: boolean;
  stdout: TextSink;
  stderr: TextSink;
  now?: () => number;
  /**
   * Redraw one progress line in place (carriage return, ANSI erase). Default: stderr is a
   * terminal; cli.ts turns it off for TERM=dumb, which moves no cursor.
   */
  live?: boolean;
  /** Also a line for each skipped file and each retry. */
  verbose?: boolean;
  /** Only failures, warnings and the summary. */
  quiet?: boolean;
}

export interface Reporter {
  report: Report;
  /** A line of text for people (notices, the consent URL), never on stdout in --json mode. */
  info(message: string): void;
  /**
   * The error that ended the run, on stderr: before the summary of a run that an error or Ctrl-C
   * ended (that summary waits for close()), and printed once, here, not again by cli.ts.
   */
  fail(message: string): void;
  /**
   * A line that ends the summary (an export safe to delete, a damaged part), on stderr as `info`:
   * at once after a summary printed, or after the error that ended the run and its summary,
   * with them at close().
   */
  afterSummary(message: string): void;
  /** Clears the live line; prints a summary held back for the error that ended the run, and its last lines. */
  close(): void;
}

/** Events that are only counters: --json leaves them out so the stream stays readable. */
export const QUIET_IN_JSON: ReadonlySet<BackupEvent['type']> = new Set<BackupEvent['type']>([
  'bytes',
  'found',
]);

/** --json lines wait at most this long, or until this many characters wait, before they are written. */
const JSON_FLUSH_MS = 50;
const JSON_FLUSH_BYTES = 64 * 1024;

export function createReporter(options: ReporterOptions): Reporter {
  const now = options.now ?? Date.now;
  const started = now();
  const human = options.json ? options.stderr : options.stdout;
  const live = options.live ?? options.stderr.isTTY === true;
  const quiet = options.quiet === true;
  const verbose = options.verbose === true && !quiet;
  let found = 0;
  let total: number | undefined;
  let done = 0;
  let bytes = 0;
  /** When the first byte arrived, and how many items were settled by then. */
  let transferStart: number | undefined;
  let doneBeforeTransfer = 0;
  let lastDraw = 0;
  let drawn = false;
  let dryRun = false;
  /** The summary of a run an error or Ctrl-C ended: printed after that error, at close(). */
  let heldSummary: string[] = [];
  /** The run ended by an error or Ctrl-C: the lines after its summary wait for close() too. */
  let endedEarly = false;
  let heldAfter: string[] = [];

  const clear = () => {
    if (drawn) {
      options.stderr.write('\r\x1b[2K');
      drawn = false;
    }
  };
  const draw = (force = false) => {
    if (!live) return;
    const time = now();
    if (!force && time - lastDraw < 100) return;
    lastDraw = time;
    const width = options.stderr.columns ?? 80;
    const line = progressLine({
      found,
      ...(total !== undefined ? { total } : {}),
      done,
      bytes,
      transferMs: transferStart === undefined ? 0 : time - transferStart,
      doneBeforeTransfer,
    });
    options.stderr.write(`\r\x1b[2K${line.slice(0, width - 1)}`);
    drawn = true;
  };
  // --json lines go out together: every JSON_FLUSH_MS, or once JSON_FLUSH_BYTES wait (and at once
  // for a `link`, the summary, an error and the end). A write to a pipe is a system call that wakes
  // the reader, and a run of small files makes one event per file, three with --xmp --albums; once
  // per turn of the event loop was still a write every few events.
  let pending = '';
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending === '') return;
    const text = pending;
    pending = '';
    options.stdout.write(text);
  };
  const emit = (line: string) => {
    pending += line;
    if (pending.length >= JSON_FLUSH_BYTES) flush();
    else timer ??= setTimeout(flush, JSON_FLUSH_MS);
  };
  /** A line for people: on stdout (stderr with --json), around the live line. */
  const say = (line: string) => {
    clear();
    human.write(`${printable(line)}\n`);
    draw(true);
  };

  const report: Report = (event) => {
    if (options.json && !QUIET_IN_JSON.has(event.type)) {
      emit(`${asciiSafeJson(JSON.stringify({ ...event, time: new Date(now()).toISOString() }))}\n`);
      // Someone waits on the link: it goes out now, not at the next turn.
      if (event.type === 'link') flush();
    }
    if (SETTLED_EVENTS.has(event.type)) done++;
    // Text for people; --json says it all in the events, except notices (below).
    const text = !options.json;
    switch (event.type) {
      case 'start':
        dryRun = event.dryRun;
        if (text && !quiet)
          say(
            `${event.dryRun ? 'Dry run: nothing is written. ' : ''}Backing up ${event.year} from ${event.source} into ${event.folder}`,
          );
        break;
      case 'found':
        found = event.count;
        draw();
        break;
      case 'total':
        total = event.count;
        draw();
        break;
      case 'bytes':
        if (transferStart === undefined) {
          transferStart = now();
          doneBeforeTransfer = done;
        }
        bytes += event.count;
        draw();
        break;
      case 'saved':
        // A terminal shows the count on the progress line; a log (cron) gets a line per file.
        if (text && !quiet && (verbose || !live))
          say(
            event.copyOf
              ? `copy  ${event.path} (same bytes)`
              : `saved ${event.path} (${formatBytes(event.bytes)})`,
          );
        else draw();
        break;
      case 'planned':
        if (text && !quiet) say(`would save ${event.path}  [date from ${event.dateSource}]`);
        else draw();
        break;
      case 'sidecar':
        if (!options.json && (event.action === 'planned' || options.verbose))
          say(`${event.action === 'planned' ? 'would write' : 'xmp  '} ${event.path}`);
        break;
      case 'album-link':
        if (!options.json && (event.dryRun || options.verbose || !live))
          say(`${event.dryRun ? 'would link' : 'link '} ${event.path} -> ${event.target}`);
        break;
      case 'skipped':
        // Counted in the summary; a line each only with --verbose.
        if (text && verbose) say(`skip  ${event.path} (already saved)`);
        else draw();
        break;
      case 'excluded':
        // --dry-run lists what is left out by choice beside what would be saved; other runs count it.
        if (event.reason === 'by-choice' && text && !quiet && (dryRun || verbose))
          say(
            `leave out ${printableName(event.filename)} (${event.mediaKind === 'video' ? '--skip-videos' : '--skip-photos'})`,
          );
        else draw();
        break;
      case 'failed':
        if (text) say(`FAILED ${printableName(event.filename)}: ${event.reason}`);
        break;
      case 'not-yet':
        if (text && !quiet) say(`later ${printableName(event.filename)}: ${event.reason}`);
        else draw();
        break;
      case 'retry':
        if (text && verbose)
          say(`retry ${event.what} in ${Math.round(event.delayMs / 100) / 10}s: ${event.reason}`);
        break;
      case 'notice':
        if (quiet && event.level === 'info') break;
        // One line each, and they quote names from archives and from Google: line feeds escaped too.
        if (text) say(printableName(event.message));
        else {
          clear();
          options.stderr.write(`${printableName(event.message)}\n`);
        }
        break;
      case 'link':
      case 'stopped':
      // Said in words after the summary (run-source.ts), where the text summary ends.
      case 'export-processed':
        break;
      case 'summary':
        flush();
        clear();
        {
          const lines = summaryLines(event.summary, now() - started).map((line) => `${printable(line)}\n`);
          // Ended by an error: the error comes first (cli.ts calls fail, then close); when nothing
          // was even found, "Saved 0 file(s)" would only hide it, so there is no summary at all.
          endedEarly = endedByError(event.summary);
          if (!endedEarly) for (const line of lines) human.write(line);
          else if (ranAtAll(event.summary)) heldSummary = lines;
        }
        break;
    }
  };

  const info = (message: string) => {
    clear();
    options.stderr.write(`${printable(message)}\n`);
    draw(true);
  };
  return {
    report,
    info,
    afterSummary: (message) => {
      if (endedEarly) heldAfter.push(`${printable(message)}\n`);
      else info(message);
    },
    fail: (message) => {
      flush();
      clear();
      options.stderr.write(`${printable(message)}\n`);
    },
    close: () => {
      flush();
      clear();
      for (const line of heldSummary) human.write(line);
      for (const line of heldAfter) options.stderr.write(line);
      heldSummary = [];
      heldAfter = [];
    },
  };
}

function endedByError(summary: BackupSummary): boolean {
  return ENDED_BY_ERROR.has(summary.stopped.reason);
}

/** Whether the run found, saved, skipped or failed anything: else its summary says nothing. */
function ranAtAll(summary: BackupSummary): boolean {
  return summary.found > 0 || summary.saved > 0 || summary.skipped > 0 || summary.failed.length > 0;
}
