/**
 * The network faults of issue 5, as table cases shared by test/faults.test.ts (a few items, each
 * fault once) and test/reliability/faults.test.ts (a few hundred items).
 */
import assert from 'node:assert/strict';
import type { EmulatorStats, Faults, LatencyOptions } from '../support/emulator/index.ts';

export interface FaultCase {
  name: string;
  faults?: Faults;
  latency?: LatencyOptions;
  args?: string[];
  /** Items at least (some faults need several pages or a slow enough run). */
  minItems?: number;
  /** Proves the fault was really injected and handled. */
  check(stats: EmulatorStats): void;
  /** What differs for the picker source (few API calls: create, polls, list, delete; fresh URLs by listing again). */
  picker?: { faults?: Faults; check?(stats: EmulatorStats): void };
}

const injected = (stats: EmulatorStats, kind: string) => stats.faults[kind] ?? 0;

export const faultCases: FaultCase[] = [
  {
    name: '10% of API calls answered 503',
    // Seed 15 makes the first search call one of the 10% (so even a one-page year meets a 503).
    faults: { seed: 15, apiUnavailableRate: 0.1, firstAttempts: 3 },
    check: (stats) => assert.ok(injected(stats, 'apiUnavailable') > 0, JSON.stringify(stats.faults)),
    // Seed 6 makes the first sessions.create one of the 10% (the picker makes only a few API calls).
    picker: { faults: { seed: 6, apiUnavailableRate: 0.1, firstAttempts: 3 } },
  },
  {
    name: '429 with Retry-After, in a per-minute quota burst',
    faults: { perMinuteQuota: { after: 0, burst: 3, retryAfterSeconds: 1 } },
    check: (stats) => assert.equal(injected(stats, 'perMinuteQuota'), 3),
  },
  {
    name: 'connections reset in mid-body',
    faults: { seed: 5, mediaResetRate: 0.3, firstAttempts: 2 },
    check: (stats) => assert.ok(injected(stats, 'mediaReset') > 0),
  },
  {
    name: 'bodies that end before their Content-Length',
    faults: { seed: 6, mediaShortBodyRate: 0.3, firstAttempts: 2 },
    check: (stats) => assert.ok(injected(stats, 'mediaShortBody') > 0),
  },
  {
    name: 'media 503 before any byte',
    faults: { seed: 8, mediaUnavailableRate: 0.2, firstAttempts: 2 },
    check: (stats) => assert.ok(injected(stats, 'mediaUnavailable') > 0),
  },
  {
    name: 'a body that stalls longer than --read-timeout',
    faults: { seed: 9, mediaStall: { rate: 0.3, ms: 5000 }, firstAttempts: 1 },
    args: ['--read-timeout', '1'],
    check: (stats) => assert.ok(injected(stats, 'mediaStall') > 0),
  },
  {
    name: 'download URLs that expire after a second',
    faults: { urlTtlMs: 1000 },
    latency: { mediaMs: 150 },
    args: ['--concurrency', '2'],
    check: (stats) =>
      assert.ok((stats.requests['library.batchGet'] ?? 0) > 0, JSON.stringify(stats.requests)),
    // The picker has no batchGet: it lists the session again for fresh URLs.
    picker: {
      check: (stats) => {
        assert.ok((stats.requests['media.expired'] ?? 0) > 0, JSON.stringify(stats.requests));
        assert.ok((stats.requests['picker.mediaItems.list'] ?? 0) > 1, JSON.stringify(stats.requests));
      },
    },
  },
  {
    name: 'an access token that stops working mid-run',
    faults: { accessTokenLifetimeMs: 800 },
    latency: { apiMs: 300, mediaMs: 20 },
    minItems: 250,
    check: (stats) => assert.ok((stats.requests['oauth.token'] ?? 0) > 0, JSON.stringify(stats.requests)),
  },
];

/** Every fault at once, for the big runs of each source (the seed picks which requests are hit). */
export function everyFault(seed: number): { faults: Faults; latency: LatencyOptions } {
  return {
    faults: {
      seed,
      apiUnavailableRate: 0.1,
      perMinuteQuota: { after: 2, burst: 3, retryAfterSeconds: 1 },
      mediaUnavailableRate: 0.1,
      mediaResetRate: 0.1,
      mediaShortBodyRate: 0.1,
      mediaStall: { rate: 0.03, ms: 5000 },
      urlTtlMs: 3000,
      accessTokenLifetimeMs: 2000,
      firstAttempts: 2,
    },
    latency: { apiMs: 50, mediaMs: 20 },
  };
}
