/** The package as people get it: a clone before any build, and what package.json promises. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

test('a clone with no dist/ yet (no build step) runs the source: --demo saves photos', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pb-clone-'));
  try {
    // bin/ as in the clone, the source and node_modules linked in, and no dist/.
    await mkdir(path.join(dir, 'bin'));
    await copyFile(path.join(ROOT, 'bin', 'photo-backup.js'), path.join(dir, 'bin', 'photo-backup.js'));
    for (const name of ['src', 'node_modules', 'package.json'])
      await symlink(path.join(ROOT, name), path.join(dir, name));
    await mkdir(path.join(dir, 'work'));
    const run = spawnSync(process.execPath, [path.join(dir, 'bin', 'photo-backup.js'), '2024', '--demo'], {
      cwd: path.join(dir, 'work'),
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TZ: 'UTC' },
    });
    assert.equal(run.status, 0, run.stderr);
    const days = await readdir(path.join(dir, 'work', 'photos-demo'));
    assert.ok(days.filter((day) => day.startsWith('2024-')).length > 10, days.join(', '));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('package.json: a free npm name, the photo-backup command, built at pack time, not at install', async () => {
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
    name: string;
    bin: Record<string, string>;
    scripts: Record<string, string>;
    repository?: { url: string };
    homepage?: string;
    bugs?: { url: string };
    keywords?: string[];
    author?: string;
  };
  // `photo-backup` on npm is an unrelated package.
  assert.equal(pkg.name, 'photos-year-backup');
  assert.deepEqual(pkg.bin, { 'photo-backup': 'bin/photo-backup.js' });
  assert.equal(pkg.scripts.prepare, undefined, 'no build when the package is installed');
  assert.equal(pkg.scripts.prepack, 'npm run build');
  for (const field of ['repository', 'homepage', 'bugs', 'keywords', 'author'] as const)
    assert.ok(pkg[field], field);
});

test('the README names the package for npx and npm install -g, and photo-backup in a clone', async () => {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  assert.match(readme, /npx photos-year-backup 2024/);
  assert.match(readme, /npm install -g photos-year-backup/);
  assert.match(readme, /npx photo-backup --demo/);
});
