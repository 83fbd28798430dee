/**
 * `npm run bench`: photo-backup against a minimal downloader (bench/baseline.ts) on the
 * project's emulator, each in its own process, same concurrency, alternating order. Prints a
 * table and writes it to bench/results.json. BENCH_QUICK=1 runs smaller sizes once each.
 * These are measurements, not tests: a missed target prints "fail" and the exit code stays 0.
 */
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { emptyOutput, noteDeletions, waitForEarlierDeletions } from './disk.ts';
import { runDriveFigures } from './drive.ts';
import {
  type Account,
  buildBaseline,
  CACHE_DIR,
  type EmulatorProcess,
  jsonEvents,
  type Measured,
  ROOT,
  type RunTarget,
  runBaseline,
  runCommand,
  runPhotoBackup,
  startEmulatorProcess,
  writeAccount,
} from './processes.ts';
import type { Row } from './row.ts';
import { runTakeoutEntriesFigure, runTakeoutFigure } from './takeout.ts';

const QUICK = process.env.BENCH_QUICK === '1';
/** `BENCH_ONLY=small,video` runs only the figures whose step name contains one of the words (while optimizing). */
const ONLY = process.env.BENCH_ONLY?.split(',').filter(Boolean);
const YEAR = 2024;
const CONCURRENCY = 4;
const REPEATS = Number(process.env.BENCH_REPEATS) || (QUICK ? 1 : 5);
const MB = 1024 * 1024;

const sizes = QUICK
  ? {
      large: 60,
      small: 1000,
      latency: 1000,
      video: 200_000_000,
      many: 5000,
      takeoutPhotos: 200,
      takeoutEntries: 20_000,
      drive: { photos: 40, photoSize: 300_000, videos: 1, videoSize: 20_000_000, partBytes: 20_000_000 },
    }
  : {
      large: 300,
      small: 5000,
      latency: 1000,
      video: 2_000_000_000,
      many: 50_000,
      takeoutPhotos: 2000,
      takeoutEntries: 200_000,
      drive: { photos: 120, photoSize: 400_000, videos: 2, videoSize: 40_000_000, partBytes: 50_000_000 },
    };

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

function summaryOf(run: Measured): Record<string, unknown> {
  const summary = jsonEvents(run.stdout).find((event) => event.type === 'summary')?.summary;
  if (!summary || typeof summary !== 'object') {
    throw new Error(`photo-backup printed no summary (exit ${run.code}):\n${run.stderr.slice(-2000)}`);
  }
  return summary as Record<string, unknown>;
}

function checkPhotoBackup(run: Measured, expectedSaved: number): Record<string, unknown> {
  const summary = summaryOf(run);
  const failed = (summary.failed as unknown[]).length;
  if (run.code !== 0 || summary.saved !== expectedSaved || failed > 0) {
    throw new Error(
      `photo-backup saved ${String(summary.saved)} of ${expectedSaved} (failed ${failed}, exit ${run.code}):\n${run.stderr.slice(-2000)}`,
    );
  }
  return summary;
}

function checkBaseline(run: Measured, expectedFiles: number): void {
  const result = run.code === 0 ? (JSON.parse(run.stdout) as { files: number }) : undefined;
  if (!result || result.files !== expectedFiles) {
    throw new Error(
      `baseline saved ${String(result?.files)} of ${expectedFiles} (exit ${run.code}):\n${run.stderr}`,
    );
  }
}

interface Context {
  work: string;
}

async function withEmulator<T>(
  script: string,
  args: string[],
  context: Context,
  body: (emulator: EmulatorProcess, account: Account) => Promise<T>,
): Promise<T> {
  const emulator = await startEmulatorProcess(script, args);
  try {
    const account = await writeAccount(emulator.url, path.join(context.work, 'account'));
    return await body(emulator, account);
  } finally {
    await emulator.close();
  }
}

/** A run of either program against `emulator`, saving into `dir`. */
function targetOf(emulator: EmulatorProcess, account: Account, dir: string, context: Context): RunTarget {
  return { emulator, account, year: YEAR, dir, concurrency: CONCURRENCY, scratch: context.work };
}

/** photo-backup and the baseline, `REPEATS` times each in alternating order; medians of wall time. */
async function compare(
  context: Context,
  options: {
    figure: string;
    /** Names the runs' folders. */
    slug: string;
    emulatorArgs: string[];
    items: number;
    limit: number;
    /** More photo-backup arguments (`--xmp`). */
    args?: string[];
    /** Looks at each photo-backup run's events; returns a failure note or undefined. */
    inspect?: (run: Measured) => string | undefined;
  },
): Promise<Row> {
  return withEmulator(
    'test/support/emulator/main.ts',
    options.emulatorArgs,
    context,
    async (emulator, account) => {
      const ours: number[] = [];
      const theirs: number[] = [];
      const notes = new Set<string>();
      const targetIn = (dir: string) => targetOf(emulator, account, dir, context);
      // One untimed run first: the emulator process is new, and its first answers are slower (its
      // code not yet optimized, its heap still growing), which would fall on the first pair alone.
      const warmUp = path.join(context.work, `${options.slug}-warm-up`);
      checkBaseline(await runBaseline(targetIn(warmUp)), options.items);
      await emptyOutput(warmUp);
      for (let repeat = 0; repeat < REPEATS; repeat++) {
        const order = repeat % 2 === 0 ? (['ours', 'theirs'] as const) : (['theirs', 'ours'] as const);
        for (const who of order) {
          // Each run's files stay, emptied, until the bench ends (bench/disk.ts).
          const dir = path.join(context.work, `${options.slug}-${who}-${repeat}`);
          const target = targetIn(dir);
          if (who === 'ours') {
            const run = await runPhotoBackup(target, options.args);
            checkPhotoBackup(run, options.items);
            const note = options.inspect?.(run);
            if (note) notes.add(note);
            ours.push(run.ms / 1000);
          } else {
            const run = await runBaseline(target);
            checkBaseline(run, options.items);
            theirs.push(run.ms / 1000);
          }
          await emptyOutput(dir);
        }
      }
      const ratio = median(ours) / median(theirs);
      return {
        figure: options.figure,
        unit: 's',
        photoBackup: round(median(ours)),
        baseline: round(median(theirs)),
        ratio: round(ratio),
        target: `≤ ${options.limit} ×`,
        pass: ratio <= options.limit && notes.size === 0,
        ...(notes.size > 0 ? { note: [...notes].join('; ') } : {}),
        runs: {
          photoBackup: ours.map((value) => round(value, 3)),
          baseline: theirs.map((value) => round(value, 3)),
        },
      };
    },
  );
}

const generated = (count: number, photoSize: number) => [
  '--generate',
  `${YEAR}:${count}`,
  '--photo-size',
  String(photoSize),
  '--video-every',
  '0',
];

async function largeFiles(context: Context): Promise<Row> {
  return compare(context, {
    figure: `Large files: ${sizes.large} × 4 MB`,
    slug: 'large',
    emulatorArgs: generated(sizes.large, 4_000_000),
    items: sizes.large,
    limit: 1.15,
  });
}

async function smallFiles(context: Context): Promise<Row> {
  return compare(context, {
    figure: `Many small files: ${sizes.small} × 30 KB`,
    slug: 'small',
    emulatorArgs: generated(sizes.small, 30_000),
    items: sizes.small,
    limit: 1.3,
  });
}

/** The same files with an XMP sidecar each: twice the files written, against the same media-only baseline. */
async function smallFilesXmp(context: Context): Promise<Row> {
  return compare(context, {
    figure: `Many small files with --xmp: ${sizes.small} × 30 KB`,
    slug: 'small-xmp',
    emulatorArgs: generated(sizes.small, 30_000),
    items: sizes.small,
    limit: 1.5,
    args: ['--xmp'],
  });
}

/** The small-files case with every item in one of 20 albums: a link per file on top of the file. */
async function smallFilesWithAlbums(context: Context): Promise<Row> {
  const albums = 20;
  return compare(context, {
    figure: `Many small files, --albums: ${sizes.small} × 30 KB in ${albums} albums`,
    slug: 'small-albums',
    emulatorArgs: [...generated(sizes.small, 30_000), '--albums', String(albums)],
    items: sizes.small,
    limit: 1.5,
    args: ['--albums'],
    inspect(run) {
      const links = jsonEvents(run.stdout).filter((event) => event.type === 'album-link').length;
      return links === sizes.small ? undefined : `made ${links} album links of ${sizes.small}`;
    },
  });
}

/**
 * Both at once, as a user keeping everything runs it: a sidecar and a link per file on top of the
 * file, against the same media-only baseline (the target: ≤ 1.5 ×).
 */
async function smallFilesXmpAlbums(context: Context): Promise<Row> {
  const albums = 20;
  return compare(context, {
    figure: `Many small files, --xmp --albums: ${sizes.small} × 30 KB in ${albums} albums`,
    slug: 'small-xmp-albums',
    emulatorArgs: [...generated(sizes.small, 30_000), '--albums', String(albums)],
    items: sizes.small,
    limit: 1.5,
    args: ['--xmp', '--albums'],
    inspect(run) {
      const events = jsonEvents(run.stdout);
      const links = events.filter((event) => event.type === 'album-link').length;
      // By path: a file saved before the Library API's albums were listed gets its sidecar twice.
      const sidecars = new Set(events.filter((event) => event.type === 'sidecar').map((event) => event.path))
        .size;
      if (links !== sizes.small) return `made ${links} album links of ${sizes.small}`;
      return sidecars === sizes.small ? undefined : `wrote ${sidecars} sidecars of ${sizes.small}`;
    },
  });
}

async function latency(context: Context): Promise<Row> {
  const apiMs = 50;
  const pages = Math.ceil(sizes.latency / 100);
  // Pages come one after another (each needs the token of the one before), so the listing
  // cannot end before pages × apiMs after the run starts: a file saved earlier proves the overlap.
  const listingAtLeastMs = pages * apiMs;
  return compare(context, {
    figure: `Latency 50 ms API / 30 ms media: ${sizes.latency} × 30 KB`,
    slug: 'latency',
    emulatorArgs: [
      ...generated(sizes.latency, 30_000),
      '--api-latency-ms',
      String(apiMs),
      '--media-latency-ms',
      '30',
    ],
    items: sizes.latency,
    limit: 1.3,
    inspect(run) {
      const events = jsonEvents(run.stdout);
      const start = events.find((event) => event.type === 'start');
      const saved = events.find((event) => event.type === 'saved');
      const firstSavedMs = Date.parse(String(saved?.time)) - Date.parse(String(start?.time));
      if (!(firstSavedMs < listingAtLeastMs)) {
        return `no overlap: first file saved ${firstSavedMs} ms after start, listing takes ≥ ${listingAtLeastMs} ms`;
      }
      return undefined;
    },
  });
}

async function bigVideo(context: Context): Promise<Row> {
  const emulatorArgs = ['--generate', `${YEAR}:1`, '--video-size', String(sizes.video), '--video-every', '1'];
  return withEmulator('test/support/emulator/main.ts', emulatorArgs, context, async (emulator, account) => {
    const dir = path.join(context.work, 'video');
    const run = await runPhotoBackup(targetOf(emulator, account, dir, context));
    const summary = checkPhotoBackup(run, 1);
    if (Number(summary.bytes) < sizes.video)
      throw new Error(`the video was cut short: ${String(summary.bytes)} bytes`);
    await emptyOutput(dir);
    const limit = 120;
    const peak = run.peakRss / MB;
    return {
      figure: `Memory: one ${round(sizes.video / 1e9, 1)} GB video, peak RSS`,
      unit: 'MB',
      photoBackup: round(peak, 1),
      baseline: null,
      ratio: null,
      target: `≤ ${limit} MB`,
      pass: peak <= limit,
      note: `${round(run.ms / 1000, 1)} s, ${round((sizes.video / MB / run.ms) * 1000)} MB/s`,
    };
  });
}

/** One real run over many tiny items: the memory figure, and the finished year for the incremental figure. */
async function manyItems(context: Context, kept: string): Promise<Row> {
  return withEmulator(
    'test/support/emulator/main.ts',
    generated(sizes.many, 1),
    context,
    async (emulator, account) => {
      const run = await runPhotoBackup(targetOf(emulator, account, kept, context));
      const summary = checkPhotoBackup(run, sizes.many);
      if (summary.complete !== true) throw new Error('the run over many items did not finish the year');
      const limit = 200;
      const peak = run.peakRss / MB;
      return {
        figure: `Memory: ${sizes.many.toLocaleString('en')} items, peak RSS`,
        unit: 'MB',
        photoBackup: round(peak, 1),
        baseline: null,
        ratio: null,
        target: `≤ ${limit} MB`,
        pass: peak <= limit,
        note: `${round(run.ms / 1000, 1)} s for the run`,
      };
    },
  );
}

/** A finished year of `sizes.many` items plus 10 new ones: save the 10, stop by the skip rule. */
async function incremental(context: Context, kept: string): Promise<Row> {
  const added = 10;
  const journal = path.join(kept, '.photo-backup', 'saved.jsonl');
  const before = await readFile(journal);
  const args = [
    '--year',
    String(YEAR),
    '--count',
    String(sizes.many),
    '--new',
    String(added),
    '--photo-size',
    '1',
  ];
  return withEmulator('bench/emulator-grown.ts', args, context, async (emulator, account) => {
    const times: number[] = [];
    for (let repeat = 0; repeat < REPEATS; repeat++) {
      const run = await runPhotoBackup(targetOf(emulator, account, kept, context));
      const summary = checkPhotoBackup(run, added);
      const stopped = (summary.stopped as { reason?: string }).reason;
      if (stopped !== 'skips')
        throw new Error(`the incremental run stopped by "${stopped}", not by the skip rule`);
      times.push(run.ms / 1000);
      // Back to the finished year (the 10 new files gone, the journal as it was) for the next repeat.
      for (const event of jsonEvents(run.stdout)) {
        if (event.type === 'saved') await rm(path.join(kept, String(event.path)));
      }
      await writeFile(journal, before);
    }
    const seconds = median(times);
    const limit = 2;
    return {
      figure: `Incremental: ${sizes.many.toLocaleString('en')} recorded + ${added} new`,
      unit: 's',
      photoBackup: round(seconds),
      baseline: null,
      ratio: null,
      target: `≤ ${limit} s`,
      pass: seconds <= limit,
      runs: { photoBackup: times.map((value) => round(value, 3)), baseline: [] },
    };
  });
}

/**
 * The finished year of `sizes.many` items saved without --xmp, then a run with --xmp: nothing is
 * downloaded (the walk stops on skips) and every sidecar is written from the record.
 */
async function sidecarsFromRecord(context: Context, kept: string): Promise<Row> {
  const journal = path.join(kept, '.photo-backup', 'saved.jsonl');
  const before = await readFile(journal);
  const args = ['--year', String(YEAR), '--count', String(sizes.many), '--photo-size', '1'];
  return withEmulator('bench/emulator-grown.ts', args, context, async (emulator, account) => {
    const times: number[] = [];
    for (let repeat = 0; repeat < REPEATS; repeat++) {
      // The 50,000 files just made (and the last repeat's sidecars) written out first: their
      // writeback, seconds of it, would otherwise fall on this run's creates.
      await runCommand('sync', [], context.work);
      const run = await runPhotoBackup(targetOf(emulator, account, kept, context), ['--xmp']);
      const summary = checkPhotoBackup(run, 0);
      const written = (summary.sidecars as { written?: number } | undefined)?.written;
      if (written !== sizes.many) throw new Error(`--xmp wrote ${String(written)} of ${sizes.many} sidecars`);
      times.push(run.ms / 1000);
      // Back to the year saved without sidecars for the next repeat. Moved aside, not deleted:
      // creating files just after deleting as many is slow on ext4 ("Between runs" in
      // docs/performance.md); the bench's folder goes at its end.
      const aside = path.join(context.work, `xmp-aside-${repeat}`);
      await mkdir(aside);
      let moved = 0;
      for (const event of jsonEvents(run.stdout)) {
        if (event.type === 'sidecar')
          await rename(path.join(kept, String(event.path)), path.join(aside, String(moved++)));
      }
      await writeFile(journal, before);
    }
    const seconds = median(times);
    const limit = 10;
    return {
      figure: `XMP sidecars from the record: ${sizes.many.toLocaleString('en')} recorded items`,
      unit: 's',
      photoBackup: round(seconds),
      baseline: null,
      ratio: null,
      target: `≤ ${limit} s`,
      pass: seconds <= limit,
      runs: { photoBackup: times.map((value) => round(value, 3)), baseline: [] },
    };
  });
}

function format(rows: Row[]): string {
  const header = ['Figure', 'photo-backup', 'baseline', 'ratio', 'target', 'result'];
  const cells = rows.map((row) => [
    row.figure,
    row.photoBackup === null ? '—' : `${row.photoBackup} ${row.unit}`,
    row.baseline === null ? '—' : `${row.baseline} ${row.unit}`,
    row.ratio === null ? '—' : `${row.ratio.toFixed(2)} ×`,
    row.target,
    row.pass === null ? (row.note ?? 'not run') : row.pass ? 'pass' : 'FAIL',
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((line) => (line[column] as string).length)),
  );
  const line = (values: string[]) =>
    `| ${values.map((value, column) => value.padEnd(widths[column] as number)).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`,
    ...cells.map(line),
  ].join('\n');
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), 'photo-backup-bench-'));
  const context: Context = { work };
  const rows: Row[] = [];
  const started = Date.now();
  const step = async (name: string, figure: () => Promise<Row | Row[]>) => {
    if (ONLY && !ONLY.some((word) => name.includes(word))) return;
    process.stderr.write(`bench: ${name}…\n`);
    const measured = await figure();
    const added = Array.isArray(measured) ? measured : [measured];
    rows.push(...added);
    process.stderr.write(`${format(added)}\n`);
  };
  try {
    await waitForEarlierDeletions(CACHE_DIR, (text) => process.stderr.write(`${text}\n`));
    await buildBaseline();
    await step('large files', () => largeFiles(context));
    await step('many small files', () => smallFiles(context));
    await step('many small files with xmp', () => smallFilesXmp(context));
    await step('small files with albums', () => smallFilesWithAlbums(context));
    await step('small files with xmp and albums', () => smallFilesXmpAlbums(context));
    await step('latency', () => latency(context));
    await step('one big video', () => bigVideo(context));
    const kept = path.join(work, 'finished-year');
    await step('many items', () => manyItems(context, kept));
    await step('incremental', () => incremental(context, kept));
    await step('xmp from the record', () => sidecarsFromRecord(context, kept));
    await step('takeout', () =>
      runTakeoutFigure({ work, photos: sizes.takeoutPhotos, year: YEAR, repeats: REPEATS, median }),
    );
    await step('takeout entries', () =>
      runTakeoutEntriesFigure({ work, entries: sizes.takeoutEntries, year: YEAR }),
    );
    await step('drive bytes and time', () =>
      runDriveFigures({ work, year: YEAR, repeats: REPEATS, median, ...sizes.drive }),
    );
  } finally {
    // The only deletion of the bench's files (bench/disk.ts).
    await rm(work, { recursive: true, force: true });
    await noteDeletions(CACHE_DIR);
  }
  const table = format(rows);
  process.stdout.write(`\n${table}\n`);
  const results = {
    date: new Date().toISOString(),
    quick: QUICK,
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version },
    concurrency: CONCURRENCY,
    repeats: REPEATS,
    minutes: round((Date.now() - started) / 60_000, 1),
    rows,
  };
  // Only a full run of every figure replaces the committed results.
  const file = path.join(
    ROOT,
    'bench',
    QUICK || ONLY || process.env.BENCH_REPEATS ? 'results.local.json' : 'results.json',
  );
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\nWritten to ${path.relative(ROOT, file)}.\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
