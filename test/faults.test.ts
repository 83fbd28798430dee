/**
 * Each network fault once, on a small year, through the built CLI: every item must end saved
 * byte-identical exactly once, no temporary file left, the record consistent.
 * The few-hundred-item version is test/reliability/faults.test.ts.
 */
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { faultCases } from './helpers/fault-cases.ts';
import { assertComplete, backup, openAccount, readyItems } from './helpers/reliability.ts';

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
