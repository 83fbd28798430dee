/**
 * The V8 flags bin/photo-backup.js sets (docs/performance.md says why), set again after Node has
 * undone them: it does when a worker thread starts (Node 20; seen for --semi-space-growth-factor,
 * given on the command line or set at run time alike). bin keeps the list under a global symbol;
 * a run started otherwise (the tests' in-process runs) set none, and none are set here.
 *
 * All but one: the young generation kept at its start (--semi-space-growth-factor=1) is let grow
 * again once the writer thread runs (--xmp, --albums). Those runs make a sidecar, a link, their
 * events and longer record lines per photo, and with 1 MB halves scavenged that much more often:
 * 5000 small files with --xmp --albums took 2.96 s with it set again and 2.76 s without (tmpfs,
 * medians of 8, same session), for a peak of 132 MB instead of 101 (the halves grow to 16 MB at
 * most: a larger year adds no more). Runs without the thread (the memory figures) keep it.
 */
import { setFlagsFromString } from 'node:v8';

const KEY = Symbol.for('photo-backup.v8-flags');

/** Flags not set again once a worker thread runs (above). */
const LEFT_UNSET = /^--semi-space-growth-factor=/;

/** Of the flags bin set, those to set again once a worker thread runs. Pure. */
export function flagsToReapply(flags: unknown): string[] {
  if (!Array.isArray(flags)) return [];
  return flags.filter((flag): flag is string => typeof flag === 'string' && !LEFT_UNSET.test(flag));
}

/** Sets again the flags bin set (but the young generation's, above); call once a worker thread is running. */
export function reapplyV8Flags(): void {
  for (const flag of flagsToReapply((globalThis as Record<symbol, unknown>)[KEY])) setFlagsFromString(flag);
}
