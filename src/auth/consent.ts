import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CodeChallengeMethod, Credentials, OAuth2Client } from 'google-auth-library';
import { authError, InterruptedError } from '../errors.ts';
import { openInBrowser } from '../open-browser.ts';
import { toAuthError } from './oauth-errors.ts';

/** How auth talks to the person at the terminal; cli.ts supplies it. */
export interface AuthUi {
  info(message: string): void;
  /** The sign-in address, as data (a --json event); `info` says it in words as well. */
  link?(url: string): void;
  /** Reads one line; rejects or returns when `signal` aborts. Absent when nobody can type. */
  readLine?(prompt: string, signal: AbortSignal): Promise<string>;
}

export interface ConsentOptions {
  client: OAuth2Client;
  scopes: readonly string[];
  /** Token endpoint, only to name its host in messages. */
  tokenUri: string;
  openBrowser: boolean;
  ui: AuthUi;
  openUrl?: (url: string) => void | Promise<void>;
  signal?: AbortSignal;
  /** How long to wait for an answer before saying, once, what usually keeps it away. */
  hintAfterMs?: number;
}

/** A few minutes: long enough to choose an account and read the consent page. */
export const CONSENT_HINT_AFTER_MS = 3 * 60_000;

/**
 * Printed once when the consent page has not answered for a while. An account that is not a test user
 * of a Testing app gets Google's "Access blocked … Error 403: access_denied" page, which never
 * redirects back (googleworkspace/cli#281, alangrainger/obsidian-google-photos#41).
 */
export const CONSENT_HINT =
  'Still waiting for Google\'s answer. If the browser shows "Access blocked: … has not completed the Google verification process" (Error 403: access_denied), the Google account you chose is not a test user of your app: add it in Google Cloud console (Google Auth Platform → Audience → Test users), or choose the account you added there, then open the address above again. Press Ctrl-C to stop.';

/** What the redirect (or the pasted address) says, decided before anything is exchanged. */
export type RedirectAnswer = { kind: 'code'; code: string } | { kind: 'refused'; message: string };

/**
 * Google's loopback flow for desktop apps, with PKCE (S256) and a `state` check:
 * https://developers.google.com/identity/protocols/oauth2/native-app
 * A listener on 127.0.0.1 (never all interfaces) at a random port takes the one redirect, then closes.
 * On a machine without a browser, the person may instead paste the address the browser was sent to.
 * Returns the token endpoint's answer; never prints the code or the verifier.
 */
export async function runConsent(options: ConsentOptions): Promise<Credentials> {
  const { client, ui } = options;
  if (options.signal?.aborted) throw new InterruptedError();
  const listener = await startListener();
  const done = new AbortController();
  try {
    const redirectUri = `http://127.0.0.1:${listener.port}`;
    const { codeVerifier, codeChallenge } = await client.generateCodeVerifierAsync();
    const state = randomBytes(24).toString('base64url');
    const url = client.generateAuthUrl({
      // offline + consent: Google returns a refresh token only on a consent it has just shown.
      access_type: 'offline',
      prompt: 'consent',
      scope: [...options.scopes],
      // Incremental authorization: a consent for one scope keeps what was granted before.
      // https://developers.google.com/identity/protocols/oauth2/native-app#incrementalAuth
      include_granted_scopes: true,
      redirect_uri: redirectUri,
      state,
      code_challenge: codeChallenge,
      code_challenge_method: 'S256' as CodeChallengeMethod.S256,
    });

    ui.link?.(url);
    ui.info(
      `${options.openBrowser ? 'Opening your browser to sign in with Google. If it does not open, open' : 'To sign in with Google, open'} this address in a browser:\n\n  ${url}\n`,
    );
    if (options.openBrowser) openConsentPage(url, options);

    // The listener queues a redirect that came early; the paste prompt comes after the address.
    const { answer, reply } = await waitForAnswer(listener, state, options, done.signal);
    if (answer.kind === 'refused') {
      reply(false, answer.message);
      throw authError(answer.message);
    }
    let tokens: Credentials;
    try {
      ({ tokens } = await client.getToken({ code: answer.code, codeVerifier, redirect_uri: redirectUri }));
    } catch (error) {
      reply(false, 'Signing in failed; see the terminal.');
      throw toAuthError(error, 'finish signing in', options.tokenUri) ?? error;
    }
    reply(true, 'Signed in. You can close this tab and go back to photo-backup.');
    return tokens;
  } finally {
    done.abort();
    listener.close();
  }
}

/** Pure: the redirect's query → the code, or why it is refused. `state` must match exactly. */
export function readRedirect(query: URLSearchParams, expectedState: string): RedirectAnswer {
  const state = query.get('state');
  if (state === null || !sameText(state, expectedState)) {
    return {
      kind: 'refused',
      message:
        'The answer from the browser does not belong to this sign-in (its state does not match), so it was refused. Run photo-backup again and use the address it prints.',
    };
  }
  const error = query.get('error');
  if (error === 'access_denied') {
    return {
      kind: 'refused',
      message:
        'Access was not allowed on Google\'s consent page (access_denied). Run photo-backup again, tick the Google Photos box it asks for and choose "Allow" (or "Continue").',
    };
  }
  if (error !== null) {
    const shown = /^[a-z_]{1,40}$/.test(error) ? ` (${error})` : '';
    return {
      kind: 'refused',
      message: `Google's consent page answered with an error${shown}. Run photo-backup again; if it keeps failing, check the OAuth client and consent screen in Google Cloud console.`,
    };
  }
  const code = query.get('code');
  if (code === null || code === '') {
    return {
      kind: 'refused',
      message:
        'The answer from the browser carries no authorization code. Run photo-backup again to sign in.',
    };
  }
  return { kind: 'code', code };
}

/**
 * Pure: a pasted line → the redirect's query, or undefined when the line is not such an address.
 * Accepts the whole address (`http://127.0.0.1:port/?code=…&state=…`) or just its query part.
 */
export function readPastedAddress(line: string): URLSearchParams | undefined {
  const text = line.trim().replace(/^["'<]+|["'>]+$/g, '');
  if (text === '') return undefined;
  let query: URLSearchParams;
  if (URL.canParse(text)) query = new URL(text).searchParams;
  else {
    const mark = text.indexOf('?');
    query = new URLSearchParams(mark >= 0 ? text.slice(mark + 1) : text);
  }
  return query.has('code') || query.has('error') ? query : undefined;
}

interface Listener {
  port: number;
  /** Resolves with the query of the one redirect that reached `/`, and how to answer its browser. */
  next: Promise<{ query: URLSearchParams; reply: Reply }>;
  close(): void;
}

type Reply = (ok: boolean, text: string) => void;

async function startListener(): Promise<Listener> {
  let accept: (value: { query: URLSearchParams; reply: Reply }) => void = () => {};
  const next = new Promise<{ query: URLSearchParams; reply: Reply }>((resolve) => {
    accept = resolve;
  });
  let taken = false;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const target = new URL(request.url ?? '/', 'http://127.0.0.1');
    // Only the redirect counts; a stray request (favicon, a probe) is turned away and waiting goes on.
    if (taken || request.method !== 'GET' || target.pathname !== '/') {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      response.end('Not found.\n');
      return;
    }
    taken = true;
    // One request only: stop accepting connections now; the open one is answered, then closed.
    server.close();
    accept({
      query: target.searchParams,
      reply: (ok, text) => {
        response.writeHead(ok ? 200 : 400, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
          connection: 'close',
        });
        response.end(page(ok, text), () => server.closeAllConnections());
      },
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // 127.0.0.1 only: the code must not be reachable from the network. Port 0 lets the system pick.
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    next,
    close: () => {
      server.close();
      server.closeAllConnections();
    },
  };
}

/** The first of: the loopback redirect, a pasted address, or an interrupt. */
function waitForAnswer(
  listener: Listener,
  state: string,
  options: ConsentOptions,
  done: AbortSignal,
): Promise<{ answer: RedirectAnswer; reply: Reply }> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new InterruptedError());
    // Ctrl-C may already have come while the browser was being opened.
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    // Said once, while waiting goes on: the person may still fix it and open the address again.
    const hint = setTimeout(
      () => options.ui.info(CONSENT_HINT),
      options.hintAfterMs ?? CONSENT_HINT_AFTER_MS,
    );
    hint.unref();
    done.addEventListener(
      'abort',
      () => {
        clearTimeout(hint);
        options.signal?.removeEventListener('abort', onAbort);
      },
      { once: true },
    );
    listener.next.then(({ query, reply }) => resolve({ answer: readRedirect(query, state), reply }));
    const readLine = options.ui.readLine;
    if (readLine === undefined) return;
    const ui = options.ui;
    const paste = async () => {
      const signal = AbortSignal.any([done, ...(options.signal ? [options.signal] : [])]);
      while (!signal.aborted) {
        let line: string;
        try {
          line = await readLine.call(
            ui,
            'If the browser is on another device or shows "cannot connect" for 127.0.0.1, paste the address from its address bar here: ',
            signal,
          );
        } catch {
          return;
        }
        // An empty line is what a closed input gives; the loopback redirect may still come.
        if (signal.aborted || line.trim() === '') return;
        const query = readPastedAddress(line);
        if (query === undefined) {
          ui.info(
            'That is not the address the browser was sent to; it starts with http://127.0.0.1 and contains "code=".',
          );
          continue;
        }
        resolve({ answer: readRedirect(query, state), reply: () => {} });
        return;
      }
    };
    void paste();
  });
}

/** Opens the system browser (or the injected opener); failing to is fine, the address was printed. */
function openConsentPage(url: string, options: ConsentOptions): void {
  const failed = () => options.ui.info('Could not open a browser; open the address above yourself.');
  if (!options.openUrl) {
    if (!openInBrowser(url)) failed();
    return;
  }
  try {
    Promise.resolve(options.openUrl(url)).catch(failed);
  } catch {
    failed();
  }
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function page(ok: boolean, text: string): string {
  const escaped = text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
  return `<!doctype html><meta charset="utf-8"><title>photo-backup</title><body style="font-family:sans-serif;margin:3em"><h1>${ok ? 'Signed in' : 'Not signed in'}</h1><p>${escaped}</p></body>\n`;
}
