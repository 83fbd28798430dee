/**
 * The Drive figures: photo-backup --source drive saving one year out of a five-year Takeout export
 * in the emulator's Drive (bench/emulator-drive.ts: several zip parts, photos and sidecars split
 * across parts, a few large videos), against plain ranged GETs of exactly the bytes that year needs
 * (bench/drive-baseline.ts), from the same emulator in the same run.
 *
 * Two rows: the bytes the emulator served for photo-backup's run against that year's media,
 * sidecars and album metadata.json plus every part's central directory (target: at most 1.05 ×
 * the entries plus the directories), and the wall time against the baseline's (target ≤ 1.2 ×).
 * Same repetitions and alternating order as the other figures.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ts from 'typescript';
import { emptyOutput } from './disk.ts';
import type { DrivePlan } from './emulator-drive.ts';
import {
  CACHE_DIR,
  jsonEvents,
  type Measured,
  ROOT,
  runNode,
  startEmulatorProcess,
  writeAccount,
} from './processes.ts';
import type { Row } from './row.ts';

const DRIVE_SCOPE = 'https://www.googleapis.com/auth/drive.readonly';
const BYTES_LIMIT = 1.05;
const TIME_LIMIT = 1.2;
const CONCURRENCY = 4;
const MB = 1024 * 1024;
const BASELINE_JS = path.join(CACHE_DIR, 'drive-baseline.mjs');

export interface DriveFigureOptions {
  work: string;
  year: number;
  repeats: number;
  median(values: number[]): number;
  /** Per year: photos and their size, large videos and theirs; the bytes per zip part. */
  photos: number;
  photoSize: number;
  videos: number;
  videoSize: number;
  partBytes: number;
}

async function buildDriveBaseline(): Promise<void> {
  const source = await readFile(path.join(ROOT, 'bench', 'drive-baseline.ts'), 'utf8');
  const output = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    fileName: 'drive-baseline.ts',
  });
  await mkdir(CACHE_DIR, { recursive: true });
  await writeFile(BASELINE_JS, output.outputText);
}

interface Stats {
  driveBytes: number;
  requests: Record<string, number>;
}

async function statsOf(url: string): Promise<Stats> {
  return (await (await fetch(`${url}/__emulator/stats`)).json()) as Stats;
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

export async function runDriveFigures(options: DriveFigureOptions): Promise<Row[]> {
  await buildDriveBaseline();
  const planFile = path.join(options.work, 'drive-plan.json');
  const emulator = await startEmulatorProcess('bench/emulator-drive.ts', [
    '--last',
    String(options.year),
    '--photos',
    String(options.photos),
    '--photo-size',
    String(options.photoSize),
    '--videos',
    String(options.videos),
    '--video-size',
    String(options.videoSize),
    '--part-bytes',
    String(options.partBytes),
    '--plan',
    planFile,
  ]);
  try {
    const plan = JSON.parse(await readFile(planFile, 'utf8')) as DrivePlan;
    const driveUrl = (emulator as unknown as { driveUrl: string }).driveUrl;
    const account = await writeAccount(emulator.url, path.join(options.work, 'drive-account'), [DRIVE_SCOPE]);
    const entries = plan.bytes.media + plan.bytes.sidecar + plan.bytes.album;
    const needed = entries + plan.bytes.directory;
    const allowed = BYTES_LIMIT * entries + plan.bytes.directory;

    const baseline = (dir: string) =>
      runNode(
        [
          BASELINE_JS,
          '--drive-url',
          driveUrl,
          '--token',
          account.tokenPath,
          '--plan',
          planFile,
          '--dir',
          dir,
          '--concurrency',
          String(CONCURRENCY),
        ],
        {},
        options.work,
      );
    const checkBaseline = (run: Measured) => {
      const result = run.code === 0 ? (JSON.parse(run.stdout) as { bytes: number }) : undefined;
      if (result?.bytes !== needed)
        throw new Error(
          `drive baseline read ${String(result?.bytes)} of ${needed} (exit ${run.code}):\n${run.stderr}`,
        );
    };
    const ours = (dir: string) =>
      runNode(
        [
          path.join(ROOT, 'bin', 'photo-backup.js'),
          String(options.year),
          dir,
          '--source',
          'drive',
          '--concurrency',
          String(CONCURRENCY),
          '--json',
          '--client-secret',
          account.clientSecretPath,
          '--token',
          account.tokenPath,
        ],
        { PHOTO_BACKUP_DRIVE_URL: driveUrl },
        options.work,
      );

    // One untimed run first: the emulator process is new and its first answers are slower.
    const warmUp = path.join(options.work, 'drive-warm-up');
    checkBaseline(await baseline(warmUp));
    await emptyOutput(warmUp);

    const times = { ours: [] as number[], theirs: [] as number[] };
    const bytes: number[] = [];
    const requests: number[] = [];
    const rss = { ours: [] as number[], theirs: [] as number[] };
    for (let repeat = 0; repeat < options.repeats; repeat++) {
      const order = repeat % 2 === 0 ? (['ours', 'theirs'] as const) : (['theirs', 'ours'] as const);
      for (const who of order) {
        const dir = path.join(options.work, `drive-${who}-${repeat}`);
        const before = await statsOf(emulator.url);
        const run = who === 'ours' ? await ours(dir) : await baseline(dir);
        const after = await statsOf(emulator.url);
        if (who === 'ours') {
          const summary = jsonEvents(run.stdout).find((event) => event.type === 'summary')?.summary as
            | { saved?: number; failed?: unknown[] }
            | undefined;
          if (run.code !== 0 || summary?.saved !== plan.media) {
            throw new Error(
              `photo-backup --source drive saved ${String(summary?.saved)} of ${plan.media} (exit ${run.code}):\n${run.stderr.slice(-2000)}`,
            );
          }
          bytes.push(after.driveBytes - before.driveBytes);
          requests.push(
            (after.requests['drive.files.media'] ?? 0) - (before.requests['drive.files.media'] ?? 0),
          );
        } else {
          checkBaseline(run);
        }
        times[who].push(run.ms / 1000);
        rss[who].push(run.peakRss / MB);
        await emptyOutput(dir);
      }
    }
    const served = options.median(bytes);
    const byteRatio = served / needed;
    const kinds = `media ${round(plan.bytes.media / MB, 1)} MB, sidecars ${round(plan.bytes.sidecar / 1024, 1)} KB, albums ${round(plan.bytes.album / 1024, 1)} KB, directories ${round(plan.bytes.directory / 1024, 1)} KB`;
    const bytesRow: Row = {
      figure: `Drive: bytes for 1 year of a 5-year export (${plan.parts} parts) vs that year's entries + directories`,
      unit: 'MB',
      photoBackup: round(served / MB, 3),
      baseline: round(needed / MB, 3),
      ratio: round(byteRatio, 3),
      target: `≤ ${BYTES_LIMIT} × entries + directories (${round(allowed / MB, 3)} MB)`,
      pass: served <= allowed,
      note: `${kinds}; ${options.median(requests)} media requests for ${plan.ranges.length} ranges`,
      runs: { photoBackup: bytes.map((value) => round(value / MB, 3)), baseline: [] },
    };
    const timeRatio = options.median(times.ours) / options.median(times.theirs);
    const timeRow: Row = {
      figure: `Drive: wall time for the same year vs one ranged GET per entry`,
      unit: 's',
      photoBackup: round(options.median(times.ours)),
      baseline: round(options.median(times.theirs)),
      ratio: round(timeRatio),
      target: `≤ ${TIME_LIMIT} ×`,
      pass: timeRatio <= TIME_LIMIT,
      note: `peak RSS ${round(Math.max(...rss.ours), 0)} MB (baseline ${round(Math.max(...rss.theirs), 0)} MB); largest entry ${round(options.videoSize / MB, 0)} MB`,
      runs: {
        photoBackup: times.ours.map((value) => round(value, 3)),
        baseline: times.theirs.map((value) => round(value, 3)),
      },
    };
    return [bytesRow, timeRow];
  } finally {
    await emulator.close();
  }
}
