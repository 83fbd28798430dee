/**
 * Takeout exports found in Google Drive by Takeout's own naming: every part of one export is
 * `takeout-<UTC timestamp>-<n>.zip` (or `.tgz`) in the folder Takeout delivers to (`Takeout`),
 * the timestamp the same for all parts of one export. Incremental exports only make sense in
 * order, so exports come oldest first, and each export's parts by number.
 */
import { usageError } from '../../errors.ts';
import { parseTakeoutPartName, type TakeoutPartName } from '../takeout/part-names.ts';
import { type DriveApi, type DriveFileInfo, quoteQuery } from './api.ts';

/** The folder scheduled Takeout exports are delivered to in Drive. */
export const TAKEOUT_FOLDER = 'Takeout';

export interface TakeoutExport {
  timestamp: string;
  time: Date;
  /** By part number. */
  parts: Array<DriveFileInfo & { part: TakeoutPartName }>;
}

/**
 * Groups Drive files into exports by timestamp, oldest first, each one's parts by number; files
 * that are not Takeout parts are left out. The same part found twice (two folders) is kept once,
 * by id. Pure.
 */
export function groupTakeoutExports(files: readonly DriveFileInfo[]): TakeoutExport[] {
  const byStamp = new Map<string, TakeoutExport>();
  const seen = new Set<string>();
  for (const file of files) {
    const part = parseTakeoutPartName(file.name);
    if (!part || seen.has(file.id)) continue;
    seen.add(file.id);
    let group = byStamp.get(part.timestamp);
    if (!group) {
      group = { timestamp: part.timestamp, time: part.time, parts: [] };
      byStamp.set(part.timestamp, group);
    }
    group.parts.push({ ...file, part });
  }
  const groups = [...byStamp.values()];
  for (const group of groups) {
    group.parts.sort(
      (a, b) => a.part.number - b.part.number || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
    );
  }
  groups.sort(
    (a, b) =>
      a.time.getTime() - b.time.getTime() ||
      (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0),
  );
  return groups;
}

/**
 * The Takeout exports in the Drive folder(s) named `folderName` (default `Takeout`). A name no
 * folder has is a usage error that names it and says what to pass.
 */
export async function listTakeoutExports(
  api: DriveApi,
  options: { folderName?: string; signal?: AbortSignal } = {},
): Promise<TakeoutExport[]> {
  const folderName = options.folderName ?? TAKEOUT_FOLDER;
  const folders = await api.findFolders(folderName, options.signal);
  if (folders.length === 0) {
    throw usageError(
      `No folder named "${folderName}" in your Google Drive. Scheduled Takeout exports delivered to Drive land in a folder named "${TAKEOUT_FOLDER}"; ` +
        'if yours are elsewhere, pass that folder\'s name with --drive-folder "<name>".',
    );
  }
  const files: DriveFileInfo[] = [];
  for (const folder of folders) {
    const q = `${quoteQuery(folder.id)} in parents and name contains 'takeout-' and trashed = false`;
    for await (const file of api.listFiles({
      q,
      orderBy: 'name',
      ...(options.signal ? { signal: options.signal } : {}),
    }))
      files.push(file);
  }
  return groupTakeoutExports(files);
}
