/**
 * Black-box smoke, one run of the built CLI per source against the emulator: the same small year
 * saved whole from the Library API, the picker, a Takeout zip and Takeout exports on Drive. This is
 * the quick suite's (`npm test`) check that each source works end to end; every source's long
 * black-box suite (`npm run test:long`) goes through its faults, reruns and edge cases.
 * Run `npm run build` first; `npm test` does.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { DRIVE_SCOPE } from '../../src/auth/scopes.ts';
import { emulatorEnv, runCli, sha256, treeHashes, writeAccount } from '../helpers/cli.ts';
import { buildZip } from '../helpers/takeout-builder.ts';
import { exportEntries, putTakeoutExports } from '../support/emulator/drive-takeout.ts';
import { type Emulator, startEmulator } from '../support/emulator/index.ts';

let dir: string;
let emulator: Emulator;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pb-cli-sources-'));
  emulator = await startEmulator({
    generate: { year: 2024, count: 6, videoEvery: 3, otherYear: 2, photoSize: 3000, videoSize: 5000 },
    picker: { pollInterval: '0.01s', pollsBeforePicked: 1 },
  });
  emulator.setItems(
    emulator.items.map((item) => (item.kind === 'video' ? { ...item, videoStatus: 'READY' } : item)),
  );
});
afterEach(async () => {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs `photo-backup 2024 out …` and checks it saved exactly the year's items, byte for byte. */
async function savesTheYear(args: string[]): Promise<void> {
  const result = await runCli(['2024', 'out', ...args], { cwd: dir, env: emulatorEnv(emulator) });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const year = emulator.items.filter((item) => item.creationTime.startsWith('2024'));
  assert.ok(year.length > 0 && year.length < emulator.items.length, 'a year among others');
  const tree = await treeHashes(path.join(dir, 'out'));
  const media = [...tree].filter(([name]) => !/\.(json|xmp)$/.test(name));
  assert.deepEqual(
    media.map(([, hash]) => hash).sort(),
    year.map((item) => sha256(emulator.contentOf(item.id))).sort(),
    [...tree.keys()].join(', '),
  );
  assert.match(result.stdout + result.stderr, new RegExp(`Saved ${year.length} file`));
}

test('library: --source library saves the year', async () => {
  await writeAccount(emulator, dir);
  await savesTheYear(['--source', 'library']);
});

test('picker: --source picker --no-browser saves the picked year', async () => {
  await writeAccount(emulator, dir);
  await savesTheYear(['--source', 'picker', '--no-browser']);
  assert.equal(emulator.stats.requests['picker.sessions.delete'], 1, 'the session was deleted');
});

test('takeout: --takeout with a zip saves the year, dated by the sidecars', async () => {
  await writeFile(path.join(dir, 'takeout-001.zip'), buildZip(exportEntries(emulator.items)));
  await savesTheYear(['--takeout', 'takeout-001.zip']);
  assert.deepEqual(emulator.stats.mediaRequests, {}, 'nothing asked of Google');
});

test('drive: --source drive saves the year from the exports in Drive', async () => {
  putTakeoutExports(emulator, [{ time: new Date('2025-01-10T08:00:00Z'), items: emulator.items }]);
  await writeAccount(emulator, dir, { scopes: [DRIVE_SCOPE] });
  await savesTheYear(['--source', 'drive']);
});
