/**
 * Google Drive API v3, as much as reading Takeout exports in place needs: files.list with a
 * small `q` language, files.get metadata and `alt=media` downloads with one `Range`.
 * Reference: https://developers.google.com/workspace/drive/api/reference/rest/v3/files
 * Errors follow https://developers.google.com/workspace/drive/api/guides/handle-errors: Drive
 * still answers the older envelope, `{"error": {code, message, errors: [{domain, reason, message}]}}`.
 *
 * One file on purpose (over 300 lines): Drive's routes, its `q` language and its faults as one
 * emulated service, as the Library and Picker emulators are.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DriveFault } from './fault-hooks.ts';
import { byteRange, drained } from './media.ts';
import type { GoogleError } from './responses.ts';
import { sendJson } from './responses.ts';

export const FOLDER_MIME = 'application/vnd.google-apps.folder';

export interface DriveFile {
  id: string;
  name: string;
  mimeType: string;
  parents: string[];
  /** Undefined for a folder. */
  content?: Buffer;
  createdTime: string;
  modifiedTime: string;
  trashed?: boolean;
}

export interface NewDriveFile {
  name: string;
  mimeType?: string;
  /** Default: the root folder ("root"). */
  parents?: string[];
  content?: Buffer;
  createdTime?: string;
  modifiedTime?: string;
  trashed?: boolean;
  id?: string;
}

/** Drive's older error envelope with one `errors[]` entry (handle-errors guide). */
export function driveError(
  code: number,
  reason: string,
  message: string,
  options: {
    domain?: string;
    location?: string;
    locationType?: string;
    headers?: Record<string, string>;
  } = {},
): GoogleError {
  const entry: Record<string, string> = { domain: options.domain ?? 'global', reason, message };
  if (options.location) entry.location = options.location;
  if (options.locationType) entry.locationType = options.locationType;
  return {
    httpCode: code,
    body: { error: { code, message, errors: [entry] } },
    ...(options.headers ? { headers: options.headers } : {}),
  };
}

/** 404 for an id that does not exist (or was deleted): "File not found: {fileId}." (handle-errors, 404). */
export function fileNotFound(id: string): GoogleError {
  return driveError(404, 'notFound', `File not found: ${id}.`, {
    location: 'fileId',
    locationType: 'parameter',
  });
}

/** 400 badRequest, e.g. an unknown query term (handle-errors, 400 `badRequest`). */
function badRequest(message: string, location: string): GoogleError {
  return driveError(400, 'badRequest', message, { location, locationType: 'parameter' });
}

/**
 * The Drive answers a fault stands for. 401 `authError` "Invalid Credentials"; 403
 * `userRateLimitExceeded` / `rateLimitExceeded` and 429 `rateLimitExceeded` (domain usageLimits,
 * "back off exponentially"); 403 `downloadQuotaExceeded` "The download quota for this file has been
 * exceeded." (domain global, as rclone/rclone#2652 and prasmussen/gdrive#348 quote it). All from
 * https://developers.google.com/workspace/drive/api/guides/handle-errors.
 */
export function driveFaultError(fault: DriveFault & { kind: 'error' }): GoogleError {
  const retryAfter =
    fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : undefined;
  switch (fault.error) {
    case 'unauthorized':
      return driveError(401, 'authError', 'Invalid Credentials', {
        location: 'Authorization',
        locationType: 'header',
        headers: { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' },
      });
    case 'userRateLimitExceeded':
      return driveError(403, 'userRateLimitExceeded', 'User Rate Limit Exceeded', {
        domain: 'usageLimits',
        ...(retryAfter ? { headers: retryAfter } : {}),
      });
    case 'rateLimitExceeded':
      return driveError(403, 'rateLimitExceeded', 'Rate Limit Exceeded', {
        domain: 'usageLimits',
        ...(retryAfter ? { headers: retryAfter } : {}),
      });
    case 'tooManyRequests':
      return driveError(429, 'rateLimitExceeded', 'Rate Limit Exceeded', {
        domain: 'usageLimits',
        ...(retryAfter ? { headers: retryAfter } : {}),
      });
    case 'downloadQuotaExceeded':
      return driveError(403, 'downloadQuotaExceeded', 'The download quota for this file has been exceeded.');
    case 'preconditionFailed':
      // Drive's answer for a file that is no longer the version asked for, as a user quoted it
      // (vitalif/grive2#21) and Chromium's Drive client recorded it
      // (google_apis/test/data/drive/error.json): 412 conditionNotMet at If-Match.
      return driveError(412, 'conditionNotMet', 'Precondition Failed', {
        location: 'If-Match',
        locationType: 'header',
      });
  }
}

/**
 * Drive keeps a file's md5Checksum with the file; the emulator works it out once per content (a
 * new revision is a new Buffer), not on every files.list: hashing every part at each listing
 * made the Drive bench figures measure the emulator.
 */
const md5s = new WeakMap<Buffer, string>();

export function md5Of(content: Buffer): string {
  let md5 = md5s.get(content);
  if (md5 === undefined) {
    md5 = createHash('md5').update(content).digest('hex');
    md5s.set(content, md5);
  }
  return md5;
}

/** One term of the `q` language this emulator understands. */
type Term =
  | { kind: 'nameContains'; value: string }
  | { kind: 'nameEquals'; value: string }
  | { kind: 'inParents'; value: string }
  | { kind: 'trashed'; value: boolean }
  | { kind: 'mimeType'; value: string; negate: boolean };

/**
 * Parses `q`: terms joined by `and`, string values in single quotes with `\'` and `\\` escapes
 * (https://developers.google.com/workspace/drive/api/guides/search-files: "name contains 'hello'",
 * "'1234567' in parents", "trashed = false", "mimeType = 'application/vnd.google-apps.folder'").
 * Throws a message for anything else, which the server answers as 400 badRequest.
 */
export function parseQuery(q: string): Term[] {
  const terms: Term[] = [];
  let rest = q.trim();
  const quoted = String.raw`'((?:[^'\\]|\\.)*)'`;
  const unquote = (text: string) => text.replace(/\\(.)/g, '$1');
  const patterns: Array<[RegExp, (m: RegExpExecArray) => Term]> = [
    [
      new RegExp(`^name\\s+contains\\s+${quoted}`),
      (m) => ({ kind: 'nameContains', value: unquote(m[1] ?? '') }),
    ],
    [new RegExp(`^name\\s*=\\s*${quoted}`), (m) => ({ kind: 'nameEquals', value: unquote(m[1] ?? '') })],
    [new RegExp(`^${quoted}\\s+in\\s+parents`), (m) => ({ kind: 'inParents', value: unquote(m[1] ?? '') })],
    [/^trashed\s*=\s*(true|false)/, (m) => ({ kind: 'trashed', value: m[1] === 'true' })],
    [
      new RegExp(`^mimeType\\s*(=|!=)\\s*${quoted}`),
      (m) => ({ kind: 'mimeType', value: unquote(m[2] ?? ''), negate: m[1] === '!=' }),
    ],
  ];
  while (rest !== '') {
    let matched = false;
    for (const [pattern, make] of patterns) {
      const m = pattern.exec(rest);
      if (!m) continue;
      terms.push(make(m));
      rest = rest.slice(m[0].length).trim();
      matched = true;
      break;
    }
    if (!matched) throw new Error(`Invalid Value: the query term "${rest.slice(0, 40)}" is not understood`);
    if (rest === '') break;
    const and = /^and\s+/i.exec(rest);
    if (!and) throw new Error(`Invalid Value: expected "and" before "${rest.slice(0, 40)}"`);
    rest = rest.slice(and[0].length);
  }
  return terms;
}

function matches(file: DriveFile, terms: Term[]): boolean {
  return terms.every((term) => {
    switch (term.kind) {
      case 'nameContains':
        // "contains" on name is a prefix match on words; Takeout's names start with the word asked.
        return file.name.toLowerCase().includes(term.value.toLowerCase());
      case 'nameEquals':
        return file.name === term.value;
      case 'inParents':
        return file.parents.includes(term.value);
      case 'trashed':
        return (file.trashed ?? false) === term.value;
      case 'mimeType':
        return (file.mimeType === term.value) !== term.negate;
      default:
        return false;
    }
  });
}

/** The File resource fields this emulator knows; `size` and `md5Checksum` only for files with bytes. */
function resource(file: DriveFile): Record<string, unknown> {
  const json: Record<string, unknown> = {
    kind: 'drive#file',
    id: file.id,
    name: file.name,
    mimeType: file.mimeType,
    parents: file.parents,
    createdTime: file.createdTime,
    modifiedTime: file.modifiedTime,
    trashed: file.trashed ?? false,
  };
  if (file.content) {
    // "size: Size in bytes of blobs and first party editor files" — an int64 sent as a string.
    json.size = String(file.content.length);
    json.md5Checksum = md5Of(file.content);
  }
  return json;
}

/**
 * `fields` for files.get ("id,name,size") and files.list ("nextPageToken, files(id,name)").
 * Unset: Drive's default partial answer (kind, id, name, mimeType). `*` gives everything.
 */
function pick(json: Record<string, unknown>, fields: string[] | undefined): Record<string, unknown> {
  const wanted = fields ?? ['kind', 'id', 'name', 'mimeType'];
  if (wanted.includes('*')) return json;
  const out: Record<string, unknown> = {};
  for (const field of wanted) if (json[field] !== undefined) out[field] = json[field];
  return out;
}

/** Splits "nextPageToken,files(id,name)" into top-level fields and the files' own. */
export function parseListFields(fields: string | null): { top: string[]; files: string[] | undefined } {
  if (fields === null || fields.trim() === '') return { top: ['nextPageToken', 'files'], files: undefined };
  const top: string[] = [];
  let files: string[] | undefined;
  const text = fields.replace(/\s+/g, '');
  const inner = /files\(([^)]*)\)/.exec(text);
  if (inner) files = (inner[1] ?? '').split(',').filter(Boolean);
  for (const part of text.replace(/files\([^)]*\)/, 'files').split(',')) if (part) top.push(part);
  return { top, files: files ?? (top.includes('files') ? ['*'] : undefined) };
}

type OrderKey = 'name' | 'createdTime' | 'modifiedTime' | 'folder';

/** `orderBy`: comma-separated keys, each optionally followed by `desc` (files.list reference). */
function parseOrderBy(orderBy: string): Array<{ key: OrderKey; desc: boolean }> {
  const keys: Array<{ key: OrderKey; desc: boolean }> = [];
  for (const part of orderBy.split(',')) {
    const [key, direction] = part.trim().split(/\s+/);
    if (!key) continue;
    if (key !== 'name' && key !== 'createdTime' && key !== 'modifiedTime' && key !== 'folder') {
      throw new Error(`Invalid Value: orderBy key "${key}" is not supported`);
    }
    keys.push({ key, desc: direction === 'desc' });
  }
  return keys;
}

export interface DriveContext {
  faults(route: 'list' | 'get' | 'media', fileId?: string): DriveFault | undefined;
  /** Counts bytes written to the socket for alt=media (the bench's bytes-served figure). */
  served(bytes: number): void;
}

/** The Drive's files; tests add Takeout parts and change them mid-run. */
export class DriveStore {
  private readonly files = new Map<string, DriveFile>();
  private nextId = 1;

  add(file: NewDriveFile): DriveFile {
    const now = new Date().toISOString();
    const id = file.id ?? `drv${String(this.nextId++).padStart(6, '0')}${'x'.repeat(20)}`;
    const stored: DriveFile = {
      id,
      name: file.name,
      mimeType: file.mimeType ?? (file.content ? 'application/octet-stream' : FOLDER_MIME),
      parents: file.parents ?? ['root'],
      ...(file.content ? { content: file.content } : {}),
      createdTime: file.createdTime ?? now,
      modifiedTime: file.modifiedTime ?? file.createdTime ?? now,
      ...(file.trashed ? { trashed: true } : {}),
    };
    this.files.set(id, stored);
    return stored;
  }

  get(id: string): DriveFile | undefined {
    return this.files.get(id);
  }

  all(): DriveFile[] {
    return [...this.files.values()];
  }

  delete(id: string): boolean {
    return this.files.delete(id);
  }

  /** New bytes under the same id (a new revision): size, md5Checksum and modifiedTime change. */
  replace(id: string, content: Buffer): void {
    const file = this.files.get(id);
    if (!file) throw new Error(`No Drive file ${id}`);
    file.content = content;
    file.modifiedTime = new Date(Math.max(Date.now(), Date.parse(file.modifiedTime) + 1000)).toISOString();
  }
}

export class DriveServer {
  constructor(
    readonly store: DriveStore,
    private readonly ctx: DriveContext,
  ) {}

  /** A fault that changes the Drive itself (delete or replace) before the answer; else the error to send. */
  private applyFault(fault: DriveFault | undefined, id: string | undefined): GoogleError | undefined {
    if (!fault) return undefined;
    if (fault.kind === 'error') return driveFaultError(fault);
    if (fault.kind === 'deleted' && id) this.store.delete(id);
    if (fault.kind === 'replaced' && id) {
      const file = this.store.get(id);
      if (file?.content) {
        // Another export written under the same id: other bytes, another length, or (sameSize)
        // other bytes of the same length, which only md5Checksum tells apart.
        const next = fault.sameSize
          ? Buffer.from(file.content)
          : Buffer.concat([file.content, Buffer.from('replaced')]);
        next.reverse();
        if (fault.sameSize && next.equals(file.content)) next[0] = (next[0] ?? 0) ^ 0xff;
        this.store.replace(id, next);
      }
    }
    return undefined;
  }

  /**
   * files.list (https://developers.google.com/workspace/drive/api/reference/rest/v3/files/list):
   * `pageSize` "Acceptable values are 1 to 1000, inclusive" (default 100), `pageToken`, `q`,
   * `orderBy`, `fields`. Trashed files are listed unless `q` says `trashed = false`, as Drive does.
   */
  list(res: ServerResponse, url: URL): GoogleError | undefined {
    const error = this.applyFault(this.ctx.faults('list'), undefined);
    if (error) return error;
    let terms: Term[];
    let order: Array<{ key: OrderKey; desc: boolean }>;
    try {
      terms = parseQuery(url.searchParams.get('q') ?? '');
      order = parseOrderBy(url.searchParams.get('orderBy') ?? '');
    } catch (cause) {
      return badRequest((cause as Error).message, url.searchParams.has('orderBy') ? 'orderBy' : 'q');
    }
    const rawSize = url.searchParams.get('pageSize') ?? '100';
    const pageSize = /^\d+$/.test(rawSize) ? Number(rawSize) : Number.NaN;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
      return badRequest(`Invalid value '${rawSize}'. Values must be within the range: [1, 1000]`, 'pageSize');
    }
    const found = this.store.all().filter((file) => matches(file, terms));
    found.sort((a, b) => {
      for (const { key, desc } of order) {
        const sign = desc ? -1 : 1;
        if (key === 'folder') {
          const fa = a.mimeType === FOLDER_MIME ? 0 : 1;
          const fb = b.mimeType === FOLDER_MIME ? 0 : 1;
          if (fa !== fb) return (fa - fb) * sign;
          continue;
        }
        const va = a[key];
        const vb = b[key];
        if (va !== vb) return (va < vb ? -1 : 1) * sign;
      }
      return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    });
    let offset = 0;
    const token = url.searchParams.get('pageToken');
    if (token) {
      const decoded = /^o(\d+)$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
      if (!decoded?.[1]) return badRequest('Invalid Value', 'pageToken');
      offset = Number(decoded[1]);
    }
    const page = found.slice(offset, offset + pageSize);
    const { top, files } = parseListFields(url.searchParams.get('fields'));
    const body: Record<string, unknown> = {};
    if (top.includes('kind')) body.kind = 'drive#fileList';
    if (top.includes('incompleteSearch')) body.incompleteSearch = false;
    if (top.includes('nextPageToken') && offset + page.length < found.length) {
      body.nextPageToken = Buffer.from(`o${offset + page.length}`, 'utf8').toString('base64url');
    }
    if (top.includes('files')) body.files = page.map((file) => pick(resource(file), files));
    sendJson(res, 200, body);
    return undefined;
  }

  /** files.get metadata (https://developers.google.com/workspace/drive/api/reference/rest/v3/files/get). */
  get(res: ServerResponse, id: string, url: URL): GoogleError | undefined {
    const error = this.applyFault(this.ctx.faults('get', id), id);
    if (error) return error;
    const file = this.store.get(id);
    if (!file) return fileNotFound(id);
    const fields = url.searchParams.get('fields');
    sendJson(res, 200, pick(resource(file), fields ? fields.replace(/\s+/g, '').split(',') : undefined));
    return undefined;
  }

  /**
   * files.get `alt=media`, with one `Range: bytes=a-b` ("Partial download",
   * https://developers.google.com/workspace/drive/api/guides/manage-downloads): 206 with
   * `Content-Range: bytes a-b/size`; 416 with `Content-Range: bytes * /size` when nothing of the
   * range lies in the file (RFC 9110 §15.5.17). Faults: the whole file with 200 for a range
   * (a proxy or server that ignores Range, RFC 9110 §14.2 allows it), a reset or a short body.
   */
  async media(req: IncomingMessage, res: ServerResponse, id: string): Promise<GoogleError | undefined> {
    const fault = this.ctx.faults('media', id);
    const error = this.applyFault(fault, id);
    if (error) return error;
    const file = this.store.get(id);
    if (!file) return fileNotFound(id);
    if (!file.content) {
      // A folder or a Google Docs file has no blob: "Only files with binary content can be downloaded".
      return driveError(403, 'fileNotDownloadable', 'Only files with binary content can be downloaded.', {
        location: 'alt',
        locationType: 'parameter',
      });
    }
    const content = file.content;
    const total = content.length;
    let start = 0;
    let end = total - 1;
    let status = 200;
    const headers: Record<string, string | number> = {
      'content-type': file.mimeType,
      'accept-ranges': 'bytes',
    };
    const range = fault?.kind === 'rangeIgnored' ? undefined : byteRange(req.headers.range, total);
    if (range === 'unsatisfiable') {
      res.writeHead(416, { 'content-range': `bytes */${total}`, 'content-length': 0 });
      res.end();
      return undefined;
    }
    if (range) {
      ({ start, end } = range);
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${total}`;
    }
    const length = end - start + 1;
    headers['content-length'] = length;
    res.writeHead(status, headers);
    const cut =
      fault?.kind === 'reset' || fault?.kind === 'short'
        ? Math.floor(length * (fault.atFraction ?? 0.5))
        : Number.POSITIVE_INFINITY;
    const stop = Math.min(length, cut);
    // 64 KiB writes with backpressure, so a client that stops reading stops the sending too and
    // the bytes-served counter shows what really left.
    for (let at = 0; at < stop && !res.destroyed; ) {
      const chunk = content.subarray(start + at, start + Math.min(stop, at + 65_536));
      const more = res.write(chunk);
      this.ctx.served(chunk.length);
      at += chunk.length;
      if (!more) await drained(res);
    }
    if (res.destroyed) return undefined;
    if (cut < length) {
      if (fault?.kind === 'reset') {
        const socket = res.socket;
        if (socket && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
        else res.destroy();
      } else {
        // A clean FIN before Content-Length bytes: a short body.
        res.socket?.end();
      }
      return undefined;
    }
    res.end();
    return undefined;
  }
}
