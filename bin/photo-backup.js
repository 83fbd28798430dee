#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';

// undici parses HTTP with llhttp compiled to WebAssembly. When a large download makes the parser
// hot, V8 recompiles it with its optimizing compiler, which takes a large share of the run's peak
// memory for a moment. The baseline compiler's code parses just as fast here (the bodies are
// passed through, not parsed byte by byte), so the optimizing tier is turned off. Set before
// undici compiles the parser (at the first request). Figures: docs/performance.md.
setFlagsFromString('--liftoff-only');
// After each full collection V8 lets the old generation grow to up to 4 times what survived
// before the next one, the more the cheaper its collections have been: a large year's peak then
// varies widely from run to run. Twice what survived keeps it steady; less cost large files
// collector time (docs/performance.md). Read at every collection, so setting it here applies.
setFlagsFromString('--heap-growing-percent=100');

const { main } = await import('../dist/cli.js');
await main(process.argv);
