/**
 * The test tree itself: `npm test` and `npm run reliability` name their files by shell globs, one
 * per folder (Node 20's `node --test` takes no globs of its own), so a test file in a folder that no
 * glob names would silently never run. Every *.test.ts is run by exactly one of the two, and each
 * long version in test/reliability/ has its small suite at the same path under test/.
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

async function scripts(): Promise<{ test: string[]; reliability: string[] }> {
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  return {
    test: scriptGlobs(pkg.scripts.test ?? ''),
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

test('every *.test.ts is run by npm test or npm run reliability, and by only one of them', async () => {
  const globs = await scripts();
  assert.ok(globs.test.length > 0 && globs.reliability.length > 0, 'both scripts name test files');
  const missed: string[] = [];
  for (const file of await testFiles()) {
    const inTest = globs.test.some((glob) => globMatches(glob, file));
    const inReliability = globs.reliability.some((glob) => globMatches(glob, file));
    if (!inTest && !inReliability)
      missed.push(`${file}: run by neither (add its folder's glob to package.json)`);
    if (inTest && inReliability) missed.push(`${file}: run by both`);
    if (inTest && file.startsWith('test/reliability/'))
      missed.push(`${file}: a long version run by npm test`);
    if (inReliability && !file.startsWith('test/reliability/'))
      missed.push(`${file}: outside test/reliability/`);
  }
  assert.deepEqual(missed, []);
});

test('every glob of both scripts names at least one file (a moved folder leaves none behind)', async () => {
  const files = await testFiles();
  const globs = await scripts();
  for (const glob of [...globs.test, ...globs.reliability])
    assert.ok(
      files.some((file) => globMatches(glob, file)),
      `${glob} matches no file`,
    );
});

test('each long version in test/reliability/ has its small suite at the same path under test/', async () => {
  const files = await testFiles();
  const unpaired = files
    .filter((file) => file.startsWith('test/reliability/'))
    .filter((file) => !files.includes(file.replace('test/reliability/', 'test/')));
  assert.deepEqual(unpaired, []);
});
