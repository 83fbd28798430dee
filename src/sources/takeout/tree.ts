/**
 * Pure decisions about the merged Takeout tree: which entry paths are safe, which JSON is a photo
 * sidecar or an album, where the Google Photos folder is (by content: its name is localized, "Google
 * Fotos", "Google Photos"…), and what each top-level folder is (year, album, Archive, Trash…).
 */

import { isRecord } from './dates.ts';

export type EntryPathCheck = { ok: true; path: string } | { ok: false; reason: string };

/**
 * Normalizes an archive entry path and refuses the ones that would escape the output folder if
 * extracted ("zip slip"): `..` segments, absolute paths, drive letters, NUL bytes.
 */
export function checkEntryPath(raw: string): EntryPathCheck {
  if (raw.includes('\0')) return { ok: false, reason: 'it contains a NUL byte' };
  const slashed = raw.replace(/\\/g, '/');
  if (slashed.startsWith('/')) return { ok: false, reason: 'it is an absolute path' };
  if (/^[A-Za-z]:/.test(slashed)) return { ok: false, reason: 'it starts with a drive letter' };
  const segments = slashed.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..')) return { ok: false, reason: 'it climbs out of the archive with ".."' };
  return { ok: true, path: segments.join('/') };
}

export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === -1 ? '' : path.slice(0, slash);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export type JsonKind = 'photo' | 'album' | 'other';

/** immich-go `json.go` isAsset/isAlbum: by content, never by file name (album JSON names are localized). */
export function classifyJson(content: unknown): JsonKind {
  if (!isRecord(content)) return 'other';
  if (isRecord(content.photoTakenTime)) return 'photo';
  if (typeof content.title === 'string' && ('url' in content || isRecord(content.creationTime)))
    return 'photo';
  if (isRecord(content.albumData)) return 'album';
  if (typeof content.title === 'string') return 'album';
  return 'other';
}

/** A sidecar's place, from `geoDataExif` or `geoData`. */
export interface JsonLocation {
  latitude: number;
  longitude: number;
  altitude?: number;
}

/**
 * What the Takeout source uses of a JSON file, taken from the parsed object at once so the rest
 * of it (`formatted` dates, `url`, `imageViews`, origin…) is not kept for every photo while the
 * archive is listed (docs/performance.md has the figure).
 */
export interface JsonFacts {
  kind: JsonKind;
  /** Photo sidecars only, from here on. */
  title?: string;
  /**
   * Google's id of the photo, from the sidecar's `url` (`https://photos.google.com/photo/<id>`):
   * the same in every export, where the path is not (same-named files are numbered per export,
   * and a date edit can move the photo to another year folder).
   */
  photoId?: string;
  /** `photoTakenTime.timestamp` as written (usually a string); parsed by dates.ts when needed. */
  takenTime?: string | number;
  location?: JsonLocation;
  /** Non-empty only. */
  description?: string;
  /** The names in `people[]`, non-empty only (for XMP's PersonInImage). */
  people?: readonly string[];
  archived?: true;
  favorited?: true;
  trashed?: true;
}

const ALBUM_FACTS: JsonFacts = Object.freeze({ kind: 'album' });
const OTHER_FACTS: JsonFacts = Object.freeze({ kind: 'other' });

/** At most this many people of a sidecar are kept, each name at most this long (XMP PersonInImage). */
const MAX_PEOPLE = 100;
const MAX_PERSON_NAME = 200;

/** The facts of one parsed JSON file; only a photo sidecar carries more than its kind. */
export function jsonFactsOf(content: unknown): JsonFacts {
  const kind = classifyJson(content);
  if (kind === 'album') {
    // The album's name as Google shows it (`title`, or `albumData.title` in old exports), for --albums.
    const data = isRecord(content) && isRecord(content.albumData) ? content.albumData : content;
    const title =
      isRecord(data) && typeof data.title === 'string' && data.title !== '' ? data.title : undefined;
    return title === undefined ? ALBUM_FACTS : { kind, title };
  }
  if (kind === 'other' || !isRecord(content)) return OTHER_FACTS;
  const title = typeof content.title === 'string' ? content.title : undefined;
  const photoId = photoIdOf(content.url);
  const stamp = isRecord(content.photoTakenTime) ? content.photoTakenTime.timestamp : undefined;
  const taken = typeof stamp === 'string' || typeof stamp === 'number' ? stamp : undefined;
  // A sidecar's usual three named at once, so they live in the object itself: added one by one
  // they went to a property array of their own (about 40 bytes a sidecar, kept while listing).
  let facts: JsonFacts;
  if (title !== undefined && photoId !== undefined && taken !== undefined) {
    facts = { kind, title, photoId, takenTime: taken };
  } else {
    facts = { kind };
    if (title !== undefined) facts.title = title;
    if (photoId !== undefined) facts.photoId = photoId;
    if (taken !== undefined) facts.takenTime = taken;
  }
  // `geoData` is the location as Google Photos shows it, a user's edit included; `geoDataExif` the camera's.
  const location = locationOf(content.geoData) ?? locationOf(content.geoDataExif);
  if (location) facts.location = location;
  if (typeof content.description === 'string' && content.description !== '')
    facts.description = content.description;
  if (Array.isArray(content.people)) {
    // A bounded list: Google tags faces, a photo shows some dozens at most, while a damaged or
    // planted sidecar can list hundreds of thousands (megabytes each photo would keep to the end).
    const names: string[] = [];
    for (const person of content.people) {
      if (names.length >= MAX_PEOPLE) break;
      const name = isRecord(person) && typeof person.name === 'string' ? person.name : '';
      if (name.trim() !== '' && name.length <= MAX_PERSON_NAME) names.push(name);
    }
    if (names.length > 0) facts.people = names;
  }
  if (content.archived === true) facts.archived = true;
  if (content.favorited === true) facts.favorited = true;
  if (content.trashed === true) facts.trashed = true;
  return facts;
}

/**
 * The id in a sidecar's `url` when it is a photos.google.com photo page; an
 * `lh3.googleusercontent.com` address (seen in some exports, Xentraxx/GooglePhotosTakeoutHelper_Neo#122)
 * is a served copy, not an id, and gives none.
 */
export function photoIdOf(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  const found = /^https:\/\/photos\.google\.com\/photo\/([A-Za-z0-9_-]{1,200})\/?$/.exec(url);
  // Copied out of the address: a slice would keep the whole `url` alive with it (every record
  // keeps the id as evidence).
  return found?.[1] === undefined ? undefined : ownString(found[1]);
}

/**
 * `text` as a string of its own. V8 makes a slice of 13 characters or more a view that keeps
 * the whole string it was cut from: an id cut from an address, a key cut from an entry's path.
 */
export function ownString(text: string): string {
  return text.length < 13 ? text : (JSON.parse(JSON.stringify(text)) as string);
}

/** `(0, 0)` means "no location" (ente `parseGTLocation`, gpth Neo). */
function locationOf(value: unknown): JsonLocation | undefined {
  if (!isRecord(value)) return undefined;
  const { latitude, longitude, altitude } = value;
  if (typeof latitude !== 'number' || typeof longitude !== 'number') return undefined;
  if (latitude === 0 && longitude === 0) return undefined;
  return typeof altitude === 'number' ? { latitude, longitude, altitude } : { latitude, longitude };
}

/** Known product-folder names: a hint when a part holds media but none of its sidecars (the name is localized). */
const KNOWN_ROOT_NAMES = new Set(
  [
    'Google Photos',
    'Google Fotos',
    'Google Foto',
    'Fotky Google',
    'Google Фото',
    'Google Снимки',
    'Google Kuvat',
    'Google フォト',
    'Google Fotoğraflar',
    'Google 相册',
    'Google 相簿',
  ].map((name) => name.normalize('NFC').toLowerCase()),
);

function fold(text: string): string {
  return text.normalize('NFC').toLowerCase();
}

/**
 * The root a photo sidecar implies: sidecars sit in `<root>/<folder>/`. A root must be the top of
 * a part or a child of a `Takeout` folder, so a stray sidecar deep inside Drive does not count.
 */
export function rootOfSidecar(sidecarPath: string): string | undefined {
  const folder = parentOf(sidecarPath);
  if (folder === '') return undefined;
  const root = parentOf(folder);
  if (root === '') return '';
  const above = parentOf(root);
  if (above === '' || fold(baseName(above)) === 'takeout') return root;
  return undefined;
}

/**
 * Chooses the Photos root names from the roots sidecars imply (all parts together): the known
 * localized names found, else the name holding the most sidecars.
 */
export function chooseRootNames(sidecarCounts: ReadonlyMap<string, number>): Set<string> {
  const names = new Map<string, number>();
  for (const [root, count] of sidecarCounts) {
    const name = fold(baseName(root));
    names.set(name, (names.get(name) ?? 0) + count);
  }
  const known = [...names.keys()].filter((name) => KNOWN_ROOT_NAMES.has(name));
  if (known.length > 0) return new Set(known);
  let best: string | undefined;
  for (const [name, count] of names) if (best === undefined || count > (names.get(best) ?? 0)) best = name;
  return new Set(best === undefined ? [] : [best]);
}

/**
 * Photos root names told by the folder structure alone, for a Takeout whose sidecars were all
 * removed (by another tool): a known product-folder name at the top of a part or under
 * `Takeout/`, or any folder under `Takeout/` that holds year folders (`Photos from 2024`).
 */
export function rootNamesFromFolders(paths: Iterable<string>): Set<string> {
  const names = new Set<string>();
  for (const path of paths) {
    const segments = path.split('/');
    for (let index = 0; index < segments.length - 1; index++) {
      const name = fold(segments[index] as string);
      const underTakeout = index > 0 && fold(segments[index - 1] as string) === 'takeout';
      if (KNOWN_ROOT_NAMES.has(name) && (index === 0 || underTakeout)) names.add(name);
      const child = segments[index + 1] as string;
      if (underTakeout && index + 2 < segments.length && classifyFolder(child, false) === 'year')
        names.add(name);
    }
  }
  return names;
}

/**
 * The path inside the Photos root for an entry of one part, or undefined when it lies outside.
 * `partRoots` are the roots found in this part by content; `rootNames` (folded) also place entries
 * of parts that hold no sidecar of their own (a photo in -004, its sidecar in -003: immich-go#380).
 */
export function pathInsideRoot(
  path: string,
  partRoots: ReadonlySet<string>,
  rootNames: ReadonlySet<string>,
): string | undefined {
  let best: string | undefined;
  for (const root of partRoots) {
    const inside = root === '' || path.startsWith(`${root}/`);
    if (inside && (best === undefined || root.length > best.length)) best = root;
  }
  if (best === undefined) {
    const segments = path.split('/');
    for (let index = 0; index < segments.length - 1; index++) {
      const segment = segments[index] as string;
      if (!rootNames.has(fold(segment))) continue;
      if (index === 0 || fold(segments[index - 1] as string) === 'takeout') {
        best = segments.slice(0, index + 1).join('/');
        break;
      }
    }
  }
  if (best === undefined) return undefined;
  return (best === '' ? path : path.slice(best.length + 1)).normalize('NFC');
}

export type FolderKind = 'year' | 'album' | 'archive' | 'trash' | 'locked' | 'failed-videos' | 'root';

// Localized special folders: gpth Neo `constants.dart`, immich-go docs, TakeoutExtractor#20 (`Bin`).
const TRASH_NAMES = [
  'trash',
  'bin',
  'corbeille',
  'papelera',
  'lixeira',
  'cestino',
  'papierkorb',
  'prullenbak',
  'корзина',
  'kosz',
  '回收站',
  'ゴミ箱',
  'paperera',
  'roskakori',
];
const ARCHIVE_NAMES = [
  'archive',
  'archivo',
  'arquivo',
  'archivio',
  'archiv',
  'archief',
  'архив',
  'archiwum',
  '档案',
  'アーカイブ',
  'arxiu',
];
const LOCKED_NAMES = ['locked folder', 'carpeta privada'];
const FAILED_VIDEO_NAMES = ['failed videos'];

/**
 * Classifies a top-level folder of the Photos root. An album JSON in the folder makes it an album
 * whatever its name (an album can be called "Trip 2019" or "Bin"). Year folders are recognised in
 * any language by a lone year (`Photos from 2024`, `Fotos von 2024`, `2019 yılına ait fotoğraflar`).
 */
export function classifyFolder(name: string, hasAlbumJson: boolean): FolderKind {
  if (hasAlbumJson) return 'album';
  const folded = fold(name).trim();
  if (TRASH_NAMES.includes(folded)) return 'trash';
  if (ARCHIVE_NAMES.includes(folded)) return 'archive';
  if (LOCKED_NAMES.includes(folded)) return 'locked';
  if (FAILED_VIDEO_NAMES.includes(folded)) return 'failed-videos';
  const years = folded.match(/(?<!\d)(?:18|19|20)\d\d(?!\d)/g);
  if (years?.length === 1 && !/\d/.test(folded.replace(years[0] as string, '')) && folded.length <= 48) {
    return 'year';
  }
  return 'album';
}
