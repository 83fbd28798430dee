/**
 * The emulator's Drive v3 over real HTTP: files.list (q, fields, orderBy, paging), files.get,
 * alt=media with Range (206, 416), and the Drive errors a test switches on, with Google's bodies.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { request } from 'undici';
import {
  type DriveFile,
  driveScope,
  type Emulator,
  md5Of,
  startEmulator,
} from '../support/emulator/index.ts';

let emulator: Emulator;
let token: string;
let folder: DriveFile;
let parts: DriveFile[];
const big = Buffer.alloc(300_000);
for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 8)) & 0xff;

before(async () => {
  emulator = await startEmulator();
  token = emulator.issueToken({ scopes: [driveScope] }).access_token as string;
  folder = emulator.drive.add({ name: 'Takeout', createdTime: '2026-01-01T00:00:00.000Z' });
  parts = ['003', '001', '002'].map((n, index) =>
    emulator.drive.add({
      name: `takeout-20260115T101530Z-${n}.zip`,
      parents: [folder.id],
      content: index === 0 ? big : Buffer.from(`part ${n}`),
      mimeType: 'application/zip',
      createdTime: `2026-01-15T10:1${index}:00.000Z`,
    }),
  );
  emulator.drive.add({
    name: 'takeout-old.zip',
    parents: [folder.id],
    content: Buffer.from('x'),
    trashed: true,
  });
  emulator.drive.add({ name: 'notes.txt', parents: [folder.id], content: Buffer.from('notes') });
  emulator.drive.add({ name: 'takeout-elsewhere.zip', content: Buffer.from('y') });
});
after(() => emulator.close());
beforeEach(() => {
  emulator.setFaults({});
  emulator.resetStats();
});

async function get(path: string, headers: Record<string, string> = {}) {
  const response = await request(`${emulator.driveUrl}/drive/v3${path}`, {
    headers: { authorization: `Bearer ${token}`, ...headers },
  });
  const body = Buffer.from(await response.body.arrayBuffer());
  return {
    status: response.statusCode,
    headers: response.headers,
    body,
    json: () => JSON.parse(body.toString()),
  };
}

const list = (params: Record<string, string>) => get(`/files?${new URLSearchParams(params)}`);

test('files.list: q joins name contains, in parents and trashed = false; fields picks the fields', async () => {
  const answer = await list({
    q: `name contains 'takeout-' and '${folder.id}' in parents and trashed = false`,
    fields: 'nextPageToken,files(id,name,size)',
    orderBy: 'name',
  });
  assert.equal(answer.status, 200);
  const { files, nextPageToken } = answer.json() as {
    files: Record<string, unknown>[];
    nextPageToken?: string;
  };
  assert.equal(nextPageToken, undefined);
  assert.deepEqual(
    files.map((file) => file.name),
    [
      'takeout-20260115T101530Z-001.zip',
      'takeout-20260115T101530Z-002.zip',
      'takeout-20260115T101530Z-003.zip',
    ],
  );
  assert.deepEqual(Object.keys(files[2] ?? {}).sort(), ['id', 'name', 'size']);
  assert.equal(files[2]?.size, String(big.length), 'size is a string of digits');
});

test('files.list: mimeType = folder finds the folder; trashed files are listed unless q says otherwise', async () => {
  const folders = (await list({ q: "mimeType = 'application/vnd.google-apps.folder'" })).json();
  assert.deepEqual(
    folders.files.map((file: { id: string }) => file.id),
    [folder.id],
  );
  const all = (await list({ q: `'${folder.id}' in parents`, fields: 'files(name,trashed)' })).json();
  assert.ok(all.files.some((file: { trashed: boolean }) => file.trashed));
});

test('files.list: pageSize and pageToken page through, orderBy createdTime desc orders', async () => {
  const names: string[] = [];
  let pageToken: string | undefined;
  let pages = 0;
  do {
    const answer = await list({
      q: `'${folder.id}' in parents and name contains 'takeout-2026'`,
      pageSize: '2',
      orderBy: 'createdTime desc',
      ...(pageToken ? { pageToken } : {}),
    });
    const page = answer.json() as { files: { name: string }[]; nextPageToken?: string };
    assert.ok(page.files.length <= 2);
    names.push(...page.files.map((file) => file.name));
    pageToken = page.nextPageToken;
    pages++;
  } while (pageToken);
  assert.equal(pages, 2);
  assert.deepEqual(names, [
    'takeout-20260115T101530Z-002.zip',
    'takeout-20260115T101530Z-001.zip',
    'takeout-20260115T101530Z-003.zip',
  ]);
});

test('files.list: a query it cannot read and a bad pageSize are 400 badRequest', async () => {
  const bad: Record<string, string>[] = [
    { q: 'fullText contains "x"' },
    { q: 'trashed = false', pageSize: '0' },
  ];
  for (const params of bad) {
    const answer = await list(params);
    assert.equal(answer.status, 400);
    assert.equal(answer.json().error.errors[0].reason, 'badRequest');
  }
});

test('files.get: metadata with size, md5Checksum, modifiedTime and parents; 404 notFound for an unknown id', async () => {
  const part = parts[0] as DriveFile;
  const meta = (await get(`/files/${part.id}?fields=id,name,size,md5Checksum,modifiedTime,parents`)).json();
  assert.deepEqual(meta, {
    id: part.id,
    name: part.name,
    size: String(big.length),
    md5Checksum: md5Of(big),
    modifiedTime: part.modifiedTime,
    parents: [folder.id],
  });
  const missing = await get('/files/nope?fields=id');
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.json().error.errors[0], {
    domain: 'global',
    reason: 'notFound',
    message: 'File not found: nope.',
    location: 'fileId',
    locationType: 'parameter',
  });
});

test('alt=media: Range gives 206 with Content-Range and those bytes; the counter counts what was sent', async () => {
  const id = (parts[0] as DriveFile).id;
  const whole = await get(`/files/${id}?alt=media`);
  assert.equal(whole.status, 200);
  assert.ok(whole.body.equals(big));
  const ranged = await get(`/files/${id}?alt=media`, { range: 'bytes=1000-1999' });
  assert.equal(ranged.status, 206);
  assert.equal(ranged.headers['content-range'], `bytes 1000-1999/${big.length}`);
  assert.ok(ranged.body.equals(big.subarray(1000, 2000)));
  const suffix = await get(`/files/${id}?alt=media`, { range: 'bytes=-10' });
  assert.ok(suffix.body.equals(big.subarray(big.length - 10)));
  const past = await get(`/files/${id}?alt=media`, { range: `bytes=${big.length - 5}-${big.length + 100}` });
  assert.equal(past.headers['content-range'], `bytes ${big.length - 5}-${big.length - 1}/${big.length}`);
  assert.equal(emulator.stats.driveBytes, big.length + 1000 + 10 + 5);
  // Which files were asked for, and how often: metadata (files.get) is not a media request.
  await get(`/files/${id}`);
  assert.deepEqual(emulator.stats.driveMediaRequests, { [id]: 4 });
  emulator.resetStats();
  assert.deepEqual(emulator.stats.driveMediaRequests, {});
});

test('alt=media: a range that starts past the end is 416 with Content-Range bytes */size', async () => {
  const id = (parts[0] as DriveFile).id;
  const answer = await get(`/files/${id}?alt=media`, { range: `bytes=${big.length}-` });
  assert.equal(answer.status, 416);
  assert.equal(answer.headers['content-range'], `bytes */${big.length}`);
});

test('a token without drive.readonly is refused, and no token is 401', async () => {
  const photosOnly = emulator.issueToken().access_token as string;
  const refused = await get('/files?q=trashed%20%3D%20false', { authorization: `Bearer ${photosOnly}` });
  assert.equal(refused.status, 403);
  const anonymous = await request(`${emulator.driveUrl}/drive/v3/files`);
  assert.equal(anonymous.statusCode, 401);
  // In Drive's own envelope, as its error guide shows it, not the Photos APIs' UNAUTHENTICATED.
  const body = (await anonymous.body.json()) as {
    error: { errors: Array<{ reason: string }>; message: string };
  };
  assert.equal(body.error.message, 'Invalid Credentials');
  assert.equal(body.error.errors[0]?.reason, 'authError');
});

for (const { fault, status, reason, domain, retryAfter } of [
  { fault: 'unauthorized', status: 401, reason: 'authError', domain: 'global', retryAfter: false },
  {
    fault: 'rateLimitExceeded',
    status: 403,
    reason: 'rateLimitExceeded',
    domain: 'usageLimits',
    retryAfter: true,
  },
  {
    fault: 'userRateLimitExceeded',
    status: 403,
    reason: 'userRateLimitExceeded',
    domain: 'usageLimits',
    retryAfter: true,
  },
  {
    fault: 'tooManyRequests',
    status: 429,
    reason: 'rateLimitExceeded',
    domain: 'usageLimits',
    retryAfter: true,
  },
  {
    fault: 'downloadQuotaExceeded',
    status: 403,
    reason: 'downloadQuotaExceeded',
    domain: 'global',
    retryAfter: false,
  },
  {
    fault: 'preconditionFailed',
    status: 412,
    reason: 'conditionNotMet',
    domain: 'global',
    retryAfter: false,
  },
] as const) {
  test(`fault ${fault}: ${status} ${reason} in Drive's errors[] envelope, only on the calls asked`, async () => {
    const id = (parts[1] as DriveFile).id;
    emulator.setFaults({ drive: [{ fault, on: ['media'], times: 1, retryAfterSeconds: 2 }] });
    const metadata = await get(`/files/${id}?fields=id`);
    assert.equal(metadata.status, 200, 'files.get is not hit');
    const answer = await get(`/files/${id}?alt=media`);
    assert.equal(answer.status, status);
    const error = answer.json().error;
    assert.equal(error.code, status);
    assert.equal(error.errors[0].reason, reason);
    assert.equal(error.errors[0].domain, domain);
    assert.equal(answer.headers['retry-after'], retryAfter ? '2' : undefined);
    assert.equal((await get(`/files/${id}?alt=media`)).status, 200, 'times: 1');
    assert.equal(emulator.stats.faults[`drive.${fault}`], 1);
  });
}

test('faults deleted and replaced change the Drive itself; rangeIgnored answers 200 with the whole file', async () => {
  const victim = emulator.drive.add({
    name: 'takeout-20260301T000000Z-001.zip',
    content: Buffer.from('abcdef'),
  });
  emulator.setFaults({ drive: [{ fault: 'replaced', fileIds: [victim.id], times: 1 }] });
  const before = md5Of(Buffer.from('abcdef'));
  const replaced = (await get(`/files/${victim.id}?fields=md5Checksum,size`)).json();
  assert.notEqual(replaced.md5Checksum, before);
  assert.notEqual(replaced.size, '6');

  // sameSize: other bytes of the same length; only md5Checksum tells them apart.
  emulator.setFaults({ drive: [{ fault: 'replaced', sameSize: true, fileIds: [victim.id], times: 1 }] });
  const same = (await get(`/files/${victim.id}?fields=md5Checksum,size`)).json();
  assert.equal(same.size, replaced.size);
  assert.notEqual(same.md5Checksum, replaced.md5Checksum);

  emulator.setFaults({ drive: [{ fault: 'rangeIgnored' }] });
  const whole = await get(`/files/${victim.id}?alt=media`, { range: 'bytes=2-3' });
  assert.equal(whole.status, 200);
  assert.equal(whole.body.length, Number(replaced.size));

  emulator.setFaults({ drive: [{ fault: 'deleted', fileIds: [victim.id], after: 1 }] });
  assert.equal((await get(`/files/${victim.id}?alt=media`)).status, 200, 'the first call passes');
  assert.equal((await get(`/files/${victim.id}?alt=media`)).status, 404);
  assert.equal(emulator.drive.get(victim.id), undefined);
});

test('faults reset and short cut the body part way', async () => {
  const id = (parts[0] as DriveFile).id;
  emulator.setFaults({ drive: [{ fault: 'short', on: ['media'], atFraction: 0.5 }] });
  await assert.rejects(get(`/files/${id}?alt=media`));
  emulator.setFaults({ drive: [{ fault: 'reset', on: ['media'], atFraction: 0.5 }] });
  await assert.rejects(get(`/files/${id}?alt=media`));
  assert.ok(emulator.stats.driveBytes < big.length * 2);
});
