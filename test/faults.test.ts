/**
 * Each network fault once, on a small year, through the built CLI: every item must end saved
 * byte-identical exactly once, no temporary file left, the record consistent.
 * The few-hundred-item version is test/reliability/faults.test.ts. Then the disk: full (a test hook
 * everywhere, a real tmpfs when root), read-only, a file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { parseJournal } from '../src/manifest.ts';
import { sha256 } from './helpers/cli.ts';
import { faultCases } from './helpers/fault-cases.ts';
import { allFiles, assertComplete, backup, openAccount, readyItems } from './helpers/reliability.ts';
import type { EmulatorItem } from './support/emulator/index.ts';

for (const fault of faultCases) {
  test(`fault: ${fault.name} → every item saved once, nothing left over`, async () => {
    const items = readyItems(Math.max(20, fault.minItems ?? 0), { photoSize: 4000, seed: 11 });
    const account = await openAccount(items, {
      ...(fault.faults ? { faults: fault.faults } : {}),
      ...(fault.latency ? { latency: fault.latency } : {}),
    });
    try {
      const result = await backup(account, fault.args ?? []);
      assert.equal(result.code, 0, result.stderr + result.stdout.slice(-2000));
      fault.check(account.emulator.stats);
      await assertComplete(account.folder, account.emulator, fault.name);
      const token = await stat(path.join(account.dir, 'token.json'));
      assert.equal(token.mode & 0o777, 0o600, 'token file stays 0600 when a refresh saves it back');
    } finally {
      await account.close();
    }
  });
}

/** The disk-full checks: one clear line, exit 1, no temporary file, every recorded file complete. */
async function assertDiskFull(
  account: Awaited<ReturnType<typeof openAccount>>,
  result: Awaited<ReturnType<typeof backup>>,
  total: number,
): Promise<void> {
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /The disk holding .*photos is full\. Free some space/);
  assert.doesNotMatch(result.stderr, /hit a bug|\n\s+at /);
  const files = await allFiles(account.folder);
  assert.deepEqual(
    files.filter((file) => file.endsWith('.part') || file.endsWith('lock')),
    [],
  );
  const journal = parseJournal(
    await readFile(path.join(account.folder, '.photo-backup', 'saved.jsonl'), 'utf8').catch(() => ''),
  );
  for (const record of journal.records) {
    const bytes = await readFile(path.join(account.folder, record.path));
    assert.equal(sha256(bytes), sha256(account.emulator.contentOf(record.id)), `${record.path} complete`);
  }
  assert.ok(journal.records.length < total, `${journal.records.length} of ${total} recorded`);
}

// Runs everywhere (no root): the test hook PHOTO_BACKUP_FAIL_WRITE_AFTER (src/crash-hook.ts) fails writes with ENOSPC.
test('a full disk (write hook): exit 1 with one clear message; after freeing space the same command finishes', async () => {
  const account = await openAccount(readyItems(40, { photoSize: 60_000 }));
  try {
    const result = await backup(account, [], { env: { PHOTO_BACKUP_FAIL_WRITE_AFTER: String(500_000) } });
    await assertDiskFull(account, result, 40);
    const again = await backup(account);
    assert.equal(again.code, 0, again.stderr);
    await assertComplete(account.folder, account.emulator, 'after the disk was freed');
  } finally {
    await account.close();
  }
});

/** Mounts a tmpfs (root only); false when this machine does not allow it. */
function mountTmpfs(dir: string, options: string): boolean {
  return spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]).status === 0;
}

test('a full disk (a real 1 MB tmpfs, root only): one clear message, exit 1, nothing half-saved left or recorded', async (t) => {
  const account = await openAccount(readyItems(40, { photoSize: 60_000 }));
  try {
    await mkdir(account.folder);
    if (!mountTmpfs(account.folder, 'size=1m')) return t.skip('cannot mount a small tmpfs here (needs root)');
    try {
      await assertDiskFull(account, await backup(account), 40);
    } finally {
      spawnSync('umount', [account.folder]);
    }
  } finally {
    await account.close();
  }
});

// Regression: on a read-only file system the run ended with "hit a bug" (Node's recursive mkdir says ENOENT).
test('a folder that cannot be written: exit 2 naming it', async () => {
  const account = await openAccount(readyItems(3));
  try {
    await mkdir(account.folder);
    const mounted = mountTmpfs(account.folder, 'ro,size=64k');
    if (!mounted) await chmod(account.folder, 0o555);
    try {
      const result = await backup(account);
      assert.equal(result.code, 2, result.stderr);
      assert.match(
        result.stderr,
        /Cannot write in .*photos \((EROFS|EACCES)\)\. Choose a folder you can write to/,
      );
    } finally {
      if (mounted) spawnSync('umount', [account.folder]);
    }
  } finally {
    await account.close();
  }
});

test('a file where a day folder belongs: that day fails with a clear reason, the rest is saved, the file stays', async () => {
  const account = await openAccount(readyItems(6));
  try {
    const items = account.emulator.items;
    const day = (items[0] as EmulatorItem).creationTime.slice(0, 10);
    const ofDay = items.filter((item) => item.creationTime.startsWith(day)).length;
    await mkdir(account.folder, { recursive: true });
    await writeFile(path.join(account.folder, day), 'not a day folder');
    const result = await backup(account);
    assert.equal(result.code, 1, result.stderr);
    const output = `${result.stdout}${result.stderr}`;
    assert.match(
      output,
      new RegExp(`${day} in the backup folder is a file, not a folder: move or rename it`),
    );
    assert.doesNotMatch(output, /hit a bug|\n\s+at /);
    assert.equal(await readFile(path.join(account.folder, day), 'utf8'), 'not a day folder');
    const saved = (await allFiles(account.folder)).filter((file) => !file.startsWith('.photo-backup/'));
    assert.equal(saved.length, items.length - ofDay + 1, saved.join(', '));
    assert.deepEqual(
      (await allFiles(account.folder)).filter((file) => file.endsWith('.part')),
      [],
    );
  } finally {
    await account.close();
  }
});

test('the folder is a file: exit 2 saying so', async () => {
  const account = await openAccount(readyItems(3));
  try {
    await writeFile(account.folder, 'not a folder');
    const result = await backup(account);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /photos is not a folder \(a file has its name\)/);
    assert.equal(await readFile(account.folder, 'utf8'), 'not a folder');
  } finally {
    await account.close();
  }
});
