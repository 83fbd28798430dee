/**
 * Bad input through the built CLI, each with its message and exit code: year forms, client
 * secrets, token files, broken API answers (a tiny fake Library API on 127.0.0.1) and filenames
 * from Google that must not escape, collide or be unusable on another file system.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { nameKey } from '../../src/layout.ts';
import { parseJournal } from '../../src/manifest.ts';
import { runCli } from '../helpers/cli.ts';
import { allFiles, assertComplete, backup, openAccount, readyItems } from '../helpers/reliability.ts';
import type { EmulatorItem } from '../support/emulator/index.ts';
import { libraryScope } from '../support/emulator/index.ts';

const noStack = (text: string) => assert.doesNotMatch(text, /\n\s+at |hit a bug/, 'no stack trace');

for (const year of ['24', '-2024', '20245', '２０２４', ' 2024', '2024.0', '2024-01']) {
  test(`year "${year}": exit 2, "is not a year", no stack`, async () => {
    const account = await openAccount([]);
    try {
      const result = await runCli([year, 'photos'], { cwd: account.dir, env: account.env });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /is not a year: write it as four digits/);
      noStack(result.stderr);
    } finally {
      await account.close();
    }
  });
}

const clientSecretCases: { name: string; content: string | undefined; pattern: RegExp }[] = [
  {
    name: 'missing',
    content: undefined,
    pattern: /`client_secret\.json` not found in .*Create a Desktop OAuth client/,
  },
  { name: 'empty', content: '', pattern: /`client_secret\.json` in .* is empty/ },
  { name: 'malformed', content: '{"installed": {"client_id": "x",', pattern: /is not valid JSON/ },
  { name: 'a JSON list', content: '[1, 2]', pattern: /expected a JSON object/ },
  {
    name: 'of web type',
    content: JSON.stringify({ web: { client_id: 'id', client_secret: 'GOCSPX-web' } }),
    pattern: /"Web application" OAuth client; photo-backup needs a "Desktop app" client/,
  },
  {
    name: 'without its secret',
    content: JSON.stringify({ installed: { client_id: 'id' } }),
    pattern: /lacks client_secret in its "installed" section/,
  },
];

for (const { name, content, pattern } of clientSecretCases) {
  test(`client secret ${name}: exit 3 naming the file and what to do`, async () => {
    const account = await openAccount(readyItems(3));
    try {
      const file = path.join(account.dir, 'client_secret.json');
      if (content === undefined) await rm(file);
      else await writeFile(file, content);
      const result = await backup(account, [], { timeoutMs: 20_000 });
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stderr, pattern);
      noStack(result.stderr);
      assert.doesNotMatch(result.stderr, /GOCSPX-web/, 'the secret is never quoted');
    } finally {
      await account.close();
    }
  });
}

const tokenCases: { name: string; token: (original: Record<string, unknown>) => string; pattern: RegExp }[] =
  [
    { name: 'empty', token: () => '', pattern: /is empty/ },
    { name: 'corrupt', token: () => '{"client_id": "x", "refresh_tok', pattern: /is not valid JSON/ },
    {
      name: 'for another client',
      token: (original) =>
        JSON.stringify({ ...original, client_id: 'someone-else.apps.googleusercontent.com' }),
      pattern: /belongs to another OAuth client/,
    },
  ];

// A token lacking a scope is no longer unusable: each source needs only its own scope (granular
// consent), so a library-only grant runs the library source; test/cli/scopes.test.ts covers a
// grant that lacks the scope the chosen source needs (exit 3 naming the box).
test('token file granting only the library scope, no terminal: the default source runs without consent', async () => {
  const account = await openAccount(readyItems(3));
  try {
    const file = path.join(account.dir, 'token.json');
    const original = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(file, JSON.stringify({ ...original, scope: libraryScope }));
    const result = await backup(account, [], { timeoutMs: 20_000 });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(account.emulator.stats.requests['oauth.authorize'] ?? 0, 0);
    noStack(result.stderr);
  } finally {
    await account.close();
  }
});

// With no terminal, an unusable token file must end the run at once: a consent nobody can finish would hang it.
for (const { name, token, pattern } of tokenCases) {
  test(`token file ${name}, no terminal: exit 3 at once saying why, no consent started`, async () => {
    const account = await openAccount(readyItems(3));
    try {
      const file = path.join(account.dir, 'token.json');
      await writeFile(file, token(JSON.parse(await readFile(file, 'utf8'))));
      const result = await backup(account, [], { timeoutMs: 20_000 });
      assert.equal(result.signal, null, 'the run ended by itself');
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stderr, new RegExp(`The saved sign-in \`token\\.json\` in .* ${pattern.source}`));
      assert.match(result.stderr, /Run photo-backup once at a terminal/);
      assert.equal(account.emulator.stats.requests['oauth.authorize'] ?? 0, 0);
      noStack(result.stderr);
    } finally {
      await account.close();
    }
  });
}

type Answer = string | { status: number; body: string };
type ItemMaker = (id: string, extra?: Record<string, unknown>) => Record<string, unknown>;

/** A fake Library API: the n-th search gets the n-th answer (the last one again after that); media are small. */
async function fakeLibrary(answers: (item: ItemMaker) => Answer[]) {
  let served = 0;
  let pages: Answer[] = [];
  const mediaRequests = new Map<string, number>();
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    for await (const _ of req) {
      // drain
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const media = /^\/media\/([^=]+)=d$/.exec(url.pathname);
    if (media?.[1]) {
      mediaRequests.set(media[1], (mediaRequests.get(media[1]) ?? 0) + 1);
      const body = Buffer.from(`bytes of ${media[1]}`);
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length });
      res.end(body);
      return;
    }
    if (url.pathname.endsWith('/v1/mediaItems:search')) {
      const page = pages[Math.min(served, pages.length - 1)] ?? '{}';
      served++;
      const { status, body } = typeof page === 'string' ? { status: 200, body: page } : page;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
      return;
    }
    res.writeHead(404).end('{}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const item: ItemMaker = (id, extra = {}) => ({
    id,
    filename: `${id}.jpg`,
    mimeType: 'image/jpeg',
    baseUrl: `${origin}/media/${id}`,
    mediaMetadata: { creationTime: '2024-05-01T10:00:00Z', photo: {} },
    ...extra,
  });
  pages = answers(item);
  return {
    origin,
    mediaRequests,
    searches: () => served,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function withFakeLibrary(
  answers: (item: ItemMaker) => Answer[],
  check: (
    result: Awaited<ReturnType<typeof backup>>,
    context: { folder: string; fake: Awaited<ReturnType<typeof fakeLibrary>> },
  ) => Promise<void>,
) {
  const account = await openAccount([]);
  const fake = await fakeLibrary(answers);
  try {
    const result = await backup(account, ['--source', 'library'], {
      env: { PHOTO_BACKUP_LIBRARY_URL: fake.origin },
      timeoutMs: 30_000,
    });
    await check(result, { folder: account.folder, fake });
  } finally {
    await fake.close();
    await account.close();
  }
}

// Regression: a listing that failed for good (answers not JSON, a 400, a looping page token) ended
// the run with "photo-backup hit a bug" and exit 70.
test('API answers that are not JSON: exit 1 with one clear line, no stack', async () => {
  await withFakeLibrary(
    () => ['<html>502 Bad Gateway</html>'],
    async (result) => {
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /not JSON/);
      assert.match(result.stderr, /run the same command again/i);
      noStack(result.stderr);
    },
  );
});

test('an API error that retrying cannot fix (400): exit 1 naming it, no stack', async () => {
  await withFakeLibrary(
    () => [
      {
        status: 400,
        body: JSON.stringify({
          error: { code: 400, message: 'Request contains an invalid argument.', status: 'INVALID_ARGUMENT' },
        }),
      },
    ],
    async (result) => {
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /invalid argument/);
      noStack(result.stderr);
    },
  );
});

test('items lacking fields: no id is left out, no filename gets one from the id, no date is reported undated', async () => {
  await withFakeLibrary(
    (item) => [
      JSON.stringify({
        mediaItems: [
          item('whole'),
          { filename: 'no-id.jpg' },
          item('nameless', { filename: undefined }),
          item('dateless', { mediaMetadata: {} }),
          null,
        ],
      }),
    ],
    async (result, { folder }) => {
      assert.equal(result.code, 0, result.stderr);
      const files = (await allFiles(folder)).filter((file) => !file.startsWith('.photo-backup'));
      assert.deepEqual(files.sort(), ['2024-05-01/nameless.jpg', '2024-05-01/whole.jpg']);
      assert.match(result.stdout, /undated|no capture date/i);
    },
  );
});

// Regression: an item on two pages was downloaded twice and recorded twice.
test('an item repeated across pages is downloaded and recorded once', async () => {
  await withFakeLibrary(
    (item) => [
      JSON.stringify({ mediaItems: [item('a'), item('b')], nextPageToken: 'p2' }),
      JSON.stringify({ mediaItems: [item('b'), item('c'), item('a')] }),
    ],
    async (result, { folder, fake }) => {
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(Object.fromEntries(fake.mediaRequests), { a: 1, b: 1, c: 1 });
      const journal = parseJournal(await readFile(path.join(folder, '.photo-backup', 'saved.jsonl'), 'utf8'));
      assert.deepEqual(journal.records.map((record) => record.id).sort(), ['a', 'b', 'c']);
      assert.match(result.stdout, /3 saved|saved 3|Saved 3/i);
    },
  );
});

test('a nextPageToken that loops: what was listed is saved, then exit 1 naming the loop', async () => {
  await withFakeLibrary(
    (item) => [
      JSON.stringify({ mediaItems: [item('a')], nextPageToken: 'p2' }),
      JSON.stringify({ mediaItems: [item('b')], nextPageToken: 'p3' }),
      JSON.stringify({ mediaItems: [item('c')], nextPageToken: 'p2' }),
    ],
    async (result, { folder, fake }) => {
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /page token it had already sent/);
      noStack(result.stderr);
      assert.ok(fake.searches() <= 4, `stopped asking: ${fake.searches()} searches`);
      const journal = parseJournal(await readFile(path.join(folder, '.photo-backup', 'saved.jsonl'), 'utf8'));
      assert.deepEqual(journal.records.map((record) => record.id).sort(), ['a', 'b', 'c']);
    },
  );
});

const day = '2024-06-01';
const hostile: string[] = [
  '../../escape.jpg',
  'a/b/c.jpg',
  'a\\b.jpg',
  '..',
  '.',
  'nul\u0000byte.jpg',
  'bell\u0007esc\u001b[31m.jpg',
  'CON.jpg',
  'nul',
  'COM1.tar.gz',
  'lpt1.JPG',
  `${'x'.repeat(300)}.jpg`,
  `${'x'.repeat(300)}y.jpg`,
  `${'é'.repeat(150)}.jpg`,
  'Case.jpg',
  'CASE.jpg',
  'Caf\u00e9.jpg',
  'Cafe\u0301.jpg',
  '.photo-backup',
  'trailing dot. ',
];

function hostileItems(): EmulatorItem[] {
  return hostile.map((filename, index) => ({
    id: `hostile-${index}`,
    filename,
    mimeType: 'image/jpeg',
    creationTime: `${day}T10:${String(index).padStart(2, '0')}:00Z`,
    kind: 'photo' as const,
    size: 500 + index,
  }));
}

// Regression: "COM1.tar.gz" and "lpt1.JPG"-like names kept a Windows reserved device name before the first dot.
test('hostile filenames from Google: each saved once inside its day folder, under a name every OS accepts', async () => {
  const account = await openAccount(hostileItems());
  try {
    const result = await backup(account);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    await assertComplete(account.folder, account.emulator);
    assert.deepEqual((await readdir(account.dir)).sort(), ['client_secret.json', 'photos', 'token.json']);
    const names = await readdir(path.join(account.folder, day));
    assert.deepEqual((await readdir(account.folder)).sort(), ['.photo-backup', day]);
    assert.equal(names.length, hostile.length);
    const keys = new Set(names.map((name) => nameKey(name)));
    assert.equal(keys.size, names.length, 'no two names one case-insensitive file system would merge');
    for (const name of names) {
      assert.ok(Buffer.byteLength(name) <= 255, `${name.length} characters is too long`);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is checked
      assert.doesNotMatch(name, /[\u0000-\u001f\u007f<>:"/\\|?*]/, name);
      assert.doesNotMatch(name, /^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/i, `reserved on Windows: ${name}`);
      assert.doesNotMatch(name, /^\.|[. ]$/, `hidden or trailing dot/space: ${name}`);
    }
    // A second run knows every one of them and downloads nothing.
    account.emulator.resetStats();
    const again = await backup(account, ['--all']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(account.emulator.stats.mediaBytes, 0);
  } finally {
    await account.close();
  }
});

// Regression: a filename with an ESC sequence was printed raw, so Google's data could drive the terminal.
test('control characters in a filename are not printed raw to the terminal', async () => {
  const account = await openAccount([
    {
      id: 'evil',
      filename: 'evil\u001b[2J\u0007.mp4',
      mimeType: 'video/mp4',
      creationTime: '2024-02-02T10:00:00Z',
      kind: 'video',
      size: 900,
      videoStatus: 'PROCESSING',
    },
  ]);
  try {
    const result = await backup(account);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /later evil\\x1b\[2J\\x07\.mp4: Google is still processing this video/);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is checked
    assert.doesNotMatch(result.stdout + result.stderr, /[\u0007\u001b]/);
  } finally {
    await account.close();
  }
});
