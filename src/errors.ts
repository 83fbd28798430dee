/**
 * Exit codes are part of the command-line contract (README, "Exit codes").
 * Expected failures are a BackupError carrying one of these; anything else is a bug.
 */
export const ExitCode = {
  ok: 0,
  itemsFailed: 1,
  usage: 2,
  auth: 3,
  quota: 4,
  interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An expected failure: its message says what happened and what to do; cli.ts prints it without a stack. */
export class BackupError extends Error {
  readonly exitCode: ExitCodeValue;

  constructor(message: string, exitCode: ExitCodeValue, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BackupError';
    this.exitCode = exitCode;
  }
}

export function usageError(message: string, options?: { cause?: unknown }): BackupError {
  return new BackupError(message, ExitCode.usage, options);
}

export function authError(message: string, options?: { cause?: unknown }): BackupError {
  return new BackupError(message, ExitCode.auth, options);
}

export function quotaError(message: string, options?: { cause?: unknown }): BackupError {
  return new BackupError(message, ExitCode.quota, options);
}

/** Thrown when the user interrupts (Ctrl-C); the run stops cleanly with exit 130. */
export class InterruptedError extends BackupError {
  constructor() {
    super(
      'Interrupted. What was saved is recorded; run the same command again to continue.',
      ExitCode.interrupted,
    );
    this.name = 'InterruptedError';
  }
}
