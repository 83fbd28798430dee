/** Pure: Takeout part names read, and Drive files grouped into exports oldest first. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGoogleError } from '../../../src/http.ts';
import type { DriveFileInfo } from '../../../src/sources/drive/api.ts';
import { groupTakeoutExports } from '../../../src/sources/drive/exports.ts';
import { parseTakeoutPartName } from '../../../src/sources/takeout/part-names.ts';

for (const { name, expected } of [
  {
    name: 'takeout-20260115T101530Z-001.zip',
    expected: { timestamp: '20260115T101530Z', time: '2026-01-15T10:15:30.000Z', number: 1, format: 'zip' },
  },
  {
    name: 'takeout-20260115T101530Z-012.tgz',
    expected: { timestamp: '20260115T101530Z', time: '2026-01-15T10:15:30.000Z', number: 12, format: 'tgz' },
  },
  {
    name: 'takeout-20260115T101530Z-3-002.zip',
    expected: { timestamp: '20260115T101530Z-3', time: '2026-01-15T10:15:30.000Z', number: 2, format: 'zip' },
  },
  { name: 'takeout-20260115T101530Z-001.zip.part', expected: undefined },
  { name: 'takeout-2026-01-15-001.zip', expected: undefined },
  { name: 'takeout-20261315T101530Z-001.zip', expected: undefined },
  { name: 'IMG_0001.jpg', expected: undefined },
]) {
  test(`parseTakeoutPartName: ${name}`, () => {
    const part = parseTakeoutPartName(name);
    assert.deepEqual(part ? { ...part, time: part.time.toISOString() } : undefined, expected);
  });
}

const file = (id: string, name: string): DriveFileInfo => ({ id, name, size: 1, parents: ['f'] });

test('groupTakeoutExports: by timestamp, oldest first, parts by number (10 after 9), strangers and repeats left out', () => {
  const groups = groupTakeoutExports([
    file('a', 'takeout-20260301T000000Z-010.zip'),
    file('b', 'takeout-20260101T000000Z-002.zip'),
    file('c', 'takeout-20260301T000000Z-009.zip'),
    file('d', 'takeout-20260101T000000Z-001.zip'),
    file('e', 'notes.txt'),
    file('d', 'takeout-20260101T000000Z-001.zip'),
    file('f', 'takeout-20251101T000000Z-001.tgz'),
  ]);
  assert.deepEqual(
    groups.map((group) => [group.timestamp, group.parts.map((part) => part.id)]),
    [
      ['20251101T000000Z', ['f']],
      ['20260101T000000Z', ['d', 'b']],
      ['20260301T000000Z', ['c', 'a']],
    ],
  );
});

test("parseGoogleError keeps the errors[].reason of Drive's older envelope apart from ErrorInfo reasons", () => {
  const info = parseGoogleError(
    JSON.stringify({
      error: {
        code: 403,
        message: 'User Rate Limit Exceeded',
        errors: [
          { domain: 'usageLimits', reason: 'userRateLimitExceeded', message: 'User Rate Limit Exceeded' },
        ],
      },
    }),
  );
  assert.deepEqual(info.errorReasons, ['userRateLimitExceeded']);
  assert.deepEqual(info.reasons, []);
});
