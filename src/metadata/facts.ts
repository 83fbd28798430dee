/**
 * Pure: a source's own JSON about an item → ItemFacts for its XMP sidecar. The JSON is untrusted
 * (a Takeout sidecar can hold anything), so every field is checked and a wrong one is left out.
 *
 * Takeout sidecars carry the most (time, location, title, description, people, favourite); the
 * Library API and the Picker give the time, the camera and (Library only) the description.
 */
import type { ItemFacts, Location } from './xmp.ts';

/** What the pipeline decided for the item, which the sidecar must agree with. */
export interface FactsContext {
  /** The item's id (SourceItem.id). */
  id: string;
  /** The capture instant the day folder was chosen from; wins over the JSON's own time. */
  takenAt?: Date;
  /** Minutes east of UTC the day folder used (the item's own offset, or the --timezone offset at takenAt). */
  utcOffsetMinutes?: number;
}

export interface TakeoutFactsContext extends FactsContext {
  /** Album names of the album folders that hold a copy of the item (albumTitle of each). */
  albums?: readonly string[];
  /** The name on disk, the title when the sidecar has none. */
  filename?: string;
}

/**
 * Facts from a Takeout photo sidecar (`IMG_0042.jpg.supplemental-metadata.json`): `photoTakenTime`
 * (epoch seconds, UTC; `""` and `"0"` mean none), `geoData` (the location as Google shows it, a
 * user's edit included) before `geoDataExif` (the file's own), `title`, `description`,
 * `people[].name`, `favorited`. `creationTime` is the upload time, never the capture time.
 */
export function factsFromTakeout(sidecar: unknown, context: TakeoutFactsContext): ItemFacts {
  const json = isRecord(sidecar) ? sidecar : {};
  const facts: ItemFacts = { source: 'takeout', id: context.id };
  const takenAt = context.takenAt ?? takeoutTime(json.photoTakenTime);
  if (takenAt) facts.takenAt = takenAt;
  if (context.utcOffsetMinutes !== undefined) facts.utcOffsetMinutes = context.utcOffsetMinutes;
  const location = takeoutLocation(json.geoData) ?? takeoutLocation(json.geoDataExif);
  if (location) facts.location = location;
  const title = text(json.title) ?? text(context.filename);
  if (title) facts.title = title;
  const description = text(json.description);
  if (description) facts.description = description;
  const people = Array.isArray(json.people)
    ? json.people.map((person) => (isRecord(person) ? text(person.name) : undefined))
    : [];
  const named = people.filter((name): name is string => name !== undefined);
  if (named.length > 0) facts.people = named;
  const albums = (context.albums ?? []).filter((album) => text(album) !== undefined);
  if (albums.length > 0) facts.albums = albums;
  if (json.favorited === true) facts.favorite = true;
  return facts;
}

/**
 * An album's name from its folder's `metadata.json` (the file name is localized: `métadonnées.json`,
 * `Metadaten.json`…): `title`, or `albumData.title` in old exports; the folder name when the title
 * is empty (untitled albums) or the JSON unreadable.
 */
export function albumTitle(albumJson: unknown, folderName: string): string {
  const json = isRecord(albumJson) ? albumJson : {};
  const data = isRecord(json.albumData) ? json.albumData : json;
  return text(data.title) ?? folderName;
}

/** Facts from a Library API MediaItem: `mediaMetadata.creationTime` (RFC 3339), camera, `description`, `filename`. */
export function factsFromLibraryItem(item: unknown, context: FactsContext): ItemFacts {
  const json = isRecord(item) ? item : {};
  const metadata = isRecord(json.mediaMetadata) ? json.mediaMetadata : {};
  const camera = isRecord(metadata.photo) ? metadata.photo : isRecord(metadata.video) ? metadata.video : {};
  return apiFacts('library', context, {
    time: metadata.creationTime,
    filename: json.filename,
    description: json.description,
    make: camera.cameraMake,
    model: camera.cameraModel,
  });
}

/**
 * Facts from a Picker PickedMediaItem: `createTime`, `mediaFile.filename`,
 * `mediaFile.mediaFileMetadata.cameraMake/cameraModel`. A picked item has no description,
 * location or albums.
 */
export function factsFromPickedItem(item: unknown, context: FactsContext): ItemFacts {
  const json = isRecord(item) ? item : {};
  const file = isRecord(json.mediaFile) ? json.mediaFile : {};
  const metadata = isRecord(file.mediaFileMetadata) ? file.mediaFileMetadata : {};
  return apiFacts('picker', context, {
    time: json.createTime,
    filename: file.filename,
    description: undefined,
    make: metadata.cameraMake,
    model: metadata.cameraModel,
  });
}

function apiFacts(
  source: 'library' | 'picker',
  context: FactsContext,
  fields: { time: unknown; filename: unknown; description: unknown; make: unknown; model: unknown },
): ItemFacts {
  const facts: ItemFacts = { source, id: context.id };
  const takenAt = context.takenAt ?? rfc3339Time(fields.time);
  if (takenAt) facts.takenAt = takenAt;
  if (context.utcOffsetMinutes !== undefined) facts.utcOffsetMinutes = context.utcOffsetMinutes;
  putTexts(facts, {
    title: fields.filename,
    description: fields.description,
    cameraMake: fields.make,
    cameraModel: fields.model,
  });
  return facts;
}

type TextFact = 'title' | 'description' | 'cameraMake' | 'cameraModel';

/** Sets each fact whose value is a non-empty text; the others stay unset. */
function putTexts(facts: ItemFacts, values: Partial<Record<TextFact, unknown>>): void {
  for (const key of ['title', 'description', 'cameraMake', 'cameraModel'] as const) {
    const value = text(values[key]);
    if (value) facts[key] = value;
  }
}

/** `{ "timestamp": "1735732396" }`: whole epoch seconds as a string or a number; `""` and `"0"` are none. */
function takeoutTime(value: unknown): Date | undefined {
  if (!isRecord(value)) return undefined;
  const { timestamp } = value;
  const seconds =
    typeof timestamp === 'number'
      ? timestamp
      : typeof timestamp === 'string' && /^-?\d{1,12}$/.test(timestamp)
        ? Number(timestamp)
        : Number.NaN;
  if (!Number.isSafeInteger(seconds) || seconds === 0) return undefined;
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** google-datetime: RFC 3339 with an offset or `Z` (`2024-03-17T13:05:09.123Z`). */
function rfc3339Time(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.test(value)) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * `{ latitude, longitude, altitude }` in degrees and metres. `(0, 0)` means no location (ente
 * `parseGTLocation`, gpth Neo). Google writes altitude 0.0 when it has none (a location set on the
 * map has no altitude), so 0 is left out rather than claimed as sea level.
 */
function takeoutLocation(value: unknown): Location | undefined {
  if (!isRecord(value)) return undefined;
  const { latitude, longitude, altitude } = value;
  if (typeof latitude !== 'number' || typeof longitude !== 'number') return undefined;
  if (!Number.isFinite(latitude) || !Number.isFinite(longitude)) return undefined;
  if (Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return undefined;
  if (latitude === 0 && longitude === 0) return undefined;
  return typeof altitude === 'number' && Number.isFinite(altitude) && altitude !== 0
    ? { latitude, longitude, altitude }
    : { latitude, longitude };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The facts a record keeps in its `metadata` for a later `--xmp` run, which reads nothing else:
 * the original name, description, location, people, albums, favourite and camera. Written by the
 * sources (SourceItem.metadata) beside their own keys.
 */
export function metadataOfFacts(facts: ItemFacts): Record<string, unknown> {
  const metadata: Record<string, unknown> = {};
  if (facts.title !== undefined) metadata.title = facts.title;
  if (facts.description !== undefined) metadata.description = facts.description;
  if (facts.location) metadata.location = facts.location;
  if (facts.people && facts.people.length > 0) metadata.people = [...facts.people];
  if (facts.albums && facts.albums.length > 0) metadata.albums = [...facts.albums];
  if (facts.favorite !== undefined) metadata.favorited = facts.favorite;
  if (facts.cameraMake !== undefined) metadata.cameraMake = facts.cameraMake;
  if (facts.cameraModel !== undefined) metadata.cameraModel = facts.cameraModel;
  return metadata;
}

/** What factsFromRecord reads of a record line (manifest.ts SavedRecord). */
export interface RecordedItem {
  id: string;
  source: string;
  takenAt?: unknown;
  utcOffsetMinutes?: unknown;
  metadata?: unknown;
}

/**
 * The facts of a saved item from its record alone. The record is a file anyone can edit, so each
 * field is checked as the sources' JSON is. `utcOffsetMinutes` is the offset the day folder used;
 * records written before it was kept get `fallbackOffset` (the --timezone offset at the instant).
 */
export function factsFromRecord(record: RecordedItem, fallbackOffset: (takenAt: Date) => number): ItemFacts {
  const source = record.source === 'library' || record.source === 'picker' ? record.source : 'takeout';
  const facts: ItemFacts = { source, id: record.id };
  const takenAt = typeof record.takenAt === 'string' ? new Date(record.takenAt) : undefined;
  if (takenAt && !Number.isNaN(takenAt.getTime())) {
    facts.takenAt = takenAt;
    const offset = record.utcOffsetMinutes;
    facts.utcOffsetMinutes =
      typeof offset === 'number' && Number.isInteger(offset) && Math.abs(offset) <= 18 * 60
        ? offset
        : fallbackOffset(takenAt);
  }
  const json = isRecord(record.metadata) ? record.metadata : {};
  putTexts(facts, {
    title: json.title,
    description: json.description,
    cameraMake: json.cameraMake,
    cameraModel: json.cameraModel,
  });
  // Checked as a Takeout one: records written before this step kept Google's altitude 0 (none).
  const location = takeoutLocation(json.location);
  if (location) facts.location = location;
  const people = texts(json.people);
  if (people.length > 0) facts.people = people;
  const albums = texts(json.albums);
  if (albums.length > 0) facts.albums = albums;
  if (json.favorited === true) facts.favorite = true;
  return facts;
}

function texts(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((entry): entry is string => text(entry) !== undefined) : [];
}
