import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { type AuthOptions, authorize, DRIVE_SCOPE, SCOPES, SOURCE_SCOPES } from '../../src/auth/index.ts';
import { BackupError, ExitCode } from '../../src/errors.ts';
import { startEmulator } from '../support/emulator/index.ts';

type Emulator = Awaited<ReturnType<typeof startEmulator>>;

interface Harness {
  dir: string;
  emulator: Emulator;
  clientSecretPath: string;
  tokenPath: string;
  messages: string[];
  /** Consent addresses that were printed; their `state` and `code_challenge` are public by design. */
  consentUrls: URL[];
  options(extra?: Partial<AuthOptions>): AuthOptions;
  readToken(): Promise<Record<string, unknown>>;
  /** Every message and error text so far, checked against what the emulator issued. */
  assertNoSecrets(extraTexts?: string[]): void;
}

async function withHarness(
  run: (h: Harness) => Promise<void>,
  kind: 'installed' | 'web' = 'installed',
): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'auth-'));
  const emulator = await startEmulator();
  try {
    const clientSecretPath = path.join(dir, 'client_secret.json');
    const tokenPath = path.join(dir, 'token.json');
    await writeFile(clientSecretPath, JSON.stringify(emulator.clientSecret(kind)));
    const messages: string[] = [];
    const consentUrls: URL[] = [];
    const h: Harness = {
      dir,
      emulator,
      clientSecretPath,
      tokenPath,
      messages,
      consentUrls,
      options: (extra = {}) => ({
        clientSecretPath,
        tokenPath,
        interactive: true,
        openBrowser: true,
        ui: {
          info: (message) => {
            messages.push(message);
            const printed = /https?:\/\/\S+/.exec(message)?.[0];
            if (printed?.includes('code_challenge=')) consentUrls.push(new URL(printed));
          },
        },
        ...extra,
      }),
      readToken: async () => JSON.parse(await readFile(tokenPath, 'utf8')) as Record<string, unknown>,
      assertNoSecrets: (extraTexts = []) => {
        const publicValues = new Set(
          consentUrls.flatMap((url) => [
            url.searchParams.get('state'),
            url.searchParams.get('code_challenge'),
          ]),
        );
        const secrets = emulator.issuedSecrets().filter((secret) => !publicValues.has(secret));
        assert.ok(secrets.length > 0);
        for (const text of [...messages, ...extraTexts]) {
          for (const secret of secrets)
            assert.ok(!text.includes(secret), `a message shows a secret: ${text}`);
        }
      },
    };
    await run(h);
  } finally {
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A plain HTTP GET, like a browser's first request; redirects are not followed. */
function get(url: string): Promise<{ status: number; location: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** What a browser does with the consent address: the emulator answers 302 to the loopback redirect. */
async function followConsent(url: string, rewrite: (location: URL) => void = () => {}) {
  const consent = await get(url);
  assert.equal(consent.status, 302, consent.body);
  assert.ok(consent.location);
  const location = new URL(consent.location);
  rewrite(location);
  return { location, page: await get(location.href) };
}

/** Resolves when a TCP connection is refused, with the error code, or 'connected'. */
function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

function assertAuthError(error: unknown, pattern: RegExp): error is BackupError {
  assert.ok(error instanceof BackupError, String(error));
  assert.equal(error.exitCode, ExitCode.auth);
  assert.match(error.message, pattern);
  return true;
}

const timeout = 15_000;

test(
  'consent: loopback redirect with PKCE S256 and state, token saved 0600 with client_id, reused next run',
  { timeout },
  () =>
    withHarness(async (h) => {
      const pages: { status: number; body: string }[] = [];
      const before = Date.now();
      const authorizer = await authorize(
        h.options({
          openUrl: async (url) => {
            pages.push((await followConsent(url)).page);
          },
        }),
      );
      const [url] = h.consentUrls;
      assert.ok(url, 'the consent address is printed');
      assert.equal(h.consentUrls.length, 1);
      const query = url.searchParams;
      assert.equal(`${url.origin}${url.pathname}`, h.emulator.authUri);
      assert.equal(query.get('code_challenge_method'), 'S256');
      assert.match(query.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
      assert.ok((query.get('state') ?? '').length >= 22);
      assert.equal(query.get('access_type'), 'offline');
      assert.equal(query.get('prompt'), 'consent');
      assert.deepEqual(query.get('scope')?.split(' '), [...SCOPES]);
      assert.match(query.get('redirect_uri') ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);

      assert.deepEqual(
        pages.map((page) => page.status),
        [200],
      );
      assert.match(pages[0]?.body ?? '', /You can close this tab/);
      assert.deepEqual(authorizer.grantedScopes, [...SCOPES]);

      const saved = await h.readToken();
      const secret = h.emulator.clientSecret('installed') as { installed: { client_id: string } };
      assert.equal(saved.client_id, secret.installed.client_id);
      assert.equal(typeof saved.refresh_token, 'string');
      assert.equal(saved.token_type, 'Bearer');
      assert.equal(typeof saved.expiry_date, 'number');
      const issuedAt = Number(saved.refresh_token_issued_at);
      assert.ok(issuedAt >= before && issuedAt <= Date.now(), 'the refresh token keeps its issue time');
      assert.deepEqual(String(saved.scope).split(' '), [...SCOPES]);
      const token = await authorizer.getAccessToken();
      assert.equal(token, saved.access_token);
      if (process.platform !== 'win32') assert.equal((await stat(h.tokenPath)).mode & 0o777, 0o600);

      // The next run, without a person, uses the saved sign-in and asks nothing.
      let opened = 0;
      const again = await authorize(h.options({ interactive: false, openUrl: () => void opened++ }));
      assert.equal(await again.getAccessToken(), token);
      assert.equal(opened, 0);
      h.assertNoSecrets();
    }),
);

test(
  'consent: the listener is on 127.0.0.1 only, ignores stray paths, takes one redirect and closes',
  { timeout },
  () =>
    withHarness(async (h) => {
      let port = 0;
      const seen: Record<string, unknown> = {};
      await authorize(
        h.options({
          openUrl: async (url) => {
            port = Number(new URL(new URL(url).searchParams.get('redirect_uri') ?? '').port);
            if (process.platform === 'linux') {
              // 127.0.0.2 is loopback too on Linux: a listener on all interfaces would accept it.
              seen.otherAddress = await tryConnect('127.0.0.2', port);
            }
            seen.favicon = (await get(`http://127.0.0.1:${port}/favicon.ico`)).status;
            const { location } = await followConsent(url);
            // A second request, like a reload of the page: nobody is listening any more.
            seen.reload = await get(location.href).then(
              (page) => page.status,
              (error: NodeJS.ErrnoException) => error.code,
            );
          },
        }),
      );
      if (process.platform === 'linux') assert.equal(seen.otherAddress, 'ECONNREFUSED');
      assert.equal(seen.favicon, 404);
      assert.equal(seen.reload, 'ECONNREFUSED');
      assert.equal(await tryConnect('127.0.0.1', port), 'ECONNREFUSED');
    }),
);

test('consent: a redirect with a wrong state is refused, nothing is saved', { timeout }, () =>
  withHarness(async (h) => {
    const pages: { status: number; body: string }[] = [];
    let browsing: Promise<void> = Promise.resolve();
    const failure = await authorize(
      h.options({
        openUrl: (url) => {
          browsing = followConsent(url, (location) => location.searchParams.set('state', 'forged')).then(
            ({ page }) => void pages.push(page),
          );
        },
      }),
    ).then(
      () => undefined,
      (error: unknown) => error,
    );
    // The browser gets its answer page as the sign-in fails.
    await browsing;
    assertAuthError(failure, /state does not match/);
    assert.deepEqual(
      pages.map((page) => page.status),
      [400],
    );
    assert.match(pages[0]?.body ?? '', /Not signed in/);
    assert.deepEqual(await readdir(h.dir), ['client_secret.json']);
    h.assertNoSecrets([(failure as Error).message]);
  }),
);

test('consent: access denied on the consent page is refused with a clear message', { timeout }, () =>
  withHarness(async (h) => {
    h.emulator.setOAuth({ deny: true });
    await assert.rejects(
      authorize(h.options({ openUrl: async (url) => void (await followConsent(url)) })),
      (error) => assertAuthError(error, /access_denied.*Allow/),
    );
    assert.deepEqual(await readdir(h.dir), ['client_secret.json']);
  }),
);

test('consent without a browser: the pasted address completes the sign-in', { timeout }, () =>
  withHarness(async (h) => {
    const prompts: string[] = [];
    let opened = 0;
    const authorizer = await authorize(
      h.options({
        openBrowser: false,
        openUrl: () => void opened++,
        ui: {
          info: h.options().ui.info,
          readLine: async (prompt) => {
            prompts.push(prompt);
            if (prompts.length === 1) return 'no idea';
            // The browser on another device got the 302 but could not reach this computer's 127.0.0.1.
            const url = h.consentUrls[0];
            assert.ok(url);
            const consent = await get(url.href);
            assert.ok(consent.location);
            return ` ${consent.location} `;
          },
        },
      }),
    );
    assert.equal(opened, 0, '--no-browser opens nothing');
    assert.equal(prompts.length, 2);
    assert.match(prompts[0] ?? '', /paste the address/);
    assert.ok(h.messages.some((message) => /not the address the browser was sent to/.test(message)));
    assert.equal(typeof (await h.readToken()).refresh_token, 'string');
    assert.deepEqual(authorizer.grantedScopes, [...SCOPES]);
    h.assertNoSecrets();
  }),
);

test('consent: the loopback redirect wins over a pending paste prompt, which is aborted', { timeout }, () =>
  withHarness(async (h) => {
    let aborted = false;
    await authorize(
      h.options({
        openUrl: async (url) => void (await followConsent(url)),
        ui: {
          info: h.options().ui.info,
          readLine: (_prompt, signal) =>
            new Promise<string>((_resolve, reject) => {
              signal.addEventListener('abort', () => {
                aborted = true;
                reject(signal.reason);
              });
            }),
        },
      }),
    );
    assert.equal(aborted, true);
  }),
);

test(
  'a fresh saved token is used as is: no call to the token endpoint; a 401 still refreshes',
  { timeout },
  () =>
    withHarness(async (h) => {
      const secret = h.emulator.clientSecret('installed') as { installed: { client_id: string } };
      const issued = h.emulator.issueToken({ expiresInSeconds: 3600 });
      await writeFile(h.tokenPath, JSON.stringify({ ...issued, client_id: secret.installed.client_id }));
      h.emulator.resetStats();
      const authorizer = await authorize(h.options({ interactive: false }));
      assert.equal(await authorizer.getAccessToken(), issued.access_token);
      assert.equal(h.emulator.stats.requests['oauth.token'] ?? 0, 0);

      const renewed = await authorizer.refresh();
      assert.notEqual(renewed, issued.access_token);
      assert.equal(h.emulator.stats.requests['oauth.token'], 1);
      assert.equal(await authorizer.getAccessToken(), renewed);
      const saved = await h.readToken();
      assert.equal(saved.access_token, renewed);
      assert.equal(saved.refresh_token, issued.refresh_token);
      h.assertNoSecrets();
    }),
);

test('a fresh saved token does not load google-auth-library (40 ms and 10 MB a run)', { timeout }, () =>
  withHarness(async (h) => {
    const secret = h.emulator.clientSecret('installed') as { installed: { client_id: string } };
    const script = `
      import { createRequire } from 'node:module';
      import { authorize } from ${JSON.stringify(new URL('../../src/auth/index.ts', import.meta.url).href)};
      const loaded = () => Object.keys(createRequire(import.meta.url)('node:module')._cache)
        .some((file) => file.includes('google-auth-library'));
      const options = { clientSecretPath: process.env.SECRET, tokenPath: process.env.TOKEN,
        interactive: false, openBrowser: false, ui: { info() {} } };
      const authorizer = await authorize(options);
      await authorizer.getAccessToken();
      const before = loaded();
      await authorizer.refresh();
      console.log(JSON.stringify({ before, after: loaded() }));`;
    const run = async (expiresInSeconds: number) => {
      const issued = h.emulator.issueToken({ expiresInSeconds });
      await writeFile(h.tokenPath, JSON.stringify({ ...issued, client_id: secret.installed.client_id }));
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '--eval', script],
        { env: { ...process.env, SECRET: h.clientSecretPath, TOKEN: h.tokenPath } },
      );
      return JSON.parse(stdout) as { before: boolean; after: boolean };
    };
    // The check itself can fail: once a refresh is needed, the library shows as loaded.
    assert.deepEqual(await run(3600), { before: false, after: true });
    // Within google-auth-library's 5-minute margin the saved token is not used as is.
    assert.deepEqual(await run(60), { before: true, after: true });
  }),
);

test('refresh: a token near expiry is refreshed and saved back, keeping the refresh token', { timeout }, () =>
  withHarness(async (h) => {
    const secret = h.emulator.clientSecret('installed') as { installed: { client_id: string } };
    // Under google-auth-library's 5-minute eager threshold, so the first use refreshes.
    const issued = h.emulator.issueToken({ expiresInSeconds: 60 });
    await writeFile(h.tokenPath, JSON.stringify({ ...issued, client_id: secret.installed.client_id }));
    const authorizer = await authorize(h.options({ interactive: false }));
    const first = await h.readToken();
    assert.notEqual(first.access_token, issued.access_token);
    assert.equal(first.refresh_token, issued.refresh_token);
    assert.equal(first.client_id, secret.installed.client_id);
    assert.ok(Number(first.expiry_date) > issued.expiry_date);
    assert.equal(await authorizer.getAccessToken(), first.access_token);
    if (process.platform !== 'win32') assert.equal((await stat(h.tokenPath)).mode & 0o777, 0o600);

    // After a 401, refresh() gets a new token even though the old one has not expired; joined calls share it.
    const [a, b] = await Promise.all([authorizer.refresh(), authorizer.refresh()]);
    assert.equal(a, b);
    const second = await h.readToken();
    assert.equal(second.access_token, a);
    assert.notEqual(a, first.access_token);
    assert.equal(second.refresh_token, issued.refresh_token);
    assert.deepEqual(await readdir(h.dir), ['client_secret.json', 'token.json']);
    h.assertNoSecrets();
  }),
);

test('invalid_grant, no person: exit 3 explaining the 7-day Testing expiry and what to do', { timeout }, () =>
  withHarness(async (h) => {
    const secret = h.emulator.clientSecret('installed') as { installed: { client_id: string } };
    const issued = h.emulator.issueToken({ expiresInSeconds: 3600 });
    await writeFile(h.tokenPath, JSON.stringify({ ...issued, client_id: secret.installed.client_id }));
    let opened = 0;
    const authorizer = await authorize(h.options({ interactive: false, openUrl: () => void opened++ }));
    h.emulator.revokeRefreshTokens();
    const failure = await authorizer.refresh().then(
      () => undefined,
      (error: unknown) => error,
    );
    assertAuthError(failure, /invalid_grant/);
    const message = (failure as Error).message;
    assert.match(message, /`token\.json` in `.+`/);
    assert.match(message, /"Testing".*7 days/);
    assert.match(message, /Audience → Publish app/);
    assert.match(message, /at a terminal/);
    assert.equal((failure as Error).cause, undefined, 'the GaxiosError (with the request body) is not kept');
    assert.equal(opened, 0);

    // The same at start-up, when the saved access token is due for a refresh.
    await writeFile(
      h.tokenPath,
      JSON.stringify({ ...issued, expiry_date: Date.now() - 1000, client_id: secret.installed.client_id }),
    );
    await assert.rejects(authorize(h.options({ interactive: false })), (error) =>
      assertAuthError(error, /invalid_grant.*7 days/),
    );
    h.assertNoSecrets([message]);
  }),
);

test('invalid_grant with a person: a new consent, and the new sign-in is saved', { timeout }, () =>
  withHarness(async (h) => {
    const secret = h.emulator.clientSecret('installed') as { installed: { client_id: string } };
    const issued = h.emulator.issueToken({ expiresInSeconds: 3600 });
    await writeFile(h.tokenPath, JSON.stringify({ ...issued, client_id: secret.installed.client_id }));
    let opened = 0;
    const authorizer = await authorize(
      h.options({
        openUrl: async (url) => {
          opened++;
          await followConsent(url);
        },
      }),
    );
    assert.equal(opened, 0);
    h.emulator.revokeRefreshTokens();
    const [a, b] = await Promise.all([authorizer.refresh(), authorizer.getAccessToken()]);
    assert.equal(opened, 1, 'one consent for everyone waiting');
    assert.ok(a && b);
    const saved = await h.readToken();
    assert.notEqual(saved.refresh_token, issued.refresh_token);
    assert.equal(await authorizer.getAccessToken(), saved.access_token);
    assert.ok(h.messages.some((message) => /expired or was revoked.*7 days/.test(message)));
    h.assertNoSecrets();
  }),
);

test('no token and no person: exit 3 at once, no listener, no browser, no prompt', { timeout }, () =>
  withHarness(async (h) => {
    let asked = 0;
    await assert.rejects(
      authorize(
        h.options({
          interactive: false,
          openUrl: () => void asked++,
          ui: { info: h.options().ui.info, readLine: async () => String(asked++) },
        }),
      ),
      (error) =>
        assertAuthError(
          error,
          /No saved sign-in: `token\.json` not found in `.+`\. Run photo-backup once at a terminal/,
        ),
    );
    assert.equal(asked, 0);
    assert.equal(h.consentUrls.length, 0);
  }),
);

const unusableCases: {
  name: string;
  token: (clientId: string, issued: Record<string, unknown>) => string;
  expected: RegExp;
}[] = [
  { name: 'empty', token: () => '', expected: /is empty/ },
  { name: 'corrupt', token: () => '{"access_token": "ya29', expected: /is not valid JSON/ },
  {
    name: 'for another client',
    token: (_id, issued) => JSON.stringify({ ...issued, client_id: 'other.apps.googleusercontent.com' }),
    expected: /belongs to another OAuth client/,
  },
];
for (const { name, token, expected } of unusableCases) {
  test(`unusable token file (${name}): exit 3 without a person, a new consent with one`, { timeout }, () =>
    withHarness(async (h) => {
      const secret = h.emulator.clientSecret('installed') as { installed: { client_id: string } };
      const issued = h.emulator.issueToken() as unknown as Record<string, unknown>;
      await writeFile(h.tokenPath, token(secret.installed.client_id, issued));
      await assert.rejects(authorize(h.options({ interactive: false })), (error) =>
        assertAuthError(
          error,
          new RegExp(`saved sign-in \`token\\.json\` in \`.+\` ${expected.source}.*at a terminal`),
        ),
      );
      const authorizer = await authorize(
        h.options({ openUrl: async (url) => void (await followConsent(url)) }),
      );
      assert.ok(h.messages.some((message) => expected.test(message) && /signing in again/.test(message)));
      assert.deepEqual(authorizer.grantedScopes, [...SCOPES]);
      assert.equal((await h.readToken()).client_id, secret.installed.client_id);
      h.assertNoSecrets();
    }),
  );
}

test('a web client secret is refused with exit 3 before anything else', { timeout }, () =>
  withHarness(async (h) => {
    await assert.rejects(authorize(h.options()), (error) =>
      assertAuthError(error, /"Web application" OAuth client; photo-backup needs a "Desktop app" client/),
    );
    assert.equal(h.consentUrls.length, 0);
    h.assertNoSecrets();
  }, 'web'),
);

test('a wrong client secret: the code exchange fails with a clean exit 3, no secret in it', { timeout }, () =>
  withHarness(async (h) => {
    const file = h.emulator.clientSecret('installed') as { installed: Record<string, string> };
    await writeFile(
      h.clientSecretPath,
      JSON.stringify({ installed: { ...file.installed, client_secret: 'GOCSPX-wrong-secret-value' } }),
    );
    const pages: { status: number }[] = [];
    let browsing: Promise<void> = Promise.resolve();
    const failure = await authorize(
      h.options({
        openUrl: (url) => {
          browsing = followConsent(url).then(({ page }) => void pages.push(page));
        },
      }),
    ).then(
      () => undefined,
      (error: unknown) => error,
    );
    await browsing;
    assertAuthError(
      failure,
      /Could not finish signing in: .* refused the OAuth client \(HTTP 401, invalid_client\)/,
    );
    assert.deepEqual(
      pages.map((page) => page.status),
      [400],
    );
    const message = (failure as Error).message;
    assert.ok(!message.includes('GOCSPX-wrong-secret-value'));
    h.assertNoSecrets([message]);
  }),
);

test('consent: Ctrl-C while waiting stops with exit 130 and closes the listener', { timeout }, () =>
  withHarness(async (h) => {
    const controller = new AbortController();
    let port = 0;
    await assert.rejects(
      authorize(
        h.options({
          signal: controller.signal,
          openUrl: (url) => {
            port = Number(new URL(new URL(url).searchParams.get('redirect_uri') ?? '').port);
            controller.abort();
          },
        }),
      ),
      { name: 'InterruptedError', exitCode: ExitCode.interrupted },
    );
    assert.ok(port > 0);
    assert.equal(await tryConnect('127.0.0.1', port), 'ECONNREFUSED');
  }),
);

test(
  'refresh: an unreachable token endpoint is a clean exit 3 naming the host, not a dump',
  { timeout },
  () =>
    withHarness(async (h) => {
      const file = h.emulator.clientSecret('installed') as { installed: Record<string, string> };
      // A port that was free a moment ago: nothing answers there.
      const closed = await startEmulator();
      const deadTokenUri = closed.tokenUri;
      await closed.close();
      await writeFile(
        h.clientSecretPath,
        JSON.stringify({ installed: { ...file.installed, token_uri: deadTokenUri } }),
      );
      const issued = h.emulator.issueToken({ expiresInSeconds: 60 });
      await writeFile(h.tokenPath, JSON.stringify({ ...issued, client_id: file.installed.client_id }));
      const failure = await authorize(h.options({ interactive: false })).then(
        () => undefined,
        (error: unknown) => error,
      );
      assertAuthError(
        failure,
        new RegExp(
          `Could not refresh the access token: Google's sign-in server \`${new URL(deadTokenUri).host}\` did not answer \\(ECONNREFUSED\\)`,
        ),
      );
      assert.equal((failure as Error).cause, undefined);
      h.assertNoSecrets([(failure as Error).message]);
    }),
);

// ---------------------------------------------------------------------------------------------
// What Google really does: granular consent, plain Credentials files, deleted clients, access blocked

const [LIBRARY, PICKER] = SCOPES as [string, string];

/** A token file as photo-backup writes it, with these scopes; `expiresInSeconds` under 300 forces a refresh. */
async function writeToken(
  h: Harness,
  options: {
    scopes?: string[];
    expiresInSeconds?: number;
    clientId?: boolean;
    client?: 'installed' | 'web';
  } = {},
) {
  const secret = h.emulator.clientSecret('installed') as { installed: { client_id: string } };
  const issued = h.emulator.issueToken({
    ...(options.scopes ? { scopes: options.scopes } : {}),
    ...(options.expiresInSeconds !== undefined ? { expiresInSeconds: options.expiresInSeconds } : {}),
    ...(options.client ? { client: options.client } : {}),
  });
  const file = options.clientId === false ? issued : { ...issued, client_id: secret.installed.client_id };
  await writeFile(h.tokenPath, JSON.stringify(file));
  return issued;
}

test('partial consent: a picker-only grant works for the picker and is not asked again', { timeout }, () =>
  withHarness(async (h) => {
    h.emulator.setOAuth({ grantScopes: [PICKER] });
    const first = await authorize(
      h.options({
        scopes: [PICKER],
        consentScopes: SCOPES,
        openUrl: async (url) => void (await followConsent(url)),
      }),
    );
    assert.deepEqual(first.grantedScopes, [PICKER]);
    assert.equal((await h.readToken()).scope, PICKER);
    // The next run, in a script: the picker-only sign-in is enough for the picker.
    let opened = 0;
    const again = await authorize(
      h.options({ interactive: false, scopes: [PICKER], openUrl: () => void opened++ }),
    );
    assert.equal(typeof (await again.getAccessToken()), 'string');
    assert.equal(opened, 0);
    h.assertNoSecrets();
  }),
);

test(
  'partial consent: the library with a picker-only sign-in names the box, then asks for that scope alone',
  { timeout },
  () =>
    withHarness(async (h) => {
      await writeToken(h, { scopes: [PICKER] });
      await assert.rejects(authorize(h.options({ interactive: false, scopes: [LIBRARY] })), (error) =>
        assertAuthError(
          error,
          /does not allow Google Photos "Manage photos added by this app".*at a terminal/,
        ),
      );
      const authorizer = await authorize(
        h.options({ scopes: [LIBRARY], openUrl: async (url) => void (await followConsent(url)) }),
      );
      assert.ok(h.messages.some((message) => /tick its box/.test(message)));
      const [url] = h.consentUrls;
      assert.ok(url);
      assert.equal(url.searchParams.get('scope'), LIBRARY, 'only the missing scope is asked for');
      assert.equal(url.searchParams.get('include_granted_scopes'), 'true');
      assert.deepEqual([...authorizer.grantedScopes].sort(), [...SCOPES].sort());
      assert.deepEqual(
        String((await h.readToken()).scope)
          .split(' ')
          .sort(),
        [...SCOPES].sort(),
      );
      h.assertNoSecrets();
    }),
);

test('each source has its own scope; drive.readonly is never part of the Photos consent', () => {
  assert.deepEqual(SOURCE_SCOPES, { library: LIBRARY, picker: PICKER, drive: DRIVE_SCOPE });
  assert.equal(DRIVE_SCOPE, 'https://www.googleapis.com/auth/drive.readonly');
  assert.ok(!SCOPES.includes(DRIVE_SCOPE));
});

test(
  'incremental consent: the drive source with a Photos sign-in asks for drive.readonly alone; a script names its box',
  { timeout },
  () =>
    withHarness(async (h) => {
      await writeToken(h, { scopes: [...SCOPES] });
      await assert.rejects(
        authorize(h.options({ interactive: false, scopes: [SOURCE_SCOPES.drive] })),
        (error) =>
          assertAuthError(
            error,
            /does not allow Google Drive "See and download all your Google Drive files".*at a terminal/,
          ),
      );
      const authorizer = await authorize(
        h.options({ scopes: [SOURCE_SCOPES.drive], openUrl: async (url) => void (await followConsent(url)) }),
      );
      const [url] = h.consentUrls;
      assert.ok(url);
      assert.equal(url.searchParams.get('scope'), DRIVE_SCOPE, 'only the Drive scope is asked for');
      assert.equal(url.searchParams.get('include_granted_scopes'), 'true');
      assert.deepEqual([...authorizer.grantedScopes].sort(), [...SCOPES, DRIVE_SCOPE].sort());
      h.assertNoSecrets();
    }),
);

test(
  'partial consent: a consent that leaves the needed box unticked ends with exit 3 naming it, the grant kept',
  { timeout },
  () =>
    withHarness(async (h) => {
      h.emulator.setOAuth({ grantScopes: [PICKER] });
      await assert.rejects(
        authorize(
          h.options({
            scopes: [LIBRARY],
            consentScopes: SCOPES,
            openUrl: async (url) => void (await followConsent(url)),
          }),
        ),
        (error) =>
          assertAuthError(error, /answered without Google Photos "Manage photos added by this app".*tick/),
      );
      assert.equal(h.consentUrls.length, 1, 'asked once, not in a loop');
      assert.equal((await h.readToken()).scope, PICKER);
    }),
);

test(
  "a plain google-auth-library Credentials file (no client_id) is used as the client's; client_id is written",
  { timeout },
  () =>
    withHarness(async (h) => {
      const issued = await writeToken(h, { clientId: false, expiresInSeconds: 60 });
      const authorizer = await authorize(h.options({ interactive: false }));
      const token = await authorizer.getAccessToken();
      assert.notEqual(token, issued.access_token, 'refreshed with the saved refresh token');
      const saved = await h.readToken();
      const secret = h.emulator.clientSecret('installed') as { installed: { client_id: string } };
      assert.equal(saved.client_id, secret.installed.client_id);
      assert.equal(saved.refresh_token, issued.refresh_token);
    }),
);

for (const mode of ['unauthorized_client', 'invalid_client'] as const) {
  test(
    `a Credentials file without client_id from another client (${mode}): said so, and consent again`,
    { timeout },
    () =>
      withHarness(async (h) => {
        h.emulator.setOAuth({ otherClientError: mode });
        await writeToken(h, { clientId: false, client: 'web', expiresInSeconds: 60 });
        await assert.rejects(authorize(h.options({ interactive: false })), (error) =>
          assertAuthError(
            error,
            new RegExp(
              `does not say which OAuth client.*\\(HTTP \\d+, ${mode}\\): it belongs to another OAuth client.*at a terminal`,
            ),
          ),
        );
        const authorizer = await authorize(
          h.options({ openUrl: async (url) => void (await followConsent(url)) }),
        );
        assert.ok(
          h.messages.some((message) => /belongs to another OAuth client\. Signing in again/.test(message)),
        );
        assert.equal(h.consentUrls.length, 1);
        assert.deepEqual(authorizer.grantedScopes, [...SCOPES]);
        h.assertNoSecrets();
      }),
  );
}

test(
  'deleted_client: the refresh says the OAuth client was deleted and how to create a new one',
  { timeout },
  () =>
    withHarness(async (h) => {
      await writeToken(h, { expiresInSeconds: 60 });
      h.emulator.setOAuth({ deletedClient: true });
      const failure = await authorize(h.options({ interactive: false })).then(
        () => undefined,
        (error: unknown) => error,
      );
      assertAuthError(
        failure,
        /OAuth client in `client_secret\.json` was deleted in Google Cloud \(HTTP 401, deleted_client\).*Create a new Desktop client.*download its JSON when it is shown/,
      );
      h.assertNoSecrets([(failure as Error).message]);
    }),
);

test('a wrong client secret: the advice is a new secret, not downloading the JSON again', { timeout }, () =>
  withHarness(async (h) => {
    const file = h.emulator.clientSecret('installed') as { installed: Record<string, string> };
    await writeFile(
      h.clientSecretPath,
      JSON.stringify({ installed: { ...file.installed, client_secret: 'GOCSPX-x' } }),
    );
    await writeToken(h, { expiresInSeconds: 60 });
    await assert.rejects(authorize(h.options({ interactive: false })), (error) =>
      assertAuthError(
        error,
        /invalid_client.*add a new secret, or create a new Desktop client, and download that JSON/,
      ),
    );
  }),
);

test(
  'consent that never comes back (access blocked): the hint is said once while waiting; Ctrl-C ends it',
  { timeout },
  () =>
    withHarness(async (h) => {
      h.emulator.setOAuth({ blockConsent: true });
      const controller = new AbortController();
      const pages: { status: number; location: string | undefined; body: string }[] = [];
      let hinted: () => void = () => {};
      const hint = new Promise<void>((resolve) => {
        hinted = resolve;
      });
      const info = h.options().ui.info;
      const failure = authorize(
        h.options({
          signal: controller.signal,
          consentHintAfterMs: 1,
          openUrl: async (url) => void pages.push(await get(url)),
          ui: {
            info: (message) => {
              info(message);
              if (/Still waiting/.test(message)) hinted();
            },
          },
        }),
      ).then(
        () => undefined,
        (error: unknown) => error,
      );
      await hint;
      // A repeating reminder would fire again meanwhile; the hint is a one-off.
      await new Promise((resolve) => setTimeout(resolve, 50));
      controller.abort();
      const error = await failure;
      assert.ok(error instanceof BackupError && error.exitCode === ExitCode.interrupted, String(error));
      assert.equal(pages[0]?.status, 403);
      assert.equal(pages[0]?.location, undefined, 'Google never redirects back');
      const hints = h.messages.filter((message) => /Still waiting/.test(message));
      assert.equal(hints.length, 1);
      assert.match(hints[0] ?? '', /not a test user.*Audience → Test users.*choose the account/);
    }),
);

test(
  'consent: the address is handed over as data too (a --json "link" event), the same one said in words',
  { timeout },
  () =>
    withHarness(async (h) => {
      const links: string[] = [];
      const base = h.options();
      await authorize(
        h.options({
          ui: { ...base.ui, link: (url) => void links.push(url) },
          openUrl: async (url) => void (await followConsent(url)),
        }),
      );
      assert.equal(links.length, 1);
      assert.equal(links[0], h.consentUrls[0]?.href);
    }),
);
