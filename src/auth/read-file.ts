/**
 * The one way auth reads its small files (client secret, token): the text, or why not, as a kind
 * each caller turns into its own message. The text is never part of an error: it holds secrets.
 */
import { readFile } from 'node:fs/promises';

export interface ReadFailure {
  kind: 'missing' | 'folder' | 'denied' | 'other';
  /** The system's code (`ENOENT`), or "unknown error" when it gave none. */
  code: string;
  cause: unknown;
}

export async function readSmallFile(file: string): Promise<{ text: string } | { failure: ReadFailure }> {
  try {
    return { text: await readFile(file, 'utf8') };
  } catch (cause) {
    const raw = (cause as NodeJS.ErrnoException | undefined)?.code;
    const code = typeof raw === 'string' ? raw : 'unknown error';
    const kind =
      code === 'ENOENT'
        ? 'missing'
        : code === 'EISDIR'
          ? 'folder'
          : code === 'EACCES' || code === 'EPERM'
            ? 'denied'
            : 'other';
    return { failure: { kind, code, cause } };
  }
}
