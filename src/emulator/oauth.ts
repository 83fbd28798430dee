/**
 * Google's OAuth 2.0 endpoints for an installed app: the consent URL (answered as if the user
 * clicked Allow), the token endpoint (authorization_code with PKCE S256, refresh_token) and revoke.
 * https://developers.google.com/identity/protocols/oauth2/native-app
 *
 * Over 300 lines because consent, the token endpoint and revoke share one grant store and the
 * modes (partial consent, blocked, deleted client) cut across all three.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultHooks } from './fault-hooks.ts';
import {
  type GoogleError,
  insufficientScopes,
  projectNumber,
  readBody,
  sendJson,
  sendOAuthError,
  sendText,
  unauthenticated,
} from './responses.ts';

export const libraryScope = 'https://www.googleapis.com/auth/photoslibrary.readonly.appcreateddata';
export const pickerScope = 'https://www.googleapis.com/auth/photospicker.mediaitems.readonly';
/** Drive v3 read access to files the app did not create (a restricted scope). */
export const driveScope = 'https://www.googleapis.com/auth/drive.readonly';

export type ClientKind = 'installed' | 'web';

interface OAuthClient {
  id: string;
  secret: string;
  kind: ClientKind;
}

interface AuthorizationCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
  scope: string;
  expiresAt: number;
  used: boolean;
  /** Whether the exchange returns a refresh token (access_type=offline, and a fresh consent). */
  offline: boolean;
}

interface AccessToken {
  clientId: string;
  scopes: Set<string>;
  issuedAt: number;
  expiresAt: number;
  /** The refresh token this access token came with or from: revoking one revokes the other. */
  refreshToken?: string;
}

interface RefreshToken {
  clientId: string;
  scope: string;
  revoked: boolean;
}

/** google-auth-library's `Credentials`, as written to token.json. */
export interface Credentials {
  access_token: string;
  refresh_token: string;
  scope: string;
  token_type: 'Bearer';
  expiry_date: number;
}

/** How the person and Google's console behave; switchable like the faults. */
export interface OAuthModes {
  /** The consent screen answers "Deny" (redirect with error=access_denied). */
  deny?: boolean;
  /**
   * Granular consent: the person ticks only these of the requested scopes, and the redirect and the
   * token answer list only those. Google shows one box per scope when an app asks for more than one:
   * https://developers.google.com/identity/protocols/oauth2/resources/granular-permissions
   */
  grantScopes?: string[];
  /**
   * The chosen account is not a test user of a Testing app: Google shows "Access blocked: … has not
   * completed the Google verification process … Error 403: access_denied" and never redirects back
   * (googleworkspace/cli#281, alangrainger/obsidian-google-photos#41).
   */
  blockConsent?: boolean;
  /**
   * The Desktop client was deleted: Google deletes OAuth clients left unused for months (Google
   * Developers Blog, "Usability and safety updates to Google Auth Platform", 2025-04-28). The token
   * endpoint then answers 401 deleted_client, and the consent page "Error 401: deleted_client"
   * (googleapis/google-api-nodejs-client#1256, prasmussen/gdrive#646).
   */
  deletedClient?: boolean;
  /**
   * What the token endpoint answers for a refresh token that another client was issued. Google is
   * reported answering `unauthorized_client`; `invalid_client` is what some threads quote, so both
   * are served for the client to handle alike.
   */
  otherClientError?: 'unauthorized_client' | 'invalid_client';
}

export interface OAuthOptions extends OAuthModes {
  accessTokenTtlSeconds: number;
}

function opaque(prefix: string, bytes: number): string {
  return `${prefix}${randomBytes(bytes).toString('base64url')}`;
}

/** RFC 8252 §7.3: loopback redirects may use any port. Google accepts 127.0.0.1, [::1] and localhost. */
function isLoopbackRedirect(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (
    url.protocol === 'http:' &&
    ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) &&
    url.hash === '' &&
    url.username === ''
  );
}

function consentErrorPage(res: ServerResponse, httpCode: number, error: string, detail: string): void {
  // Google shows an HTML page ("Access blocked: … Error 400: redirect_uri_mismatch") and does not redirect.
  const escapeHtml = (text: string) => text.replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
  sendText(
    res,
    httpCode,
    `<!doctype html><title>Error ${httpCode}: ${error}</title><h1>Access blocked: authorization error</h1><p>Error ${httpCode}: ${escapeHtml(error)}</p><p>${escapeHtml(detail)}</p>`,
  );
}

export class OAuthServer {
  readonly installed: OAuthClient;
  readonly web: OAuthClient;
  options: OAuthOptions;
  private readonly clients = new Map<string, OAuthClient>();
  private readonly codes = new Map<string, AuthorizationCode>();
  private readonly accessTokens = new Map<string, AccessToken>();
  private readonly refreshTokens = new Map<string, RefreshToken>();
  private readonly secrets = new Set<string>();
  /** Client+scope pairs with an offline grant: later consents without prompt=consent get no refresh token. */
  private readonly consented = new Set<string>();
  /** Scopes the person has granted each client so far, for `include_granted_scopes=true`. */
  private readonly granted = new Map<string, Set<string>>();

  constructor(
    options: OAuthOptions,
    private readonly faults: FaultHooks,
  ) {
    this.options = options;
    this.installed = {
      id: `${projectNumber}-${randomBytes(16).toString('hex')}.apps.googleusercontent.com`,
      secret: opaque('GOCSPX-', 21),
      kind: 'installed',
    };
    this.web = {
      id: `${projectNumber}-${randomBytes(16).toString('hex')}.apps.googleusercontent.com`,
      secret: opaque('GOCSPX-', 21),
      kind: 'web',
    };
    for (const client of [this.installed, this.web]) {
      this.clients.set(client.id, client);
      this.remember(client.secret);
    }
  }

  private remember(secret: string | null | undefined): void {
    if (secret) this.secrets.add(secret);
  }

  issuedSecrets(): string[] {
    return [...this.secrets];
  }

  clientSecretJson(kind: ClientKind, authUri: string, tokenUri: string): object {
    const client = kind === 'web' ? this.web : this.installed;
    return {
      [kind]: {
        client_id: client.id,
        project_id: 'photo-backup-emulator',
        auth_uri: authUri,
        token_uri: tokenUri,
        auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
        client_secret: client.secret,
        redirect_uris: ['http://localhost'],
      },
    };
  }

  private mintAccessToken(
    clientId: string,
    scope: string,
    expiresInSeconds: number,
    refreshToken?: string,
  ): string {
    const token = opaque('ya29.a0Emu', 90);
    const now = Date.now();
    this.accessTokens.set(token, {
      clientId,
      scopes: new Set(scope.split(' ').filter(Boolean)),
      issuedAt: now,
      expiresAt: now + expiresInSeconds * 1000,
      ...(refreshToken ? { refreshToken } : {}),
    });
    this.remember(token);
    return token;
  }

  private mintRefreshToken(clientId: string, scope: string): string {
    const token = opaque('1//0gEmu', 60);
    this.refreshTokens.set(token, { clientId, scope, revoked: false });
    this.remember(token);
    return token;
  }

  private grant(clientId: string, scopes: Iterable<string>): Set<string> {
    const granted = this.granted.get(clientId) ?? new Set<string>();
    for (const scope of scopes) granted.add(scope);
    this.granted.set(clientId, granted);
    return granted;
  }

  /** Credentials for token.json without going through consent; `client: 'web'` issues them to the other client. */
  issueToken(
    options: { scopes?: string[]; expiresInSeconds?: number; client?: ClientKind } = {},
  ): Credentials {
    const scopes = options.scopes ?? [libraryScope, pickerScope];
    const scope = scopes.join(' ');
    const expiresIn = options.expiresInSeconds ?? this.options.accessTokenTtlSeconds;
    const clientId = options.client === 'web' ? this.web.id : this.installed.id;
    this.grant(clientId, scopes);
    const refreshToken = this.mintRefreshToken(clientId, scope);
    return {
      access_token: this.mintAccessToken(clientId, scope, expiresIn, refreshToken),
      refresh_token: refreshToken,
      scope,
      token_type: 'Bearer',
      expiry_date: Date.now() + expiresIn * 1000,
    };
  }

  revokeRefreshTokens(): void {
    for (const token of this.refreshTokens.values()) token.revoked = true;
  }

  expireAccessTokens(): void {
    for (const token of this.accessTokens.values()) token.expiresAt = 0;
  }

  /** Checks `Authorization: Bearer …` and the scope; returns the Google error to send, if any. */
  authorize(req: IncomingMessage, scope: string): GoogleError | undefined {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) return unauthenticated();
    const token = this.accessTokens.get(match[1]);
    const now = Date.now();
    if (!token || now >= token.expiresAt) return unauthenticated();
    const earlyLifetime = this.faults.faults.accessTokenLifetimeMs;
    if (earlyLifetime !== undefined && now - token.issuedAt >= earlyLifetime) return unauthenticated();
    if (!token.scopes.has(scope)) return insufficientScopes(scope);
    return undefined;
  }

  /** GET auth_uri: validate like Google, then answer as if the user clicked Allow (or Deny). */
  handleAuthorize(res: ServerResponse, url: URL) {
    const params = url.searchParams;
    this.remember(params.get('state')); // the code_challenge is public by design (RFC 7636)
    const clientId = params.get('client_id');
    if (!clientId)
      return consentErrorPage(res, 400, 'invalid_request', 'Missing required parameter: client_id');
    const client = this.clients.get(clientId);
    if (!client) return consentErrorPage(res, 401, 'invalid_client', 'The OAuth client was not found.');
    if (this.options.deletedClient && client === this.installed) {
      return consentErrorPage(res, 401, 'deleted_client', 'The OAuth client was deleted.');
    }
    const redirectUri = params.get('redirect_uri');
    if (!redirectUri)
      return consentErrorPage(res, 400, 'invalid_request', 'Missing required parameter: redirect_uri');
    if (redirectUri.startsWith('urn:ietf:wg:oauth:2.0:oob') || redirectUri === 'oob') {
      return consentErrorPage(
        res,
        400,
        'invalid_request',
        'The out-of-band (OOB) flow has been blocked in order to keep users secure.',
      );
    }
    if (!isLoopbackRedirect(redirectUri)) {
      return consentErrorPage(
        res,
        400,
        'redirect_uri_mismatch',
        `You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 policy. redirect_uri=${redirectUri}`,
      );
    }
    const responseType = params.get('response_type');
    if (responseType !== 'code') {
      return consentErrorPage(
        res,
        400,
        responseType ? 'unsupported_response_type' : 'invalid_request',
        responseType ? `Invalid response_type: ${responseType}` : 'Missing required parameter: response_type',
      );
    }
    const scope = params.get('scope');
    if (!scope?.trim())
      return consentErrorPage(res, 400, 'invalid_request', 'Missing required parameter: scope');
    const challenge = params.get('code_challenge');
    const method = params.get('code_challenge_method');
    if (!challenge) {
      return consentErrorPage(
        res,
        400,
        'invalid_request',
        'Missing required parameter: code_challenge (this emulator requires PKCE).',
      );
    }
    if (method !== 'S256') {
      return consentErrorPage(res, 400, 'invalid_request', 'Invalid code_challenge_method: expected S256.');
    }
    if (!/^[A-Za-z0-9\-._~]{43,128}$/.test(challenge)) {
      return consentErrorPage(res, 400, 'invalid_request', 'Invalid code_challenge.');
    }
    if (this.options.blockConsent) {
      // Google's page for an account that is not a test user; its status is what the page says.
      return consentErrorPage(
        res,
        403,
        'access_denied',
        'photo-backup has not completed the Google verification process. The app is currently being tested, and can only be accessed by developer-approved testers. If you think you should have access, contact the developer.',
      );
    }
    const target = new URL(redirectUri);
    const state = params.get('state');
    const requested = scope.trim().split(/\s+/);
    const allowed = this.options.grantScopes;
    const ticked = allowed ? requested.filter((name) => allowed.includes(name)) : requested;
    // With include_granted_scopes=true the new grant covers what was granted before as well
    // (incremental authorization: https://developers.google.com/identity/protocols/oauth2/native-app#incrementalAuth).
    const earlier =
      params.get('include_granted_scopes') === 'true' ? [...(this.granted.get(clientId) ?? [])] : [];
    // No box ticked: Google's page does not go on without one; treated as Deny (not documented).
    if (this.options.deny || ticked.length === 0) {
      target.searchParams.set('error', 'access_denied');
      if (state !== null) target.searchParams.set('state', state);
    } else {
      const code = opaque('4/0AEmu', 40);
      this.remember(code);
      this.grant(clientId, ticked);
      const grantedScope = [...new Set([...earlier, ...ticked])].join(' ');
      // Google returns a refresh token only for access_type=offline, and only on the first consent
      // unless prompt=consent forces a new one (google-auth-library README).
      const consentKey = `${clientId} ${grantedScope}`;
      const prompts = (params.get('prompt') ?? '').split(/\s+/);
      const offline =
        params.get('access_type') === 'offline' &&
        (!this.consented.has(consentKey) || prompts.includes('consent'));
      if (params.get('access_type') === 'offline') this.consented.add(consentKey);
      this.codes.set(code, {
        clientId,
        redirectUri,
        challenge,
        scope: grantedScope,
        expiresAt: Date.now() + 10 * 60_000,
        used: false,
        offline,
      });
      if (state !== null) target.searchParams.set('state', state);
      target.searchParams.set('code', code);
      target.searchParams.set('scope', grantedScope);
    }
    res.writeHead(302, { location: target.toString(), 'content-length': 0 });
    res.end();
  }

  /** POST token_uri (form-encoded, as google-auth-library sends it). */
  async handleToken(req: IncomingMessage, res: ServerResponse) {
    const raw = await readBody(req);
    const type = req.headers['content-type'] ?? '';
    let params: URLSearchParams;
    if (type.includes('application/json')) {
      try {
        params = new URLSearchParams(JSON.parse(raw) as Record<string, string>);
      } catch {
        return sendOAuthError(res, 400, 'invalid_request', 'Invalid JSON payload.');
      }
    } else {
      params = new URLSearchParams(raw);
    }
    for (const name of ['code', 'code_verifier', 'refresh_token', 'client_secret'])
      this.remember(params.get(name));

    let clientId = params.get('client_id');
    let clientSecret = params.get('client_secret');
    const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (basic?.[1]) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      clientId = decodeURIComponent(decoded.slice(0, colon));
      clientSecret = decodeURIComponent(decoded.slice(colon + 1));
      this.remember(clientSecret);
    }
    const grantType = params.get('grant_type');
    if (!grantType) return sendOAuthError(res, 400, 'unsupported_grant_type', 'Invalid grant_type: ');
    if (!clientId)
      return sendOAuthError(res, 400, 'invalid_request', 'Could not determine client ID from request.');
    const client = this.clients.get(clientId);
    if (!client) return sendOAuthError(res, 401, 'invalid_client', 'The OAuth client was not found.');
    if (this.options.deletedClient && client === this.installed) {
      return sendOAuthError(res, 401, 'deleted_client', 'The OAuth client was deleted.');
    }
    if (!clientSecret) return sendOAuthError(res, 400, 'invalid_request', 'client_secret is missing.');
    if (clientSecret !== client.secret) return sendOAuthError(res, 401, 'invalid_client', 'Unauthorized');

    if (grantType === 'authorization_code') {
      const code = params.get('code');
      if (!code) return sendOAuthError(res, 400, 'invalid_request', 'Missing required parameter: code');
      const redirectUri = params.get('redirect_uri');
      if (!redirectUri) {
        return sendOAuthError(res, 400, 'invalid_request', 'Missing required parameter: redirect_uri');
      }
      const grant = this.codes.get(code);
      if (!grant || grant.used || grant.clientId !== clientId || Date.now() >= grant.expiresAt) {
        if (grant) grant.used = true;
        return sendOAuthError(res, 400, 'invalid_grant', 'Bad Request');
      }
      if (redirectUri !== grant.redirectUri) {
        return sendOAuthError(res, 400, 'redirect_uri_mismatch', 'Bad Request');
      }
      const verifier = params.get('code_verifier');
      if (!verifier) return sendOAuthError(res, 400, 'invalid_grant', 'Missing code verifier.');
      const computed = createHash('sha256').update(verifier).digest('base64url');
      if (computed !== grant.challenge) {
        grant.used = true; // a failed exchange burns the code, as Google does
        return sendOAuthError(res, 400, 'invalid_grant', 'Invalid code verifier.');
      }
      grant.used = true;
      const expiresIn = this.options.accessTokenTtlSeconds;
      const refreshToken = grant.offline ? this.mintRefreshToken(clientId, grant.scope) : undefined;
      const answer: Record<string, unknown> = {
        access_token: this.mintAccessToken(clientId, grant.scope, expiresIn, refreshToken),
        expires_in: expiresIn,
      };
      if (refreshToken) {
        answer.refresh_token = refreshToken;
        // Apps in "Testing" get refresh tokens that die after 7 days:
        // https://developers.google.com/identity/protocols/oauth2#expiration
        answer.refresh_token_expires_in = 604_799;
      }
      answer.scope = grant.scope;
      answer.token_type = 'Bearer';
      return sendJson(res, 200, answer);
    }
    if (grantType === 'refresh_token') {
      const refresh = params.get('refresh_token');
      if (!refresh)
        return sendOAuthError(res, 400, 'invalid_request', 'Missing required parameter: refresh_token');
      const record = this.refreshTokens.get(refresh);
      if (!record || record.revoked) {
        return sendOAuthError(res, 400, 'invalid_grant', 'Token has been expired or revoked.');
      }
      if (record.clientId !== clientId) {
        return this.options.otherClientError === 'invalid_client'
          ? sendOAuthError(res, 401, 'invalid_client', 'Unauthorized')
          : sendOAuthError(res, 400, 'unauthorized_client', 'Unauthorized');
      }
      const expiresIn = this.options.accessTokenTtlSeconds;
      return sendJson(res, 200, {
        access_token: this.mintAccessToken(clientId, record.scope, expiresIn, refresh),
        expires_in: expiresIn,
        refresh_token_expires_in: 604_799,
        scope: record.scope,
        token_type: 'Bearer',
      });
    }
    return sendOAuthError(res, 400, 'unsupported_grant_type', `Invalid grant_type: ${grantType}`);
  }

  /**
   * POST /revoke with `token` in the form body (or the query): Google's revoke endpoint,
   * https://developers.google.com/identity/protocols/oauth2/native-app#tokenrevoke. "The token can
   * be an access token or a refresh token. If the token is an access token and it has a
   * corresponding refresh token, the refresh token will also be revoked." Revoking the refresh
   * token ends the grant, so the access tokens issued with it stop working too. 200 when revoked;
   * 400 `invalid_token` for a token it does not know or revoked already. A refresh with a revoked
   * refresh token then answers 400 `invalid_grant`, as for an expired one.
   */
  async handleRevoke(req: IncomingMessage, res: ServerResponse, url: URL) {
    const raw = await readBody(req);
    const token = url.searchParams.get('token') ?? new URLSearchParams(raw).get('token');
    this.remember(token);
    const access = token ? this.accessTokens.get(token) : undefined;
    const refreshToken = access ? access.refreshToken : (token ?? undefined);
    const refresh = refreshToken ? this.refreshTokens.get(refreshToken) : undefined;
    const live = (refresh && !refresh.revoked) || (access && Date.now() < access.expiresAt);
    if (!live) return sendOAuthError(res, 400, 'invalid_token', 'Token expired or revoked');
    if (refresh) refresh.revoked = true;
    if (access) access.expiresAt = 0;
    for (const other of this.accessTokens.values()) {
      if (refreshToken !== undefined && other.refreshToken === refreshToken) other.expiresAt = 0;
    }
    sendJson(res, 200, {});
  }
}
