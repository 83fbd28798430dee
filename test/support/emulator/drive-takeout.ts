/**
 * Takeout exports delivered to the emulator's Drive, built from its generated items: a full export
 * followed by incremental ones, each split into parts named the way Takeout names them
 * (`takeout-<UTC timestamp>-<n>.zip`) in a folder named `Takeout`. Each photo comes with its
 * `.supplemental-metadata.json` sidecar; a part is cut between entries, so a photo and its sidecar
 * may land in different parts as they do in real exports. Test-only: --demo does not need it yet.
 */
import { contentBuffer, type EmulatorItem } from '../../../src/emulator/items.ts';
import { buildZip, makeAlbumJson, makeSidecar, type ZipEntryOptions } from '../../helpers/takeout-builder.ts';
import type { DriveFile, Emulator } from './index.ts';

export interface TakeoutExportSpec {
  /** When Takeout made the export (its name carries it, to the second, in UTC). */
  time: Date;
  items: readonly EmulatorItem[];
  /** Items edited in Google Photos since an earlier export: an incremental export holds them again. */
  edits?: readonly TakeoutEdit[];
}

/**
 * An item edited in Google Photos after an earlier export, as a later incremental export holds
 * it: "each later export only [holds] media uploaded, backed up, created or edited since the last
 * successful export" (Google's announcement of incremental Takeout for Photos, 2026). Its sidecar
 * carries the same `url` (the photo's page, Google's id) with the edited facts: `photoTakenTime`
 * includes date edits made in the Google Photos UI while the file's own EXIF is not updated
 * (mattwilson1024/google-photos-exif README, "the embedded metadata is not updated if the dates
 * are updated using the Google Photos UI"). New pixels come as a second file named
 * `<name>-edited.<ext>` beside the unchanged original, with no sidecar of its own: it uses the
 * original's (photoprism/photoprism#2133; mattwilson1024/google-photos-exif README).
 */
export interface TakeoutEdit {
  item: EmulatorItem;
  /** The date the user gave it. */
  takenAt?: Date;
  location?: { latitude: number; longitude: number };
  description?: string;
  /** The edited version's bytes (a crop, a filter). */
  pixels?: Buffer;
}

/** Google's photo page of an emulator item: the `url` its sidecars carry in every export. */
export function photoUrlOf(item: EmulatorItem): string {
  return `https://photos.google.com/photo/${item.id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

export interface DriveExport {
  /** `20260115T101530Z`. */
  timestamp: string;
  parts: DriveFile[];
  /** The archive entries in order, for checking what a reader finds. */
  entries: ZipEntryOptions[];
}

/** `2026-01-15T10:15:30.123Z` → `20260115T101530Z`, Takeout's timestamp in its part names. */
export function takeoutTimestamp(time: Date): string {
  return time
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** The archive entries of one export: an album, then each item and its sidecar, then the edited items. */
export function exportEntries(
  items: readonly EmulatorItem[],
  edits: readonly TakeoutEdit[] = [],
): ZipEntryOptions[] {
  const entries: ZipEntryOptions[] = [
    {
      name: 'Takeout/archive_browser.html',
      data: '<!doctype html><title>Takeout</title>\n',
      method: 'store',
    },
  ];
  const years = new Set<string>();
  const used = new Map<string, number>();
  const listed: { item: EmulatorItem; edit?: TakeoutEdit }[] = [
    ...items.map((item) => ({ item })),
    ...edits.map((edit) => ({ item: edit.item, edit })),
  ];
  for (const { item, edit } of listed) {
    const taken = String(Math.floor((edit?.takenAt?.getTime() ?? Date.parse(item.creationTime)) / 1000));
    // The year folder follows the date Google Photos shows, an edited one included.
    const year = edit?.takenAt ? String(edit.takenAt.getUTCFullYear()) : item.creationTime.slice(0, 4);
    const folder = `Takeout/Google Photos/Photos from ${year}`;
    if (!years.has(year)) {
      years.add(year);
      entries.push({
        name: `${folder}/metadata.json`,
        data: makeAlbumJson(`Photos from ${year}`),
        method: 'store',
      });
    }
    // Same-named files in one folder are numbered, the photo as `IMG(1).jpg`, its sidecar as
    // `IMG.jpg.supplemental-metadata(1).json`.
    const seen = used.get(`${folder}/${item.filename}`) ?? 0;
    used.set(`${folder}/${item.filename}`, seen + 1);
    const dot = item.filename.lastIndexOf('.');
    const suffix = seen === 0 ? '' : `(${seen})`;
    const name =
      dot < 0
        ? `${item.filename}${suffix}`
        : `${item.filename.slice(0, dot)}${suffix}${item.filename.slice(dot)}`;
    entries.push({ name: `${folder}/${name}`, data: contentBuffer(item), method: 'store' });
    const description = edit?.description ?? item.description;
    entries.push({
      name: `${folder}/${item.filename}.supplemental-metadata${suffix}.json`,
      data: makeSidecar({
        title: item.filename,
        photoTakenTime: taken,
        creationTime: String(Math.floor(Date.parse(item.creationTime) / 1000)),
        url: photoUrlOf(item),
        ...(description ? { description } : {}),
        ...(edit?.location ? { geoData: edit.location } : {}),
      }),
      method: 'store',
    });
    if (edit?.pixels) {
      const edited =
        dot < 0
          ? `${item.filename}-edited${suffix}`
          : `${item.filename.slice(0, dot)}-edited${suffix}${item.filename.slice(dot)}`;
      entries.push({ name: `${folder}/${edited}`, data: edit.pixels, method: 'store' });
    }
  }
  return entries;
}

/** Splits entries into parts of about `partBytes` of data each (never an empty part). */
export function splitByBytes(entries: readonly ZipEntryOptions[], partBytes: number): ZipEntryOptions[][] {
  const parts: ZipEntryOptions[][] = [[]];
  let size = 0;
  for (const entry of entries) {
    const length = typeof entry.data === 'string' ? Buffer.byteLength(entry.data) : entry.data.length;
    const current = parts[parts.length - 1] as ZipEntryOptions[];
    if (current.length > 0 && size + length > partBytes) {
      parts.push([entry]);
      size = length;
    } else {
      current.push(entry);
      size += length;
    }
  }
  return parts;
}

/**
 * Puts the exports into the emulator's Drive, in a folder (default `Takeout`) under the root,
 * and returns them oldest first. Parts of one export share its timestamp; n counts from 001.
 */
export function putTakeoutExports(
  emulator: Emulator,
  exports: readonly TakeoutExportSpec[],
  options: {
    partBytes?: number;
    folderName?: string;
    parent?: string;
    /** Adds to this folder (a later export arriving where Takeout put the first). */
    folderId?: string;
  } = {},
): { folderId: string; exports: DriveExport[] } {
  const folder =
    options.folderId !== undefined
      ? { id: options.folderId }
      : emulator.drive.add({
          name: options.folderName ?? 'Takeout',
          parents: [options.parent ?? 'root'],
        });
  const made: DriveExport[] = [];
  for (const spec of exports) {
    const timestamp = takeoutTimestamp(spec.time);
    const entries = exportEntries(spec.items, spec.edits);
    const parts = splitByBytes(entries, options.partBytes ?? Number.POSITIVE_INFINITY).map(
      (partEntries, index) =>
        emulator.drive.add({
          name: `takeout-${timestamp}-${String(index + 1).padStart(3, '0')}.zip`,
          mimeType: 'application/x-zip-compressed',
          parents: [folder.id],
          content: buildZip(partEntries),
          createdTime: spec.time.toISOString(),
        }),
    );
    made.push({ timestamp, parts, entries });
  }
  return { folderId: folder.id, exports: made };
}

const DAY_MS = 86_400_000;

/**
 * A scheduled Takeout's exports of `items`: the first (full) export holds the older half of the
 * library, each later (incremental) one an equal share of what came after, every two months
 * from `first`. Oldest first, as Takeout makes them.
 */
export function incrementalExports(
  items: readonly EmulatorItem[],
  count: number,
  first: Date,
): TakeoutExportSpec[] {
  const sorted = [...items].sort((a, b) => Date.parse(a.creationTime) - Date.parse(b.creationTime));
  if (count <= 1) return [{ time: first, items: sorted }];
  const full = Math.ceil(sorted.length / 2);
  const share = Math.ceil((sorted.length - full) / (count - 1));
  const specs: TakeoutExportSpec[] = [{ time: first, items: sorted.slice(0, full) }];
  for (let index = 1; index < count; index++) {
    const from = full + (index - 1) * share;
    specs.push({
      time: new Date(first.getTime() + index * 61 * DAY_MS),
      items: sorted.slice(from, from + share),
    });
  }
  return specs;
}
