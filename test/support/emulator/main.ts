/**
 * Runs the emulator as its own process (the benchmark keeps the emulator's CPU out of the
 * measured process). Prints one JSON line when ready and closes on SIGTERM or SIGINT.
 *
 *   node --import tsx test/support/emulator/main.ts --generate 2024:300 --photo-size 4000000 \
 *     [--video-size N] [--video-every N] [--seed N] [--port N] [--url-ttl-ms N] \
 *     [--api-latency-ms N] [--media-latency-ms N] [--faults '{"mediaResetRate":0.1}'] \
 *     [--options '<EmulatorOptions JSON>'] [--write-credentials DIR] [--drive-exports N[:PART_BYTES]]
 *
 * With --write-credentials, client_secret.json and token.json are written to DIR and their paths
 * are part of the ready line. Admin routes (admin.ts): GET /__emulator/token, GET /__emulator/client-secret,
 * POST /__emulator/faults, GET /__emulator/stats (`--options '{"admin":false}'` serves none, as
 * --demo does). Google behaviours are modes of --faults, e.g. `{"mediaRedirect":true}`,
 * `{"mediaQuotaAfter":100}`, `{"serviceDisabled":{"service":"library"}}`, `{"tooManySessions":"plain"}`,
 * `{"drive":[{"fault":"rangeIgnored"},{"fault":"tooManyRequests","after":5,"times":1,"retryAfterSeconds":1}]}`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { incrementalExports, putTakeoutExports } from './drive-takeout.ts';
import { driveScope, type EmulatorOptions, libraryScope, pickerScope, startEmulator } from './index.ts';

const USAGE = `Usage: node --import tsx test/support/emulator/main.ts [options]

Runs the project's emulator of Google (OAuth, Photos Library, Photos Picker, media, Drive) on 127.0.0.1
and prints one JSON line with its addresses when ready. Stops on Ctrl-C (SIGINT) or SIGTERM.

Options:
  --generate YEAR:COUNT       generate COUNT items spread over YEAR, e.g. 2024:300
  --photo-size N              bytes per photo (default 30000)
  --video-size N              bytes per video (default 200000)
  --video-every N             every Nth item is a video (default 10; 0: no videos)
  --seed N                    seed of the generated items (default 1)
  --albums N                  put the generated items into N albums, in turn (Library albums.list)
  --port N                    port to listen on (default: a free one)
  --url-ttl-ms N              how long a media URL works
  --api-latency-ms N          wait before each API answer
  --media-latency-ms N        wait before each media response
  --faults JSON               Google behaviours and faults, e.g. '{"mediaResetRate":0.1}'
  --options JSON              EmulatorOptions as JSON
  --write-credentials DIR     write client_secret.json and token.json for it into DIR
  --drive-exports N[:BYTES]   put the generated items in its Drive as a scheduled Takeout: a full
                              export and N-1 incremental ones, in zip parts of about BYTES each
  -h, --help                  print this help
`;

function integer(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isFinite(number)) throw new Error(`--${name} must be a number, got "${value}"`);
  return number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      generate: { type: 'string' },
      'photo-size': { type: 'string' },
      'video-size': { type: 'string' },
      'video-every': { type: 'string' },
      seed: { type: 'string' },
      albums: { type: 'string' },
      port: { type: 'string' },
      'url-ttl-ms': { type: 'string' },
      'api-latency-ms': { type: 'string' },
      'media-latency-ms': { type: 'string' },
      faults: { type: 'string' },
      options: { type: 'string' },
      'write-credentials': { type: 'string' },
      'drive-exports': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }

  const options: EmulatorOptions = {
    admin: true,
    ...(values.options ? (JSON.parse(values.options) as EmulatorOptions) : {}),
  };
  if (values.generate) {
    const match = /^(\d{4}):(\d+)$/.exec(values.generate);
    if (!match) throw new Error(`--generate expects YEAR:COUNT, e.g. 2024:300, got "${values.generate}"`);
    options.generate = {
      ...options.generate,
      year: Number(match[1]),
      count: Number(match[2]),
      photoSize: integer(values['photo-size'], 'photo-size') ?? options.generate?.photoSize,
      videoSize: integer(values['video-size'], 'video-size') ?? options.generate?.videoSize,
      videoEvery: integer(values['video-every'], 'video-every') ?? options.generate?.videoEvery,
      seed: integer(values.seed, 'seed') ?? options.generate?.seed,
    };
  }
  options.port = integer(values.port, 'port') ?? options.port;
  options.urlTtlMs = integer(values['url-ttl-ms'], 'url-ttl-ms') ?? options.urlTtlMs;
  const apiMs = integer(values['api-latency-ms'], 'api-latency-ms');
  const mediaMs = integer(values['media-latency-ms'], 'media-latency-ms');
  if (apiMs !== undefined || mediaMs !== undefined) options.latency = { ...options.latency, apiMs, mediaMs };
  if (values.faults) options.faults = JSON.parse(values.faults) as EmulatorOptions['faults'];

  const emulator = await startEmulator(options);
  const driveExports = values['drive-exports'];
  if (driveExports) {
    const match = /^(\d+)(?::(\d+))?$/.exec(driveExports);
    if (!match)
      throw new Error(`--drive-exports expects N or N:PART_BYTES, e.g. 3:50000000, got "${driveExports}"`);
    const year = options.generate?.year ?? new Date().getUTCFullYear();
    const specs = incrementalExports(emulator.items, Number(match[1]), new Date(Date.UTC(year + 1, 0, 2, 3)));
    putTakeoutExports(emulator, specs, match[2] ? { partBytes: Number(match[2]) } : {});
  }
  const albumCount = integer(values.albums, 'albums') ?? 0;
  if (albumCount > 0) {
    const albums = Array.from({ length: albumCount }, (_, index) => ({
      id: `album${index}`,
      title: `Album ${index}`,
      mediaItemIds: [] as string[],
    }));
    for (const [index, item] of emulator.items.entries())
      albums[index % albumCount]?.mediaItemIds.push(item.id);
    emulator.setAlbums(albums);
  }
  const ready: Record<string, unknown> = {
    url: emulator.url,
    libraryUrl: emulator.libraryUrl,
    pickerUrl: emulator.pickerUrl,
    driveUrl: emulator.driveUrl,
    authUri: emulator.authUri,
    tokenUri: emulator.tokenUri,
    items: emulator.items.length,
    driveFiles: emulator.drive.all().length,
  };
  if (values['write-credentials']) {
    const dir = resolve(values['write-credentials']);
    await mkdir(dir, { recursive: true });
    const clientSecretPath = join(dir, 'client_secret.json');
    const tokenPath = join(dir, 'token.json');
    await writeFile(clientSecretPath, JSON.stringify(emulator.clientSecret('installed'), null, 2), {
      mode: 0o600,
    });
    // With exports in its Drive, the sign-in allows reading them too.
    const scopes = driveExports ? { scopes: [libraryScope, pickerScope, driveScope] } : {};
    await writeFile(tokenPath, JSON.stringify(emulator.issueToken(scopes), null, 2), { mode: 0o600 });
    ready.clientSecretPath = clientSecretPath;
    ready.tokenPath = tokenPath;
  }
  process.stdout.write(`${JSON.stringify(ready)}\n`);

  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    emulator.close().then(
      () => {
        process.exitCode = 0;
      },
      (error: unknown) => {
        process.stderr.write(`emulator: close failed: ${String(error)}\n`);
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`emulator: ${error instanceof Error ? error.message : String(error)}\n`);
  process.stderr.write('Run with --help to see the options.\n');
  process.exitCode = 2;
});
