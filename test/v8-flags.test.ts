/**
 * Which of bin's V8 flags are set again once the writer thread runs (src/v8-flags.ts): all but the
 * young generation's, and the flags bin/photo-backup.js really sets are the ones this expects.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { flagsToReapply } from '../src/v8-flags.ts';

test('v8 flags: all but --semi-space-growth-factor are set again after a worker thread starts', async () => {
  const bin = await readFile(new URL('../bin/photo-backup.js', import.meta.url), 'utf8');
  const set = [...bin.matchAll(/^set\('([^']+)'\);$/gm)].map((match) => match[1] as string);
  assert.deepEqual(set, ['--liftoff-only', '--heap-growing-percent=100', '--semi-space-growth-factor=1']);
  assert.deepEqual(flagsToReapply(set), ['--liftoff-only', '--heap-growing-percent=100']);
  assert.deepEqual(flagsToReapply(undefined), [], 'a run bin did not start sets none');
  assert.deepEqual(flagsToReapply(['--liftoff-only', 7]), ['--liftoff-only']);
});
