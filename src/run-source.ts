/**
 * Which source a run uses and what happens when it cannot: `auto` tries the Library API and goes
 * on with the picker when the sign-in lacks the Library scope, or the API refuses or finds nothing
 * (on a terminal; elsewhere it says what to run instead). Then one backupYear call.
 */

import path from 'node:path';
import type { Authorizer } from './auth/index.ts';
import { DRIVE_SCOPE, LIBRARY_SCOPE, PICKER_SCOPE, SCOPES } from './auth/scopes.ts';
import { type BackupOptions, type BackupResult, backupYear } from './backup.ts';
import { BackupError, ExitCode, usageError } from './errors.ts';
import type { HttpClient } from './http.ts';
import { STATE_FOLDER } from './manifest.ts';
import { printableName } from './report/format.ts';
import type { Reporter } from './report/reporter.ts';
import { describe } from './run-end.ts';
import type { GoogleApi } from './sources/google-api.ts';
import type { Source } from './sources/source.ts';

export type SourceChoice = 'auto' | 'library' | 'picker' | 'takeout' | 'drive';

export interface RunSourceOptions {
  choice: SourceChoice;
  backupOptions: BackupOptions;
  reporter: Reporter;
  http: HttpClient;
  libraryUrl: string;
  pickerUrl: string;
  /** Replaces Drive's https://www.googleapis.com (PHOTO_BACKUP_DRIVE_URL, the demo). */
  driveUrl?: string;
  /** The Drive folder scheduled Takeout exports land in (--drive-folder). */
  driveFolder?: string;
  /** Signs in with `scopes`, asking for `consentScopes` when a consent is needed. */
  signIn: (scopes: readonly string[], consentScopes?: readonly string[]) => Promise<Authorizer>;
  /** Asks on the terminal; unset when there is none. */
  ask?: (prompt: string, signal: AbortSignal) => Promise<string>;
  /** The command line as typed, for the "run this instead" advice. */
  argv: string[];
  takeout: { inputs: string[]; includeTrash: boolean };
  rounds?: number;
  openBrowser: boolean;
  demo: boolean;
  signal: AbortSignal;
}

/**
 * One backupYear call with `source`; the source's last lines (the exports fully processed) and its
 * problems are printed after its summary, however the run ended (a quota stop, Ctrl-C and an
 * error too: the `export-processed` events were sent then as well), and problems make it exit 1.
 */
async function runWith(
  source: Source,
  options: RunSourceOptions,
  afterSummary: () => readonly string[] = () => [],
): Promise<BackupResult> {
  const { reporter } = options;
  const problems = () => source.problems?.() ?? [];
  const tell = () => {
    for (const line of afterSummary()) reporter.afterSummary(printableName(line));
    for (const problem of problems()) reporter.afterSummary(`problem: ${printableName(problem)}`);
  };
  let result: BackupResult;
  try {
    result = await backupYear(options.backupOptions, {
      source,
      report: reporter.report,
      signal: options.signal,
    });
  } catch (error) {
    // The run ended early: its error (cli.ts) and summary come first, these lines after them.
    tell();
    throw error;
  }
  tell();
  // A damaged part does not stop the others, but the run is not clean.
  if (problems().length === 0) return result;
  return { ...result, exitCode: Math.max(result.exitCode, ExitCode.itemsFailed) };
}

/** Runs the chosen source and returns the exit code. */
export async function runSource(options: RunSourceOptions): Promise<number> {
  const { choice, reporter, http } = options;
  const interactive = options.ask !== undefined;
  // Each source's modules are loaded when it is the one that runs: a Takeout run loads none of the
  // network sources, and none of them loads the archive readers.
  const picker = async (api: GoogleApi) => {
    const { runPickerBackup } = await import('./picker-rounds.ts');
    return runPickerBackup({
      api,
      backupOptions: options.backupOptions,
      reporter,
      openBrowser: options.openBrowser,
      demo: options.demo,
      signal: options.signal,
      ...(options.ask ? { ask: options.ask } : {}),
      ...(options.rounds !== undefined ? { rounds: options.rounds } : {}),
    });
  };
  /** The memory of finished Takeout parts in the backup folder: a local Takeout's and Drive's. */
  const partMemory = async () => {
    // Loaded only for Takeout and Drive runs: its archive readers would slow every other run's
    // start-up (docs/performance.md).
    const { partScope } = await import('./sources/takeout/part-memory.ts');
    const { timeZone, includeUndated, leaveOut } = options.backupOptions;
    return {
      stateFolder: path.join(path.resolve(options.backupOptions.folder), STATE_FOLDER),
      year: options.backupOptions.year,
      scope: partScope({
        timeZone,
        includeUndated,
        includeTrash: options.takeout.includeTrash,
        ...(leaveOut ? { leaveOut } : {}),
      }),
      readOnly: options.backupOptions.dryRun,
    };
  };
  const notices = {
    onWarning: (message: string) => reporter.report({ type: 'notice', level: 'warn', message }),
    onInfo: (message: string) => reporter.report({ type: 'notice', level: 'info', message }),
  };
  if (choice === 'takeout') {
    const { createTakeoutSource } = await import('./sources/takeout/index.ts');
    const takeout = createTakeoutSource({
      inputs: options.takeout.inputs,
      timeZone: options.backupOptions.timeZone,
      year: options.backupOptions.year,
      includeTrash: options.takeout.includeTrash,
      ...notices,
      memory: await partMemory(),
      onProcessed: (done) =>
        reporter.report({
          type: 'export-processed',
          source: 'takeout',
          year: options.backupOptions.year,
          ...done,
        }),
    });
    return (await runWith(takeout, options, () => takeout.processedExports())).exitCode;
  }
  if (choice === 'drive') {
    // Drive's scope is asked only here, when Drive is used: incremental consent.
    const authorizer = await options.signIn([DRIVE_SCOPE]);
    const { DRIVE_URL, DriveApi } = await import('./sources/drive/api.ts');
    const { createDriveSource } = await import('./sources/drive/index.ts');
    const { TAKEOUT_FOLDER } = await import('./sources/drive/exports.ts');
    const drive = createDriveSource({
      // Each wait is reported like a download's retry, so a run held up by Drive's rate limits says so.
      api: new DriveApi(http, authorizer, options.driveUrl ?? DRIVE_URL, {
        onRetry: (error, attempt, delayMs) =>
          reporter.report({
            type: 'retry',
            what: 'Google Drive',
            attempt: attempt + 1,
            delayMs,
            reason: describe(error),
          }),
      }),
      ...(options.driveFolder !== undefined ? { folderName: options.driveFolder } : {}),
      timeZone: options.backupOptions.timeZone,
      year: options.backupOptions.year,
      includeTrash: options.takeout.includeTrash,
      ...notices,
      memory: await partMemory(),
      onProcessed: (done) =>
        reporter.report({
          type: 'export-processed',
          source: 'drive',
          year: options.backupOptions.year,
          ...done,
          driveFolder: options.driveFolder ?? TAKEOUT_FOLDER,
        }),
    });
    return (await runWith(drive, options, () => drive.processedExports())).exitCode;
  }
  const { GoogleApi, ServiceDisabledError } = await import('./sources/google-api.ts');
  if (choice === 'library' || choice === 'auto') {
    const { createLibrarySource, GOOGLE_CHANGE_EXPLANATION, LibraryRefusedError } = await import(
      './sources/library/index.ts'
    );
    const authorizer = await options.signIn(choice === 'library' ? [LIBRARY_SCOPE] : [], SCOPES);
    if (choice === 'auto' && !authorizer.grantedScopes.includes(LIBRARY_SCOPE)) {
      // The Library box was left unticked: go straight to the picker instead of asking again each run.
      if (!interactive) {
        reporter.info(`The saved sign-in does not allow the Library API. ${GOOGLE_CHANGE_EXPLANATION}`);
        return explainNextStep(reporter, withoutSourceOption(options.argv), ExitCode.auth);
      }
      reporter.info('The saved sign-in does not allow the Library API; continuing with the picker.');
      await authorizer.requireScopes([PICKER_SCOPE]);
      return await picker(new GoogleApi(http, authorizer, options.pickerUrl));
    }
    const api = new GoogleApi(http, authorizer, options.libraryUrl);
    const library = createLibrarySource({
      api,
      year: options.backupOptions.year,
      onNotice: (notice) => reporter.report({ type: 'notice', ...notice }),
    });
    let refused: InstanceType<typeof LibraryRefusedError> | undefined;
    try {
      const result = await runWith(library, options);
      if (choice === 'library' || result.summary.found > 0) return result.exitCode;
    } catch (error) {
      // Not enabled in the project: `auto` does not go on (the picker's API is likely off too),
      // but like a refusal it names the routes that need no Library API.
      if (choice === 'auto' && error instanceof ServiceDisabledError) {
        reporter.info(error.message);
        return explainNextStep(reporter, withoutSourceOption(options.argv), error.exitCode);
      }
      if (!(error instanceof LibraryRefusedError)) throw error;
      if (choice === 'library') throw new BackupError(error.message, ExitCode.auth, { cause: error });
      refused = error;
    }
    // auto: the Library API refused (its error explains why) or found nothing (its notice did).
    if (!interactive) {
      if (refused) reporter.info(refused.message);
      return explainNextStep(reporter, withoutSourceOption(options.argv), ExitCode.auth);
    }
    reporter.info(`${refused ? `${refused.message}\n` : ''}Continuing with the picker.`);
    await authorizer.requireScopes([PICKER_SCOPE]);
    // `return await`: the caller closes the HTTP client afterwards, so the run must end first.
    return await picker(new GoogleApi(http, authorizer, options.pickerUrl));
  }
  if (choice === 'picker') {
    return await picker(new GoogleApi(http, await options.signIn([PICKER_SCOPE]), options.pickerUrl));
  }
  throw usageError(`The ${choice} source is not available in this build.`);
}

/**
 * After the Library API refused or found nothing, and that was explained (Google's 2025 change,
 * once, by whoever found it): say what to run instead.
 */
function explainNextStep(reporter: Reporter, argv: string[], code: number): number {
  const args = argv.slice(2).filter((arg) => !arg.startsWith('--source'));
  const base = ['photo-backup', ...args].join(' ');
  reporter.info(
    `To continue, run:\n  ${base} --source picker\nor, with a Takeout export:\n  ${base} --takeout <archives>`,
  );
  return code;
}

/**
 * argv without `--source <name>` or `--source=<name>`: explainNextStep appends `--source picker`,
 * and a `--source auto` left half behind ("auto") would become an extra argument.
 */
export function withoutSourceOption(argv: string[]): string[] {
  const kept: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] as string;
    if (index >= 2 && arg === '--source')
      index++; // and its value
    else if (index < 2 || !arg.startsWith('--source=')) kept.push(arg);
  }
  return kept;
}
