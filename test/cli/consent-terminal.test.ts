/**
 * Black-box at a real terminal: the built CLI runs in a pseudo-terminal (python3's pty module, so
 * stdin and stderr are TTYs and readline reads keys in raw mode, as at a person's terminal). The
 * consent never comes back (nobody opens the link); one Ctrl-C typed at the paste prompt must end
 * the run with exit 130. Run `npm run build` first; `npm test` does.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { BIN, emulatorEnv } from '../helpers/cli.ts';
import { type Emulator, startEmulator } from '../support/emulator/index.ts';

/**
 * Runs argv in a pty; once every marker has been printed, types one Ctrl-C (0x03) and reads on to the
 * end. A run still going 20 s after the Ctrl-C is killed: that bound only keeps a broken run from
 * hanging the suite. Prints JSON: the exit code (or the signal that ended it), the output, whether
 * the key was typed.
 */
const DRIVER = String.raw`
import json, os, pty, select, signal, sys, time
argv, env, markers = json.loads(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3])
pid, fd = pty.fork()
if pid == 0:
    os.execve(argv[0], argv, env)
out, typed, deadline = b"", False, time.time() + 60
while True:
    if time.time() > deadline:
        os.kill(pid, signal.SIGKILL)
    ready, _, _ = select.select([fd], [], [], 0.2)
    if fd in ready:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    text = out.decode("utf8", "replace")
    if not typed and all(marker in text for marker in markers):
        os.write(fd, b"\x03")
        typed, deadline = True, time.time() + 20
_, status = os.waitpid(pid, 0)
code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
print(json.dumps({"code": code, "signal": sig, "typed": typed, "output": out.decode("utf8", "replace")}))
`;

interface TerminalResult {
  code: number | null;
  signal: number | null;
  typed: boolean;
  output: string;
}

function runAtTerminal(args: string[], env: NodeJS.ProcessEnv, markers: string[], cwd: string) {
  return new Promise<TerminalResult>((resolve, reject) => {
    const child = spawn(
      'python3',
      [
        '-c',
        DRIVER,
        JSON.stringify([process.execPath, BIN, ...args]),
        JSON.stringify(env),
        JSON.stringify(markers),
      ],
      { cwd, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
    });
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolve(JSON.parse(stdout) as TerminalResult);
      } catch (error) {
        reject(new Error(`the pty driver printed no result: ${stdout}`, { cause: error }));
      }
    });
  });
}

let dir: string;
let emulator: Emulator;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pb-cli-terminal-'));
  emulator = await startEmulator();
  // A client secret but no saved sign-in: the run must ask for consent.
  await writeFile(path.join(dir, 'client_secret.json'), JSON.stringify(emulator.clientSecret('installed')));
});
afterEach(async () => {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

test('at a terminal, one Ctrl-C at the paste prompt ends a consent that never comes back (exit 130)', async () => {
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TERM: 'xterm',
    TZ: 'UTC',
    ...emulatorEnv(emulator),
    // The "still waiting" hint at once instead of after minutes.
    PHOTO_BACKUP_CONSENT_HINT_MS: '0',
  };
  const result = await runAtTerminal(
    ['2024', 'out', '--source', 'picker', '--no-browser'],
    env,
    ['paste the address', 'Still waiting'],
    dir,
  );
  assert.ok(result.typed, `the prompt and the hint never came:\n${result.output}`);
  assert.equal(result.code, 130, result.output);
  assert.match(result.output, /Interrupted\./);
  assert.equal(result.output.match(/Still waiting for Google's answer/g)?.length, 1, result.output);
  assert.match(result.output, /not a test user/);
  assert.deepEqual((await readdir(dir)).sort(), ['client_secret.json'], 'nothing saved, no token');
});
