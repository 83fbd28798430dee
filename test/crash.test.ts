/**
 * Crashes and interruptions, small: a few kill points (the crash hook, src/crash-hook.ts), Ctrl-C,
 * two runs at once and a stale lock. The big version is test/reliability/crash.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { BIN, treeHashes } from './helpers/cli.ts';
import {
  allFiles,
  assertComplete,
  backup,
  crashThenResume,
  journalLines,
  openAccount,
  PICKER_ARGS,
  quickPicker,
  readyItems,
  referenceTree,
  waitFor,
  YEAR,
} from './helpers/reliability.ts';

const items = readyItems(24);
const reference = referenceTree(items);

for (const [point, n] of [
  ['after-temp-write', 3],
  ['after-rename-before-record', 5],
  ['mid-journal-write', 7],
] as const) {
  test(`SIGKILL at ${point} (#${n}): the same command again ends as an uninterrupted run`, async () => {
    await crashThenResume(items, await reference, point, n);
  });
}

test('--xmp, SIGKILL after a record line, before its sidecar reached the disk: the line claims it, the next --xmp run writes it', async () => {
  const uninterrupted = await openAccount(items);
  let withSidecars: Map<string, string>;
  try {
    assert.equal((await backup(uninterrupted, ['--xmp'])).code, 0);
    withSidecars = await treeHashes(uninterrupted.folder);
  } finally {
    await uninterrupted.close();
  }
  assert.ok([...withSidecars.keys()].some((file) => file.endsWith('.xmp')));
  const account = await openAccount(items);
  try {
    const crashed = await backup(account, ['--xmp'], { env: { PHOTO_BACKUP_CRASH_AT: 'after-record:3' } });
    assert.equal(crashed.signal, 'SIGKILL', crashed.stderr);
    const journal = await readFile(path.join(account.folder, '.photo-backup', 'saved.jsonl'), 'utf8');
    const records = journal
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { path?: string; xmpSha256?: string });
    const files = new Set(await allFiles(account.folder));
    const claimed = records.filter((record) => record.path && record.xmpSha256);
    assert.ok(claimed.length >= 3, 'each record line carries its sidecar hash');
    assert.ok(
      claimed.some((record) => !files.has(`${record.path}.xmp`)),
      'the last line recorded names a sidecar not written yet',
    );
    assert.deepEqual(
      [...files]
        .filter((file) => file.endsWith('.xmp') && !file.endsWith('.part'))
        .filter((file) => !withSidecars.has(file)),
      [],
      'no sidecar but the right ones',
    );
    const resumed = await backup(account, ['--xmp']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(await treeHashes(account.folder), withSidecars, 'the same tree as an uninterrupted run');
  } finally {
    await account.close();
  }
});

test('Ctrl-C stops soon: no temporary file, the record kept, exit 130; the next run finishes the year', async () => {
  const account = await openAccount(items, { latency: { mediaMs: 150 } });
  try {
    const started = Date.now();
    let interruptedAt = 0;
    const run = backup(account, ['--concurrency', '2'], {
      onSpawn: (pid) => {
        void waitFor(async () => (await journalLines(account.folder)) >= 4).then(() => {
          interruptedAt = Date.now();
          process.kill(pid, 'SIGINT');
        });
      },
    });
    const result = await run;
    assert.equal(result.code, 130, result.stderr);
    assert.ok(interruptedAt > started);
    assert.ok(Date.now() - interruptedAt < 10_000, 'stopped within seconds of Ctrl-C');
    assert.match(result.stderr, /Stopping/);
    const files = await allFiles(account.folder);
    assert.deepEqual(
      files.filter((file) => file.endsWith('.part') || file.endsWith('lock')),
      [],
    );
    assert.ok((await journalLines(account.folder)) >= 4, 'the record was kept');
    account.emulator.setLatency({});
    const again = await backup(account);
    assert.equal(again.code, 0, again.stderr);
    await assertComplete(account.folder, account.emulator);
    assert.deepEqual(await treeHashes(account.folder), await reference);
  } finally {
    await account.close();
  }
});

// One photo trickles in (256 bytes every 200 ms: its 30 KB would take about 25 s) while the rest
// arrive at once. Ctrl-C comes when that download is the only one left. The run must end without
// waiting for it: the emulator never sends its last byte, nothing stands under its final name, and
// the next run saves it whole.
test('Ctrl-C during a slow download: it is abandoned, "Interrupted." once, exit 130, no half file; the next run saves it', async () => {
  const slow = items.find((item) => item.kind === 'photo');
  assert.ok(slow);
  const account = await openAccount(items, {
    faults: { itemIds: [slow.id], mediaTrickle: { bytes: 256, everyMs: 200 } },
  });
  try {
    const others = items.filter((item) => item.id !== slow.id).length;
    const run = backup(account, [], {
      onSpawn: (pid) => {
        void waitFor(async () => {
          const inFlight = (account.emulator.stats.mediaRequests[slow.id] ?? 0) > 0;
          return inFlight && (await journalLines(account.folder)) >= others;
        }).then(() => process.kill(pid, 'SIGINT'));
      },
    });
    const result = await run;
    assert.equal(result.code, 130, result.stderr);
    assert.equal(result.stderr.split('Interrupted.').length - 1, 1, result.stderr);
    assert.equal(account.emulator.stats.mediaCompleted[slow.id], undefined, 'ended before the download did');
    assert.ok((account.emulator.stats.faults.mediaTrickle ?? 0) > 0, 'the slow photo trickled');
    const files = await allFiles(account.folder);
    assert.deepEqual(
      files.filter((file) => file.endsWith('.part') || file.endsWith('lock')),
      [],
    );
    // Every file under a final name is a whole item at its own path; the slow one is not there.
    const full = await reference;
    const saved = await treeHashes(account.folder);
    assert.equal(saved.size, others, [...saved.keys()].join('\n'));
    for (const [file, hash] of saved) assert.equal(hash, full.get(file), file);
    account.emulator.setFaults({});
    const again = await backup(account);
    assert.equal(again.code, 0, again.stderr);
    await assertComplete(account.folder, account.emulator);
    assert.deepEqual(await treeHashes(account.folder), full);
  } finally {
    await account.close();
  }
});

// The first Ctrl-C's clean stop is made slow on purpose: the picker deletes its session on the way
// out, and the emulator holds that answer 20 s (the delete gives up after 15 s). The second Ctrl-C
// must end the process while that stop is still running, not after it.
test('a second Ctrl-C ends at once with exit 130, while the clean stop of the first is still running', async () => {
  const account = await openAccount(items, {
    picker: quickPicker(),
    faults: { mediaStall: { rate: 1, ms: 5000 } },
  });
  try {
    const child = spawn(process.execPath, [BIN, String(YEAR), 'photos', ...PICKER_ARGS], {
      cwd: account.dir,
      env: { PATH: process.env.PATH, ...account.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
    });
    child.stdout.resume();
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await waitFor(async () => (await allFiles(account.folder)).some((file) => file.endsWith('.part')));
    account.emulator.setLatency({ apiMs: 20_000 });
    child.kill('SIGINT');
    await waitFor(() => (account.emulator.stats.requests['picker.sessions.delete'] ?? 0) > 0);
    assert.equal(child.exitCode, null, 'the first Ctrl-C alone is still stopping (deleting the session)');
    assert.equal(child.signalCode, null);
    const second = Date.now();
    child.kill('SIGINT');
    assert.equal(await closed, 130, stderr);
    assert.ok(Date.now() - second < 10_000, 'the second Ctrl-C ended the run at once');
    assert.equal(account.emulator.openPickerSessions(), 1, 'ended before the clean stop could finish');
    assert.match(stderr, /Stopping/);
    assert.doesNotMatch(stderr, /hit a bug/);
    // The next run takes over the lock, removes the unfinished downloads and finishes the year.
    account.emulator.setLatency({});
    account.emulator.setFaults({});
    const again = await backup(account, PICKER_ARGS);
    assert.equal(again.code, 0, again.stderr);
    await assertComplete(account.folder, account.emulator);
  } finally {
    await account.close();
  }
});

test('two runs on one folder: the second says another run is saving there and exits 2; both end clean', async () => {
  // Media held back long enough that the first run is surely still saving while the second
  // starts, even on a loaded machine; released once the second has answered.
  const account = await openAccount(items, { latency: { mediaMs: 5000 } });
  try {
    const first = backup(account);
    await waitFor(async () => (await allFiles(account.folder)).includes('.photo-backup/lock'));
    const second = await backup(account);
    account.emulator.setLatency({});
    assert.equal(second.code, 2, second.stderr);
    assert.match(second.stderr, /Another photo-backup run \(process \d+/);
    assert.match(second.stderr, /Wait for it to finish/);
    const done = await first;
    assert.equal(done.code, 0, done.stderr);
    await assertComplete(account.folder, account.emulator);
  } finally {
    await account.close();
  }
});

test('a stale lock from a killed run is recovered, its temporary files removed, and the run says so', async () => {
  const account = await openAccount(items);
  try {
    const day = path.join(account.folder, '2024-03-01');
    await mkdir(path.join(account.folder, '.photo-backup'), { recursive: true });
    await mkdir(day, { recursive: true });
    // A pid that cannot be alive: above Linux's pid_max.
    await writeFile(
      path.join(account.folder, '.photo-backup', 'lock'),
      JSON.stringify({ pid: 4_194_305 + 7, startedAt: '2024-01-01T00:00:00Z' }),
    );
    // One where downloads are written now, one beside its place (a cross-disk copy, or an older version).
    const slot = path.join(account.folder, '.photo-backup', 'tmp', '0');
    await mkdir(slot, { recursive: true });
    await writeFile(path.join(slot, 'IMG_9998.jpg.abcd1234.part'), 'half a photo');
    await writeFile(path.join(day, '.IMG_9999.jpg.abcd1234.part'), 'half a photo');
    const result = await backup(account);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /An earlier run was stopped before it finished; removed 2 unfinished download/,
    );
    assert.deepEqual(
      (await allFiles(account.folder)).filter((file) => file.endsWith('.part') || file.includes('/tmp/')),
      [],
    );
    await assertComplete(account.folder, account.emulator);
  } finally {
    await account.close();
  }
});

// Regression: a run killed while compacting the journal left `saved.jsonl.<hex>.tmp` behind for good.
test('SIGKILL while the journal is compacted: the next run removes the half-made copy', async () => {
  const account = await openAccount(items);
  try {
    assert.equal((await backup(account)).code, 0);
    const journal = path.join(account.folder, '.photo-backup', 'saved.jsonl');
    const lines = (await readFile(journal, 'utf8')).split('\n').filter(Boolean);
    // Superseded lines, as many runs leave them, make the next close compact the journal.
    await appendFile(journal, `${Array.from({ length: 8 }, () => lines.join('\n')).join('\n')}\n`);
    const killed = await backup(account, ['--all'], { env: { PHOTO_BACKUP_CRASH_AT: 'mid-compaction:1' } });
    assert.equal(killed.signal, 'SIGKILL');
    assert.ok((await allFiles(account.folder)).some((file) => file.endsWith('.tmp')));
    const resumed = await backup(account, ['--all']);
    assert.equal(resumed.code, 0, resumed.stderr);
    await assertComplete(account.folder, account.emulator);
  } finally {
    await account.close();
  }
});
