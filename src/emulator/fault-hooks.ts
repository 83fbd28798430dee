/**
 * What the emulator's servers ask about injected faults. Tests and the bench hand in an engine
 * (test/support/emulator/faults.ts); --demo hands in none and gets `noFaults`: Google behaving.
 */
import type { GoogleError } from './responses.ts';

export type MediaFault =
  | { kind: 'unavailable' }
  | { kind: 'reset'; atFraction: number }
  | { kind: 'short'; atFraction: number }
  | { kind: 'stall'; atFraction: number; ms: number }
  /** The whole body `bytes` at a time, `everyMs` apart: a slow or throttled connection. */
  | { kind: 'trickle'; bytes: number; everyMs: number };

export type ApiService = 'library' | 'picker';

/** Drive answers a test switches on (test/support/emulator/faults.ts `drive`). */
export type DriveErrorName =
  | 'unauthorized'
  | 'rateLimitExceeded'
  | 'userRateLimitExceeded'
  | 'tooManyRequests'
  | 'downloadQuotaExceeded'
  | 'preconditionFailed';

export type DriveFault =
  | { kind: 'error'; error: DriveErrorName; retryAfterSeconds?: number }
  /** The file is deleted just before this request: it and every later one answer 404. */
  | { kind: 'deleted' }
  /**
   * The file gets new bytes just before this request: another size and md5Checksum, or with
   * `sameSize` the same size and another md5Checksum (only the checksum tells them apart).
   */
  | { kind: 'replaced'; sameSize?: boolean }
  /** A request with `Range` is answered 200 with the whole file. */
  | { kind: 'rangeIgnored' }
  | { kind: 'reset'; atFraction?: number }
  | { kind: 'short'; atFraction?: number };

export interface FaultHooks {
  /** The settings the servers read on each request. */
  readonly faults: { urlTtlMs?: number; accessTokenLifetimeMs?: number; mediaRedirect?: boolean };
  /** How often each fault was injected, by name. */
  readonly injected: Record<string, number>;
  /** The media-byte quota is used up: answer 429 with an HTML body. */
  mediaQuotaHit(): boolean;
  apiFault(service: ApiService, key: string): GoogleError | undefined;
  mediaFault(itemId: string, suffix: string): MediaFault | undefined;
  /** The fault for one Drive call (`fileId` for files.get and alt=media). */
  driveFault(route: 'list' | 'get' | 'media', fileId?: string): DriveFault | undefined;
}

export const noFaults: FaultHooks = {
  faults: {},
  injected: {},
  mediaQuotaHit: () => false,
  apiFault: () => undefined,
  mediaFault: () => undefined,
  driveFault: () => undefined,
};
