#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';

// undici parses HTTP with llhttp compiled to WebAssembly. When a large download makes the parser
// hot, V8 recompiles it with its optimizing compiler, which takes about 25 MB of memory for a
// moment: a third of the run's peak. The baseline compiler's code parses just as fast here (the
// bodies are passed through, not parsed byte by byte), so the optimizing tier is turned off.
// Set before undici compiles the parser (at the first request). Measured: `npm run bench`.
setFlagsFromString('--liftoff-only');

const { main } = await import('../dist/cli.js');
await main(process.argv);
