/** backupYear options for in-process tests: 2024 in UTC, the CLI's defaults, retries in milliseconds. */
import type { BackupOptions } from '../../src/backup.ts';

export const fastRetry = { retries: 6, baseDelayMs: 2, maxDelayMs: 20, rateLimitDelayMs: 2 };

export function testBackupOptions(folder: string, overrides: Partial<BackupOptions> = {}): BackupOptions {
  return {
    year: 2024,
    folder,
    timeZone: 'UTC',
    concurrency: 4,
    maxSkipped: 5,
    all: false,
    dryRun: false,
    includeUndated: false,
    retryPolicy: fastRetry,
    ...overrides,
  };
}
