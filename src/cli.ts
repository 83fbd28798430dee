/**
 * The only file that reads argv, prints, and sets the exit code. It parses the command line,
 * wires the real pieces (auth, HTTP, a source, the reporter) and hands them to backupYear.
 *
 * Over 300 lines because the option table (commander's definitions and help text) is most of it;
 * the run's policy lives in run-source.ts, picker-rounds.ts and demo.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { AuthUi } from './auth/index.ts';
import type { BackupOptions } from './backup.ts';
import { BackupError, ExitCode, usageError } from './errors.ts';
import { HttpClient } from './http.ts';
import { parseYear } from './layout.ts';
import { printable } from './report/format.ts';
import { createReporter, type TextSink } from './report/reporter.ts';
import type { SourceChoice } from './run-source.ts';
import { resolveTimeZone } from './timezone.ts';

export const LIBRARY_URL = 'https://photoslibrary.googleapis.com';
export const PICKER_URL = 'https://photospicker.googleapis.com';

/** The version is package.json's, one level up from both src/ (tsx) and dist/ (the package ships package.json). */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

export interface CliIo {
  stdout: TextSink;
  stderr: TextSink;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
  now: () => Date;
}

interface ParsedOptions {
  source: SourceChoice;
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
  driveFolder?: string;
  includeTrash: boolean;
  includeUndated: boolean;
  skipVideos: boolean;
  skipPhotos: boolean;
  xmp: boolean;
  albums: boolean;
  rounds?: number;
  readTimeout: number;
  verbose: boolean;
  quiet: boolean;
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
  photo-backup auth status          the saved sign-in: client, scopes, when it ends
  photo-backup auth logout          revoke the saved sign-in at Google, delete its file

Sources: since 31 March 2025 Google's Library API returns only media this app uploaded.
  --source picker   you pick the photos in Google Photos (up to 2000 per round); the
                    skip-stop rule does not apply to picked items: every pick is checked.
  --takeout FILES   a Google Takeout export: the complete library, original quality.
  --source drive    scheduled Takeout exports read in place from Google Drive
                    (folder Takeout, or --drive-folder NAME); nothing downloaded whole.

A file already saved is skipped; after more than --max-skipped skips in a row the run
stops, so a repeated run ends where the last one left off.

Exit codes: 0 done, 1 some items failed, 2 usage or bad input, 3 authorization,
4 daily quota used up (run again tomorrow), 130 interrupted.`;

function buildProgram(io: CliIo): Command {
  const program = new Command('photo-backup');
  program
    .description('Save one year of your Google Photos into one folder per day.')
    .version(packageVersion(), '-V, --version')
    .argument('[year]', 'year as yyyy (default: this year)')
    .argument('[folder]', 'where to save (default: photos)')
    .addOption(
      new Option('--source <source>', 'where the photos come from')
        .choices(['auto', 'library', 'picker', 'takeout', 'drive'])
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
    .option(
      '--drive-folder <name>',
      'drive: the Google Drive folder scheduled Takeout exports land in (default Takeout)',
    )
    .option('--include-trash', 'takeout: also save items from the trash', false)
    .option('--include-undated', 'save items with no capture date under undated/', false)
    .option('--skip-videos', 'leave videos out: save only photos', false)
    .option('--skip-photos', 'leave photos out: save only videos', false)
    .option(
      '--xmp',
      'write <file name>.xmp beside every saved file of the year: what Google knows (time, place, description, people, albums, favourite); from the record for files saved earlier',
      false,
    )
    .option('--albums', 'link each saved item of an album into albums/<album>/ (no second copy)', false)
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
    .option('--verbose', 'also print each skipped file and each retry', false)
    .option('--quiet', 'print only failures, warnings and the summary', false)
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
  // `auth` cannot be a year, so it names the subcommands without making the year a command.
  // What a run needs beyond its options (sign-in, the pipeline, the sources, the emulator) is loaded
  // once the options are read: --version, --help and a bad argument start without it.
  if (argv[2] === 'auth') {
    const { runAuthCommand } = await import('./auth-commands.ts');
    return runAuthCommand(argv.slice(3), io, signal);
  }
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
  if (options.skipVideos && options.skipPhotos)
    throw usageError(
      '--skip-videos and --skip-photos together leave nothing to save: give one of them, or neither.',
    );
  const source = options.takeout ? 'takeout' : options.source;
  if (source === 'takeout' && !options.takeout) {
    throw usageError('--source takeout needs the archives: add --takeout <files or folders>.');
  }

  const reporter = createReporter({
    json: options.json,
    stdout: io.stdout,
    stderr: io.stderr,
    verbose: options.verbose,
    quiet: options.quiet,
    // A terminal gets one progress line redrawn in place, unless it says it cannot move the cursor.
    live: io.stderr.isTTY === true && io.env.TERM !== 'dumb',
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
      ...(options.skipVideos ? { leaveOut: 'video' as const } : {}),
      ...(options.skipPhotos ? { leaveOut: 'photo' as const } : {}),
      xmp: options.xmp,
      albums: options.albums,
      retryPolicy: http.policy,
    };
    let libraryUrl = io.env.PHOTO_BACKUP_LIBRARY_URL || LIBRARY_URL;
    let pickerUrl = io.env.PHOTO_BACKUP_PICKER_URL || PICKER_URL;
    let driveUrl = io.env.PHOTO_BACKUP_DRIVE_URL || undefined;
    let clientSecretPath = path.resolve(io.cwd, options.clientSecret);
    let tokenPath = options.token ? path.resolve(io.cwd, options.token) : undefined;
    if (options.demo) {
      const { startDemo } = await import('./demo.ts');
      const demo = await startDemo(year, io.now());
      cleanups.push(demo.close);
      libraryUrl = demo.libraryUrl;
      pickerUrl = demo.pickerUrl;
      driveUrl = demo.driveUrl;
      clientSecretPath = demo.clientSecretPath;
      tokenPath = demo.tokenPath;
      reporter.info(
        `Demo: a built-in emulator of Google at ${demo.url} serves ${demo.count} generated photos and videos of ${year}${source === 'drive' ? ', as a two-part Takeout export in its Drive folder "Takeout"' : ''}; nothing leaves this machine.`,
      );
    }
    tokenPath ??= path.join(path.dirname(clientSecretPath), 'token.json');

    const ask = interactive
      ? (prompt: string, lineSignal: AbortSignal) => readLine(io, prompt, lineSignal)
      : undefined;
    const ui: AuthUi = {
      info: (message) => reporter.info(message),
      link: (url) => reporter.report({ type: 'link', purpose: 'consent', url }),
      ...(ask ? { readLine: ask } : {}),
    };
    const consentHint = io.env.PHOTO_BACKUP_CONSENT_HINT_MS;
    // Each source needs only its own scope; `auto` asks both at a first consent and uses what it got.
    const signIn = async (scopes: readonly string[], consentScopes: readonly string[] = scopes) => {
      const { authorize } = await import('./auth/index.ts');
      return authorize({
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
    };

    const { runSource } = await import('./run-source.ts');
    return await runSource({
      choice: source,
      backupOptions,
      reporter,
      http,
      libraryUrl,
      pickerUrl,
      ...(driveUrl ? { driveUrl } : {}),
      ...(options.driveFolder !== undefined ? { driveFolder: options.driveFolder } : {}),
      signIn,
      ...(ask ? { ask } : {}),
      argv,
      takeout: {
        inputs: (options.takeout ?? []).map((input) => path.resolve(io.cwd, input)),
        includeTrash: options.includeTrash,
      },
      ...(options.rounds !== undefined ? { rounds: options.rounds } : {}),
      openBrowser: options.browser && !options.demo,
      demo: options.demo,
      signal,
    });
  } catch (error) {
    // The error that ended a run comes before its summary, once (the reporter holds the summary
    // back until close); an error before the reporter existed is main's to print.
    if (!(error instanceof BackupError)) throw error;
    reporter.fail(error.message);
    return error.exitCode;
  } finally {
    reporter.close();
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
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
