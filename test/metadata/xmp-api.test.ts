/**
 * `--xmp` through the built CLI with the Library API and the Picker against the emulator: what
 * these sources know (time, camera, name, description) in each sidecar, the time written with the
 * offset the day folder used, and sidecars for a folder saved without `--xmp` written from the
 * record even though the library walk stops after a few already-saved items, downloading nothing.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { emulatorEnv, runCli, treeHashes, writeAccount } from '../helpers/cli.ts';
import { readXmp } from '../helpers/xml.ts';
import { alt, NS, text } from '../helpers/xmp.ts';
import { type Emulator, startEmulator } from '../support/emulator/index.ts';

let dir: string;
let emulator: Emulator;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pb-xmp-api-'));
  emulator = await startEmulator({
    generate: { year: 2024, count: 16, videoEvery: 5, photoSize: 2000, videoSize: 6000 },
    picker: { pollInterval: '0.01s', pollsBeforePicked: 1 },
  });
  emulator.setItems(
    emulator.items.map((item, index) => ({
      ...item,
      ...(item.kind === 'video' ? { videoStatus: 'READY' as const } : {}),
      ...(index === 2 ? { description: 'Grandma & the <cake>' } : {}),
    })),
  );
  await writeAccount(emulator, dir);
});
afterEach(async () => {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

const out = () => path.join(dir, 'out');

async function sidecarsOf(folder: string): Promise<Map<string, string>> {
  const sidecars = new Map<string, string>();
  for (const name of (await treeHashes(folder)).keys())
    if (name.endsWith('.xmp')) sidecars.set(name, await readFile(path.join(folder, name), 'utf8'));
  return sidecars;
}

/** The saved path of an emulator item, by its id in the sidecar. */
function sidecarOfItem(sidecars: Map<string, string>, id: string) {
  for (const [name, content] of sidecars) {
    const { properties } = readXmp(content);
    if ((properties.get(`${NS.pb}Id`) as { value?: string } | undefined)?.value === id)
      return { name, properties };
  }
  return undefined;
}

test('library --xmp: time in the day folder’s zone, camera, name and description in each sidecar', async () => {
  const run = await runCli(['2024', 'out', '--source', 'library', '--xmp', '--timezone', 'Europe/Madrid'], {
    cwd: dir,
    env: emulatorEnv(emulator),
  });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const tree = await treeHashes(out());
  const media = [...tree.keys()].filter((name) => !name.endsWith('.xmp'));
  const sidecars = await sidecarsOf(out());
  assert.equal(media.length, emulator.items.length);
  assert.deepEqual([...sidecars.keys()].sort(), media.map((name) => `${name}.xmp`).sort());
  for (const item of emulator.items) {
    const found = sidecarOfItem(sidecars, item.id);
    assert.ok(found, item.id);
    const instant = new Date(item.creationTime);
    // Madrid is +01:00 in winter, +02:00 in summer: the local time and the day folder agree.
    const offset =
      -new Date(instant.toLocaleString('en-US', { timeZone: 'UTC' })).getTime() +
      new Date(instant.toLocaleString('en-US', { timeZone: 'Europe/Madrid' })).getTime();
    const hours = offset / 3_600_000;
    const local = new Date(instant.getTime() + offset).toISOString().slice(0, 19);
    assert.deepEqual(found.properties.get(`${NS.exif}DateTimeOriginal`), text(`${local}+0${hours}:00`));
    assert.equal(found.name.slice(0, 10), local.slice(0, 10), 'the sidecar’s day is the folder’s');
    assert.deepEqual(found.properties.get(`${NS.tiff}Make`), text('Google'));
    assert.deepEqual(found.properties.get(`${NS.tiff}Model`), text('Pixel 8'));
    assert.deepEqual(found.properties.get(`${NS.dc}title`), alt(item.filename));
    assert.deepEqual(found.properties.get(`${NS.pb}Source`), text('library'));
  }
  const described = sidecarOfItem(sidecars, emulator.items[2]?.id ?? '');
  assert.deepEqual(described?.properties.get(`${NS.dc}description`), alt('Grandma & the <cake>'));
});

test('library: --xmp over a folder saved without it writes every sidecar from the record, downloading nothing, though the walk stops on skips', async () => {
  const plain = await runCli(['2024', 'out', '--source', 'library'], {
    cwd: dir,
    env: emulatorEnv(emulator),
  });
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal((await sidecarsOf(out())).size, 0);
  emulator.resetStats();
  const run = await runCli(['2024', 'out', '--source', 'library', '--xmp', '--json'], {
    cwd: dir,
    env: emulatorEnv(emulator),
  });
  assert.equal(run.code, 0, run.stderr);
  const summary = run.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line))
    .find((event) => event.type === 'summary')?.summary;
  assert.equal(summary.stopped.reason, 'skips', 'the walk stopped after a few already-saved items');
  assert.ok(summary.skipped < emulator.items.length);
  assert.equal(summary.sidecars.written, emulator.items.length);
  assert.equal((await sidecarsOf(out())).size, emulator.items.length);
  assert.equal(emulator.stats.requests.media ?? 0, 0, 'no media downloaded');
  assert.deepEqual(emulator.stats.mediaRequests, {});
});

test('picker --xmp: the picked items’ sidecars carry their time, camera and name', async () => {
  const run = await runCli(['2024', 'out', '--source', 'picker', '--no-browser', '--xmp'], {
    cwd: dir,
    env: emulatorEnv(emulator),
  });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const sidecars = await sidecarsOf(out());
  assert.equal(sidecars.size, emulator.items.length);
  for (const item of emulator.items) {
    const found = sidecarOfItem(sidecars, item.id);
    assert.ok(found, item.id);
    assert.deepEqual(
      found.properties.get(`${NS.exif}DateTimeOriginal`),
      text(item.creationTime.replace('Z', '+00:00')),
    );
    assert.deepEqual(found.properties.get(`${NS.tiff}Model`), text('Pixel 8'));
    assert.deepEqual(found.properties.get(`${NS.dc}title`), alt(item.filename));
    assert.deepEqual(found.properties.get(`${NS.pb}Source`), text('picker'));
    assert.equal(found.properties.get(`${NS.dc}description`), undefined, 'the Picker gives no description');
  }
});
