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

/** True when the token endpoint refused the client for this token (another client's refresh token). */
export function isClientRefused(error: unknown): boolean {
  const code = oauthErrorCode(error);
  return code === 'invalid_client' || code === 'unauthorized_client';
}

/** "HTTP 400, unauthorized_client": the status and the OAuth error code, nothing else from the answer. */
export function describeOAuthAnswer(error: unknown): string {
  if (!isGaxiosError(error)) return 'refused';
  const status = error.response?.status;
  const code = oauthErrorCode(error);
  if (status === undefined) return code ?? 'refused';
  return code ? `HTTP ${status}, ${code}` : `HTTP ${status}`;
}

/**
 * Since 2025 Google's console shows a client secret only when it is created; later it is masked, so
 * the JSON cannot be downloaded again with its secret (support.google.com/cloud/answer/6158849).
 */
export const NEW_SECRET_HINT =
  'In Google Cloud console (Google Auth Platform → Clients → your Desktop client) add a new secret, or create a new Desktop client, and download that JSON as `client_secret.json` (README, "Set up Google access"): the console shows a secret only once.';

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
  if (oauthError === 'deleted_client') {
    // Google deletes OAuth clients left unused for months (Google Developers Blog, "Usability and safety
    // updates to Google Auth Platform", 2025-04-28); the token endpoint then answers 401 deleted_client
    // (googleapis/google-api-nodejs-client#1256).
    return authError(
      `Could not ${action}: the OAuth client in \`client_secret.json\` was deleted in Google Cloud (${detail}); Google deletes clients that go unused for months. Create a new Desktop client (Google Auth Platform → Clients → Create client → Desktop app), download its JSON when it is shown, save it as \`client_secret.json\` and run again (README, "Set up Google access", step 4).`,
    );
  }
  if (oauthError === 'invalid_client' || oauthError === 'unauthorized_client') {
    return authError(
      `Could not ${action}: Google's sign-in server ${host} refused the OAuth client (${detail}): the client secret in \`client_secret.json\` is wrong or was deleted. ${NEW_SECRET_HINT}`,
    );
  }
  return authError(
    `Could not ${action}: Google's sign-in server ${host} refused (${detail}). Run photo-backup again; if it keeps failing, check the OAuth client in Google Cloud console (README, "Set up Google access").`,
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
