import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import {
  decideSidecar,
  type ExistingSidecar,
  inspectSidecar,
  type SidecarDecision,
  sidecarHash,
  sidecarPathFor,
  writeSidecar,
} from '../../src/metadata/sidecar-file.ts';
import { buildXmpPacket } from '../../src/metadata/xmp.ts';
import { FULL_FACTS as full, tempFolder } from '../helpers/xmp.ts';

const OURS = 'a'.repeat(64);
const NEXT = 'b'.repeat(64);
const OTHER = 'c'.repeat(64);
const file = (sha256: string): ExistingSidecar => ({ kind: 'file', sha256 });

for (const { name, existing, recorded, expected } of [
  {
    name: 'no file, never written',
    existing: { kind: 'absent' },
    recorded: undefined,
    expected: { action: 'write', reason: 'new' },
  },
  {
    name: 'no file, written before (deleted)',
    existing: { kind: 'absent' },
    recorded: OURS,
    expected: { action: 'write', reason: 'missing' },
  },
  {
    name: 'ours, unchanged since, new facts',
    existing: file(OURS),
    recorded: OURS,
    expected: { action: 'write', reason: 'changed' },
  },
  {
    name: 'ours, same facts',
    existing: file(NEXT),
    recorded: NEXT,
    expected: { action: 'skip', reason: 'unchanged' },
  },
  {
    name: 'already the new bytes, record older',
    existing: file(NEXT),
    recorded: OURS,
    expected: { action: 'skip', reason: 'unchanged' },
  },
  {
    name: 'already the new bytes, not recorded',
    existing: file(NEXT),
    recorded: undefined,
    expected: { action: 'skip', reason: 'unchanged' },
  },
  {
    name: 'edited by the user',
    existing: file(OTHER),
    recorded: OURS,
    expected: { action: 'keep', reason: 'edited' },
  },
  {
    name: 'written by another program',
    existing: file(OTHER),
    recorded: undefined,
    expected: { action: 'keep', reason: 'not-ours' },
  },
  {
    name: 'ours, emptied (a power cut before its bytes reached the disk)',
    existing: { kind: 'file', sha256: OTHER, damaged: 'empty' },
    recorded: OURS,
    expected: { action: 'write', reason: 'damaged' },
  },
  {
    name: 'empty, never recorded',
    existing: { kind: 'file', sha256: OTHER, damaged: 'empty' },
    recorded: undefined,
    expected: { action: 'write', reason: 'damaged' },
  },
  {
    name: 'ours, cut short (no whole XMP packet)',
    existing: { kind: 'file', sha256: OTHER, damaged: 'torn' },
    recorded: OURS,
    expected: { action: 'write', reason: 'damaged' },
  },
  {
    name: 'cut short, never recorded (another program is writing it)',
    existing: { kind: 'file', sha256: OTHER, damaged: 'torn' },
    recorded: undefined,
    expected: { action: 'keep', reason: 'not-ours' },
  },
  {
    name: 'a link or folder in its place',
    existing: { kind: 'not-a-file' },
    recorded: OURS,
    expected: { action: 'keep', reason: 'not-a-file' },
  },
] satisfies {
  name: string;
  existing: ExistingSidecar;
  recorded: string | undefined;
  expected: SidecarDecision;
}[]) {
  test(`sidecar decision: ${name} → ${expected.action} (${expected.reason})`, () =>
    assert.deepEqual(decideSidecar({ existing, ...(recorded ? { recorded } : {}), next: NEXT }), expected));
}

test('writeSidecar puts <file name>.xmp beside the media, replaces it whole, and leaves no temporary file', async (t) => {
  const dir = await tempFolder(t);
  await mkdir(path.join(dir, '2024-03-17'));
  const target = sidecarPathFor(path.join(dir, '2024-03-17', 'IMG_0042.jpg'));
  assert.equal(target, path.join(dir, '2024-03-17', 'IMG_0042.jpg.xmp'));
  for (const facts of [full, { ...full, description: 'Ünïcode ✓' }]) {
    const content = buildXmpPacket(facts);
    writeSidecar(target, Buffer.from(content, 'utf8'), { fsync: facts === full });
    const bytes = await readFile(target);
    assert.equal(bytes.toString('utf8'), content);
    assert.deepEqual(inspectSidecar(target), { kind: 'file', sha256: sidecarHash(content) });
  }
  assert.deepEqual(await readdir(path.join(dir, '2024-03-17')), ['IMG_0042.jpg.xmp']);
});

test('writeSidecar removes its temporary file when the rename fails', async (t) => {
  const dir = await tempFolder(t);
  const target = path.join(dir, 'IMG_1.jpg.xmp');
  await mkdir(target);
  await writeFile(path.join(target, 'inside'), 'x');
  assert.throws(() => writeSidecar(target, Buffer.from(buildXmpPacket(full), 'utf8')));
  assert.deepEqual(await readdir(dir), ['IMG_1.jpg.xmp']);
});

test('inspectSidecar: absent, a plain file, and a link or folder (never read through)', async (t) => {
  const dir = await tempFolder(t);
  assert.deepEqual(inspectSidecar(path.join(dir, 'none.jpg.xmp')), { kind: 'absent' });
  await writeFile(path.join(dir, 'outside.xmp'), 'theirs');
  await symlink(path.join(dir, 'outside.xmp'), path.join(dir, 'link.jpg.xmp'));
  assert.deepEqual(inspectSidecar(path.join(dir, 'link.jpg.xmp')), { kind: 'not-a-file' });
  await mkdir(path.join(dir, 'folder.jpg.xmp'));
  assert.deepEqual(inspectSidecar(path.join(dir, 'folder.jpg.xmp')), { kind: 'not-a-file' });
  await writeFile(path.join(dir, 'empty.jpg.xmp'), '');
  assert.deepEqual(inspectSidecar(path.join(dir, 'empty.jpg.xmp')), {
    kind: 'file',
    sha256: sidecarHash(''),
    damaged: 'empty',
  });
  const torn = buildXmpPacket(full).slice(0, 200);
  await writeFile(path.join(dir, 'torn.jpg.xmp'), torn);
  assert.deepEqual(inspectSidecar(path.join(dir, 'torn.jpg.xmp')), {
    kind: 'file',
    sha256: sidecarHash(torn),
    damaged: 'torn',
  });
});
