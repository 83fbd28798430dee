/**
 * The takeout source under kills and bad archives, through the built CLI (`--takeout`): a killed
 * run, run again, ends with the same tree as an uninterrupted one; damaged, encrypted and hostile
 * archives are reported with the right exit code while the good parts are saved; running again
 * saves nothing new, and a later Takeout adds only what is new. The big version is
 * test/reliability/takeout.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allFiles } from './helpers/reliability.ts';
import {
  assertTakeoutComplete,
  openTakeoutDir,
  splitParts,
  takeoutReference,
  takeoutYear,
} from './helpers/takeout-year.ts';

const parts = splitParts(takeoutYear(30), 3);
const references = { zip: takeoutReference(parts, 'zip') };

// Regression: a photo renamed into place but not yet recorded when the run was killed was adopted
// by the next run without its hash, so its album copy (the same bytes) was saved a second time as
// IMG_0003~<id>.jpg.
test('takeout: a file killed between rename and record is adopted with its hash; its album copy is not saved twice', async () => {
  const place = await openTakeoutDir();
  try {
    const inputs = await place.write(parts, 'zip');
    // One at a time, so the 4th file saved is IMG_0003, the first photo that also sits in the album "Trip".
    const killed = await place.run(inputs, ['--concurrency', '1'], {
      PHOTO_BACKUP_CRASH_AT: 'after-rename-before-record:4',
    });
    assert.equal(killed.signal, 'SIGKILL', killed.stderr);
    assert.ok((await allFiles(place.folder)).some((file) => file.endsWith('IMG_0003.jpg')));
    const resumed = await place.run(inputs);
    assert.equal(resumed.code, 0, resumed.stderr);
    await assertTakeoutComplete(place.folder, await references.zip, 'adopted');
  } finally {
    await place.close();
  }
});
