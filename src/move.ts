/**
 * Moving a saved file to another day folder (its date was edited in Google Photos), so that at
 * every moment the photo is under a final name somewhere: a copy is made beside its new place and
 * renamed into it (the old file untouched), then the caller records the new place, and only then
 * is the old name removed. A run killed at any step leaves either both names or the new one; the
 * next run finds what is done and finishes the rest.
 */
import { constants } from 'node:fs';
import { copyFile, lstat, open, rename, rm, rmdir, utimes } from 'node:fs/promises';
import path from 'node:path';
import { fileDigests } from './disk-facts.ts';
import { sidecarPathFor } from './metadata/sidecar-file.ts';
import { tempPathIn } from './transfer.ts';

export interface SavedBytes {
  size: number;
  /** What the record says the bytes hash to, when it knows. */
  sha256?: string;
}

async function holds(file: string, bytes: SavedBytes): Promise<boolean> {
  const info = await lstat(file).catch(() => undefined);
  if (!info?.isFile() || info.size !== bytes.size) return false;
  if (bytes.sha256 === undefined) return true;
  const digests = await fileDigests(file).catch(() => undefined);
  return digests?.sha256 === bytes.sha256;
}

/**
 * Puts a copy of `from` at `to`: 'placed', or 'present' when `to` already holds these bytes (an
 * earlier run was stopped after its copy), or 'taken' when another file is there (nothing is
 * written over it). `modified` is the file's new time (the capture instant).
 */
export async function placeCopy(
  from: string,
  to: string,
  bytes: SavedBytes,
  modified: Date | undefined,
): Promise<'placed' | 'present' | 'taken'> {
  if (await lstat(to).catch(() => undefined)) return (await holds(to, bytes)) ? 'present' : 'taken';
  if (!(await holds(from, bytes)))
    throw new Error(`${from} no longer holds the saved file (changed or gone); it was not moved`);
  const near = tempPathIn(path.dirname(to), `.${path.basename(to)}`);
  try {
    // A clone where the file system can (no bytes copied), else a copy.
    await copyFile(from, near, constants.COPYFILE_FICLONE);
    const handle = await open(near, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (modified) await utimes(near, modified, modified).catch(() => undefined);
    if (await lstat(to).catch(() => undefined)) {
      await rm(near, { force: true });
      return (await holds(to, bytes)) ? 'present' : 'taken';
    }
    await rename(near, to);
  } catch (error) {
    await rm(near, { force: true });
    throw error;
  }
  return 'placed';
}

/**
 * The end of a move, once the record names the new place: the old file goes, but only while it
 * still holds the saved bytes and a file with them is at the new place; its XMP sidecar (edited
 * by the user or not) goes along to the new place unless one is there already; an emptied day
 * folder is removed. Returns whether the old file was removed (or already gone).
 */
export async function finishMove(
  folder: string,
  fromRelative: string,
  toRelative: string,
  bytes: SavedBytes,
): Promise<boolean> {
  const from = path.join(folder, fromRelative);
  const to = path.join(folder, toRelative);
  const fromSidecar = path.join(folder, sidecarPathFor(fromRelative));
  const toSidecar = path.join(folder, sidecarPathFor(toRelative));
  const old = await lstat(from).catch(() => undefined);
  if (old) {
    if (!(await holds(to, { size: bytes.size }))) return false;
    if (!old.isFile() || !(await holds(from, bytes))) return false;
  }
  if ((await lstat(fromSidecar).catch(() => undefined)) && !(await lstat(toSidecar).catch(() => undefined)))
    await rename(fromSidecar, toSidecar);
  if (old) await rm(from);
  await rmdir(path.dirname(from)).catch(() => undefined);
  return true;
}
