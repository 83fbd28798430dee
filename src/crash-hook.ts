/**
 * Test hook, nothing else: the reliability suite (test/crash.test.ts, test/reliability/) sets
 * `PHOTO_BACKUP_CRASH_AT=<point>:<n>` and the process kills itself with SIGKILL the n-th time it
 * reaches `<point>`, which is a power cut at exactly that moment. Unset, as in every real run, it
 * does nothing. Points: listed-page, mid-download, after-temp-write, before-rename,
 * after-rename-before-record, mid-journal-write, after-record, mid-compaction, mid-move-after-copy,
 * mid-move-after-record (a saved file moved to the day of its edited date).
 *
 * Also test only: `PHOTO_BACKUP_FAIL_WRITE_AFTER=<bytes>` makes media writes fail with ENOSPC once
 * that many bytes were written in this process, a full disk without mounting a small tmpfs (root).
 * And `PHOTO_BACKUP_REFUSE_SYMLINKS=1` (symlinkRefusal, below): Windows' EPERM for album links.
 * And `PHOTO_BACKUP_FAIL_RECORD_SYNC=1` (recordSyncFailure, below): the record's fsync fails (EIO).
 */
const spec = /^([a-z-]+):(\d+)$/.exec(process.env.PHOTO_BACKUP_CRASH_AT ?? '');
let hits = 0;

/** Whether `point` is the chosen one: lets a hot path skip the (async) call when it is not. */
export function crashArmed(point: string): boolean {
  return spec?.[1] === point;
}

/** Dies here when this is the chosen point and hit; `before` runs first (e.g. half a journal line). */
export async function crashPoint(point: string, before?: () => Promise<unknown>): Promise<void> {
  if (spec?.[1] !== point || ++hits !== Number(spec[2])) return;
  await before?.();
  process.kill(process.pid, 'SIGKILL');
  await new Promise(() => undefined); // SIGKILL is not synchronous everywhere: never go on
}

const writeLimit = /^\d+$/.test(process.env.PHOTO_BACKUP_FAIL_WRITE_AFTER ?? '')
  ? Number(process.env.PHOTO_BACKUP_FAIL_WRITE_AFTER)
  : undefined;
let written = 0;

/** An ENOSPC error when writing `bytes` more would pass the test limit; undefined (always, when unset) otherwise. */
export function diskFullAt(bytes: number): NodeJS.ErrnoException | undefined {
  if (writeLimit === undefined) return undefined;
  written += bytes;
  if (written <= writeLimit) return undefined;
  return Object.assign(new Error('ENOSPC: no space left on device, write (PHOTO_BACKUP_FAIL_WRITE_AFTER)'), {
    code: 'ENOSPC',
    errno: -28,
    syscall: 'write',
  });
}

/**
 * Test only: `PHOTO_BACKUP_REFUSE_SYMLINKS=1` makes every symlink the album folders would make fail
 * with EPERM, as Windows answers without developer mode, so the hard-link fallback runs on any
 * system. Unset, it returns undefined.
 */
export function symlinkRefusal(): NodeJS.ErrnoException | undefined {
  if (process.env.PHOTO_BACKUP_REFUSE_SYMLINKS !== '1') return undefined;
  return Object.assign(new Error('EPERM: operation not permitted, symlink (PHOTO_BACKUP_REFUSE_SYMLINKS)'), {
    code: 'EPERM',
    syscall: 'symlink',
  });
}

/**
 * Test only: `PHOTO_BACKUP_FAIL_RECORD_SYNC=1` makes syncing the record to disk (Manifest.sync)
 * fail with EIO, as a failing disk answers fsync. Unset, it returns undefined.
 */
export function recordSyncFailure(): NodeJS.ErrnoException | undefined {
  if (process.env.PHOTO_BACKUP_FAIL_RECORD_SYNC !== '1') return undefined;
  return Object.assign(new Error('EIO: i/o error, fsync (PHOTO_BACKUP_FAIL_RECORD_SYNC)'), {
    code: 'EIO',
    syscall: 'fsync',
  });
}
