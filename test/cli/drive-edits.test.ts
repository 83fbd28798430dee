/**
 * Black-box: the built CLI with --source drive over a scheduled Takeout whose incremental export
 * holds items edited in Google Photos since the full one (a new date, a new location and
 * description, new pixels), as the emulator's Drive delivers them (test/support/emulator/drive-takeout.ts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { DRIVE_SCOPE } from '../../src/auth/scopes.ts';
import type { EmulatorItem } from '../../src/emulator/items.ts';
import { formatGpsCoordinate } from '../../src/metadata/xmp.ts';
import { emulatorEnv, runCli, sha256, treeHashes, writeAccount } from '../helpers/cli.ts';
import { makeJpeg } from '../helpers/takeout-builder.ts';
import { putTakeoutExports } from '../support/emulator/drive-takeout.ts';
import { type Emulator, startEmulator } from '../support/emulator/index.ts';

let dir: string;
let emulator: Emulator;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pb-cli-drive-edits-'));
  emulator = await startEmulator({ generate: { year: 2024, count: 6, videoEvery: 0, otherYear: 0 } });
  await writeAccount(emulator, dir, { scopes: [DRIVE_SCOPE] });
});
afterEach(async () => {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

const dayOf = (item: EmulatorItem) => item.creationTime.slice(0, 10);

/** Where these bytes are in the backup (relative paths, sorted). */
async function placesOf(bytes: Buffer): Promise<string[]> {
  const places: string[] = [];
  for (const [file, hash] of await treeHashes(path.join(dir, 'out')))
    if (hash === sha256(bytes)) places.push(file);
  return places.sort();
}

function savedCount(stdout: string): number {
  for (const line of stdout.split('\n').reverse())
    if (line.startsWith('{"type":"summary"'))
      return (JSON.parse(line) as { summary: { saved: number } }).summary.saved;
  throw new Error(`no summary in ${stdout.slice(-500)}`);
}

test('--source drive: an incremental export with edited items moves a redated photo, rewrites XMP, saves new pixels beside', async () => {
  const env = emulatorEnv(emulator);
  const args = ['2024', 'out', '--source', 'drive', '--xmp', '--timezone', 'UTC', '--json'];
  const photos = emulator.items.filter(
    (item) => item.kind === 'photo' && item.creationTime.startsWith('2024'),
  );
  const newDay = '2024-06-15';
  const [redated, relocated, repainted] = photos.filter((item) => dayOf(item) !== newDay);
  assert.ok(redated && relocated && repainted, 'three photos of 2024 to edit');
  const { folderId } = putTakeoutExports(emulator, [
    { time: new Date('2025-01-10T08:00:00Z'), items: emulator.items },
  ]);
  const full = await runCli(args, { cwd: dir, env });
  assert.equal(full.code, 0, full.stdout + full.stderr);
  assert.deepEqual(await placesOf(emulator.contentOf(redated.id)), [`${dayOf(redated)}/${redated.filename}`]);

  const pixels = makeJpeg({ comment: `${repainted.filename}, edited in Google Photos`, shade: 25 });
  const place = { latitude: 41.3874, longitude: 2.1686 };
  putTakeoutExports(
    emulator,
    [
      {
        time: new Date('2025-03-12T08:00:00Z'),
        items: [],
        edits: [
          { item: redated, takenAt: new Date(`${newDay}T12:00:00Z`) },
          { item: relocated, location: place, description: 'Sagrada Família' },
          { item: repainted, pixels },
        ],
      },
    ],
    { folderId },
  );
  const incremental = await runCli(args, { cwd: dir, env });
  assert.equal(incremental.code, 0, incremental.stdout + incremental.stderr);
  assert.equal(savedCount(incremental.stdout), 1, 'only the new pixels are downloaded');
  assert.deepEqual(
    await placesOf(emulator.contentOf(redated.id)),
    [`${newDay}/${redated.filename}`],
    'moved to its new day, not copied',
  );
  // Saved under the name Google gave it in the full export (`IMG_0001(1).jpg` when numbered).
  const [relocatedAt] = await placesOf(emulator.contentOf(relocated.id));
  assert.ok(relocatedAt, 'the relocated photo is saved');
  const xmp = await readFile(path.join(dir, 'out', `${relocatedAt}.xmp`), 'utf8');
  assert.match(xmp, /Sagrada Família/);
  assert.ok(xmp.includes(formatGpsCoordinate(place.latitude, 'N', 'S')), xmp);
  const stem = repainted.filename.slice(0, repainted.filename.lastIndexOf('.'));
  const extension = repainted.filename.slice(stem.length);
  assert.deepEqual(await placesOf(pixels), [`${dayOf(repainted)}/${stem}-edited${extension}`]);
  assert.deepEqual(await placesOf(emulator.contentOf(repainted.id)), [
    `${dayOf(repainted)}/${repainted.filename}`,
  ]);

  const tree = await treeHashes(path.join(dir, 'out'));
  const again = await runCli(args, { cwd: dir, env });
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.equal(savedCount(again.stdout), 0);
  assert.deepEqual(await treeHashes(path.join(dir, 'out')), tree, 'a rerun changes nothing');
});
