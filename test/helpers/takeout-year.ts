/**
 * A Takeout of a whole year for the reliability suite, and the CLI run over it: photos of 2024
 * with sidecars, album copies (identical bytes, saved once), edited versions, a few photos of 2023
 * (left out), split into parts the way Google splits an export. Built in memory, written as .zip or .tgz.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseJournal } from '../../src/manifest.ts';
import { type CliResult, runCli, treeHashes } from './cli.ts';
import { allFiles, YEAR } from './reliability.ts';
import {
  type ArchiveEntry,
  buildTgz,
  buildZip,
  makeAlbumJson,
  makeJpeg,
  makeSidecar,
} from './takeout-builder.ts';

const ROOT = 'Takeout/Google Photos';
const DAY_SECONDS = 86_400;

/** `count` photos of the year (plus album copies, edits and a few of the year before), as archive entries. */
export function takeoutYear(count: number, options: { from?: number; label?: string } = {}): ArchiveEntry[] {
  const from = options.from ?? 0;
  const label = options.label ?? '';
  const entries: ArchiveEntry[] = [
    { name: 'Takeout/archive_browser.html', data: '<!doctype html><title>Takeout</title>\n' },
    { name: `${ROOT}/Trip/metadata.json`, data: makeAlbumJson('Trip') },
  ];
  const start = Date.UTC(YEAR, 0, 1, 9) / 1000;
  for (let i = from; i < from + count; i++) {
    const otherYear = i % 10 === 9;
    const taken = otherYear ? start - (i + 1) * 3600 : start + (i % 360) * DAY_SECONDS + i * 61;
    const folder = `${ROOT}/Photos from ${otherYear ? YEAR - 1 : YEAR}`;
    const name = `IMG_${String(i).padStart(4, '0')}.jpg`;
    // A few KB each, different bytes; shade varies so the images differ too.
    const photo = makeJpeg({
      comment: `${label}photo ${i} ${'·'.repeat(1000 + (i % 7) * 700)}`,
      shade: (i % 200) - 100,
    });
    const sidecar = makeSidecar({ title: name, photoTakenTime: String(taken) });
    entries.push(
      { name: `${folder}/${name}`, data: photo },
      { name: `${folder}/${name}.json`, data: sidecar },
    );
    if (i % 7 === 3) {
      entries.push(
        { name: `${ROOT}/Trip/${name}`, data: photo },
        { name: `${ROOT}/Trip/${name}.json`, data: sidecar },
      );
    }
    if (i % 11 === 5) {
      entries.push({
        name: `${folder}/IMG_${String(i).padStart(4, '0')}-edited.jpg`,
        data: makeJpeg({ comment: `edited ${i}` }),
      });
    }
  }
  return entries;
}

/** Splits entries into `parts` consecutive parts (a photo and its sidecar may land in different parts). */
export function splitParts(entries: readonly ArchiveEntry[], parts: number): ArchiveEntry[][] {
  const size = Math.ceil(entries.length / parts);
  return Array.from({ length: parts }, (_, index) => entries.slice(index * size, (index + 1) * size));
}

export interface TakeoutDir {
  dir: string;
  /** `<dir>/photos` */
  folder: string;
  /** Writes the parts as `takeout-<stamp>-00n.zip|tgz` in `<dir>/downloads`; returns their paths. */
  write(parts: ArchiveEntry[][], kind: 'zip' | 'tgz', stamp?: string): Promise<string[]>;
  run(inputs: string[], args?: string[], env?: NodeJS.ProcessEnv): Promise<CliResult>;
  close(): Promise<void>;
}

export async function openTakeoutDir(): Promise<TakeoutDir> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pb-takeout-'));
  return {
    dir,
    folder: path.join(dir, 'photos'),
    async write(parts, kind, stamp = '20250101T000000Z') {
      const { mkdir } = await import('node:fs/promises');
      await mkdir(path.join(dir, 'downloads'), { recursive: true });
      const files: string[] = [];
      for (const [index, entries] of parts.entries()) {
        const file = path.join(
          dir,
          'downloads',
          `takeout-${stamp}-${String(index + 1).padStart(3, '0')}.${kind}`,
        );
        await writeFile(file, kind === 'zip' ? buildZip(entries) : buildTgz(entries));
        files.push(file);
      }
      return files;
    },
    run: (inputs, args = [], env = {}) =>
      runCli([String(YEAR), 'photos', '--takeout', ...inputs, ...args], {
        cwd: dir,
        env,
        timeoutMs: 120_000,
      }),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The recorded ids of a backup folder (latest line per id). */
export async function recordedIds(folder: string): Promise<string[]> {
  const journal = parseJournal(await readFile(path.join(folder, '.photo-backup', 'saved.jsonl'), 'utf8'));
  return [...new Set(journal.records.map((record) => record.id))].sort();
}

/**
 * The takeout check: the same files and bytes as `reference` (an uninterrupted run), no temporary
 * file or lock, each id recorded once at a path holding a file of the recorded size, the same ids.
 */
export async function assertTakeoutComplete(
  folder: string,
  reference: { tree: Map<string, string>; ids: string[] },
  label = '',
): Promise<void> {
  const leftovers = (await allFiles(folder)).filter(
    (file) => file.endsWith('.part') || file.endsWith('.tmp') || file === '.photo-backup/lock',
  );
  assert.deepEqual(leftovers, [], `${label} temporary files or lock left`);
  assert.deepEqual(
    await treeHashes(folder),
    reference.tree,
    `${label} same files and bytes as an uninterrupted run`,
  );
  const journal = parseJournal(await readFile(path.join(folder, '.photo-backup', 'saved.jsonl'), 'utf8'));
  const latest = new Map(journal.records.map((record) => [record.id, record]));
  assert.deepEqual([...latest.keys()].sort(), reference.ids, `${label} every item recorded`);
  const owners = new Map<string, string>();
  for (const record of latest.values()) {
    const info = await stat(path.join(folder, record.path)).catch(() => undefined);
    assert.equal(info?.size, record.size, `${label} recorded file ${record.path} on disk with its size`);
    if (record.copyOf) continue;
    assert.ok(!owners.has(record.path), `${label} two items recorded at ${record.path}`);
    owners.set(record.path, record.id);
  }
  const unrecorded = [...reference.tree.keys()].filter((file) => !owners.has(file));
  assert.deepEqual(unrecorded, [], `${label} files on disk that no record owns`);
}

/** The tree and recorded ids of an uninterrupted run over `inputs` (in a folder of its own). */
export async function takeoutReference(
  parts: ArchiveEntry[][],
  kind: 'zip' | 'tgz',
): Promise<{ tree: Map<string, string>; ids: string[] }> {
  const place = await openTakeoutDir();
  try {
    const result = await place.run(await place.write(parts, kind));
    assert.equal(result.code, 0, result.stderr);
    const tree = await treeHashes(place.folder);
    assert.ok(tree.size > 0);
    return { tree, ids: await recordedIds(place.folder) };
  } finally {
    await place.close();
  }
}

/**
 * Kills a Takeout run with SIGKILL at `point` (its n-th time), runs the same command again, and
 * checks the folder ends as an uninterrupted run left it.
 */
export async function killThenResumeTakeout(
  parts: ArchiveEntry[][],
  kind: 'zip' | 'tgz',
  crash: { point: string; n: number },
  reference: Promise<{ tree: Map<string, string>; ids: string[] }>,
): Promise<void> {
  const place = await openTakeoutDir();
  try {
    const inputs = await place.write(parts, kind);
    const killed = await place.run(inputs, [], { PHOTO_BACKUP_CRASH_AT: `${crash.point}:${crash.n}` });
    assert.equal(
      killed.signal,
      'SIGKILL',
      `${crash.point}:${crash.n} was reached (exit ${killed.code}) ${killed.stderr}`,
    );
    const resumed = await place.run(inputs);
    assert.equal(resumed.code, 0, resumed.stderr);
    await assertTakeoutComplete(place.folder, await reference, `${kind} ${crash.point}:${crash.n}`);
  } finally {
    await place.close();
  }
}
