/**
 * Authorized JSON calls to a Google API (Library or Picker): the Bearer header, the retry policy
 * of http.ts, and one token refresh after a 401 (an access token can expire mid-run).
 */
import { type HttpClient, HttpError, type JsonRequest } from '../http.ts';

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

  /** Calls `path` (relative to the API's base URL); retries faults, refreshes the token once on a 401. */
  async call<T>(call: Omit<JsonRequest, 'url' | 'headers'> & { path: string }): Promise<T> {
    let refreshed = false;
    const url = `${this.baseUrl}${call.path}`;
    for (;;) {
      const headers = await this.authorization();
      try {
        return await this.http.json<T>({ ...call, url, headers });
      } catch (error) {
        if (error instanceof HttpError && error.kind === 'unauthorized' && !refreshed) {
          refreshed = true;
          await this.tokens.refresh();
          continue;
        }
        throw error;
      }
    }
  }
}
