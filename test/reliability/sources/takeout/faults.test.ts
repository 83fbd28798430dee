/**
 * The takeout source on a 300-photo year in 4 parts, through the built CLI: SIGKILL at many
 * moments of a zip run and a tgz run, then the same command (same tree as an uninterrupted run),
 * two kills in a row, and a damaged part among good ones. Run by `npm run reliability`.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { treeHashes } from '../../../helpers/cli.ts';
import {
  assertTakeoutComplete,
  killThenResumeTakeout,
  openTakeoutDir,
  splitParts,
  takeoutReference,
  takeoutYear,
} from '../../../helpers/takeout-year.ts';

const parts = splitParts(takeoutYear(300), 4);
const references = { zip: takeoutReference(parts, 'zip'), tgz: takeoutReference(parts, 'tgz') };

const points: [string, number][] = [
  ['mid-download', 1],
  ['mid-download', 120],
  ['after-temp-write', 1],
  ['after-temp-write', 250],
  ['before-rename', 60],
  ['after-rename-before-record', 1],
  ['after-rename-before-record', 180],
  ['after-rename-before-record', 270],
  ['mid-journal-write', 1],
  ['mid-journal-write', 100],
  ['after-record', 150],
];

for (const kind of ['zip', 'tgz'] as const) {
  for (const [point, n] of points) {
    test(`takeout ${kind}, 300 photos, SIGKILL at ${point} #${n}, then the same command: as if never interrupted`, async () => {
      await killThenResumeTakeout(parts, kind, { point, n }, references[kind]);
    });
  }
}

test('takeout zip, two kills in a row, then a clean run', async () => {
  const place = await openTakeoutDir();
  try {
    const inputs = await place.write(parts, 'zip');
    for (const crash of ['after-temp-write:40', 'after-rename-before-record:90']) {
      const killed = await place.run(inputs, [], { PHOTO_BACKUP_CRASH_AT: crash });
      assert.equal(killed.signal, 'SIGKILL', crash);
    }
    const resumed = await place.run(inputs);
    assert.equal(resumed.code, 0, resumed.stderr);
    await assertTakeoutComplete(place.folder, await references.zip, 'two kills');
  } finally {
    await place.close();
  }
});

test('takeout, a truncated tgz part among good zips: the rest saved as in a whole run, exit 1 naming the part', async () => {
  const place = await openTakeoutDir();
  try {
    const zips = await place.write(parts.slice(0, 3), 'zip');
    const [tgz] = await place.write(parts.slice(3), 'tgz', '20250101T000001Z');
    const bytes = await readFile(tgz as string);
    await writeFile(tgz as string, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const result = await place.run([...zips, tgz as string]);
    assert.equal(result.code, 1, result.stderr);
    assert.ok((result.stdout + result.stderr).includes(path.basename(tgz as string)));
    const saved = await treeHashes(place.folder);
    const reference = (await references.zip).tree;
    assert.ok(saved.size > reference.size / 2, `${saved.size} of ${reference.size} saved`);
    for (const [file, hash] of saved) assert.equal(reference.get(file), hash, file);
  } finally {
    await place.close();
  }
});
