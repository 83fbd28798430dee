/**
 * The picker source under faults, kills and Ctrl-C, through the built CLI with no terminal
 * (`--source picker --no-browser`, one round): every picked item of the year saved byte-identical
 * exactly once, no temporary file, the record consistent, and every picking session deleted.
 * Small version; the 300-item one is test/reliability/sources/picker/faults.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { treeHashes } from '../../helpers/cli.ts';
import { faultCases } from '../../helpers/fault-cases.ts';
import {
  allFiles,
  assertComplete,
  assertSessionsDeleted,
  backup,
  crashThenResume,
  journalLines,
  openAccount,
  PICKER_ARGS,
  quickPicker,
  readyItems,
  referenceTree,
  waitFor,
} from '../../helpers/reliability.ts';

const items = readyItems(24, { photoSize: 4000, seed: 11 });
// Two items of the year are not picked: they must not be saved.
const picked = items.slice(2).map((item) => item.id);
const picker = quickPicker(picked);
const reference = referenceTree(items, PICKER_ARGS, { emulator: { picker }, only: picked });

for (const fault of faultCases) {
  test(`picker, ${fault.name}: every picked item saved once, sessions deleted`, async () => {
    const faults = fault.picker?.faults ?? fault.faults;
    const all = readyItems(Math.max(24, fault.minItems ?? 0), { photoSize: 4000, seed: 11 });
    const chosen = all.slice(2).map((item) => item.id);
    const account = await openAccount(all, {
      picker: quickPicker(chosen),
      ...(faults ? { faults } : {}),
      ...(fault.latency ? { latency: fault.latency } : {}),
    });
    try {
      const result = await backup(account, [...PICKER_ARGS, ...(fault.args ?? [])]);
      assert.equal(result.code, 0, result.stderr + result.stdout.slice(-2000));
      (fault.picker?.check ?? fault.check)(account.emulator.stats);
      await assertComplete(account.folder, account.emulator, fault.name, chosen);
      assertSessionsDeleted(account.emulator, 0, fault.name);
    } finally {
      await account.close();
    }
  });
}

for (const [point, n] of [
  ['listed-page', 1],
  ['mid-download', 4],
  ['after-rename-before-record', 5],
  ['mid-journal-write', 7],
] as const) {
  test(`picker, SIGKILL at ${point} #${n}: a new session picking the same items ends as an uninterrupted run`, async () => {
    await crashThenResume(items, await reference, point, n, PICKER_ARGS, {
      emulator: { picker },
      only: picked,
      // The killed run could not delete its session (it expires on its own); the second run deleted its own.
      check: (account) => assertSessionsDeleted(account.emulator, 1, `${point}:${n}`),
    });
  });
}

test('picker, Ctrl-C: the session is deleted, no temporary file, exit 130; the same command again finishes', async () => {
  const account = await openAccount(items, { picker, latency: { mediaMs: 150 } });
  try {
    const result = await backup(account, [...PICKER_ARGS, '--concurrency', '2'], {
      onSpawn: (pid) => {
        void waitFor(async () => (await journalLines(account.folder)) >= 4).then(() =>
          process.kill(pid, 'SIGINT'),
        );
      },
    });
    assert.equal(result.code, 130, result.stderr);
    assertSessionsDeleted(account.emulator, 0, 'after Ctrl-C');
    const files = await allFiles(account.folder);
    assert.deepEqual(
      files.filter((file) => file.endsWith('.part') || file.endsWith('lock')),
      [],
    );
    account.emulator.setLatency({});
    const again = await backup(account, PICKER_ARGS);
    assert.equal(again.code, 0, again.stderr);
    await assertComplete(account.folder, account.emulator, 'after Ctrl-C', picked);
    assertSessionsDeleted(account.emulator);
    assert.deepEqual(await treeHashes(account.folder), await reference);
  } finally {
    await account.close();
  }
});

test('picker, a session that expires before its items are saved: the rest saved, exit 1 asking to pick again; the next run finishes', async () => {
  // The session lives 1.5 s and URLs 1 s: later downloads need fresh URLs the dead session cannot give.
  const account = await openAccount(items, {
    picker: { ...picker, sessionTtlMs: 1500 },
    faults: { urlTtlMs: 1000 },
    latency: { mediaMs: 300 },
  });
  try {
    const result = await backup(account, [...PICKER_ARGS, '--concurrency', '1']);
    assert.equal(result.code, 1, result.stderr + result.stdout);
    assert.match(result.stdout + result.stderr, /has expired.*pick it again/);
    assert.doesNotMatch(result.stderr, /hit a bug|\n\s+at /);
    const saved = await journalLines(account.folder);
    assert.ok(saved > 0 && saved < picked.length, `${saved} saved before the session expired`);
    account.emulator.setPicker({ sessionTtlMs: 60 * 60_000 });
    account.emulator.setFaults({});
    account.emulator.setLatency({});
    const again = await backup(account, PICKER_ARGS);
    assert.equal(again.code, 0, again.stderr);
    await assertComplete(account.folder, account.emulator, 'after the expired session', picked);
    assertSessionsDeleted(account.emulator);
  } finally {
    await account.close();
  }
});
