import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { BackupError } from '../src/errors.ts';
import { acquireLock } from '../src/lock.ts';
import {
  type KeptRecord,
  Manifest,
  parseJournal,
  recordedPathProblem,
  type SavedRecord,
  STATE_FOLDER,
} from '../src/manifest.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pb-manifest-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const record = (id: string, p: string, size = 3) => ({
  id,
  path: p,
  size,
  source: 'library',
  savedAt: '2024-01-01T00:00:00Z',
});

test('records survive a reload, and the last walk state wins', async () => {
  const manifest = await Manifest.load(dir);
  await manifest.record(record('a', '2024-01-01/A.jpg'));
  await manifest.markWalk('library:2024', true);
  await manifest.markWalk('library:2024', false);
  await manifest.close();
  const again = await Manifest.load(dir);
  assert.equal(again.get('a')?.path, '2024-01-01/A.jpg');
  assert.equal(again.ownerOf('2024-01-01/a.JPG'), 'a');
  assert.equal(again.isWalkComplete('library:2024'), false);
});

test('a torn last line (crash mid-write) is ignored, the rest is kept', async () => {
  await mkdir(path.join(dir, STATE_FOLDER));
  const file = path.join(dir, STATE_FOLDER, 'saved.jsonl');
  await writeFile(
    file,
    `${JSON.stringify(record('a', '2024-01-01/A.jpg'))}\n{"id":"b","path":"2024-01-01/B.j`,
  );
  const parsed = parseJournal(await readFile(file, 'utf8'));
  assert.equal(parsed.records.length, 1);
  assert.equal(parsed.bad, 1);
  const manifest = await Manifest.load(dir);
  assert.equal(manifest.get('b'), undefined);
  await manifest.record(record('c', '2024-01-01/C.jpg'));
  await manifest.close();
  // The torn line stays a separate bad line; the new record is readable.
  assert.equal((await Manifest.load(dir)).get('c')?.path, '2024-01-01/C.jpg');
});

test('records made at once are written in order, and each resolves only once its line is on disk', async () => {
  const manifest = await Manifest.load(dir);
  const journal = path.join(dir, STATE_FOLDER, 'saved.jsonl');
  const ids = Array.from({ length: 20 }, (_, index) => `item-${index}`);
  const seen = await Promise.all(
    ids.map((id) =>
      manifest
        .record(record(id, `2024-01-01/${id}.jpg`))
        .then(async () =>
          parseJournal(await readFile(journal, 'utf8')).records.some((line) => line.id === id),
        ),
    ),
  );
  assert.deepEqual(
    seen,
    ids.map(() => true),
  );
  await manifest.close();
  const lines = parseJournal(await readFile(journal, 'utf8'));
  assert.deepEqual(
    lines.records.map((line) => line.id),
    ids,
  );
  assert.equal(lines.bad, 0);
});

test('a dry-run manifest writes nothing', async () => {
  const manifest = await Manifest.load(dir, { readOnly: true });
  await manifest.record(record('a', 'd/A.jpg'));
  await manifest.close();
  await assert.rejects(readFile(path.join(dir, STATE_FOLDER, 'saved.jsonl')));
});

test('content index finds the path of identical bytes', async () => {
  const manifest = await Manifest.load(dir);
  await manifest.record({ ...record('a', 'd/A.jpg', 5), sha256: 'ff' });
  assert.equal(manifest.pathWithContent(5, 'ff'), 'd/A.jpg');
  assert.equal(manifest.pathWithContent(6, 'ff'), undefined);
  await manifest.close();
});

test('the journal is compacted when superseded lines pile up', async () => {
  const manifest = await Manifest.load(dir);
  for (let i = 0; i < 300; i++) await manifest.record(record('same', `2024-01-01/${i}.jpg`));
  await manifest.close();
  const text = await readFile(path.join(dir, STATE_FOLDER, 'saved.jsonl'), 'utf8');
  assert.equal(text.trim().split('\n').length, 1);
  assert.equal((await Manifest.load(dir)).get('same')?.path, '2024-01-01/299.jpg');
});

test('a second run on the same folder is refused while the first holds the lock', async () => {
  const lock = await acquireLock(dir);
  // Another live process holds it: simulate by writing the parent's pid as another holder.
  await lock.release();
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)']);
  try {
    await mkdir(path.join(dir, STATE_FOLDER), { recursive: true });
    await writeFile(
      path.join(dir, STATE_FOLDER, 'lock'),
      JSON.stringify({ pid: child.pid, host: (await import('node:os')).hostname(), startedAt: 'now' }),
    );
    await assert.rejects(acquireLock(dir), (error: unknown) => {
      return (
        error instanceof BackupError && error.exitCode === 2 && error.message.includes(String(child.pid))
      );
    });
  } finally {
    child.kill('SIGKILL');
  }
});

test('a stale lock from a killed run is recovered and says so', async () => {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.on('exit', resolve));
  await mkdir(path.join(dir, STATE_FOLDER), { recursive: true });
  await appendFile(
    path.join(dir, STATE_FOLDER, 'lock'),
    JSON.stringify({ pid: child.pid, host: (await import('node:os')).hostname(), startedAt: 'then' }),
  );
  const lock = await acquireLock(dir);
  assert.equal(lock.recoveredStale, true);
  await lock.release();
  const fresh = await acquireLock(dir);
  assert.equal(fresh.recoveredStale, false);
  await fresh.release();
});

for (const { recorded, ok } of [
  { recorded: '2024-07-14/IMG_1.jpg', ok: true },
  { recorded: 'undated/IMG_1~3f9a01c2.jpg', ok: true },
  { recorded: '20243-07-14/IMG_1.jpg', ok: true },
  { recorded: '../outside.jpg', ok: false },
  { recorded: '2024-07-14/../../outside.jpg', ok: false },
  { recorded: '/etc/passwd', ok: false },
  { recorded: 'C:/Windows/x.jpg', ok: false },
  { recorded: '2024-07-14\\..\\..\\x.jpg', ok: false },
  { recorded: '.photo-backup/lock', ok: false },
  { recorded: '.PHOTO-BACKUP/saved.jsonl', ok: false },
  { recorded: '2024-07-14/.photo-backup', ok: false },
  { recorded: '2024-07-14/sub/IMG_1.jpg', ok: false },
  { recorded: 'IMG_1.jpg', ok: false },
  { recorded: '2024-07-14/', ok: false },
  { recorded: '2024-07-14/./x', ok: false },
  { recorded: 'holiday/IMG_1.jpg', ok: false },
  { recorded: '2024-07-14/IMG\u00001.jpg', ok: false },
  { recorded: '', ok: false },
  { recorded: 42, ok: false },
]) {
  test(`recorded path ${JSON.stringify(recorded)} is ${ok ? 'used' : 'refused'}`, () => {
    assert.equal(recordedPathProblem(recorded) === undefined, ok, recordedPathProblem(recorded));
  });
}

test('parseJournal leaves out and counts lines whose path or copyOf leads outside the day folders', () => {
  const good = { id: 'a', path: '2024-01-01/a.jpg', size: 1 };
  const text = [
    good,
    { id: 'b', path: '../b.jpg', size: 1 },
    { id: 'c', path: '2024-01-01/a.jpg', size: 1, copyOf: '/etc/passwd' },
  ]
    .map((entry) => JSON.stringify(entry))
    .join('\n');
  const parsed = parseJournal(`${text}\n{"id":"torn`);
  assert.deepEqual(
    parsed.records.map((record) => record.id),
    ['a'],
  );
  assert.equal(parsed.bad, 3);
});

test('a record moved from another id and path replaces that record, also after a reload and a compaction', async () => {
  const manifest = await Manifest.load(dir);
  const evidence = { photoId: 'AF1QipA', crc32: 7 };
  await manifest.record({ ...record('takeout:2023/A.jpg', '2023-12-31/A.jpg'), evidence });
  await manifest.record({ ...record('takeout:c', '2023-12-31/A.jpg'), copyOf: '2023-12-31/A.jpg', evidence });
  assert.deepEqual(
    manifest.copiesAt('2023-12-31/A.jpg').map((copy) => copy.id),
    ['takeout:c'],
  );
  await manifest.record({
    ...record('takeout:2024/A.jpg', '2024-01-02/A.jpg'),
    evidence,
    movedFrom: { id: 'takeout:2023/A.jpg', path: '2023-12-31/A.jpg' },
  });
  const check = (loaded: Manifest) => {
    assert.equal(loaded.get('takeout:2023/A.jpg'), undefined);
    assert.equal(loaded.ownerOf('2023-12-31/A.jpg'), undefined);
    assert.equal(loaded.ownerOf('2024-01-02/A.jpg'), 'takeout:2024/A.jpg');
    assert.deepEqual(
      loaded.recordsOfPhoto('AF1QipA').map((found) => found.id),
      ['takeout:2024/A.jpg'],
      'copies are not found by photo id',
    );
  };
  check(manifest);
  await manifest.close();
  check(await Manifest.load(dir));
});

test('a journal line with a movedFrom outside the day folders is not a record', () => {
  const line = JSON.stringify({ ...record('a', '2024-01-01/A.jpg'), movedFrom: { id: 'b', path: '../x' } });
  assert.equal(parseJournal(`${line}\n`).bad, 1);
});

// ---------------------------------------------------------------------------------------------
// What is kept in memory, and whole records read back from their lines

/** A record as a source writes it: dates, metadata and evidence besides what decisions read. */
const fullLine = (id: string, p: string, extra: Record<string, unknown> = {}) => ({
  ...record(id, p),
  takenAt: '2024-01-01T10:00:00.000Z',
  utcOffsetMinutes: 60,
  dateSource: 'sidecar',
  metadata: { description: `café ${id}`, albums: ['Trip'] },
  evidence: { crc32: 1234, photoId: `AF1Qip${id}` },
  sha256: 'ab'.repeat(32),
  ...extra,
});

test('a kept record is not a record line: it cannot be written as one without reading its line back', async () => {
  const manifest = await Manifest.load(dir);
  const kept = await manifest.record(fullLine('a', '2024-01-01/A.jpg'));
  // @ts-expect-error a kept record has no dates or metadata: spread into a line it would lose them
  const line: SavedRecord = { ...kept, xmpSha256: 'cd'.repeat(32) };
  assert.equal('metadata' in line, false, 'what a spread of a kept record would write');
  assert.equal('takenAt' in kept, false, 'dates and metadata are not kept in memory');
  assert.deepEqual(manifest.fullRecord(kept), fullLine('a', '2024-01-01/A.jpg'));
  await manifest.close();
});

test('whole records read back: just written, after a reload, after a torn last line, and after compaction', async () => {
  await mkdir(path.join(dir, STATE_FOLDER));
  const file = path.join(dir, STATE_FOLDER, 'saved.jsonl');
  // Two-byte characters before: offsets are in bytes, not characters.
  await writeFile(
    file,
    `${JSON.stringify(fullLine('é', '2024-01-01/É.jpg'))}\n{"id":"torn","path":"2024-01-01/T.j`,
  );
  const manifest = await Manifest.load(dir);
  const loaded = manifest.get('é');
  assert.ok(loaded);
  assert.deepEqual(manifest.fullRecord(loaded), fullLine('é', '2024-01-01/É.jpg'));
  const written = manifest.record(fullLine('b', '2024-01-01/B.jpg'));
  // Before its line is written too.
  assert.deepEqual(manifest.fullRecord(manifest.get('b') as KeptRecord), fullLine('b', '2024-01-01/B.jpg'));
  await written;
  assert.deepEqual(manifest.fullRecord(await written), fullLine('b', '2024-01-01/B.jpg'));
  // Enough superseded lines that closing compacts the journal: the offsets held follow.
  for (let round = 0; round < 120; round++)
    await manifest.record(fullLine('c', '2024-01-01/C.jpg', { size: round }));
  await manifest.close();
  assert.equal((await readFile(file, 'utf8')).split('\n').length, 4, 'compacted: three records and the end');
  assert.deepEqual(manifest.fullRecord(manifest.get('b') as KeptRecord), fullLine('b', '2024-01-01/B.jpg'));
  assert.deepEqual(
    manifest.fullRecord(manifest.get('c') as KeptRecord),
    fullLine('c', '2024-01-01/C.jpg', { size: 119 }),
  );
  const again = await Manifest.load(dir);
  assert.deepEqual(
    [...again.fullRecords()].map((line) => line.id),
    ['é', 'b', 'c'],
  );
  assert.deepEqual(again.fullRecord(again.get('é') as KeptRecord), fullLine('é', '2024-01-01/É.jpg'));
});

test('a journal replaced while the run holds offsets: a rename leaves its reads true; one written over in place is exit 2, never another line', async () => {
  const first = await Manifest.load(dir);
  await first.record(fullLine('a', '2024-01-01/A.jpg'));
  await first.record(fullLine('b', '2024-01-01/B.jpg'));
  await first.close();
  const file = path.join(dir, STATE_FOLDER, 'saved.jsonl');
  const manifest = await Manifest.load(dir, { readOnly: true });
  const a = manifest.get('a') as KeptRecord;
  const b = manifest.get('b') as KeptRecord;
  // Another program's compaction (a new file renamed over): the journal loaded is still read.
  const lines = (await readFile(file, 'utf8')).split('\n');
  await writeFile(`${file}.new`, `${lines[1]}\n${lines[0]}\n`);
  await rename(`${file}.new`, file);
  assert.deepEqual(manifest.fullRecord(a), fullLine('a', '2024-01-01/A.jpg'));
  // Written over in place (the lines swapped, same length): the line read is not a's.
  const other = await Manifest.load(dir, { readOnly: true });
  const otherB = other.get('b') as KeptRecord;
  await writeFile(file, `${lines[0]}\n${lines[1]}\n`);
  assert.throws(
    () => other.fullRecord(otherB),
    (error: unknown) =>
      error instanceof BackupError &&
      error.exitCode === 2 &&
      /changed by another program while this run used it/.test(error.message) &&
      error.message.includes('2024-01-01/B.jpg'),
  );
  assert.deepEqual(manifest.fullRecord(b), fullLine('b', '2024-01-01/B.jpg'));
});

test('each id and each content is kept once: a record replacing another, a move, a copy', async () => {
  const manifest = await Manifest.load(dir);
  await manifest.record(fullLine('a', '2024-01-01/A.jpg'));
  await manifest.record(fullLine('a', '2024-01-01/A.jpg', { xmpSha256: 'ef'.repeat(32) }));
  assert.equal(manifest.size, 1);
  assert.equal(manifest.recordsOf('a').length, 1);
  assert.equal(manifest.get('a')?.xmpSha256, 'ef'.repeat(32));
  assert.equal(manifest.pathWithContent(3, 'ab'.repeat(32)), '2024-01-01/A.jpg');
  assert.equal(manifest.pathWithContent(4, 'ab'.repeat(32)), undefined, 'the size is part of the content');
  assert.deepEqual(
    manifest.recordsOfPhoto('AF1Qipa').map((kept) => kept.path),
    ['2024-01-01/A.jpg'],
  );
  await manifest.record(
    fullLine('a', '2024-01-05/A.jpg', { movedFrom: { id: 'a', path: '2024-01-01/A.jpg' } }),
  );
  assert.deepEqual(
    manifest.recordsOf('a').map((kept) => kept.path),
    ['2024-01-05/A.jpg'],
  );
  assert.equal(manifest.ownerOf('2024-01-01/A.jpg'), undefined);
  assert.deepEqual(
    manifest.recordsOfPhoto('AF1Qipa').map((kept) => kept.path),
    ['2024-01-05/A.jpg'],
  );
  await manifest.close();
});
