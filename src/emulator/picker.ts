/**
 * Photos Picker API v1: sessions.create/get/delete and mediaItems.list.
 * https://developers.google.com/photos/picker/reference/rest
 * The user "picks" after `pollsBeforePicked` polls, or when someone opens the pickerUri.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { EmulatorItem } from './items.ts';
import { googleError, invalidArgument, notFound, sendGoogleError, sendJson, sendText } from './responses.ts';

export interface PickerOptions {
  /** Polls answered with mediaItemsSet=false before the user is done; default 2. */
  pollsBeforePicked?: number;
  /** What the user picks, in order; default every item (app-created or not, any year). */
  pickedIds?: string[];
  /** Duration string; default "1s". */
  pollInterval?: string;
  /** Duration string; default "1800s". */
  timeoutIn?: string;
  /** Session lifetime (expireTime); default 60 minutes. */
  sessionTtlMs?: number;
  /** Open sessions allowed before sessions.create answers RESOURCE_EXHAUSTED; default 50. */
  maxSessions?: number;
}

interface Session {
  id: string;
  createdAt: number;
  expiresAt: number;
  maxItemCount: number;
  polls: number;
  pickedIds?: string[];
}

export interface PickerContext {
  item(id: string): EmulatorItem | undefined;
  allIds(): string[];
  baseUrl(item: EmulatorItem): string;
  origin: string;
}

/** PickedMediaItem JSON (width/height are integers here, unlike the Library API). */
export function toPickedMediaItem(item: EmulatorItem, baseUrl: string): Record<string, unknown> {
  const mediaFileMetadata: Record<string, unknown> = {
    width: item.width ?? (item.kind === 'video' ? 1920 : 4032),
    height: item.height ?? (item.kind === 'video' ? 1080 : 3024),
  };
  if (item.cameraMake) mediaFileMetadata.cameraMake = item.cameraMake;
  if (item.cameraModel) mediaFileMetadata.cameraModel = item.cameraModel;
  if (item.kind === 'video') {
    mediaFileMetadata.videoMetadata = { fps: 30, processingStatus: item.videoStatus ?? 'READY' };
  } else {
    mediaFileMetadata.photoMetadata = {
      focalLength: 6.81,
      apertureFNumber: 1.68,
      isoEquivalent: 100,
      exposureTime: '0.008s',
    };
  }
  return {
    id: item.id,
    createTime: item.creationTime,
    type: item.kind === 'video' ? 'VIDEO' : 'PHOTO',
    mediaFile: { baseUrl, mimeType: item.mimeType, filename: item.filename, mediaFileMetadata },
  };
}

export class PickerServer {
  options: PickerOptions;
  private readonly sessions = new Map<string, Session>();

  constructor(
    options: PickerOptions,
    private readonly ctx: PickerContext,
  ) {
    this.options = options;
  }

  private live(id: string): Session | undefined {
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (Date.now() >= session.expiresAt) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }

  private pick(session: Session): void {
    if (session.pickedIds) return;
    session.pickedIds = (this.options.pickedIds ?? this.ctx.allIds()).slice(0, session.maxItemCount);
  }

  private toJson(session: Session): Record<string, unknown> {
    const json: Record<string, unknown> = {
      id: session.id,
      pickerUri: `${this.ctx.origin}/picker/${session.id}`,
    };
    // "This field is only populated if media items have not yet been picked for this session."
    if (!session.pickedIds) {
      // timeoutIn counts down; "A value of 0 indicates that the client should stop polling".
      const timeoutMs = parseDuration(this.options.timeoutIn ?? '1800s');
      const remaining = Math.max(0, timeoutMs - (Date.now() - session.createdAt));
      json.pollingConfig = {
        pollInterval: this.options.pollInterval ?? '1s',
        timeoutIn: formatDuration(remaining),
      };
    }
    json.expireTime = new Date(session.expiresAt).toISOString();
    json.pickingConfig = { maxItemCount: String(session.maxItemCount) };
    json.mediaItemsSet = session.pickedIds !== undefined;
    return json;
  }

  openSessions(): number {
    let open = 0;
    for (const id of [...this.sessions.keys()]) if (this.live(id)) open++;
    return open;
  }

  handleCreate(res: ServerResponse, rawBody: string) {
    let body: unknown = {};
    if (rawBody.trim() !== '') {
      try {
        body = JSON.parse(rawBody);
      } catch {
        return sendGoogleError(res, invalidArgument('Invalid JSON payload received. Syntax error.'));
      }
    }
    let maxItemCount = 2000;
    const config = (body as { pickingConfig?: { maxItemCount?: unknown } } | null)?.pickingConfig;
    if (config?.maxItemCount !== undefined) {
      const raw = config.maxItemCount;
      const value = typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : raw;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
        return sendGoogleError(
          res,
          invalidArgument('maxItemCount must be a non-negative integer.', 'picking_config.max_item_count'),
        );
      }
      // "If unspecified or set to 0, at most 2000 … Values above 2000 will be coerced to 2000."
      maxItemCount = value === 0 ? 2000 : Math.min(value, 2000);
    }
    if (this.openSessions() >= (this.options.maxSessions ?? 50)) {
      return sendGoogleError(
        res,
        googleError(
          'RESOURCE_EXHAUSTED',
          'Too many sessions have been created. Delete sessions that are no longer needed.',
        ),
      );
    }
    const now = Date.now();
    const session: Session = {
      id: randomUUID(),
      createdAt: now,
      expiresAt: now + (this.options.sessionTtlMs ?? 60 * 60_000),
      maxItemCount,
      polls: 0,
    };
    this.sessions.set(session.id, session);
    sendJson(res, 200, this.toJson(session));
  }

  handleGet(res: ServerResponse, id: string) {
    const session = this.live(id);
    if (!session) return sendGoogleError(res, notFound());
    session.polls++;
    if (session.polls > (this.options.pollsBeforePicked ?? 2)) this.pick(session);
    sendJson(res, 200, this.toJson(session));
  }

  handleDelete(res: ServerResponse, id: string) {
    if (!this.live(id)) return sendGoogleError(res, notFound());
    this.sessions.delete(id);
    sendJson(res, 200, {});
  }

  handleList(res: ServerResponse, url: URL) {
    const sessionId = url.searchParams.get('sessionId');
    if (!sessionId) return sendGoogleError(res, invalidArgument('sessionId is required.', 'session_id'));
    const session = this.live(sessionId);
    if (!session) return sendGoogleError(res, notFound());
    const rawSize = url.searchParams.get('pageSize') ?? '0';
    const size = /^-?\d+$/.test(rawSize) ? Number(rawSize) : Number.NaN;
    if (!Number.isInteger(size) || size < 0) {
      return sendGoogleError(res, invalidArgument('pageSize must not be negative.', 'page_size'));
    }
    if (!session.pickedIds) {
      return sendGoogleError(
        res,
        googleError('FAILED_PRECONDITION', 'The user has not finished picking media items for this session.'),
      );
    }
    // "If unspecified or set to 0, at most 50 … values above 100 will be coerced to 100."
    const pageSize = size === 0 ? 50 : Math.min(size, 100);
    let offset = 0;
    const token = url.searchParams.get('pageToken');
    if (token) {
      const decoded = decodeToken(token, session.id);
      if (decoded === undefined)
        return sendGoogleError(res, invalidArgument('The page token is invalid.', 'page_token'));
      offset = decoded;
    }
    const items = session.pickedIds
      .map((id) => this.ctx.item(id))
      .filter((item): item is EmulatorItem => item !== undefined);
    const page = items.slice(offset, offset + pageSize);
    const result: Record<string, unknown> = {
      mediaItems: page.map((item) => toPickedMediaItem(item, this.ctx.baseUrl(item))),
    };
    if (offset + page.length < items.length)
      result.nextPageToken = encodeToken(offset + page.length, session.id);
    sendJson(res, 200, result);
  }

  /** The pickerUri: a tiny page standing in for Google Photos; opening it completes the picking. */
  handlePickerPage(res: ServerResponse, id: string) {
    const session = this.live(id);
    if (!session)
      return sendText(res, 404, '<!doctype html><title>Not found</title><p>This session has ended.');
    this.pick(session);
    const count = session.pickedIds?.length ?? 0;
    sendText(
      res,
      200,
      `<!doctype html><title>Google Photos (emulator)</title><p>Picked ${count} items. You can close this tab.</p>`,
    );
  }
}

function encodeToken(offset: number, sessionId: string): string {
  return Buffer.from(`${offset}:${sessionId}`, 'utf8').toString('base64url');
}

function decodeToken(token: string, sessionId: string): number | undefined {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const [offset, id] = text.split(':');
  if (id !== sessionId || !offset || !/^\d+$/.test(offset)) return undefined;
  return Number(offset);
}

/** google.protobuf.Duration JSON ("3.5s") to milliseconds. */
function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)s$/.exec(text);
  return match?.[1] ? Math.round(Number(match[1]) * 1000) : 0;
}

function formatDuration(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}
