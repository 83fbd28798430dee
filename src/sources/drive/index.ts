/**
 * The Drive source: scheduled Takeout exports read in place from the user's Google Drive, never
 * downloaded whole. The exports in the Drive folder (default `Takeout`) are found by Takeout's own
 * naming (exports.ts), each zip part is opened as a ranged reader (reader.ts), and everything else
 * is the Takeout source's: catalog, sidecar matching across parts, dates, bodies. So only each
 * part's central directory, the sidecars and the entries the year needs are read. A .tgz part has
 * no directory: it is streamed whole, and a notice recommends zip.
 */

import { usageError } from '../../errors.ts';
import { createTakeoutSource, type TakeoutSource } from '../takeout/index.ts';
import type { Part } from '../takeout/parts.ts';
import type { DriveApi } from './api.ts';
import { listTakeoutExports, TAKEOUT_FOLDER } from './exports.ts';
import { openDriveReader } from './reader.ts';

export interface DriveSourceOptions {
  api: DriveApi;
  /** The Drive folder the exports are delivered to; `Takeout` by default. */
  folderName?: string;
  timeZone: string;
  /** The year being saved (TakeoutSourceOptions.year): other years' media are not read for dates. */
  year?: number;
  includeTrash?: boolean;
  onWarning?: (message: string) => void;
}

export function createDriveSource(options: DriveSourceOptions): TakeoutSource {
  const folderName = options.folderName ?? TAKEOUT_FOLDER;
  return createTakeoutSource({
    inputs: [`Google Drive folder ${folderName}`],
    timeZone: options.timeZone,
    ...(options.year !== undefined ? { year: options.year } : {}),
    ...(options.includeTrash !== undefined ? { includeTrash: options.includeTrash } : {}),
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    findParts: async (findings) => {
      const exports = await listTakeoutExports(options.api, { folderName });
      const parts: Part[] = [];
      const tgz: string[] = [];
      for (const found of exports) {
        for (const file of found.parts) {
          const kind = file.part.format === 'zip' ? 'zip' : 'tar';
          if (kind === 'tar') tgz.push(file.name);
          parts.push({
            file: file.name,
            kind,
            order: parts.length,
            files: [],
            open: async () => openDriveReader(options.api, file),
          });
        }
      }
      if (parts.length === 0) {
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
