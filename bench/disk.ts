/**
 * Keeps the bench's own deletions out of the timed runs.
 *
 * On ext4 without a journal (this project's 2-core VM), a new file's inode is not taken from those
 * freed in the last 30 seconds, or 3 minutes while their inode table block holds unwritten
 * changes (which every new file in that block makes): each such free inode is passed over, one
 * buffer-cache lookup each (`recently_deleted()` in the kernel). With a few thousand files just
 * deleted, creating a file costs many times more (docs/performance.md). Deleting each run's
 * output before the next run therefore charged every run
 * mostly for the files it creates, hiding the programs' own cost, and charged photo-backup (a
 * file per photo and a folder per day) more than the baseline (a file per photo).
 *
 * So after each run its files are emptied, not deleted (untimed): their data leaves the page cache
 * unwritten, as when they were deleted, and their inodes stay in use. Everything is deleted when
 * the bench ends, and a bench started within 3 minutes of that waits out the rest first.
 * (Keeping the files whole instead, written to disk after each run, measured the disk and this
 * VM's first touches of fresh memory instead of the programs.)
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long ext4 passes over a freed inode at most: 30 s, plus 150 s while its block is unwritten. */
const DELETIONS_REMEMBERED_MS = 181_000;

/** Empties every file under `folder` (its data never reaches the disk), keeping the files. */
export async function emptyOutput(folder: string): Promise<void> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isFile()) await truncate(path.join(entry.parentPath, entry.name), 0);
  }
}

/** Writes every file's data to disk (`sync`), so that no writeback of it is left for the runs. */
export function flushToDisk(): void {
  // `sync` exists on Linux and macOS; where it does not, the runs share the writeback.
  spawnSync('sync', { stdio: 'ignore' });
}

/** Where the end of the last bench's deletions is noted. */
function noteFile(cacheDir: string): string {
  return path.join(cacheDir, 'deleted-at');
}

/** Notes that the bench deleted its files just now (see the top of this file). */
export async function noteDeletions(cacheDir: string): Promise<void> {
  await mkdir(cacheDir, { recursive: true });
  await writeFile(noteFile(cacheDir), String(Date.now()));
}

/** Waits until the last bench's deletions no longer slow file creation. */
export async function waitForEarlierDeletions(cacheDir: string, log: (text: string) => void): Promise<void> {
  const at = Number(await readFile(noteFile(cacheDir), 'utf8').catch(() => '0'));
  const left = at + DELETIONS_REMEMBERED_MS - Date.now();
  if (!(left > 0)) return;
  log(`bench: waiting ${Math.ceil(left / 1000)} s for the last bench's deletions to age (bench/disk.ts)…`);
  await sleep(left);
}
