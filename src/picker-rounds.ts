/**
 * The picker source run through backupYear: one call for every round, one summary. Between
 * rounds, on a terminal, the user is asked whether to pick more, once the round's files are done.
 */
import { type BackupOptions, backupYear } from './backup.ts';
import { openInBrowser } from './open-browser.ts';
import { type Report, SETTLED_EVENTS } from './report/events.ts';
import type { Reporter } from './report/reporter.ts';
import type { GoogleApi } from './sources/google-api.ts';
import { createPickerSource } from './sources/picker/index.ts';

export interface PickerRunOptions {
  api: GoogleApi;
  backupOptions: BackupOptions;
  reporter: Reporter;
  /** Asks a question on the terminal; unset when there is none (then one round, or `rounds`). */
  ask?: (prompt: string, signal: AbortSignal) => Promise<string>;
  openBrowser: boolean;
  demo: boolean;
  rounds?: number;
  signal: AbortSignal;
}

export async function runPickerBackup(options: PickerRunOptions): Promise<number> {
  const { reporter, ask } = options;
  const year = options.backupOptions.year;
  let found = 0;
  let settled = 0;
  /** Resolves the wait for the round's last item, when someone waits. */
  let onSettled: (() => void) | undefined;
  const report: Report = (event) => {
    if (event.type === 'found') found = event.count;
    else if (SETTLED_EVENTS.has(event.type)) settled++;
    reporter.report(event);
    if (settled >= found) onSettled?.();
  };
  const roundSettled = (signal: AbortSignal): Promise<void> => {
    if (settled >= found || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        onSettled = undefined;
        signal.removeEventListener('abort', done);
        resolve();
      };
      onSettled = done;
      signal.addEventListener('abort', done, { once: true });
    });
  };
  // Asked after the round's files are done, so the question is not lost in progress output.
  const askMore = async (signal: AbortSignal): Promise<boolean> => {
    await roundSettled(signal);
    const answer = await (ask as NonNullable<typeof ask>)(
      `\nPick more photos of ${year} in another round? [y/N] `,
      signal,
    );
    return /^\s*y(es)?\s*$/i.test(answer);
  };
  const rounds = options.rounds ?? (ask ? undefined : 1);
  const source = createPickerSource({
    api: options.api,
    year,
    onSession: (round) => {
      reporter.report({ type: 'link', purpose: 'picker', url: round.uri, round: round.round });
      reporter.info(
        options.demo
          ? `${round.instruction}\n(Demo: the emulator picks every item for you in a moment.)`
          : round.instruction,
      );
      if (options.openBrowser) openInBrowser(round.uri);
    },
    ...(rounds !== undefined ? { rounds } : { askMore }),
    onNotice: (notice) => report({ type: 'notice', ...notice }),
    // The demo's emulator advises 1 s between polls; a demo should not make people wait.
    ...(options.demo ? { pollIntervalMs: 200 } : {}),
  });
  const result = await backupYear(options.backupOptions, { source, report, signal: options.signal });
  return result.exitCode;
}
