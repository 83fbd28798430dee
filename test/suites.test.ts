/**
 * The test tree itself: `npm test` (the quick suite), `npm run test:long` (the long black-box
 * suites) and `npm run reliability` name their files, one by one or by a shell glob per folder
 * (Node 20's `node --test` takes no globs of its own), so a test file no script names would
 * silently never run. Every *.test.ts is run by exactly one of the three, CI runs all the scripts
 * that hold test/ files, and each long version in test/reliability/ has its small suite at the
 * same path under test/.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Every *.test.ts under test/, as paths relative to the repository with `/` separators. */
async function testFiles(): Promise<string[]> {
  const entries = await readdir(path.join(ROOT, 'test'), { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.test.ts'))
    .map((entry) => path.relative(ROOT, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .filter((file) => !file.startsWith('test/fixtures/'))
    .sort();
}

/** The test file globs of one npm script: its words that end in `.test.ts`. */
function scriptGlobs(script: string): string[] {
  return script.split(/\s+/).filter((word) => word.endsWith('.test.ts'));
}

/** Whether a shell glob (only `*`, which stays within one folder) matches a relative path. */
function globMatches(glob: string, file: string): boolean {
  const source = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]*');
  return new RegExp(`^${source}$`).test(file);
}

/** The scripts that run tests under test/ (outside test/reliability/): the quick one and the long one. */
const SUITES = ['test', 'test:long'] as const;

async function scripts(): Promise<Record<(typeof SUITES)[number] | 'reliability', string[]>> {
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  return {
    test: scriptGlobs(pkg.scripts.test ?? ''),
    'test:long': scriptGlobs(pkg.scripts['test:long'] ?? ''),
    reliability: scriptGlobs(pkg.scripts.reliability ?? ''),
  };
}

test('globMatches reads `*` as the shell does: any name within one folder', () => {
  const cases: { glob: string; file: string; matches: boolean }[] = [
    { glob: 'test/*.test.ts', file: 'test/plan.test.ts', matches: true },
    { glob: 'test/*.test.ts', file: 'test/auth/consent.test.ts', matches: false },
    { glob: 'test/sources/*/*.test.ts', file: 'test/sources/takeout/bombs.test.ts', matches: true },
    { glob: 'test/sources/*/*.test.ts', file: 'test/sources/bombs.test.ts', matches: false },
    { glob: 'test/*.test.ts', file: 'test/planXtest.ts', matches: false },
  ];
  for (const { glob, file, matches } of cases)
    assert.equal(globMatches(glob, file), matches, `${glob} ${file}`);
});

test('every *.test.ts is run by exactly one of npm test, npm run test:long and npm run reliability', async () => {
  const globs = await scripts();
  for (const [name, list] of Object.entries(globs)) assert.ok(list.length > 0, `${name} names test files`);
  const missed: string[] = [];
  for (const file of await testFiles()) {
    const runBy = Object.entries(globs)
      .filter(([, list]) => list.some((glob) => globMatches(glob, file)))
      .map(([name]) => name);
    if (runBy.length === 0)
      missed.push(`${file}: run by no script (add it, or its folder's glob, to package.json)`);
    if (runBy.length > 1) missed.push(`${file}: run by ${runBy.join(' and ')}`);
    const long = file.startsWith('test/reliability/');
    if (long && runBy.some((name) => name !== 'reliability'))
      missed.push(`${file}: a long version run by ${runBy.join(' and ')}`);
    if (!long && runBy.includes('reliability')) missed.push(`${file}: outside test/reliability/`);
  }
  assert.deepEqual(missed, []);
});

test('every glob or file the scripts name matches a file (a moved one leaves none behind)', async () => {
  const files = await testFiles();
  const globs = await scripts();
  for (const glob of Object.values(globs).flat())
    assert.ok(
      files.some((file) => globMatches(glob, file)),
      `${glob} matches no file`,
    );
});

test('CI runs both suites: the README command (npm test), then npm run test:long, on Node 20 and on 24', async () => {
  const lines = async (name: string) =>
    (await readFile(path.join(ROOT, '.ci', name), 'utf8')).split('\n').map((line) => line.trim());
  const run = await lines('run');
  const readmeCommand = run.findIndex((line) => line.startsWith('npm test && '));
  assert.ok(readmeCommand >= 0, '.ci/run runs npm test');
  assert.equal(run[readmeCommand + 1], 'npm run test:long', 'right after the README command');
  const lts = await lines('node-lts');
  for (const suite of SUITES)
    assert.ok(lts.includes(suite === 'test' ? 'npm test' : `npm run ${suite}`), `.ci/node-lts runs ${suite}`);
});

test('each long version in test/reliability/ has its small suite at the same path under test/', async () => {
  const files = await testFiles();
  const unpaired = files
    .filter((file) => file.startsWith('test/reliability/'))
    .filter((file) => !files.includes(file.replace('test/reliability/', 'test/')));
  assert.deepEqual(unpaired, []);
});
