/**
 * Pure: what `photo-backup auth status` says about a client secret and a saved sign-in. It names
 * the client (its id is public: Google puts it in every consent address) and never a secret or a
 * token. Whether the app is in Testing cannot be read from a token, so the 7-day end is said as a
 * condition: https://developers.google.com/identity/protocols/oauth2#expiration ("A Google Cloud
 * Platform project with an OAuth consent screen configured for an external user type and a
 * publishing status of "Testing" is issued a refresh token expiring in 7 days.")
 */
import { zoneOffsetMinutes } from '../timezone.ts';
import { LIBRARY_SCOPE, PICKER_SCOPE, splitScopes } from './scopes.ts';
import { checkToken, type TokenFileRead } from './token-file.ts';

export const TESTING_LIFETIME_MS = 7 * 24 * 3_600_000;

export interface SignInFacts {
  /** "`client_secret.json` in `/dir`". */
  clientSecretFile: string;
  /** The client id, or why the client secret cannot be used (its loader's message). */
  client: { id: string } | { problem: string };
  /** "`token.json` in `/dir`". */
  tokenFile: string;
  token: TokenFileRead;
  now: number;
  /** IANA zone (or 'UTC') the times are shown in. */
  timeZone: string;
}

export interface SignInStatus {
  lines: string[];
  /** The same facts for `auth status --json` (docs/events.md): ids, scopes and times, never a secret or token. */
  json: SignInJson;
  /** True when a run would use this sign-in without asking (it may still find it expired at Google). */
  signedIn: boolean;
}

/** One JSON object; times are ISO 8601 UTC, null when unknown or not applicable. */
export interface SignInJson {
  signedIn: boolean;
  clientId: string | null;
  /** Why the client secret cannot be used, when it cannot. */
  clientProblem: string | null;
  /** 'ok', 'missing' or 'unusable' (the token file). */
  tokenFile: TokenFileRead['status'];
  scopes: string[];
  hasRefreshToken: boolean;
  refreshTokenIssuedAt: string | null;
  /** When a Testing app's refresh token stops working: issued + 7 days. */
  testingExpiresAt: string | null;
  accessTokenExpiresAt: string | null;
  /** Why this sign-in cannot be used (another client's, …), when it cannot. */
  problem: string | null;
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

const SCOPE_USE: Record<string, string> = {
  [LIBRARY_SCOPE]: 'the library source',
  [PICKER_SCOPE]: 'the picker source',
};

/** `2026-12-09 17:40 UTC`, or `2026-12-09 18:40 UTC+01:00` in another zone. */
export function formatInstant(ms: number, timeZone: string): string {
  const offset = zoneOffsetMinutes(timeZone, ms);
  const local = new Date(ms + offset * 60_000).toISOString();
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  const zone =
    offset === 0
      ? 'UTC'
      : `UTC${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${local.slice(0, 10)} ${local.slice(11, 16)} ${zone}`;
}

export function describeSignIn(facts: SignInFacts): SignInStatus {
  const { lines, signedIn, problem } = describeLines(facts);
  const client = 'id' in facts.client ? facts.client : undefined;
  const read = facts.token;
  const token = read.status === 'ok' ? read.token : undefined;
  const issued = token?.refresh_token ? token.refresh_token_issued_at : undefined;
  const json: SignInJson = {
    signedIn,
    clientId: client?.id ?? null,
    clientProblem: 'problem' in facts.client ? facts.client.problem : null,
    tokenFile: read.status,
    scopes: token ? splitScopes(token.scope) : [],
    hasRefreshToken: token?.refresh_token !== undefined && token.refresh_token !== '',
    refreshTokenIssuedAt: iso(issued),
    testingExpiresAt: iso(issued === undefined ? undefined : issued + TESTING_LIFETIME_MS),
    accessTokenExpiresAt: iso(token?.expiry_date),
    problem: problem ?? (read.status === 'unusable' ? read.reason : null),
  };
  return { lines, signedIn, json };
}

function describeLines(facts: SignInFacts): { lines: string[]; signedIn: boolean; problem?: string } {
  const at = (ms: number) => formatInstant(ms, facts.timeZone);
  const lines: string[] = [];
  const client = 'id' in facts.client ? facts.client : undefined;
  lines.push(
    client
      ? `Client: ${client.id} (${facts.clientSecretFile})`
      : `Client: none usable: ${'problem' in facts.client ? facts.client.problem : ''}`,
  );
  const read = facts.token;
  if (read.status === 'missing') {
    lines.push(
      `Sign-in: none (${facts.tokenFile} not found). The next run of the library or picker source asks Google for one at a terminal.`,
    );
    return { lines, signedIn: false };
  }
  if (read.status === 'unusable') {
    lines.push(
      `Sign-in: ${facts.tokenFile} ${read.reason}, so it cannot be used; the next run at a terminal signs in again.`,
    );
    return { lines, signedIn: false };
  }
  const token = read.token;
  lines.push(`Sign-in: ${facts.tokenFile}`);
  const problem = client ? checkToken(token, { clientId: client.id }) : undefined;
  if (token.client_id !== undefined && client && token.client_id !== client.id)
    lines.push(`  issued to another client: ${token.client_id}`);
  const scopes = splitScopes(token.scope);
  if (scopes.length === 0) lines.push('  scopes granted: none recorded');
  else {
    lines.push('  scopes granted:');
    for (const scope of scopes) lines.push(`    ${scope}${SCOPE_USE[scope] ? ` (${SCOPE_USE[scope]})` : ''}`);
  }
  if (!token.refresh_token) {
    lines.push('  refresh token: none, so this sign-in ends with its access token');
  } else if (token.refresh_token_issued_at === undefined) {
    lines.push(
      '  refresh token issued: unknown (saved before photo-backup kept the time). If your app is in Testing, Google ends it 7 days after the consent.',
    );
  } else {
    const issued = token.refresh_token_issued_at;
    const ends = issued + TESTING_LIFETIME_MS;
    lines.push(`  refresh token issued: ${at(issued)}`);
    lines.push(
      ends > facts.now
        ? `  if your app is in Testing, it stops working on ${at(ends)} (Google ends a Testing app's sign-in after 7 days; a published app's lasts)`
        : `  if your app is in Testing, it stopped working on ${at(ends)}: the next run at a terminal signs in again`,
    );
  }
  if (token.expiry_date !== undefined) {
    lines.push(
      token.expiry_date > facts.now
        ? `  access token: valid until ${at(token.expiry_date)}, renewed by itself after that`
        : `  access token: expired at ${at(token.expiry_date)}, renewed by itself at the next run`,
    );
  }
  if (problem) lines.push(`  not usable: it ${problem}; the next run at a terminal signs in again.`);
  return {
    lines,
    signedIn: client !== undefined && problem === undefined,
    ...(problem !== undefined ? { problem } : {}),
  };
}
