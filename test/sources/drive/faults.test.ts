/**
 * The Drive source under Drive's faults and under kills, through the built CLI
 * (`photo-backup 2024 <folder> --source drive`) over real HTTP against the emulator's Drive, which
 * answers as Google documents it:
 * - errors: https://developers.google.com/drive/api/guides/handle-errors (401 authError, 403
 *   rateLimitExceeded / userRateLimitExceeded, 429, 403 downloadQuotaExceeded, 404 notFound);
 *   412 conditionNotMet as a user quoted it (vitalif/grive2#21);
 * - ranges: https://developers.google.com/drive/api/guides/manage-downloads ("Partial download":
 *   206 with Content-Range), and RFC 9110 §14.2, which lets a server answer a range with 200 and
 *   the whole file.
 * Every fault ends with the check that matters: what could be saved is saved byte for byte, what
 * could not is reported naming why, and a plain rerun finishes the year. The big version (more
 * kill points, a 256 MB part read with ranges ignored under a memory bound) is
 * test/reliability/sources/drive/faults.test.ts.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { treeHashes } from '../../helpers/cli.ts';
import {
  type DriveAccount,
  driveReference,
  expectedMedia,
  openDriveAccount,
  runDrive,
  savedMedia,
  summaryOf,
  yearMediaOf,
  yearPart,
} from '../../helpers/drive-year.ts';
import { buildZip, makeJpeg, makeSidecar } from '../../helpers/takeout-builder.ts';

let account: DriveAccount;
let reference: { tree: Map<string, string>; bytes: number; mediaRequests: number } | undefined;

/** `alt=media` requests the emulator answered so far, over every file. */
const mediaRequests = () =>
  Object.values(account.emulator.stats.driveMediaRequests).reduce((sum, count) => sum + count, 0);

/**
 * An uninterrupted run's tree, the Drive bytes it read and its `alt=media` requests: the library
 * is generated from a fixed seed, so one run serves every test of this file.
 */
async function referenceRun(): Promise<{ tree: Map<string, string>; bytes: number; mediaRequests: number }> {
  if (!reference) {
    const before = account.emulator.stats.driveBytes;
    const asked = mediaRequests();
    const tree = await driveReference(account);
    reference = {
      tree,
      bytes: account.emulator.stats.driveBytes - before,
      mediaRequests: mediaRequests() - asked,
    };
    account.emulator.resetStats();
  }
  return reference;
}

beforeEach(async () => {
  account = await openDriveAccount();
});
afterEach(async () => {
  await account.close();
});

const out = () => path.join(account.dir, 'out');
const noStack = (text: string) => assert.doesNotMatch(text, /\n\s+at |hit a bug/, 'no stack trace');
const retries = (run: { events: Array<{ type: string }> }) =>
  run.events.filter((event) => event.type === 'retry') as Array<{
    type: string;
    delayMs: number;
    what: string;
  }>;
const failures = (run: { events: Array<{ type: string }> }) =>
  run.events.filter((event) => event.type === 'failed') as Array<{
    type: string;
    filename: string;
    reason: string;
  }>;

test('drive: a 401 on a ranged read is mended by one refresh, and the run goes on', async () => {
  const { emulator } = account;
  emulator.setFaults({ drive: [{ fault: 'unauthorized', on: ['media'], after: 3, times: 1 }] });
  const run = await runDrive(account, out());
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.equal(emulator.stats.faults['drive.unauthorized'], 1);
  assert.equal(emulator.stats.requests['oauth.token'], 1, 'refreshed once');
  assert.deepEqual(await savedMedia(out()), expectedMedia(account));
});

test('drive: 403 rateLimitExceeded / userRateLimitExceeded and 429 with Retry-After, on listing and ranged reads: waited as told, then complete', async () => {
  const { emulator } = account;
  emulator.setFaults({
    drive: [
      { fault: 'rateLimitExceeded', on: ['list'], times: 1, retryAfterSeconds: 1 },
      { fault: 'userRateLimitExceeded', on: ['media'], after: 2, times: 2, retryAfterSeconds: 1 },
      { fault: 'tooManyRequests', on: ['media'], after: 6, times: 2, retryAfterSeconds: 1 },
      { fault: 'rateLimitExceeded', on: ['media'], after: 10, times: 1, retryAfterSeconds: 1 },
    ],
  });
  const run = await runDrive(account, out());
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.equal(emulator.stats.faults['drive.rateLimitExceeded'], 2);
  assert.equal(emulator.stats.faults['drive.userRateLimitExceeded'], 2);
  assert.equal(emulator.stats.faults['drive.tooManyRequests'], 2);
  // PHOTO_BACKUP_RETRY_BASE_MS=5 makes the longest wait 100 ms: a Retry-After of one second is
  // waited up to that, where backoff alone would wait about 5 ms on a first try.
  const waits = retries(run);
  assert.equal(waits.length, 6, run.stdout);
  assert.ok(
    waits.every((wait) => wait.what === 'Google Drive' && wait.delayMs === 100),
    JSON.stringify(waits),
  );
  assert.deepEqual(await savedMedia(out()), expectedMedia(account));
});

/** How many `alt=media` requests of `part` a run makes before its items are saved: a dry run counts them. */
async function listingReads(part: { file: { id: string } }): Promise<number> {
  const { emulator } = account;
  emulator.setFaults({
    drive: [{ fault: 'preconditionFailed', on: ['media'], fileIds: [part.file.id], after: 1e9 }],
  });
  const dry = await runDrive(account, path.join(account.dir, 'dry'), ['--dry-run']);
  assert.equal(dry.code, 0, dry.stdout + dry.stderr);
  const reads = emulator.driveRuleCalls()[0] ?? 0;
  assert.ok(reads > 0);
  emulator.setFaults({});
  return reads;
}

/** The Drive file ids the memory of finished parts holds. */
async function rememberedParts(folder: string): Promise<string[]> {
  const memory = await readFile(path.join(folder, '.photo-backup', 'takeout-parts.jsonl'), 'utf8').catch(
    () => '',
  );
  return memory
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { key: string }).key.replace(/^drive:/, ''));
}

test("drive: a rate limit that never lifts on a part's entries is tried a bounded number of times: those items fail, the rest is saved", async () => {
  const { emulator } = account;
  const part = yearPart(account);
  // After the listing's reads of the part (a rate limit there stops the run: the test below).
  const listing = await listingReads(part);
  emulator.setFaults({
    drive: [{ fault: 'userRateLimitExceeded', on: ['media'], fileIds: [part.file.id], after: listing }],
  });
  const run = await runDrive(account, out());
  assert.equal(run.code, 1, run.stdout + run.stderr);
  noStack(run.stderr);
  assert.equal(failures(run).length, yearMediaOf(part).length, JSON.stringify(failures(run)));
  // 6 retries per call (the policy's), not an endless loop.
  const tries = emulator.stats.faults['drive.userRateLimitExceeded'] ?? 0;
  assert.ok(tries >= 7 && tries % 7 === 0, String(tries));
  const saved = await savedMedia(out());
  assert.equal(saved.length, expectedMedia(account).length - yearMediaOf(part).length);
});

/**
 * A part whose listing reads its directory (the first request) and then a sidecar or album JSON
 * on its own (the second): a JSON entry with a large media entry after it, out of the tail the
 * directory's read brings along. Parts of two photos' bytes hold such a layout.
 */
async function partWithSidecarRead(): Promise<{
  file: { id: string; name: string };
  entries: Array<{ name: string }>;
}> {
  await account.close();
  account = await openDriveAccount({ partBytes: 700_000 });
  const size = (data: string | Uint8Array) =>
    typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  const found = account.parts.find(
    (part) =>
      yearMediaOf(part).length > 0 &&
      part.entries.some(
        (entry, at) =>
          entry.name.endsWith('.json') &&
          part.entries.slice(at + 1).some((later) => size(later.data) > 100_000),
      ),
  );
  if (!found) throw new Error('no part reads a sidecar apart from its directory');
  return found;
}

/**
 * After a run stopped while the listing read `part` (what it said: `said`): the part is not told
 * as damaged nor remembered as finished; with the faults lifted, the next run saves the year and
 * remembers the part.
 */
async function soundPartThenRerun(part: { file: { id: string } }, said: string): Promise<void> {
  assert.doesNotMatch(said, /This part was skipped|download it again|problem:|could not be read/);
  assert.ok(!(await rememberedParts(out())).includes(part.file.id), 'not remembered as finished');
  account.emulator.setFaults({});
  const next = await runDrive(account, out());
  assert.equal(next.code, 0, next.stdout + next.stderr);
  assert.deepEqual(await savedMedia(out()), expectedMedia(account));
  assert.ok((await rememberedParts(out())).includes(part.file.id), 'remembered once finished');
}

// Regression: Drive's refusals while the listing read a part's end records, directory or
// sidecars were taken for a damaged part ("This part was skipped; download it again from Google
// Takeout", exit 1), and the run went on without that part's sidecars.
for (const [what, after] of [
  ['its end records and directory', 0],
  ['a sidecar', 1],
] as const) {
  test(`drive: 403 downloadQuotaExceeded while the listing reads a part (${what}) is the quota stop (exit 4), not a damaged part; the part is not remembered, the next run saves the year`, async () => {
    const part = await partWithSidecarRead();
    const { emulator } = account;
    emulator.setFaults({
      drive: [{ fault: 'downloadQuotaExceeded', on: ['media'], fileIds: [part.file.id], after, times: 1 }],
    });
    const first = await runDrive(account, out());
    assert.equal(emulator.stats.faults['drive.downloadQuotaExceeded'], 1, 'the listing met the quota');
    assert.equal(first.code, 4, first.stdout + first.stderr);
    noStack(first.stderr);
    const said = first.stdout + first.stderr;
    assert.match(
      said,
      new RegExp(
        `"${part.file.name.replace(/\./g, '\\.')}" for now \\(403 downloadQuotaExceeded.*Run the same command again tomorrow: it continues where this run stopped`,
        's',
      ),
    );
    await soundPartThenRerun(part, said);
  });
}

test('drive: a rate limit that never lifts while the listing reads a part is a quota stop too (exit 4), after the bounded retries; the next run saves the year', async () => {
  const part = await partWithSidecarRead();
  const { emulator } = account;
  emulator.setFaults({
    drive: [{ fault: 'userRateLimitExceeded', on: ['media'], fileIds: [part.file.id], after: 1 }],
  });
  const first = await runDrive(account, out());
  assert.equal(first.code, 4, first.stdout + first.stderr);
  noStack(first.stderr);
  assert.equal(emulator.stats.faults['drive.userRateLimitExceeded'], 7, 'the first try and 6 retries');
  const said = first.stdout + first.stderr;
  assert.match(
    said,
    new RegExp(
      `Google Drive kept refusing to send more of "${part.file.name.replace(/\./g, '\\.')}" \\(403 userRateLimitExceeded.*Run the same command again later`,
      's',
    ),
  );
  await soundPartThenRerun(part, said);
});

test('drive: a 401 that a refreshed token gets too, while the listing reads the parts: a sign-in message (exit 3), not a damaged part', async () => {
  const { emulator } = account;
  emulator.setFaults({ drive: [{ fault: 'unauthorized', on: ['media'] }] });
  const run = await runDrive(account, out());
  assert.equal(run.code, 3, run.stdout + run.stderr);
  noStack(run.stderr);
  assert.ok((emulator.stats.requests['oauth.token'] ?? 0) >= 1, 'refreshed first');
  const said = run.stdout + run.stderr;
  assert.match(
    said,
    /Google Drive refused the saved sign-in \(401 Invalid Credentials\), also with a freshly refreshed access token.*photo-backup auth logout/s,
  );
  assert.doesNotMatch(said, /This part was skipped|download it again|problem:/);
  assert.deepEqual(await rememberedParts(out()), []);
});

test('drive: 403 downloadQuotaExceeded stops the run (exit 4) saying the next run continues; the next run does', async () => {
  const { emulator } = account;
  emulator.setFaults({ drive: [{ fault: 'downloadQuotaExceeded', on: ['media'], after: 30 }] });
  const first = await runDrive(account, out());
  assert.equal(first.code, 4, first.stdout + first.stderr);
  noStack(first.stderr);
  assert.match(
    first.stdout + first.stderr,
    /downloadQuotaExceeded.*Run the same command again tomorrow: it continues where this run stopped/s,
  );
  const savedFirst = (await savedMedia(out())).length;
  assert.ok(savedFirst < expectedMedia(account).length, 'stopped before the end');

  emulator.setFaults({});
  const next = await runDrive(account, out());
  assert.equal(next.code, 0, next.stdout + next.stderr);
  assert.deepEqual(await savedMedia(out()), expectedMedia(account));
  assert.equal(summaryOf(next).saved, expectedMedia(account).length - savedFirst, 'nothing saved twice');
});

test('drive: a run stopped by the download quota remembers the parts it finished: the rerun asks nothing of them, and ends with the same tree', async () => {
  const { emulator } = account;
  const { tree, mediaRequests: all } = await referenceRun();
  // One download at a time: the listing is still under way when the quota runs out, as in an
  // export of thousands of photos; four fifths of an uninterrupted run's requests get through.
  emulator.setFaults({
    drive: [{ fault: 'downloadQuotaExceeded', on: ['media'], after: Math.floor(all * 0.8) }],
  });
  const first = await runDrive(account, out(), ['--concurrency', '1']);
  assert.equal(first.code, 4, first.stdout + first.stderr);
  noStack(first.stderr);
  const memory = await readFile(path.join(out(), '.photo-backup', 'takeout-parts.jsonl'), 'utf8').catch(
    () => '',
  );
  const finished = memory
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { key: string }).key.replace(/^drive:/, ''));
  assert.ok(
    finished.length > 0 && finished.length < account.parts.length,
    `${finished.length} of ${account.parts.length} parts remembered as finished`,
  );

  emulator.setFaults({});
  emulator.resetStats();
  const next = await runDrive(account, out());
  assert.equal(next.code, 0, next.stdout + next.stderr);
  // Not one byte of a finished part: neither its directory nor its sidecars.
  for (const id of finished) {
    const name = account.parts.find((part) => part.file.id === id)?.file.name;
    assert.equal(emulator.stats.driveMediaRequests[id] ?? 0, 0, `${name} was read again`);
  }
  assert.deepEqual(await treeHashes(out()), tree);
  // Everything is finished now: the run after reads nothing.
  emulator.resetStats();
  const third = await runDrive(account, out());
  assert.equal(third.code, 0, third.stdout + third.stderr);
  assert.deepEqual(emulator.stats.driveMediaRequests, {});
});

for (const change of ['deleted', 'replaced by one of the same size'] as const) {
  test(`drive: a part ${change} mid-run: its remaining items fail naming it, the other parts are saved, exit 1`, async () => {
    const { emulator } = account;
    const part = yearPart(account);
    const lost = yearMediaOf(part).length;
    // Each reader of a part checks it once (files.get): the first is the listing's; the next is
    // the first of its items, just before which the part changes.
    emulator.setFaults({
      drive: [
        change === 'deleted'
          ? { fault: 'deleted', on: ['get'], fileIds: [part.file.id], after: 1 }
          : { fault: 'replaced', sameSize: true, on: ['get'], fileIds: [part.file.id], after: 1, times: 1 },
      ],
    });
    const run = await runDrive(account, out());
    assert.equal(run.code, 1, run.stdout + run.stderr);
    noStack(run.stderr);
    const failed = failures(run);
    assert.equal(failed.length, lost, JSON.stringify(failed));
    const reason =
      change === 'deleted'
        ? `"${part.file.name}" is no longer in Google Drive`
        : `"${part.file.name}" changed in Google Drive while it was being read (its md5Checksum`;
    for (const failure of failed) assert.ok(failure.reason.includes(reason), failure.reason);
    assert.equal((await savedMedia(out())).length, expectedMedia(account).length - lost);
  });
}

test('drive: 412 conditionNotMet on a part mid-run: its remaining items fail naming it, the rest is saved', async () => {
  const { emulator } = account;
  const part = yearPart(account);
  // How many ranged reads of the part the listing makes: a dry run counts them.
  emulator.setFaults({
    drive: [{ fault: 'preconditionFailed', on: ['media'], fileIds: [part.file.id], after: 1e9 }],
  });
  const dry = await runDrive(account, path.join(account.dir, 'dry'), ['--dry-run']);
  assert.equal(dry.code, 0, dry.stdout + dry.stderr);
  const listing = emulator.driveRuleCalls()[0] ?? 0;
  assert.ok(listing > 0);
  emulator.setFaults({
    drive: [{ fault: 'preconditionFailed', on: ['media'], fileIds: [part.file.id], after: listing }],
  });
  const run = await runDrive(account, out());
  assert.equal(run.code, 1, run.stdout + run.stderr);
  const failed = failures(run);
  assert.equal(failed.length, yearMediaOf(part).length, JSON.stringify(failed));
  for (const failure of failed)
    assert.ok(
      failure.reason.includes(
        `"${part.file.name}" changed in Google Drive while it was being read (Drive answered 412`,
      ),
      failure.reason,
    );
  assert.equal((await savedMedia(out())).length, expectedMedia(account).length - failed.length);
});

test('drive: every range answered 200 with the whole part: the same files as an uninterrupted run', async () => {
  const { emulator } = account;
  const { tree } = await referenceRun();
  emulator.setFaults({ drive: [{ fault: 'rangeIgnored', on: ['media'] }] });
  const run = await runDrive(account, out());
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.ok((emulator.stats.faults['drive.rangeIgnored'] ?? 0) > 10);
  assert.deepEqual(await treeHashes(out()), tree);
  // That the rest of a part is never read nor held is shown by test/sources/drive/api.test.ts
  // (bytes served) and, with a 256 MB part and the peak memory, by the reliability version.
});

for (const fault of ['reset', 'short'] as const) {
  test(`drive: ${fault} bodies mid-range: the range is asked again from its first missing byte, not the whole part`, async () => {
    const { emulator } = account;
    const { tree: reference, bytes: clean } = await referenceRun();
    emulator.setFaults({ drive: [{ fault, on: ['media'], after: 4, times: 6, atFraction: 0.5 }] });
    const run = await runDrive(account, out());
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(emulator.stats.faults[`drive.${fault}`], 6);
    assert.equal(retries(run).length, 6, run.stdout);
    assert.deepEqual(await treeHashes(out()), reference);
    if (fault === 'short') {
      // Each cut range's bytes came once: the run read what a clean one reads, to the byte.
      assert.equal(emulator.stats.driveBytes, clean);
    }
  });
}

for (const [point, n] of [
  ['mid-download', 3],
  ['after-rename-before-record', 2],
  ['mid-journal-write', 4],
] as const) {
  test(`drive: SIGKILL at ${point} #${n}, then the same command: the same tree as an uninterrupted run`, async () => {
    const { tree: reference } = await referenceRun();
    const killed = await runDrive(account, out(), [], { PHOTO_BACKUP_CRASH_AT: `${point}:${n}` });
    assert.equal(killed.signal, 'SIGKILL', killed.stdout + killed.stderr);
    const again = await runDrive(account, out());
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.deepEqual(await treeHashes(out()), reference);
  });
}

// Regression: a photo with no sidecar is dated from its own bytes; when Drive refused those bytes
// (the quota here), the date read took the refusal for "no date", left the photo out as undated
// and the run went on, remembering its part as finished: that photo was never read again.
test("drive: the download quota met while reading a sidecar-less photo's own date stops the run (exit 4); its part is not finished, and the next run saves it in its day", async () => {
  const { emulator } = account;
  const folder = emulator.drive.add({ name: 'Undated here' });
  const root = 'Takeout/Google Photos/Photos from 2024';
  const dated = makeJpeg({ dateTimeOriginal: '2024:05:01 10:00:00', comment: 'dated' });
  // Padded past the reader's read-ahead, so the directory and the photo's head are two requests.
  const photo = Buffer.concat([
    makeJpeg({ dateTimeOriginal: '2024:06:01 12:00:00', comment: 'no sidecar' }),
    Buffer.alloc(300_000),
  ]);
  const time = '20250301T080000Z';
  emulator.drive.add({
    name: `takeout-${time}-001.zip`,
    parents: [folder.id],
    content: buildZip([
      { name: `${root}/dated.jpg`, data: dated, method: 'store' },
      {
        name: `${root}/dated.jpg.supplemental-metadata.json`,
        data: makeSidecar({ title: 'dated.jpg', photoTakenTime: '2024-05-01T10:00:00Z' }),
      },
    ]),
  });
  const second = emulator.drive.add({
    name: `takeout-${time}-002.zip`,
    parents: [folder.id],
    content: buildZip([{ name: `${root}/own-date.jpg`, data: photo, method: 'store' }]),
  });
  emulator.setFaults({
    drive: [{ fault: 'downloadQuotaExceeded', on: ['media'], fileIds: [second.id], after: 1, times: 1 }],
  });
  const args = ['--drive-folder', 'Undated here', '--timezone', 'UTC'];
  const first = await runDrive(account, out(), args);
  assert.equal(emulator.stats.faults['drive.downloadQuotaExceeded'], 1, 'the date read met the quota');
  assert.equal(first.code, 4, first.stdout + first.stderr);
  noStack(first.stderr);
  assert.match(first.stdout + first.stderr, /downloadQuotaExceeded.*Run the same command again tomorrow/s);
  assert.ok(!(await rememberedParts(out())).includes(second.id), 'its part is not remembered as finished');

  emulator.setFaults({});
  const next = await runDrive(account, out(), args);
  assert.equal(next.code, 0, next.stdout + next.stderr);
  assert.deepEqual(await readFile(path.join(out(), '2024-06-01', 'own-date.jpg')), photo);
  assert.deepEqual(await readFile(path.join(out(), '2024-05-01', 'dated.jpg')), dated);
});
