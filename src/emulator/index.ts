/**
 * The project's own Google, over real HTTP on 127.0.0.1: OAuth, the Photos Library API, the
 * Photos Picker API and the media host, with faults a test may hand in. Tests, `--demo` and the
 * benchmarks run against it. Routing only; each API lives in its own file.
 *
 *   GET  /o/oauth2/v2/auth          consent (302 to the loopback redirect)   oauth.ts
 *   POST /token, /revoke            token endpoint, revoke                    oauth.ts
 *   /photoslibrary/v1/mediaItems…   Library API (search, list, get, batchGet) library.ts
 *   /photoslibrary/v1/albums        Library API albums.list                   library.ts
 *   /photospicker/v1/sessions…      Picker API (sessions, mediaItems)         picker.ts
 *   GET  /picker/<session id>       the pickerUri page; opening it "picks"    picker.ts
 *   GET  /lh3/<lr|ppa>/<token>=d    media host (=d, =dv, =wN-hM)              media.ts
 *   GET  /drive/v3/files[/<id>]     Drive v3 (list, get, alt=media with Range) drive.ts
 *   (second port) /lh3/…            redirect target of the mediaRedirect fault media.ts
 *   /__emulator/…                   test-only admin routes, when given (test/support/emulator/admin.ts)
 *   ?prettyPrint=false, ?fields=…   Google's system parameters, on every API  system-parameters.ts
 *
 * Over 300 lines because the route table and the Emulator handle tests drive it by are here; each
 * API's behaviour is in its own file.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DriveServer, DriveStore, driveFaultError } from './drive.ts';
import { type FaultHooks, noFaults } from './fault-hooks.ts';
import {
  contentBuffer,
  contentChunks,
  type EmulatorItem,
  type GenerateOptions,
  generateItems,
  normalizeItem,
} from './items.ts';
import {
  type EmulatorAlbum,
  handleAlbumsList,
  handleBatchGet,
  handleGet,
  handleList,
  handleSearch,
} from './library.ts';
import { MediaHost } from './media.ts';
import {
  type ClientKind,
  type Credentials,
  driveScope,
  libraryScope,
  type OAuthModes,
  OAuthServer,
  pickerScope,
} from './oauth.ts';
import { type PickerOptions, PickerServer } from './picker.ts';
import { type GoogleError, googleError, readBody, sendGoogleError, sendText } from './responses.ts';
import { answerFormatOf, setAnswerFormat } from './system-parameters.ts';

export type { DriveFile, NewDriveFile } from './drive.ts';
export { DriveStore, FOLDER_MIME, md5Of } from './drive.ts';
export type { EmulatorItem } from './items.ts';
export type { EmulatorAlbum } from './library.ts';
export { driveScope, generateItems, libraryScope, pickerScope };

export interface LatencyOptions {
  /** Delay before answering each API call (Library, Picker). */
  apiMs?: number;
  /** Delay before the response headers of each media request. */
  mediaMs?: number;
}

export interface EmulatorOptions {
  items?: EmulatorItem[];
  /** The account's albums (Library API albums.list, mediaItems:search by albumId). Default: none. */
  albums?: EmulatorAlbum[];
  /** Generated items (used when `items` is not given). Default: none. */
  generate?: GenerateOptions;
  /** Injected faults (test/support/emulator/faults.ts); default none. */
  faults?: FaultHooks;
  latency?: LatencyOptions;
  /** Base URL lifetime; default 60 minutes. */
  urlTtlMs?: number;
  /** `expires_in` of access tokens; default 3600. */
  accessTokenTtlSeconds?: number;
  picker?: PickerOptions;
  oauth?: OAuthModes;
  /** Default 0 (a free port). */
  port?: number;
  /**
   * Serves the `/__emulator/*` routes (token, client secret, faults, stats) for a test or the bench
   * driving the emulator from another process: test/support/emulator/admin.ts. Unset (as in --demo): none.
   */
  admin?: AdminRoutes;
}

export type AdminRoutes = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

export interface EmulatorStats {
  /** Requests per route, e.g. `library.search`, `picker.sessions.get`, `media`, `oauth.token`. */
  requests: Record<string, number>;
  /** Injected faults per kind, e.g. `apiUnavailable`, `mediaReset`, `dailyQuota`. */
  faults: Record<string, number>;
  /** Media requests that reached an item, per item id. */
  mediaRequests: Record<string, number>;
  /** Media responses sent completely, per item id. */
  mediaCompleted: Record<string, number>;
  /** Bytes of completed media responses. */
  mediaBytes: number;
  /** Bytes of Drive `alt=media` bodies handed to the socket, whole or not (the bench's bytes-served). */
  driveBytes: number;
  /** Drive `alt=media` requests per file id asked for: which parts a run read. */
  driveMediaRequests: Record<string, number>;
}

export interface Emulator {
  url: string;
  /** Prefix for Library API paths: `${libraryUrl}/v1/mediaItems:search`. */
  libraryUrl: string;
  /** Prefix for Picker API paths: `${pickerUrl}/v1/sessions`. */
  pickerUrl: string;
  /** What replaces https://www.googleapis.com for Drive: `${driveUrl}/drive/v3/files`. */
  driveUrl: string;
  /** The Drive's files: tests put Takeout parts there and change them. */
  readonly drive: DriveStore;
  authUri: string;
  tokenUri: string;
  revokeUri: string;
  /** Current items (as served: sizes normalized). */
  readonly items: EmulatorItem[];
  /** The bytes the media host serves for `=d` / `=dv` of an item. */
  contentOf(id: string): Buffer;
  /** The same bytes as a stream of shared chunks (for huge items). */
  streamOf(id: string): AsyncIterable<Buffer>;
  /** client_secret.json content pointing auth_uri/token_uri at the emulator. */
  clientSecret(kind?: ClientKind): object;
  /** token.json content (google-auth-library Credentials) without consent; default both scopes. */
  issueToken(options?: { scopes?: string[]; expiresInSeconds?: number; client?: ClientKind }): Credentials;
  /** Next refresh answers 400 invalid_grant "Token has been expired or revoked." */
  revokeRefreshTokens(): void;
  /** Next API call with a token issued before now answers 401 UNAUTHENTICATED. */
  expireAccessTokens(): void;
  setItems(items: EmulatorItem[]): void;
  setAlbums(albums: EmulatorAlbum[]): void;
  setPicker(options: PickerOptions): void;
  /** Picking sessions created and neither deleted nor expired (a finished run leaves none). */
  openPickerSessions(): number;
  /** Switches the consent and token endpoint modes (partial consent, access blocked, deleted client…). */
  setOAuth(options: OAuthModes): void;
  setLatency(latency: LatencyOptions): void;
  /** Every client secret, token, code, state and verifier the emulator issued or saw (leak tests). */
  issuedSecrets(): string[];
  readonly stats: EmulatorStats;
  resetStats(): void;
  close(): Promise<void>;
}

/** Newest first, ties by id; undated items last. */
function sortNewestFirst(items: EmulatorItem[]): EmulatorItem[] {
  const keyed = items.map((item) => {
    const time = Date.parse(item.creationTime);
    return { item, time: Number.isNaN(time) ? Number.NEGATIVE_INFINITY : time };
  });
  keyed.sort((a, b) => {
    if (a.time !== b.time) return b.time - a.time;
    return a.item.id < b.item.id ? -1 : a.item.id > b.item.id ? 1 : 0;
  });
  return keyed.map((entry) => entry.item);
}

function emptyStats(): EmulatorStats {
  return {
    requests: {},
    faults: {},
    mediaRequests: {},
    mediaCompleted: {},
    mediaBytes: 0,
    driveBytes: 0,
    driveMediaRequests: {},
  };
}

/** Injected latency; unref'd so a closed emulator never keeps its process alive for a slow answer. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const faults = options.faults ?? noFaults;
  let latency: LatencyOptions = { ...options.latency };
  let items: EmulatorItem[] = [];
  let byId = new Map<string, EmulatorItem>();
  let appNewestFirst: EmulatorItem[] = [];
  let albums: EmulatorAlbum[] = options.albums ?? [];
  let stats = emptyStats();

  const setItems = (next: EmulatorItem[]) => {
    items = next.map(normalizeItem);
    byId = new Map(items.map((item) => [item.id, item]));
    appNewestFirst = sortNewestFirst(items.filter((item) => item.appCreated !== false));
  };
  setItems(options.items ?? (options.generate ? generateItems(options.generate) : []));

  const server: Server = createServer({ keepAliveTimeout: 5000, highWaterMark: 1 << 20 });
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  // The second media host, another origin, for the mediaRedirect fault.
  const redirectServer: Server = createServer({ keepAliveTimeout: 5000, highWaterMark: 1 << 20 });
  redirectServer.listen(0, '127.0.0.1');
  await once(redirectServer, 'listening');
  const redirectOrigin = `http://127.0.0.1:${(redirectServer.address() as AddressInfo).port}`;
  const libraryUrl = `${url}/photoslibrary`;
  const pickerUrl = `${url}/photospicker`;
  const authUri = `${url}/o/oauth2/v2/auth`;
  const tokenUri = `${url}/token`;
  const revokeUri = `${url}/revoke`;

  const oauth = new OAuthServer(
    { ...options.oauth, accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 3600 },
    faults,
  );
  const media = new MediaHost(url);
  const urlTtl = () => faults.faults.urlTtlMs ?? options.urlTtlMs ?? 60 * 60_000;
  const libraryContext = {
    newestFirst: () => appNewestFirst,
    item: (id: string) => byId.get(id),
    baseUrl: (item: EmulatorItem) => media.urlFor(item.id, 'library', urlTtl()),
    albums: () => albums,
  };
  const driveStore = new DriveStore();
  const drive = new DriveServer(driveStore, {
    faults: (route, fileId) => faults.driveFault(route, fileId),
    served: (bytes) => {
      stats.driveBytes += bytes;
    },
  });
  const picker = new PickerServer(options.picker ?? {}, {
    item: (id) => byId.get(id),
    allIds: () => items.map((item) => item.id),
    baseUrl: (item) => media.urlFor(item.id, 'picker', urlTtl()),
    origin: url,
  });
  const count = (route: string) => {
    stats.requests[route] = (stats.requests[route] ?? 0) + 1;
  };
  const mediaContext = {
    item: (id: string) => byId.get(id),
    oauth,
    faults,
    latencyMs: () => latency.mediaMs ?? 0,
    count,
    redirectOrigin,
    recordMedia(itemId: string, event: 'request' | 'complete', bytes: number) {
      const table = event === 'request' ? stats.mediaRequests : stats.mediaCompleted;
      table[itemId] = (table[itemId] ?? 0) + 1;
      stats.mediaBytes += bytes;
    },
  };

  /** Common front of every API call: count, latency, auth and scope, then injected faults. */
  async function apiFront(
    req: IncomingMessage,
    route: string,
    service: 'library' | 'picker',
    faultKey: string,
  ): Promise<GoogleError | undefined> {
    count(route);
    if (latency.apiMs) await sleep(latency.apiMs);
    const denied = oauth.authorize(req, service === 'library' ? libraryScope : pickerScope);
    if (denied) return denied;
    return faults.apiFault(service, `${route}\u0000${faultKey}`);
  }

  async function route(req: IncomingMessage, res: ServerResponse) {
    const requestUrl = new URL(req.url ?? '/', url);
    const path = requestUrl.pathname;
    const method = req.method ?? 'GET';
    // Google's system parameters (system-parameters.ts): `fields` for the Library and Picker APIs (Drive answers its own).
    const format = answerFormatOf(
      req,
      requestUrl,
      path.startsWith('/photoslibrary/') || path.startsWith('/photospicker/'),
    );
    setAnswerFormat(res, format);
    if (format.badFields !== undefined)
      return sendGoogleError(
        res,
        googleError('INVALID_ARGUMENT', `Invalid field selection ${format.badFields}`),
      );

    if (path.startsWith('/lh3/') && (method === 'GET' || method === 'HEAD')) {
      return media.handle(req, res, decodeURIComponent(path), mediaContext);
    }
    if ((path === '/o/oauth2/v2/auth' || path === '/o/oauth2/auth') && method === 'GET') {
      count('oauth.authorize');
      return oauth.handleAuthorize(res, requestUrl);
    }
    if (path === '/token' && method === 'POST') {
      count('oauth.token');
      return oauth.handleToken(req, res);
    }
    if (path === '/revoke' && method === 'POST') {
      count('oauth.revoke');
      return oauth.handleRevoke(req, res, requestUrl);
    }

    if (path.startsWith('/drive/v3/files') && method === 'GET') {
      const rest = path.slice('/drive/v3/files'.length);
      const media = requestUrl.searchParams.get('alt') === 'media';
      const route = rest === '' ? 'drive.files.list' : media ? 'drive.files.media' : 'drive.files.get';
      count(route);
      if (latency.apiMs && !media) await sleep(latency.apiMs);
      if (latency.mediaMs && media) await sleep(latency.mediaMs);
      const denied = oauth.authorize(req, driveScope);
      // Drive answers a missing or expired token in its own envelope, 401 `authError` "Invalid
      // Credentials" (https://developers.google.com/workspace/drive/api/guides/handle-errors),
      // not the Photos APIs' UNAUTHENTICATED; a missing scope stays the 403 Google gives everywhere.
      if (denied?.httpCode === 401)
        return sendGoogleError(res, driveFaultError({ kind: 'error', error: 'unauthorized' }));
      if (denied) return sendGoogleError(res, denied);
      const id = /^\/([^/]+)$/.exec(rest)?.[1];
      let error: GoogleError | undefined;
      if (rest === '') error = drive.list(res, requestUrl);
      else if (id && media) {
        const fileId = decodeURIComponent(id);
        stats.driveMediaRequests[fileId] = (stats.driveMediaRequests[fileId] ?? 0) + 1;
        error = await drive.media(req, res, fileId);
      } else if (id) error = drive.get(res, decodeURIComponent(id), requestUrl);
      else error = googleError('NOT_FOUND', `Method not found: ${method} ${path}`);
      if (error) sendGoogleError(res, error);
      return;
    }

    if (path.startsWith('/photoslibrary/v1/')) {
      const rest = path.slice('/photoslibrary/v1/'.length);
      if (rest === 'mediaItems:search' && method === 'POST') {
        const body = await readBody(req);
        const error = await apiFront(req, 'library.search', 'library', body);
        if (error) return sendGoogleError(res, error);
        return handleSearch(libraryContext, res, body);
      }
      if (rest === 'mediaItems:batchGet' && method === 'GET') {
        const error = await apiFront(req, 'library.batchGet', 'library', requestUrl.search);
        if (error) return sendGoogleError(res, error);
        return handleBatchGet(libraryContext, res, requestUrl);
      }
      if (rest === 'mediaItems' && method === 'GET') {
        const error = await apiFront(req, 'library.list', 'library', requestUrl.search);
        if (error) return sendGoogleError(res, error);
        return handleList(libraryContext, res, requestUrl);
      }
      if (rest === 'albums' && method === 'GET') {
        const error = await apiFront(req, 'library.albums.list', 'library', requestUrl.search);
        if (error) return sendGoogleError(res, error);
        return handleAlbumsList(libraryContext, res, requestUrl);
      }
      const get = /^mediaItems\/([^/:]+)$/.exec(rest);
      if (get?.[1] && method === 'GET') {
        const error = await apiFront(req, 'library.get', 'library', get[1]);
        if (error) return sendGoogleError(res, error);
        return handleGet(libraryContext, res, decodeURIComponent(get[1]));
      }
    }

    if (path.startsWith('/photospicker/v1/')) {
      const rest = path.slice('/photospicker/v1/'.length);
      if (rest === 'sessions' && method === 'POST') {
        const body = await readBody(req);
        const error = await apiFront(req, 'picker.sessions.create', 'picker', body);
        if (error) return sendGoogleError(res, error);
        return picker.handleCreate(res, body);
      }
      const session = /^sessions\/([^/]+)$/.exec(rest);
      if (session?.[1] && (method === 'GET' || method === 'DELETE')) {
        const name = method === 'GET' ? 'picker.sessions.get' : 'picker.sessions.delete';
        const error = await apiFront(req, name, 'picker', session[1]);
        if (error) return sendGoogleError(res, error);
        return method === 'GET' ? picker.handleGet(res, session[1]) : picker.handleDelete(res, session[1]);
      }
      if (rest === 'mediaItems' && method === 'GET') {
        const error = await apiFront(req, 'picker.mediaItems.list', 'picker', requestUrl.search);
        if (error) return sendGoogleError(res, error);
        return picker.handleList(res, requestUrl);
      }
    }

    const pickerPage = /^\/picker\/([^/]+)(?:\/autoclose)?$/.exec(path);
    if (pickerPage?.[1] && method === 'GET') {
      count('picker.page');
      return picker.handlePickerPage(res, pickerPage[1]);
    }

    if (path.startsWith('/__emulator/') && options.admin) {
      count('admin');
      return options.admin(req, res, requestUrl);
    }

    sendGoogleError(res, googleError('NOT_FOUND', `Method not found: ${method} ${path}`));
  }

  redirectServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', redirectOrigin).pathname;
    const method = req.method ?? 'GET';
    if (!path.startsWith('/lh3/') || (method !== 'GET' && method !== 'HEAD')) {
      return sendText(res, 404, '<!doctype html><title>Error 404 (Not Found)</title>');
    }
    media.handle(req, res, decodeURIComponent(path), mediaContext, true).catch(() => res.destroy());
  });

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    route(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        sendGoogleError(res, googleError('INTERNAL', `Emulator error: ${String(error)}`));
      } else {
        res.destroy();
      }
    });
  });

  const emulator: Emulator = {
    url,
    libraryUrl,
    pickerUrl,
    driveUrl: url,
    drive: driveStore,
    authUri,
    tokenUri,
    revokeUri,
    get items() {
      return items;
    },
    contentOf(id) {
      const item = byId.get(id);
      if (!item) throw new Error(`No emulator item with id ${id}`);
      return contentBuffer(item);
    },
    streamOf(id) {
      const item = byId.get(id);
      if (!item) throw new Error(`No emulator item with id ${id}`);
      return (async function* () {
        yield* contentChunks(item);
      })();
    },
    clientSecret: (kind = 'installed') => oauth.clientSecretJson(kind, authUri, tokenUri),
    issueToken: (tokenOptions) => oauth.issueToken(tokenOptions),
    revokeRefreshTokens: () => oauth.revokeRefreshTokens(),
    expireAccessTokens: () => oauth.expireAccessTokens(),
    setItems,
    setAlbums(next) {
      albums = next;
    },
    setPicker(next) {
      picker.options = { ...picker.options, ...next };
    },
    openPickerSessions: () => picker.openSessions(),
    setOAuth(next) {
      oauth.options = { ...oauth.options, ...next };
    },
    setLatency(next) {
      latency = { ...next };
    },
    issuedSecrets: () => oauth.issuedSecrets(),
    get stats() {
      stats.faults = { ...faults.injected };
      return stats;
    },
    resetStats() {
      stats = emptyStats();
      for (const key of Object.keys(faults.injected)) delete faults.injected[key];
    },
    async close() {
      const closed = [server, redirectServer].map(
        (each) => new Promise<void>((resolve) => each.close(() => resolve())),
      );
      server.closeAllConnections();
      redirectServer.closeAllConnections();
      await Promise.all(closed);
    },
  };
  return emulator;
}
