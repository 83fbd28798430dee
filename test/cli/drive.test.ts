/**
 * Black-box: the built CLI with --source drive, as a child process, against the emulator's Drive
 * holding scheduled Takeout exports (a full one and an incremental one, split into many parts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { DRIVE_SCOPE } from '../../src/auth/scopes.ts';
import { emulatorEnv, runCli, sha256, treeHashes, writeAccount } from '../helpers/cli.ts';
import { buildTgz } from '../helpers/takeout-builder.ts';
import {
  type DriveExport,
  exportEntries,
  incrementalExports,
  putTakeoutExports,
  takeoutTimestamp,
} from '../support/emulator/drive-takeout.ts';
import { type Emulator, startEmulator } from '../support/emulator/index.ts';

const PHOTO_BYTES = 2_000_000;
let dir: string;
let emulator: Emulator;
let exports: DriveExport[];

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pb-cli-drive-'));
  emulator = await startEmulator({
    generate: {
      year: 2024,
      count: 8,
      videoEvery: 4,
      otherYear: 4,
      photoSize: PHOTO_BYTES,
      videoSize: 2_500_000,
    },
  });
  // Parts no bigger than one photo: every sidecar lands in the part after its photo's.
  exports = putTakeoutExports(
    emulator,
    incrementalExports(emulator.items, 2, new Date('2025-01-10T08:00:00Z')),
    {
      partBytes: PHOTO_BYTES,
    },
  ).exports;
  await writeAccount(emulator, dir, { scopes: [DRIVE_SCOPE] });
});
afterEach(async () => {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

const partBytes = () =>
  exports.flatMap((found) => found.parts).reduce((sum, part) => sum + (part.content?.length ?? 0), 0);
const yearItems = () => emulator.items.filter((item) => item.creationTime.startsWith('2024'));

test('--source drive: finds both exports, matches sidecars across parts, saves only the year; a rerun reads no part', async () => {
  assert.ok(exports.length === 2 && exports.every((found) => found.parts.length > 2), 'split exports');
  const env = emulatorEnv(emulator);
  const expected = yearItems();
  assert.ok(expected.length > 0);
  // Dated by their sidecars, each in another part than its photo.
  const dry = await runCli(['2024', 'out', '--source', 'drive', '--dry-run', '--json'], { cwd: dir, env });
  assert.equal(dry.code, 0, dry.stdout + dry.stderr);
  const dryBytes = emulator.stats.driveBytes;
  const planned = dry.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { type: string; dateSource?: string })
    .filter((event) => event.type === 'planned');
  assert.equal(planned.length, expected.length, dry.stdout);
  assert.ok(
    planned.every((event) => event.dateSource === 'sidecar'),
    dry.stdout,
  );

  const result = await runCli(['2024', 'out', '--source', 'drive'], { cwd: dir, env });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const tree = await treeHashes(path.join(dir, 'out'));
  const media = [...tree.entries()].filter(([name]) => !/\.(json|xmp)$/.test(name) && !name.startsWith('.'));
  assert.deepEqual(
    media.map(([, hash]) => hash).sort(),
    expected.map((item) => sha256(emulator.contentOf(item.id))).sort(),
    [...tree.keys()].join(', '),
  );
  // Listing reads each part's central directory, the sidecars and the head of each of this year's
  // photos (its date); saving adds the rest of this year's entries, none of the other year's, and
  // no head twice.
  const listing = dryBytes;
  const run = emulator.stats.driveBytes - dryBytes;
  const yearMedia = expected.reduce((sum, item) => sum + emulator.contentOf(item.id).length, 0);
  assert.ok(listing < partBytes() / 4, `listing read ${listing} of ${partBytes()} bytes`);
  assert.ok(
    run >= yearMedia && run <= listing + yearMedia,
    `the run read ${run} bytes; this year's media are ${yearMedia}, the listing ${listing}`,
  );

  const before = emulator.stats.driveBytes;
  const again = await runCli(['2024', 'out', '--source', 'drive'], { cwd: dir, env });
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stdout + again.stderr, /0 saved|saved 0|nothing new/i);
  // Every part is finished and unchanged: the listing is all a rerun asks Drive for.
  const rerun = emulator.stats.driveBytes - before;
  assert.equal(rerun, 0, `a rerun read ${rerun} bytes`);
});

test('--source drive with a --drive-folder that does not exist: exit 2 naming the folder', async () => {
  const result = await runCli(['2024', 'out', '--source', 'drive', '--drive-folder', 'Backups'], {
    cwd: dir,
    env: emulatorEnv(emulator),
  });
  assert.equal(result.code, 2, result.stdout + result.stderr);
  assert.match(result.stderr, /No folder named "Backups" in your Google Drive/);
});

test('--source drive with a .tgz export: read whole, its items saved, with a notice recommending zip', async () => {
  const folder = emulator.drive.add({ name: 'Tgz', parents: ['root'] });
  const entries = exportEntries(emulator.items).map(({ name, data }) => ({ name, data }));
  emulator.drive.add({
    name: `takeout-${takeoutTimestamp(new Date('2025-03-01T00:00:00Z'))}-001.tgz`,
    parents: [folder.id],
    content: buildTgz(entries),
  });
  const result = await runCli(['2024', 'out', '--source', 'drive', '--drive-folder', 'Tgz'], {
    cwd: dir,
    env: emulatorEnv(emulator),
  });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout + result.stderr, /\.tgz part\(s\) in Drive .* are read whole.*Choose \.zip/);
  const tree = await treeHashes(path.join(dir, 'out'));
  const hashes = [...tree.values()];
  for (const item of yearItems())
    assert.ok(hashes.includes(sha256(emulator.contentOf(item.id))), item.filename);
  // Streamed whole once, then remembered like a zip: a rerun does not stream it again.
  emulator.resetStats();
  const again = await runCli(['2024', 'out', '--source', 'drive', '--drive-folder', 'Tgz'], {
    cwd: dir,
    env: emulatorEnv(emulator),
  });
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.deepEqual(emulator.stats.driveMediaRequests, {});
  assert.doesNotMatch(again.stdout + again.stderr, /are read whole/);
});
