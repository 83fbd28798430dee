/**
 * The catalog: what a Takeout holds, read before any item is listed. Parts are opened and their
 * entries listed (parts.ts, part-entries.ts), merged into one tree per export (export-trees.ts),
 * and each media file gets its entry: its sidecar matched in its folder, the original it belongs
 * to, its albums. No media byte is read here but what tgz pass 1 reads as it goes by.
 */

import { BackupError, usageError } from '../../errors.ts';
import { albumTitle } from '../../metadata/facts.ts';
import { type ExportTree, groupExports, type TreeEntry } from './export-trees.ts';
import { errorText, type Findings } from './findings.ts';
import { isLeftover, isMediaName } from './media-names.ts';
import { loadFolder, loadJsonFiles, loadTar, loadZip } from './part-entries.ts';
import type { PartIdentity } from './part-memory.ts';
import { findParts, type Part, type PartFile, type ReaderPool } from './parts.ts';
import {
  findOriginalMedia,
  indexMediaNames,
  type MatchMethod,
  matchSidecarsInFolder,
  type SidecarInfo,
} from './sidecar-match.ts';
import {
  baseName,
  chooseRootNames,
  classifyFolder,
  type FolderKind,
  type JsonFacts,
  ownString,
  parentOf,
  pathInsideRoot,
  rootNamesFromFolders,
  rootOfSidecar,
} from './tree.ts';

/** One media file to list, with what the catalog found about it. */
export interface CatalogEntry extends TreeEntry {
  /** The top folder inside the Photos folder ('' at its root). */
  folder: string;
  folderKind: FolderKind;
  /** `part`: where the sidecar is, which may be another part of the export than the media's. */
  sidecar?: { key: string; json: JsonFacts; method: MatchMethod; borrowed: boolean; part: Part };
  /** The still or unedited file this one belongs to (of the same export), when it has no sidecar of its own. */
  original?: CatalogEntry;
  /** An album folder's name as Google shows it (its metadata.json title, else the folder name). */
  albumName?: string;
  /** The names of the albums that hold this file (by name and size), for metadata.albums. */
  albums: readonly string[];
}

export interface Catalog {
  /** Zip and folder entries, read by offset in any order: year-folder copies first, then by path. */
  /** Emptied slot by slot as the items are handed on (list). */
  randomAccess: Array<CatalogEntry | undefined>;
  /** Each tgz part with its entries by ordinal, read in archive order. */
  tarParts: Array<{ part: Part; entries: Map<number, CatalogEntry> }>;
  /** Entries some other entry names as its `original`: only their dates are cached. */
  originals: Set<CatalogEntry>;
  /** Every part read (their files let go by now). */
  parts: Part[];
  /**
   * The parts holding each album folder's JSON (its title, and what makes the folder an album),
   * by top folder, over every export: they serve that folder's entries as a sidecar serves its photo.
   */
  albumJsonParts: Map<string, Set<Part>>;
}

export interface CatalogOptions {
  inputs: readonly string[];
  /**
   * Finds the parts instead of `inputs` on disk (Drive: each part a ranged reader); `inputs` name
   * them in messages. It asks `skipPart` about each part, with the part's identity, before it
   * hands the part on.
   */
  findParts?: (findings: Findings, skipPart: SkipPart) => Promise<Part[]>;
  includeTrash?: boolean;
  /** An archive to leave unopened (a part finished earlier): see part-memory.ts. */
  skipPart?: SkipPart;
}

/**
 * True for a part to leave unopened. `file` is the part's name as Part.file gives it; `identity`
 * what tells it is unchanged, for parts that are not local files (a local file's is read from disk).
 */
export type SkipPart = (file: string, identity?: PartIdentity) => Promise<boolean>;

/** Parts read over the network listed at once (each reads its sidecars 16 at a time). */
const REMOTE_PARTS_AT_ONCE = 8;

/** Shared by the entries of photos in no album (most of them), instead of an empty array each. */
const NO_ALBUMS: readonly string[] = Object.freeze([]);

export async function readCatalog(
  options: CatalogOptions,
  findings: Findings,
  pool: ReaderPool,
): Promise<Catalog> {
  let skipped = 0;
  const given = options.skipPart;
  const skipPart: SkipPart = async (file, identity) =>
    given !== undefined && (await given(file, identity)) && ++skipped > 0;
  const parts = options.findParts
    ? await options.findParts(findings, skipPart)
    : await findParts(options.inputs, findings, given && skipPart);
  /**
   * An expected failure that ends the run (a BackupError: Drive's download quota or rate limit, a
   * sign-in it refuses) met while listing a part: the part is sound, so it is not reported
   * damaged, and no part is listed after it: the run stops with that error, before any item.
   */
  let stop: BackupError | undefined;
  const load = async (part: Part) => {
    try {
      if (part.kind === 'zip') await loadZip(part, pool, findings);
      else if (part.kind === 'tar') await loadTar(part, findings);
      else await loadFolder(part, findings);
      if (part.kind !== 'tar') await loadJsonFiles(part, pool, findings);
    } catch (error) {
      part.files = [];
      if (error instanceof BackupError) {
        stop ??= error;
        return;
      }
      findings.problem(
        `${part.file}: ${errorText(error)}. This part was skipped; download it again from Google Takeout.`,
      );
    }
  };
  // A part read over the network (Drive) waits on round trips, not on the disk: its end records,
  // its directory, its sidecars. A few are listed at once, so the waits overlap; local parts one
  // after another, as the disk likes best.
  const remote = parts.filter((part) => part.open !== undefined);
  let next = 0;
  const worker = async () => {
    while (next < remote.length && !stop) await load(remote[next++] as Part);
  };
  await Promise.all(Array.from({ length: Math.min(REMOTE_PARTS_AT_ONCE, remote.length) }, worker));
  for (const part of parts) if (part.open === undefined && !stop) await load(part);
  if (stop) throw stop;

  // Photos roots, by content: the folders that hold photo sidecars, whatever their (localized) name.
  const sidecarCounts = new Map<string, number>();
  const rootsByPart = new Map<Part, Set<string>>();
  for (const part of parts) {
    const roots = new Set<string>();
    for (const file of part.files) {
      if (file.json?.kind !== 'photo' || isLeftover(file.path)) continue;
      const root = rootOfSidecar(file.path);
      if (root === undefined) continue;
      roots.add(root);
      sidecarCounts.set(root, (sidecarCounts.get(root) ?? 0) + 1);
    }
    rootsByPart.set(part, roots);
  }
  let rootNames = chooseRootNames(sidecarCounts);
  if (rootNames.size === 0) {
    // No photo sidecar anywhere (another tool removed them): the folders still tell the root.
    rootNames = rootNamesFromFolders(parts.flatMap((part) => part.files.map((file) => file.path)));
    if (rootNames.size > 0)
      findings.warn(
        'No JSON sidecars in this Takeout: it was recognised by its folders, and its files are dated from their own metadata or names.',
      );
  }
  for (const roots of rootsByPart.values()) {
    for (const root of roots) if (!rootNames.has(fold(baseName(root)))) roots.delete(root);
  }

  const exports = await groupExports(
    parts,
    (file) => pathInsideRoot(file.path, rootsByPart.get(file.part) ?? new Set(), rootNames),
    findings,
  );
  // The trees hold what is needed from here on; every other file (files outside the Photos
  // folder, and later the sidecars and album JSON) is let go instead of being kept by its part.
  for (const part of parts) part.files = [];
  if (exports.every((tree) => tree.size === 0) && skipped > 0 && findings.problems().length === 0) {
    // Every part that holds photos was finished by an earlier run: nothing to read.
    return { randomAccess: [], tarParts: [], originals: new Set(), parts, albumJsonParts: new Map() };
  }
  if (exports.every((tree) => tree.size === 0)) {
    const given = options.inputs.map((input) => `"${input}"`).join(', ');
    const problems = findings.problems();
    const detail = problems.length > 0 ? ` ${problems.join(' ')}` : '';
    throw usageError(
      `No Google Photos Takeout found in ${given}.${detail} Pass the takeout-*.zip or .tgz files from takeout.google.com (with Google Photos selected), or the folder you extracted them into.`,
    );
  }
  const entries: CatalogEntry[] = [];
  let failedVideos = 0;
  const albumJsonParts = new Map<string, Set<Part>>();
  for (const tree of exports)
    failedVideos += catalogExport(tree, options.includeTrash === true, entries, albumJsonParts);
  if (failedVideos > 0) {
    findings.warn(
      `${failedVideos} file(s) in "Failed Videos" skipped: Google could not process them (immich-go skips them too).`,
    );
  }
  linkAlbums(entries);

  // Year-folder copies first, so the saved file carries the year folder's name: an album's copy of
  // the same photo comes later and is recorded as a copy of it.
  const order = (entry: CatalogEntry) => (entry.folderKind === 'album' ? 1 : 0);
  const randomAccess = entries
    .filter((entry) => entry.copy.part.kind !== 'tar')
    .sort((a, b) => order(a) - order(b) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const tarParts: Catalog['tarParts'] = [];
  for (const part of parts) {
    if (part.kind !== 'tar') continue;
    const partEntries = new Map<number, CatalogEntry>();
    for (const entry of entries) if (entry.copy.part === part) partEntries.set(entry.copy.index, entry);
    if (partEntries.size > 0) tarParts.push({ part, entries: partEntries });
  }
  const originals = new Set<CatalogEntry>();
  for (const entry of entries) if (entry.original !== undefined) originals.add(entry.original);
  return { randomAccess, tarParts, originals, parts, albumJsonParts };
}

export function isTrashed(entry: CatalogEntry): boolean {
  const json = entry.sidecar && !entry.sidecar.borrowed ? entry.sidecar.json : undefined;
  return entry.folderKind === 'trash' || json?.trashed === true;
}

function fold(text: string): string {
  return text.normalize('NFC').toLowerCase();
}

/** The key album membership goes by: name and size, as immich-go links copies across folders. */
export function albumFileKey(entry: CatalogEntry): string {
  return `${fold(baseName(entry.key))}\u0000${entry.copy.size}`;
}

/** Album membership by (name, size), the key immich-go uses to link copies across folders. */
function linkAlbums(entries: readonly CatalogEntry[]): void {
  const albumsByFile = new Map<string, Set<string>>();
  const fileKey = albumFileKey;
  for (const entry of entries) {
    if (entry.folderKind !== 'album') continue;
    const albums = albumsByFile.get(fileKey(entry)) ?? new Set<string>();
    albums.add(entry.albumName ?? entry.folder);
    albumsByFile.set(fileKey(entry), albums);
  }
  for (const entry of entries) {
    const albums = albumsByFile.get(fileKey(entry));
    entry.albums = albums ? [...albums].sort() : NO_ALBUMS;
  }
}

/**
 * The entries of one export's merged tree, added to `entries`: sidecars matched per folder,
 * originals found in the same export. Returns how many Failed Videos were left out.
 */
function catalogExport(
  tree: ExportTree,
  includeTrash: boolean,
  entries: CatalogEntry[],
  albumJsonParts: Map<string, Set<Part>>,
): number {
  // Group by folder (keys and files side by side, no object per file); album JSON decides what a
  // top folder is.
  const folders = new Map<string, FolderFiles>();
  const albumFolders = new Set<string>();
  const albumNames = new Map<string, string>();
  for (const [key, copy] of tree) {
    const folder = parentOf(key);
    let group = folders.get(folder);
    if (!group) {
      group = { mediaKeys: [], media: [], sidecarKeys: [], sidecarJson: [], sidecarParts: [] };
      folders.set(folder, group);
    }
    const name = baseName(key);
    if (isMediaName(name)) {
      group.mediaKeys.push(key);
      group.media.push(copy);
    } else if (copy.json !== undefined) {
      const kind = copy.json.kind;
      if (kind === 'photo') {
        // What a sidecar's entry needs, not its file: its key as a string of its own (a slice
        // keeps its whole path in the archive), its facts and its part. Its file and path are let
        // go before the folder is matched (about 140 bytes a sidecar).
        group.sidecarKeys.push(ownString(key));
        group.sidecarJson.push(copy.json);
        group.sidecarParts.push(copy.part);
      }
      if (kind === 'album' && folder !== '') {
        const top = folder.split('/')[0] as string;
        albumFolders.add(top);
        const holders = albumJsonParts.get(top) ?? new Set<Part>();
        albumJsonParts.set(top, holders.add(copy.part));
        if (folder === top) albumNames.set(top, albumTitle(copy.json, top));
      }
    }
  }

  // Grouped: the folders hold every file from here on, and the tree's table is let go.
  tree.clear();
  const kept: CatalogEntry[] = [];
  const originals = new Map<CatalogEntry, string>();
  let failedVideos = 0;
  for (const [folder, group] of folders) {
    // Let go once matched: its sidecars' files are not needed by the folders after it.
    folders.delete(folder);
    const top = folder === '' ? '' : (folder.split('/')[0] as string);
    const folderKind: FolderKind = top === '' ? 'root' : classifyFolder(top, albumFolders.has(top));
    // Each name sliced once and shared by what matching holds (a folder may have 100,000).
    const sidecarNames = group.sidecarKeys.map((key) => baseName(key));
    const sidecarAt = new Map(sidecarNames.map((name, at) => [name, at]));
    const mediaNames = group.mediaKeys.map((key) => baseName(key));
    const matches = matchSidecarsInFolder(
      mediaNames,
      group.sidecarJson.map((json, at): SidecarInfo => {
        const name = sidecarNames[at] as string;
        return json.title === undefined ? { name } : { name, title: json.title };
      }),
    );
    // Only for media with no sidecar of their own (edits, Live/Motion parts): most folders need none.
    let mediaIndex: Map<string, string> | undefined;
    for (let at = 0; at < group.media.length; at++) {
      const name = mediaNames[at] as string;
      const match = matches.get(name);
      // Taken: each match is let go as its entry is made, while the entries add up.
      matches.delete(name);
      const sidecarIndex = match ? sidecarAt.get(match.sidecar) : undefined;
      // Every field named from the start, so each entry keeps its fields in itself: one added
      // later goes to an array of its own, about 40 bytes an entry.
      const entry: CatalogEntry = {
        key: group.mediaKeys[at] as string,
        copy: group.media[at] as PartFile,
        folder: top,
        folderKind,
        albums: NO_ALBUMS,
        albumName: undefined,
        sidecar: undefined,
        original: undefined,
      };
      if (folderKind === 'album') entry.albumName = albumNames.get(top) ?? top;
      if (match && sidecarIndex !== undefined) {
        entry.sidecar = {
          key: group.sidecarKeys[sidecarIndex] as string,
          json: group.sidecarJson[sidecarIndex] as JsonFacts,
          method: match.method,
          borrowed: match.borrowed,
          part: group.sidecarParts[sidecarIndex] as Part,
        };
      }
      if (!match || match.borrowed) {
        mediaIndex ??= indexMediaNames(mediaNames);
        const original = findOriginalMedia(name, mediaIndex);
        if (original !== undefined) originals.set(entry, folder === '' ? original : `${folder}/${original}`);
      }
      if (folderKind === 'failed-videos') {
        failedVideos += 1;
        continue;
      }
      if (isTrashed(entry) && !includeTrash) continue;
      kept.push(entry);
    }
  }
  // Keys are unique in a tree: entries by key only when some entry names an original.
  const byKey = originals.size === 0 ? undefined : new Map(kept.map((entry) => [entry.key, entry]));
  for (const entry of kept) {
    const original = originals.get(entry);
    const found = original === undefined ? undefined : byKey?.get(original);
    if (found) entry.original = found;
    entries.push(entry);
  }
  return failedVideos;
}

/** One folder's media and photo sidecars: their keys and files side by side. */
interface FolderFiles {
  mediaKeys: string[];
  media: PartFile[];
  sidecarKeys: string[];
  sidecarJson: JsonFacts[];
  sidecarParts: Part[];
}
