/**
 * --demo: the emulator in-process with generated media, and a client secret and token for it in
 * a temp folder. Without its admin routes: they hand out tokens and inject faults, which only tests need.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DRIVE_SCOPE, SCOPES } from './auth/scopes.ts';

export interface Demo {
  url: string;
  libraryUrl: string;
  pickerUrl: string;
  /** The emulator's Drive, holding one two-part Takeout export of the same items (--source drive). */
  driveUrl: string;
  clientSecretPath: string;
  tokenPath: string;
  /** The emulator's revoke endpoint (Google's is https://oauth2.googleapis.com/revoke). */
  revokeUrl: string;
  count: number;
  /** Whether the emulator's token endpoint still refreshes with `refreshToken` (false once revoked). */
  refreshAccepted(refreshToken: string): Promise<boolean>;
  close: () => Promise<void>;
}

export async function startDemo(year: number, now = new Date()): Promise<Demo> {
  const { startEmulator } = await import('./emulator/index.ts');
  // Dated up to now: a demo of this year shows no photo taken in the future.
  const emulator = await startEmulator({
    generate: { year, count: 48, videoEvery: 8, notAfter: now.getTime() },
  });
  const { putDemoExport } = await import('./emulator/takeout-export.ts');
  // Made at the start of the UTC day, like the items (the same all day): a second demo run finds
  // the same export, unchanged, and shows it is not read again.
  putDemoExport(
    emulator.drive,
    emulator.items,
    new Date(Math.floor(now.getTime() / 86_400_000) * 86_400_000),
  );
  const dir = await mkdtemp(path.join(tmpdir(), 'photo-backup-demo-'));
  const clientSecretPath = path.join(dir, 'client_secret.json');
  const tokenPath = path.join(dir, 'token.json');
  const secret = emulator.clientSecret('installed') as {
    installed: { client_id: string; client_secret: string };
  };
  await writeFile(clientSecretPath, JSON.stringify(secret), { mode: 0o600 });
  // Issued now, as a consent would have been: `auth status --demo` shows when a Testing app's would end.
  const token = {
    ...emulator.issueToken({ scopes: [...SCOPES, DRIVE_SCOPE] }),
    client_id: secret.installed.client_id,
    refresh_token_issued_at: now.getTime(),
  };
  await writeFile(tokenPath, JSON.stringify(token), { mode: 0o600 });
  return {
    url: emulator.url,
    libraryUrl: emulator.libraryUrl,
    pickerUrl: emulator.pickerUrl,
    driveUrl: emulator.driveUrl,
    clientSecretPath,
    tokenPath,
    revokeUrl: emulator.revokeUri,
    count: emulator.items.length,
    refreshAccepted: async (refreshToken) => {
      const answer = await fetch(emulator.tokenUri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: refreshToken,
          client_id: secret.installed.client_id,
          client_secret: secret.installed.client_secret,
        }),
      });
      await answer.arrayBuffer();
      return answer.ok;
    },
    close: async () => {
      await emulator.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
