import path from 'node:path';
import { authError } from '../errors.ts';
import { NEW_SECRET_HINT } from './oauth-errors.ts';
import { type ReadFailure, readSmallFile } from './read-file.ts';

/** The parts of a Desktop ("installed") OAuth client file that the consent and refresh calls need. */
export interface ClientSecret {
  clientId: string;
  clientSecret: string;
  /** Consent page; becomes OAuth2Client's `endpoints.oauth2AuthBaseUrl`. */
  authUri: string;
  /** Token endpoint; becomes OAuth2Client's `endpoints.oauth2TokenUrl`. */
  tokenUri: string;
}

// Google's endpoints, used when a hand-written file leaves `auth_uri` / `token_uri` out. Downloaded
// files always carry them; only client_id, client_secret and redirect_uris are mandatory in the format:
// https://googleapis.github.io/google-api-python-client/docs/client-secrets.html
const GOOGLE_AUTH_URI = 'https://accounts.google.com/o/oauth2/auth';
const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';

const CREATE_HINT =
  'Create a Desktop OAuth client (README, "Set up Google access", step 4) and save its JSON there.';

/** Reads and checks the client secret file; every failure is a BackupError(exit 3) naming the file. */
export async function loadClientSecret(file: string): Promise<ClientSecret> {
  const read = await readSmallFile(file);
  if ('failure' in read)
    throw authError(describeReadFailure(file, read.failure), { cause: read.failure.cause });
  return parseClientSecret(read.text, file);
}

/**
 * Pure: the file's text → its Desktop client, or a BackupError(exit 3) saying what is wrong with `file`.
 * Messages name the file and the fields, never their values: the file holds the client secret.
 */
export function parseClientSecret(text: string, file: string): ClientSecret {
  const where = describeFile(file);
  // A BOM is what Windows editors add when someone re-saves the download; JSON.parse rejects it.
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed === '') {
    throw authError(`${where} is empty. ${NEW_SECRET_HINT}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(trimmed);
  } catch {
    // The SyntaxError is left out on purpose: Node quotes the text around the error, which may be the secret.
    throw authError(`${where} is not valid JSON. ${NEW_SECRET_HINT}`);
  }
  if (!isRecord(json)) {
    throw authError(`${where} is not an OAuth client file (expected a JSON object). ${NEW_SECRET_HINT}`);
  }
  const installed = json.installed;
  if (installed === undefined) {
    if (json.web !== undefined) {
      // A Web client needs a registered redirect URI and cannot use the loopback flow with any port.
      // https://developers.google.com/identity/protocols/oauth2/native-app
      throw authError(
        `${where} is for a "Web application" OAuth client; photo-backup needs a "Desktop app" client. ${CREATE_HINT}`,
      );
    }
    throw authError(
      `${where} has no "installed" section, so it is not a Desktop OAuth client. ${CREATE_HINT}`,
    );
  }
  if (!isRecord(installed)) {
    throw authError(`${where}: its "installed" section is not a JSON object. ${NEW_SECRET_HINT}`);
  }

  const missing = ['client_id', 'client_secret'].filter((key) => !isNonEmptyString(installed[key]));
  if (missing.length > 0) {
    throw authError(`${where} lacks ${missing.join(' and ')} in its "installed" section. ${NEW_SECRET_HINT}`);
  }
  const authUri = readUrl(installed, 'auth_uri', GOOGLE_AUTH_URI, where);
  const tokenUri = readUrl(installed, 'token_uri', GOOGLE_TOKEN_URI, where);
  return {
    clientId: installed.client_id as string,
    clientSecret: installed.client_secret as string,
    authUri,
    tokenUri,
  };
}

function readUrl(section: Record<string, unknown>, key: string, fallback: string, where: string): string {
  const value = section[key];
  if (value === undefined) return fallback;
  if (isNonEmptyString(value) && URL.canParse(value)) {
    const protocol = new URL(value).protocol;
    if (protocol === 'https:' || protocol === 'http:') return value;
  }
  throw authError(
    `${where}: "${key}" in its "installed" section is not an http(s) address. ${NEW_SECRET_HINT}`,
  );
}

/** "`client_secret.json` in `/home/ana/backup`", the way every message names the file. */
function describeFile(file: string): string {
  const absolute = path.resolve(file);
  return `\`${path.basename(absolute)}\` in \`${path.dirname(absolute)}\``;
}

function describeReadFailure(file: string, failure: ReadFailure): string {
  const absolute = path.resolve(file);
  const name = `\`${path.basename(absolute)}\``;
  const folder = `\`${path.dirname(absolute)}\``;
  switch (failure.kind) {
    case 'missing':
      return `${name} not found in ${folder}. ${CREATE_HINT}`;
    case 'folder':
      return `${name} in ${folder} is a folder, not a file. ${CREATE_HINT}`;
    case 'denied':
      return `${name} in ${folder} cannot be read (permission denied). Let your user read it.`;
    default:
      return `${name} in ${folder} cannot be read (${failure.code}). ${CREATE_HINT}`;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}
