/**
 * The one sink for what the Takeout source finds on the way. A problem (a damaged part, an
 * unreadable sidecar) makes the run end unclean, exit 1; a warning (a leftover file ignored, a
 * link not followed) is told and changes nothing.
 */
export class Findings {
  private readonly found: string[] = [];

  constructor(private readonly onWarning?: (message: string) => void) {}

  problem(message: string): void {
    this.found.push(message);
  }

  warn(message: string): void {
    this.onWarning?.(message);
  }

  /** Problems so far, oldest first. */
  problems(): string[] {
    return [...this.found];
  }

  /** Whether a problem about `file` was found already (messages start with the part's path). */
  hasProblemAbout(file: string): boolean {
    return this.found.some((problem) => problem.startsWith(`${file}:`));
  }
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
