/**
 * Authorized JSON calls to a Google API (Library or Picker): the Bearer header, the retry policy
 * of http.ts, and one token refresh after a 401 (an access token can expire mid-run).
 */
import { BackupError, ExitCode } from '../errors.ts';
import { type HttpClient, HttpError, type JsonRequest, safeActivationUrl } from '../http.ts';

/** The API's name for a message: Google's `serviceTitle`, else from the host it answered for. */
function apiTitle(error: HttpError): string {
  const named = error.google.service;
  if (named && /^[\w .-]{1,60}$/.test(named) && !named.includes('.googleapis.com')) return named;
  const where = `${named ?? ''} ${error.url}`;
  if (/photospicker/i.test(where)) return 'Photos Picker API';
  if (/photoslibrary/i.test(where)) return 'Photos Library API';
  return 'Google Photos API';
}

/**
 * 403 SERVICE_DISABLED: the API is not enabled in the Google Cloud project of the OAuth client,
 * or was enabled only minutes ago (hermanho/MMM-GooglePhotos#204). The sign-in is fine, so the
 * message never says to delete the token: signing in again would not help and would loop.
 */
export class ServiceDisabledError extends BackupError {
  constructor(message: string, cause: HttpError) {
    super(message, ExitCode.auth, { cause });
    this.name = 'ServiceDisabledError';
  }
}

export function serviceDisabledError(error: HttpError): ServiceDisabledError {
  const title = apiTitle(error);
  const link = safeActivationUrl(error.google);
  const where = link
    ? `Enable it here: ${link}`
    : `Enable it in the Google Cloud console: APIs & Services → Library → "${title}" → Enable.`;
  return new ServiceDisabledError(
    `The ${title} is not enabled in the Google Cloud project of your OAuth client (Google answered 403 SERVICE_DISABLED). ` +
      `${where}\nThen wait a few minutes (Google takes a while to notice) and run the same command again. ` +
      'Your sign-in is fine: keep token.json.',
    error,
  );
}

/** What the API clients need from src/auth: a token, and a forced refresh after a 401. */
export interface TokenProvider {
  getAccessToken(): Promise<string>;
  refresh(): Promise<string>;
}

export class GoogleApi {
  readonly http: HttpClient;
  readonly tokens: TokenProvider;
  readonly baseUrl: string;

  constructor(http: HttpClient, tokens: TokenProvider, baseUrl: string) {
    this.http = http;
    this.tokens = tokens;
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  async authorization(): Promise<Record<string, string>> {
    return { authorization: `Bearer ${await this.tokens.getAccessToken()}` };
  }

  /**
   * Calls `path` (relative to the API's base URL); retries faults, refreshes the token once on a 401.
   * The answer comes without the indentation Google adds by default, and with only `fields` when
   * given (a partial response): both are system parameters of every Google REST API
   * (https://cloud.google.com/apis/docs/system-parameters), fewer bytes to send and to parse.
   */
  async call<T>(call: Omit<JsonRequest, 'url' | 'headers'> & { path: string; fields?: string }): Promise<T> {
    let refreshed = false;
    const { fields, ...request } = call;
    const query = `prettyPrint=false${fields ? `&fields=${encodeURIComponent(fields)}` : ''}`;
    const url = `${this.baseUrl}${call.path}${call.path.includes('?') ? '&' : '?'}${query}`;
    for (;;) {
      const headers = await this.authorization();
      try {
        return await this.http.json<T>({ ...request, url, headers });
      } catch (error) {
        if (error instanceof HttpError && error.kind === 'unauthorized' && !refreshed) {
          refreshed = true;
          await this.tokens.refresh();
          continue;
        }
        if (error instanceof HttpError && error.kind === 'service-disabled')
          throw serviceDisabledError(error);
        throw error;
      }
    }
  }
}
