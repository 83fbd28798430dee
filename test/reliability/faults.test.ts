/**
 * Each network fault the emulator can inject (503s, 429s, resets, short bodies, stalls, expiring URLs and tokens) on a 300-item year, then all of them at once, through the built
 * CLI: every item saved byte-identical exactly once, no temporary file left, the record consistent.
 * Run by `npm run reliability`, not `npm test`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { everyFault, faultCases } from '../helpers/fault-cases.ts';
import { assertComplete, backup, openAccount, readyItems } from '../helpers/reliability.ts';

const items = readyItems(300, { photoSize: 20_000 });

for (const fault of faultCases) {
  test(`300 items, ${fault.name}: every item saved once, nothing left over`, async () => {
    const account = await openAccount(items, {
      ...(fault.faults ? { faults: fault.faults } : {}),
      ...(fault.latency ? { latency: fault.latency } : {}),
    });
    try {
      const result = await backup(account, fault.args ?? [], { timeoutMs: 300_000 });
      assert.equal(result.code, 0, result.stderr + result.stdout.slice(-2000));
      fault.check(account.emulator.stats);
      await assertComplete(account.folder, account.emulator, fault.name);
    } finally {
      await account.close();
    }
  });
}

test('300 items, every fault at once: every item saved once, nothing left over', async () => {
  const account = await openAccount(items, {
    ...everyFault(21),
  });
  try {
    const result = await backup(account, ['--read-timeout', '1'], { timeoutMs: 300_000 });
    assert.equal(result.code, 0, result.stderr + result.stdout.slice(-2000));
    const faults = account.emulator.stats.faults;
    for (const kind of [
      'apiUnavailable',
      'perMinuteQuota',
      'mediaUnavailable',
      'mediaReset',
      'mediaShortBody',
    ])
      assert.ok((faults[kind] ?? 0) > 0, `${kind} injected: ${JSON.stringify(faults)}`);
    await assertComplete(account.folder, account.emulator);
  } finally {
    await account.close();
  }
});

test('300 items, the disk fills up three times (the write hook), then room again: the year ends complete', async () => {
  const account = await openAccount(items);
  try {
    for (const limit of [300_000, 1_500_000, 4_000_000]) {
      const full = await backup(account, [], { env: { PHOTO_BACKUP_FAIL_WRITE_AFTER: String(limit) } });
      assert.equal(full.code, 1, full.stderr);
      assert.match(full.stderr, /The disk holding .*photos is full/);
      assert.doesNotMatch(full.stderr, /hit a bug|\n\s+at /);
    }
    const result = await backup(account);
    assert.equal(result.code, 0, result.stderr);
    await assertComplete(account.folder, account.emulator, 'after the disk was full');
  } finally {
    await account.close();
  }
});
