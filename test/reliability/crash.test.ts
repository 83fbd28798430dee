/**
 * SIGKILL at 20+ moments of a 300-item year (listing, mid-download, between download and rename,
 * around record writes, during compaction, on observed progress), then the same command again:
 * the result must equal an uninterrupted run. Run by `npm run reliability`, not `npm test`.
 */
import assert from 'node:assert/strict';
import { appendFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { treeHashes } from '../helpers/cli.ts';
import {
  allFiles,
  assertComplete,
  backup,
  crashThenResume,
  journalLines,
  openAccount,
  readyItems,
  referenceTree,
  stoppedReason,
  waitFor,
} from '../helpers/reliability.ts';

const items = readyItems(300);
const reference = referenceTree(items);

const points: [string, number][] = [
  ['listed-page', 1],
  ['listed-page', 3],
  ['mid-download', 1],
  ['mid-download', 10],
  ['mid-download', 100],
  ['mid-download', 250],
  ['after-temp-write', 1],
  ['after-temp-write', 50],
  ['after-temp-write', 200],
  ['before-rename', 1],
  ['before-rename', 77],
  ['before-rename', 250],
  ['after-rename-before-record', 1],
  ['after-rename-before-record', 120],
  ['after-rename-before-record', 299],
  ['mid-journal-write', 1],
  ['mid-journal-write', 2],
  ['mid-journal-write', 150],
  ['mid-journal-write', 301],
  ['after-record', 1],
  ['after-record', 200],
];

for (const [point, n] of points) {
  test(`SIGKILL at ${point} #${n}, then the same command: as if never interrupted`, async () => {
    await crashThenResume(items, await reference, point, n);
  });
}

test('SIGKILL when the first temporary file appears, and when the journal reaches 100 lines', async () => {
  for (const observed of [
    async (folder: string) => (await allFiles(folder)).some((file) => file.endsWith('.part')),
    async (folder: string) => (await journalLines(folder)) >= 100,
  ]) {
    const account = await openAccount(items, { latency: { mediaMs: 5 } });
    try {
      const killed = await backup(account, [], {
        onSpawn: (pid) => {
          void waitFor(() => observed(account.folder)).then(() => process.kill(pid, 'SIGKILL'));
        },
      });
      assert.equal(killed.signal, 'SIGKILL');
      account.emulator.setLatency({});
      const resumed = await backup(account, ['--json']);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.equal(stoppedReason(resumed.stdout), 'end');
      await assertComplete(account.folder, account.emulator);
      assert.deepEqual(await treeHashes(account.folder), await reference);
    } finally {
      await account.close();
    }
  }
});

test('two crashes in a row, then a clean run', async () => {
  const account = await openAccount(items);
  try {
    for (const crash of ['after-temp-write:20', 'after-rename-before-record:60']) {
      const killed = await backup(account, [], { env: { PHOTO_BACKUP_CRASH_AT: crash } });
      assert.equal(killed.signal, 'SIGKILL', crash);
    }
    const resumed = await backup(account, ['--json']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(stoppedReason(resumed.stdout), 'end');
    await assertComplete(account.folder, account.emulator);
    assert.deepEqual(await treeHashes(account.folder), await reference);
  } finally {
    await account.close();
  }
});

test('a crash in an incremental run: the next run saves the new items instead of stopping on skips', async () => {
  // The 20 newest are new: the Library lists newest first, so they come before the skips.
  const newest = new Set(
    [...items]
      .sort((a, b) => b.creationTime.localeCompare(a.creationTime))
      .slice(0, 20)
      .map((item) => item.id),
  );
  const first = items.filter((item) => !newest.has(item.id));
  const account = await openAccount(first);
  try {
    assert.equal((await backup(account)).code, 0);
    account.emulator.setItems(items);
    const killed = await backup(account, [], { env: { PHOTO_BACKUP_CRASH_AT: 'after-record:3' } });
    assert.equal(killed.signal, 'SIGKILL');
    const resumed = await backup(account, ['--json']);
    assert.equal(resumed.code, 0, resumed.stderr);
    await assertComplete(account.folder, account.emulator);
    assert.deepEqual(await treeHashes(account.folder), await reference);
  } finally {
    await account.close();
  }
});

test('SIGKILL while the journal is being compacted: the journal stays whole, no temporary file stays', async () => {
  const account = await openAccount(items);
  try {
    assert.equal((await backup(account)).code, 0);
    const journal = path.join(account.folder, '.photo-backup', 'saved.jsonl');
    const lines = (await readFile(journal, 'utf8')).split('\n').filter(Boolean);
    // Superseded lines (as many runs leave) make the next close compact the journal.
    await appendFile(journal, `${[...lines, ...lines, ...lines].join('\n')}\n`);
    const killed = await backup(account, ['--all'], { env: { PHOTO_BACKUP_CRASH_AT: 'mid-compaction:1' } });
    assert.equal(killed.signal, 'SIGKILL');
    const resumed = await backup(account, ['--all']);
    assert.equal(resumed.code, 0, resumed.stderr);
    await assertComplete(account.folder, account.emulator);
    assert.deepEqual(await treeHashes(account.folder), await reference);
  } finally {
    await account.close();
  }
});
