/**
 * Streams bytes to a temporary file beside the final place, then renames it: a file appears
 * under its final name only when complete. Temporary names start with a dot and end in `.part`,
 * so no later run takes them for saved photos, and a run that finds them after a crash removes them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, futimesSync, open, renameSync, type WriteStream } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { crashPoint, diskFullAt } from './crash-hook.ts';
import { BackupError, ExitCode } from './errors.ts';
import { ShortBodyError } from './http.ts';
import type { OpenedMedia } from './sources/source.ts';

export const TEMP_SUFFIX = '.part';

export interface WrittenTemp {
  tempPath: string;
  bytes: number;
  sha256?: string;
}

export function tempPathFor(finalPath: string): string {
  return path.join(
    path.dirname(finalPath),
    `.${path.basename(finalPath)}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`,
  );
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

/** Writes of up to 1 MiB: fewer pauses of the download and fewer, larger write calls (writev). */
const WRITE_BUFFER = 1 << 20;

/**
 * A plain descriptor, not a FileHandle: a stream over a FileHandle makes every write a promise and
 * builds an error object when the handle closes under it (measured per file with small files).
 */
const openFile = promisify(open);

/** Creates the temporary file; the day folder is made only when missing (not two syscalls per file). */
async function createTemp(tempPath: string): Promise<number> {
  try {
    return await openFile(tempPath, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(path.dirname(tempPath), { recursive: true });
    return openFile(tempPath, 'wx');
  }
}

/** Closes the file of a stream made with `autoClose: false`: destroying the stream closes it. */
function closeStream(stream: WriteStream): Promise<void> {
  if (stream.closed) return Promise.resolve();
  const closed = new Promise<void>((resolve, reject) => {
    stream.once('close', resolve);
    stream.once('error', reject);
  });
  stream.destroy();
  return closed;
}

/**
 * Writes the media to a new temporary file in `dir`. On any failure the temporary file is
 * removed before the error is rethrown.
 */
export async function writeTemp(
  media: OpenedMedia,
  finalPath: string,
  options: {
    hash: boolean;
    signal: AbortSignal;
    onBytes?: (count: number) => void;
    /** The capture time, set as the file's modification time once every byte is written. */
    modified?: Date | undefined;
  },
): Promise<WrittenTemp> {
  const tempPath = tempPathFor(finalPath);
  const hash = options.hash ? createHash('sha256') : undefined;
  let bytes = 0;
  // A Transform, not an async generator: iterating a Readable (Readable.read()) concatenates
  // whatever it has buffered into a new Buffer at every step, a copy of every byte.
  const count = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const full = diskFullAt(chunk.length);
      if (full) return callback(full);
      bytes += chunk.length;
      hash?.update(chunk);
      options.onBytes?.(chunk.length);
      this.push(chunk);
      crashPoint('mid-download').then(() => callback(), callback);
    },
  });
  const fd = await createTemp(tempPath);
  // Not closed at the end of the bytes: the time is then set on the open file, not looked up by path.
  const stream = createWriteStream(tempPath, { fd, highWaterMark: WRITE_BUFFER, autoClose: false });
  try {
    await pipeline(media.body, count, stream, { signal: options.signal });
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
    await closeStream(stream);
    await crashPoint('after-temp-write');
  } catch (error) {
    await closeStream(stream).catch(() => undefined);
    await rm(tempPath, { force: true });
    throw error;
  }
  return { tempPath, bytes, ...(hash ? { sha256: hash.digest('hex') } : {}) };
}

/** Gives a complete temporary file its final name (writeTemp set its time). */
export async function commitTemp(temp: WrittenTemp, finalPath: string): Promise<void> {
  await crashPoint('before-rename');
  // Synchronous, as the time above: a rename within one folder is one quick metadata update, and
  // through the thread pool it cost more (ext4 also serializes the threads on the folder's lock).
  renameSync(temp.tempPath, finalPath);
}

export async function discardTemp(temp: WrittenTemp): Promise<void> {
  await rm(temp.tempPath, { force: true });
}

/** Removes temporary files a killed run left in the day folders (one level down). */
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
