/**
 * The scopes photo-backup uses; each source needs only its own. Since 31 March 2025 the Library API only
 * sees media the app created, and existing photos come through the Picker:
 * https://developers.google.com/photos/support/updates
 */
export const LIBRARY_SCOPE = 'https://www.googleapis.com/auth/photoslibrary.readonly.appcreateddata';
export const PICKER_SCOPE = 'https://www.googleapis.com/auth/photospicker.mediaitems.readonly';
/**
 * Reading Takeout exports in the user's Drive: files the app did not create need `drive.readonly`, a
 * restricted scope (https://developers.google.com/workspace/drive/api/guides/api-specific-auth). Asked
 * only when the drive source runs, never at a first consent for the Photos sources.
 */
export const DRIVE_SCOPE = 'https://www.googleapis.com/auth/drive.readonly';
/** What `--source auto` asks at a first consent: the two Photos sources, never Drive. */
export const SCOPES: readonly string[] = Object.freeze([LIBRARY_SCOPE, PICKER_SCOPE]);

/** The one scope each Google source needs (Takeout archives on disk need none). */
export const SOURCE_SCOPES = Object.freeze({
  library: LIBRARY_SCOPE,
  picker: PICKER_SCOPE,
  drive: DRIVE_SCOPE,
} as const);

/** Pure: a token's space-delimited `scope` → its scopes (RFC 6749 §3.3). */
export function splitScopes(scope: string | null | undefined): string[] {
  return (scope ?? '').split(/\s+/).filter((part) => part !== '');
}

/** Pure: the scopes in `needed` that `granted` lacks, in `needed`'s order. */
export function missingScopes(granted: readonly string[], needed: readonly string[]): string[] {
  return needed.filter((scope) => !granted.includes(scope));
}

/**
 * Pure: how Google's consent page names each scope's box, for "tick the box …" messages. The library
 * scope's title is Google's ("Manage photos added by this app", the Photos Library API discovery
 * document); the picker's box is named by what it allows, with the scope to match on the page.
 */
export function describeScopes(scopes: readonly string[]): string {
  const names = scopes.map((scope) => {
    if (scope === LIBRARY_SCOPE) return `Google Photos "Manage photos added by this app" (${scope})`;
    if (scope === PICKER_SCOPE) return `Google Photos access to the photos you pick (${scope})`;
    // The box's wording on Google's consent page for drive.readonly.
    if (scope === DRIVE_SCOPE)
      return `Google Drive "See and download all your Google Drive files" (${scope})`;
    return scope;
  });
  return names.join(' and ');
}
