/**
 * The Photos Picker source: the user picks photos in Google Photos (up to 2000 per session), and
 * the picked items flow through the same pipeline as the library's. Since 31 March 2025 it is the
 * only Google API that reaches a user's existing photos
 * (https://developers.google.com/photos/support/updates).
 *
 * One list() may run several rounds (sessions) one after another, so one backupYear call and one
 * summary cover them all. Sessions stay alive until close(): their items' download URLs last 60
 * minutes and are renewed by listing the session again.
 */
import { HttpError } from '../../http.ts';
import { factsFromPickedItem, metadataOfFacts } from '../../metadata/facts.ts';
import type { GoogleApi } from '../google-api.ts';
import type { OpenedMedia, Source, SourceItem, SourceNotice } from '../source.ts';
import {
  createSession,
  deleteSession,
  isSessionGone,
  listPickedItems,
  MAX_ITEMS_PER_SESSION,
  type PickedMediaItem,
  type PickingSession,
  waitUntilPicked,
} from './api.ts';

export { listPickedItems, parseDuration } from './api.ts';

/**
 * Base URLs "remain active for 60 minutes"
 * (https://developers.google.com/photos/picker/guides/media-items); renew a little before.
 */
const URL_MAX_AGE_MS = 50 * 60_000;

/** The line that sends the user to Google Photos. Pure. */
export function pickInstruction(year: number, round: number, uri: string): string {
  const what = round === 1 ? `Pick the photos of ${year}` : `Round ${round}: pick more photos of ${year}`;
  return `${what} in Google Photos — up to ${MAX_ITEMS_PER_SESSION} per round — then press Done: ${uri}`;
}

/** An item's download failed and its session is gone: only picking it again helps. */
export class PickAgainError extends Error {
  constructor(filename: string, round: number, cause?: unknown) {
    super(
      `The picking session of round ${round} has expired, so Google no longer gives out a download link for ` +
        `"${filename}". Run the same command again and pick it again (what was saved is skipped).`,
      cause === undefined ? undefined : { cause },
    );
    this.name = 'PickAgainError';
  }
}

export interface PickerRound {
  round: number;
  uri: string;
  /** The one line to show: what to do, and the link. */
  instruction: string;
}

export interface PickerSourceOptions {
  /** The Picker API (https://photospicker.googleapis.com or the emulator's). */
  api: GoogleApi;
  year: number;
  /** Shows the user a new session's link (print it, maybe open a browser). */
  onSession: (round: PickerRound) => void | Promise<void>;
  /** A fixed number of rounds (--rounds). Without it, askMore decides; without both, one round. */
  rounds?: number;
  /** Asked after each round: pick more? (a year can hold more than 2000 items) */
  askMore?: (signal: AbortSignal) => Promise<boolean>;
  onNotice?: (notice: SourceNotice) => void;
  /** Overrides the server's pollInterval (the demo polls faster). */
  pollIntervalMs?: number;
}

/** One session: its download URLs by item id, renewed by listing the session again. */
class PickedRound {
  readonly urls = new Map<string, { url: string; at: number }>();
  private relisting: Promise<void> | undefined;
  gone = false;
  readonly round: number;
  readonly session: PickingSession;
  private readonly api: GoogleApi;
  private readonly options: PickerSourceOptions;

  constructor(api: GoogleApi, session: PickingSession, round: number, options: PickerSourceOptions) {
    this.api = api;
    this.session = session;
    this.round = round;
    this.options = options;
  }

  remember(item: PickedMediaItem, at: number): void {
    const url = item.mediaFile?.baseUrl;
    if (url) this.urls.set(item.id, { url, at });
  }

  /**
   * A URL for `id` other than `stale`: one another download renewed already, or the result of
   * listing the session again (one listing shared by every download that asks meanwhile).
   * There is no batchGet for picked items; mediaItems.list is the only way to fresh URLs.
   */
  async fresh(id: string, filename: string, stale: string | undefined, signal: AbortSignal): Promise<string> {
    const known = this.urls.get(id);
    if (known && known.url !== stale && Date.now() - known.at < URL_MAX_AGE_MS) return known.url;
    if (this.gone) throw new PickAgainError(filename, this.round);
    this.relisting ??= this.relist(signal).finally(() => {
      this.relisting = undefined;
    });
    try {
      await this.relisting;
    } catch (error) {
      if (isSessionGone(error)) {
        this.gone = true;
        throw new PickAgainError(filename, this.round, error);
      }
      throw error;
    }
    const renewed = this.urls.get(id);
    if (!renewed) throw new PickAgainError(filename, this.round);
    return renewed.url;
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const listing = listPickedItems(this.api, this.session, {
      year: this.options.year,
      signal,
      ...(this.options.pollIntervalMs !== undefined ? { pollIntervalMs: this.options.pollIntervalMs } : {}),
    });
    for await (const { item, fetchedAt } of listing) this.remember(item, fetchedAt);
  }
}

function isVideo(item: PickedMediaItem): boolean {
  if (item.type === 'VIDEO') return true;
  if (item.type === 'PHOTO') return false;
  return (item.mediaFile?.mimeType ?? '').startsWith('video/');
}

/** A picked item as the pipeline sees it; its bytes come with the Bearer token the picker requires. */
export function toSourceItem(picked: PickedMediaItem, round: PickedRound, api: GoogleApi): SourceItem {
  const video = isVideo(picked);
  const file = picked.mediaFile;
  const filename = file?.filename || `${picked.id}${video ? '.mp4' : '.jpg'}`;
  const takenAt = picked.createTime ? new Date(picked.createTime) : undefined;
  const status = file?.mediaFileMetadata?.videoMetadata?.processingStatus;
  // `=d` is the photo with its EXIF except location, `=dv` the video (transcoded by Google):
  // https://developers.google.com/photos/library/guides/access-media-items#base-urls
  const suffix = video ? '=dv' : '=d';
  // "Ensure you have a valid OAuth 2.0 access token … to authorize your requests" — unlike the
  // Library API's, picker base URLs answer 403 without it
  // (https://developers.google.com/photos/picker/guides/media-items).
  const download = async (url: string, signal: AbortSignal) =>
    api.http.open(`${url}${suffix}`, await api.authorization(), signal);

  const open = async (signal: AbortSignal): Promise<OpenedMedia> => {
    const known = round.urls.get(picked.id);
    let url =
      known && Date.now() - known.at < URL_MAX_AGE_MS
        ? known.url
        : await round.fresh(picked.id, filename, known?.url, signal);
    let refreshedToken = false;
    for (let renewed = false; ; ) {
      try {
        return await download(url, signal);
      } catch (error) {
        if (!(error instanceof HttpError)) throw error;
        if (error.kind === 'unauthorized' && !refreshedToken) {
          // The access token ran out mid-run: one refresh, as for API calls.
          refreshedToken = true;
          await api.tokens.refresh();
          continue;
        }
        // A refused download URL has most likely expired: ask the session for a fresh one, once.
        if (error.kind !== 'expired' || renewed) throw error;
        renewed = true;
        url = await round.fresh(picked.id, filename, url, signal);
      }
    }
  };

  return {
    id: picked.id,
    filename,
    kind: video ? 'video' : 'photo',
    ...(file?.mimeType ? { mimeType: file.mimeType } : {}),
    ...(takenAt && !Number.isNaN(takenAt.getTime()) ? { takenAt } : {}),
    dateSource: 'api',
    ...(status !== undefined && status !== 'READY'
      ? { unavailable: `Google is still processing this video (${status}); pick it again in a later run.` }
      : {}),
    // Name and camera, kept in the record for an XMP sidecar now or in a later run.
    metadata: metadataOfFacts(factsFromPickedItem(picked, { id: picked.id })),
    open,
    probeSize: async (signal) => {
      const url = round.urls.get(picked.id)?.url;
      return url ? api.http.headSize(`${url}${suffix}`, await api.authorization(), signal) : undefined;
    },
  };
}

export function createPickerSource(options: PickerSourceOptions): Source {
  const { api, year } = options;
  /** Sessions not deleted yet (their items may still be downloading). */
  const open = new Map<string, PickedRound>();
  const notice = (level: SourceNotice['level'], message: string) => options.onNotice?.({ level, message });
  const waitOptions = (signal: AbortSignal) => ({
    year,
    signal,
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
  });

  const deleteAll = async (): Promise<void> => {
    const rounds = [...open.values()];
    open.clear();
    await Promise.allSettled(rounds.map((round) => deleteSession(api, round.session.id)));
  };
  const deleteRound = async (round: PickedRound): Promise<void> => {
    open.delete(round.session.id);
    await deleteSession(api, round.session.id).catch(() => undefined);
  };

  /** Items of the rounds listed so far, each once. */
  let listedInRounds: number | undefined;

  const wantsAnother = async (done: number, signal: AbortSignal): Promise<boolean> => {
    if (options.rounds !== undefined) return done < options.rounds;
    return options.askMore ? options.askMore(signal) : false;
  };

  return {
    name: 'picker',
    // Picked items come in the order the user picked them, not newest first: every one is looked at.
    stopsOnSkips: false,
    endMessage: () => 'Every picked item was handled.',
    // https://developers.google.com/photos/overview/api-limits-quotas: the Picker API's media
    // bytes are limited per minute, the Library API's per day.
    mediaLimitAdvice:
      "the project's per-minute limit of photo and video downloads is used up. Wait a few minutes, then run the " +
      'same command again (what was saved is skipped).',
    // Known once a round is listed: Google's session says nothing of how many were picked.
    total: () => listedInRounds,
    async *list(signal: AbortSignal) {
      /** Ids handed out in this run: a later round's overlap is not downloaded twice at once. */
      const handedOut = new Set<string>();
      let finished = false;
      try {
        for (let number = 1; ; number++) {
          const session = await createSession(api, signal);
          const round = new PickedRound(api, session, number, options);
          open.set(session.id, round);
          await options.onSession({
            round: number,
            uri: session.pickerUri,
            instruction: pickInstruction(year, number, session.pickerUri),
          });
          const picked = await waitUntilPicked(api, session, waitOptions(signal));
          let count = 0;
          let repeated = 0;
          // The round is listed in full before its first item is handed out (at most 2000 items,
          // 20 pages): then the progress line knows the round's total from its first file.
          const fresh: SourceItem[] = [];
          for await (const { item, fetchedAt } of listPickedItems(api, picked, waitOptions(signal))) {
            count++;
            round.remember(item, fetchedAt);
            if (handedOut.has(item.id)) {
              repeated++;
              continue;
            }
            handedOut.add(item.id);
            fresh.push(toSourceItem(item, round, api));
          }
          listedInRounds = handedOut.size;
          yield* fresh;
          if (count === 0) {
            await deleteRound(round);
            notice(
              'info',
              number === 1
                ? `Nothing was picked, so there is nothing to save. To back up ${year}, run again and pick its photos in Google Photos.`
                : `Nothing was picked in round ${number}.`,
            );
            break;
          }
          notice(
            'info',
            `Round ${number}: ${count} item${count === 1 ? '' : 's'} picked` +
              (repeated > 0 ? ` (${repeated} already picked in an earlier round of this run).` : '.'),
          );
          if (!(await wantsAnother(number, signal))) break;
        }
        finished = true;
      } finally {
        // On errors, an abort (Ctrl-C) or an early stop nothing more will be downloaded: delete now.
        // After a normal end the downloads may still run; close() deletes then.
        if (!finished) await deleteAll();
      }
    },
    close: deleteAll,
  };
}
