/**
 * Google Drive API v3 calls for reading Takeout exports in place: files.list (a lister that
 * follows nextPageToken), files.get metadata, and ranged reads of `alt=media`.
 * Reference: https://developers.google.com/workspace/drive/api/reference/rest/v3/files
 * Partial downloads: https://developers.google.com/workspace/drive/api/guides/manage-downloads
 * Errors and what to do about them: https://developers.google.com/workspace/drive/api/guides/handle-errors
 *
 * One file on purpose (over 300 lines): listing, metadata and ranged reads share one retry
 * policy (decideRetry, pure) and one error classification, which is most of the file.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { authError, type BackupError, quotaError } from '../../errors.ts';
import {
  classifyError,
  type HttpClient,
  HttpError,
  type JsonRequest,
  type RetryPolicy,
  retryDelay,
  ShortBodyError,
} from '../../http.ts';
import type { TokenProvider } from '../google-api.ts';

/** Drive v3 lives under this origin; PHOTO_BACKUP_DRIVE_URL replaces it. */
export const DRIVE_URL = 'https://www.googleapis.com';
export const FOLDER_MIME = 'application/vnd.google-apps.folder';
/** files.list: "Acceptable values are 1 to 1000, inclusive." */
const PAGE_SIZE = 1000;
const FILE_FIELDS = 'id,name,mimeType,size,md5Checksum,modifiedTime,createdTime,parents';

/** The facts of one Drive file the record keeps: a part is the same part while all of them agree. */
export interface DriveFileInfo {
  id: string;
  name: string;
  mimeType?: string;
  /** Bytes; Drive sends it as a string of digits. 0 for folders. */
  size: number;
  md5Checksum?: string;
  modifiedTime?: string;
  createdTime?: string;
  parents: string[];
}

interface RawFile {
  id?: string;
  name?: string;
  mimeType?: string;
  size?: string;
  md5Checksum?: string;
  modifiedTime?: string;
  createdTime?: string;
  parents?: string[];
}

function toInfo(raw: RawFile): DriveFileInfo {
  const size = typeof raw.size === 'string' && /^\d+$/.test(raw.size) ? Number(raw.size) : 0;
  return {
    id: raw.id ?? '',
    name: raw.name ?? '',
    ...(raw.mimeType ? { mimeType: raw.mimeType } : {}),
    size,
    ...(raw.md5Checksum ? { md5Checksum: raw.md5Checksum } : {}),
    ...(raw.modifiedTime ? { modifiedTime: raw.modifiedTime } : {}),
    ...(raw.createdTime ? { createdTime: raw.createdTime } : {}),
    parents: raw.parents ?? [],
  };
}

/** A Drive file that is gone (404 notFound): deleted, or moved where this sign-in cannot see it. */
export class DriveFileGoneError extends Error {
  override name = 'DriveFileGoneError';
  constructor(file: { name: string }, options?: { cause?: unknown }) {
    super(
      `"${file.name}" is no longer in Google Drive (deleted or moved during the run): its remaining items were not read. Nothing else is affected; if it comes back, the next run reads it.`,
      options,
    );
  }
}

/** A Drive file whose bytes changed while it was being read (another size or checksum). */
export class DriveFileChangedError extends Error {
  override name = 'DriveFileChangedError';
  constructor(file: { name: string }, what: string, options?: { cause?: unknown }) {
    super(
      `"${file.name}" changed in Google Drive while it was being read (${what}): its remaining items were not read. The next run reads the new version.`,
      options,
    );
  }
}

export type DriveFailure =
  | 'retry'
  | 'unauthorized'
  | 'download-quota'
  | 'gone'
  | 'changed'
  | 'scope'
  | 'fatal';

/**
 * What to do about a failed Drive call. Pure. From the handle-errors guide: 403
 * `userRateLimitExceeded` / `rateLimitExceeded` and 429 "use exponential backoff"; 5xx likewise;
 * 403 `downloadQuotaExceeded` (older answers: `quotaExceeded` at `quota.download`, rclone/rclone#2652)
 * means no more downloads of that file for a while; 404 `notFound` means the file is gone; 401
 * "Invalid Credentials" means refresh the access token. 412 `conditionNotMet` "Precondition
 * Failed" (Drive's answer when the file is no longer the version a request was made for, as
 * vitalif/grive2#21 quotes it and Chromium's google_apis/test/data/drive/error.json records it)
 * means it changed.
 */
export function classifyDriveError(error: unknown): DriveFailure {
  if (!(error instanceof HttpError)) return classifyError(error) === 'retry' ? 'retry' : 'fatal';
  const reasons = [...(error.google.errorReasons ?? []), ...error.google.reasons];
  if (error.status === 401) return 'unauthorized';
  if (reasons.includes('downloadQuotaExceeded') || reasons.includes('quotaExceeded')) return 'download-quota';
  if (isRateLimit(error) || error.status >= 500 || error.status === 408) return 'retry';
  if (error.status === 404) return 'gone';
  if (error.status === 412) return 'changed';
  if (error.status === 403 && /insufficient/i.test(`${error.google.message ?? ''} ${reasons.join(' ')}`))
    return 'scope';
  return 'fatal';
}

/**
 * Drive's rate limits: 403 `rateLimitExceeded` / `userRateLimitExceeded` and 429 (handle-errors
 * guide: "use exponential backoff"). Pure.
 */
export function isRateLimit(error: unknown): boolean {
  if (!(error instanceof HttpError)) return false;
  if (error.status === 429) return true;
  const reasons = [...(error.google.errorReasons ?? []), ...error.google.reasons];
  return (
    error.status === 403 &&
    (reasons.includes('userRateLimitExceeded') || reasons.includes('rateLimitExceeded'))
  );
}

/** What to do after a failed try: wait and try again, refresh the token and try again, or give up. */
export type RetryDecision = { action: 'retry'; delayMs: number } | { action: 'refresh' } | { action: 'stop' };

export interface RetryState {
  /** Tries of this call (or, for a ranged read, since bytes last arrived) that failed before this one. */
  attempt: number;
  /** Whether the access token was refreshed already in this call. */
  refreshed: boolean;
}

/**
 * The one retry policy of every Drive call (listing, metadata, ranged reads). Pure given `random`.
 * From the handle-errors guide (https://developers.google.com/drive/api/guides/handle-errors):
 * a 401 "Invalid Credentials" is mended by refreshing the access token, once; rate limits (403
 * `rateLimitExceeded` / `userRateLimitExceeded`, 429) and 5xx, resets and short bodies are tried
 * again with truncated exponential backoff, a `Retry-After` waited as told up to the policy's
 * longest wait, at most `policy.retries` times; everything else is the answer.
 */
export function decideRetry(
  failure: DriveFailure,
  error: unknown,
  state: RetryState,
  policy: RetryPolicy,
  random: () => number,
): RetryDecision {
  if (failure === 'unauthorized') return state.refreshed ? { action: 'stop' } : { action: 'refresh' };
  if (failure !== 'retry' || state.attempt >= policy.retries) return { action: 'stop' };
  return { action: 'retry', delayMs: retryDelay(error, state.attempt, policy, random) };
}

export function downloadQuotaError(file: { name: string } | undefined, cause: unknown): BackupError {
  const what = file ? `"${file.name}"` : 'a file';
  return quotaError(
    `Google Drive refused to send more of ${what} for now (403 downloadQuotaExceeded: a file's downloads are limited per day). ` +
      'Run the same command again tomorrow: it continues where this run stopped, and finished parts are not read again.',
    { cause },
  );
}

/**
 * Drive's rate limit still answered after every retry, while the run reads the exports' end
 * records, directories and sidecars: a stop like the download quota (exit 4), not a part that
 * failed. That part holds sidecars and album JSON other parts' photos are dated and named by.
 */
export function listingRateLimitError(file: { name: string }, cause: unknown): BackupError {
  const answer =
    cause instanceof HttpError
      ? [cause.status, ...(cause.google.errorReasons ?? []), ...cause.google.reasons].slice(0, 2).join(' ')
      : 'a rate limit';
  return quotaError(
    `Google Drive kept refusing to send more of "${file.name}" (${answer}: too many requests for now), ` +
      "after every retry, while reading the exports' directories and sidecars. " +
      'Run the same command again later (in an hour, or tomorrow): it continues where this run stopped, and finished parts are not read again.',
    { cause },
  );
}

/**
 * A 401 that the refreshed access token gets too: Google no longer accepts this sign-in for Drive
 * (revoked, or ended). The handle-errors guide: refresh the token, and "if this fails, direct
 * the user through the OAuth flow".
 */
function signInRefusedError(cause: unknown): BackupError {
  return authError(
    'Google Drive refused the saved sign-in (401 Invalid Credentials), also with a freshly refreshed access token: it was revoked or has ended. ' +
      'Run photo-backup auth logout, then run photo-backup once at a terminal to sign in again.',
    { cause },
  );
}

function scopeError(cause: unknown): BackupError {
  return authError(
    'Google Drive refused the saved sign-in (403: it does not allow reading your Drive files). Run photo-backup once at a terminal: ' +
      'it asks Google for "See and download all your Google Drive files" (drive.readonly) alone, and you tick its box.',
    { cause },
  );
}

export interface ListOptions {
  q: string;
  orderBy?: string;
  pageSize?: number;
  signal?: AbortSignal;
}

/** A byte range of one Drive file: what a ranged read needs to know to notice a changed file. */
export type DriveFileRef = Pick<DriveFileInfo, 'id' | 'name' | 'size'> & { md5Checksum?: string };

/** Quotes a value for `q`: single quotes, with `\` and `'` escaped (search-files guide). */
export function quoteQuery(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export interface DriveApiOptions {
  /** Told before each wait: what failed, which try it was, how long the wait is. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

export class DriveApi {
  readonly baseUrl: string;
  private readonly onRetry: DriveApiOptions['onRetry'];

  constructor(
    readonly http: HttpClient,
    readonly tokens: TokenProvider,
    baseUrl: string = DRIVE_URL,
    options: DriveApiOptions = {},
  ) {
    this.baseUrl = `${baseUrl.replace(/\/+$/, '')}/drive/v3`;
    this.onRetry = options.onRetry;
  }

  /**
   * After a failed try of any call: acts on decideRetry (waits, or refreshes the token) and returns
   * to try again, or throws what the failure means for the run (mapError).
   */
  private async afterFailure(
    error: unknown,
    state: RetryState,
    signal: AbortSignal | undefined,
    file: { name: string } | undefined,
  ): Promise<void> {
    if (signal?.aborted) throw signal.reason ?? error;
    const failure = classifyDriveError(error);
    const decision = decideRetry(failure, error, state, this.http.policy, Math.random);
    if (decision.action === 'refresh') {
      state.refreshed = true;
      await this.tokens.refresh();
      return;
    }
    if (decision.action === 'stop') throw this.mapError(failure, error, file);
    this.onRetry?.(error, state.attempt, decision.delayMs);
    state.attempt++;
    await sleep(decision.delayMs, undefined, signal ? { signal } : undefined);
  }

  /** A JSON call, under the one retry policy. */
  private async call<T>(path: string, signal: AbortSignal | undefined, file?: { name: string }): Promise<T> {
    const state: RetryState = { attempt: 0, refreshed: false };
    for (;;) {
      const call: JsonRequest = {
        method: 'GET',
        // Compact JSON: Google indents it unless asked not to (a system parameter of every Google
        // REST API: https://cloud.google.com/apis/docs/system-parameters).
        url: `${this.baseUrl}${path}${path.includes('?') ? '&' : '?'}prettyPrint=false`,
        headers: { authorization: `Bearer ${await this.tokens.getAccessToken()}` },
        ...(signal ? { signal } : {}),
      };
      try {
        return await this.http.jsonOnce<T>(call);
      } catch (error) {
        await this.afterFailure(error, state, signal, file);
      }
    }
  }

  private mapError(kind: DriveFailure, error: unknown, file: { name: string } | undefined): unknown {
    if (kind === 'download-quota') return downloadQuotaError(file, error);
    if (kind === 'gone' && file) return new DriveFileGoneError(file, { cause: error });
    if (kind === 'changed' && file)
      return new DriveFileChangedError(file, 'Drive answered 412 Precondition Failed', { cause: error });
    if (kind === 'scope') return scopeError(error);
    if (kind === 'unauthorized') return signInRefusedError(error);
    return error;
  }

  /** files.list: every file matching `q`, page after page; the caller may stop early. */
  async *listFiles(options: ListOptions): AsyncGenerator<DriveFileInfo> {
    let pageToken: string | undefined;
    do {
      const params = new URLSearchParams({
        q: options.q,
        pageSize: String(options.pageSize ?? PAGE_SIZE),
        fields: `nextPageToken,files(${FILE_FIELDS})`,
        ...(options.orderBy ? { orderBy: options.orderBy } : {}),
        ...(pageToken ? { pageToken } : {}),
      });
      const page = await this.call<{ files?: RawFile[]; nextPageToken?: string }>(
        `/files?${params}`,
        options.signal,
      );
      for (const raw of page.files ?? []) yield toInfo(raw);
      pageToken = page.nextPageToken;
    } while (pageToken);
  }

  /** files.get metadata. A file that is gone is a DriveFileGoneError naming `name` (or the id). */
  async getFile(id: string, signal?: AbortSignal, name?: string): Promise<DriveFileInfo> {
    const raw = await this.call<RawFile>(`/files/${encodeURIComponent(id)}?fields=${FILE_FIELDS}`, signal, {
      name: name ?? id,
    });
    return toInfo(raw);
  }

  /**
   * Throws DriveFileChangedError when the file is no longer the version `file` describes (another
   * size or md5Checksum), DriveFileGoneError when it is gone. A ranged read sees another size at
   * once; a replacement of the same size only shows here, so a part is checked after it was read.
   */
  async checkUnchanged(file: DriveFileRef, signal?: AbortSignal): Promise<DriveFileInfo> {
    const now = await this.getFile(file.id, signal, file.name);
    if (now.size !== file.size)
      throw new DriveFileChangedError(file, `${now.size} bytes instead of ${file.size}`);
    if (file.md5Checksum !== undefined && now.md5Checksum !== file.md5Checksum) {
      throw new DriveFileChangedError(file, 'its md5Checksum is not the one it had');
    }
    return now;
  }

  /** Folders (not in the trash) named exactly `name`, anywhere in the Drive. */
  async findFolders(name: string, signal?: AbortSignal): Promise<DriveFileInfo[]> {
    const folders: DriveFileInfo[] = [];
    const q = `name = ${quoteQuery(name)} and mimeType = '${FOLDER_MIME}' and trashed = false`;
    for await (const folder of this.listFiles({ q, orderBy: 'createdTime', ...(signal ? { signal } : {}) }))
      folders.push(folder);
    return folders;
  }

  /**
   * Bytes `start`..`end` (inclusive) of `file`, as they arrive. A reset or short body is retried
   * from the first byte not yet given, not from `start`; a 200 answer (the whole file, when a
   * server ignores Range) is read only up to `end`, skipping what comes before `start`, and then
   * the connection is dropped: the rest of the file is never read or held. A 206 or 200 for
   * another total size, or a 416, means the file changed under us.
   */
  async *streamRange(
    file: DriveFileRef,
    start: number,
    end: number,
    signal?: AbortSignal,
  ): AsyncGenerator<Buffer> {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end >= file.size) {
      throw new RangeError(`bytes ${start}-${end} are not inside "${file.name}" (${file.size} bytes)`);
    }
    const url = `${this.baseUrl}/files/${encodeURIComponent(file.id)}?alt=media`;
    const abort = new AbortController();
    const onAbort = () => abort.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let position = start;
    const state: RetryState = { attempt: 0, refreshed: false };
    let done = false;
    try {
      while (position <= end) {
        const from = position;
        try {
          const headers = {
            authorization: `Bearer ${await this.tokens.getAccessToken()}`,
            range: `bytes=${from}-${end}`,
          };
          const opened = await this.http.open(url, headers, abort.signal).catch((error: unknown) => {
            if (error instanceof HttpError && error.status === 416) {
              throw new DriveFileChangedError(file, 'it is shorter than before', { cause: error });
            }
            throw error;
          });
          let skip = 0;
          if (opened.status === 206) {
            const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(opened.headers['content-range'] ?? ''));
            if (!range || Number(range[1]) !== from) {
              await opened.body.dump().catch(() => undefined);
              throw new HttpError({
                status: 502,
                url,
                google: { message: 'Drive answered with another range than asked', reasons: [] },
              });
            }
            if (range[3] !== '*' && Number(range[3]) !== file.size) {
              opened.body.destroy();
              throw new DriveFileChangedError(file, `${range[3]} bytes instead of ${file.size}`);
            }
          } else {
            // 200: the whole file from byte 0.
            if (opened.size !== undefined && opened.size !== file.size) {
              opened.body.destroy();
              throw new DriveFileChangedError(file, `${opened.size} bytes instead of ${file.size}`);
            }
            skip = from;
          }
          try {
            for await (const raw of opened.body as AsyncIterable<Buffer>) {
              let chunk = raw;
              if (skip > 0) {
                if (chunk.length <= skip) {
                  skip -= chunk.length;
                  continue;
                }
                chunk = chunk.subarray(skip);
                skip = 0;
              }
              const wanted = end - position + 1;
              const past = chunk.length > wanted;
              if (past) chunk = chunk.subarray(0, wanted);
              position += chunk.length;
              if (chunk.length > 0) yield chunk;
              // A 206 ends with the range: read on to its end, so the body finishes on its own (a
              // body left before its end is destroyed with a new AbortError, stack and all, one of
              // the largest items of a Drive year's CPU profile). A 200 goes on past `end`.
              if (position > end && (past || opened.status !== 206)) break;
            }
          } finally {
            // Past `end` (a 200's rest of the file) or stopped by the caller: drop the connection.
            if (!opened.body.destroyed) opened.body.destroy();
          }
          if (position <= end) throw new ShortBodyError(position - start, end - start + 1);
          done = true;
        } catch (error) {
          if (error instanceof DriveFileChangedError || error instanceof RangeError) throw error;
          // Bytes arrived before the failure: the next try is a new one, not a repeat.
          if (position > from) state.attempt = 0;
          await this.afterFailure(error, state, signal, file);
        }
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      // Only a request still under way is aborted: abort() makes a DOMException, stack and all.
      if (!done) abort.abort();
    }
  }

  /** Bytes `start`..`end` (inclusive) of `file` in one Buffer: for small reads (zip records, sidecars). */
  async readRange(file: DriveFileRef, start: number, end: number, signal?: AbortSignal): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.streamRange(file, start, end, signal)) chunks.push(chunk);
    return Buffer.concat(chunks);
  }
}
