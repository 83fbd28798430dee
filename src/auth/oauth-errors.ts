import { authError, type BackupError } from '../errors.ts';
import { isGaxiosError } from './google-auth.ts';

/**
 * google-auth-library fails with a GaxiosError whose `config` holds the request, body included: the
 * refresh token, the code, the verifier, the client secret (gaxios's redactor misses some of these).
 * So a GaxiosError is never kept as a `cause` or quoted; only its status and the OAuth `error` code
 * (RFC 6749 §5.2) go into our messages.
 */

/** True when the token endpoint answered `invalid_grant`: refresh token expired or revoked. */
export function isInvalidGrant(error: unknown): boolean {
  return oauthErrorCode(error) === 'invalid_grant';
}

/**
 * A clean BackupError(exit 3) for a failed call to the token endpoint, or undefined when `error` is not
 * an HTTP failure (a bug, to be rethrown as is). `action` completes "Could not … ".
 */
export function toAuthError(error: unknown, action: string, endpoint: string): BackupError | undefined {
  if (!isGaxiosError(error)) return undefined;
  const host = safeHost(endpoint);
  const status = error.response?.status;
  if (status === undefined) {
    const code =
      typeof error.code === 'string' && /^[A-Za-z_]{1,40}$/.test(error.code) ? ` (${error.code})` : '';
    return authError(
      `Could not ${action}: Google's sign-in server ${host} did not answer${code}. Check the network connection and run again.`,
    );
  }
  const oauthError = oauthErrorCode(error);
  const detail = oauthError ? `HTTP ${status}, ${oauthError}` : `HTTP ${status}`;
  if (oauthError === 'invalid_client' || oauthError === 'unauthorized_client') {
    return authError(
      `Could not ${action}: Google's sign-in server ${host} refused the OAuth client (${detail}). Check that \`client_secret.json\` is the current JSON of a Desktop OAuth client (README, step 3).`,
    );
  }
  return authError(
    `Could not ${action}: Google's sign-in server ${host} refused (${detail}). Run photo-backup again; if it keeps failing, check the OAuth client in Google Cloud console (README, step 3).`,
  );
}

function oauthErrorCode(error: unknown): string | undefined {
  if (!isGaxiosError(error)) return undefined;
  const data: unknown = error.response?.data;
  let code: unknown;
  if (typeof data === 'object' && data !== null && 'error' in data) code = data.error;
  else if (typeof data === 'string') {
    // A body gaxios could not parse as JSON still says which error it was.
    try {
      code = (JSON.parse(data) as { error?: unknown }).error;
    } catch {
      code = undefined;
    }
  }
  // Only a plain code is ever repeated in a message, never free text from the answer.
  return typeof code === 'string' && /^[a-z_]{1,40}$/.test(code) ? code : undefined;
}

function safeHost(endpoint: string): string {
  return URL.canParse(endpoint) ? `\`${new URL(endpoint).host}\`` : '';
}
