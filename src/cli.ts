/**
 * The only file that reads argv, prints, and sets the exit code. It parses the command line,
 * wires the real pieces (auth, HTTP, a source, the reporter) and hands them to backupYear.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { type AuthUi, authorize, LIBRARY_SCOPE, PICKER_SCOPE, SCOPES } from './auth/index.ts';
import { type BackupOptions, backupYear } from './backup.ts';
import { BackupError, ExitCode, usageError } from './errors.ts';
import { HttpClient } from './http.ts';
import { parseYear } from './layout.ts';
import { openInBrowser } from './open-browser.ts';
import type { BackupEvent, Report } from './report/events.ts';
import { printable, printableName } from './report/format.ts';
import { createReporter, type Reporter, type TextSink } from './report/reporter.ts';
import { GoogleApi } from './sources/google-api.ts';
import {
  createLibrarySource,
  GOOGLE_CHANGE_EXPLANATION,
  LibraryRefusedError,
} from './sources/library/index.ts';
import { createPickerSource } from './sources/picker/index.ts';
import type { Source } from './sources/source.ts';
import { resolveTimeZone } from './timezone.ts';

export const LIBRARY_URL = 'https://photoslibrary.googleapis.com';
export const PICKER_URL = 'https://photospicker.googleapis.com';

const VERSION = '0.1.0';

export interface CliIo {
  stdout: TextSink;
  stderr: TextSink;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
  now: () => Date;
}

interface ParsedOptions {
  source: 'auto' | 'library' | 'picker' | 'takeout';
  clientSecret: string;
  token?: string;
  concurrency: number;
  maxSkipped: number;
  all: boolean;
  timezone: string;
  dryRun: boolean;
  json: boolean;
  browser: boolean;
  demo: boolean;
  takeout?: string[];
  includeTrash: boolean;
  includeUndated: boolean;
  rounds?: number;
  readTimeout: number;
  verbose: boolean;
}

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}.`);
    }
    return Number(value);
  };
}

const EXAMPLES = `
Examples (as the original script):
  photo-backup 2024                 save 2024 into ./photos
  photo-backup 2003 photos_backup   save 2003 into ./photos_backup
  photo-backup                      save this year into ./photos
  ./backup.sh   |   backup.bat      the same from the shell scripts
  photo-backup --demo               try it against a built-in fake Google, no account needed
  photo-backup 2024 out --takeout takeout-001.zip takeout-002.zip

Sources: since 31 March 2025 Google's Library API returns only media this app uploaded.
  --source picker   you pick the photos in Google Photos (up to 2000 per round); the
                    skip-stop rule does not apply to picked items: every pick is checked.
  --takeout FILES   a Google Takeout export: the complete library, original quality.

A file already saved is skipped; after more than --max-skipped skips in a row the run
stops, so a repeated run ends where the last one left off.

Exit codes: 0 done, 1 some items failed, 2 usage or bad input, 3 authorization,
4 daily quota used up (run again tomorrow), 130 interrupted.`;

function buildProgram(io: CliIo): Command {
  const program = new Command('photo-backup');
  program
    .description('Save one year of your Google Photos into one folder per day.')
    .version(VERSION, '-V, --version')
    .argument('[year]', 'year as yyyy (default: this year)')
    .argument('[folder]', 'where to save (default: photos)')
    .addOption(
      new Option('--source <source>', 'where the photos come from')
        .choices(['auto', 'library', 'picker', 'takeout'])
        .default('auto'),
    )
    .option('--client-secret <file>', 'the Desktop OAuth client JSON', 'client_secret.json')
    .option('--token <file>', 'where the token is cached (default: token.json beside the client secret)')
    .option('--concurrency <n>', 'parallel downloads', integer('--concurrency', 1, 64), 4)
    .option(
      '--max-skipped <n>',
      'stop after more than n already-saved files in a row',
      integer('--max-skipped', 0, 1e9),
      5,
    )
    .option('--all', 'never stop on skips: walk the whole year and fill gaps', false)
    .option('--timezone <zone>', 'IANA zone, "local" or "utc": decides each item\'s day folder', 'local')
    .option('--dry-run', 'say what would be saved where; write nothing', false)
    .option('--json', 'one JSON object per line on stdout for every event', false)
    .option('--no-browser', 'print the consent or picker link; do not open a browser')
    .option('--demo', 'run against the built-in emulator of Google with generated photos', false)
    .option(
      '--takeout <paths...>',
      'Google Takeout archives (.zip, .tgz) or extracted folders (implies --source takeout)',
    )
    .option('--include-trash', 'takeout: also save items from the trash', false)
    .option('--include-undated', 'save items with no capture date under undated/', false)
    .option(
      '--rounds <n>',
      'picker: pick this many rounds (default: ask on a terminal, else 1)',
      integer('--rounds', 1, 1000),
    )
    .option(
      '--read-timeout <seconds>',
      'a download that sends nothing this long is retried',
      integer('--read-timeout', 1, 3600),
      60,
    )
    .option('--verbose', 'print every file and retry', false)
    .addHelpText('after', EXAMPLES)
    .showHelpAfterError('(run photo-backup --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(printable(text)),
    });
  return program;
}

function retryScale(env: NodeJS.ProcessEnv): Partial<BackupOptions['retryPolicy']> {
  // For tests and the reliability suite: waits between retries in ms instead of Google's seconds.
  const base = env.PHOTO_BACKUP_RETRY_BASE_MS;
  if (!base || !/^\d+$/.test(base)) return {};
  const ms = Number(base);
  return { baseDelayMs: ms, rateLimitDelayMs: ms, maxDelayMs: Math.max(ms * 20, 50) };
}

export async function run(argv: string[], io: CliIo, signal: AbortSignal): Promise<number> {
  const program = buildProgram(io);
  try {
    program.parse(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok;
      return ExitCode.usage;
    }
    throw error;
  }
  const options = program.opts<ParsedOptions>();
  const [yearArg, folderArg, ...extra] = program.args;
  if (extra.length > 0)
    throw usageError(`Unexpected argument "${extra[0]}": give at most a year and a folder.`);
  const year = parseYear(yearArg, io.now());
  // An empty argument (`photo-backup 2024 ""`, or an unset shell variable) would mean the working folder.
  if (folderArg !== undefined && folderArg.trim() === '')
    throw usageError('The folder argument is empty: give the folder to save into, for example photos.');
  const folder = path.resolve(io.cwd, folderArg ?? (options.demo ? 'photos-demo' : 'photos'));
  const timeZone = resolveTimeZone(options.timezone, io.env.TZ);
  const source = options.takeout ? 'takeout' : options.source;
  if (source === 'takeout' && !options.takeout) {
    throw usageError('--source takeout needs the archives: add --takeout <files or folders>.');
  }

  const reporter = createReporter({
    json: options.json,
    stdout: io.stdout,
    stderr: io.stderr,
    verbose: options.verbose,
  });
  const interactive = io.stdin.isTTY === true && io.stderr.isTTY === true && !io.env.CI;
  const http = new HttpClient({
    readTimeoutMs: options.readTimeout * 1000,
    connections: options.concurrency + 2,
    policy: retryScale(io.env),
  });
  const cleanups: (() => Promise<void>)[] = [() => http.close()];
  try {
    const backupOptions: BackupOptions = {
      year,
      folder,
      timeZone,
      concurrency: options.concurrency,
      maxSkipped: options.maxSkipped,
      all: options.all,
      dryRun: options.dryRun,
      includeUndated: options.includeUndated,
      retryPolicy: http.policy,
    };
    let libraryUrl = io.env.PHOTO_BACKUP_LIBRARY_URL || LIBRARY_URL;
    let pickerUrl = io.env.PHOTO_BACKUP_PICKER_URL || PICKER_URL;
    let clientSecretPath = path.resolve(io.cwd, options.clientSecret);
    let tokenPath = options.token ? path.resolve(io.cwd, options.token) : undefined;
    if (options.demo) {
      const demo = await startDemo(year);
      cleanups.push(demo.close);
      libraryUrl = demo.libraryUrl;
      pickerUrl = demo.pickerUrl;
      clientSecretPath = demo.clientSecretPath;
      tokenPath = demo.tokenPath;
      reporter.info(
        `Demo: a built-in emulator of Google at ${demo.url} serves ${demo.count} generated photos and videos of ${year}; nothing leaves this machine.`,
      );
    }
    tokenPath ??= path.join(path.dirname(clientSecretPath), 'token.json');

    const ui: AuthUi = {
      info: (message) => reporter.info(message),
      ...(interactive
        ? { readLine: (prompt: string, lineSignal: AbortSignal) => readLine(io, prompt, lineSignal) }
        : {}),
    };
    const consentHint = io.env.PHOTO_BACKUP_CONSENT_HINT_MS;
    // Each source needs only its own scope; `auto` asks both at a first consent and uses what it got.
    const signIn = (scopes: readonly string[], consentScopes: readonly string[] = scopes) =>
      authorize({
        clientSecretPath,
        tokenPath: tokenPath as string,
        interactive,
        openBrowser: options.browser,
        ui,
        signal,
        scopes,
        consentScopes,
        // For tests: how soon the "still waiting for Google" hint comes, instead of minutes.
        ...(consentHint && /^\d+$/.test(consentHint) ? { consentHintAfterMs: Number(consentHint) } : {}),
      });

    const runWith = async (chosen: Source) => {
      const result = await backupYear(backupOptions, { source: chosen, report: reporter.report, signal });
      return result;
    };

    const picker = (api: GoogleApi) =>
      runPickerBackup({
        api,
        backupOptions,
        reporter,
        interactive,
        openBrowser: options.browser && !options.demo,
        demo: options.demo,
        io,
        signal,
        ...(options.rounds !== undefined ? { rounds: options.rounds } : {}),
      });
    if (source === 'takeout') {
      // Loaded only for Takeout runs: its archive readers are 8 ms of every other run's start.
      const { createTakeoutSource } = await import('./sources/takeout/index.ts');
      const takeout = createTakeoutSource({
        inputs: (options.takeout ?? []).map((input) => path.resolve(io.cwd, input)),
        timeZone,
        includeTrash: options.includeTrash,
        onWarning: (message) => reporter.report({ type: 'notice', level: 'warn', message }),
      });
      const result = await runWith(takeout);
      const problems = takeout.problems();
      for (const problem of problems) reporter.info(`problem: ${printableName(problem)}`);
      // A damaged part does not stop the others, but the run is not clean.
      return problems.length > 0 ? Math.max(result.exitCode, ExitCode.itemsFailed) : result.exitCode;
    }
    if (source === 'library' || source === 'auto') {
      const authorizer = await signIn(source === 'library' ? [LIBRARY_SCOPE] : [], SCOPES);
      if (source === 'auto' && !authorizer.grantedScopes.includes(LIBRARY_SCOPE)) {
        // The Library box was left unticked: go straight to the picker instead of asking again each run.
        if (!interactive)
          return explainNextStep(reporter, interactive, withoutSourceOption(argv), ExitCode.auth);
        reporter.info('The saved sign-in does not allow the Library API; continuing with the picker.');
        await authorizer.requireScopes([PICKER_SCOPE]);
        return await picker(new GoogleApi(http, authorizer, pickerUrl));
      }
      const api = new GoogleApi(http, authorizer, libraryUrl);
      const library = createLibrarySource({
        api,
        year,
        onNotice: (notice) => reporter.report({ type: 'notice', ...notice }),
      });
      let refused: LibraryRefusedError | undefined;
      try {
        const result = await runWith(library);
        if (source === 'library' || result.summary.found > 0) return result.exitCode;
      } catch (error) {
        if (!(error instanceof LibraryRefusedError)) throw error;
        if (source === 'library') throw new BackupError(error.message, ExitCode.auth, { cause: error });
        refused = error;
      }
      // auto: the Library API refused or found nothing (its notice explained why when empty).
      if (!interactive)
        return explainNextStep(reporter, interactive, withoutSourceOption(argv), ExitCode.auth);
      reporter.info(`${refused ? `${refused.message}\n` : ''}Continuing with the picker.`);
      await authorizer.requireScopes([PICKER_SCOPE]);
      // `return await`: the finally below closes the HTTP client, so the run must end first.
      return await picker(new GoogleApi(http, authorizer, pickerUrl));
    }
    if (source === 'picker') {
      return await picker(new GoogleApi(http, await signIn([PICKER_SCOPE]), pickerUrl));
    }
    throw usageError(`The ${source} source is not available in this build.`);
  } finally {
    reporter.close();
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

/** After the Library API refused or found nothing: say what to run instead. */
function explainNextStep(reporter: Reporter, _interactive: boolean, argv: string[], code: number): number {
  const args = argv.slice(2).filter((arg) => !arg.startsWith('--source'));
  const base = ['photo-backup', ...args].join(' ');
  reporter.info(
    `${GOOGLE_CHANGE_EXPLANATION}\nTo continue, run:\n  ${base} --source picker\nor, with a Takeout export:\n  ${base} --takeout <archives>`,
  );
  return code;
}

function readLine(io: CliIo, prompt: string, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: io.stdin, output: io.stderr as NodeJS.WritableStream });
    // At a terminal readline reads keys in raw mode, so Ctrl-C reaches it as a key, not as a signal,
    // and readline's default for it is only to pause the prompt. Hand it on as the signal it was.
    rl.on('SIGINT', () => process.emit('SIGINT'));
    const onAbort = () => {
      rl.close();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    rl.question(prompt, (answer) => {
      signal.removeEventListener('abort', onAbort);
      rl.close();
      resolve(answer);
    });
  });
}

interface Demo {
  url: string;
  libraryUrl: string;
  pickerUrl: string;
  clientSecretPath: string;
  tokenPath: string;
  count: number;
  close: () => Promise<void>;
}

/**
 * The emulator in-process with generated media, and a client secret and token for it in a temp
 * folder. Without its admin routes: they hand out tokens and inject faults, which only tests need.
 */
export async function startDemo(year: number): Promise<Demo> {
  const { startEmulator } = await import('./emulator/index.ts');
  const emulator = await startEmulator({ generate: { year, count: 48, videoEvery: 8 }, admin: false });
  const dir = await mkdtemp(path.join(tmpdir(), 'photo-backup-demo-'));
  const clientSecretPath = path.join(dir, 'client_secret.json');
  const tokenPath = path.join(dir, 'token.json');
  const secret = emulator.clientSecret('installed') as { installed: { client_id: string } };
  await writeFile(clientSecretPath, JSON.stringify(secret), { mode: 0o600 });
  const token = { ...emulator.issueToken(), client_id: secret.installed.client_id };
  await writeFile(tokenPath, JSON.stringify(token), { mode: 0o600 });
  return {
    url: emulator.url,
    libraryUrl: emulator.libraryUrl,
    pickerUrl: emulator.pickerUrl,
    clientSecretPath,
    tokenPath,
    count: emulator.items.length,
    close: async () => {
      await emulator.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const defaultIo = (): CliIo => ({
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
  now: () => new Date(),
});

/** Entry point of bin/photo-backup.js. Sets process.exitCode; never exits with streams open. */
export async function main(argv: string[], io: CliIo = defaultIo()): Promise<void> {
  // An empty TZ (docker-compose's `TZ=${TZ}` with the host's variable unset) makes Node's local
  // zone "Etc/Unknown", which no date function accepts: unset, it is the system's zone again.
  if (process.env.TZ === '') delete process.env.TZ;
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(ExitCode.interrupted); // a second Ctrl-C ends at once
    io.stderr.write('\nStopping… (press Ctrl-C again to quit at once)\n');
    controller.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  // `photo-backup … | head`: a closed pipe stops the run like Ctrl-C instead of crashing it.
  const onPipeError = (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') controller.abort(new Error('output closed'));
  };
  process.stdout.on('error', onPipeError);
  // `photo-backup … 2>&1 | head -1` closes stderr too: the same, and what is left to say is dropped.
  process.stderr.on('error', onPipeError);
  try {
    process.exitCode = await run(argv, io, controller.signal);
  } catch (error) {
    if (error instanceof BackupError) {
      // Messages quote paths and names the user or an archive gave: no control character raw.
      io.stderr.write(`${printable(error.message)}\n`);
      process.exitCode = error.exitCode;
    } else {
      io.stderr.write(
        `photo-backup hit a bug; please report it with this text:\n${printable(String((error as Error)?.stack ?? error))}\n`,
      );
      process.exitCode = 70;
    }
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

// ---------------------------------------------------------------------------------------------
// The picker source (issue 3)

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

/** Events that end an item's way through the pipeline: when each found item has one, a round is done. */
const SETTLED_EVENTS = new Set<BackupEvent['type']>(['saved', 'planned', 'skipped', 'excluded', 'failed']);

interface PickerRunOptions {
  api: GoogleApi;
  backupOptions: BackupOptions;
  reporter: Reporter;
  interactive: boolean;
  openBrowser: boolean;
  demo: boolean;
  rounds?: number;
  io: CliIo;
  signal: AbortSignal;
}

/** Runs the picker source through backupYear: one call, every round, one summary. */
async function runPickerBackup(options: PickerRunOptions): Promise<number> {
  const { reporter, io } = options;
  const year = options.backupOptions.year;
  let found = 0;
  let settled = 0;
  const report: Report = (event) => {
    if (event.type === 'found') found = event.count;
    else if (SETTLED_EVENTS.has(event.type)) settled++;
    reporter.report(event);
  };
  // On a terminal, ask after the round's files are done, so the question is not lost in progress output.
  const askMore = async (signal: AbortSignal): Promise<boolean> => {
    while (settled < found && !signal.aborted) await new Promise((resolve) => setTimeout(resolve, 100));
    const answer = await readLine(io, `\nPick more photos of ${year} in another round? [y/N] `, signal);
    return /^\s*y(es)?\s*$/i.test(answer);
  };
  const rounds = options.rounds ?? (options.interactive ? undefined : 1);
  const source = createPickerSource({
    api: options.api,
    year,
    onSession: (round) => {
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
