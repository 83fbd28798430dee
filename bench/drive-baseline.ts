/**
 * The Drive figures' yardstick: the same bytes photo-backup needs for one year of a Takeout in
 * Drive (bench/emulator-drive.ts's plan: each part's central directory, the year's media, its
 * sidecars, the album metadata.json files), each fetched as one plain ranged GET of `alt=media`
 * and streamed to its own file, at the given concurrency. No zip parsing, no dates, no record.
 *
 *   node drive-baseline.mjs --drive-url URL --token token.json --plan plan.json --dir DIR --concurrency 4
 *
 * bench/drive.ts transpiles this file to plain JavaScript, as bench/baseline.ts is. Prints one
 * JSON line: { files, bytes }.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';

interface Range {
  fileId: string;
  start: number;
  end: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'drive-url': { type: 'string' },
      token: { type: 'string' },
      plan: { type: 'string' },
      dir: { type: 'string' },
      concurrency: { type: 'string', default: '4' },
    },
  });
  const driveUrl = values['drive-url'];
  const dir = values.dir;
  if (!driveUrl || !values.token || !values.plan || !dir) throw new Error('missing arguments');
  const concurrency = Number(values.concurrency);
  const token = JSON.parse(await readFile(values.token, 'utf8')) as { access_token: string };
  const { ranges } = JSON.parse(await readFile(values.plan, 'utf8')) as { ranges: Range[] };
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: concurrency + 2 });
  await mkdir(dir, { recursive: true });
  let next = 0;
  let bytes = 0;
  const worker = async () => {
    while (next < ranges.length) {
      const index = next++;
      const range = ranges[index] as Range;
      const response = await request(
        `${driveUrl}/drive/v3/files/${encodeURIComponent(range.fileId)}?alt=media`,
        {
          dispatcher: agent,
          headers: {
            authorization: `Bearer ${token.access_token}`,
            range: `bytes=${range.start}-${range.end}`,
          },
        },
      );
      if (response.statusCode !== 206) throw new Error(`range ${index}: HTTP ${response.statusCode}`);
      let length = 0;
      response.body.on('data', (chunk: Buffer) => {
        length += chunk.length;
      });
      await pipeline(response.body, createWriteStream(path.join(dir, `${index}.bin`)));
      if (length !== range.end - range.start + 1) throw new Error(`range ${index}: ${length} bytes`);
      bytes += length;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await agent.close();
  process.stdout.write(`${JSON.stringify({ files: ranges.length, bytes })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`drive-baseline: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
