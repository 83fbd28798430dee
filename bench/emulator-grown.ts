/**
 * The emulator in its own process, serving a generated year plus `--new` items newer than all of
 * them: the state of a year that was saved completely, after which a few photos were taken.
 * test/support/emulator/main.ts can only generate a year afresh, and a larger `count` there moves every
 * item to another day, so the incremental figure starts the emulator through this runner.
 *
 *   node --import tsx bench/emulator-grown.ts --year 2024 --count 50000 --new 10 --photo-size 1
 *
 * Prints one JSON line when ready ({ url, libraryUrl, items }) and closes on SIGTERM.
 */
import { parseArgs } from 'node:util';
import { type EmulatorItem, generateItems, startEmulator } from '../test/support/emulator/index.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      year: { type: 'string' },
      count: { type: 'string' },
      new: { type: 'string', default: '0' },
      'photo-size': { type: 'string', default: '1' },
    },
  });
  const year = Number(values.year);
  const count = Number(values.count);
  const added = Number(values.new);
  const photoSize = Number(values['photo-size']);
  // The same options as `main.ts --generate YEAR:COUNT --photo-size N --video-every 0`: the same items.
  const items: EmulatorItem[] = generateItems({ year, count, photoSize, videoEvery: 0 });
  const fresh = generateItems({ year, count: added, photoSize, videoEvery: 0, seed: 0x6e6577 });
  fresh.forEach((item, index) => {
    // The last seconds of the year: newer than every generated item (or tied with one, at worst).
    const second = 59 - added + 1 + index;
    item.creationTime = `${year}-12-31T23:59:${String(Math.max(0, second)).padStart(2, '0')}Z`;
    item.filename = `NEW_${String(index + 1).padStart(4, '0')}.jpg`;
    items.push(item);
  });
  const emulator = await startEmulator({ items, admin: true });
  process.stdout.write(
    `${JSON.stringify({ url: emulator.url, libraryUrl: emulator.libraryUrl, items: emulator.items.length })}\n`,
  );
  const shutdown = () => {
    emulator.close().catch(() => undefined);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`emulator-grown: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
});
