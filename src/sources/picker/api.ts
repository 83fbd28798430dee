/**
 * The Photos Picker API v1 calls: sessions.create/get/delete and mediaItems.list.
 * https://developers.google.com/photos/picker/reference/rest
 * Flow (https://developers.google.com/photos/picker/guides/get-started-picker): create a session,
 * send the user to its pickerUri, poll sessions.get until mediaItemsSet, list, download, delete.
 *
 * One file on purpose (over 300 lines): the four calls share one error mapping (Google's answers
 * → messages and exit codes), which is most of the file and is clearest beside the calls.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { crashPoint } from '../../crash-hook.ts';
import { authError, BackupError, ExitCode, quotaError } from '../../errors.ts';
import { classifyError, HttpError } from '../../http.ts';
import { type GoogleApi, serviceDisabledError } from '../google-api.ts';

/** Google's hard cap per session: "Values above 2000 will be coerced to 2000." */
export const MAX_ITEMS_PER_SESSION = 2000;
/** mediaItems.list: "The maximum value is 100; values above 100 will be coerced to 100." */
const PAGE_SIZE = 100;
/** When the server gives no pollingConfig (it stops sending it once items are picked). */
const DEFAULT_POLL_MS = 5000;
/** A floor against a hot loop if a server ever advises "0s". */
const MIN_POLL_MS = 5;
/** FAILED_PRECONDITION answers to mediaItems.list after the session said it was picked. */
const MAX_NOT_PICKED_ANSWERS = 30;

/** https://developers.google.com/photos/picker/reference/rest/v1/sessions */
export interface PickingSession {
  id: string;
  pickerUri: string;
  /** "only populated if media items have not yet been picked for this session" */
  pollingConfig?: { pollInterval?: string; timeoutIn?: string };
  expireTime?: string;
  pickingConfig?: { maxItemCount?: string };
  mediaItemsSet?: boolean;
}

/** https://developers.google.com/photos/picker/reference/rest/v1/mediaItems */
export interface PickedMediaItem {
  id: string;
  createTime?: string;
  type?: 'TYPE_UNSPECIFIED' | 'PHOTO' | 'VIDEO';
  mediaFile?: {
    baseUrl?: string;
    mimeType?: string;
    filename?: string;
    mediaFileMetadata?: {
      width?: number;
      height?: number;
      cameraMake?: string;
      cameraModel?: string;
      videoMetadata?: { fps?: number; processingStatus?: string };
      photoMetadata?: Record<string, unknown>;
    };
  };
}

interface ListResponse {
  mediaItems?: PickedMediaItem[];
  nextPageToken?: string;
}

/** A protobuf Duration in JSON ("3.5s", "1800s") in milliseconds; undefined when unreadable. Pure. */
export function parseDuration(text: string | undefined): number | undefined {
  if (typeof text !== 'string') return undefined;
  const match = /^(\d+(?:\.\d+)?)s$/.exec(text.trim());
  return match?.[1] === undefined ? undefined : Math.round(Number(match[1]) * 1000);
}

/** mediaItems.list before the user pressed Done: "A FAILED_PRECONDITION error is returned…" */
export function isNotPickedYet(error: unknown): boolean {
  return error instanceof HttpError && error.google.status === 'FAILED_PRECONDITION';
}

/** A session Google no longer knows: deleted, or past its expireTime. */
export function isSessionGone(error: unknown): boolean {
  return error instanceof HttpError && (error.status === 404 || error.google.status === 'NOT_FOUND');
}

/**
 * RESOURCE_EXHAUSTED from sessions.create: "If the client application creates too many sessions
 * per user, a RESOURCE_EXHAUSTED error is returned"
 * (https://developers.google.com/photos/picker/reference/rest/v1/sessions/create). Its details are
 * undocumented: it may or may not carry an ErrorInfo `RATE_LIMIT_EXCEEDED`, so both are taken as
 * "too many sessions" and not retried (waiting 30 s six times would not bring back sessions that
 * expire within hours). Only an answer that names a per-minute quota (`quota_limit` …PerMinute…,
 * as Google's quota errors do) or says when to come back (`Retry-After`) is a short rate limit,
 * retried as usual.
 */
export function isTooManySessions(error: unknown): boolean {
  if (!(error instanceof HttpError)) return false;
  if (error.google.status !== 'RESOURCE_EXHAUSTED' && error.status !== 429) return false;
  if (error.kind === 'daily-quota') return false;
  const perMinute = /PerMinute/i.test(error.google.quotaLimit ?? '') || error.retryAfterMs !== undefined;
  return !perMinute;
}

export function tooManySessionsError(cause: unknown): BackupError {
  const said =
    cause instanceof HttpError && cause.google.message ? ` Google said: "${cause.google.message}"` : '';
  return quotaError(
    'Google Photos refused to start a new picking session: this app has created too many sessions for ' +
      `your account, or too many at once (RESOURCE_EXHAUSTED).${said} Unused sessions expire on their own ` +
      'within about an hour; run the same command again later.',
    { cause },
  );
}

/**
 * A 403 on a Picker call. Only a token without the picker scope (Google's "Request had insufficient
 * authentication scopes", ErrorInfo ACCESS_TOKEN_SCOPE_INSUFFICIENT) is mended by signing in again;
 * any other refusal is about the Cloud project or the account, and a new sign-in would not change it.
 */
function refusedError(cause: HttpError): BackupError {
  const said = cause.google.message ? ` Google said: "${cause.google.message.replace(/\.$/, '')}".` : '';
  const scope =
    cause.google.reasons.includes('ACCESS_TOKEN_SCOPE_INSUFFICIENT') ||
    /insufficient authentication scopes/i.test(cause.google.message ?? '');
  if (scope)
    return authError(
      `Google refused the Photos Picker API (403 PERMISSION_DENIED): the saved sign-in does not allow picking.${said} ` +
        'Delete token.json (beside client_secret.json) and run again to sign in, allowing access to the photos you pick.',
      { cause },
    );
  return authError(
    `Google refused the Photos Picker API (403 PERMISSION_DENIED).${said} Signing in again would not change this: ` +
      'check the Google Cloud project of your OAuth client (the Photos Picker API enabled, the picker scope on its ' +
      'OAuth consent screen, your account allowed to use the app), then run the same command again. Keep token.json.',
    { cause },
  );
}

/**
 * sessions.create's FAILED_PRECONDITION: "If the user doesn't have an active Google Photos account,
 * a FAILED_PRECONDITION error is returned." The sign-in works; the account has no Google Photos.
 */
export function noPhotosAccountError(cause: HttpError): BackupError {
  return authError(
    'Google Photos cannot start a picking session: the Google account you signed in with has no active ' +
      'Google Photos (FAILED_PRECONDITION). If it is the account that holds your photos, open ' +
      'https://photos.google.com with it once and run again; to use another account, delete token.json ' +
      '(beside client_secret.json) and run again to sign in with that one.',
    { cause },
  );
}

/** Turns a Picker API failure the user can act on into a BackupError; anything else as it was. */
export function explainApiError(error: unknown): unknown {
  if (error instanceof HttpError && error.kind === 'service-disabled') return serviceDisabledError(error);
  if (error instanceof HttpError && error.kind === 'permission') return refusedError(error);
  return error;
}

/**
 * sessions.create. It is called through the HTTP client directly (not GoogleApi.call) so that
 * "too many sessions" is not retried for minutes; a 401 still gets one token refresh.
 */
export async function createSession(api: GoogleApi, signal: AbortSignal): Promise<PickingSession> {
  let refreshed = false;
  for (;;) {
    try {
      return await api.http.json<PickingSession>(
        {
          method: 'POST',
          url: `${api.baseUrl}/v1/sessions`,
          headers: await api.authorization(),
          body: { pickingConfig: { maxItemCount: String(MAX_ITEMS_PER_SESSION) } },
          signal,
        },
        (error) => classifyError(error) === 'retry' && !isTooManySessions(error),
      );
    } catch (error) {
      if (error instanceof HttpError && error.kind === 'unauthorized' && !refreshed) {
        refreshed = true;
        await api.tokens.refresh();
        continue;
      }
      if (error instanceof HttpError && error.kind === 'service-disabled') throw serviceDisabledError(error);
      if (isTooManySessions(error)) throw tooManySessionsError(error);
      if (error instanceof HttpError && error.google.status === 'FAILED_PRECONDITION')
        throw noPhotosAccountError(error);
      throw explainApiError(error);
    }
  }
}

export function getSession(api: GoogleApi, id: string, signal: AbortSignal): Promise<PickingSession> {
  return api.call<PickingSession>({ method: 'GET', path: `/v1/sessions/${encodeURIComponent(id)}`, signal });
}

/**
 * sessions.delete: "delete the session after the user has picked media items and your app has
 * retrieved the media item bytes" (https://developers.google.com/photos/picker/guides/sessions).
 * It runs during cleanup, after the run's signal may have been aborted, so it has its own deadline.
 */
export async function deleteSession(api: GoogleApi, id: string): Promise<void> {
  try {
    await api.call({
      method: 'DELETE',
      path: `/v1/sessions/${encodeURIComponent(id)}`,
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    if (isSessionGone(error)) return; // expired already: nothing to delete
    throw error;
  }
}

export class PickingTimeoutError extends BackupError {
  constructor(year: number, waitedMs: number, cause?: unknown) {
    const minutes = Math.max(1, Math.round(waitedMs / 60_000));
    super(
      `Nobody pressed Done in Google Photos within ${minutes} minute${minutes === 1 ? '' : 's'}, so Google ended ` +
        `the picking session. Run the same command again, pick the photos of ${year} and press Done.`,
      ExitCode.auth,
      cause === undefined ? undefined : { cause },
    );
    this.name = 'PickingTimeoutError';
  }
}

export interface WaitOptions {
  year: number;
  signal: AbortSignal;
  /** Overrides the server's pollInterval (the demo polls faster). */
  pollIntervalMs?: number;
}

/**
 * Polls sessions.get at the server's pollingConfig.pollInterval until mediaItemsSet, and gives up
 * when timeoutIn has passed ("A value of 0 indicates that the client should stop polling").
 */
export async function waitUntilPicked(
  api: GoogleApi,
  session: PickingSession,
  options: WaitOptions,
): Promise<PickingSession> {
  const started = Date.now();
  let deadline = Number.POSITIVE_INFINITY;
  let current = session;
  for (;;) {
    if (current.mediaItemsSet) return current;
    const timeout = parseDuration(current.pollingConfig?.timeoutIn);
    if (timeout !== undefined) deadline = Math.min(deadline, Date.now() + timeout);
    if (Date.now() >= deadline) throw new PickingTimeoutError(options.year, Date.now() - started);
    const interval =
      options.pollIntervalMs ?? parseDuration(current.pollingConfig?.pollInterval) ?? DEFAULT_POLL_MS;
    await sleep(Math.max(MIN_POLL_MS, Math.min(interval, deadline - Date.now())), undefined, {
      signal: options.signal,
    });
    try {
      current = await getSession(api, session.id, options.signal);
    } catch (error) {
      if (isSessionGone(error)) throw new PickingTimeoutError(options.year, Date.now() - started, error);
      throw explainApiError(error);
    }
  }
}

/**
 * Pages through mediaItems.list for a session (page size 100). The next page is requested as soon
 * as a page arrives, so listing overlaps with downloads. A FAILED_PRECONDITION on the first page
 * means picking is not finished: poll the session again and retry, not an error.
 */
export async function* listPickedItems(
  api: GoogleApi,
  session: PickingSession,
  options: WaitOptions,
): AsyncGenerator<{ item: PickedMediaItem; fetchedAt: number }> {
  const fetchPage = (pageToken?: string) => {
    const query = new URLSearchParams({ sessionId: session.id, pageSize: String(PAGE_SIZE) });
    if (pageToken) query.set('pageToken', pageToken);
    return api.call<ListResponse>({ method: 'GET', path: `/v1/mediaItems?${query}`, signal: options.signal });
  };
  let first: ListResponse | undefined;
  let waited = session;
  for (let attempt = 1; first === undefined; attempt++) {
    try {
      first = await fetchPage();
    } catch (error) {
      // A bound for a session that says "picked" while the list keeps saying "not yet".
      if (!isNotPickedYet(error) || attempt > MAX_NOT_PICKED_ANSWERS) throw explainApiError(error);
      // Picking is not done (or Google has not caught up): wait one interval, poll, and list again.
      waited = await waitUntilPicked(api, { ...waited, mediaItemsSet: false }, options);
    }
  }
  const seenTokens = new Set<string>();
  let response = first;
  for (;;) {
    await crashPoint('listed-page');
    const fetchedAt = Date.now();
    const token = response.nextPageToken;
    let next: Promise<ListResponse> | undefined;
    if (token && !seenTokens.has(token)) {
      seenTokens.add(token);
      next = fetchPage(token);
      next.catch(() => undefined); // handled when awaited
    }
    for (const item of response.mediaItems ?? []) {
      if (item && typeof item.id === 'string') yield { item, fetchedAt };
    }
    if (!next) return;
    try {
      response = await next;
    } catch (error) {
      throw explainApiError(error);
    }
  }
}
