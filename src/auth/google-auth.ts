/**
 * google-auth-library, loaded only when a token must be refreshed or consent asked: loading it
 * costs start-up time and memory (docs/performance.md), and a run whose saved access token is
 * still fresh never needs it.
 */
import type * as GoogleAuth from 'google-auth-library';

export type GaxiosError = InstanceType<typeof GoogleAuth.gaxios.GaxiosError>;

let loaded: typeof GoogleAuth | undefined;

export async function loadGoogleAuth(): Promise<typeof GoogleAuth> {
  loaded ??= await import('google-auth-library');
  return loaded;
}

/** An error thrown by google-auth-library's HTTP layer. Before it is loaded, nothing can be one. */
export function isGaxiosError(error: unknown): error is GaxiosError {
  return loaded !== undefined && error instanceof loaded.gaxios.GaxiosError;
}
