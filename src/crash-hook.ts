/**
 * Test hook, nothing else: the reliability suite (test/crash.test.ts, test/reliability/) sets
 * `PHOTO_BACKUP_CRASH_AT=<point>:<n>` and the process kills itself with SIGKILL the n-th time it
 * reaches `<point>`, which is a power cut at exactly that moment. Unset, as in every real run, it
 * does nothing. Points: listed-page, mid-download, after-temp-write, before-rename,
 * after-rename-before-record, mid-journal-write, after-record, mid-compaction.
 */
const spec = /^([a-z-]+):(\d+)$/.exec(process.env.PHOTO_BACKUP_CRASH_AT ?? '');
let hits = 0;

/** Dies here when this is the chosen point and hit; `before` runs first (e.g. half a journal line). */
export async function crashPoint(point: string, before?: () => Promise<unknown>): Promise<void> {
  if (spec?.[1] !== point || ++hits !== Number(spec[2])) return;
  await before?.();
  process.kill(process.pid, 'SIGKILL');
  await new Promise(() => undefined); // SIGKILL is not synchronous everywhere: never go on
}
