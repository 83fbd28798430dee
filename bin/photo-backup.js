#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';

// undici parses HTTP with llhttp compiled to WebAssembly. When a large download makes the parser
// hot, V8 recompiles it with its optimizing compiler, which takes about 25 MB of memory for a
// moment: a third of the run's peak. The baseline compiler's code parses just as fast here (the
// bodies are passed through, not parsed byte by byte), so the optimizing tier is turned off.
// Set before undici compiles the parser (at the first request). Measured: `npm run bench`.
setFlagsFromString('--liftoff-only');
// After each full collection V8 lets the old generation grow to up to 4 times what survived
// before the next one, the more the cheaper its collections have been: a 50,000-item year (30 MB
// live) peaked anywhere from 140 to 215 MB from run to run. Twice what survived keeps it at
// 150 MB; 1.5 times did too, but cost large files 0.2 s of collector time. Read at every
// collection, so setting it here applies.
setFlagsFromString('--heap-growing-percent=100');

const { main } = await import('../dist/cli.js');
await main(process.argv);
