// Auth for photo-backup: a Desktop OAuth client, loopback consent with PKCE, and the token file.
export { type AuthOptions, type Authorizer, authorize } from './authorizer.ts';
export { type ClientSecret, loadClientSecret } from './client-secret.ts';
export type { AuthUi } from './consent.ts';
export { DRIVE_SCOPE, LIBRARY_SCOPE, PICKER_SCOPE, SCOPES, SOURCE_SCOPES } from './scopes.ts';
