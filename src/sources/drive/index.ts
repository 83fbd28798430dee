/**
 * The Drive source: scheduled Takeout exports read in place from the user's Google Drive, never
 * downloaded whole. The exports in the Drive folder (default `Takeout`) are found by Takeout's own
 * naming (exports.ts), each zip part is opened as a ranged reader (reader.ts), and everything else
 * is the Takeout source's: catalog, sidecar matching across parts, dates, bodies. So only each
 * part's central directory, the sidecars and the entries the year needs are read. A .tgz part has
 * no directory: it is streamed whole, and a notice recommends zip.
 *
 * The memory of finished parts is the Takeout source's too, with a Drive file's identity: its id,
 * size, md5Checksum and modifiedTime (drivePartIdentity). A finished part is left out before any
 * byte of it is asked for, so a rerun over unchanged exports costs the listing alone.
 */

import { usageError } from '../../errors.ts';
import { type RandomAccessReader, withFailures } from '../random-access.ts';
import { createTakeoutSource, type TakeoutSource, type TakeoutSourceOptions } from '../takeout/index.ts';
import type { PartIdentity, ProcessedExport } from '../takeout/part-memory.ts';
import type { Part } from '../takeout/parts.ts';
import { type DriveApi, type DriveFileInfo, isRateLimit, listingRateLimitError } from './api.ts';
import { listTakeoutExports, TAKEOUT_FOLDER } from './exports.ts';
import { openDriveReader, VersionCheck } from './reader.ts';

export interface DriveSourceOptions {
  api: DriveApi;
  /** The Drive folder the exports are delivered to; `Takeout` by default. */
  folderName?: string;
  timeZone: string;
  /** The year being saved (TakeoutSourceOptions.year): other years' media are not read for dates. */
  year?: number;
  includeTrash?: boolean;
  onWarning?: (message: string) => void;
  onInfo?: (message: string) => void;
  /** The memory of finished parts, as for a Takeout folder (part-memory.ts). */
  memory?: TakeoutSourceOptions['memory'];
  /** Each export fully processed for the year, its parts named by Drive file id (TakeoutSourceOptions). */
  onProcessed?: TakeoutSourceOptions['onProcessed'];
}

/** The prefix of a Drive part's identity key before its file id. */
const DRIVE_KEY = 'drive:';

/**
 * What tells a Drive part is the file that was finished: its id (a name can be reused by
 * another upload), size, and `md5Checksum@modifiedTime`; a new revision of the file (new bytes
 * under the same id) changes the checksum and the time. Pure.
 */
export function drivePartIdentity(
  file: Pick<DriveFileInfo, 'id' | 'size' | 'md5Checksum' | 'modifiedTime'>,
): PartIdentity {
  return {
    key: `${DRIVE_KEY}${file.id}`,
    size: file.size,
    version: `${file.md5Checksum ?? ''}@${file.modifiedTime ?? ''}`,
  };
}

/**
 * The summary's line for a Drive export that is fully processed: named by its timestamp and its
 * files as Drive shows them, and safe to delete there, since this source only reads. Pure.
 */
export function describeProcessedDriveExport(
  done: ProcessedExport,
  year: number,
  folderName: string,
): string {
  const first = done.names[0] ?? '';
  const last = done.names[done.names.length - 1] ?? '';
  const files = done.parts === 1 ? first : `${first} … ${last}, ${done.parts} parts`;
  return `Takeout export ${done.timestamp} in Google Drive (${files}, folder "${folderName}") is fully processed for ${year}: you may delete it from Drive to free storage; photo-backup only reads it.`;
}

/**
 * The reader the listing reads a part through (its end records, directory, sidecars, album JSON),
 * before any item is saved: Drive's rate limit still answered after every retry ends the run as a
 * quota stop (exit 4, the next run continues), as the download quota does. Taken for a damaged
 * part, the run would go on without the sidecars and album JSON it holds, which date and name
 * other parts' photos, and tell the user to download a sound part again. An entry's body is read
 * through a reader of its own: there a rate limit fails that item alone.
 */
function listingReader(reader: RandomAccessReader, file: { name: string }): RandomAccessReader {
  return withFailures(reader, (error) => (isRateLimit(error) ? listingRateLimitError(file, error) : error));
}

export function createDriveSource(options: DriveSourceOptions): TakeoutSource {
  const folderName = options.folderName ?? TAKEOUT_FOLDER;
  return createTakeoutSource({
    name: 'drive',
    inputs: [`Google Drive folder ${folderName}`],
    timeZone: options.timeZone,
    ...(options.year !== undefined ? { year: options.year } : {}),
    ...(options.includeTrash !== undefined ? { includeTrash: options.includeTrash } : {}),
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    ...(options.onInfo ? { onInfo: options.onInfo } : {}),
    ...(options.memory ? { memory: options.memory } : {}),
    describeProcessed: (done, year) => describeProcessedDriveExport(done, year, folderName),
    ...(options.onProcessed ? { onProcessed: options.onProcessed } : {}),
    processedFile: (key, name) => ({ name, driveFileId: key.slice(DRIVE_KEY.length) }),
    findParts: async (findings, skipPart) => {
      const exports = await listTakeoutExports(options.api, { folderName });
      const parts: Part[] = [];
      const tgz: string[] = [];
      let found = 0;
      const names = new Set<string>();
      for (const { parts: files } of exports) {
        for (const file of files) {
          found++;
          // Drive lets two files share a name (a part uploaded twice): each is a part of its own,
          // remembered and named in messages apart, the second read as another export would be.
          const name = names.has(file.name) ? `${file.name} (Drive file ${file.id})` : file.name;
          names.add(file.name);
          // Finished by an earlier run and unchanged since: not one byte of it is asked for.
          if (await skipPart(name, drivePartIdentity(file))) continue;
          const kind = file.part.format === 'zip' ? 'zip' : 'tar';
          if (kind === 'tar') tgz.push(name);
          // The listing's reader checks the part's version once; its entries' bodies share a check.
          const entries = new VersionCheck(options.api, file);
          parts.push({
            file: name,
            kind,
            order: parts.length,
            files: [],
            open: async (use) =>
              use === 'entry'
                ? openDriveReader(options.api, file, { check: entries })
                : listingReader(openDriveReader(options.api, file), file),
          });
        }
      }
      if (found === 0) {
        throw usageError(
          `No Takeout exports (takeout-*.zip) in the Google Drive folder "${folderName}". Schedule a Google Photos export at takeout.google.com with "Add to Drive", or pass the folder they are in with --drive-folder "<name>".`,
        );
      }
      if (tgz.length > 0) {
        findings.warn(
          `${tgz.length} .tgz part(s) in Drive (first: ${tgz[0]}) are read whole, as a tgz has no index to read from. Choose .zip for your scheduled Takeout: then only what the year needs is read.`,
        );
      }
      return parts;
    },
  });
}
