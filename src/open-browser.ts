/**
 * The one way photo-backup opens a link (Google's consent page, a picker session) in the system
 * browser. The command is decided by a pure function, so its quoting is tested on every platform.
 */
import { spawn } from 'node:child_process';

export interface BrowserCommand {
  command: string;
  args: string[];
  /** Windows only: hand `args` to cmd as written; Node's own quoting would escape the `""` title. */
  windowsVerbatimArguments: boolean;
}

/**
 * Pure: the command that opens `url` on `platform`, or undefined when `url` is not an http(s) link.
 * The link may come from Google (a picker session's `pickerUri`), so it is parsed and re-serialized
 * first: the WHATWG serializer percent-encodes `"`, spaces, `<` and `>`, so nothing in it can close
 * the quotes below.
 */
export function browserCommand(url: string, platform: NodeJS.Platform): BrowserCommand | undefined {
  if (!URL.canParse(url)) return undefined;
  const parsed = new URL(url);
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return undefined;
  const link = parsed.href;
  if (platform === 'win32') {
    // `start` is a cmd built-in. Its first quoted argument is the window title, hence the empty `""`;
    // inside the second pair of quotes cmd takes `&`, `|`, `^`, `(` and `)` literally, so the query is
    // not cut at its first `&` (https://learn.microsoft.com/windows-server/administration/windows-commands/start).
    return {
      command: 'cmd',
      args: ['/d', '/c', 'start', '""', `"${link}"`],
      windowsVerbatimArguments: true,
    };
  }
  if (platform === 'darwin') return { command: 'open', args: [link], windowsVerbatimArguments: false };
  return { command: 'xdg-open', args: [link], windowsVerbatimArguments: false };
}

/** Starts the system browser on `url`; false when there is no way to (the printed link is enough). */
export function openInBrowser(url: string, platform: NodeJS.Platform = process.platform): boolean {
  const chosen = browserCommand(url, platform);
  if (!chosen) return false;
  try {
    const child = spawn(chosen.command, chosen.args, {
      stdio: 'ignore',
      detached: true,
      windowsHide: true,
      windowsVerbatimArguments: chosen.windowsVerbatimArguments,
    });
    child.on('error', () => undefined);
    child.unref();
    return true;
  } catch {
    return false;
  }
}
