/**
 * The picker source on a 300-item year, through the built CLI with no terminal: each network fault,
 * all of them at once, and SIGKILL at a dozen moments followed by the same command (a new session
 * picking the same ids). Every picked item saved byte-identical once, sessions deleted.
 * Run by `npm run reliability`, not `npm test`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { everyFault, faultCases } from '../../../helpers/fault-cases.ts';
import {
  assertComplete,
  assertSessionsDeleted,
  backup,
  crashThenResume,
  openAccount,
  PICKER_ARGS,
  quickPicker,
  readyItems,
  referenceTree,
} from '../../../helpers/reliability.ts';

const items = readyItems(300, { photoSize: 20_000 });
// Every tenth item of the year is not picked: it must not be saved.
const picked = items.filter((_, index) => index % 10 !== 0).map((item) => item.id);
const picker = quickPicker(picked);
const reference = referenceTree(items, PICKER_ARGS, { emulator: { picker }, only: picked });

for (const fault of faultCases) {
  test(`picker, 300 items, ${fault.name}: every picked item saved once, sessions deleted`, async () => {
    const faults = fault.picker?.faults ?? fault.faults;
    const account = await openAccount(items, {
      picker,
      ...(faults ? { faults } : {}),
      ...(fault.latency ? { latency: fault.latency } : {}),
    });
    try {
      const result = await backup(account, [...PICKER_ARGS, ...(fault.args ?? [])], { timeoutMs: 300_000 });
      assert.equal(result.code, 0, result.stderr + result.stdout.slice(-2000));
      (fault.picker?.check ?? fault.check)(account.emulator.stats);
      await assertComplete(account.folder, account.emulator, fault.name, picked);
      assertSessionsDeleted(account.emulator, 0, fault.name);
    } finally {
      await account.close();
    }
  });
}

test('picker, 300 items, every fault at once: every picked item saved once, sessions deleted', async () => {
  const account = await openAccount(items, {
    picker,
    ...everyFault(6),
  });
  try {
    const result = await backup(account, [...PICKER_ARGS, '--read-timeout', '1'], { timeoutMs: 300_000 });
    assert.equal(result.code, 0, result.stderr + result.stdout.slice(-2000));
    const faults = account.emulator.stats.faults;
    for (const kind of ['perMinuteQuota', 'mediaUnavailable', 'mediaReset', 'mediaShortBody'])
      assert.ok((faults[kind] ?? 0) > 0, `${kind} injected: ${JSON.stringify(faults)}`);
    await assertComplete(account.folder, account.emulator, 'all faults', picked);
    assertSessionsDeleted(account.emulator);
  } finally {
    await account.close();
  }
});

const points: [string, number][] = [
  ['listed-page', 1],
  ['listed-page', 2],
  ['mid-download', 1],
  ['mid-download', 150],
  ['after-temp-write', 1],
  ['after-temp-write', 200],
  ['before-rename', 77],
  ['after-rename-before-record', 1],
  ['after-rename-before-record', 269],
  ['mid-journal-write', 1],
  ['mid-journal-write', 80],
  ['after-record', 100],
];

for (const [point, n] of points) {
  test(`picker, 300 items, SIGKILL at ${point} #${n}, then the same command: as if never interrupted`, async () => {
    await crashThenResume(items, await reference, point, n, PICKER_ARGS, {
      emulator: { picker },
      only: picked,
      check: (account) => assertSessionsDeleted(account.emulator, 1, `${point}:${n}`),
    });
  });
}
