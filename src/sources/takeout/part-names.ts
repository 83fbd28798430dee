/**
 * Takeout's own naming of an export's parts: every part of one export is
 * `takeout-<UTC timestamp>-<n>.zip` (or `.tgz`), the timestamp the same for all parts of one
 * export. Shared by the local Takeout source (which says which exports are fully processed) and the
 * Drive source (which finds exports by it).
 */

export interface TakeoutPartName {
  /** `20260115T101530Z`: the export's identity. */
  timestamp: string;
  /** The instant it names. */
  time: Date;
  /** 1 for `-001`. */
  number: number;
  format: 'zip' | 'tgz';
}

/**
 * `takeout-20260115T101530Z-001.zip` → its parts. Takeout sometimes puts one more number before the
 * part's (`takeout-20260115T101530Z-3-001.zip`), which is taken as part of the export's name. Pure.
 */
export function parseTakeoutPartName(name: string): TakeoutPartName | undefined {
  const match = /^takeout-(\d{8}T\d{6}Z)-(?:(\d+)-)?(\d+)\.(zip|tgz)$/i.exec(name);
  if (!match?.[1] || !match[3] || !match[4]) return undefined;
  const stamp = match[1];
  const iso = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`;
  const time = new Date(iso);
  if (Number.isNaN(time.getTime())) return undefined;
  return {
    timestamp: match[2] ? `${stamp}-${match[2]}` : stamp,
    time,
    number: Number(match[3]),
    format: match[4].toLowerCase() === 'tgz' ? 'tgz' : 'zip',
  };
}
