#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

// Node undoes flags set this way when it starts a worker thread (the sidecars' writer,
// src/metadata/sidecar-writer.ts): the flags set here are kept where src/v8-flags.ts finds them, and
// set again once the thread is running. Measured in docs/performance.md.
const flags = [];
globalThis[Symbol.for('photo-backup.v8-flags')] = flags;
const set = (flag) => {
  setFlagsFromString(flag);
  flags.push(flag);
};

// undici parses HTTP with llhttp compiled to WebAssembly. When a large download makes the parser
// hot, V8 recompiles it with its optimizing compiler, which takes a large share of the run's peak
// memory for a moment. The baseline compiler's code parses just as fast here (the bodies are
// passed through, not parsed byte by byte), so the optimizing tier is turned off. Set before
// undici compiles the parser (at the first request). Figures: docs/performance.md.
set('--liftoff-only');
// After each full collection V8 lets the old generation grow to up to 4 times what survived
// before the next one, the more the cheaper its collections have been: a large year's peak then
// varies widely from run to run. Twice what survived keeps it steady; less cost large files
// collector time (docs/performance.md). Read at every collection, so setting it here applies.
set('--heap-growing-percent=100');
// The young generation starts at 1 MB a half and doubles while many of its objects survive, up
// to 16 MB a half: 34 MB of the heap for the whole run, though a scavenge finds a few MB alive.
// Kept at its start: a 200,000-entry Takeout's peak RSS about 318 -> 282 MB, and no slower (more
// scavenges, each of less). Only this flag works once V8 has started: --max-semi-space-size given
// here does nothing (docs/performance.md). Let grow again in runs with the writer thread (--xmp,
// --albums), which allocate more per photo: src/v8-flags.ts.
set('--semi-space-growth-factor=1');

// The package ships dist/, built when it is packed. A fresh clone has no dist/ until `npm run build`
// (or `npm test`), so there the TypeScript source runs through tsx, a devDependency of the clone.
const built = new URL('../dist/cli.js', import.meta.url);
let cli;
if (existsSync(built)) cli = await import(built.href);
else {
  const tsx = await import('tsx/esm/api').catch(() => undefined);
  if (!tsx) {
    process.stderr.write(
      'photo-backup: dist/cli.js is missing and tsx is not installed to run the source. Run `npm install && npm run build` in the photo-backup folder.\n',
    );
    process.exit(2);
  }
  tsx.register();
  cli = await import('../src/cli.ts');
}
await cli.main(process.argv);
