/**
 * Test hook, nothing else: `PHOTO_BACKUP_PAUSE_AT=<point>[,<point>…]` with
 * `PHOTO_BACKUP_PAUSE_DIR=<dir>` makes the run stop at each named point, write
 * `<dir>/<point>.reached`, and go on only once `<dir>/<point>.go` exists. Two runs racing for
 * the folder lock can so be interleaved in any order (test/lock.test.ts). Unset, as in every real
 * run, it does nothing. Points: lock-create, lock-stale, lock-guarded, lock-remove, lock-acquired.
 */
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const points = new Set((process.env.PHOTO_BACKUP_PAUSE_AT ?? '').split(',').filter(Boolean));
const dir = process.env.PHOTO_BACKUP_PAUSE_DIR;

/** Waits here while a test holds this point; resolves at once when the hook is unset. */
export async function pausePoint(point: string): Promise<void> {
  if (dir === undefined || !points.has(point)) return;
  // Written aside, then renamed: a test that sees `.reached` also sees the pid in it.
  const reached = path.join(dir, `${point}.reached`);
  writeFileSync(`${reached}.${process.pid}.tmp`, String(process.pid));
  renameSync(`${reached}.${process.pid}.tmp`, reached);
  const go = path.join(dir, `${point}.go`);
  // Polling a file keeps the hook free of signals, which Windows lacks.
  while (!existsSync(go)) await new Promise((resolve) => setTimeout(resolve, 10));
}
