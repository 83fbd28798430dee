/**
 * Black-box: the record (.photo-backup/saved.jsonl) and the environment are input. Damaged or
 * planted lines are ignored with one warning, never written through; an unreadable record, a
 * backup folder that is a dangling link, an empty folder argument and a closed stderr are each
 * one clear ending, never "hit a bug".
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { access, lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { BIN, runCli } from './helpers/cli.ts';

const SAMPLE = path.join(path.dirname(BIN), '..', 'test', 'fixtures', 'sample-takeout');
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pb-record-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const line = (id: string, recorded: string) =>
  `${JSON.stringify({ id: `takeout:Photos from 2024/${id}`, path: recorded, size: 1, source: 'takeout', savedAt: '2024-01-01T00:00:00.000Z' })}\n`;

test('planted record lines pointing outside (../, absolute) are ignored with one warning; the outside files are untouched', async () => {
  const outside = path.join(dir, 'outside.jpg');
  const absolute = path.join(dir, 'absolute.jpg');
  await writeFile(outside, 'precious');
  await writeFile(absolute, 'precious too');
  await mkdir(path.join(dir, 'out', '.photo-backup'), { recursive: true });
  await writeFile(
    path.join(dir, 'out', '.photo-backup', 'saved.jsonl'),
    `${line('DSC_0001.jpg', '../outside.jpg')}${line('IMG_0777.jpg', absolute)}${line('IMG_0500.jpg', '.photo-backup/lock')}{"id":"torn`,
  );
  const result = await runCli(['2024', 'out', '--takeout', SAMPLE], { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  const output = result.stdout + result.stderr;
  assert.equal(output.match(/Ignored 4 damaged line\(s\)/g)?.length, 1, output);
  assert.equal(await readFile(outside, 'utf8'), 'precious');
  assert.equal(await readFile(absolute, 'utf8'), 'precious too');
  // The items the planted lines named are saved where they belong.
  await access(path.join(dir, 'out', '2024-12-24', 'DSC_0001.jpg'));
  await access(path.join(dir, 'out', '2024-08-03', 'IMG_0777.jpg'));
  await access(path.join(dir, 'out', '2024-09-10', 'IMG_0500.jpg'));
});

test('a record that cannot be read (a folder in its place): exit 2 naming it, no stack, the lock released', async () => {
  const journal = path.join(dir, 'out', '.photo-backup', 'saved.jsonl');
  await mkdir(journal, { recursive: true });
  const result = await runCli(['2024', 'out', '--takeout', SAMPLE], { cwd: dir });
  assert.equal(result.code, 2, result.stderr);
  assert.match(
    result.stderr,
    /Cannot read the record of what was saved, .*saved\.jsonl \(EISDIR\)\. Move it aside/,
  );
  assert.doesNotMatch(result.stderr, /hit a bug|\n\s+at /);
  await assert.rejects(access(path.join(dir, 'out', '.photo-backup', 'lock')), 'the lock is released');
});

test('a record that is a link (it could lead anywhere): exit 2, nothing appended through it', async () => {
  const elsewhere = path.join(dir, 'elsewhere.jsonl');
  await writeFile(elsewhere, '');
  await mkdir(path.join(dir, 'out', '.photo-backup'), { recursive: true });
  await symlink(elsewhere, path.join(dir, 'out', '.photo-backup', 'saved.jsonl'));
  const result = await runCli(['2024', 'out', '--takeout', SAMPLE], { cwd: dir });
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /saved\.jsonl \(a link\)/);
  assert.equal(await readFile(elsewhere, 'utf8'), '');
});

test('the backup folder is a dangling link (a disk not mounted): exit 2 naming it and what to do', async () => {
  await symlink(path.join(dir, 'usb-disk'), path.join(dir, 'out'));
  const result = await runCli(['2024', 'out', '--takeout', SAMPLE], { cwd: dir });
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /out is a link to .*usb-disk, which does not exist \(a disk not mounted\?\)/);
  assert.doesNotMatch(result.stderr, /hit a bug|\n\s+at /);
  await assert.rejects(access(path.join(dir, 'usb-disk')), 'nothing made in its place');
});

// Regression: Node's recursive mkdir retried forever under /proc (mkdir answers ENOENT there with the
// parent present), and said ENOENT, not EROFS, on a read-only disk ("hit a bug").
test('a backup folder whose parent cannot take folders (/proc/…): exit 2 at once, naming it', async () => {
  const wanted = `/proc/pb-no-such-${process.pid}/photos`;
  const result = await runCli(['2024', wanted, '--takeout', SAMPLE], { cwd: dir, timeoutMs: 30_000 });
  assert.equal(result.signal, null, 'ended on its own, not killed by the guard');
  assert.equal(result.code, 2, result.stderr);
  assert.match(
    result.stderr,
    new RegExp(
      `Cannot create the backup folder ${wanted}: /proc does not take new folders .*Give a folder on a disk you can write to`,
    ),
  );
  assert.doesNotMatch(result.stderr, /hit a bug|\n\s+at /);
});

test('a backup folder under a file (ENOTDIR): exit 2 naming the file in the way', async () => {
  await writeFile(path.join(dir, 'a-file'), 'not a folder');
  const result = await runCli(['2024', 'a-file/x/photos', '--takeout', SAMPLE], { cwd: dir });
  assert.equal(result.code, 2, result.stderr);
  assert.match(
    result.stderr,
    /Cannot create the backup folder .*a-file\/x\/photos: .*a-file is a file, not a folder/,
  );
  assert.equal(await readFile(path.join(dir, 'a-file'), 'utf8'), 'not a folder');
});

test('a new backup folder under a read-only disk (a ro tmpfs, root only): exit 2 naming the level', async (t) => {
  const readOnly = path.join(dir, 'ro');
  await mkdir(readOnly);
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', readOnly]).status !== 0)
    return t.skip('cannot mount a read-only tmpfs here (needs root)');
  try {
    const result = await runCli(['2024', 'ro/new/photos', '--takeout', SAMPLE], {
      cwd: dir,
      timeoutMs: 30_000,
    });
    assert.equal(result.code, 2, result.stderr);
    assert.match(
      result.stderr,
      /Cannot create the backup folder .*ro\/new\/photos: .*ro\/new cannot be made there \(EROFS, a read-only or protected place\)/,
    );
    assert.doesNotMatch(result.stderr, /hit a bug|\n\s+at /);
  } finally {
    spawnSync('umount', [readOnly]);
  }
});

test('an empty folder argument (photo-backup 2024 "") is exit 2, nothing saved into the working folder', async () => {
  const result = await runCli(['2024', '', '--takeout', SAMPLE], { cwd: dir });
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /The folder argument is empty/);
  await assert.rejects(access(path.join(dir, '.photo-backup')));
});

test('stderr piped into a reader that closes early (2>&1 | head -1) ends the run quietly, not with an uncaught EPIPE', async () => {
  // --json: the human lines go to stderr, which closes after its first line.
  const child = spawn(process.execPath, [BIN, '2024', 'out', '--demo', '--json'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TZ: 'UTC' },
  });
  child.stderr.once('data', () => child.stderr.destroy());
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.ok(code === 0 || code === 130, `exit ${code}`);
});

test('a day folder that is a link leading outside is not written through: that day fails naming the link, the rest is saved', async () => {
  const elsewhere = path.join(dir, 'elsewhere');
  await mkdir(elsewhere);
  await mkdir(path.join(dir, 'out'));
  await symlink(elsewhere, path.join(dir, 'out', '2024-12-24'));
  const result = await runCli(['2024', 'out', '--takeout', SAMPLE], { cwd: dir });
  assert.equal(result.code, 1, result.stderr);
  const output = result.stdout + result.stderr;
  assert.match(output, /2024-12-24 in the backup folder is a link to .*elsewhere, outside the backup folder/);
  assert.doesNotMatch(output, /hit a bug|\n\s+at /);
  assert.deepEqual(await readdir(elsewhere), []);
  await access(path.join(dir, 'out', '2024-08-03', 'IMG_0777.jpg'));
});

test('a state folder that is a link leading outside: exit 2, no lock, record or .part written through it', async () => {
  const elsewhere = path.join(dir, 'elsewhere');
  await mkdir(elsewhere);
  await mkdir(path.join(dir, 'out'));
  await symlink(elsewhere, path.join(dir, 'out', '.photo-backup'));
  const result = await runCli(['2024', 'out', '--takeout', SAMPLE], { cwd: dir });
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /\.photo-backup in the backup folder is a link to .*elsewhere/);
  assert.deepEqual(await readdir(elsewhere), []);
});

const SAMPLE_PHOTO = path.join(SAMPLE, 'Takeout', 'Google Photos', 'Photos from 2024', 'DSC_0001.jpg');

/** The real files (not links) of a day folder, with their bytes. */
async function realFiles(day: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const name of await readdir(day)) {
    const full = path.join(day, name);
    if (!(await lstat(full)).isSymbolicLink()) files.set(name, await readFile(full));
  }
  return files;
}

// Regression: a planted link with the photo's name and size counted as "already saved" through
// its target, so the photo was in the backup nowhere.
test('a file in a day folder that is a link to a copy outside is not taken for the saved photo: saved beside it, the link left alone', async () => {
  const photo = await readFile(SAMPLE_PHOTO);
  const outside = path.join(dir, 'outside.jpg');
  await writeFile(outside, photo);
  const day = path.join(dir, 'out', '2024-12-24');
  await mkdir(day, { recursive: true });
  await symlink(outside, path.join(day, 'DSC_0001.jpg'));
  const result = await runCli(['2024', 'out', '--takeout', SAMPLE], { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  const output = result.stdout + result.stderr;
  assert.match(
    output,
    /2024-12-24\/DSC_0001\.jpg in the backup folder is a link to .*outside\.jpg, not a file/,
  );
  assert.ok((await lstat(path.join(day, 'DSC_0001.jpg'))).isSymbolicLink(), 'the link is left alone');
  const saved = [...(await realFiles(day))].filter(([, bytes]) => bytes.equals(photo));
  assert.equal(saved.length, 1, 'the photo is in the backup as a real file');
  assert.match(saved[0]?.[0] ?? '', /^DSC_0001~[0-9a-f]{8}\.jpg$/);
  // The next run knows it as saved, and says nothing more about the link.
  const again = await runCli(['2024', 'out', '--takeout', SAMPLE], { cwd: dir });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout + again.stderr, /Saved 0 file\(s\)/);
  assert.doesNotMatch(again.stdout + again.stderr, /is a link to/);
  assert.equal([...(await realFiles(day))].filter(([, bytes]) => bytes.equals(photo)).length, 1);
});

test('a saved photo replaced by a link (to /etc/passwd-like data of its size) is not "already saved": saved again beside it, nothing written through', async () => {
  const photo = await readFile(SAMPLE_PHOTO);
  const first = await runCli(['2024', 'out', '--takeout', SAMPLE], { cwd: dir });
  assert.equal(first.code, 0, first.stderr);
  const day = path.join(dir, 'out', '2024-12-24');
  const planted = Buffer.alloc(photo.length, 'x');
  const outside = path.join(dir, 'passwd');
  await writeFile(outside, planted);
  await rm(path.join(day, 'DSC_0001.jpg'));
  await symlink(outside, path.join(day, 'DSC_0001.jpg'));
  const result = await runCli(['2024', 'out', '--takeout', SAMPLE], { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout + result.stderr,
    /2024-12-24\/DSC_0001\.jpg in the backup folder is a link to .*passwd, not a file/,
  );
  assert.deepEqual(await readFile(outside), planted, 'nothing written through the link');
  assert.ok((await lstat(path.join(day, 'DSC_0001.jpg'))).isSymbolicLink());
  assert.equal([...(await realFiles(day))].filter(([, bytes]) => bytes.equals(photo)).length, 1);
});
