/**
 * The two scopes photo-backup asks for, once, in one consent. Since 31 March 2025 the Library API only
 * sees media the app created, and existing photos come through the Picker:
 * https://developers.google.com/photos/support/updates
 */
export const LIBRARY_SCOPE = 'https://www.googleapis.com/auth/photoslibrary.readonly.appcreateddata';
export const PICKER_SCOPE = 'https://www.googleapis.com/auth/photospicker.mediaitems.readonly';
export const SCOPES: readonly string[] = Object.freeze([LIBRARY_SCOPE, PICKER_SCOPE]);

/** Pure: a token's space-delimited `scope` → its scopes (RFC 6749 §3.3). */
export function splitScopes(scope: string | null | undefined): string[] {
  return (scope ?? '').split(/\s+/).filter((part) => part !== '');
}

/** Pure: the scopes in `needed` that `granted` lacks, in `needed`'s order. */
export function missingScopes(granted: readonly string[], needed: readonly string[]): string[] {
  return needed.filter((scope) => !granted.includes(scope));
}
