/**
 * Album folders from the Library API: the emulator's albums.list and mediaItems:search by albumId
 * answer as Google documents them (only app-created albums since 31 March 2025), and a
 * `--source library --albums` run links the items of the app's albums, by the album titles.
 */
import assert from 'node:assert/strict';
import { lstat, mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { emulatorEnv, runCli, writeAccount } from '../../helpers/cli.ts';
import { type EmulatorAlbum, type EmulatorItem, startEmulator } from '../../support/emulator/index.ts';

const photo = (id: string, filename: string, creationTime: string, appCreated = true): EmulatorItem => ({
  id,
  filename,
  mimeType: 'image/jpeg',
  creationTime,
  kind: 'photo',
  size: 2000,
  appCreated,
});

const ITEMS = [
  photo('itemA', 'IMG_0001.jpg', '2024-03-01T10:00:00Z'),
  photo('itemB', 'IMG_0001.jpg', '2024-04-01T10:00:00Z'),
  photo('itemC', 'IMG_0002.jpg', '2024-05-01T10:00:00Z'),
  photo('itemD', 'IMG_0003.jpg', '2024-05-02T10:00:00Z', false),
];
const fillers = Array.from(
  { length: 52 },
  (_, index): EmulatorAlbum => ({ id: `filler${index}`, title: `Filler ${index}`, mediaItemIds: [] }),
);
const ALBUMS: EmulatorAlbum[] = [
  { id: 'albumTrip', title: 'Trip/2024', mediaItemIds: ['itemA', 'itemB', 'itemD'] },
  { id: 'albumMine', title: 'Not the app’s', mediaItemIds: ['itemC'], appCreated: false },
  ...fillers,
];

// biome-ignore lint/suspicious/noExplicitAny: responses are probed loosely; the assertions check their shape
type Json = Record<string, any>;

let emulator: Awaited<ReturnType<typeof startEmulator>>;
let accessToken: string;
before(async () => {
  emulator = await startEmulator({ items: ITEMS, albums: ALBUMS });
  accessToken = emulator.issueToken().access_token as string;
});
after(async () => {
  await emulator.close();
});

async function call(pathAndQuery: string, body?: unknown) {
  const res = await fetch(`${emulator.libraryUrl}${pathAndQuery}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

test('emulator albums.list: only app-created albums, 20 a page by default, at most 50, pages that cover each once', async () => {
  const first = await call('/v1/albums');
  assert.equal(first.status, 200);
  assert.equal(first.body.albums.length, 20);
  assert.deepEqual(first.body.albums[0], {
    id: 'albumTrip',
    title: 'Trip/2024',
    productUrl: 'https://photos.google.com/lr/album/albumTrip',
    mediaItemsCount: '2',
    coverPhotoBaseUrl: first.body.albums[0].coverPhotoBaseUrl,
    coverPhotoMediaItemId: 'itemA',
  });
  const seen: string[] = [];
  let token: string | undefined;
  do {
    const page = await call(
      `/v1/albums?pageSize=50${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`,
    );
    assert.equal(page.status, 200);
    for (const album of page.body.albums) seen.push(album.id);
    token = page.body.nextPageToken;
  } while (token);
  assert.equal(seen.length, 53, 'the album the app did not create is not listed');
  assert.ok(!seen.includes('albumMine'));
  assert.equal(new Set(seen).size, seen.length);
  for (const query of ['pageSize=51', 'pageSize=-1', 'pageSize=x', 'pageToken=bogus']) {
    const answer = await call(`/v1/albums?${query}`);
    assert.equal(answer.status, 400, query);
    assert.equal(answer.body.error.status, 'INVALID_ARGUMENT', query);
  }
});

test('emulator mediaItems:search by albumId: the album’s app-created items in album order; no filters with it; an unknown album is invalid', async () => {
  const trip = await call('/v1/mediaItems:search', { albumId: 'albumTrip' });
  assert.equal(trip.status, 200);
  assert.deepEqual(
    trip.body.mediaItems.map((item: { id: string }) => item.id),
    ['itemA', 'itemB'],
  );
  const paged = await call('/v1/mediaItems:search', { albumId: 'albumTrip', pageSize: 1 });
  assert.equal(paged.body.mediaItems.length, 1);
  const rest = await call('/v1/mediaItems:search', {
    albumId: 'albumTrip',
    pageSize: 1,
    pageToken: paged.body.nextPageToken,
  });
  assert.equal(rest.body.mediaItems[0].id, 'itemB');
  for (const body of [
    { albumId: 'albumMine' },
    { albumId: 'nope' },
    { albumId: 'albumTrip', filters: { dateFilter: { dates: [{ year: 2024, month: 0, day: 0 }] } } },
  ]) {
    const answer = await call('/v1/mediaItems:search', body);
    assert.equal(answer.status, 400, JSON.stringify(body));
    assert.equal(answer.body.error.status, 'INVALID_ARGUMENT');
  }
});

test('--source library --albums: the items of the app’s albums are linked by album title; same names get a suffix; a rerun keeps them', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pb-albums-library-'));
  try {
    await writeAccount(emulator, dir);
    const run = () =>
      runCli(['2024', 'out', '--source', 'library', '--albums', '--all'], {
        cwd: dir,
        env: emulatorEnv(emulator),
      });
    const first = await run();
    assert.equal(first.code, 0, first.stderr);
    const out = path.join(dir, 'out');
    // Filler albums hold nothing, the app's own album is made safe, the other album is not seen.
    assert.deepEqual(await readdir(path.join(out, 'albums')), ['Trip_2024']);
    const names = (await readdir(path.join(out, 'albums', 'Trip_2024'))).sort();
    assert.equal(names.length, 2, names.join(', '));
    assert.equal(names[0], 'IMG_0001.jpg');
    assert.match(names[1] as string, /^IMG_0001~[0-9a-f]{8}\.jpg$/);
    const targets = new Map([
      ['IMG_0001.jpg', '2024-03-01/IMG_0001.jpg'],
      [names[1] as string, '2024-04-01/IMG_0001.jpg'],
    ]);
    for (const [name, target] of targets) {
      const link = path.join(out, 'albums', 'Trip_2024', name);
      assert.ok((await lstat(link)).isSymbolicLink());
      assert.equal(await readlink(link), path.join('..', '..', ...target.split('/')));
      assert.equal((await stat(link)).ino, (await lstat(path.join(out, target))).ino);
    }
    const journal = await readFile(path.join(out, '.photo-backup', 'saved.jsonl'), 'utf8');
    assert.match(journal, /"albums":\["Trip\/2024"\]/, 'the record keeps the album names');

    const second = await run();
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout + second.stderr, /made 0 link\(s\), replaced 0, 2 already there/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('--source library --albums when Google refuses albums.list (403): one warning, every item saved, no album folders', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pb-albums-denied-'));
  emulator.setFaults({ albumsDenied: true });
  try {
    await writeAccount(emulator, dir);
    const result = await runCli(['2024', 'out', '--source', 'library', '--albums', '--all'], {
      cwd: dir,
      env: emulatorEnv(emulator),
    });
    assert.equal(result.code, 0, result.stderr);
    const output = result.stdout + result.stderr;
    assert.equal(output.match(/Album folders: the albums could not be listed/g)?.length, 1, output);
    assert.doesNotMatch(output, /\n\s+at /);
    const days = (await readdir(path.join(dir, 'out'))).filter((name) => /^\d{4}-/.test(name));
    assert.equal(days.length, 3);
    await assert.rejects(lstat(path.join(dir, 'out', 'albums')));
  } finally {
    emulator.setFaults({});
    await rm(dir, { recursive: true, force: true });
  }
});
