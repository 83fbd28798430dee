/**
 * authorize(options) → an Authorizer: the saved token when it is good for the scopes asked,
 * else a refresh, else a consent in the browser; and the header for each API call afterwards.
 *
 * Over 300 lines because which of those three steps runs, and what to tell the user when one
 * fails (another client's token, a scope left unticked, a revoked grant), is one decision table.
 */
import path from 'node:path';
import type { Credentials, OAuth2Client } from 'google-auth-library';
import { authError, BackupError } from '../errors.ts';
import { type ClientSecret, loadClientSecret } from './client-secret.ts';
import type { AuthUi } from './consent.ts';
import { loadGoogleAuth } from './google-auth.ts';
import { describeOAuthAnswer, isClientRefused, isInvalidGrant, toAuthError } from './oauth-errors.ts';
import { describeScopes, missingScopes, SCOPES, splitScopes } from './scopes.ts';
import { checkToken, mergeTokens, readTokenFile, type SavedToken, saveToken } from './token-file.ts';

export interface AuthOptions {
  clientSecretPath: string;
  tokenPath: string;
  /** A person is at a terminal: consent may be asked. */
  interactive: boolean;
  /** False with --no-browser: print the URL only. */
  openBrowser: boolean;
  ui: AuthUi;
  /** Injected: tests follow the consent redirect like a browser would. */
  openUrl?: (url: string) => void | Promise<void>;
  signal?: AbortSignal;
  /**
   * The scopes this run needs from the start (default: both). A saved sign-in that lacks one of them
   * gets a consent for the missing ones alone, or exit 3 naming them when nobody is there.
   */
  scopes?: readonly string[];
  /** What a first consent (no usable saved sign-in) asks for; default `scopes`. */
  consentScopes?: readonly string[];
  /** How long to wait for the consent's answer before saying what usually keeps it away. */
  consentHintAfterMs?: number;
}

export interface Authorizer {
  /** A valid access token; refreshes near expiry (and saves the file). */
  getAccessToken(): Promise<string>;
  /** Forces a refresh after a 401; invalid_grant → new consent or BackupError(3). */
  refresh(): Promise<string>;
  readonly grantedScopes: readonly string[];
  /**
   * Makes sure the sign-in allows `scopes`: at a terminal, Google's consent page is opened for the
   * missing ones alone (incremental authorization); otherwise a BackupError(3) names the box to tick.
   */
  requireScopes(scopes: readonly string[]): Promise<void>;
}

/**
 * Loads the client secret and the saved sign-in, and returns an Authorizer holding a valid access token.
 * Without a usable saved sign-in it asks for consent when a person is there, and otherwise fails at once
 * with exit 3: nobody would ever open the browser.
 */
export async function authorize(options: AuthOptions): Promise<Authorizer> {
  const secret = await loadClientSecret(options.clientSecretPath);
  const session = new AuthSession(options, secret);
  await session.start();
  return session;
}

/** google-auth-library's default `eagerRefreshThresholdMillis`. */
const EAGER_REFRESH_MS = 5 * 60_000;

class AuthSession implements Authorizer {
  readonly #options: AuthOptions;
  readonly #secret: ClientSecret;
  /** Made on first need (refresh or consent): a fresh saved token is used without it. */
  #client: OAuth2Client | undefined;
  #saved: SavedToken | undefined;
  /** Token endpoint answers seen by the 'tokens' event, not yet merged into #saved. */
  #answers: Credentials[] = [];
  #saving: Promise<void> = Promise.resolve();
  #refreshing: Promise<string> | undefined;
  #consenting: Promise<void> | undefined;
  /** Bumped by each consent, so a failure of a call that started before it does not ask again. */
  #generation = 0;
  /** Every scope the run has needed so far; a new consent asks for them all. */
  #needed: string[];
  /**
   * The saved sign-in had no `client_id` (google-auth-library's plain `Credentials` file, as many of
   * Google's samples write it) and is taken to be the configured client's until Google says otherwise.
   */
  #clientAssumed = false;

  constructor(options: AuthOptions, secret: ClientSecret) {
    this.#options = options;
    this.#secret = secret;
    this.#needed = [...(options.scopes ?? SCOPES)];
  }

  async #oauthClient(): Promise<OAuth2Client> {
    if (this.#client) return this.#client;
    const { OAuth2Client } = await loadGoogleAuth();
    if (this.#client) return this.#client;
    const secret = this.#secret;
    const client = new OAuth2Client({
      clientId: secret.clientId,
      clientSecret: secret.clientSecret,
      endpoints: { oauth2AuthBaseUrl: secret.authUri, oauth2TokenUrl: secret.tokenUri },
    });
    // The event carries the endpoint's raw answer (a refresh answer has no refresh_token); it is copied
    // now and merged into the file later, because google-auth-library reuses the object.
    client.on('tokens', (tokens: Credentials) => this.#answers.push({ ...tokens }));
    if (this.#saved) client.setCredentials(toCredentials(this.#saved));
    this.#client = client;
    return client;
  }

  /** The saved access token while google-auth-library would still use it as is (no client yet). */
  #freshSavedToken(): string | undefined {
    if (this.#client || !this.#saved?.access_token) return undefined;
    const expiry = this.#saved.expiry_date;
    // google-auth-library refreshes a token that expires within 5 minutes, and trusts one without a date.
    if (expiry !== undefined && expiry <= Date.now() + EAGER_REFRESH_MS) return undefined;
    return this.#saved.access_token;
  }

  get grantedScopes(): readonly string[] {
    return splitScopes(this.#saved?.scope);
  }

  async start(): Promise<void> {
    const read = await readTokenFile(this.#options.tokenPath);
    let reason: string | undefined;
    if (read.status === 'ok') {
      const token = { ...read.token, client_id: read.token.client_id ?? this.#secret.clientId };
      reason = checkToken(token, { clientId: this.#secret.clientId });
      if (reason === undefined) {
        this.#saved = token;
        this.#clientAssumed = read.token.client_id === undefined;
        // Refreshing now, if due, finds an expired sign-in while the person is still there.
        await this.getAccessToken();
        await this.requireScopes(this.#needed);
        return;
      }
    } else if (read.status === 'unusable') {
      reason = read.reason;
    }

    const where = this.#tokenFileName();
    if (!this.#options.interactive) {
      throw authError(
        reason === undefined
          ? `No saved sign-in: ${this.#tokenFileName('not found in')}. Run photo-backup once at a terminal to sign in with Google; later runs reuse the saved sign-in.`
          : `The saved sign-in ${where} ${reason}, so it cannot be used. Run photo-backup once at a terminal to sign in with Google again.`,
      );
    }
    if (reason !== undefined)
      this.#options.ui.info(`The saved sign-in ${where} ${reason}; signing in again.`);
    await this.#consent(this.#firstConsentScopes());
  }

  async requireScopes(scopes: readonly string[]): Promise<void> {
    for (const scope of scopes) if (!this.#needed.includes(scope)) this.#needed.push(scope);
    if (this.#consenting) await this.#consenting;
    const missing = missingScopes(this.grantedScopes, scopes);
    if (missing.length === 0) return;
    const where = this.#tokenFileName();
    const boxes = describeScopes(missing);
    if (!this.#options.interactive) {
      throw authError(
        `The saved sign-in ${where} does not allow ${boxes}: that box was left unticked on Google's consent page. Run photo-backup once at a terminal: it asks Google for that permission alone, and you tick its box.`,
      );
    }
    this.#options.ui.info(
      `The saved sign-in ${where} does not allow ${boxes}. Google's consent page asks for that permission alone: tick its box.`,
    );
    await this.#consent(missing);
  }

  /** A first consent asks for what the run may need (both scopes for --source auto), and what it needed. */
  #firstConsentScopes(): string[] {
    const wanted = [...(this.#options.consentScopes ?? this.#needed)];
    for (const scope of this.#needed) if (!wanted.includes(scope)) wanted.push(scope);
    return wanted;
  }

  async getAccessToken(): Promise<string> {
    if (this.#consenting) await this.#consenting;
    const fresh = this.#freshSavedToken();
    if (fresh !== undefined) return fresh;
    const generation = this.#generation;
    try {
      const { token } = await (await this.#oauthClient()).getAccessToken();
      await this.#flush();
      if (!token)
        throw authError("Google's sign-in server answered without an access token. Run photo-backup again.");
      return token;
    } catch (error) {
      return this.#recover(error, generation);
    }
  }

  refresh(): Promise<string> {
    // Many requests may see a 401 at once; they share one refresh.
    this.#refreshing ??= this.#forceRefresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #forceRefresh(): Promise<string> {
    if (this.#consenting) await this.#consenting;
    const generation = this.#generation;
    try {
      const { credentials } = await (await this.#oauthClient()).refreshAccessToken();
      await this.#flush();
      if (!credentials.access_token) {
        throw authError("Google's sign-in server answered without an access token. Run photo-backup again.");
      }
      return credentials.access_token;
    } catch (error) {
      return this.#recover(error, generation);
    }
  }

  async #recover(error: unknown, generation: number): Promise<string> {
    if (error instanceof BackupError) throw error;
    // A consent finished while this call was under way: its failure belonged to the old sign-in.
    if (generation !== this.#generation) return this.getAccessToken();
    if (this.#clientAssumed && isClientRefused(error)) return this.#recoverForeignToken(error);
    if (!isInvalidGrant(error)) {
      throw toAuthError(error, 'refresh the access token', this.#secret.tokenUri) ?? error;
    }
    // Google expires refresh tokens after 7 days while the consent screen's publishing status is Testing:
    // https://developers.google.com/identity/protocols/oauth2#expiration
    const where = this.#tokenFileName();
    if (!this.#options.interactive) {
      throw authError(
        `Google refused the saved sign-in ${where} (invalid_grant: it expired or was revoked). While the app's OAuth consent screen is in "Testing", Google ends every sign-in after 7 days. Run photo-backup again at a terminal to sign in, or publish the app (Google Cloud console: Google Auth Platform → Audience → Publish app) so the sign-in lasts.`,
      );
    }
    if (!this.#consenting) {
      this.#options.ui.info(
        `Google refused the saved sign-in ${where} (it expired or was revoked; in "Testing" mode Google ends sign-ins after 7 days). Signing in again.`,
      );
    }
    await this.#consent(this.#firstConsentScopes());
    return this.getAccessToken();
  }

  /** A token without `client_id` that Google refused for this client: it was another client's. */
  async #recoverForeignToken(error: unknown): Promise<string> {
    const answer = describeOAuthAnswer(error);
    const explained = `The saved sign-in ${this.#tokenFileName()} does not say which OAuth client it belongs to, and Google refused it for the client in \`${path.basename(this.#options.clientSecretPath)}\` (${answer}): it belongs to another OAuth client.`;
    if (!this.#options.interactive) {
      throw authError(`${explained} Run photo-backup once at a terminal to sign in again with this client.`);
    }
    this.#options.ui.info(`${explained} Signing in again.`);
    await this.#consent(this.#firstConsentScopes());
    return this.getAccessToken();
  }

  #consent(scopes: readonly string[]): Promise<void> {
    this.#consenting ??= this.#runConsent(scopes).finally(() => {
      this.#consenting = undefined;
    });
    return this.#consenting;
  }

  async #runConsent(scopes: readonly string[]): Promise<void> {
    const { ui } = this.#options;
    const client = await this.#oauthClient();
    // The consent's local server and browser opener (node:http, node:child_process) are loaded
    // only when a consent is asked, not by every run that has a saved sign-in.
    const { runConsent } = await import('./consent.ts');
    const tokens = await runConsent({
      client,
      scopes,
      tokenUri: this.#secret.tokenUri,
      openBrowser: this.#options.openBrowser,
      ui,
      ...(this.#options.openUrl ? { openUrl: this.#options.openUrl } : {}),
      ...(this.#options.signal ? { signal: this.#options.signal } : {}),
      ...(this.#options.consentHintAfterMs !== undefined
        ? { hintAfterMs: this.#options.consentHintAfterMs }
        : {}),
    });
    this.#answers = [];
    this.#generation += 1;
    this.#clientAssumed = false;
    // A token answer may leave `scope` out when it equals the request (RFC 6749 §5.1); the request had
    // include_granted_scopes=true, so what was granted before is covered too.
    const requested = [...new Set([...this.grantedScopes, ...scopes])].join(' ');
    this.#saved = mergeTokens({ client_id: this.#secret.clientId, scope: requested }, tokens, Date.now());
    client.setCredentials(toCredentials(this.#saved));
    if (!this.#saved.refresh_token) {
      ui.info(
        'Google gave no refresh token, so this sign-in lasts about an hour and will be asked again next time.',
      );
    }
    // What was granted is saved even when a needed box stayed unticked: the other source can use it.
    await this.#save();
    const missing = missingScopes(this.grantedScopes, this.#needed);
    if (missing.length > 0) {
      throw authError(
        `Google's consent page was answered without ${describeScopes(missing)}, which this run needs. Run photo-backup again and tick that box on the consent page.`,
      );
    }
  }

  /** Merges the answers the 'tokens' event saw into the saved token and writes the file. */
  async #flush(): Promise<void> {
    if (this.#answers.length === 0 || this.#saved === undefined) return;
    let saved = this.#saved;
    for (const answer of this.#answers) saved = mergeTokens(saved, answer, Date.now());
    this.#answers = [];
    this.#saved = saved;
    // google-auth-library keeps the old refresh token even when the answer brings a new one.
    const client = this.#client;
    if (client && saved.refresh_token && client.credentials.refresh_token !== saved.refresh_token) {
      client.credentials = { ...client.credentials, refresh_token: saved.refresh_token };
    }
    await this.#save();
  }

  #save(): Promise<void> {
    // Saves run one after another, each writing the newest token, so an older one never lands last.
    this.#saving = this.#saving.then(async () => {
      if (this.#saved === undefined) return;
      try {
        await saveToken(this.#options.tokenPath, this.#saved);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
        this.#options.ui.info(
          `Could not save the sign-in to ${this.#tokenFileName()} (${code}); photo-backup may ask you to sign in again next time.`,
        );
      }
    });
    return this.#saving;
  }

  /** "`token.json` in `/home/ana/backup`": messages name the file, never what it holds. */
  #tokenFileName(link = 'in'): string {
    const absolute = path.resolve(this.#options.tokenPath);
    return `\`${path.basename(absolute)}\` ${link} \`${path.dirname(absolute)}\``;
  }
}

/** google-auth-library's part of the saved token: without the fields photo-backup keeps for itself. */
function toCredentials(token: SavedToken): Credentials {
  const { client_id: _clientId, refresh_token_issued_at: _issuedAt, ...credentials } = token;
  return credentials;
}
