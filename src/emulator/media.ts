/**
 * The media host (Google's lh3.googleusercontent.com): base URLs that carry the item id, the
 * source and an expiry signed with HMAC, and the bytes behind `=d` (photo) and `=dv` (video).
 * Base URLs expire after 60 minutes (403 after that). Picker URLs need `Authorization: Bearer`
 * (https://developers.google.com/photos/picker/guides/media-items); Library URLs do not.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultHooks, MediaFault } from './fault-hooks.ts';
import { contentChunks, type EmulatorItem, thumbnailJpeg } from './items.ts';
import { type OAuthServer, pickerScope } from './oauth.ts';
import { sendText } from './responses.ts';

export type MediaSource = 'library' | 'picker';

export interface MediaContext {
  item(id: string): EmulatorItem | undefined;
  oauth: OAuthServer;
  faults: FaultHooks;
  latencyMs(): number;
  count(route: string): void;
  recordMedia(itemId: string, event: 'request' | 'complete', bytes: number): void;
  /** The second host's origin, where the `mediaRedirect` fault sends `=d` / `=dv`. */
  redirectOrigin?: string;
}

const sourcePath: Record<MediaSource, string> = { library: 'lr', picker: 'ppa' };

export class MediaHost {
  private readonly key = randomBytes(32);

  constructor(private readonly origin: string) {}

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url').slice(0, 22);
  }

  /** A base URL for the item; the client appends `=d`, `=dv` or `=w…-h…`. */
  urlFor(itemId: string, source: MediaSource, ttlMs: number): string {
    const payload = Buffer.from(`${Date.now() + ttlMs}.${itemId}`, 'utf8').toString('base64url');
    return `${this.origin}/lh3/${sourcePath[source]}/${payload}.${this.sign(`${source}.${payload}`)}`;
  }

  /** Decodes `/lh3/<lr|ppa>/<payload>.<signature>`; undefined when tampered with. */
  private decode(source: MediaSource, token: string): { itemId: string; expiresAt: number } | undefined {
    const dot = token.lastIndexOf('.');
    if (dot < 0) return undefined;
    const payload = token.slice(0, dot);
    const expected = Buffer.from(this.sign(`${source}.${payload}`));
    const actual = Buffer.from(token.slice(dot + 1));
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return undefined;
    const text = Buffer.from(payload, 'base64url').toString('utf8');
    const sep = text.indexOf('.');
    const expiresAt = Number(text.slice(0, sep));
    if (sep < 0 || !Number.isFinite(expiresAt)) return undefined;
    return { itemId: text.slice(sep + 1), expiresAt };
  }

  /**
   * `secondHost`: the request came to the redirect target of the `mediaRedirect` fault. That host
   * trusts the signed URL alone and refuses an Authorization header, so a client that forwards
   * the picker's Bearer token to another origin fails there.
   */
  async handle(
    req: IncomingMessage,
    res: ServerResponse,
    pathname: string,
    ctx: MediaContext,
    secondHost = false,
  ) {
    ctx.count(secondHost ? 'media.redirected' : 'media');
    if (secondHost && req.headers.authorization !== undefined) {
      ctx.count('media.redirected.authorization');
      return sendText(res, 400, '<!doctype html><title>Error 400 (Bad Request)</title>');
    }
    const latency = ctx.latencyMs();
    if (latency > 0) await sleep(latency);
    if (!secondHost && ctx.faults.mediaQuotaHit()) {
      // The media-byte quota (https://developers.google.com/photos/overview/api-limits-quotas):
      // an HTML page, no JSON envelope naming the limit.
      return sendText(res, 429, '<!doctype html><title>Error 429 (Too Many Requests)</title>');
    }
    const match = /^\/lh3\/(lr|ppa)\/([^=/]+)(?:=(.*))?$/.exec(pathname);
    if (!match?.[1] || !match[2]) return forbidden(res);
    const source: MediaSource = match[1] === 'ppa' ? 'picker' : 'library';
    const decoded = this.decode(source, match[2]);
    if (!decoded) return forbidden(res);
    if (Date.now() >= decoded.expiresAt) {
      ctx.count('media.expired');
      return forbidden(res);
    }
    const suffix = match[3] ?? '';
    const options = suffix.split('-');
    const download = options.includes('d') || options.includes('dv');
    if (!secondHost && download && ctx.faults.faults.mediaRedirect && ctx.redirectOrigin) {
      if (source === 'picker' && ctx.oauth.authorize(req, pickerScope)) return forbidden(res);
      res.writeHead(302, { location: `${ctx.redirectOrigin}${req.url ?? pathname}`, 'content-length': 0 });
      res.end();
      return;
    }
    if (source === 'picker' && !secondHost) {
      const error = ctx.oauth.authorize(req, pickerScope);
      if (error)
        return sendText(res, error.httpCode, `<!doctype html><title>Error ${error.httpCode}</title>`);
    }
    const item = ctx.item(decoded.itemId);
    if (!item) return notFoundPage(res);

    let body: 'content' | 'thumbnail';
    if (options.includes('dv')) {
      // "attempting to download a video not in the READY state may fail" (discovery, VideoStatus).
      if (item.kind !== 'video' || item.videoStatus !== 'READY') return notFoundPage(res);
      body = 'content';
    } else if (options.includes('d') && item.kind === 'photo') {
      body = 'content';
    } else {
      body = 'thumbnail';
    }

    ctx.recordMedia(item.id, 'request', 0);
    const fault = ctx.faults.mediaFault(item.id, suffix);
    if (fault?.kind === 'unavailable') {
      return sendText(res, 503, '<!doctype html><title>Error 503 (Service Unavailable)</title>');
    }

    if (body === 'thumbnail') {
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': thumbnailJpeg.length });
      res.end(req.method === 'HEAD' ? undefined : thumbnailJpeg);
      return;
    }

    const total = item.size;
    let start = 0;
    let end = total - 1;
    const headers: Record<string, string | number> = {
      'content-type': item.mimeType,
      // RFC 6266: an ASCII fallback plus the UTF-8 name; Node refuses other bytes in a header.
      'content-disposition': `attachment; filename="${item.filename.replace(/[^\x20-\x7e]|["\\]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(item.filename)}`,
      'accept-ranges': 'bytes',
      'cache-control': 'private, max-age=86400, no-transform',
    };
    let status = 200;
    const range = byteRange(req.headers.range, total);
    if (range === 'unsatisfiable') {
      res.writeHead(416, { 'content-range': `bytes */${total}`, 'content-length': 0 });
      res.end();
      return;
    }
    if (range) {
      ({ start, end } = range);
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${total}`;
    }
    const length = end - start + 1;
    headers['content-length'] = length;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const sent = await streamChunks(res, contentChunks(item, start), length, fault);
    if (sent === length) ctx.recordMedia(item.id, 'complete', sent);
  }
}

function forbidden(res: ServerResponse): void {
  sendText(
    res,
    403,
    '<!doctype html><title>Error 403 (Forbidden)</title><p>Your client does not have permission.',
  );
}

function notFoundPage(res: ServerResponse): void {
  sendText(res, 404, '<!doctype html><title>Error 404 (Not Found)</title>');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * One `Range: bytes=a-b` (RFC 9110 §14.1.2: `a-`, `a-b`, `-suffix`) of a `total`-byte body: the
 * bytes to send, 'unsatisfiable' for 416, or undefined for the whole body (no or another header).
 */
export function byteRange(
  header: string | undefined,
  total: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  const range = /^bytes=(\d*)-(\d*)$/.exec((header ?? '').trim());
  if (!range || !(range[1] || range[2])) return undefined;
  let start: number;
  let end = total - 1;
  if (range[1]) {
    start = Number(range[1]);
    if (range[2]) end = Math.min(Number(range[2]), total - 1);
  } else {
    start = Math.max(0, total - Number(range[2]));
  }
  return start > end || start >= total ? 'unsatisfiable' : { start, end };
}

/** Resolves when the response can take more data (or is gone). */
export function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Writes `length` bytes from `chunks` with backpressure, applying a mid-body fault. Returns bytes sent. */
async function streamChunks(
  res: ServerResponse,
  chunks: Iterable<Buffer>,
  length: number,
  fault: MediaFault | undefined,
): Promise<number> {
  if (fault?.kind === 'trickle') return trickle(res, chunks, length, fault);
  let sent = 0;
  let pending = fault && fault.kind !== 'unavailable' ? fault : undefined;
  const cut = pending && 'atFraction' in pending ? Math.floor(length * pending.atFraction) : -1;
  for (const whole of chunks) {
    let chunk = whole.length > length - sent ? whole.subarray(0, length - sent) : whole;
    if (pending && sent + chunk.length > cut) {
      const before = chunk.subarray(0, cut - sent);
      if (before.length > 0) {
        await write(res, before);
        sent += before.length;
      }
      if (res.destroyed) return sent;
      if (pending.kind === 'reset') {
        const socket = res.socket;
        if (socket && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
        else res.destroy();
        return sent;
      }
      if (pending.kind === 'short') {
        // End the connection cleanly (FIN) before Content-Length bytes were sent.
        res.socket?.end();
        return sent;
      }
      if (pending.kind === 'stall') await sleep(pending.ms);
      pending = undefined;
      chunk = chunk.subarray(before.length);
    }
    if (res.destroyed) return sent;
    if (chunk.length > 0 && !res.write(chunk)) await drained(res);
    sent += chunk.length;
    if (sent >= length) break;
  }
  if (!res.destroyed) res.end();
  return sent;
}

/** Writes `length` bytes from `chunks` a few at a time, with a pause after each; stops when the client goes. */
async function trickle(
  res: ServerResponse,
  chunks: Iterable<Buffer>,
  length: number,
  { bytes, everyMs }: { bytes: number; everyMs: number },
): Promise<number> {
  let sent = 0;
  for (const whole of chunks) {
    let chunk = whole.subarray(0, Math.min(whole.length, length - sent));
    while (chunk.length > 0) {
      if (res.destroyed) return sent;
      const piece = chunk.subarray(0, Math.max(1, bytes));
      await write(res, piece);
      sent += piece.length;
      chunk = chunk.subarray(piece.length);
      if (sent < length) await sleep(everyMs);
    }
    if (sent >= length) break;
  }
  if (!res.destroyed) res.end();
  return sent;
}

function write(res: ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve();
    res.write(chunk, () => resolve());
  });
}
