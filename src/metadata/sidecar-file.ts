/**
 * The XMP sidecar on disk: `<file name>.xmp` beside the media (`2024-03-17/IMG_0042.jpg.xmp`),
 * written like media (a temporary file, then a rename), and the rule that a sidecar someone edited
 * is never overwritten: decideSidecar compares the file's hash with the one recorded when this tool
 * wrote it.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  lstatSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { tempPathIn } from '../transfer.ts';
import { isCompleteXmp } from './xmp-check.ts';

export const SIDECAR_EXTENSION = '.xmp';

/** `2024-03-17/IMG_0042.jpg` → `2024-03-17/IMG_0042.jpg.xmp`: the full name kept, so `IMG.jpg` and `IMG.heic` get one each. */
export function sidecarPathFor(mediaPath: string): string {
  return `${mediaPath}${SIDECAR_EXTENSION}`;
}

/** sha256 of the UTF-8 bytes, lower-case hex: what the record keeps for the file written. */
export function sidecarHash(content: string | Uint8Array): string {
  return createHash('sha256').update(content).digest('hex');
}

/**
 * What is at the sidecar's path now. `damaged`: a file that is no whole XMP packet (empty, cut
 * short, NULs): nobody edits a sidecar into that; a power cut or a crash of a program leaves it.
 */
export type ExistingSidecar =
  | { kind: 'absent' }
  | { kind: 'file'; sha256: string; damaged?: 'empty' | 'torn' }
  | { kind: 'not-a-file' };

/**
 * Looks at the sidecar's path without following a link: a link, a folder or anything but a plain
 * file there is not this tool's, and reading through a link could read outside the backup folder.
 * Synchronous, as the write below: most sidecars are not there yet, and an lstat that finds
 * nothing takes microseconds, less than a hand-off to the thread pool (and no error is made for it).
 */
export function inspectSidecar(sidecarPath: string): ExistingSidecar {
  const stats = lstatSync(sidecarPath, { throwIfNoEntry: false });
  if (!stats) return { kind: 'absent' };
  if (!stats.isFile()) return { kind: 'not-a-file' };
  const bytes = readFileSync(sidecarPath);
  const sha256 = sidecarHash(bytes);
  if (bytes.length === 0) return { kind: 'file', sha256, damaged: 'empty' };
  return isCompleteXmp(bytes) ? { kind: 'file', sha256 } : { kind: 'file', sha256, damaged: 'torn' };
}

export type SidecarDecision =
  | { action: 'write'; reason: 'new' | 'missing' | 'changed' | 'damaged' }
  | { action: 'skip'; reason: 'unchanged' }
  | { action: 'keep'; reason: 'edited' | 'not-ours' | 'not-a-file' };

export interface SidecarState {
  existing: ExistingSidecar;
  /** sha256 of the sidecar this tool wrote last time, from the record; undefined when it wrote none. */
  recorded?: string;
  /** sha256 of the sidecar this run would write. */
  next: string;
}

/**
 * Whether to write the sidecar. Pure. The file on disk is replaced only when this tool wrote it
 * and nobody changed it since (its hash is the recorded one); a file with other bytes was edited
 * by the user or written by another program (darktable writes the same name), and is kept.
 * A sidecar that already holds exactly the new bytes is left alone, whoever wrote it.
 * The edit rule is for whole XMP packets only: a damaged file (not one) where this tool wrote a
 * sidecar, or an empty one anywhere, is written again (a power cut after the rename, before the
 * bytes reached the disk, leaves one; this tool never renames a partial file into place).
 */
export function decideSidecar(state: SidecarState): SidecarDecision {
  const { existing, recorded, next } = state;
  if (existing.kind === 'absent')
    return { action: 'write', reason: recorded === undefined ? 'new' : 'missing' };
  if (existing.kind === 'not-a-file') return { action: 'keep', reason: 'not-a-file' };
  if (existing.sha256 === next) return { action: 'skip', reason: 'unchanged' };
  if (existing.damaged === 'empty' || (existing.damaged === 'torn' && recorded !== undefined))
    return { action: 'write', reason: 'damaged' };
  if (recorded === undefined) return { action: 'keep', reason: 'not-ours' };
  if (existing.sha256 === recorded) return { action: 'write', reason: 'changed' };
  return { action: 'keep', reason: 'edited' };
}

export interface WriteSidecarOptions {
  /**
   * Flush the file to the disk before the rename (default true), so a power cut cannot leave an
   * empty sidecar under the final name. Off for callers that write many and sync otherwise.
   */
  fsync?: boolean;
}

/**
 * Writes `bytes` (the packet's UTF-8, hashed by the caller for the record) to `sidecarPath` atomically: a temporary `.<name>.<n>.part` in the same folder
 * (so the rename never crosses disks, and sweepTemps removes one a stopped run left), then a rename
 * over the final name, so the name only ever holds a whole sidecar. The caller has decided
 * (decideSidecar) that the name may be taken.
 *
 * Synchronous: a sidecar is about a kilobyte, and its four calls (create, write, close, rename)
 * take microseconds each on a local disk, less than the four hand-offs to the thread pool and back
 * they cost asynchronously; a run writing thousands spends its time in the file system, not in
 * waking the main thread. Measured in docs/performance.md.
 */
export function writeSidecar(
  sidecarPath: string,
  bytes: Uint8Array,
  options: WriteSidecarOptions = {},
): void {
  const temp = tempPathIn(path.dirname(sidecarPath), `.${path.basename(sidecarPath)}`);
  try {
    const fd = openSync(temp, 'wx');
    try {
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written);
      if (options.fsync !== false) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, sidecarPath);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}
