/**
 * Opening the inputs: each .zip, .tgz/.tar.gz/.tar or folder given (or archive found at the top
 * of a folder given) is one part, its entries listed by part-entries.ts. Also the reader pool and
 * the head reads that listing-time reads (sidecars, EXIF heads) share.
 */

import { type FileHandle, open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { usageError } from '../../errors.ts';
import { openFileReader, type RandomAccessReader } from '../random-access.ts';
import type { ExifCapture } from './dates.ts';
import type { Findings } from './findings.ts';
import { readZipEntryPrefix, type ZipEntry, type ZipIndex } from './formats/zip-reader.ts';
import { notePartOpened } from './read-count.ts';
import type { JsonFacts } from './tree.ts';

export type PartKind = 'zip' | 'tar' | 'folder';

export interface Part {
  file: string;
  kind: PartKind;
  order: number;
  files: PartFile[];
  /** A zip part's central directory: its files' entries by their `index`, kept for reading them. */
  zip?: ZipIndex;
  /**
   * How to read the part at any offset; a local file (openFileReader) when absent. `use` says
   * what the reader is for: the listing's one reader of the part (its directory, sidecars, dates)
   * or one entry's body (Drive: the bodies of a part share one check of its version).
   */
  open?: (use: PartUse) => Promise<RandomAccessReader>;
}

export type PartUse = 'listing' | 'entry';

/** A reader over the part's bytes: the caller closes it. */
export function openPart(part: Part, use: PartUse = 'listing'): Promise<RandomAccessReader> {
  return part.open ? part.open(use) : openFileReader(part.file);
}

export interface PartFile {
  part: Part;
  /** Normalized path inside the part; folder parts start with the folder's own name. */
  path: string;
  size: number;
  /** Ordinal inside a tar part (pass 2 finds the entry by it), or in a zip's central directory. */
  index: number;
  fsPath?: string;
  /** What is used of a JSON file that parsed (tree.ts jsonFactsOf); the parsed object is not kept. */
  json?: JsonFacts;
  /** CRC-32 of a tgz media entry, computed in pass 1 as its bytes pass by. */
  crc32?: number;
  /** Read in tgz pass 1 (EXIF, or HEIF/QuickTime dates); undefined with `exifRead` means "no date". */
  exif?: ExifCapture;
  exifRead?: boolean;
}

export const ARCHIVE_NAME = /\.(zip|tgz|tar\.gz|tar)$/i;

async function sniffKind(file: string): Promise<'zip' | 'tar' | 'unknown'> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, 'r');
    notePartOpened(file);
    const head = Buffer.alloc(262);
    const { bytesRead: length } = await handle.read(head, 0, head.length, 0);
    if (length >= 4 && head.readUInt32LE(0) === 0x04034b50) return 'zip';
    if (length >= 4 && head.readUInt32LE(0) === 0x06054b50) return 'zip';
    if (length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'tar';
    if (length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
    return 'unknown';
  } catch {
    return 'unknown';
  } finally {
    await handle?.close();
  }
}

/**
 * The parts the inputs name, in the order given (a folder's archives by name, then the folder);
 * entries not read yet. An archive `skip` says yes to is left out before it is opened.
 */
export async function findParts(
  inputs: readonly string[],
  findings: Findings,
  skip?: (file: string) => Promise<boolean>,
): Promise<Part[]> {
  const parts: Part[] = [];
  const add = (file: string, kind: PartKind) => parts.push({ file, kind, order: parts.length, files: [] });
  for (const input of inputs) {
    // Followed: a Takeout folder or archive given through a symbolic link is what the link names.
    const stats = await stat(input).catch(() => undefined);
    if (!stats) {
      throw inputNotFound(input);
    }
    if (stats.isDirectory()) {
      for (const name of (await readdir(input)).sort()) {
        if (!ARCHIVE_NAME.test(name)) continue;
        const file = path.join(input, name);
        if (await skip?.(file)) continue;
        const kind = await sniffKind(file);
        if (kind === 'unknown') findings.problem(`${file}: not a zip or tgz archive; it was skipped.`);
        else add(file, kind);
      }
      add(input, 'folder');
      continue;
    }
    if (await skip?.(input)) continue;
    const kind = await sniffKind(input);
    if (kind === 'unknown') {
      findings.problem(
        `${input}: not a zip or tgz archive (and not a folder). Pass the takeout-*.zip/.tgz files Google made, or the folder you extracted them into.`,
      );
    } else {
      add(input, kind);
    }
  }
  return parts;
}

/**
 * Open readers for listing-time reads (sidecars, EXIF heads), one per archive, so tens of
 * thousands of small reads do not each open the file. Closed when listing ends.
 */
export class ReaderPool {
  private readonly handles = new Map<Part, Promise<RandomAccessReader>>();

  get(part: Part): Promise<RandomAccessReader> {
    let handle = this.handles.get(part);
    if (!handle) {
      handle = openPart(part);
      this.handles.set(part, handle);
    }
    return handle;
  }

  async closeAll(): Promise<void> {
    const handles = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(handles.map(async (handle) => (await handle.catch(() => undefined))?.close()));
  }
}

/**
 * A zip part's file as its directory entry, made when asked (part.zip holds the directory
 * compactly); undefined for the files of tgz and folder parts.
 */
export function zipEntryOf(file: PartFile): ZipEntry | undefined {
  return file.part.zip?.entry(file.index, file.path);
}

/** The CRC-32 the zip directory holds for a file, without making its entry; undefined elsewhere. */
export function zipCrcOf(file: PartFile): number | undefined {
  return file.part.zip?.crc32(file.index);
}

/** The first `bytes` of a zip entry (through the pool) or of a folder's file. */
export async function readHead(copy: PartFile, bytes: number, pool: ReaderPool): Promise<Buffer> {
  const zip = zipEntryOf(copy);
  if (zip) return readZipEntryPrefix(await pool.get(copy.part), zip, bytes);
  const handle = await open(copy.fsPath as string, 'r');
  try {
    const buffer = Buffer.alloc(Math.min(bytes, copy.size));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The one message for a Takeout path that is not there (checked at creation and when listing). */
export function inputNotFound(input: string) {
  return usageError(`Takeout input "${input}" not found. Check the path, or download the Takeout again.`);
}
