/**
 * Streams bytes to a temporary file, then renames it into its day folder: a file appears under its
 * final name only when complete. Temporary files live in the state folder, `.photo-backup/tmp/<n>/`,
 * one folder per download in flight, and end in `.part`; no run takes them for saved photos, and
 * the next run (which holds the folder's lock) removes whatever a stopped run left there.
 *
 * Why not beside the final file: creating a file and renaming one both lock their folder, and on
 * ext4 a create takes long enough that renames queued behind the concurrent creates of the same day
 * folder (downloads come newest first, so they share a day). Each download creating in a folder of
 * its own and renaming into the day folder removes that contention (figures: docs/performance.md).
 *
 * Why one file: the temporary space, the write path (FileSink) and commit/discard share the
 * `.part` naming and the rule that only a complete file is renamed into place.
 */
import { createHash, type Hash } from 'node:crypto';
import { close, closeSync, futimesSync, mkdirSync, openSync, renameSync, writev, writevSync } from 'node:fs';
import { copyFile, mkdir, readdir, rm, utimes } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { crashArmed, crashPoint, diskFullAt } from './crash-hook.ts';
import { BackupError, ExitCode } from './errors.ts';
import { BodyClosedError, LongBodyError, ShortBodyError } from './http.ts';
import type { OpenedMedia } from './sources/source.ts';

export const TEMP_SUFFIX = '.part';

export interface WrittenTemp {
  tempPath: string;
  bytes: number;
  sha256?: string;
  /** The time set on the file, kept in case the rename must become a copy. */
  modified?: Date;
}

let tempCount = 0;

/**
 * A name no other temporary file of this run has in `dir`: `IMG_1.jpg.1f.part`. A counter, not
 * random bytes: only the holder of the folder's lock writes temporary files, and it clears what a
 * stopped run left before it starts.
 */
export function tempPathIn(dir: string, name: string): string {
  return path.join(dir, `${name}.${(++tempCount).toString(36)}${TEMP_SUFFIX}`);
}

/**
 * The temporary folders of one run, under `root` (`.photo-backup/tmp`): `take()` gives a folder no
 * other download is writing in, `give()` returns it. Only the holder of the backup folder's lock
 * may use it, so everything under `root` at the start is a stopped run's leftovers.
 */
export class TempSpace {
  readonly root: string;
  readonly #free: string[] = [];
  #made = 0;

  constructor(root: string) {
    this.root = root;
  }

  take(): string {
    return this.#free.pop() ?? path.join(this.root, String(this.#made++));
  }

  give(dir: string): void {
    this.#free.push(dir);
  }

  /** Removes everything under the root; returns how many unfinished downloads were there. */
  async clear(): Promise<number> {
    let removed = 0;
    const slots = await readdir(this.root).catch(() => [] as string[]);
    for (const slot of slots) {
      const names = await readdir(path.join(this.root, slot)).catch(() => [] as string[]);
      removed += names.filter((name) => name.endsWith(TEMP_SUFFIX)).length;
    }
    await rm(this.root, { recursive: true, force: true });
    return removed;
  }
}

/** Turns a disk error into a message the user can act on; others pass through. */
export function diskError(error: unknown, folder: string): unknown {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new BackupError(
      `The disk holding ${folder} is full. Free some space (or choose another folder) and run the same command again: what was saved is kept.`,
      ExitCode.itemsFailed,
      { cause: error },
    );
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new BackupError(
      `Cannot write in ${folder} (${code}). Choose a folder you can write to.`,
      ExitCode.usage,
      {
        cause: error,
      },
    );
  }
  if (code === 'ENOTDIR' || code === 'EEXIST') {
    return new BackupError(
      `${folder} is not a folder (a file has its name). Give another folder.`,
      ExitCode.usage,
      {
        cause: error,
      },
    );
  }
  return error;
}

/**
 * Up to 64 KiB waits for the disk before the download pauses: one socket read. Larger writes cost
 * more kernel time, not less, on Linux 6.16+ (ext4 page-cache folios as large as the write, and
 * fresh large folios are the expensive part; figures: docs/performance.md).
 */
const WRITE_BUFFER = 64 * 1024;
/** A body of known size up to this is held whole and written in one synchronous call (FileSink). */
const SMALL_BODY = 64 * 1024;

/**
 * A plain descriptor, not a FileHandle: a stream over a FileHandle makes every write a promise and
 * builds an error object when the handle closes under it (docs/performance.md).
 */
const closeFile = promisify(close);

/**
 * Creates the temporary file; its folder is made only when missing (not two syscalls per file).
 * Synchronous, as the rename and the time: an open of a new file takes microseconds, and through
 * libuv's thread pool each file cost a hand-over and a wake-up of the loop more than the call
 * (many small files, media only: 2.28 -> 2.09 s, docs/performance.md). Made once the answer's
 * headers are in, so a refused request leaves no file to remove.
 */
function createTemp(tempPath: string): number {
  try {
    return openSync(tempPath, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(path.dirname(tempPath), { recursive: true });
    return openSync(tempPath, 'wx');
  }
}

type WritevCall = (
  fd: number,
  buffers: Buffer[],
  callback: (error: NodeJS.ErrnoException | null, written: number) => void,
) => void;

/**
 * Writes all of `buffers` at the file's position, going on after a partial write (a signal, a
 * file size limit, some network file systems). `write` is `fs.writev`; tests pass one that writes
 * less.
 */
export function writeAll(
  fd: number,
  buffers: Buffer[],
  callback: (error?: Error | null) => void,
  write: WritevCall = writev,
): void {
  write(fd, buffers, (error, written) => {
    if (error) {
      callback(error);
      return;
    }
    if (written === 0) {
      callback(tookNothing());
      return;
    }
    const rest = unwritten(buffers, written);
    if (rest.length === 0) callback();
    else writeAll(fd, rest, callback, write);
  });
}

/** Never loop on a file that takes nothing. */
const tookNothing = () => Object.assign(new Error('write: the file took none of the bytes'), { code: 'EIO' });

/** What of `buffers` a (partial) write of `written` bytes left. Pure. */
function unwritten(buffers: Buffer[], written: number): Buffer[] {
  let index = 0;
  let rest = written;
  while (index < buffers.length && rest >= (buffers[index] as Buffer).length) {
    rest -= (buffers[index] as Buffer).length;
    index++;
  }
  return index === buffers.length
    ? []
    : [(buffers[index] as Buffer).subarray(rest), ...buffers.slice(index + 1)];
}

/** What FileSink needs of a body: its chunks, told one by one, and a way to hold them back. */
interface Feed {
  /** Starts the chunks; `onData` is called for each, then `onEnd` once, or `onError` once. */
  start(handlers: { onData(chunk: Uint8Array): void; onEnd(): void; onError(error: unknown): void }): void;
  pause(): void;
  resume(): void;
  /** Gives the body up (after an error or an abort): no more handlers are called. */
  stop(): void;
}

/**
 * A Readable's chunks through its events (no async iterator: Readable.read() concatenates what
 * it has buffered at every step). A close before the end, without an error, is a BodyClosedError.
 */
function readableFeed(body: Readable, received: () => number): Feed {
  let handlers: Parameters<Feed['start']>[0] | undefined;
  let ended = false;
  const onData = (chunk: Uint8Array) => handlers?.onData(chunk);
  const onEnd = () => {
    ended = true;
    handlers?.onEnd();
  };
  const onError = (error: unknown) => handlers?.onError(error);
  const onClose = () => {
    if (!ended) handlers?.onError(new BodyClosedError(received()));
  };
  return {
    start(given) {
      handlers = given;
      // Failed before it was read (a reset while the temporary file was being made): its error and
      // close events are past.
      if (body.errored || body.destroyed) {
        given.onError(body.errored ?? new BodyClosedError(0));
        return;
      }
      body.on('error', onError);
      body.on('close', onClose);
      body.on('end', onEnd);
      body.on('data', onData);
    },
    pause: () => body.pause(),
    resume: () => body.resume(),
    stop() {
      handlers = undefined;
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
      body.on('error', () => undefined);
      body.destroy();
    },
  };
}

/**
 * An async iterable's chunks (a source's generator), pulled one `next()` at a time and no faster
 * than the file takes them. Not wrapped in Readable.from: that is a stream's bookkeeping and
 * events per chunk over the same `next()` calls.
 */
function iterableFeed(source: AsyncIterable<Uint8Array>): Feed {
  const iterator = source[Symbol.asyncIterator]();
  let handlers: Parameters<Feed['start']>[0] | undefined;
  let paused = false;
  let pulling = false;
  const pull = async () => {
    pulling = true;
    try {
      while (handlers && !paused) {
        const next = await iterator.next();
        if (!handlers) return;
        if (next.done) {
          handlers.onEnd();
          return;
        }
        handlers.onData(next.value);
      }
    } catch (error) {
      handlers?.onError(error);
    } finally {
      pulling = false;
    }
  };
  return {
    start(given) {
      handlers = given;
      void pull();
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      if (!pulling) void pull();
    },
    stop() {
      handlers = undefined;
      // Ends the generator (its `finally` closes the request), once a `next()` under way settles.
      iterator.return?.().catch(() => undefined);
    },
  };
}

/**
 * The file end of a download: counts, hashes and writes what the body gives, at an open
 * descriptor it does not close. While a write is under way the next chunks wait, and go out
 * together in one `writev` when it ends; past 64 KiB waiting, the body is paused. A body of known
 * size up to 64 KiB (most photos of a phone's year are larger; thumbnails, screenshots and the
 * bench's 30 KB files are not) is held whole and written in one synchronous call at its end:
 * with the synchronous close in writeTemp, a small file costs no thread-pool round trip after its
 * open (many small files: main-thread and whole-process CPU about -12 %, docs/performance.md).
 *
 * No stream stage and no `stream.pipeline`: a Writable's bookkeeping per chunk, and per file the
 * AbortController, end-of-stream watchers and the DOMException that pipeline makes, were a fifth
 * of the main thread's time with many small files (cpu profile, `npm run bench`). A Readable body
 * is read through its events, a source's generator by pulling it (Feed, above).
 */
export class FileSink {
  bytes = 0;
  readonly #fd: number;
  readonly #hash: Hash | undefined;
  readonly #onBytes: ((count: number) => void) | undefined;
  #queue: Buffer[] = [];
  #queued = 0;
  #writing = false;
  #stopped = false;
  #error: Error | undefined;
  /** Called when a write ends. */
  #written: (() => void) | undefined;
  #idle: (() => void)[] = [];

  constructor(fd: number, hash: Hash | undefined, onBytes: ((count: number) => void) | undefined) {
    this.#fd = fd;
    this.#hash = hash;
    this.#onBytes = onBytes;
  }

  /**
   * Writes the whole body; resolves once every byte is written. The first failure (the body's, a
   * write's, the signal's, or a byte past `size`) rejects, destroys the body and stops further writes; a write already
   * under way still ends: wait for `idle()` before closing the descriptor.
   */
  drain(source: OpenedMedia['body'], signal: AbortSignal, size?: number): Promise<void> {
    const small = size !== undefined && size <= SMALL_BODY && !crashArmed('mid-download');
    const feed = source instanceof Readable ? readableFeed(source, () => this.bytes) : iterableFeed(source);
    return new Promise<void>((resolve, reject) => {
      let ended = false;
      let paused = false;
      let settled = false;
      const settle = (error?: unknown) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        this.#written = undefined;
        if (error === undefined) {
          resolve();
          return;
        }
        this.#stopped = true;
        feed.stop();
        reject(error);
      };
      const onData = (chunk: Uint8Array) => {
        // Past the announced size: stopped before the chunk reaches the file.
        if (size !== undefined && this.bytes + chunk.length > size) {
          settle(new LongBodyError(size));
          return;
        }
        const full = diskFullAt(chunk.length);
        if (full) {
          settle(full);
          return;
        }
        this.#hash?.update(chunk);
        this.bytes += chunk.length;
        this.#onBytes?.(chunk.length);
        // A Buffer over the same bytes (a generator may give a plain Uint8Array): no copy.
        this.#queue.push(
          Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength),
        );
        this.#queued += chunk.length;
        // A small body is held whole and written in one call at its end (below).
        if (small) return;
        if (!this.#writing) this.#flush();
        if (this.#queued >= WRITE_BUFFER && !paused) {
          paused = true;
          feed.pause();
        }
      };
      const onEnd = () => {
        ended = true;
        if (small) {
          settle(this.#writeHeld());
          return;
        }
        if (!this.#writing) settle(this.#error);
      };
      const onAbort = () => settle(signal.reason);
      this.#written = () => {
        if (this.#error) settle(this.#error);
        else if (this.#queued > 0) this.#flush();
        else if (ended) settle();
        if (paused && !settled && this.#queued < WRITE_BUFFER) {
          paused = false;
          feed.resume();
        }
      };
      if (signal.aborted) {
        settle(signal.reason);
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      feed.start({ onData, onEnd, onError: settle });
    });
  }

  /**
   * A small body's bytes, held until its end, written at once on this thread: one write of a few
   * KB to the page cache takes microseconds, and each hand-over to libuv's thread pool (and the
   * wake-up of the loop after it) costs more than that (many small files). Undefined when written.
   */
  #writeHeld(): Error | undefined {
    let buffers = this.#queue;
    this.#queue = [];
    this.#queued = 0;
    try {
      while (buffers.length > 0) {
        const written = writevSync(this.#fd, buffers);
        if (written === 0) return tookNothing();
        buffers = unwritten(buffers, written);
      }
      return undefined;
    } catch (error) {
      return error as Error;
    }
  }

  /** Writes what is queued, in one call. */
  #flush(): void {
    const buffers = this.#queue;
    this.#queue = [];
    this.#queued = 0;
    this.#writing = true;
    const write = () => {
      // Stopped meanwhile (the body failed): the descriptor is about to be closed.
      if (this.#stopped) {
        this.#wrote(undefined);
        return;
      }
      writeAll(this.#fd, buffers, (error) => this.#wrote(error ?? undefined));
    };
    if (crashArmed('mid-download')) void crashPoint('mid-download').then(write);
    else write();
  }

  #wrote(error: Error | undefined): void {
    this.#writing = false;
    if (error) this.#error ??= error;
    for (const resolve of this.#idle.splice(0)) resolve();
    this.#written?.();
  }

  /**
   * Resolves once no write is under way. A body that fails mid-write stops the sink while a
   * write may still wait in the thread pool: closing the descriptor before it ends would let that
   * write land in whatever file the next open gets the same descriptor number for.
   */
  idle(): Promise<void> {
    if (!this.#writing) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}

/** Lets go of a body that will not be read (its connection goes back to the pool or closes). */
function dropBody(body: OpenedMedia['body']): void {
  const stream = body as { destroy?: () => void };
  if (typeof stream.destroy === 'function') stream.destroy();
  else void body[Symbol.asyncIterator]().return?.();
}

/**
 * Opens the media with `open` and writes it to a new temporary file in `dir` (a folder from
 * TempSpace.take), named after `name`. The file is created once the answer's headers are in.
 * On any failure the temporary file is removed before the error is rethrown.
 */
export async function writeTemp(
  open: () => Promise<OpenedMedia>,
  dir: string,
  name: string,
  options: {
    hash: boolean;
    signal: AbortSignal;
    onBytes?: (count: number) => void;
    /** The capture time, set as the file's modification time once every byte is written. */
    modified?: Date | undefined;
  },
): Promise<WrittenTemp> {
  const tempPath = tempPathIn(dir, name);
  const hash = options.hash ? createHash('sha256') : undefined;
  const media = await open();
  let fd: number;
  try {
    fd = createTemp(tempPath);
  } catch (error) {
    dropBody(media.body);
    throw error;
  }
  // The descriptor stays open after the last byte: the time is then set on the open file, not
  // looked up by path, and a close that reports a failed write (network file systems) is seen.
  const sink = new FileSink(fd, hash, options.onBytes);
  let closed = false;
  try {
    await sink.drain(media.body, options.signal, media.size);
    const bytes = sink.bytes;
    if (media.size !== undefined && bytes !== media.size) throw new ShortBodyError(bytes, media.size);
    // Before the rename, so the file never shows under its name with the wrong time.
    // Windows and some file systems refuse times before 1970: keep the download time there.
    // Synchronous: setting the time of an open file takes microseconds; handing it to libuv's
    // thread pool and waking the loop again costs more than the call (many small files).
    const modified = options.modified;
    if (modified) {
      try {
        futimesSync(fd, modified, modified);
      } catch {
        // The download time stays.
      }
    }
    closed = true;
    // A small file's close is synchronous, as the time above (no thread-pool round trip); a large
    // one's is not: a network file system writes its data out at close.
    if (media.size !== undefined && media.size <= SMALL_BODY) closeSync(fd);
    else await closeFile(fd);
    await crashPoint('after-temp-write');
  } catch (error) {
    if (!closed) {
      await sink.idle();
      await closeFile(fd).catch(() => undefined);
    }
    await rm(tempPath, { force: true });
    throw error;
  }
  return {
    tempPath,
    bytes: sink.bytes,
    ...(hash ? { sha256: hash.digest('hex') } : {}),
    ...(options.modified ? { modified: options.modified } : {}),
  };
}

/**
 * Gives a complete temporary file its final name (writeTemp set its time), making the day folder
 * when it is missing. When the day folder is on another disk than the state folder (a folder
 * linked elsewhere), the file is copied beside its final place first, and renamed from there.
 */
export async function commitTemp(temp: WrittenTemp, finalPath: string): Promise<void> {
  await crashPoint('before-rename');
  try {
    // Synchronous, as the time above: one metadata update that takes microseconds, which through
    // the thread pool cost more than the call (many small files).
    renameSync(temp.tempPath, finalPath);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EXDEV') return copyIntoPlace(temp, finalPath);
    if (code !== 'ENOENT') throw error;
  }
  await mkdir(path.dirname(finalPath), { recursive: true });
  try {
    renameSync(temp.tempPath, finalPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await copyIntoPlace(temp, finalPath);
  }
}

/** The cross-disk commit: a temporary copy beside the final place, its time, then the rename. */
async function copyIntoPlace(temp: WrittenTemp, finalPath: string): Promise<void> {
  const near = tempPathIn(path.dirname(finalPath), `.${path.basename(finalPath)}`);
  try {
    await copyFile(temp.tempPath, near);
    if (temp.modified) await utimes(near, temp.modified, temp.modified).catch(() => undefined);
    renameSync(near, finalPath);
  } catch (error) {
    await rm(near, { force: true });
    throw error;
  }
  await rm(temp.tempPath, { force: true });
}

export async function discardTemp(temp: WrittenTemp): Promise<void> {
  await rm(temp.tempPath, { force: true });
}

/**
 * Removes temporary files a stopped run left in the day folders (one level down): the cross-disk
 * copies above, and the temporary files of versions before TempSpace (`.IMG_1.jpg.1f2e3d4c.part`).
 */
export async function sweepTemps(folder: string): Promise<number> {
  let removed = 0;
  let days: string[];
  try {
    days = await readdir(folder);
  } catch {
    return 0;
  }
  for (const day of days) {
    if (day.startsWith('.')) continue;
    let names: string[];
    try {
      names = await readdir(path.join(folder, day));
    } catch {
      continue;
    }
    for (const name of names) {
      if (name.startsWith('.') && name.endsWith(TEMP_SUFFIX)) {
        await rm(path.join(folder, day, name), { force: true });
        removed++;
      }
    }
  }
  return removed;
}
