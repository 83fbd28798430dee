/**
 * Test hook, nothing else: with `PHOTO_BACKUP_COUNT_MEDIA_READS=<file>` set, the Takeout source
 * counts each time it reads a media entry's bytes (a date from its first bytes, a copy, a hash)
 * and appends the count to `<file>` when it closes, so a test can show that a run over archives
 * already saved reads none. Unset, as in every real run, it counts nothing and writes nothing.
 * Likewise `PHOTO_BACKUP_LIST_PART_OPENS=<file>`: each archive part opened is appended to `<file>`
 * (one path a line), so a test can show that a finished part is not opened again.
 */
import { appendFileSync } from 'node:fs';

const openedFile = process.env.PHOTO_BACKUP_LIST_PART_OPENS || undefined;

export function notePartOpened(part: string): void {
  if (openedFile !== undefined) appendFileSync(openedFile, `${part}\n`);
}

const file = process.env.PHOTO_BACKUP_COUNT_MEDIA_READS || undefined;
let reads = 0;

export function countMediaRead(): void {
  if (file !== undefined) reads++;
}

export function writeMediaReadCount(): void {
  if (file === undefined) return;
  appendFileSync(file, `${reads}\n`);
  reads = 0;
}
