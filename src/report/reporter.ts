/**
 * Turns events into output: a live progress line on a terminal, plain lines otherwise, or one
 * JSON object per line with --json (human text then goes to stderr).
 */
import type { BackupEvent, Report } from './events.ts';
import {
  asciiSafeJson,
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
  /** Print every saved file (plain mode); the progress line shows them on a terminal. */
  verbose?: boolean;
}

export interface Reporter {
  report: Report;
  /** A line of text for people (notices, the consent URL), never on stdout in --json mode. */
  info(message: string): void;
  /** Clears the live line before the program prints an error. */
  close(): void;
}

/** Events that are only counters: --json leaves them out so the stream stays readable. */
const QUIET_IN_JSON = new Set<BackupEvent['type']>(['bytes', 'found']);

export function createReporter(options: ReporterOptions): Reporter {
  const now = options.now ?? Date.now;
  const started = now();
  const human = options.json ? options.stderr : options.stdout;
  const live = options.stderr.isTTY === true;
  let found = 0;
  let done = 0;
  let bytes = 0;
  let lastDraw = 0;
  let drawn = false;

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
    options.stderr.write(
      `\r\x1b[2K${progressLine({ found, done, bytes, elapsedMs: time - started }).slice(0, width - 1)}`,
    );
    drawn = true;
  };
  // --json lines go out once per turn of the event loop (and at the summary): a write to a pipe is
  // a system call that wakes the reader, and a run of small files makes one event per file.
  let pending = '';
  const flush = () => {
    if (pending === '') return;
    const text = pending;
    pending = '';
    options.stdout.write(text);
  };
  const emit = (line: string) => {
    if (pending === '') setImmediate(flush);
    pending += line;
  };
  const say = (line: string) => {
    clear();
    human.write(`${printable(line)}\n`);
    draw(true);
  };

  const report: Report = (event) => {
    if (options.json && !QUIET_IN_JSON.has(event.type)) {
      emit(`${asciiSafeJson(JSON.stringify({ ...event, time: new Date(now()).toISOString() }))}\n`);
    }
    switch (event.type) {
      case 'start':
        if (!options.json)
          say(
            `${event.dryRun ? 'Dry run: nothing is written. ' : ''}Backing up ${event.year} from ${event.source} into ${event.folder}`,
          );
        break;
      case 'found':
        found = event.count;
        draw();
        break;
      case 'bytes':
        bytes += event.count;
        draw();
        break;
      case 'saved':
        done++;
        if (!options.json && (options.verbose || !live))
          say(
            event.copyOf
              ? `copy  ${event.path} (same bytes)`
              : `saved ${event.path} (${formatBytes(event.bytes)})`,
          );
        else draw();
        break;
      case 'planned':
        done++;
        if (!options.json) say(`would save ${event.path}  [date from ${event.dateSource}]`);
        break;
      case 'album-link':
        if (!options.json && (event.dryRun || options.verbose || !live))
          say(`${event.dryRun ? 'would link' : 'link '} ${event.path} -> ${event.target}`);
        break;
      case 'skipped':
        done++;
        if (!options.json && (options.verbose || !live)) say(`skip  ${event.path} (already saved)`);
        else draw();
        break;
      case 'excluded':
        done++;
        draw();
        break;
      case 'failed':
        done++;
        if (!options.json)
          say(`${event.unavailable ? 'later' : 'FAILED'} ${printableName(event.filename)}: ${event.reason}`);
        break;
      case 'retry':
        if (!options.json && options.verbose)
          say(`retry ${event.what} in ${Math.round(event.delayMs / 100) / 10}s: ${event.reason}`);
        break;
      case 'notice':
        // One line each, and they quote names from archives and from Google: line feeds escaped too.
        if (!options.json) say(printableName(event.message));
        else {
          clear();
          options.stderr.write(`${printableName(event.message)}\n`);
        }
        break;
      case 'stopped':
        break;
      case 'summary':
        flush();
        clear();
        for (const line of summaryLines(event.summary, now() - started)) human.write(`${printable(line)}\n`);
        break;
    }
  };

  return {
    report,
    info: (message) => {
      clear();
      options.stderr.write(`${printable(message)}\n`);
      draw(true);
    },
    close: () => {
      flush();
      clear();
    },
  };
}
