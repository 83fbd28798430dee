/**
 * The Photos Library API source: `mediaItems:search` for one year, newest first.
 * Since 31 March 2025 it returns only media this app uploaded
 * (https://developers.google.com/photos/support/updates), so a 403 or an empty year is
 * explained, naming the picker and takeout sources.
 *
 * One file on purpose (over 300 lines): listing, refreshing expired URLs by batchGet and the
 * albums of this app are one source's calls sharing its answer handling.
 */
import pLimit from 'p-limit';
import { crashPoint } from '../../crash-hook.ts';
import { HttpError } from '../../http.ts';
import { factsFromLibraryItem, metadataOfFacts } from '../../metadata/facts.ts';
import type { GoogleApi } from '../google-api.ts';
import type { OpenedMedia, Source, SourceItem, SourceNotice } from '../source.ts';

/** The Library API's MediaItem, as much as we use (photoslibrary.v1 discovery document). */
export interface LibraryMediaItem {
  id: string;
  filename?: string;
  mimeType?: string;
  baseUrl?: string;
  mediaMetadata?: {
    creationTime?: string;
    video?: { status?: string };
    photo?: Record<string, unknown>;
  };
  description?: string;
}

interface SearchResponse {
  mediaItems?: LibraryMediaItem[];
  nextPageToken?: string;
}

interface BatchGetResponse {
  mediaItemResults?: { mediaItem?: LibraryMediaItem; status?: { code?: number; message?: string } }[];
}

export const GOOGLE_CHANGE_EXPLANATION =
  'Since 31 March 2025 the Google Photos Library API returns only photos and videos that this app ' +
  'uploaded itself, so it cannot see the rest of your library. To back up your existing photos, use ' +
  '`--source picker` (you pick them in Google Photos, up to 2000 per round) or `--takeout <archives>` ' +
  '(a Google Takeout export: complete and in original quality; see the README).';

interface ListAlbumsResponse {
  albums?: { id?: string; title?: string }[];
  nextPageToken?: string;
}

/** Base URLs live about 60 minutes; fetch fresh ones a little before. */
const URL_MAX_AGE_MS = 50 * 60_000;
/** mediaItems:batchGet takes at most 50 ids a call. */
const BATCH_GET_LIMIT = 50;

/** The search body for one calendar year, newest first (so the skip rule ends where the last run began). */
export function searchBody(year: number, pageToken?: string): Record<string, unknown> {
  return {
    pageSize: 100,
    filters: { dateFilter: { dates: [{ year, month: 0, day: 0 }] } },
    orderBy: 'MediaMetadata.creation_time desc',
    ...(pageToken ? { pageToken } : {}),
  };
}

/**
 * Pages through mediaItems:search. The next page is requested as soon as a page arrives, so
 * listing overlaps with the downloads of the items already handed out.
 */
export async function* listMediaItems(api: GoogleApi, year: number, signal: AbortSignal) {
  const seenTokens = new Set<string>();
  const fetchPage = (pageToken?: string) =>
    api.call<SearchResponse>({
      method: 'POST',
      path: '/v1/mediaItems:search',
      body: searchBody(year, pageToken),
      signal,
    });
  let page = fetchPage();
  for (;;) {
    const response = await page;
    await crashPoint('listed-page');
    const token = response.nextPageToken;
    const loops = token !== undefined && seenTokens.has(token);
    if (token && !loops) {
      seenTokens.add(token);
      page = fetchPage(token);
      page.catch(() => undefined); // handled when awaited
    }
    for (const item of response.mediaItems ?? []) yield { item, fetchedAt: Date.now() };
    if (loops) {
      // After this page's items, so what was listed is still saved.
      throw new HttpError({
        status: 502,
        url: `${api.baseUrl}/v1/mediaItems:search`,
        google: { message: 'Google answered with a page token it had already sent (a loop)', reasons: [] },
      });
    }
    if (!token) return;
  }
}

/** Collects URL refreshes for a moment and asks batchGet for up to 50 at a time. */
class UrlRefresher {
  private waiting = new Map<string, ((result: LibraryMediaItem | Error) => void)[]>();
  private timer: NodeJS.Timeout | undefined;
  private readonly api: GoogleApi;
  private readonly signal: AbortSignal;

  constructor(api: GoogleApi, signal: AbortSignal) {
    this.api = api;
    this.signal = signal;
  }

  refresh(id: string): Promise<LibraryMediaItem> {
    return new Promise((resolve, reject) => {
      const list = this.waiting.get(id) ?? [];
      list.push((result) => (result instanceof Error ? reject(result) : resolve(result)));
      this.waiting.set(id, list);
      if (this.waiting.size >= BATCH_GET_LIMIT) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), 20);
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = [...this.waiting.entries()].slice(0, BATCH_GET_LIMIT);
    for (const [id] of batch) this.waiting.delete(id);
    if (this.waiting.size > 0) this.timer = setTimeout(() => this.flush(), 0);
    const query = batch.map(([id]) => `mediaItemIds=${encodeURIComponent(id)}`).join('&');
    this.api
      .call<BatchGetResponse>({
        method: 'GET',
        path: `/v1/mediaItems:batchGet?${query}`,
        signal: this.signal,
      })
      .then((response) => {
        const results = response.mediaItemResults ?? [];
        batch.forEach(([id, callbacks], index) => {
          const found =
            results[index]?.mediaItem ?? results.find((result) => result.mediaItem?.id === id)?.mediaItem;
          const outcome = found?.baseUrl
            ? found
            : new Error(results[index]?.status?.message ?? 'Google no longer returns this item');
          for (const callback of callbacks) callback(outcome);
        });
      })
      .catch((error: Error) => {
        for (const [, callbacks] of batch) for (const callback of callbacks) callback(error);
      });
  }
}

function isVideo(item: LibraryMediaItem): boolean {
  return item.mediaMetadata?.video !== undefined || (item.mimeType ?? '').startsWith('video/');
}

export interface LibrarySourceOptions {
  api: GoogleApi;
  year: number;
  onNotice?: (notice: SourceNotice) => void;
}

/** Thrown when Google refuses the Library API (403): the CLI explains, and `auto` moves on to the picker. */
export class LibraryRefusedError extends Error {
  constructor(cause: unknown) {
    super(`Google refused the Photos Library API (403 PERMISSION_DENIED). ${GOOGLE_CHANGE_EXPLANATION}`, {
      cause,
    });
    this.name = 'LibraryRefusedError';
  }
}

export function toSourceItem(
  listed: LibraryMediaItem,
  fetchedAt: number,
  api: GoogleApi,
  refresher: UrlRefresher,
): SourceItem {
  const video = isVideo(listed);
  let baseUrl = listed.baseUrl ?? '';
  let urlTime = fetchedAt;
  const status = listed.mediaMetadata?.video?.status;
  const creation = listed.mediaMetadata?.creationTime;
  const takenAt = creation ? new Date(creation) : undefined;
  const suffix = video ? '=dv' : '=d';
  const fresh = async (): Promise<void> => {
    const item = await refresher.refresh(listed.id);
    baseUrl = item.baseUrl ?? baseUrl;
    urlTime = Date.now();
  };
  const open = async (signal: AbortSignal): Promise<OpenedMedia> => {
    if (!baseUrl || Date.now() - urlTime > URL_MAX_AGE_MS) await fresh();
    try {
      return await api.http.open(`${baseUrl}${suffix}`, {}, signal);
    } catch (error) {
      // A refused download URL has most likely expired: ask for a fresh one, once.
      if (!(error instanceof HttpError) || error.kind !== 'expired') throw error;
      await fresh();
      return api.http.open(`${baseUrl}${suffix}`, {}, signal);
    }
  };
  return {
    id: listed.id,
    filename: listed.filename ?? `${listed.id}${video ? '.mp4' : '.jpg'}`,
    kind: video ? 'video' : 'photo',
    ...(listed.mimeType ? { mimeType: listed.mimeType } : {}),
    ...(takenAt && !Number.isNaN(takenAt.getTime()) ? { takenAt } : {}),
    dateSource: 'api',
    ...(video && status !== undefined && status !== 'READY'
      ? { unavailable: `Google is still processing this video (${status}); a later run saves it.` }
      : {}),
    // Name, description and camera, kept in the record for an XMP sidecar now or in a later run.
    metadata: metadataOfFacts(factsFromLibraryItem(listed, { id: listed.id })),
    open,
    // A refused HEAD most likely means an old URL (a resumed run): ask for a fresh one once,
    // else the item would look "changed" and be saved twice.
    probeSize: async (signal) => {
      if (!baseUrl || Date.now() - urlTime > URL_MAX_AGE_MS) await fresh();
      const size = await api.http.headSize(`${baseUrl}${suffix}`, {}, signal);
      if (size !== undefined) return size;
      await fresh();
      return api.http.headSize(`${baseUrl}${suffix}`, {}, signal);
    },
  };
}

/**
 * mediaItems:batchGet for the given ids, 50 a call: "The maximum number of media items that can be
 * retrieved in one call is 50" (https://developers.google.com/photos/library/reference/rest/v1/mediaItems/batchGet).
 * Results come in the order of the ids; an id Google no longer has gets a per-item `status`.
 */
export async function getMediaItems(
  api: GoogleApi,
  ids: string[],
  signal: AbortSignal,
): Promise<{ found: LibraryMediaItem[]; gone: string[] }> {
  const found: LibraryMediaItem[] = [];
  const gone: string[] = [];
  const unique = [...new Set(ids)];
  for (let start = 0; start < unique.length; start += BATCH_GET_LIMIT) {
    const batch = unique.slice(start, start + BATCH_GET_LIMIT);
    const query = batch.map((id) => `mediaItemIds=${encodeURIComponent(id)}`).join('&');
    const response = await api.call<BatchGetResponse>({
      method: 'GET',
      path: `/v1/mediaItems:batchGet?${query}`,
      signal,
    });
    const results = response.mediaItemResults ?? [];
    batch.forEach((id, index) => {
      const item =
        results[index]?.mediaItem?.id === id
          ? results[index]?.mediaItem
          : results.find((result) => result.mediaItem?.id === id)?.mediaItem;
      if (item && typeof item.id === 'string') found.push(item);
      // Only "no such item" (google.rpc.Code INVALID_ARGUMENT or NOT_FOUND) means gone; any other
      // per-item status may pass, so the item stays pending rather than be forgotten.
      else if (results[index]?.status?.code === 3 || results[index]?.status?.code === 5) gone.push(id);
    });
  }
  return { found, gone };
}

/**
 * Pages through a list call, following nextPageToken; a token sent twice ends it (a loop).
 * `call` gets the page token to ask for.
 */
async function* pages<T extends { nextPageToken?: string }>(call: (token?: string) => Promise<T>) {
  const seen = new Set<string>();
  let token: string | undefined;
  do {
    const page = await call(token);
    yield page;
    token = page.nextPageToken;
    if (token && seen.has(token)) return;
    if (token) seen.add(token);
  } while (token);
}

/**
 * Album names by media item id, for --albums: albums.list ("Lists all albums created by your
 * app", 50 a page: https://developers.google.com/photos/library/reference/rest/v1/albums/list),
 * then mediaItems:search by albumId for each album (no filters allowed with it). Since 31 March
 * 2025 both see only what this app created, which the photoslibrary.readonly.appcreateddata
 * scope allows. An album without a title is named by its id.
 */
export async function listAlbumMembership(
  api: GoogleApi,
  signal: AbortSignal,
): Promise<Map<string, string[]>> {
  const byItem = new Map<string, string[]>();
  const albums: { id: string; title: string }[] = [];
  const albumPages = pages((pageToken) =>
    api.call<ListAlbumsResponse>({
      method: 'GET',
      path: `/v1/albums?pageSize=50${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`,
      // Only what is used: a partial response (GoogleApi.call).
      fields: 'nextPageToken,albums(id,title)',
      signal,
    }),
  );
  for await (const page of albumPages)
    for (const album of page.albums ?? [])
      if (typeof album.id === 'string')
        albums.push({
          id: album.id,
          title: typeof album.title === 'string' && album.title.trim() ? album.title : album.id,
        });
  // A few albums at a time: each album's pages come one after another (each needs the last token).
  const limit = pLimit(4);
  const byAlbum = await Promise.all(albums.map((album) => limit(() => albumItemIds(api, album.id, signal))));
  albums.forEach((album, index) => {
    for (const id of byAlbum[index] ?? []) {
      const titles = byItem.get(id) ?? [];
      if (!titles.includes(album.title)) titles.push(album.title);
      byItem.set(id, titles);
    }
  });
  return byItem;
}

/** The ids of an album's media items, by mediaItems:search with its albumId. */
async function albumItemIds(api: GoogleApi, albumId: string, signal: AbortSignal): Promise<string[]> {
  const ids: string[] = [];
  const itemPages = pages((pageToken) =>
    api.call<SearchResponse>({
      method: 'POST',
      path: '/v1/mediaItems:search',
      body: { albumId, pageSize: 100, ...(pageToken ? { pageToken } : {}) },
      // The ids alone, not each item's metadata and URLs: about a tenth of the bytes.
      fields: 'nextPageToken,mediaItems(id)',
      signal,
    }),
  );
  for await (const page of itemPages)
    for (const item of page.mediaItems ?? []) if (typeof item?.id === 'string') ids.push(item.id);
  return ids;
}

export function createLibrarySource(options: LibrarySourceOptions): Source {
  return {
    name: 'library',
    stopsOnSkips: true,
    // The search filter asks Google for the year's dates only.
    filtersYear: true,
    albumsById: (signal) => listAlbumMembership(options.api, signal),
    async getByIds(ids: string[], signal: AbortSignal) {
      const refresher = new UrlRefresher(options.api, signal);
      const { found, gone } = await getMediaItems(options.api, ids, signal).catch((error: unknown) => {
        if (error instanceof HttpError && error.kind === 'permission') throw new LibraryRefusedError(error);
        throw error;
      });
      const fetchedAt = Date.now();
      return { items: found.map((item) => toSourceItem(item, fetchedAt, options.api, refresher)), gone };
    },
    async *list(signal: AbortSignal) {
      const refresher = new UrlRefresher(options.api, signal);
      let count = 0;
      try {
        for await (const { item, fetchedAt } of listMediaItems(options.api, options.year, signal)) {
          if (!item || typeof item.id !== 'string') continue;
          count++;
          yield toSourceItem(item, fetchedAt, options.api, refresher);
        }
      } catch (error) {
        if (error instanceof HttpError && error.kind === 'permission') throw new LibraryRefusedError(error);
        throw error;
      }
      if (count === 0) {
        options.onNotice?.({
          level: 'warn',
          message: `The Photos Library API found nothing in ${options.year}. ${GOOGLE_CHANGE_EXPLANATION}`,
        });
      }
    },
  };
}
