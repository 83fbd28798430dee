import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ListedItems } from '../src/listed-items.ts';

test('ListedItems: a listing seen again is told; another variant of the id is a new listing', () => {
  const items = new ListedItems();
  assert.equal(items.listedBefore('a', 7), false);
  assert.equal(items.listedBefore('a', 7), true);
  assert.equal(items.listedBefore('a', 9), false, 'the same id with other evidence');
  assert.equal(items.listedBefore('a', 9), true);
  assert.equal(items.listedBefore('a', 7), true);
  assert.equal(items.listedBefore('b', 0), false);
});

test('ListedItems: recorded this run, for ids listed once, twice, or not at all, and the mark survives a second variant', () => {
  const items = new ListedItems();
  items.listedBefore('once', 3);
  items.listedBefore('twice', 1);
  items.listedBefore('twice', 2);
  assert.equal(items.recordedThisRun('once'), false);
  items.markRecorded('once');
  items.markRecorded('once');
  items.markRecorded('twice');
  items.markRecorded('never-listed');
  assert.equal(items.recordedThisRun('once'), true);
  assert.equal(items.recordedThisRun('twice'), true);
  assert.equal(items.recordedThisRun('never-listed'), true);
  assert.equal(items.recordedThisRun('other'), false);
  // The recorded mark does not change what was listed; a new variant keeps it.
  assert.equal(items.listedBefore('once', 3), true);
  assert.equal(items.listedBefore('once', 4), false);
  assert.equal(items.recordedThisRun('once'), true);
  assert.equal(items.listedBefore('once', 4), true);
  // Variant 0 (no evidence) marked recorded is still told from an unrecorded one.
  items.listedBefore('zero', 0);
  assert.equal(items.recordedThisRun('zero'), false);
  items.markRecorded('zero');
  assert.equal(items.recordedThisRun('zero'), true);
  assert.equal(items.listedBefore('zero', 0), true);
});
