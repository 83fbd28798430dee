/**
 * One undici Agent for the whole run (keep-alive), retry with exponential backoff and jitter,
 * and the classification of failures into what the pipeline does about them.
 * Retry policy: https://developers.google.com/photos/overview/best-practices (5xx: backoff from 1 s;
 * 429: at least 30 s unless the server says otherwise).
 *
 * Why one file: retrying and classifying are one decision (what a failure means decides whether
 * and how long to wait); the pure parts (parseGoogleError, classifyResponse, retryDelay) are
 * exported and tested without a server.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Agent, Dispatcher } from 'undici';

/** What the run uses of undici: the Agent and the promise form of `request` (one of its calls). */
export interface UndiciParts {
  Agent: typeof Agent;
  /** undici's `request`: a URL and options, through `options.dispatcher`. */
  request: typeof import('undici')['request'];
}

/**
 * undici's own files for the Agent and `request`: its index also loads fetch, WebSocket, cookies,
 * the mocks, the cache stores and every interceptor, about 60 ms of a run's start here against
 * 25 ms for these two (docs/performance.md). undici has no `exports` map, so its files are public
 * paths; should a version move them, the index is loaded instead (same behaviour, slower start).
 */
const AGENT_FILE = 'undici/lib/dispatcher/agent.js';
const REQUEST_FILE = 'undici/lib/api/api-request.js';
/** undici's global Agent, for a call given no dispatcher (as its index's `request` does). */
const GLOBAL_FILE = 'undici/lib/global.js';

type RequestOptions = { dispatcher?: Dispatcher } & Omit<Dispatcher.RequestOptions, 'origin' | 'path'>;

async function loadParts(): Promise<UndiciParts> {
  try {
    const [agent, api, global] = (await Promise.all([
      import(AGENT_FILE),
      import(REQUEST_FILE),
      import(GLOBAL_FILE),
    ])) as [{ default?: unknown }, { default?: unknown }, { default?: { getGlobalDispatcher?: unknown } }];
    const LeanAgent = agent.default as typeof Agent;
    const dispatch = api.default as (
      this: Dispatcher,
      options: Dispatcher.RequestOptions,
    ) => Promise<Dispatcher.ResponseData>;
    const globalDispatcher = global.default?.getGlobalDispatcher as (() => Dispatcher) | undefined;
    if (
      typeof LeanAgent !== 'function' ||
      typeof dispatch !== 'function' ||
      typeof globalDispatcher !== 'function'
    )
      throw new Error('undici moved its files');
    // What undici's index makes of `request(url, options)`: the URL split into origin and path.
    const request = ((url: string | URL, options: RequestOptions) => {
      const parsed = typeof url === 'string' ? new URL(url) : url;
      const { dispatcher = globalDispatcher(), ...rest } = options;
      return dispatch.call(dispatcher, {
        ...rest,
        origin: parsed.origin,
        path: `${parsed.pathname}${parsed.search}`,
        method: rest.method ?? (rest.body ? 'PUT' : 'GET'),
      });
    }) as unknown as UndiciParts['request'];
    return { Agent: LeanAgent, request };
  } catch {
    return import('undici');
  }
}

let undici: Promise<UndiciParts> | undefined;
/**
 * undici is loaded at the first request, not when the CLI starts: it is the largest module the CLI
 * has, and --version, --help, a bad argument and a Takeout run never make a request.
 */
export function loadUndici(): Promise<UndiciParts> {
  undici ??= loadParts();
  return undici;
}

export type FailureKind =
  /** Worth another try: 5xx, 429 per-minute, resets, short bodies, timeouts. */
  | 'retry'
  /** 429 whose details name a per-day limit: nothing more today. */
  | 'daily-quota'
  /** 401: the access token is no longer accepted; refresh once. */
  | 'unauthorized'
  /** 403 PERMISSION_DENIED on an API call: the token lacks a scope, or Google refuses the app. */
  | 'permission'
  /** 403 SERVICE_DISABLED: the API is not enabled in the client's Google Cloud project. */
  | 'service-disabled'
  /** A media URL that is refused (403/404/410): it may have expired; get a fresh one. */
  | 'expired'
  /** Anything else: retrying will not help. */
  | 'fatal';

/** The parts of Google's error envelope `{"error": {code, message, status, details}}` we use. */
export interface GoogleErrorInfo {
  code?: number;
  status?: string;
  message?: string;
  reasons: string[];
  /** The `errors[].reason` of the older envelope Drive answers with, e.g. `userRateLimitExceeded`. */
  errorReasons?: string[];
  quotaLimit?: string;
  /** The console page that enables a disabled API (ErrorInfo `activationUrl`, or the Help link). */
  activationUrl?: string;
  /** The API's name, e.g. "Photos Library API" (ErrorInfo `serviceTitle`) or its host name. */
  service?: string;
  /** True when the body was Google's JSON error envelope (a media host's 429 may be bare). */
  parsed?: boolean;
}

export class HttpError extends Error {
  readonly status: number;
  readonly url: string;
  readonly google: GoogleErrorInfo;
  readonly retryAfterMs: number | undefined;
  readonly kind: FailureKind;
  /** An answer of the media host (a base URL), not of an API. */
  readonly media: boolean;

  constructor(options: {
    status: number;
    url: string;
    google: GoogleErrorInfo;
    retryAfterMs?: number;
    media?: boolean;
  }) {
    const what = options.google.message ?? `HTTP ${options.status}`;
    super(`${what} (HTTP ${options.status} from ${redactUrl(options.url)})`);
    this.name = 'HttpError';
    this.status = options.status;
    this.url = options.url;
    this.google = options.google;
    this.retryAfterMs = options.retryAfterMs;
    this.media = options.media ?? false;
    this.kind = classifyResponse(options.status, options.google, this.media);
  }
}

/**
 * A 429 from the media host without Google's JSON envelope. Media bytes have their own quota
 * (75,000 requests a day per project for the Library API:
 * https://developers.google.com/photos/overview/api-limits-quotas), and its 429 may carry no body
 * that names the limit, so a run of them is taken for that daily quota (backup.ts).
 */
export function isBareMediaRateLimit(error: unknown): boolean {
  return error instanceof HttpError && error.media && error.status === 429 && error.google.parsed !== true;
}

/** Redirects a media download follows before it gives up. */
export const MAX_REDIRECTS = 5;
const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

/**
 * The headers to send to a redirect's target: an `Authorization` (or cookie) header goes only to
 * the origin it was meant for, as browsers and WHATWG fetch do with credentials. Pure.
 */
export function headersForRedirect(
  headers: Record<string, string>,
  from: URL,
  to: URL,
): Record<string, string> {
  if (from.origin === to.origin) return headers;
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (lower !== 'authorization' && lower !== 'cookie') kept[name] = value;
  }
  return kept;
}

/** Thrown when a body ends before its announced length. */
export class ShortBodyError extends Error {
  constructor(received: number, expected: number) {
    super(`the download ended early: ${received} of ${expected} bytes`);
    this.name = 'ShortBodyError';
  }
}

/**
 * Thrown at the first byte past the announced length: the rest is never written. Not tried
 * again: the same source gives the same bytes (a damaged archive entry, a lying server).
 */
export class LongBodyError extends Error {
  constructor(expected: number) {
    super(`the file is longer than its announced ${expected} bytes: it was not saved`);
    this.name = 'LongBodyError';
  }
}

/** A body that closed before its end without an error of its own: tried again, as a short one. */
export class BodyClosedError extends Error {
  constructor(received: number) {
    super(`the download closed early, after ${received} bytes`);
    this.name = 'BodyClosedError';
  }
}

/** Only scheme, host and path: media URLs carry signatures in them that nobody needs to see. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const path = parsed.pathname.length > 40 ? `${parsed.pathname.slice(0, 40)}…` : parsed.pathname;
    return `${parsed.protocol}//${parsed.host}${path}`;
  } catch {
    return '(invalid URL)';
  }
}

export function parseGoogleError(text: string): GoogleErrorInfo {
  const info: GoogleErrorInfo = { reasons: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return info;
  }
  const error = (parsed as { error?: unknown })?.error;
  if (typeof error === 'string') {
    // OAuth endpoints answer {"error": "invalid_grant", "error_description": "…"}.
    info.status = error;
    const description = (parsed as { error_description?: unknown }).error_description;
    if (typeof description === 'string') info.message = description;
    return info;
  }
  if (!error || typeof error !== 'object') return info;
  info.parsed = true;
  const record = error as Record<string, unknown>;
  if (typeof record.code === 'number') info.code = record.code;
  if (typeof record.status === 'string') info.status = record.status;
  if (typeof record.message === 'string') info.message = record.message;
  // Drive (and other older APIs) put the reason in `errors: [{domain, reason, message}]`
  // (https://developers.google.com/workspace/drive/api/guides/handle-errors).
  for (const entry of Array.isArray(record.errors) ? record.errors : []) {
    const reason = (entry as { reason?: unknown } | null)?.reason;
    if (typeof reason === 'string') info.errorReasons = [...(info.errorReasons ?? []), reason];
  }
  const details = Array.isArray(record.details) ? record.details : [];
  for (const detail of details) {
    if (!detail || typeof detail !== 'object') continue;
    const entry = detail as { reason?: unknown; metadata?: Record<string, unknown>; links?: unknown };
    if (typeof entry.reason === 'string') info.reasons.push(entry.reason);
    const metadata = entry.metadata && typeof entry.metadata === 'object' ? entry.metadata : {};
    const limit = metadata.quota_limit;
    if (typeof limit === 'string') info.quotaLimit = limit;
    if (typeof metadata.activationUrl === 'string') info.activationUrl = metadata.activationUrl;
    const title = metadata.serviceTitle ?? metadata.service;
    if (typeof title === 'string' && (info.service === undefined || metadata.serviceTitle === title))
      info.service = title;
    // Older answers carry only a google.rpc.Help link "Google developers console API activation"
    // (mrworf/photoframe#147, f2calv/CasCap.Api.GooglePhotos#5).
    for (const link of Array.isArray(entry.links) ? entry.links : []) {
      const { description, url } = (link ?? {}) as { description?: unknown; url?: unknown };
      if (typeof url === 'string' && typeof description === 'string' && /activation/i.test(description))
        info.activationUrl ??= url;
    }
  }
  return info;
}

/**
 * 403 for an API not enabled in the OAuth client's project (or enabled minutes ago). Newer answers
 * carry an ErrorInfo `reason: "SERVICE_DISABLED"` with `activationUrl` (hermanho/MMM-GooglePhotos#204);
 * older ones only the message "… has not been used in project … before or it is disabled" and a
 * Help link (mrworf/photoframe#147). Both are recognised. Pure.
 */
export function isServiceDisabled(status: number, google: GoogleErrorInfo): boolean {
  if (status !== 403) return false;
  if (google.reasons.includes('SERVICE_DISABLED')) return true;
  return /has not been used in project .* or it is disabled/i.test(google.message ?? '');
}

/**
 * The activation link to show, only when it is an https page of Google's console: the answer is
 * untrusted text that ends up on the user's terminal. Pure.
 */
export function safeActivationUrl(google: GoogleErrorInfo): string | undefined {
  const text = google.activationUrl;
  if (!text) return undefined;
  // `href` is the parsed, percent-encoded form: no control character of the answer reaches the terminal.
  try {
    const url = new URL(text);
    const host = url.hostname;
    const google = host === 'console.developers.google.com' || host === 'console.cloud.google.com';
    return url.protocol === 'https:' && google ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** What to do about an HTTP answer that is not 2xx. Pure. */
export function classifyResponse(status: number, google: GoogleErrorInfo, media: boolean): FailureKind {
  if (status === 429) {
    const perDay = /PerDay/i.test(google.quotaLimit ?? '') || /per day/i.test(google.message ?? '');
    return perDay ? 'daily-quota' : 'retry';
  }
  if (status >= 500 || status === 408) return 'retry';
  if (status === 401) return 'unauthorized';
  if (media && (status === 403 || status === 404 || status === 410)) return 'expired';
  if (isServiceDisabled(status, google)) return 'service-disabled';
  if (status === 403) return 'permission';
  return 'fatal';
}

const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
]);

/** What to do about any error thrown while calling an API or reading a body. Pure. */
export function classifyError(error: unknown): FailureKind {
  if (error instanceof HttpError) return error.kind;
  if (error instanceof ShortBodyError || error instanceof BodyClosedError) return 'retry';
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && RETRYABLE_CODES.has(code)) return 'retry';
  const cause = (error as { cause?: unknown })?.cause;
  if (cause && cause !== error) return classifyError(cause);
  // undici reports a peer closing mid-body as a plain "terminated"/"other side closed" error.
  const message = (error as { message?: unknown })?.message;
  if (typeof message === 'string' && /terminated|other side closed|socket hang up|aborted/i.test(message)) {
    return (error as { name?: string }).name === 'AbortError' ? 'fatal' : 'retry';
  }
  return 'fatal';
}

/** `Retry-After` as seconds or an HTTP date, in milliseconds from now. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text.trim())) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export interface RetryPolicy {
  /** Tries after the first. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** The least wait after a 429 that did not say how long (Google: 30 s). */
  rateLimitDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  retries: 6,
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  rateLimitDelayMs: 30_000,
};

/** Full jitter: a random wait between 0 and base·2^attempt, capped. Pure given `random`. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(policy.baseDelayMs / 2 + random() * (ceiling - policy.baseDelayMs / 2));
}

/** The wait before the next try of a failed call. Pure given `random`. */
export function retryDelay(
  error: unknown,
  attempt: number,
  policy: RetryPolicy,
  random: () => number,
): number {
  const backoff = backoffDelay(attempt, policy, random);
  if (error instanceof HttpError) {
    if (error.retryAfterMs !== undefined) return Math.min(policy.maxDelayMs, error.retryAfterMs);
    if (error.status === 429) return Math.max(backoff, policy.rateLimitDelayMs);
  }
  return backoff;
}

export interface RetryOptions {
  policy: RetryPolicy;
  signal?: AbortSignal;
  random?: () => number;
  /** Decides per error; default: retry what classifyError calls 'retry'. */
  shouldRetry?: (error: unknown, attempt: number) => boolean | Promise<boolean>;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/** Runs `task` until it succeeds, fails for good, or the tries run out. */
export async function withRetry<T>(task: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const random = options.random ?? Math.random;
  for (let attempt = 0; ; attempt++) {
    try {
      return await task(attempt);
    } catch (error) {
      options.signal?.throwIfAborted();
      const again = options.shouldRetry
        ? await options.shouldRetry(error, attempt)
        : classifyError(error) === 'retry';
      if (!again || attempt >= options.policy.retries) throw error;
      const delay = retryDelay(error, attempt, options.policy, random);
      options.onRetry?.(error, attempt, delay);
      await sleep(delay, undefined, options.signal ? { signal: options.signal } : undefined);
    }
  }
}

export interface HttpClientOptions {
  policy?: Partial<RetryPolicy>;
  /** A body or header that stalls longer than this fails (and is retried). */
  readTimeoutMs?: number;
  connections?: number;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

export interface JsonRequest {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal;
}

export interface OpenedStream {
  body: Dispatcher.ResponseData['body'];
  size: number | undefined;
  /** 200, or 206 for a ranged answer. */
  status: number;
  headers: Dispatcher.ResponseData['headers'];
}

/** The run's one HTTP client. Its Agent (and undici) come at the first request. */
export class HttpClient {
  readonly policy: RetryPolicy;
  private readonly onRetry: HttpClientOptions['onRetry'];
  private readonly agentOptions: Agent.Options;
  private opened: Promise<{ agent: Agent; request: UndiciParts['request'] }> | undefined;

  constructor(options: HttpClientOptions = {}) {
    const readTimeoutMs = options.readTimeoutMs ?? 60_000;
    this.agentOptions = {
      keepAliveTimeout: 30_000,
      headersTimeout: readTimeoutMs,
      bodyTimeout: readTimeoutMs,
      connect: { timeout: 30_000 },
      ...(options.connections ? { connections: options.connections } : {}),
    };
    this.policy = { ...defaultRetryPolicy, ...options.policy };
    this.onRetry = options.onRetry;
  }

  /** undici's request bound to the run's Agent, made at the first call. */
  private async request(
    url: string | URL,
    options: Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'dispatcher'>,
  ): Promise<Dispatcher.ResponseData> {
    this.opened ??= loadUndici().then(({ Agent, request }) => ({
      agent: new Agent(this.agentOptions),
      request,
    }));
    const { agent, request } = await this.opened;
    return (await request(url, { ...options, dispatcher: agent })) as Dispatcher.ResponseData;
  }

  /** One call, no retry: the JSON of a 2xx answer, or an HttpError. An empty 2xx body is `{}`. */
  async jsonOnce<T>(call: JsonRequest): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...call.headers };
    let body: string | undefined;
    if (call.body !== undefined) {
      body = JSON.stringify(call.body);
      headers['content-type'] = 'application/json';
    }
    const response = await this.request(call.url, {
      method: call.method,
      headers,
      body,
      signal: call.signal,
    });
    const text = await response.body.text();
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw new HttpError({
        status: response.statusCode,
        url: call.url,
        google: parseGoogleError(text),
        retryAfterMs: parseRetryAfter(response.headers['retry-after'], Date.now()),
      });
    }
    if (text.trim() === '') return {} as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      // Treated like a bad gateway: a proxy or a broken answer, worth another try.
      throw new HttpError({
        status: 502,
        url: call.url,
        google: { message: 'The answer was not JSON', reasons: [] },
      });
    }
  }

  /** A JSON call with the retry policy; `shouldRetry` may add cases (a 401 after a refresh). */
  async json<T>(call: JsonRequest, shouldRetry?: RetryOptions['shouldRetry']): Promise<T> {
    return withRetry(() => this.jsonOnce<T>(call), {
      policy: this.policy,
      ...(call.signal ? { signal: call.signal } : {}),
      ...(shouldRetry ? { shouldRetry } : {}),
      ...(this.onRetry ? { onRetry: this.onRetry } : {}),
    });
  }

  /**
   * A media request that follows up to MAX_REDIRECTS redirects: undici's `request` does not, and
   * whether base URLs redirect is undocumented (rclone and gphotos-sync use clients that follow
   * them silently). The Authorization header never goes to another origin, and https never
   * drops to http.
   */
  private async mediaRequest(
    method: 'GET' | 'HEAD',
    url: string,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<{ response: Dispatcher.ResponseData; url: string }> {
    let current = new URL(url);
    let sent = headers;
    for (let hops = 0; ; hops++) {
      const response = await this.request(current, { method, headers: sent, signal });
      const location = response.headers.location;
      if (!REDIRECT_CODES.has(response.statusCode) || typeof location !== 'string') {
        return { response, url: current.href };
      }
      await response.body.dump().catch(() => undefined);
      let next: URL | undefined;
      try {
        next = new URL(location, current);
      } catch {
        next = undefined;
      }
      const downgrade = current.protocol === 'https:' && next?.protocol !== 'https:';
      const usable = next && (next.protocol === 'https:' || next.protocol === 'http:') && !downgrade;
      if (!next || !usable || hops >= MAX_REDIRECTS) {
        const why = !usable ? 'a redirect to an address it cannot follow' : 'too many redirects';
        throw new HttpError({
          status: response.statusCode,
          url: current.href,
          google: { message: `The download answered with ${why}`, reasons: [] },
          media: true,
        });
      }
      sent = headersForRedirect(sent, current, next);
      current = next;
    }
  }

  /** Opens a media URL, no retry (the transfer retries the whole file). Non-2xx → HttpError (media kind). */
  async open(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<OpenedStream> {
    const { response, url: answered } = await this.mediaRequest('GET', url, headers, signal);
    if (response.statusCode < 200 || response.statusCode >= 300) {
      const text = await response.body.text().catch(() => '');
      throw new HttpError({
        status: response.statusCode,
        url: answered,
        google: parseGoogleError(text),
        retryAfterMs: parseRetryAfter(response.headers['retry-after'], Date.now()),
        media: true,
      });
    }
    const length = response.headers['content-length'];
    const size = typeof length === 'string' && /^\d+$/.test(length) ? Number(length) : undefined;
    return { body: response.body, size, status: response.statusCode, headers: response.headers };
  }

  /** The size a media URL would send (HEAD), or undefined when the server does not say. */
  async headSize(
    url: string,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<number | undefined> {
    const { response } = await this.mediaRequest('HEAD', url, headers, signal);
    await response.body.dump();
    if (response.statusCode < 200 || response.statusCode >= 300) return undefined;
    const length = response.headers['content-length'];
    return typeof length === 'string' && /^\d+$/.test(length) ? Number(length) : undefined;
  }

  async close(): Promise<void> {
    if (this.opened) await (await this.opened).agent.close();
  }
}
