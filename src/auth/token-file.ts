import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Credentials } from 'google-auth-library';
import { readSmallFile } from './read-file.ts';

/**
 * The token file: google-auth-library's `Credentials` JSON plus the `client_id` it was issued to, so a
 * token left from another OAuth client (the user replaced client_secret.json) is not sent to Google.
 * photo-backup always writes `client_id`; a plain `Credentials` file without it (what many of Google's
 * samples write) is read too, and taken to be the configured client's.
 */
export interface SavedToken {
  client_id?: string;
  access_token?: string;
  refresh_token?: string;
  /** Milliseconds since the epoch, as google-auth-library computes it from `expires_in`. */
  expiry_date?: number;
  /**
   * When this refresh token was first saved (ms since the epoch), photo-backup's own field: Google's
   * answer says nothing of it, and a Testing app's refresh token ends 7 days after its consent
   * (https://developers.google.com/identity/protocols/oauth2#expiration). Files written before it
   * was kept have none: the issue time is then unknown.
   */
  refresh_token_issued_at?: number;
  /** Space-delimited granted scopes. */
  scope?: string;
  token_type?: string;
  id_token?: string;
}

export type TokenFileRead =
  | { status: 'ok'; token: SavedToken }
  | { status: 'missing' }
  /** `reason` completes "`token.json` in `/dir` …", e.g. "is not valid JSON". */
  | { status: 'unusable'; reason: string };

export interface TokenNeeds {
  clientId: string;
}

const STRING_FIELDS = [
  'client_id',
  'access_token',
  'refresh_token',
  'scope',
  'token_type',
  'id_token',
] as const;

/** Reads the token file; a missing file is `missing`, anything unreadable or corrupt is `unusable`. */
export async function readTokenFile(file: string): Promise<TokenFileRead> {
  const read = await readSmallFile(file);
  if ('failure' in read) {
    if (read.failure.kind === 'missing') return { status: 'missing' };
    return { status: 'unusable', reason: `cannot be read (${read.failure.code})` };
  }
  return parseTokenFile(read.text);
}

/** Pure: the token file's text → a saved token, or why it cannot be used. Never quotes the text. */
export function parseTokenFile(text: string): TokenFileRead {
  if (text.trim() === '') return { status: 'unusable', reason: 'is empty' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { status: 'unusable', reason: 'is not valid JSON' };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { status: 'unusable', reason: 'is not a saved sign-in (expected a JSON object)' };
  }
  const record = json as Record<string, unknown>;
  const token: Partial<SavedToken> = {};
  for (const key of STRING_FIELDS) {
    const value = record[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') return { status: 'unusable', reason: `has a malformed "${key}"` };
    token[key] = value;
  }
  for (const key of ['expiry_date', 'refresh_token_issued_at'] as const) {
    const value = record[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      return { status: 'unusable', reason: `has a malformed "${key}"` };
    }
    token[key] = value;
  }
  return { status: 'ok', token: token as SavedToken };
}

/**
 * Pure: why `token` cannot be used for this client, or undefined when it can. A token without
 * `client_id` is taken to be this client's. Scopes are not checked here: each source needs only its
 * own, and a missing one is asked for alone. The reason completes "`token.json` in `/dir` …".
 */
export function checkToken(token: SavedToken, needs: TokenNeeds): string | undefined {
  if (token.client_id !== undefined && token.client_id !== needs.clientId) {
    return 'belongs to another OAuth client (client_secret.json was replaced)';
  }
  if (!token.refresh_token) return 'has no refresh token';
  return undefined;
}

/**
 * Pure: `saved` updated with what the token endpoint answered at `now` (ms since the epoch). A
 * refresh answer carries no `refresh_token` and may carry no `scope`: the old ones are kept (RFC 6749
 * §5.1 and §6, and google-auth-library's README: "The refresh_token is only returned on the first
 * authorization"). A refresh token not seen before is stamped with `now` as its issue time; the same
 * one answered again keeps its time (or its lack of one).
 */
export function mergeTokens(saved: SavedToken, fresh: Credentials, now: number): SavedToken {
  const merged: SavedToken = { ...saved };
  for (const key of ['access_token', 'refresh_token', 'scope', 'token_type', 'id_token'] as const) {
    const value = fresh[key];
    if (typeof value === 'string' && value !== '') merged[key] = value;
  }
  if (typeof fresh.expiry_date === 'number') merged.expiry_date = fresh.expiry_date;
  if (merged.refresh_token !== undefined && merged.refresh_token !== saved.refresh_token)
    merged.refresh_token_issued_at = now;
  return merged;
}

/**
 * Writes the token file atomically with mode 0600: a temporary file in the same folder (so the rename
 * cannot cross file systems), flushed, then renamed over the old file. A crash leaves the old file or
 * the new one, never half of one, and no other user can read the refresh token at any moment.
 */
export async function saveToken(file: string, token: SavedToken): Promise<void> {
  const absolute = path.resolve(file);
  const folder = path.dirname(absolute);
  await mkdir(folder, { recursive: true });
  const temporary = path.join(
    folder,
    `.${path.basename(absolute)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
  const handle = await open(temporary, 'wx', 0o600);
  try {
    try {
      // The umask can only take bits away from 0600; chmod makes the mode exact anyway.
      await handle.chmod(0o600);
      await handle.writeFile(`${JSON.stringify(orderFields(token), null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, absolute);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** A stable field order, so the file reads the same way each time it is written. */
function orderFields(token: SavedToken): SavedToken {
  const ordered: SavedToken = token.client_id === undefined ? {} : { client_id: token.client_id };
  for (const key of [
    'access_token',
    'refresh_token',
    'expiry_date',
    'refresh_token_issued_at',
    'scope',
    'token_type',
    'id_token',
  ] as const) {
    if (token[key] !== undefined) Object.assign(ordered, { [key]: token[key] });
  }
  return ordered;
}
