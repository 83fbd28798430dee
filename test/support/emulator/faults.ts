/**
 * Injected faults. Each decision depends only on (seed, fault, request key, attempt number), not on
 * the order concurrent requests arrive in, so a run with the same faults fails the same way.
 */

import type {
  ApiService,
  DriveErrorName,
  DriveFault,
  FaultHooks,
  MediaFault,
} from '../../../src/emulator/fault-hooks.ts';
import { chance } from '../../../src/emulator/random.ts';
import {
  dailyQuotaExceeded,
  type GoogleError,
  googleError,
  perMinuteQuotaExceeded,
  serviceDisabled,
  tooManySessions,
  unavailable,
} from '../../../src/emulator/responses.ts';

export interface Faults {
  /** Seed for the fault decisions; default 1. */
  seed?: number;
  /** Fraction of API calls (Library and Picker) answered 503 UNAVAILABLE. */
  apiUnavailableRate?: number;
  /** Fraction of API calls answered 500 INTERNAL. */
  apiInternalRate?: number;
  /**
   * 429 RESOURCE_EXHAUSTED (WritesPerMinutePerUser) with Retry-After for a burst: after `after`
   * API calls (default 0), the next `burst` calls are refused.
   */
  perMinuteQuota?: { after?: number; burst: number; retryAfterSeconds?: number };
  /** Every Library API call after this many gets 429 ApiCallsPerProjectPerDay (fatal for the day). */
  dailyQuotaAfter?: number;
  /** Fraction of media requests answered 503 before any byte. */
  mediaUnavailableRate?: number;
  /** Fraction of media responses whose connection is reset in mid-body. */
  mediaResetRate?: number;
  /** Fraction of media responses that end cleanly but shorter than their Content-Length. */
  mediaShortBodyRate?: number;
  /** Fraction of media responses that stop sending for `ms` in mid-body, then finish. */
  mediaStall?: { rate: number; ms: number };
  /**
   * Media bodies sent `bytes` at a time, `everyMs` apart, from the first byte: a download that
   * goes on for minutes while never being silent long enough to time out. Google's media host can
   * be that slow: users report transfers that drop to a trickle (rclone/gphotosdl#4) and downloads
   * throttled to a few hundred KB/s (webcompat/web-bugs#232978).
   */
  mediaTrickle?: { bytes: number; everyMs: number };
  /** Base URLs handed out from now on expire after this many ms (instead of 60 minutes). */
  urlTtlMs?: number;
  /** Access tokens stop working this many ms after issue, although `expires_in` promised more. */
  accessTokenLifetimeMs?: number;
  /** A fault hits a given request key (API request or media item) only on its first k attempts. */
  firstAttempts?: number;
  /** Media faults hit only these item ids (default: all). */
  itemIds?: string[];
  /** Every call of this API answers 403 SERVICE_DISABLED (the API is not enabled in the project). */
  serviceDisabled?: { service: ApiService; form?: 'error-info' | 'help-only' };
  /** sessions.create answers 429 RESOURCE_EXHAUSTED "too many sessions", with or without an ErrorInfo. */
  tooManySessions?: 'plain' | 'rate-limit';
  /** Media requests after this many answer 429 with an HTML body, no JSON (the media-byte quota). */
  mediaQuotaAfter?: number;
  /**
   * `=d` / `=dv` answer 302 to the same path on a second host (another port) that refuses any
   * request carrying an Authorization header. Whether Google redirects base URLs is undocumented
   * (rclone and gphotos-sync follow redirects silently), so the client must handle both.
   */
  mediaRedirect?: boolean;
  /** Drive behaviours, each counted on its own: see DriveFaultRule. */
  drive?: DriveFaultRule[];
  /**
   * albums.list answers 403 "Request had insufficient authentication scopes." (a token whose scope
   * does not reach albums), while the media item calls still work.
   */
  albumsDenied?: boolean;
}

/**
 * One Drive behaviour: on the calls of `on` (default every Drive call) to `fileIds` (default any
 * file), after `after` such calls (default 0), the next `times` (default all later ones) get
 * `fault`. JSON, so the bench and a CLI test can switch it through the admin routes.
 */
export interface DriveFaultRule {
  fault: DriveErrorName | 'deleted' | 'replaced' | 'rangeIgnored' | 'reset' | 'short';
  on?: Array<'list' | 'get' | 'media'>;
  fileIds?: string[];
  after?: number;
  times?: number;
  /** For the rate limits: a `Retry-After` header in seconds. */
  retryAfterSeconds?: number;
  /** For reset and short: where in the body it stops (default 0.5). */
  atFraction?: number;
  /** For replaced: new bytes of the same size (only md5Checksum changes). */
  sameSize?: boolean;
}

export type { ApiService, MediaFault };

export class FaultEngine implements FaultHooks {
  faults: Faults = {};
  /** How often each fault was injected, by name. */
  readonly injected: Record<string, number> = {};
  private attempts = new Map<string, number>();
  private apiCalls = 0;
  private libraryCalls = 0;
  private mediaCalls = 0;
  /** Calls each Drive rule has seen, by its index. */
  private driveCalls: number[] = [];

  set(faults: Faults): void {
    this.faults = { ...faults };
    this.driveCalls = [];
    this.attempts.clear();
    this.apiCalls = 0;
    this.libraryCalls = 0;
    this.mediaCalls = 0;
  }

  /** True when this media request is over the media-byte quota (mediaQuotaAfter). */
  mediaQuotaHit(): boolean {
    const after = this.faults.mediaQuotaAfter;
    if (after === undefined) return false;
    this.mediaCalls++;
    if (this.mediaCalls <= after) return false;
    this.count('mediaQuota');
    return true;
  }

  private count(name: string): void {
    this.injected[name] = (this.injected[name] ?? 0) + 1;
  }

  private nextAttempt(key: string): number {
    const attempt = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, attempt);
    return attempt;
  }

  private hits(rate: number | undefined, name: string, key: string, attempt: number): boolean {
    if (!rate || rate <= 0) return false;
    if (this.faults.firstAttempts !== undefined && attempt > this.faults.firstAttempts) return false;
    return chance(this.faults.seed ?? 1, name, key, attempt) < rate;
  }

  /** The fault for one API call, or undefined to answer normally. */
  apiFault(service: ApiService, key: string): GoogleError | undefined {
    const f = this.faults;
    this.apiCalls++;
    if (service === 'library') this.libraryCalls++;
    const serviceName =
      service === 'library' ? 'photoslibrary.googleapis.com' : 'photospicker.googleapis.com';
    if (f.serviceDisabled?.service === service) {
      this.count('serviceDisabled');
      return serviceDisabled(serviceName, f.serviceDisabled.form);
    }
    if (service === 'library' && f.albumsDenied && key.startsWith('library.albums.list\u0000')) {
      this.count('albumsDenied');
      return googleError('PERMISSION_DENIED', 'Request had insufficient authentication scopes.');
    }
    if (service === 'picker' && f.tooManySessions && key.startsWith('picker.sessions.create\u0000')) {
      this.count('tooManySessions');
      return tooManySessions(f.tooManySessions);
    }
    if (service === 'library' && f.dailyQuotaAfter !== undefined && this.libraryCalls > f.dailyQuotaAfter) {
      this.count('dailyQuota');
      return dailyQuotaExceeded(serviceName);
    }
    if (f.perMinuteQuota) {
      const after = f.perMinuteQuota.after ?? 0;
      if (this.apiCalls > after && this.apiCalls <= after + f.perMinuteQuota.burst) {
        this.count('perMinuteQuota');
        return perMinuteQuotaExceeded(f.perMinuteQuota.retryAfterSeconds ?? 1, serviceName);
      }
    }
    const attempt = this.nextAttempt(`api\u0000${key}`);
    if (this.hits(f.apiUnavailableRate, 'api503', key, attempt)) {
      this.count('apiUnavailable');
      return unavailable();
    }
    if (this.hits(f.apiInternalRate, 'api500', key, attempt)) {
      this.count('apiInternal');
      return googleError('INTERNAL', 'Internal error encountered.');
    }
    return undefined;
  }

  /** The fault for one media request of `itemId` (keyed by item and URL suffix). */
  mediaFault(itemId: string, suffix: string): MediaFault | undefined {
    const f = this.faults;
    if (f.itemIds && !f.itemIds.includes(itemId)) return undefined;
    const key = `${itemId}=${suffix}`;
    const attempt = this.nextAttempt(`media\u0000${key}`);
    if (this.hits(f.mediaUnavailableRate, 'media503', key, attempt)) {
      this.count('mediaUnavailable');
      return { kind: 'unavailable' };
    }
    const atFraction = 0.25 + chance(f.seed ?? 1, 'where', key, attempt) * 0.5;
    if (this.hits(f.mediaResetRate, 'mediaReset', key, attempt)) {
      this.count('mediaReset');
      return { kind: 'reset', atFraction };
    }
    if (this.hits(f.mediaShortBodyRate, 'mediaShort', key, attempt)) {
      this.count('mediaShortBody');
      return { kind: 'short', atFraction };
    }
    if (f.mediaStall && this.hits(f.mediaStall.rate, 'mediaStall', key, attempt)) {
      this.count('mediaStall');
      return { kind: 'stall', atFraction, ms: f.mediaStall.ms };
    }
    if (f.mediaTrickle) {
      this.count('mediaTrickle');
      return { kind: 'trickle', ...f.mediaTrickle };
    }
    return undefined;
  }

  /** Calls each Drive rule has counted so far, by its index in `drive`. */
  driveRuleCalls(): number[] {
    return (this.faults.drive ?? []).map((_, index) => this.driveCalls[index] ?? 0);
  }

  /** The first Drive rule that hits this call; every matching rule counts the call. */
  driveFault(route: 'list' | 'get' | 'media', fileId?: string): DriveFault | undefined {
    let hit: DriveFault | undefined;
    (this.faults.drive ?? []).forEach((rule, index) => {
      if (rule.on && !rule.on.includes(route)) return;
      if (rule.fileIds && (fileId === undefined || !rule.fileIds.includes(fileId))) return;
      const calls = (this.driveCalls[index] ?? 0) + 1;
      this.driveCalls[index] = calls;
      const after = rule.after ?? 0;
      if (hit || calls <= after || (rule.times !== undefined && calls > after + rule.times)) return;
      this.count(`drive.${rule.fault}`);
      hit = toDriveFault(rule);
    });
    return hit;
  }
}

function toDriveFault(rule: DriveFaultRule): DriveFault {
  switch (rule.fault) {
    case 'deleted':
    case 'rangeIgnored':
      return { kind: rule.fault };
    case 'replaced':
      return { kind: 'replaced', ...(rule.sameSize ? { sameSize: true } : {}) };
    case 'reset':
    case 'short':
      return { kind: rule.fault, ...(rule.atFraction !== undefined ? { atFraction: rule.atFraction } : {}) };
    default:
      return {
        kind: 'error',
        error: rule.fault,
        ...(rule.retryAfterSeconds !== undefined ? { retryAfterSeconds: rule.retryAfterSeconds } : {}),
      };
  }
}
