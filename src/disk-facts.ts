/**
 * What the backup folder already holds, read without writing: the size of a file at a relative
 * path (one readdir per day folder for the run), and the digests of a saved file.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import { nameKey } from './layout.ts';
import type { ContentFacts } from './plan.ts';

/**
 * What is at a file's place: its size, 'link' for a symbolic link (never followed: its target's
 * size would say "already saved" for a photo that is in the backup nowhere), or undefined.
 */
export async function sizeOnDisk(file: string): Promise<number | 'link' | undefined> {
  try {
    const info = await lstat(file);
    if (info.isSymbolicLink()) return 'link';
    return info.isFile() ? info.size : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The size of the file at a relative path, for the plan: one `readdir` per day folder for the run
 * instead of a `stat` per item (a stat that fails costs as much as one that finds a file). A name
 * the folder does not hold, compared as `nameKey` (case and normalization folded), is not there;
 * a name it holds is stat'ed as before, for its size and for whether this file system takes the
 * name for it. A folder is listed when the run plans its first item, before the run writes into it;
 * a file the run writes later has its name claimed, so no later item of the run looks it up.
 * The backup folder itself is listed once: a day folder it does not hold is not read at all.
 */
export function createDiskLookup(folder: string): (relative: string) => Promise<number | 'link' | undefined> {
  const listings = new Map<string, Promise<Set<string> | undefined>>();
  let top: Promise<Set<string> | undefined> | undefined;
  const list = async (dir: string): Promise<Set<string> | undefined> => {
    const first = dir.split('/')[0] as string;
    if (dir !== '') {
      top ??= readdir(folder).then(
        (names) => new Set(names.map(nameKey)),
        () => undefined,
      );
      const held = await top;
      if (held && !held.has(nameKey(first))) return new Set();
    }
    try {
      return new Set((await readdir(path.join(folder, dir))).map(nameKey));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Any other failure: no listing, and each item is stat'ed as before.
      return code === 'ENOENT' || code === 'ENOTDIR' ? new Set() : undefined;
    }
  };
  return async (relative) => {
    const slash = relative.lastIndexOf('/');
    const dir = relative.slice(0, Math.max(0, slash));
    let listing = listings.get(dir);
    if (!listing) {
      listing = list(dir);
      listings.set(dir, listing);
    }
    const names = await listing;
    if (names && !names.has(nameKey(relative.slice(slash + 1)))) return undefined;
    return sizeOnDisk(path.join(folder, relative));
  };
}

/**
 * sha256, CRC-32 and size of a file on disk, in one read: to adopt a file of a source whose
 * copies are told apart by content, or to check a saved file against an archive entry's CRC-32.
 */
export async function fileDigests(file: string): Promise<ContentFacts & { size: number; sha256: string }> {
  const hash = createHash('sha256');
  let crc = 0;
  let size = 0;
  await pipeline(createReadStream(file), async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) {
      hash.update(chunk);
      crc = crc32(chunk, crc);
      size += chunk.length;
    }
  });
  return { size, crc32: crc, sha256: hash.digest('hex') };
}
