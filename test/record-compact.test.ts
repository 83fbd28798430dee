import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Manifest, parseJournal, type SavedRecord } from '../src/manifest.ts';
import { recordFacts } from '../src/plan.ts';
import {
  HashKeyedMap,
  packCrc,
  packHash,
  packTimestamp,
  stringHash,
  unpackCrc,
  unpackHash,
} from '../src/record-compact.ts';

test('a sha256 packed to its 32 bytes reads back as the same hex; any other string as it was', () => {
  for (const text of [
    '',
    'a',
    'abc',
    '0'.repeat(64),
    'f'.repeat(64),
    'F'.repeat(64),
    `${'0'.repeat(63)}g`,
    'é'.repeat(31),
  ]) {
    assert.equal(unpackHash(packHash(text)), text, JSON.stringify(text));
  }
  for (let index = 0; index < 200; index++) {
    const hex = createHash('sha256').update(String(index)).digest('hex');
    const packed = packHash(hex);
    assert.equal(packed.length, 32);
    assert.equal(unpackHash(packed), hex);
  }
  // Equal hashes pack equal, different ones differently (a map key as good as the hex).
  const a = createHash('sha256').update('a').digest('hex');
  const b = createHash('sha256').update('b').digest('hex');
  assert.equal(packHash(a), packHash(`${a}`));
  assert.notEqual(packHash(a), packHash(b));
  // A hex string kept as it was never equals a packed one.
  assert.notEqual(packHash(a.toUpperCase()), packHash(a));
});

test('CRC-32s packed as signed small integers read back unsigned; timestamps as numbers only where the string reads back', () => {
  for (const crc of [0, 1, 0x3fffffff, 0x40000000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]) {
    assert.equal(unpackCrc(packCrc(crc)), crc);
    assert.ok(packCrc(crc) >= -0x80000000 && packCrc(crc) <= 0x7fffffff);
  }
  assert.equal(packTimestamp('1718000000'), 1718000000);
  assert.equal(packTimestamp('0'), 0);
  for (const text of ['', '01', '-5', '1.5', '1e9', ' 1', '2147483648', '99999999999', 'x'])
    assert.equal(packTimestamp(text), undefined, text);
  assert.equal(packTimestamp('2147483647'), 2147483647);
});

test('HashKeyedMap: lookups by key through the hash, two keys of one hash told apart, deletes of either', () => {
  interface Held {
    key: string;
    value: number;
  }
  for (const hash of [stringHash, () => 7]) {
    const map = new HashKeyedMap<Held>((held) => held.key, hash);
    const a = { key: 'a', value: 1 };
    const b = { key: 'b', value: 2 };
    const c = { key: 'c', value: 3 };
    map.set('a', a);
    map.set('b', b);
    assert.equal(map.get('a'), a);
    assert.equal(map.get('b'), b);
    assert.equal(map.get('c'), undefined);
    assert.equal(map.delete('c'), false);
    map.set('c', c);
    const a2 = { key: 'a', value: 4 };
    map.set('a', a2);
    assert.equal(map.get('a'), a2, 'a key set again replaces its value');
    assert.equal(map.size, 3);
    assert.equal(map.delete('b'), true);
    assert.equal(map.get('b'), undefined);
    assert.equal(map.get('c'), c);
    assert.equal(map.delete('a'), true);
    assert.equal(map.delete('a'), false);
    assert.equal(map.get('c'), c);
    assert.equal(map.delete('c'), true);
    assert.equal(map.size, 0);
    map.set('b', b);
    assert.equal(map.get('b'), b);
  }
});

test('a kept record reads back every field as its line held it: packed hashes, CRC-32s above 2^31, taken time, title', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'record-compact-'));
  try {
    const sha256 = createHash('sha256').update('photo').digest('hex');
    const xmpSha256 = createHash('sha256').update('xmp').digest('hex');
    const base = { size: 5, source: 'takeout', savedAt: '2024-06-01T00:00:00.000Z' };
    const lines: SavedRecord[] = [
      {
        ...base,
        id: 'takeout:a',
        path: '2024-06-01/IMG_1.jpg',
        sha256,
        xmpSha256,
        evidence: {
          crc32: 0xfedcba98,
          takenTime: '1717200000',
          title: 'IMG_1.jpg',
          photoId: 'AF1QipA',
          sidecarFacts: 0x80000001,
          exportedAt: '2024-07-01T00:00:00.000Z',
        },
      },
      // Fields that are not packed: a title other than the file name, a taken time with a leading zero.
      {
        ...base,
        id: 'takeout:b',
        path: '2024-06-01/IMG_2.jpg',
        evidence: { takenTime: '0123', title: 'other.jpg' },
      },
      // No evidence at all, and an empty one.
      { ...base, id: 'g1', path: '2024-06-01/G.jpg', sha256: 'not a hash' },
      { ...base, id: 'takeout:e', path: '2024-06-01/E.jpg', evidence: {} },
      { ...base, id: 'takeout:c', path: '2024-06-02/C.jpg', copyOf: '2024-06-01/IMG_1.jpg', sha256 },
      // A path whose file name is the id's last part (held once, by the id), and one that is not.
      {
        ...base,
        id: 'takeout:Photos from 2024/IMG_9.jpg',
        path: '2024-06-03/IMG_9.jpg',
        evidence: { title: 'IMG_9.jpg' },
      },
      { ...base, id: 'takeout:Photos from 2024/IMG_8.jpg', path: '2024-06-03/IMG_8(1).jpg' },
    ];
    // A line written by hand: evidence fields of other types are kept as they were.
    const odd = {
      ...base,
      id: 'takeout:d',
      path: '2024-06-01/D.jpg',
      evidence: { crc32: -5, takenTime: 17, title: true },
    } as unknown as SavedRecord;
    const check = (manifest: Manifest) => {
      for (const line of [...lines, odd]) {
        const kept = manifest.recordsOf(line.id).at(-1);
        assert.ok(kept, line.id);
        assert.equal(kept.path, line.path, line.id);
        assert.equal(kept.size, line.size, line.id);
        assert.equal(kept.sha256, line.sha256, line.id);
        assert.equal(kept.xmpSha256, line.xmpSha256, line.id);
        assert.equal(kept.copyOf, line.copyOf, line.id);
        assert.equal(kept.hasEvidence, line.evidence !== undefined, line.id);
        assert.deepEqual(recordFacts(kept), recordFacts(line), line.id);
        const evidence = line.evidence as Record<string, unknown> | undefined;
        if (evidence === undefined) assert.equal(kept.evidence, undefined);
        else
          for (const field of ['crc32', 'takenTime', 'title', 'photoId', 'sidecarFacts', 'exportedAt'])
            assert.equal(
              (kept.evidence as Record<string, unknown>)[field],
              evidence[field],
              `${line.id} ${field}`,
            );
      }
      assert.equal(
        manifest.pathWithContent(5, sha256),
        '2024-06-01/IMG_1.jpg',
        'copies are not the content index',
      );
      assert.equal(manifest.pathWithContent(6, sha256), undefined);
      assert.equal(manifest.ownerOf('2024-06-01/img_1.JPG'), 'takeout:a');
      assert.equal(manifest.ownerOf('2024-06-02/C.jpg'), undefined, 'a copy owns no path');
      assert.deepEqual(
        manifest.recordsOfPhoto('AF1QipA').map((kept) => kept.id),
        ['takeout:a'],
      );
    };
    const manifest = await Manifest.load(dir);
    for (const line of lines) await manifest.record(line);
    await manifest.record(odd);
    check(manifest);
    await manifest.close();
    check(await Manifest.load(dir));
    // The line on disk is as it was given.
    const journal = parseJournal(await readFile(path.join(dir, '.photo-backup', 'saved.jsonl'), 'utf8'));
    assert.deepEqual(journal.records[0], lines[0]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
