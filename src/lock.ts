/**
 * One run per folder: `<folder>/.photo-backup/lock` names the run that holds the folder.
 *
 * Taking it is one atomic step: the lock's content is written to a temporary file of this run's
 * own, synced, and then hard-linked to `lock`. link() fails with EEXIST when `lock` exists, so of
 * any number of runs exactly one gets it, and `lock` never exists empty or half written.
 *
 * Taking over a stale lock (its run died) is where check-then-remove goes wrong: two runs judge
 * the same lock stale, the first removes it and takes the folder, and the second then removes the
 * first one's live lock. So a stale lock is removed only by the one run that holds its takeover
 * guard, `lock.takeover-<hash of the stale content>`, itself taken with link(), and only while
 * `lock` still holds exactly the content that was judged stale. Every lock's content carries a
 * random nonce, so content that was removed never comes back, and a late run holding the guard
 * finds something else and removes nothing. A guard left by a run that died mid-takeover is
 * stale in turn and taken over the same way.
 *
 * On a file system without hard links (FAT and exFAT disks) the lock is created exclusively and
 * written instead: it can then be seen empty for a moment, so an unreadable lock younger than a
 * few seconds counts as a run that is starting.
 *
 * A lock is stale when its process is gone, when the machine was restarted since (Linux's boot
 * id), or when its pid now belongs to another process (pids are reused after a reboot and in
 * containers): the process start time (field 22 of /proc/<pid>/stat) tells them apart. Where the
 * system gives neither, a live pid counts as the holder, as before.
 *
 * Why one file: taking, judging, taking over and releasing the lock are one protocol whose
 * steps depend on each other's content format; apart, the invariants above would be spread out.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { link as linkFile, mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { BackupError, ExitCode } from './errors.ts';
import { pausePoint } from './pause-hook.ts';

const STATE_FOLDER = '.photo-backup';
const LOCK = 'lock';
const GUARD_PREFIX = `${LOCK}.takeover-`;
const TEMP = /^lock\.[0-9a-f]+\.tmp$/;
/** An unreadable lock younger than this is a run still writing it (only where there are no hard links). */
const STARTING_MS = 10_000;
/** What link() answers on a file system that has no hard links. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

export interface Lock {
  /** True when the lock was taken over from a run that died: its temporary files may be lying around. */
  readonly recoveredStale: boolean;
  release(): Promise<void>;
}

/** What a lock file says about its run. Locks written by earlier versions have only pid, host and startedAt. */
export interface LockHolder {
  pid?: number;
  host?: string;
  startedAt?: string;
  nonce?: string;
  /** The process start time in clock ticks since boot (Linux), to tell a reused pid. */
  processStart?: string;
  bootId?: string;
}

/** What this machine says, passed in so the judgement is pure. */
export interface HostFacts {
  host: string;
  pid: number;
  bootId: string | undefined;
  alive(pid: number): boolean;
  processStart(pid: number): string | undefined;
  /** Nonces of the locks and guards this process holds or is taking right now. */
  ownNonces: ReadonlySet<string>;
}

export type Verdict =
  | { state: 'live' }
  | { state: 'foreign' }
  | { state: 'stale'; why: 'unreadable' | 'rebooted' | 'earlier-process' | 'gone' | 'pid-reused' };

/** Whether the run a lock names still holds it. Pure. */
export function judgeHolder(holder: LockHolder | undefined, facts: HostFacts): Verdict {
  if (!holder || typeof holder.pid !== 'number' || !Number.isInteger(holder.pid) || holder.pid <= 0)
    return { state: 'stale', why: 'unreadable' };
  if (holder.host !== undefined && holder.host !== facts.host) return { state: 'foreign' };
  if (holder.nonce !== undefined && facts.ownNonces.has(holder.nonce)) return { state: 'live' };
  if (holder.bootId !== undefined && facts.bootId !== undefined && holder.bootId !== facts.bootId)
    return { state: 'stale', why: 'rebooted' };
  // Our own pid on a lock this process did not take: an earlier process had it (a container's runs are all pid 1).
  if (holder.pid === facts.pid) return { state: 'stale', why: 'earlier-process' };
  if (!facts.alive(holder.pid)) return { state: 'stale', why: 'gone' };
  if (holder.processStart !== undefined) {
    const now = facts.processStart(holder.pid);
    if (now !== undefined && now !== holder.processStart) return { state: 'stale', why: 'pid-reused' };
  }
  return { state: 'live' };
}

/** Field 22 of /proc/<pid>/stat (starttime); undefined where there is no /proc. */
export function readProcessStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 is the command name in parentheses and may itself hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = fields[19];
    return start && /^\d+$/.test(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

function readBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const ownNonces = new Set<string>();

function hostFacts(): HostFacts {
  return {
    host: hostname(),
    pid: process.pid,
    bootId: readBootId(),
    alive: processAlive,
    processStart: readProcessStart,
    ownNonces,
  };
}

export interface LockOptions {
  /** Called between the steps (tests interleave racing runs with it); default: the PHOTO_BACKUP_PAUSE_AT hook. */
  pause?: (point: string) => Promise<void>;
  /** fs.promises.link, or a stand-in for a file system without hard links. */
  link?: (existing: string, created: string) => Promise<void>;
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' ? (value as LockHolder) : undefined;
  } catch {
    return undefined;
  }
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Makes `to` hold this run's lock content unless it exists: true when made, false when it was
 * there. A hard link of the synced temporary file, so `to` is never seen empty; without hard links,
 * an exclusive create and a write.
 */
async function createExclusive(attempt: Attempt, to: string): Promise<boolean> {
  try {
    await attempt.link(attempt.temp, to);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return false;
    if (!NO_HARD_LINKS.has(code)) throw error;
  }
  let handle: FileHandle;
  try {
    handle = await open(to, 'wx', 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(attempt.content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}

/** The holder a lock or guard names; an unreadable one still being written (no hard links) counts as a run starting. */
async function judgeFile(
  file: string,
  text: string,
  facts: HostFacts,
): Promise<{ holder?: LockHolder; verdict: Verdict }> {
  const holder = parseHolder(text);
  const verdict = judgeHolder(holder, facts);
  if (verdict.state === 'stale' && verdict.why === 'unreadable') {
    const age = await stat(file).then(
      (info) => Date.now() - info.mtimeMs,
      () => Number.POSITIVE_INFINITY,
    );
    if (age < STARTING_MS) return { verdict: { state: 'live' } };
  }
  return { ...(holder ? { holder } : {}), verdict };
}

async function unlinkIfThere(file: string): Promise<void> {
  await unlink(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}

function heldError(folder: string, holder: LockHolder | undefined, takingOver = false): BackupError {
  return new BackupError(
    `Another photo-backup run (process ${holder?.pid ?? 'unknown'}, started ${holder?.startedAt ?? 'earlier'}) ` +
      `is ${takingOver ? 'taking over the folder' : 'saving into'} ${folder}. ` +
      'Wait for it to finish, or stop it, then run this command again.',
    ExitCode.usage,
  );
}

interface Attempt {
  folder: string;
  dir: string;
  /** This run's lock content, written once, linked as the lock and as any guard it takes. */
  temp: string;
  content: string;
  link: (existing: string, created: string) => Promise<void>;
  facts: HostFacts;
  pause: (point: string) => Promise<void>;
}

/**
 * Removes `target` if it still holds `judged` (content judged stale), with the guard that makes
 * this run the only one allowed to. Returns when the caller should look at the lock again.
 */
async function removeStale(attempt: Attempt, target: string, judged: string, depth: number): Promise<void> {
  const key = createHash('sha256')
    .update(`${path.basename(target)}\n${judged}`)
    .digest('hex')
    .slice(0, 16);
  const guard = path.join(attempt.dir, `${GUARD_PREFIX}${key}`);
  if (await createExclusive(attempt, guard)) {
    try {
      await attempt.pause('lock-guarded');
      // Only this guard's holder removes `target`, and the content judged stale never returns
      // once removed: what is there now is either that very file or something this run must keep.
      if ((await readText(target)) === judged) {
        await attempt.pause('lock-remove');
        await unlinkIfThere(target);
      }
    } finally {
      await unlinkIfThere(guard);
    }
    return;
  }
  const guardText = await readText(guard);
  if (guardText === undefined) return; // its taker just finished
  const { holder: taker, verdict } = await judgeFile(guard, guardText, attempt.facts);
  if (verdict.state !== 'stale') throw heldError(attempt.folder, taker, true);
  // The taker died mid-takeover: its guard is stale in turn.
  if (depth >= 3) throw stuckError(attempt.dir);
  await removeStale(attempt, guard, guardText, depth + 1);
}

function stuckError(dir: string): BackupError {
  return new BackupError(
    `Could not take the lock in ${dir}: if no other photo-backup run is going on, delete the files named lock* there and run again.`,
    ExitCode.usage,
  );
}

/** Holding the lock: guards and temporary lock files of runs that died are removed. */
async function removeLeftovers(attempt: Attempt): Promise<void> {
  const names = await readdir(attempt.dir).catch(() => [] as string[]);
  for (const name of names) {
    const file = path.join(attempt.dir, name);
    if (name.startsWith(GUARD_PREFIX)) {
      // Safe while holding the lock: a guard only protects the removal of a lock that is gone.
      await unlinkIfThere(file).catch(() => undefined);
    } else if (TEMP.test(name) && file !== attempt.temp) {
      // Another run's, still being written, is young and so not stale.
      const text = await readText(file).catch(() => undefined);
      if (text !== undefined && (await judgeFile(file, text, attempt.facts)).verdict.state === 'stale')
        await unlinkIfThere(file).catch(() => undefined);
    }
  }
}

/** Takes the folder's lock, taking over a stale one; a BackupError (exit 2) naming the holder when another run has it. */
export async function acquireLock(folder: string, options: LockOptions = {}): Promise<Lock> {
  const dir = path.join(folder, STATE_FOLDER);
  // Not recursive: on a read-only file system Node's recursive mkdir reports ENOENT instead of EROFS.
  await mkdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  const file = path.join(dir, LOCK);
  const facts = hostFacts();
  const nonce = randomBytes(8).toString('hex');
  const processStart = readProcessStart(process.pid);
  const mine = JSON.stringify({
    pid: process.pid,
    host: facts.host,
    startedAt: new Date().toISOString(),
    nonce,
    ...(processStart ? { processStart } : {}),
    ...(facts.bootId ? { bootId: facts.bootId } : {}),
  } satisfies LockHolder);
  const attempt: Attempt = {
    folder,
    dir,
    temp: path.join(dir, `${LOCK}.${nonce}.tmp`),
    content: mine,
    link: options.link ?? linkFile,
    facts,
    pause: options.pause ?? pausePoint,
  };
  ownNonces.add(nonce);
  let taken = false;
  try {
    // Synced before it is linked: after a power cut the lock holds its content or does not exist.
    const handle = await open(attempt.temp, 'wx', 0o644);
    try {
      await handle.writeFile(mine);
      await handle.sync();
    } finally {
      await handle.close();
    }
    let recoveredStale = false;
    for (let round = 0; round < 8; round++) {
      await attempt.pause('lock-create');
      if (await createExclusive(attempt, file)) {
        taken = true;
        await attempt.pause('lock-acquired');
        await removeLeftovers(attempt);
        return {
          recoveredStale,
          release: async () => {
            // Only our own lock: never remove what another run holds.
            if ((await readText(file).catch(() => undefined)) === mine) await unlinkIfThere(file);
            ownNonces.delete(nonce);
          },
        };
      }
      const held = await readText(file);
      if (held === undefined) continue; // released meanwhile: try again
      const { holder, verdict } = await judgeFile(file, held, facts);
      if (verdict.state === 'live') throw heldError(folder, holder);
      if (verdict.state === 'foreign') {
        throw new BackupError(
          `${file} says a run on ${holder?.host} is saving into ${folder}. If no run is going on there, delete that file and run again.`,
          ExitCode.usage,
        );
      }
      recoveredStale = true;
      await attempt.pause('lock-stale');
      await removeStale(attempt, file, held, 0);
    }
    throw stuckError(dir);
  } finally {
    if (!taken) ownNonces.delete(nonce);
    await unlinkIfThere(attempt.temp).catch(() => undefined);
  }
}
