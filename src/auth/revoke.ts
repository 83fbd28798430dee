/**
 * Google's revoke endpoint: POST the token, form-encoded, and Google ends the grant.
 * https://developers.google.com/identity/protocols/oauth2/native-app#tokenrevoke — "If the
 * revocation is successfully processed, then the HTTP status code of the response is 200. For
 * error conditions, an HTTP status code 400 is returned along with an error code." A refresh token
 * is sent when there is one: revoking it ends the access tokens issued with it too.
 */
import { loadUndici } from '../http.ts';
import type { SavedToken } from './token-file.ts';

export const REVOKE_URL = 'https://oauth2.googleapis.com/revoke';

export type RevokeOutcome =
  /** Google ended the grant. */
  | { kind: 'revoked' }
  /** Google no longer knew the token (400 invalid_token): it had expired or was revoked already. */
  | { kind: 'gone' }
  /** Google answered, but not with a revoke: the grant may still be live. */
  | { kind: 'refused'; status: number; error: string }
  /** No answer (network, timeout): the grant may still be live. */
  | { kind: 'unreachable'; reason: string };

/** Pure: the token to send, the refresh token before the access token; undefined when the file holds neither. */
export function tokenToRevoke(token: SavedToken): string | undefined {
  return token.refresh_token || token.access_token || undefined;
}

/** Pure: the revoke endpoint's answer → what happened to the grant. */
export function revokeOutcome(status: number, body: string): RevokeOutcome {
  if (status >= 200 && status < 300) return { kind: 'revoked' };
  const error = oauthErrorCode(body) ?? `HTTP ${status}`;
  if (status === 400 && error === 'invalid_token') return { kind: 'gone' };
  return { kind: 'refused', status, error };
}

/** The `error` of an OAuth error answer (`{"error":"invalid_token",…}`), never any other text of it. */
function oauthErrorCode(body: string): string | undefined {
  try {
    const json = JSON.parse(body) as { error?: unknown };
    return typeof json.error === 'string' && /^[a-z_]{1,64}$/.test(json.error) ? json.error : undefined;
  } catch {
    return undefined;
  }
}

/** Asks Google (or the emulator at `url`) to revoke `token`. Never throws; never quotes the token. */
export async function revokeToken(
  url: string,
  token: string,
  options: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<RevokeOutcome> {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 20_000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    const { request } = await loadUndici();
    const response = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ token }).toString(),
      signal,
    });
    return revokeOutcome(response.statusCode, await response.body.text());
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const name = (error as Error).name;
    const reason = timeout.aborted ? 'no answer in time' : (code ?? name ?? 'network error');
    return { kind: 'unreachable', reason };
  }
}
