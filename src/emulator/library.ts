/**
 * Photos Library API v1 (after 2025-03-31: only app-created items and albums): mediaItems.search
 * (by date or by album), list, get and batchGet, and albums.list, with Google's validation. Shapes from the discovery document (revision 20250220).
 *
 * Over 300 lines because Google's validation of a search (filters, page sizes, dates) is
 * copied answer for answer; it is one API's surface.
 */
import type { ServerResponse } from 'node:http';
import type { EmulatorItem } from './items.ts';
import {
  type GoogleError,
  googleError,
  invalidArgument,
  rpcCode,
  sendGoogleError,
  sendJson,
} from './responses.ts';

export interface LibraryContext {
  /** App-created items, newest first (ties by id). */
  newestFirst(): EmulatorItem[];
  item(id: string): EmulatorItem | undefined;
  baseUrl(item: EmulatorItem): string;
  /** Every album of the account, in the order the Albums tab shows them. */
  albums(): readonly EmulatorAlbum[];
}

/** An album of the emulated account. */
export interface EmulatorAlbum {
  id: string;
  title: string;
  /** Its items, in album order. */
  mediaItemIds: string[];
  /** Default true: since 31 March 2025 the Library API returns only albums the app created. */
  appCreated?: boolean;
}

/** MediaItem JSON exactly as the Library API sends it (width/height are int64 strings). */
export function toMediaItem(item: EmulatorItem, baseUrl: string): Record<string, unknown> {
  const mediaMetadata: Record<string, unknown> = {
    creationTime: item.creationTime,
    width: String(item.width ?? (item.kind === 'video' ? 1920 : 4032)),
    height: String(item.height ?? (item.kind === 'video' ? 1080 : 3024)),
  };
  const camera: Record<string, unknown> = {};
  if (item.cameraMake) camera.cameraMake = item.cameraMake;
  if (item.cameraModel) camera.cameraModel = item.cameraModel;
  if (item.kind === 'video') {
    mediaMetadata.video = { ...camera, fps: 30, status: item.videoStatus ?? 'READY' };
  } else {
    mediaMetadata.photo = {
      ...camera,
      focalLength: 6.81,
      apertureFNumber: 1.68,
      isoEquivalent: 100,
      exposureTime: '0.008s',
    };
  }
  const json: Record<string, unknown> = { id: item.id };
  if (item.description) json.description = item.description;
  json.productUrl = `https://photos.google.com/lr/photo/${item.id}`;
  json.baseUrl = baseUrl;
  json.mimeType = item.mimeType;
  json.mediaMetadata = mediaMetadata;
  json.filename = item.filename;
  return json;
}

interface ApiDate {
  year: number;
  month: number;
  day: number;
}

type Validated<T> = { ok: true; value: T } | { ok: false; error: GoogleError };

const invalidJson = (detail: string): GoogleError =>
  invalidArgument(`Invalid JSON payload received. ${detail}`);

function unknownFields(
  value: Record<string, unknown>,
  allowed: string[],
  path: string,
): GoogleError | undefined {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      return invalidJson(`Unknown name "${key}" at '${path}': Cannot find field.`);
    }
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** int32 fields accept JSON numbers or numeric strings. */
function toInt(value: unknown): number | undefined {
  if (value === undefined || value === null) return 0;
  const number = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  return typeof number === 'number' && Number.isInteger(number) ? number : undefined;
}

function parseDate(value: unknown, path: string): Validated<ApiDate> {
  if (!isObject(value)) return { ok: false, error: invalidJson(`Invalid value at '${path}'.`) };
  const unknown = unknownFields(value, ['year', 'month', 'day'], path);
  if (unknown) return { ok: false, error: unknown };
  const year = toInt(value.year);
  const month = toInt(value.month);
  const day = toInt(value.day);
  if (year === undefined || month === undefined || day === undefined) {
    return { ok: false, error: invalidJson(`Invalid value at '${path}' (TYPE_INT32).`) };
  }
  // "Unsupported: Setting all values to 0, only month to 0, or both day and year to 0 at the same time."
  const bad =
    year < 0 ||
    year > 9999 ||
    month < 0 ||
    month > 12 ||
    day < 0 ||
    day > 31 ||
    (year === 0 && month === 0 && day === 0) ||
    (month === 0 && day !== 0) ||
    (year === 0 && day === 0) ||
    (day > 0 && year > 0 && month > 0 && day > new Date(Date.UTC(year, month, 0)).getUTCDate());
  if (bad) return { ok: false, error: invalidArgument('The date is invalid.', path) };
  return { ok: true, value: { year, month, day } };
}

interface DateParts {
  year: number;
  month: number;
  day: number;
}

const partsCache = new WeakMap<EmulatorItem, DateParts | null>();

function partsOf(item: EmulatorItem): DateParts | undefined {
  let parts = partsCache.get(item);
  if (parts === undefined) {
    const time = Date.parse(item.creationTime);
    const date = new Date(time);
    parts = Number.isNaN(time)
      ? null
      : { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
    partsCache.set(item, parts);
  }
  return parts ?? undefined;
}

/** Filtered lists per query, per item list (paging a 50,000-item year must not filter it 500 times). */
const resultCache = new WeakMap<EmulatorItem[], Map<string, EmulatorItem[]>>();

function matchesDate(parts: DateParts, date: ApiDate): boolean {
  return (
    (date.year === 0 || date.year === parts.year) &&
    (date.month === 0 || date.month === parts.month) &&
    (date.day === 0 || date.day === parts.day)
  );
}

function rangeKey(date: ApiDate, end: boolean, withYear: boolean): number {
  const month = date.month || (end ? 12 : 1);
  const day = date.day || (end ? 31 : 1);
  return (withYear ? date.year * 10_000 : 0) + month * 100 + day;
}

function matchesRange(parts: DateParts, range: { start: ApiDate; end: ApiDate }): boolean {
  const withYear = range.start.year !== 0;
  const key = (withYear ? parts.year * 10_000 : 0) + parts.month * 100 + parts.day;
  return key >= rangeKey(range.start, false, withYear) && key <= rangeKey(range.end, true, withYear);
}

interface SearchQuery {
  pageSize: number;
  offset: number;
  ascending: boolean;
  dates: ApiDate[];
  ranges: { start: ApiDate; end: ApiDate }[];
  mediaType: 'ALL_MEDIA' | 'PHOTO' | 'VIDEO';
  favoritesOnly: boolean;
  /** Set: the items of this album, in album order (no filters allowed with it). */
  albumId?: string;
  /** What the page token is bound to. */
  signature: string;
}

function encodePageToken(offset: number, signature: string): string {
  return Buffer.from(JSON.stringify({ o: offset, s: signature }), 'utf8').toString('base64url');
}

function decodePageToken(token: string, signature: string): number | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      o?: unknown;
      s?: unknown;
    };
    if (typeof parsed.o !== 'number' || !Number.isInteger(parsed.o) || parsed.o < 0) return undefined;
    if (parsed.s !== signature) return undefined;
    return parsed.o;
  } catch {
    return undefined;
  }
}

function parsePageSize(value: unknown): Validated<number> {
  const size = toInt(value);
  if (size === undefined)
    return { ok: false, error: invalidJson("Invalid value at 'page_size' (TYPE_INT32).") };
  if (size < 0 || size > 100) {
    return { ok: false, error: invalidArgument('The page size must be between 0 and 100.', 'page_size') };
  }
  return { ok: true, value: size === 0 ? 25 : size };
}

const orderAscending = 'MediaMetadata.creation_time';
const orderDescending = 'MediaMetadata.creation_time desc';

/** Validates a SearchMediaItemsRequest the way Google does. */
export function parseSearch(body: unknown): Validated<SearchQuery> {
  if (!isObject(body)) return { ok: false, error: invalidJson('Expected an object.') };
  const topUnknown = unknownFields(body, ['albumId', 'pageSize', 'pageToken', 'filters', 'orderBy'], '');
  if (topUnknown) return { ok: false, error: topUnknown };
  const pageSize = parsePageSize(body.pageSize);
  if (!pageSize.ok) return pageSize;
  const filters = body.filters ?? {};
  if (!isObject(filters)) return { ok: false, error: invalidJson("Invalid value at 'filters'.") };
  let albumId: string | undefined;
  if (body.albumId !== undefined && body.albumId !== '') {
    // "Identifier of an album. If populated, lists all media items in specified album. Can't set
    // in conjunction with any filters." (SearchMediaItemsRequest, the discovery document)
    if (body.filters !== undefined) {
      return {
        ok: false,
        error: invalidArgument('Album ID cannot be set together with filters.', 'album_id'),
      };
    }
    if (typeof body.albumId !== 'string')
      return { ok: false, error: invalidJson("Invalid value at 'album_id' (TYPE_STRING).") };
    albumId = body.albumId;
  }
  const filterUnknown = unknownFields(
    filters,
    [
      'dateFilter',
      'contentFilter',
      'mediaTypeFilter',
      'featureFilter',
      'includeArchivedMedia',
      'excludeNonAppCreatedData',
    ],
    'filters',
  );
  if (filterUnknown) return { ok: false, error: filterUnknown };

  const dates: ApiDate[] = [];
  const ranges: { start: ApiDate; end: ApiDate }[] = [];
  const dateFilter = filters.dateFilter;
  if (dateFilter !== undefined) {
    if (!isObject(dateFilter))
      return { ok: false, error: invalidJson("Invalid value at 'filters.date_filter'.") };
    const unknown = unknownFields(dateFilter, ['dates', 'ranges'], 'filters.date_filter');
    if (unknown) return { ok: false, error: unknown };
    const rawDates = dateFilter.dates ?? [];
    const rawRanges = dateFilter.ranges ?? [];
    if (!Array.isArray(rawDates) || !Array.isArray(rawRanges)) {
      return { ok: false, error: invalidJson("Invalid value at 'filters.date_filter'.") };
    }
    if (rawDates.length > 5 || rawRanges.length > 5) {
      return { ok: false, error: invalidArgument('A date filter can contain at most 5 dates and 5 ranges.') };
    }
    for (const [index, raw] of rawDates.entries()) {
      const date = parseDate(raw, `filters.date_filter.dates[${index}]`);
      if (!date.ok) return date;
      dates.push(date.value);
    }
    for (const [index, raw] of rawRanges.entries()) {
      if (!isObject(raw))
        return { ok: false, error: invalidJson(`Invalid value at 'filters.date_filter.ranges[${index}]'.`) };
      const start = parseDate(raw.startDate, `filters.date_filter.ranges[${index}].start_date`);
      if (!start.ok) return start;
      const end = parseDate(raw.endDate, `filters.date_filter.ranges[${index}].end_date`);
      if (!end.ok) return end;
      const sameFormat =
        (start.value.year === 0) === (end.value.year === 0) &&
        (start.value.month === 0) === (end.value.month === 0) &&
        (start.value.day === 0) === (end.value.day === 0);
      if (!sameFormat) {
        return {
          ok: false,
          error: invalidArgument('The start and end dates of a range must use the same format.'),
        };
      }
      ranges.push({ start: start.value, end: end.value });
    }
  }

  let mediaType: SearchQuery['mediaType'] = 'ALL_MEDIA';
  const mediaTypeFilter = filters.mediaTypeFilter;
  if (mediaTypeFilter !== undefined) {
    if (!isObject(mediaTypeFilter) || !Array.isArray(mediaTypeFilter.mediaTypes)) {
      return { ok: false, error: invalidJson("Invalid value at 'filters.media_type_filter'.") };
    }
    const types = mediaTypeFilter.mediaTypes;
    if (types.length > 1) {
      return {
        ok: false,
        error: invalidArgument('Only one media type can be specified.', 'filters.media_type_filter'),
      };
    }
    const type = types[0] ?? 'ALL_MEDIA';
    if (type !== 'ALL_MEDIA' && type !== 'PHOTO' && type !== 'VIDEO') {
      return {
        ok: false,
        error: invalidJson(`Invalid value at 'filters.media_type_filter.media_types[0]', "${String(type)}".`),
      };
    }
    mediaType = type;
  }

  const contentFilter = filters.contentFilter;
  if (contentFilter !== undefined) {
    if (!isObject(contentFilter))
      return { ok: false, error: invalidJson("Invalid value at 'filters.content_filter'.") };
    for (const name of ['includedContentCategories', 'excludedContentCategories']) {
      const list = contentFilter[name] ?? [];
      if (!Array.isArray(list))
        return { ok: false, error: invalidJson("Invalid value at 'filters.content_filter'.") };
      if (list.length > 10) {
        return { ok: false, error: invalidArgument('At most 10 content categories can be specified.') };
      }
    }
  }

  let favoritesOnly = false;
  const featureFilter = filters.featureFilter;
  if (featureFilter !== undefined) {
    if (!isObject(featureFilter))
      return { ok: false, error: invalidJson("Invalid value at 'filters.feature_filter'.") };
    const features = featureFilter.includedFeatures ?? [];
    favoritesOnly = Array.isArray(features) && features.includes('FAVORITES');
  }

  let ascending = false;
  if (body.orderBy !== undefined && body.orderBy !== '') {
    // "The orderBy field only works when a dateFilter is used … No other filters are supported."
    if (dateFilter === undefined) {
      return {
        ok: false,
        error: invalidArgument('The orderBy field only works when a dateFilter is used.', 'order_by'),
      };
    }
    if (mediaTypeFilter !== undefined || contentFilter !== undefined || featureFilter !== undefined) {
      return {
        ok: false,
        error: invalidArgument(
          'The orderBy field can only be combined with dateFilter, includeArchivedMedia and excludeNonAppCreatedData.',
          'order_by',
        ),
      };
    }
    if (body.orderBy === orderAscending) ascending = true;
    else if (body.orderBy !== orderDescending) {
      return { ok: false, error: invalidArgument(`Invalid orderBy: ${String(body.orderBy)}`, 'order_by') };
    }
  }

  const signature = JSON.stringify({
    filters: body.filters ?? null,
    orderBy: body.orderBy ?? null,
    albumId: albumId ?? null,
  });
  let offset = 0;
  if (body.pageToken !== undefined && body.pageToken !== '') {
    const decoded =
      typeof body.pageToken === 'string' ? decodePageToken(body.pageToken, signature) : undefined;
    if (decoded === undefined) {
      return { ok: false, error: invalidArgument('The page token is invalid.', 'page_token') };
    }
    offset = decoded;
  }
  return {
    ok: true,
    value: {
      pageSize: pageSize.value,
      offset,
      ascending,
      dates,
      ranges,
      mediaType,
      favoritesOnly,
      ...(albumId !== undefined ? { albumId } : {}),
      signature,
    },
  };
}

/** One page of the search result. */
export function searchPage(ctx: LibraryContext, query: SearchQuery): Record<string, unknown> {
  const all = ctx.newestFirst();
  let cached = resultCache.get(all);
  if (!cached) {
    cached = new Map();
    resultCache.set(all, cached);
  }
  let items = cached.get(query.signature);
  if (!items) {
    items = query.albumId === undefined ? filterItems(all, query) : albumItems(ctx, query.albumId);
    if (cached.size > 100) cached.clear();
    cached.set(query.signature, items);
  }
  const page = items.slice(query.offset, query.offset + query.pageSize);
  const result: Record<string, unknown> = {};
  if (page.length > 0) result.mediaItems = page.map((item) => toMediaItem(item, ctx.baseUrl(item)));
  const next = query.offset + page.length;
  if (next < items.length) result.nextPageToken = encodePageToken(next, query.signature);
  return result;
}

/** An album's items the app may see (app-created ones only), in album order. */
function albumItems(ctx: LibraryContext, albumId: string): EmulatorItem[] {
  const album = visibleAlbum(ctx, albumId);
  if (!album) return [];
  return album.mediaItemIds.map((id) => ctx.item(id)).filter(visible);
}

function visibleAlbum(ctx: LibraryContext, id: string): EmulatorAlbum | undefined {
  return ctx.albums().find((album) => album.id === id && album.appCreated !== false);
}

function filterItems(all: EmulatorItem[], query: SearchQuery): EmulatorItem[] {
  const hasDateFilter = query.dates.length > 0 || query.ranges.length > 0;
  const items = all.filter((item) => {
    if (query.favoritesOnly) return false;
    if (query.mediaType === 'PHOTO' && item.kind !== 'photo') return false;
    if (query.mediaType === 'VIDEO' && item.kind !== 'video') return false;
    if (!hasDateFilter) return true;
    const parts = partsOf(item);
    // "Media items uploaded without metadata specifying the date … will not be returned."
    if (!parts) return false;
    return (
      query.dates.some((date) => matchesDate(parts, date)) || query.ranges.some((r) => matchesRange(parts, r))
    );
  });
  return query.ascending ? items.reverse() : items;
}

export function handleSearch(ctx: LibraryContext, res: ServerResponse, rawBody: string) {
  let body: unknown = {};
  if (rawBody.trim() !== '') {
    try {
      body = JSON.parse(rawBody);
    } catch {
      return sendGoogleError(res, invalidJson('Syntax error.'));
    }
  }
  const query = parseSearch(body);
  if (!query.ok) return sendGoogleError(res, query.error);
  if (query.value.albumId !== undefined && !visibleAlbum(ctx, query.value.albumId))
    return sendGoogleError(res, invalidArgument('Invalid album ID.', 'album_id'));
  sendJson(res, 200, searchPage(ctx, query.value));
}

/** Album JSON as albums.list sends it (mediaItemsCount is an int64 string). */
function toAlbum(ctx: LibraryContext, album: EmulatorAlbum): Record<string, unknown> {
  const items = albumItems(ctx, album.id);
  const json: Record<string, unknown> = {
    id: album.id,
    title: album.title,
    productUrl: `https://photos.google.com/lr/album/${album.id}`,
    mediaItemsCount: String(items.length),
  };
  const cover = items[0];
  if (cover) {
    json.coverPhotoBaseUrl = ctx.baseUrl(cover);
    json.coverPhotoMediaItemId = cover.id;
  }
  return json;
}

/**
 * albums.list: "Lists all albums created by your app." pageSize: "The default pageSize is 20, the
 * maximum is 50." Since 31 March 2025 only albums the app created are returned, whatever
 * excludeNonAppCreatedData says ("This field is ignored if the photoslibrary.readonly.appcreateddata
 * scope is used"). https://developers.google.com/photos/library/reference/rest/v1/albums/list
 */
export function handleAlbumsList(ctx: LibraryContext, res: ServerResponse, url: URL) {
  const size = toInt(url.searchParams.get('pageSize') ?? undefined);
  if (size === undefined)
    return sendGoogleError(res, invalidJson("Invalid value at 'page_size' (TYPE_INT32)."));
  if (size < 0 || size > 50)
    return sendGoogleError(res, invalidArgument('The page size must be between 0 and 50.', 'page_size'));
  const pageSize = size === 0 ? 20 : size;
  let offset = 0;
  const token = url.searchParams.get('pageToken');
  if (token) {
    const decoded = decodePageToken(token, 'albums');
    if (decoded === undefined)
      return sendGoogleError(res, invalidArgument('The page token is invalid.', 'page_token'));
    offset = decoded;
  }
  const albums = ctx.albums().filter((album) => album.appCreated !== false);
  const page = albums.slice(offset, offset + pageSize);
  const result: Record<string, unknown> = {};
  if (page.length > 0) result.albums = page.map((album) => toAlbum(ctx, album));
  const next = offset + page.length;
  if (next < albums.length) result.nextPageToken = encodePageToken(next, 'albums');
  sendJson(res, 200, result);
}

export function handleList(ctx: LibraryContext, res: ServerResponse, url: URL) {
  const pageSize = parsePageSize(url.searchParams.get('pageSize') ?? undefined);
  if (!pageSize.ok) return sendGoogleError(res, pageSize.error);
  let offset = 0;
  const token = url.searchParams.get('pageToken');
  if (token) {
    const decoded = decodePageToken(token, 'list');
    if (decoded === undefined)
      return sendGoogleError(res, invalidArgument('The page token is invalid.', 'page_token'));
    offset = decoded;
  }
  sendJson(
    res,
    200,
    searchPage(ctx, {
      pageSize: pageSize.value,
      offset,
      ascending: false,
      dates: [],
      ranges: [],
      mediaType: 'ALL_MEDIA',
      favoritesOnly: false,
      signature: 'list',
    }),
  );
}

function visible(item: EmulatorItem | undefined): item is EmulatorItem {
  return item !== undefined && item.appCreated !== false;
}

export function handleGet(ctx: LibraryContext, res: ServerResponse, id: string) {
  const item = ctx.item(id);
  if (!visible(item)) return sendGoogleError(res, googleError('INVALID_ARGUMENT', 'Invalid media item ID.'));
  sendJson(res, 200, toMediaItem(item, ctx.baseUrl(item)));
}

export function handleBatchGet(ctx: LibraryContext, res: ServerResponse, url: URL) {
  const ids = url.searchParams.getAll('mediaItemIds');
  if (ids.length === 0) {
    return sendGoogleError(
      res,
      invalidArgument('Request must have at least one media item ID.', 'media_item_ids'),
    );
  }
  if (ids.length > 50) {
    return sendGoogleError(
      res,
      invalidArgument('Request must not contain more than 50 media item IDs.', 'media_item_ids'),
    );
  }
  if (new Set(ids).size !== ids.length) {
    return sendGoogleError(
      res,
      invalidArgument('Request must not contain repeated media item IDs.', 'media_item_ids'),
    );
  }
  // Same order as the supplied ids; failures are per-item statuses (seen in gphotos-sync#211).
  const mediaItemResults = ids.map((id) => {
    const item = ctx.item(id);
    if (!visible(item))
      return { status: { code: rpcCode.INVALID_ARGUMENT, message: 'Invalid media item ID.' } };
    return { mediaItem: toMediaItem(item, ctx.baseUrl(item)) };
  });
  sendJson(res, 200, { mediaItemResults });
}
