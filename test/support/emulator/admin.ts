/**
 * The emulator's test-only routes, for a test or the bench that drives the emulator in another
 * process: tokens, the client secret, faults, stats. Never served by --demo.
 *
 *   GET  /__emulator/token[?scopes=…&expiresInSeconds=…]   GET  /__emulator/client-secret[?kind=web]
 *   POST /__emulator/faults (JSON)                           GET  /__emulator/stats
 *   POST /__emulator/revoke-refresh-tokens                   POST /__emulator/expire-access-tokens
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Emulator } from '../../../src/emulator/index.ts';
import { readBody, sendJson } from '../../../src/emulator/responses.ts';
import type { Faults } from './faults.ts';

/** The emulator with its faults settable, as index.ts starts it. */
export type AdminTarget = Emulator & { setFaults(faults: Faults): void; readonly faults: Faults };

export async function adminRoutes(
  req: IncomingMessage,
  res: ServerResponse,
  requestUrl: URL,
  emulator: AdminTarget,
): Promise<void> {
  const path = requestUrl.pathname;
  const method = req.method ?? 'GET';
  if (path === '/__emulator/token' && method === 'GET') {
    const scopes = requestUrl.searchParams.get('scopes');
    const expires = requestUrl.searchParams.get('expiresInSeconds');
    return sendJson(
      res,
      200,
      emulator.issueToken({
        scopes: scopes ? scopes.split(/[\s,]+/).filter(Boolean) : undefined,
        expiresInSeconds: expires ? Number(expires) : undefined,
      }),
    );
  }
  if (path === '/__emulator/client-secret' && method === 'GET') {
    const kind = requestUrl.searchParams.get('kind') === 'web' ? 'web' : 'installed';
    return sendJson(res, 200, emulator.clientSecret(kind));
  }
  if (path === '/__emulator/faults' && method === 'POST') {
    const body = await readBody(req);
    try {
      emulator.setFaults(body.trim() ? (JSON.parse(body) as Faults) : {});
    } catch {
      return sendJson(res, 400, { error: 'faults must be JSON' });
    }
    return sendJson(res, 200, emulator.faults);
  }
  if (path === '/__emulator/stats' && method === 'GET') return sendJson(res, 200, emulator.stats);
  if (path === '/__emulator/revoke-refresh-tokens' && method === 'POST') {
    emulator.revokeRefreshTokens();
    return sendJson(res, 200, {});
  }
  if (path === '/__emulator/expire-access-tokens' && method === 'POST') {
    emulator.expireAccessTokens();
    return sendJson(res, 200, {});
  }
  sendJson(res, 404, { error: 'no such admin route' });
}
