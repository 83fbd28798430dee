/**
 * A node:test reporter that sums the time of each test file's top-level tests, to choose which
 * files the quick `npm test` runs and which go to `npm run test:long` (docs/performance.md,
 * "The test suites"). Usage, beside the usual reporter:
 *
 *   node --import tsx --test --test-reporter=dot --test-reporter-destination=stdout \
 *     --test-reporter=./bench/test-times.mjs --test-reporter-destination=test-times.txt test/…
 *
 * Prints one line per file, slowest first: seconds, the number of top-level tests, the file.
 */
import path from 'node:path';

/**
 * JavaScript, not TypeScript: node --test loads reporters before tsx is registered.
 * @param {AsyncIterable<{ type: string; data: { file?: string; nesting?: number; details?: { duration_ms?: number } } }>} source
 */
export default async function* testTimes(source) {
  /** @type {Map<string, { ms: number; tests: number }>} */
  const files = new Map();
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { file, nesting, details } = event.data;
    if (!file || nesting !== 0) continue;
    const entry = files.get(file) ?? { ms: 0, tests: 0 };
    entry.ms += details?.duration_ms ?? 0;
    entry.tests++;
    files.set(file, entry);
  }
  const rows = [...files].sort((a, b) => b[1].ms - a[1].ms);
  let total = 0;
  for (const [file, { ms, tests }] of rows) {
    total += ms;
    yield `${(ms / 1000).toFixed(2).padStart(7)} s ${String(tests).padStart(4)}  ${path.relative(process.cwd(), file)}\n`;
  }
  yield `${(total / 1000).toFixed(2).padStart(7)} s       total of ${rows.length} files\n`;
}
