/**
 * `photo-backup auth status` and `photo-backup auth logout`: what the saved Google sign-in is, and
 * ending it (revoked at Google, then the file deleted). Like cli.ts, it reads argv, prints and
 * returns the exit code; the decisions are in auth/status.ts and auth/revoke.ts. With --demo both
 * work on the demo's temporary sign-in against the built-in emulator.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { loadClientSecret } from './auth/client-secret.ts';
import { REVOKE_URL, revokeToken, tokenToRevoke } from './auth/revoke.ts';
import { describeSignIn } from './auth/status.ts';
import { readTokenFile } from './auth/token-file.ts';
import type { CliIo } from './cli.ts';
import { startDemo } from './demo.ts';
import { BackupError, ExitCode } from './errors.ts';
import { printable } from './report/format.ts';
import { resolveTimeZone } from './timezone.ts';

interface AuthOptions {
  clientSecret: string;
  token?: string;
  demo: boolean;
  json?: boolean;
}

/** Where Google shows the apps that have access to an account, to remove one by hand. */
const PERMISSIONS_PAGE = 'https://myaccount.google.com/permissions';

const HELP = `
Exit codes:
  status   0 signed in, 3 no usable sign-in (none saved, unreadable, another client's)
  logout   0 signed out (also when Google had ended the sign-in already, or none was saved),
           1 the file was deleted but Google could not be told (remove the access at
             ${PERMISSIONS_PAGE}), 2 the file cannot be read or deleted`;

/** "`token.json` in `/home/ana/backup`": messages name files, never what they hold. */
function fileName(file: string, link = 'in'): string {
  return `\`${path.basename(file)}\` ${link} \`${path.dirname(file)}\``;
}

/** Runs `photo-backup auth …`; `args` are the words after `auth`. */
export async function runAuthCommand(args: string[], io: CliIo, signal: AbortSignal): Promise<number> {
  let code: number = ExitCode.ok;
  const say = (line: string) => io.stdout.write(`${printable(line)}\n`);
  const program = new Command('photo-backup auth')
    .description('See or end the saved Google sign-in that the library and picker sources use.')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(printable(text)),
    })
    .showHelpAfterError('(run photo-backup auth --help for usage)')
    .addHelpText('after', HELP);
  const withFiles = (command: Command) =>
    command
      .option('--client-secret <file>', 'the Desktop OAuth client JSON', 'client_secret.json')
      .option('--token <file>', 'the saved sign-in (default: token.json beside the client secret)')
      .option('--demo', "the demo's temporary sign-in with the built-in emulator of Google", false);
  withFiles(program.command('status'))
    .description('which client, which scopes, when the sign-in was issued and when a Testing app loses it')
    .option('--json', 'one JSON object on stdout instead (fields in docs/events.md)', false)
    .action(async (options: AuthOptions) => {
      code = await withPlace(options, io, async (place) => {
        if (place.demo && !options.json)
          say("Demo: the built-in emulator's temporary sign-in; nothing leaves this machine.");
        const client = await loadClientSecret(place.clientSecretPath).then(
          (secret) => ({ id: secret.clientId }),
          (error: unknown) => {
            if (error instanceof BackupError) return { problem: error.message };
            throw error;
          },
        );
        const status = describeSignIn({
          clientSecretFile: fileName(place.clientSecretPath),
          client,
          tokenFile: fileName(place.tokenPath),
          token: await readTokenFile(place.tokenPath),
          now: io.now().getTime(),
          timeZone: resolveTimeZone('local', io.env.TZ),
        });
        if (options.json) io.stdout.write(`${JSON.stringify({ ...status.json, demo: place.demo })}\n`);
        else for (const line of status.lines) say(line);
        return status.signedIn ? ExitCode.ok : ExitCode.auth;
      });
    });
  withFiles(program.command('logout'))
    .description('revoke the saved sign-in at Google and delete its file')
    .action(async (options: AuthOptions) => {
      code = await withPlace(options, io, async (place) => {
        const where = fileName(place.tokenPath);
        const read = await readTokenFile(place.tokenPath);
        if (read.status === 'missing') {
          say(`No saved sign-in: ${fileName(place.tokenPath, 'not found in')}. Nothing to log out.`);
          return ExitCode.ok;
        }
        if (read.status === 'unusable') {
          // Not a sign-in photo-backup can read: it may be some other file given by --token.
          throw new BackupError(
            `${where} ${read.reason}, so it is not a sign-in photo-backup can revoke; it was left as it is. Delete it yourself if it is the old sign-in.`,
            ExitCode.usage,
          );
        }
        const token = tokenToRevoke(read.token);
        const outcome = token
          ? await revokeToken(place.revokeUrl, token, { signal })
          : ({ kind: 'gone' } as const);
        if (signal.aborted)
          throw new BackupError(
            'Interrupted: the sign-in was left as it was (the file kept; Google may or may not have revoked it).',
            ExitCode.interrupted,
          );
        try {
          await rm(place.tokenPath, { force: true });
        } catch (error) {
          const reason = (error as NodeJS.ErrnoException).code ?? 'error';
          const told = outcome.kind === 'revoked' ? 'Google revoked the sign-in, but ' : '';
          throw new BackupError(
            `${told}${where} cannot be deleted (${reason}). Delete it yourself, or let your user write to its folder.`,
            ExitCode.usage,
            { cause: error },
          );
        }
        switch (outcome.kind) {
          case 'revoked':
            say(`Logged out: Google revoked the sign-in, and ${where} was deleted.`);
            break;
          case 'gone':
            say(
              `Logged out: ${where} was deleted. Google no longer knew the sign-in (it had expired or was revoked already), so there was nothing to revoke.`,
            );
            break;
          default: {
            const why =
              outcome.kind === 'refused'
                ? `Google answered ${outcome.error} (HTTP ${outcome.status})`
                : `Google could not be reached: ${outcome.reason}`;
            io.stderr.write(
              `${printable(`${where} was deleted, so photo-backup no longer uses the sign-in, but it was not revoked (${why}): it may still be valid at Google. Remove photo-backup's access at ${PERMISSIONS_PAGE}, or run photo-backup auth logout again after signing in.`)}\n`,
            );
            return ExitCode.itemsFailed;
          }
        }
        if (place.demo && token && outcome.kind === 'revoked') {
          const still = await place.refreshAccepted?.(token);
          say(
            still
              ? 'Demo: the emulator still takes that refresh token (unexpected).'
              : "Demo: the emulator's token endpoint now answers invalid_grant for that refresh token, as Google does after a revoke.",
          );
        }
        return ExitCode.ok;
      });
    });

  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok;
      return ExitCode.usage;
    }
    throw error;
  }
  return code;
}

interface Place {
  clientSecretPath: string;
  tokenPath: string;
  revokeUrl: string;
  demo: boolean;
  refreshAccepted?: (refreshToken: string) => Promise<boolean>;
}

/** Resolves the files and the revoke endpoint (the demo's, else PHOTO_BACKUP_REVOKE_URL, else Google's), then runs `task`. */
async function withPlace(options: AuthOptions, io: CliIo, task: (place: Place) => Promise<number>) {
  if (options.demo) {
    const now = io.now();
    const demo = await startDemo(now.getFullYear(), now);
    try {
      return await task({
        clientSecretPath: demo.clientSecretPath,
        tokenPath: demo.tokenPath,
        revokeUrl: demo.revokeUrl,
        demo: true,
        refreshAccepted: demo.refreshAccepted,
      });
    } finally {
      await demo.close();
    }
  }
  const clientSecretPath = path.resolve(io.cwd, options.clientSecret);
  const tokenPath = options.token
    ? path.resolve(io.cwd, options.token)
    : path.join(path.dirname(clientSecretPath), 'token.json');
  const revokeUrl = io.env.PHOTO_BACKUP_REVOKE_URL || REVOKE_URL;
  return task({ clientSecretPath, tokenPath, revokeUrl, demo: false });
}
