/** The time zone taken from the environment: TZ empty, a zone name, or a POSIX rule. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BackupError } from '../src/errors.ts';
import { resolveTimeZone, zoneFromTzVariable } from '../src/timezone.ts';
import { BIN, runCli } from './helpers/cli.ts';

const accepted: { tz: string | undefined; expected: string | undefined }[] = [
  { tz: undefined, expected: undefined },
  { tz: '', expected: undefined },
  { tz: '  ', expected: undefined },
  { tz: 'Europe/Berlin', expected: 'Europe/Berlin' },
  { tz: ':Europe/Berlin', expected: 'Europe/Berlin' },
  { tz: ':/usr/share/zoneinfo/America/New_York', expected: 'America/New_York' },
  { tz: 'UTC', expected: 'UTC' },
  { tz: 'Etc/UTC', expected: 'UTC' },
  { tz: ':/usr/share/zoneinfo/Etc/UTC', expected: 'UTC' },
  { tz: 'GMT', expected: 'UTC' },
  { tz: 'Etc/GMT', expected: 'UTC' },
  { tz: 'UTC0', expected: 'UTC' },
  { tz: 'GMT0', expected: 'UTC' },
  { tz: 'JST-9', expected: 'Etc/GMT-9' },
  { tz: '<+0530>-5', expected: 'Etc/GMT-5' },
  { tz: 'EST5', expected: 'Etc/GMT+5' },
  { tz: 'EST5EDT', expected: 'America/New_York' },
];

for (const { tz, expected } of accepted) {
  test(`TZ=${JSON.stringify(tz)} is the zone ${expected ?? 'of the system'}`, () => {
    assert.equal(zoneFromTzVariable(tz), expected);
  });
}

// The UTC names are answered without ICU (its first use is slow): they must be what ICU says.
test('each TZ name taken for UTC without ICU is one ICU calls UTC', () => {
  for (const tz of ['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT', 'GMT0'])
    assert.equal(new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone, 'UTC');
});

for (const tz of ['CET-1CEST,M3.5.0,M10.5.0/3', 'AEST-10AEDT,M10.1.0,M4.1.0/3', 'Mars/Olympus', 'IST-5:30']) {
  test(`TZ=${JSON.stringify(tz)} is refused with a message asking for a zone name`, () => {
    assert.throws(
      () => zoneFromTzVariable(tz),
      (error: unknown) =>
        error instanceof BackupError &&
        error.exitCode === 2 &&
        error.message.includes(`"${tz}"`) &&
        error.message.includes('--timezone Europe/Berlin'),
    );
  });
}

// Regression: TZ set but empty made the local zone "Etc/Unknown", a RangeError in every date.
test('--timezone local with TZ empty is the system zone, a name every date function takes', () => {
  const zone = resolveTimeZone('local', '');
  assert.notEqual(zone, 'Etc/Unknown');
  assert.doesNotThrow(() => new Intl.DateTimeFormat('en', { timeZone: zone }));
});

test('an explicit --timezone is used whatever TZ says', () => {
  assert.equal(resolveTimeZone('Asia/Tokyo', 'CET-1CEST,M3.5.0,M10.5.0/3'), 'Asia/Tokyo');
  assert.equal(resolveTimeZone('utc', 'CET-1CEST,M3.5.0,M10.5.0/3'), 'UTC');
});

// ---------------------------------------------------------------------------------------------
// Through the built CLI, for each source

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pb-tz-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sample = path.join(path.dirname(BIN), '..', 'test', 'fixtures', 'sample-takeout');
const sources: { name: string; args: string[] }[] = [
  { name: 'library (--demo)', args: ['--demo'] },
  { name: 'picker (--demo --source picker)', args: ['--demo', '--source', 'picker'] },
  { name: 'takeout', args: ['--takeout', sample] },
];

async function dayFolders(folder: string): Promise<string[]> {
  return (await readdir(folder)).filter((name) => name !== '.photo-backup').sort();
}

let case_ = 0;
const run = (args: string[], env: NodeJS.ProcessEnv) => {
  const folder = path.join(dir, `out-${++case_}`);
  return runCli(['2024', folder, ...args], { cwd: dir, env }).then((result) => ({ ...result, folder }));
};

for (const source of sources) {
  // Regression: TZ='' (docker-compose `TZ=${TZ}` with the host variable unset) crashed with exit 70,
  // or named a zone "Etc/Unknown" the user never typed.
  test(`${source.name} with TZ set but empty: the same day folders as with TZ unset`, async () => {
    const empty = await run(source.args, { TZ: '' });
    assert.equal(empty.code, 0, empty.stderr + empty.stdout);
    assert.doesNotMatch(empty.stderr + empty.stdout, /Etc\/Unknown|hit a bug/);
    const unset = await run(source.args, { TZ: undefined });
    assert.equal(unset.code, 0, unset.stderr);
    assert.deepEqual(await dayFolders(empty.folder), await dayFolders(unset.folder));
    assert.ok((await dayFolders(empty.folder)).length > 0);
  });

  // Regression: a POSIX TZ rule silently gave UTC day folders.
  test(`${source.name} with a POSIX TZ rule: exit 2 asking for --timezone, nothing written`, async () => {
    const posix = await run(source.args, { TZ: 'CET-1CEST,M3.5.0,M10.5.0/3' });
    assert.equal(posix.code, 2, posix.stderr + posix.stdout);
    assert.match(
      posix.stderr,
      /TZ environment variable is "CET-1CEST,M3\.5\.0,M10\.5\.0\/3".*--timezone Europe\/Berlin/,
    );
    assert.equal(existsSync(posix.folder), false);
    const named = await run([...source.args, '--timezone', 'Europe/Berlin'], {
      TZ: 'CET-1CEST,M3.5.0,M10.5.0/3',
    });
    assert.equal(named.code, 0, named.stderr);
    const berlin = await run(source.args, { TZ: 'Europe/Berlin' });
    assert.deepEqual(await dayFolders(named.folder), await dayFolders(berlin.folder));
  });
}
