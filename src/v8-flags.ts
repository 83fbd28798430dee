/**
 * The V8 flags bin/photo-backup.js sets (docs/performance.md says why), set again after Node has
 * undone them: it does when a worker thread starts (Node 20; seen for --semi-space-growth-factor,
 * given on the command line or set at run time alike). The main thread's young generation then
 * grew to 16 MB a half again: a 5000-file --xmp --albums run peaked at about 145 MB instead of
 * about 100, with a fifth as many scavenges, each larger. bin keeps the list under a global
 * symbol; a run started otherwise (the tests' in-process runs) set none, and none
 * are set here.
 */
import { setFlagsFromString } from 'node:v8';

const KEY = Symbol.for('photo-backup.v8-flags');

/** Sets again the flags bin set; call once a worker thread is running. */
export function reapplyV8Flags(): void {
  const flags = (globalThis as Record<symbol, unknown>)[KEY];
  if (!Array.isArray(flags)) return;
  for (const flag of flags) if (typeof flag === 'string') setFlagsFromString(flag);
}
