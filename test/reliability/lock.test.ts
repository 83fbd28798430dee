/**
 * Many photo-backup runs started at once on one folder, with a stale lock left by a killed run
 * and with none: exactly one proceeds, every other exits 2 naming it. The winner is held just after
 * it took the lock (PHOTO_BACKUP_PAUSE_AT=lock-acquired), so the others race it while it holds
 * the folder instead of running one after another. Run by `npm run reliability`, not `npm test`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { BIN, type CliResult, runCli, treeHashes } from '../helpers/cli.ts';

const RUNS = 10;
const ROUNDS = 4;
const sample = path.join(path.dirname(BIN), '..', 'test', 'fixtures', 'sample-takeout');

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid as number;
}

async function race(stale: boolean): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pb-lock-race-'));
  try {
    const out = path.join(dir, 'out');
    if (stale) {
      await mkdir(path.join(out, '.photo-backup'), { recursive: true });
      await writeFile(
        path.join(out, '.photo-backup', 'lock'),
        JSON.stringify({ pid: await deadPid(), host: hostname(), startedAt: 'then' }),
      );
    }
    const runs = await Promise.all(
      Array.from({ length: RUNS }, async (_, index) => {
        const pauses = path.join(dir, `run-${index}`);
        await mkdir(pauses);
        const state: { result?: CliResult } = {};
        const done = runCli(['2024', 'out', '--takeout', sample], {
          cwd: dir,
          env: { PHOTO_BACKUP_PAUSE_AT: 'lock-acquired', PHOTO_BACKUP_PAUSE_DIR: pauses },
        }).then((result) => {
          state.result = result;
          return result;
        });
        return { pauses, state, done };
      }),
    );
    const reached = (run: (typeof runs)[number]) =>
      existsSync(path.join(run.pauses, 'lock-acquired.reached'));
    // Every run either holds the lock (and waits) or has ended.
    while (!runs.every((run) => run.state.result || reached(run)))
      await new Promise((resolve) => setTimeout(resolve, 20));
    const winners = runs.filter(reached);
    assert.equal(winners.length, 1, 'exactly one run holds the folder');
    const winner = winners[0] as (typeof runs)[number];
    const pid = (await readFile(path.join(winner.pauses, 'lock-acquired.reached'), 'utf8')).trim();
    for (const run of runs.filter((run) => run !== winner)) {
      const result = run.state.result as CliResult;
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, new RegExp(`Another photo-backup run \\(process ${pid}, `));
    }
    await writeFile(path.join(winner.pauses, 'lock-acquired.go'), '');
    const result = await winner.done;
    assert.equal(result.code, 0, result.stderr);
    assert.ok((await treeHashes(out)).size > 0);
    const left = (await readdir(path.join(out, '.photo-backup'))).filter((name) => name.startsWith('lock'));
    assert.deepEqual(left, [], 'no lock, guard or temporary lock file left');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

for (let round = 1; round <= ROUNDS; round++) {
  test(`${RUNS} runs at once on a folder with a stale lock, round ${round}: exactly one proceeds`, async () => {
    await race(true);
  });
  test(`${RUNS} runs at once on a free folder, round ${round}: exactly one proceeds`, async () => {
    await race(false);
  });
}
