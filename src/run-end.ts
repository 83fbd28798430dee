/**
 * How a run ends, in words: the errors that end it (the API's daily quota, a listing that failed
 * for good, the media host refusing downloads) and the stop message of the summary.
 */
import { BackupError, ExitCode, quotaError } from './errors.ts';
import { classifyError, HttpError } from './http.ts';
import type { StopReason } from './report/events.ts';
import type { Source } from './sources/source.ts';

export const QUOTA_MESSAGE =
  "Google's daily request quota for this project is used up. It resets every day (around midnight Pacific time): " +
  'run the same command tomorrow and it continues where this run stopped.';

/** Media 429s without a JSON body, in a row over the whole run, that end it as a quota stop. */
export const MEDIA_QUOTA_STOP = 5;

/**
 * Media 429s in a row mean a download limit is used up: the source says which one and when to
 * come back; by default the daily one (https://developers.google.com/photos/overview/api-limits-quotas).
 */
export function mediaQuotaMessage(source: Source): string {
  const refused = `Google's media host refused ${MEDIA_QUOTA_STOP} downloads in a row with 429 Too Many Requests: `;
  return refused + (source.mediaLimitAdvice ?? DAILY_MEDIA_LIMIT_ADVICE);
}

const DAILY_MEDIA_LIMIT_ADVICE =
  "the project's daily quota of photo and video downloads (75,000 a day for the Library API) is most likely used " +
  'up. It resets every day (around midnight Pacific time): run the same command tomorrow and it continues where ' +
  'this run stopped.';

/** Turns an error that ends the whole run into the BackupError the user sees. */
export function fatalError(error: unknown): BackupError | undefined {
  if (error instanceof BackupError) return error;
  if (classifyError(error) === 'daily-quota') return quotaError(QUOTA_MESSAGE, { cause: error });
  return undefined;
}

/** A listing call that failed for good (retries spent, or an answer retrying cannot fix): ends the run, exit 1. */
export function listingError(error: unknown, year: number): BackupError | undefined {
  if (!(error instanceof HttpError)) return undefined;
  return new BackupError(
    `Listing the photos of ${year} failed: ${error.message}. What was saved is kept; run the same command again (later, if Google is having trouble).`,
    ExitCode.itemsFailed,
    { cause: error },
  );
}

export function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

export function stopMessage(
  reason: StopReason,
  options: { year: number; maxSkipped: number },
  fatal: BackupError | undefined,
  source: Source,
): string {
  switch (reason) {
    case 'skips':
      return `Stopped after ${options.maxSkipped + 1} files in a row were already saved: the rest of ${options.year} was saved by an earlier run (use --all to check every item).`;
    case 'quota':
      return fatal?.message ?? QUOTA_MESSAGE;
    case 'interrupted':
      return 'Interrupted. What was saved is recorded; run the same command again to continue.';
    case 'error':
      return fatal?.message ?? 'Stopped by an error.';
    default:
      return source.endMessage?.(options.year) ?? `Listed all of ${options.year}.`;
  }
}
