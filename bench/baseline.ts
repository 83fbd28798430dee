/**
 * The benchmark's yardstick: the least a program can do to save one year from the Library API.
 * It lists the year (mediaItems:search pages, newest first) and streams every item's URL to a
 * file with undici at the given concurrency. No plan, no record, no temporary files, no retries:
 * whatever photo-backup does on top of this is its own overhead.
 *
 *   node baseline.mjs --library-url URL --token token.json --year 2024 --dir DIR --concurrency 4
 *
 * bench/run.ts transpiles this file to plain JavaScript before it runs it, so the baseline pays
 * no TypeScript loader at startup. Prints one JSON line: { files, bytes }.
 */
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';

interface Listed {
  id: string;
  baseUrl: string;
  video: boolean;
}

interface SearchPage {
  mediaItems?: { id: string; baseUrl: string; mimeType?: string; mediaMetadata?: { video?: unknown } }[];
  nextPageToken?: string;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'library-url': { type: 'string' },
      token: { type: 'string' },
      year: { type: 'string' },
      dir: { type: 'string' },
      concurrency: { type: 'string', default: '4' },
    },
  });
  const libraryUrl = values['library-url'];
  const dir = values.dir;
  if (!libraryUrl || !values.token || !values.year || !dir) throw new Error('missing arguments');
  const year = Number(values.year);
  const concurrency = Number(values.concurrency);
  const token = JSON.parse(await readFile(values.token, 'utf8')) as { access_token: string };
  // The same Agent settings as src/http.ts with the CLI's connection count.
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: concurrency + 2 });

  const queue: Listed[] = [];
  let listed = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };

  const list = async () => {
    let pageToken: string | undefined;
    do {
      const response = await request(`${libraryUrl}/v1/mediaItems:search`, {
        method: 'POST',
        dispatcher: agent,
        headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          pageSize: 100,
          filters: { dateFilter: { dates: [{ year, month: 0, day: 0 }] } },
          orderBy: 'MediaMetadata.creation_time desc',
          ...(pageToken ? { pageToken } : {}),
        }),
      });
      if (response.statusCode !== 200) throw new Error(`search: HTTP ${response.statusCode}`);
      const page = (await response.body.json()) as SearchPage;
      for (const item of page.mediaItems ?? []) {
        const video = item.mediaMetadata?.video !== undefined;
        queue.push({ id: item.id, baseUrl: item.baseUrl, video });
      }
      notify();
      pageToken = page.nextPageToken;
    } while (pageToken);
    listed = true;
    notify();
  };

  let files = 0;
  let bytes = 0;
  const worker = async () => {
    for (;;) {
      const item = queue.shift();
      if (!item) {
        if (listed) return;
        await new Promise<void>((resolve) => {
          const previous = wake;
          wake = () => {
            previous?.();
            resolve();
          };
        });
        continue;
      }
      const response = await request(`${item.baseUrl}${item.video ? '=dv' : '=d'}`, { dispatcher: agent });
      if (response.statusCode !== 200) {
        await response.body.dump();
        continue; // a video still processing: skipped, as photo-backup reports it for later
      }
      await pipeline(response.body, createWriteStream(path.join(dir, item.id)));
      files++;
      bytes += Number(response.headers['content-length'] ?? 0);
    }
  };

  await Promise.all([list(), ...Array.from({ length: concurrency }, worker)]);
  await agent.close();
  process.stdout.write(`${JSON.stringify({ files, bytes })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`baseline: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
