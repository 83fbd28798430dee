/** Black-box: `photo-backup --demo` as a newcomer runs it, twice, and `--dry-run` writing nothing. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateItems } from '../src/emulator/items.ts';
import { runCli } from './helpers/cli.ts';

const SAMPLE = path.resolve('test/fixtures/sample-takeout');

let root: string;
before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'photo-backup-demo-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)));
}

/** Everything under `dir`, folders included, relative. */
async function everything(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).sort();
}

describe('--demo', () => {
  test("--source drive: the Takeout export in the emulator's Drive, read in place; a rerun saves nothing", async () => {
    const cwd = path.join(root, 'drive');
    await mkdir(cwd);
    const first = await runCli(['--demo', '--source', 'drive'], { cwd });
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stderr + first.stdout, /two-part Takeout export in its Drive folder "Takeout"/);
    const saved = (await filesUnder(path.join(cwd, 'photos-demo'))).filter(
      (file) => !file.startsWith('.photo-backup'),
    );
    assert.ok(saved.length > 10, saved.join(', '));
    const again = await runCli(['--demo', '--source', 'drive'], { cwd });
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout + again.stderr, /Saved 0 file\(s\)/);
    // The same export all day: its finished parts are not read again, and it is named safe to delete.
    assert.match(again.stdout + again.stderr, /2 Takeout part\(s\) finished for \d{4} by an earlier run/);
    assert.match(
      again.stdout + again.stderr,
      /Takeout export \d{8}T000000Z in Google Drive .* fully processed/,
    );
    // Same-named photos are numbered in the export as Takeout does: every item is saved, none dropped.
    assert.doesNotMatch(first.stdout + first.stderr, /twice; the first is used/);
  });

  test('saves into photos-demo, no date in the future; a second run stops by the skip rule', async () => {
    const cwd = path.join(root, 'twice');
    await mkdir(cwd);
    const started = Date.now();
    const first = await runCli(['--demo'], { cwd });
    assert.equal(first.code, 0, first.stderr);
    const folder = path.join(cwd, 'photos-demo');
    const saved = (await filesUnder(folder)).filter((file) => !file.startsWith('.photo-backup'));
    assert.ok(saved.length > 40, `saved ${saved.length}`);
    const today = new Date(started).toISOString().slice(0, 10);
    for (const file of saved) {
      const day = file.split(path.sep)[0] as string;
      assert.ok(day <= today, `${file} is dated after today (${today})`);
      const { mtimeMs } = await stat(path.join(folder, file));
      assert.ok(mtimeMs <= Date.now(), `${file} has a capture time in the future`);
    }

    const second = await runCli(['--demo'], { cwd });
    assert.equal(second.code, 0, second.stderr);
    const said = second.stdout + second.stderr;
    assert.match(said, /Saved 0 file\(s\)/);
    assert.match(said, /skipped 6 already saved/);
    assert.match(said, /Stopped after 6 files in a row were already saved/);
    const again = (await filesUnder(folder)).filter((file) => !file.startsWith('.photo-backup'));
    assert.deepEqual(again.sort(), saved.sort());
  });

  test('.gitignore lists the folder the demo writes, so a demo in the clone is never committed', async () => {
    const ignored = (await readFile(path.resolve('.gitignore'), 'utf8')).split('\n');
    assert.ok(ignored.includes('/photos-demo/'), ignored.join(', '));
  });
});

describe('generateItems notAfter', () => {
  const cases = [
    { name: 'early December', now: Date.UTC(2026, 11, 2, 16, 0), year: 2026 },
    { name: '1 January, before a whole day has passed', now: Date.UTC(2026, 0, 1, 0, 30), year: 2026 },
    { name: 'a past year is the whole year', now: Date.UTC(2026, 5, 1), year: 2024 },
  ];
  for (const { name, now, year } of cases)
    test(name, () => {
      const items = generateItems({ year, count: 48, videoEvery: 8, notAfter: now });
      assert.equal(items.length, 48);
      for (const item of items) {
        const at = Date.parse(item.creationTime);
        assert.ok(at <= now, `${item.filename} at ${item.creationTime}`);
        assert.equal(new Date(at).getUTCFullYear(), year);
      }
    });
  test('the same day gives the same items (a second demo run that day finds them saved)', () => {
    const morning = generateItems({ year: 2026, count: 48, notAfter: Date.UTC(2026, 11, 2, 8) });
    const evening = generateItems({ year: 2026, count: 48, notAfter: Date.UTC(2026, 11, 2, 20) });
    assert.deepEqual(evening, morning);
  });
});

describe('--dry-run writes nothing', () => {
  const cases = [
    { name: 'a Takeout path that does not exist', args: ['--takeout', 'missing.zip'], code: 2 },
    { name: 'the sample Takeout', args: ['--takeout', SAMPLE], code: 0 },
    { name: 'the demo', args: ['--demo'], code: 0 },
  ];
  for (const { name, args, code } of cases) {
    test(`${name}: no folder, record or lock (exit ${code})`, async () => {
      const cwd = await mkdtemp(path.join(root, 'dry-'));
      const run = await runCli(['2024', 'photos', ...args, '--dry-run'], { cwd });
      assert.equal(run.code, code, run.stderr);
      assert.deepEqual(await everything(cwd), []);
    });
    test(`${name}, into a folder that exists: nothing added (exit ${code})`, async () => {
      const cwd = await mkdtemp(path.join(root, 'dry-'));
      await mkdir(path.join(cwd, 'photos'));
      const run = await runCli(['2024', 'photos', ...args, '--dry-run'], { cwd });
      assert.equal(run.code, code, run.stderr);
      assert.deepEqual(await everything(cwd), ['photos']);
    });
  }
});
