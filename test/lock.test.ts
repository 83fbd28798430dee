import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { BackupError } from '../src/errors.ts';
import {
  acquireLock,
  type HostFacts,
  judgeHolder,
  type Lock,
  type LockOptions,
  readProcessStart,
} from '../src/lock.ts';
import { BIN, type CliResult, runCli } from './helpers/cli.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pb-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const stateDir = () => path.join(dir, '.photo-backup');
const lockFile = () => path.join(stateDir(), 'lock');

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid as number;
}

async function writeLock(content: string, options: { ageSeconds?: number } = {}): Promise<void> {
  await mkdir(stateDir(), { recursive: true });
  await writeFile(lockFile(), content);
  if (options.ageSeconds) {
    const then = new Date(Date.now() - options.ageSeconds * 1000);
    await utimes(lockFile(), then, then);
  }
}

/** A file system without hard links (FAT, exFAT): link() is refused. */
const noHardLinks = async () => {
  throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' });
};

// ---------------------------------------------------------------------------------------------
// Who holds a lock: a pure judgement

const facts: HostFacts = {
  host: 'here',
  pid: 100,
  bootId: 'boot-1',
  alive: (pid) => pid === 200 || pid === 100,
  processStart: (pid) => (pid === 200 ? '5000' : undefined),
  ownNonces: new Set(['mine']),
};

const verdicts: { name: string; holder: object | undefined; expected: string }[] = [
  { name: 'unreadable (not JSON)', holder: undefined, expected: 'stale:unreadable' },
  { name: 'no pid', holder: { host: 'here' }, expected: 'stale:unreadable' },
  { name: 'another machine', holder: { pid: 200, host: 'there' }, expected: 'foreign' },
  {
    name: 'a live process, as written by earlier versions',
    holder: { pid: 200, host: 'here' },
    expected: 'live',
  },
  { name: 'a process that is gone', holder: { pid: 300, host: 'here' }, expected: 'stale:gone' },
  {
    name: 'a live process with the recorded start time',
    holder: { pid: 200, host: 'here', processStart: '5000', bootId: 'boot-1' },
    expected: 'live',
  },
  {
    name: 'the pid now belongs to a process started later (pid reuse)',
    holder: { pid: 200, host: 'here', processStart: '4999', bootId: 'boot-1' },
    expected: 'stale:pid-reused',
  },
  {
    name: 'written before the machine restarted',
    holder: { pid: 200, host: 'here', processStart: '5000', bootId: 'boot-0' },
    expected: 'stale:rebooted',
  },
  {
    name: 'our own pid on a lock this process did not take (an earlier container run)',
    holder: { pid: 100, host: 'here', nonce: 'other' },
    expected: 'stale:earlier-process',
  },
  {
    name: 'a lock this process is holding',
    holder: { pid: 100, host: 'here', nonce: 'mine' },
    expected: 'live',
  },
];

for (const { name, holder, expected } of verdicts) {
  test(`lock holder: ${name} → ${expected}`, () => {
    const verdict = judgeHolder(holder, facts);
    assert.equal(verdict.state === 'stale' ? `stale:${verdict.why}` : verdict.state, expected);
  });
}

test('the start time of a process is read from /proc where there is one', () => {
  const start = readProcessStart(process.pid);
  if (existsSync('/proc/self/stat')) assert.match(start ?? '', /^\d+$/);
  else assert.equal(start, undefined);
  assert.equal(readProcessStart(2 ** 30), undefined);
});

// ---------------------------------------------------------------------------------------------
// Racing runs, interleaved step by step

/** A run whose every step waits for the test's go. */
class Racer {
  parked: (() => void) | undefined;
  finished = false;
  free = false;
  readonly outcome: Promise<{ lock?: Lock; error?: unknown }>;

  constructor(folder: string, options: LockOptions = {}) {
    this.outcome = acquireLock(folder, { ...options, pause: (point) => this.pause(point) })
      .then(
        (lock) => ({ lock }),
        (error: unknown) => ({ error }),
      )
      .finally(() => {
        this.finished = true;
        this.wake();
      });
  }

  /** Resolves settle()'s wait: called when the run parks at a step or finishes. */
  private woken: (() => void) | undefined;
  private wake(): void {
    const woken = this.woken;
    this.woken = undefined;
    woken?.();
  }

  private pause(_point: string): Promise<void> {
    if (this.free) return Promise.resolve();
    return new Promise((resolve) => {
      this.parked = resolve;
      this.wake();
    });
  }

  /**
   * Until it waits at its next step or has finished. Woken by the run itself, not polled: a
   * setImmediate loop kept a core busy for every file system call of every schedule.
   */
  async settle(): Promise<void> {
    while (!this.parked && !this.finished)
      await new Promise<void>((resolve) => {
        this.woken = resolve;
      });
  }

  async step(): Promise<void> {
    await this.settle();
    const go = this.parked;
    if (!go) return;
    this.parked = undefined;
    go();
    await this.settle();
  }

  release(): void {
    this.free = true;
    this.parked?.();
    this.parked = undefined;
  }
}

/** Every order of `perRacer` steps each for two racers: "AABB…", "ABAB…", … */
function schedules(perRacer: number): string[] {
  const result: string[] = [];
  const grow = (prefix: string, a: number, b: number) => {
    if (a === 0 && b === 0) result.push(prefix);
    if (a > 0) grow(`${prefix}A`, a - 1, b);
    if (b > 0) grow(`${prefix}B`, a, b - 1);
  };
  grow('', perRacer, perRacer);
  return result;
}

async function raceInEveryOrder(
  prepare: () => Promise<void>,
  perRacer: number,
  options: LockOptions = {},
): Promise<void> {
  for (const schedule of schedules(perRacer)) {
    await rm(stateDir(), { recursive: true, force: true });
    await prepare();
    const racers = { A: new Racer(dir, options), B: new Racer(dir, options) };
    for (const name of schedule) await racers[name as 'A' | 'B'].step();
    racers.A.release();
    racers.B.release();
    const outcomes = await Promise.all([racers.A.outcome, racers.B.outcome]);
    const winners = outcomes.filter((outcome) => outcome.lock);
    assert.equal(winners.length, 1, `exactly one run proceeds in order ${schedule}`);
    const loser = outcomes.find((outcome) => outcome.error)?.error;
    assert.ok(loser instanceof BackupError, `${schedule}: ${loser}`);
    assert.equal(loser.exitCode, 2);
    assert.match(loser.message, new RegExp(`Another photo-backup run \\(process ${process.pid}, started `));
    const held = JSON.parse(await readFile(lockFile(), 'utf8'));
    assert.equal(held.pid, process.pid);
    await winners[0]?.lock?.release();
    assert.deepEqual(await readdir(stateDir()), [], `${schedule}: no lock, guard or temporary file left`);
  }
}

// Regression: two runs taking over one stale lock both proceeded (check-then-remove), and the
// second deleted the first's unfinished downloads.
test('two runs taking over one stale lock, in every order of their steps: exactly one proceeds', async () => {
  const pid = await deadPid();
  await raceInEveryOrder(() => writeLock(JSON.stringify({ pid, host: hostname(), startedAt: 'then' })), 5);
});

test('two runs starting on a free folder, in every order of their steps: exactly one proceeds', async () => {
  await raceInEveryOrder(async () => undefined, 4);
});

// Regression: an empty lock (another run still writing it) was taken for a torn one and removed.
test('two runs finding an empty lock (a power cut), in every order: exactly one proceeds', async () => {
  await raceInEveryOrder(() => writeLock('', { ageSeconds: 60 }), 5);
});

test('on a file system without hard links, two runs taking over a stale lock in every order: exactly one proceeds', async () => {
  const pid = await deadPid();
  await raceInEveryOrder(() => writeLock(JSON.stringify({ pid, host: hostname(), startedAt: 'then' })), 5, {
    link: noHardLinks,
  });
  await raceInEveryOrder(async () => undefined, 4, { link: noHardLinks });
});

test('without hard links, a lock just created and not yet written is a run starting, not a torn lock', async () => {
  await writeLock('');
  await assert.rejects(
    acquireLock(dir, { link: noHardLinks }),
    (error: unknown) => error instanceof BackupError && error.exitCode === 2,
  );
  assert.equal(await readFile(lockFile(), 'utf8'), '', 'left to the run writing it');
});

test('many runs racing for a folder with a stale lock: exactly one proceeds', async () => {
  await writeLock(JSON.stringify({ pid: await deadPid(), host: hostname(), startedAt: 'then' }));
  const outcomes = await Promise.all(
    Array.from({ length: 16 }, () =>
      acquireLock(dir).then(
        (lock) => ({ lock, error: undefined }),
        (error: unknown) => ({ lock: undefined, error }),
      ),
    ),
  );
  const winners = outcomes.filter((outcome) => outcome.lock);
  assert.equal(winners.length, 1);
  for (const { error } of outcomes.filter((outcome) => outcome.error))
    assert.ok(error instanceof BackupError && error.exitCode === 2, String(error));
  await winners[0]?.lock?.release();
});

// Regression: a lock whose pid had been given to another process after a restart was taken for a live run.
test('a lock whose pid now belongs to another process is taken over', async () => {
  const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)']);
  try {
    const pid = other.pid as number;
    const start = readProcessStart(pid);
    if (start === undefined) return; // no /proc: the pid alone decides, as the table above shows
    await writeLock(JSON.stringify({ pid, host: hostname(), startedAt: 'then', processStart: `${start}1` }));
    const lock = await acquireLock(dir);
    assert.equal(lock.recoveredStale, true);
    await lock.release();
    // With its true start time it is that process's lock.
    await writeLock(JSON.stringify({ pid, host: hostname(), startedAt: 'then', processStart: start }));
    await assert.rejects(
      acquireLock(dir),
      (error: unknown) => error instanceof BackupError && error.exitCode === 2,
    );
  } finally {
    other.kill('SIGKILL');
  }
});

test('a takeover guard left by a run that died mid-takeover is taken over too', async () => {
  const pid = await deadPid();
  const stale = JSON.stringify({ pid, host: hostname(), startedAt: 'then' });
  await writeLock(stale);
  // Run a takeover until it holds its guard, before it looks at the lock again, and stop it
  // there; its guard is then made to name a dead process, as if the run had been killed.
  const dying = new Racer(dir);
  for (let step = 0; step < 2; step++) await dying.step();
  const guards = (await readdir(stateDir())).filter((name) => name.startsWith('lock.takeover-'));
  assert.equal(guards.length, 1);
  const guard = path.join(stateDir(), guards[0] as string);
  // The guard is a link to that run's own lock file: replace it rather than write through it.
  await rm(guard);
  await writeFile(guard, JSON.stringify({ pid, host: hostname(), startedAt: 'then', nonce: 'dead' }));
  const lock = await acquireLock(dir);
  assert.equal(lock.recoveredStale, true);
  const left = (await readdir(stateDir())).filter((name) => !name.endsWith('.tmp'));
  assert.deepEqual(left, ['lock'], 'the dead guard is gone');
  dying.release();
  const late = await dying.outcome;
  assert.ok(late.error instanceof BackupError && late.error.exitCode === 2, String(late.error));
  await lock.release();
});

// ---------------------------------------------------------------------------------------------
// Two runs of the built CLI

const sample = path.join(path.dirname(BIN), '..', 'test', 'fixtures', 'sample-takeout');

async function waitForFileOrExit(file: string, run: { done: boolean }): Promise<void> {
  while (!existsSync(file)) {
    assert.equal(run.done, false, `the run ended before it reached ${path.basename(file)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function startRun(pauseDir: string, points: string[]) {
  const state = { done: false };
  const result: Promise<CliResult> = runCli(['2024', 'out', '--takeout', sample], {
    cwd: dir,
    env: { PHOTO_BACKUP_PAUSE_AT: points.join(','), PHOTO_BACKUP_PAUSE_DIR: pauseDir },
  }).finally(() => {
    state.done = true;
  });
  return { state, result };
}

// Regression: two runs that both took over a stale lock both went on saving into one folder.
test('two photo-backup runs taking over one stale lock: one saves, the other exits 2 naming it', async () => {
  const out = path.join(dir, 'out');
  await mkdir(path.join(out, '.photo-backup'), { recursive: true });
  await writeFile(
    path.join(out, '.photo-backup', 'lock'),
    JSON.stringify({ pid: await deadPid(), host: hostname(), startedAt: 'then' }),
  );
  const pausesA = path.join(dir, 'a');
  const pausesB = path.join(dir, 'b');
  await mkdir(pausesA);
  await mkdir(pausesB);
  const a = startRun(pausesA, ['lock-stale', 'lock-acquired']);
  const b = startRun(pausesB, ['lock-stale']);
  // Both have judged the lock stale before either acts on it.
  await waitForFileOrExit(path.join(pausesA, 'lock-stale.reached'), a.state);
  await waitForFileOrExit(path.join(pausesB, 'lock-stale.reached'), b.state);
  const pidA = (await readFile(path.join(pausesA, 'lock-stale.reached'), 'utf8')).trim();
  await writeFile(path.join(pausesA, 'lock-stale.go'), '');
  await waitForFileOrExit(path.join(pausesA, 'lock-acquired.reached'), a.state);
  await writeFile(path.join(pausesB, 'lock-stale.go'), '');
  const second = await b.result;
  assert.equal(second.code, 2, second.stderr);
  assert.match(
    second.stderr,
    new RegExp(`Another photo-backup run \\(process ${pidA}, started [^)]+\\) is saving into`),
  );
  await writeFile(path.join(pausesA, 'lock-acquired.go'), '');
  const first = await a.result;
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /An earlier run was stopped before it finished/);
  assert.deepEqual(
    await readdir(path.join(out, '.photo-backup')).then((names) => names.filter((n) => n.startsWith('lock'))),
    [],
  );
});
