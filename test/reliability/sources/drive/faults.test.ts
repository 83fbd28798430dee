/**
 * The Drive source under kills and under ranges answered whole, the long version of
 * test/sources/drive/faults.test.ts, through the built CLI against the emulator's Drive:
 * - SIGKILL at every crash point of the pipeline (src/crash-hook.ts), early and late, and SIGKILL
 *   from outside once the emulator has served a given share of a clean run's Drive bytes (so also
 *   while central directories and sidecars are read); then the same command again must give the
 *   tree of an uninterrupted run;
 * - every range of a 256 MB part answered 200 with the whole file (RFC 9110 §14.2 allows a server
 *   to ignore Range; https://developers.google.com/drive/api/guides/manage-downloads describes the
 *   206 answer Drive gives): the year is saved while the CLI's peak memory stays far below the part.
 * Run by `npm run reliability`.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { sha256, treeHashes } from '../../../helpers/cli.ts';
import {
  DRIVE_YEAR,
  type DriveAccount,
  driveReference,
  expectedMedia,
  openDriveAccount,
  runDrive,
  savedMedia,
} from '../../../helpers/drive-year.ts';
import { buildZip } from '../../../helpers/takeout-builder.ts';
import { exportEntries, takeoutTimestamp } from '../../../support/emulator/drive-takeout.ts';

const PEAK_RSS = fileURLToPath(new URL('../../../../bench/peak-rss.cjs', import.meta.url));
const MiB = 1024 * 1024;

let account: DriveAccount;
let reference: Map<string, string>;
let cleanBytes: number;
let kills = 0;

before(async () => {
  account = await openDriveAccount({ count: 40, photoSize: 150_000 });
  const start = account.emulator.stats.driveBytes;
  reference = await driveReference(account);
  cleanBytes = account.emulator.stats.driveBytes - start;
  assert.equal([...reference.keys()].length, expectedMedia(account).length);
});
after(async () => {
  await account.close();
});

/** A run killed as `kill` says, then the same command: it must end with the reference tree. */
async function killThenResume(
  label: string,
  kill: { env?: NodeJS.ProcessEnv; afterBytes?: number },
): Promise<void> {
  const folder = path.join(account.dir, `killed-${++kills}`);
  account.emulator.resetStats();
  let watching = true;
  const watch = async (pid: number) => {
    if (kill.afterBytes === undefined) return;
    while (watching && account.emulator.stats.driveBytes < kill.afterBytes) await sleep(2);
    if (watching) process.kill(pid, 'SIGKILL');
  };
  const killed = await runDrive(account, folder, [], kill.env ?? {}, (pid) => {
    void watch(pid);
  });
  watching = false;
  assert.equal(killed.signal, 'SIGKILL', `${label}: not killed (exit ${killed.code})\n${killed.stderr}`);
  const again = await runDrive(account, folder);
  assert.equal(again.code, 0, `${label}\n${again.stdout}\n${again.stderr}`);
  assert.deepEqual(await treeHashes(folder), reference, label);
}

const points: Array<[string, number]> = [
  ['mid-download', 1],
  ['mid-download', 17],
  ['mid-download', 38],
  ['after-temp-write', 1],
  ['after-temp-write', 25],
  ['before-rename', 2],
  ['before-rename', 33],
  ['after-rename-before-record', 1],
  ['after-rename-before-record', 20],
  ['after-rename-before-record', 39],
  ['mid-journal-write', 1],
  ['mid-journal-write', 30],
  ['after-record', 5],
  ['after-record', 36],
];

for (const [point, n] of points) {
  test(`drive: SIGKILL at ${point} #${n}, then the same command: the uninterrupted run's tree`, async () => {
    await killThenResume(`${point}:${n}`, { env: { PHOTO_BACKUP_CRASH_AT: `${point}:${n}` } });
  });
}

for (const share of [0.02, 0.1, 0.3, 0.5, 0.7, 0.9]) {
  test(`drive: SIGKILL once ${share * 100}% of a clean run's Drive bytes were served, then the same command`, async () => {
    await killThenResume(`after ${share}`, { afterBytes: Math.floor(cleanBytes * share) });
  });
}

test('drive: two kills in a row, then the same command: the uninterrupted run tree', async () => {
  const folder = path.join(account.dir, 'twice');
  for (const spec of ['after-temp-write:4', 'mid-download:9']) {
    const killed = await runDrive(account, folder, [], { PHOTO_BACKUP_CRASH_AT: spec });
    assert.equal(killed.signal, 'SIGKILL', spec);
  }
  const again = await runDrive(account, folder);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.deepEqual(await treeHashes(folder), reference);
});

test('drive: ranges of a 256 MB part answered 200 with the whole file: the year saved, peak memory far below the part', async () => {
  const { emulator } = account;
  // An export of one part whose year entries all sit behind 256 MB of another year's video, so
  // every range answered whole streams the 256 MB before the bytes asked for.
  const filler = Buffer.alloc(256 * MiB, 0x5a);
  const yearItems = emulator.items
    .filter((item) => item.creationTime.startsWith(String(DRIVE_YEAR)))
    .slice(0, 4);
  const folder = emulator.drive.add({ name: 'Big', parents: ['root'] });
  emulator.drive.add({
    name: `takeout-${takeoutTimestamp(new Date('2025-06-01T00:00:00Z'))}-001.zip`,
    mimeType: 'application/x-zip-compressed',
    parents: [folder.id],
    content: buildZip([
      { name: 'Takeout/Google Photos/Photos from 2019/big.mp4', data: filler, method: 'store' },
      ...exportEntries(yearItems),
    ]),
  });
  emulator.resetStats();
  emulator.setFaults({ drive: [{ fault: 'rangeIgnored', on: ['media'], times: 8 }] });
  const rssFile = path.join(account.dir, 'rss.txt');
  const out = path.join(account.dir, 'big');
  const run = await runDrive(account, out, ['--drive-folder', 'Big'], {
    NODE_OPTIONS: `--require ${PEAK_RSS}`,
    BENCH_RSS_FILE: rssFile,
  });
  emulator.setFaults({});
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.equal(emulator.stats.faults['drive.rangeIgnored'], 8);
  assert.ok(emulator.stats.driveBytes > 256 * MiB, 'the whole part was sent at least once');
  const peakMb = Number(await readFile(rssFile, 'utf8')) / 1024;
  console.log(`peak RSS ${peakMb.toFixed(0)} MB reading a 256 MB part with ranges ignored`);
  // Under the part's own size: the part was never held whole (an honest run peaks at 100-170 MB,
  // the socket's and the stream's buffers included).
  assert.ok(peakMb < 250, `peak RSS ${peakMb.toFixed(0)} MB`);
  const saved = await savedMedia(out);
  assert.deepEqual(saved, yearItems.map((item) => sha256(emulator.contentOf(item.id))).sort());
});
