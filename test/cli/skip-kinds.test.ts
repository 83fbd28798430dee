/**
 * Black-box: --skip-videos and --skip-photos, through the built CLI against the emulator (library,
 * picker) and on the sample Takeout. What is left out is counted as left out by choice, never as
 * already saved, and never trips the skip-stop rule, which is about files saved before.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { emulatorEnv, runCli, treeHashes, writeAccount } from '../helpers/cli.ts';
import { type Emulator, type EmulatorItem, startEmulator } from '../support/emulator/index.ts';

const SAMPLE = fileURLToPath(new URL('../fixtures/sample-takeout', import.meta.url));

let dir: string;
let emulator: Emulator;
let models: Record<'photo' | 'video', EmulatorItem>;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pb-cli-skip-'));
  emulator = await startEmulator({
    generate: { year: 2024, count: 12, videoEvery: 3, photoSize: 2000, videoSize: 4000 },
    picker: { pollInterval: '0.01s', pollsBeforePicked: 1 },
  });
  emulator.setItems(
    emulator.items.map((item) => (item.kind === 'video' ? { ...item, videoStatus: 'READY' } : item)),
  );
  const model = (kind: 'photo' | 'video') =>
    emulator.items.find((item) => item.kind === kind) as EmulatorItem;
  models = { photo: model('photo'), video: model('video') };
  await writeAccount(emulator, dir);
});
afterEach(async () => {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

const run = (args: string[]) => runCli(args, { cwd: dir, env: emulatorEnv(emulator) });
const kindOf = (name: string) => (/\.(mp4|mov)$/i.test(name) ? 'video' : 'photo');

async function savedKinds(folder: string): Promise<{ photo: number; video: number }> {
  const counts = { photo: 0, video: 0 };
  for (const file of (await treeHashes(path.join(dir, folder))).keys()) counts[kindOf(file)]++;
  return counts;
}

/** An item `minutes` after the start of 2024-06-01, made by copying a generated one of that kind. */
function itemAt(kind: 'photo' | 'video', index: number, minutes: number): EmulatorItem {
  return {
    ...models[kind],
    id: `${kind}-${index}-${minutes}`,
    filename: `${kind === 'video' ? 'VID' : 'IMG'}_${minutes}.${kind === 'video' ? 'mp4' : 'jpg'}`,
    creationTime: new Date(Date.UTC(2024, 5, 1) + minutes * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
}

test('--skip-videos: only photos saved; the videos counted as left out by choice, not as skipped', async () => {
  const videos = emulator.items.filter((item) => item.kind === 'video').length;
  const photos = emulator.items.length - videos;
  assert.ok(videos > 0 && photos > 0);
  const result = await run(['2024', 'out', '--source', 'library', '--skip-videos']);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(await savedKinds('out'), { photo: photos, video: 0 });
  assert.match(result.stdout, new RegExp(`Saved ${photos} file\\(s\\).*skipped 0 already saved`));
  assert.match(result.stdout, new RegExp(`left out ${videos} video\\(s\\) by choice \\(--skip-videos\\)`));
});

test('--skip-photos: only videos saved', async () => {
  const videos = emulator.items.filter((item) => item.kind === 'video').length;
  const result = await run(['2024', 'out', '--source', 'library', '--skip-photos']);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(await savedKinds('out'), { photo: 0, video: videos });
  assert.match(result.stdout, /left out \d+ photo\(s\) by choice \(--skip-photos\)/);
});

test('--skip-videos with --skip-photos: exit 2 with one clear message, nothing done', async () => {
  const result = await run(['2024', 'out', '--skip-videos', '--skip-photos']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--skip-videos and --skip-photos together leave nothing to save/);
  assert.doesNotMatch(result.stderr, /\n\s+at /);
  await assert.rejects(readdir(path.join(dir, 'out')));
  assert.equal(emulator.stats.requests['library.search'] ?? 0, 0);
});

test('left-out videos do not trip the skip rule: new photos after 6 new videos are still saved', async () => {
  const old = [0, 1, 2, 3, 4, 5, 6].map((n) => itemAt('photo', n, n));
  emulator.setItems(old);
  assert.equal((await run(['2024', 'out', '--source', 'library'])).code, 0);
  // Newest first: six new videos, then two new photos, then the seven saved ones.
  const videos = [0, 1, 2, 3, 4, 5].map((n) => itemAt('video', n, 1000 + n));
  const fresh = [itemAt('photo', 10, 500), itemAt('photo', 11, 501)];
  emulator.setItems([...old, ...fresh, ...videos]);
  const second = await run(['2024', 'out', '--source', 'library', '--skip-videos']);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(await savedKinds('out'), { photo: 9, video: 0 });
  assert.match(second.stdout, /Saved 2 file/);
  assert.match(second.stdout, /left out 6 video\(s\) by choice/);
  assert.match(second.stdout, /Stopped after 6 files in a row were already saved/);
});

test('a year walked with --skip-videos is not a year walked: the next full run still finds the videos', async () => {
  // Newest first: eight photos, then two videos.
  emulator.setItems([
    ...[0, 1].map((n) => itemAt('video', n, n)),
    ...[0, 1, 2, 3, 4, 5, 6, 7].map((n) => itemAt('photo', n, 100 + n)),
  ]);
  const first = await run(['2024', 'out', '--source', 'library', '--skip-videos']);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(await savedKinds('out'), { photo: 8, video: 0 });
  const again = await run(['2024', 'out', '--source', 'library', '--skip-videos']);
  assert.match(
    again.stdout,
    /Stopped after 6 files in a row were already saved/,
    'its own walk arms the rule',
  );
  const full = await run(['2024', 'out', '--source', 'library']);
  assert.equal(full.code, 0, full.stderr);
  assert.deepEqual(await savedKinds('out'), { photo: 8, video: 2 });
  const after = await run(['2024', 'out', '--source', 'library', '--skip-videos']);
  assert.match(after.stdout, /Stopped after 6 files in a row/, 'a whole year walked covers the photos');
});

test('--dry-run --skip-videos lists the videos as left out and counts only what it would save', async () => {
  const videos = emulator.items.filter((item) => item.kind === 'video');
  const photos = emulator.items.length - videos.length;
  const result = await run(['2024', 'out', '--source', 'library', '--skip-videos', '--dry-run']);
  assert.equal(result.code, 0, result.stderr);
  for (const video of videos)
    assert.ok(result.stdout.includes(`leave out ${video.filename} (--skip-videos)`));
  assert.equal((result.stdout.match(/^would save /gm) ?? []).length, photos);
  assert.match(result.stdout, new RegExp(`Would save ${photos} file\\(s\\)`));
  await assert.rejects(readdir(path.join(dir, 'out')));
});

test('the picker: --skip-photos saves only the picked videos', async () => {
  const result = await run(['2024', 'out', '--source', 'picker', '--no-browser', '--skip-photos']);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const saved = await savedKinds('out');
  assert.equal(saved.photo, 0);
  assert.ok(saved.video > 0);
  assert.match(result.stdout, /left out \d+ photo\(s\) by choice/);
});

test('Takeout: --skip-videos leaves the sample video out, --skip-photos keeps only it', async () => {
  const photosOnly = await run(['2024', 'a', '--takeout', SAMPLE, '--skip-videos']);
  assert.equal(photosOnly.code, 0, photosOnly.stdout + photosOnly.stderr);
  const a = await savedKinds('a');
  assert.equal(a.video, 0);
  assert.ok(a.photo > 0);
  assert.match(photosOnly.stdout, /left out 1 video\(s\) by choice/);
  const videosOnly = await run(['2024', 'b', '--takeout', SAMPLE, '--skip-photos']);
  assert.equal(videosOnly.code, 0, videosOnly.stdout + videosOnly.stderr);
  assert.deepEqual(await savedKinds('b'), { photo: 0, video: 1 });
});
