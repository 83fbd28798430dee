import assert from 'node:assert/strict';
import { test } from 'node:test';
import { walkKey } from '../src/manifest.ts';
import {
  compareContent,
  decideItem,
  hasNewFacts,
  leftOutByChoice,
  listingVariant,
  nextSkipState,
  type PlanContext,
  placeItem,
  reviseItem,
  type SkipState,
  walksOfRun,
} from '../src/plan.ts';
import type { SourceItem } from '../src/sources/source.ts';

function item(overrides: Partial<SourceItem> = {}): SourceItem {
  return {
    id: 'id-1',
    filename: 'IMG_1.jpg',
    kind: 'photo',
    takenAt: new Date('2024-05-04T10:00:00Z'),
    dateSource: 'api',
    open: async () => ({ body: (async function* () {})() }),
    ...overrides,
  };
}

function context(overrides: Partial<PlanContext> = {}): PlanContext {
  return {
    year: 2024,
    timeZone: 'UTC',
    enforceYear: true,
    includeUndated: false,
    ownerOf: () => undefined,
    recordOf: () => undefined,
    ...overrides,
  };
}

test('an item goes to its day folder under its safe name', () => {
  assert.deepEqual(placeItem(item({ filename: 'a/b.jpg' }), context()), {
    kind: 'place',
    path: '2024-05-04/a_b.jpg',
  });
});

test('the day comes from the zone, or from the item offset when it has one', () => {
  const late = item({ takenAt: new Date('2024-05-04T23:30:00Z') });
  assert.deepEqual(placeItem(late, context({ timeZone: 'Europe/Madrid' })), {
    kind: 'place',
    path: '2024-05-05/IMG_1.jpg',
  });
  assert.deepEqual(placeItem({ ...late, utcOffsetMinutes: -60 }, context({ timeZone: 'Europe/Madrid' })), {
    kind: 'place',
    path: '2024-05-04/IMG_1.jpg',
  });
});

test('items of other years are excluded only where the source does not filter by year', () => {
  const other = item({ takenAt: new Date('2023-12-31T10:00:00Z') });
  assert.deepEqual(placeItem(other, context()), { kind: 'exclude', reason: 'other-year', day: '2023-12-31' });
  assert.equal(placeItem(other, context({ enforceYear: false })).kind, 'place');
});

test('undated items are excluded, or go to undated/ with includeUndated', () => {
  const { takenAt: _, ...rest } = item();
  assert.deepEqual(placeItem(rest as SourceItem, context()), { kind: 'exclude', reason: 'undated' });
  assert.deepEqual(placeItem(rest as SourceItem, context({ includeUndated: true })), {
    kind: 'place',
    path: 'undated/IMG_1.jpg',
  });
});

test('an unavailable video is reported, not placed', () => {
  assert.deepEqual(placeItem(item({ unavailable: 'processing' }), context()), {
    kind: 'unavailable',
    reason: 'processing',
  });
});

test('a recorded item keeps its recorded path', () => {
  const recorded = { path: '2024-05-04/IMG_1~abc.jpg', size: 10 };
  assert.deepEqual(placeItem(item(), context({ recordOf: () => recorded })), {
    kind: 'place',
    path: recorded.path,
    recorded,
  });
});

test('a second item wanting a taken name gets a suffix from its id; the owner keeps the name', () => {
  const taken = context({
    ownerOf: (p) => (p.toLowerCase() === '2024-05-04/img_1.jpg' ? 'other' : undefined),
  });
  const placed = placeItem(item({ filename: 'img_1.JPG' }), taken);
  assert.equal(placed.kind, 'place');
  assert.match((placed as { path: string }).path, /^2024-05-04\/img_1~[0-9a-f]{8}\.JPG$/);
  const own = context({ ownerOf: () => 'id-1' });
  assert.deepEqual(placeItem(item(), own), { kind: 'place', path: '2024-05-04/IMG_1.jpg' });
});

const placed = { kind: 'place' as const, path: '2024-05-04/IMG_1.jpg' };
const recordedPlacement = { ...placed, recorded: { path: placed.path, size: 10 } };
for (const { name, placement, facts, expected } of [
  {
    name: 'recorded and on disk with its size: skip',
    placement: recordedPlacement,
    facts: { sizeOnDisk: 10, itemSize: undefined },
    expected: { action: 'skip', reason: 'recorded' },
  },
  {
    name: 'recorded but the file is gone: download again',
    placement: recordedPlacement,
    facts: { sizeOnDisk: undefined, itemSize: undefined },
    expected: { action: 'download', path: placed.path, reason: 'missing' },
  },
  {
    name: 'recorded but the file is truncated (power cut): download again',
    placement: recordedPlacement,
    facts: { sizeOnDisk: 0, itemSize: undefined },
    expected: { action: 'download', path: placed.path, reason: 'missing' },
  },
  {
    name: 'new: download',
    placement: placed,
    facts: { sizeOnDisk: undefined, itemSize: undefined },
    expected: { action: 'download', path: placed.path, reason: 'new' },
  },
  {
    name: 'same name and size on disk (the original script): skip',
    placement: placed,
    facts: { sizeOnDisk: 10, itemSize: 10 },
    expected: { action: 'skip', reason: 'exists' },
  },
]) {
  test(`decideItem: ${name}`, () => assert.deepEqual(decideItem(item(), placement, facts), expected));
}

test('decideItem: same name, other size on disk: save beside it with a suffix, never overwrite', () => {
  const decision = decideItem(item(), placed, { sizeOnDisk: 10, itemSize: 11 });
  assert.equal(decision.action, 'download');
  assert.match((decision as { path: string }).path, /^2024-05-04\/IMG_1~[0-9a-f]{8}\.jpg$/);
});

test('skip rule: stops after more than maxSkipped skips in a row; a download resets', () => {
  const rule = { maxSkipped: 5, armed: true };
  let state: SkipState = { consecutive: 0, stopped: false };
  const steps: boolean[] = [];
  for (const action of [
    'skip',
    'skip',
    'download',
    'skip',
    'skip',
    'skip',
    'skip',
    'skip',
    'skip',
  ] as const) {
    state = nextSkipState(state, action, rule);
    steps.push(state.stopped);
  }
  assert.deepEqual(steps, [false, false, false, false, false, false, false, false, true]);
});

test('skip rule: never stops while the year has not been walked to its end', () => {
  let state: SkipState = { consecutive: 0, stopped: false };
  for (let i = 0; i < 50; i++) state = nextSkipState(state, 'skip', { maxSkipped: 5, armed: false });
  assert.equal(state.stopped, false);
  assert.equal(state.consecutive, 50);
});

test('skip rule: maxSkipped 0 stops at the first skip', () => {
  assert.equal(
    nextSkipState({ consecutive: 0, stopped: false }, 'skip', { maxSkipped: 0, armed: true }).stopped,
    true,
  );
});

const kindCases = [
  { kind: 'video', leaveOut: 'video', expected: true },
  { kind: 'photo', leaveOut: 'video', expected: false },
  { kind: 'photo', leaveOut: 'photo', expected: true },
  { kind: 'video', leaveOut: undefined, expected: false },
] as const;
for (const { kind, leaveOut, expected } of kindCases) {
  test(`leftOutByChoice: a ${kind} with ${leaveOut ?? 'nothing'} left out → ${expected}`, () => {
    const item: SourceItem = {
      id: 'x',
      filename: 'x',
      kind,
      dateSource: 'api',
      open: async () => ({ body: (async function* () {})() }),
    };
    assert.equal(leftOutByChoice(item, leaveOut), expected);
  });
}

const walkCases = [
  {
    leaveOut: undefined,
    expected: { own: 'library:2024', arming: ['library:2024'] },
  },
  {
    leaveOut: 'video',
    expected: { own: 'library:2024:without-videos', arming: ['library:2024:without-videos', 'library:2024'] },
  },
  {
    leaveOut: 'photo',
    expected: { own: 'library:2024:without-photos', arming: ['library:2024:without-photos', 'library:2024'] },
  },
] as const;
for (const { leaveOut, expected } of walkCases) {
  test(`walksOfRun with ${leaveOut ?? 'nothing'} left out: finishes its own walk, reopens every walk of the year`, () => {
    const walks = walksOfRun((kind) => walkKey('library', 2024, kind), leaveOut);
    assert.equal(walks.own, expected.own);
    assert.deepEqual(walks.arming, expected.arming);
    assert.deepEqual(walks.all, [
      'library:2024',
      'library:2024:without-videos',
      'library:2024:without-photos',
    ]);
  });
}

test('compareContent: Google photo ids that differ are two photos; one id with an edited date lets the bytes decide', () => {
  const cases = [
    { a: { photoId: 'A', crc32: 1 }, b: { photoId: 'B', crc32: 1 }, expected: 'different' },
    {
      a: { photoId: 'A', crc32: 1, takenTime: '1' },
      b: { photoId: 'A', crc32: 1, takenTime: '2' },
      expected: 'same',
    },
    {
      a: { photoId: 'A', size: 3, takenTime: '1', title: 't' },
      b: { photoId: 'A', size: 3, takenTime: '2', title: 't' },
      expected: 'unknown',
    },
    {
      a: { size: 3, takenTime: '1', title: 't' },
      b: { size: 3, takenTime: '2', title: 't' },
      expected: 'different',
    },
    {
      a: { photoId: 'A', size: 3, takenTime: '1', title: 't' },
      b: { photoId: 'A', size: 3, takenTime: '1', title: 't' },
      expected: 'same',
    },
  ] as const;
  for (const { a, b, expected } of cases)
    assert.equal(compareContent(a, b), expected, JSON.stringify({ a, b }));
});

test('hasNewFacts: an edited date or sidecar facts, or another id, from an export newer than the record', () => {
  const cases = [
    { recorded: { takenTime: '1' }, listed: { takenTime: '1' }, sameId: true, expected: false },
    { recorded: { takenTime: '1' }, listed: { takenTime: '2' }, sameId: true, expected: true },
    { recorded: { sidecarFacts: 5 }, listed: { sidecarFacts: 6 }, sameId: true, expected: true },
    // A record written before the checksum was kept: no change.
    { recorded: {}, listed: { sidecarFacts: 6 }, sameId: true, expected: false },
    { recorded: { takenTime: '1' }, listed: { takenTime: '1' }, sameId: false, expected: true },
    // An older (or the same) export read again never replaces a newer one's facts.
    {
      recorded: { takenTime: '2', exportedAt: '2025-03-12T08:00:00.000Z' },
      listed: { takenTime: '1', exportedAt: '2025-01-10T08:00:00.000Z' },
      sameId: true,
      expected: false,
    },
    {
      recorded: { takenTime: '1', exportedAt: '2025-01-10T08:00:00.000Z' },
      listed: { takenTime: '2', exportedAt: '2025-03-12T08:00:00.000Z' },
      sameId: true,
      expected: true,
    },
  ];
  for (const { recorded, listed, sameId, expected } of cases)
    assert.equal(
      hasNewFacts(recorded, listed, sameId),
      expected,
      JSON.stringify({ recorded, listed, sameId }),
    );
});

test('reviseItem: a new day moves the file under its saved name; a taken name there gets a suffix; copies and undated stay', () => {
  const recorded = { id: 'takeout:a', path: '2024-03-01/IMG_1.jpg' };
  const redated = item({ id: 'takeout:a', takenAt: new Date('2024-03-05T12:00:00Z') });
  assert.deepEqual(reviseItem(recorded, redated, context()), {
    action: 'move',
    from: '2024-03-01/IMG_1.jpg',
    to: '2024-03-05/IMG_1.jpg',
  });
  const taken = reviseItem(recorded, redated, context({ ownerOf: () => 'takeout:other' }));
  assert.equal(taken.action, 'move');
  assert.match(taken.action === 'move' ? taken.to : '', /^2024-03-05\/IMG_1~[0-9a-f]{8}\.jpg$/);
  const sameDay = item({ id: 'takeout:a', takenAt: new Date('2024-03-01T20:00:00Z') });
  assert.deepEqual(reviseItem(recorded, sameDay, context()), { action: 'update', path: recorded.path });
  assert.deepEqual(reviseItem({ ...recorded, copyOf: recorded.path }, redated, context()), {
    action: 'update',
    path: recorded.path,
  });
  const { takenAt: _dropped, ...undated } = redated;
  assert.deepEqual(reviseItem(recorded, undated, context()), { action: 'update', path: recorded.path });
});

test('listingVariant: one number per size and evidence, another for each fact that differs, 0 with no evidence', () => {
  const evidence = { crc32: 3_000_000_000, takenTime: '1704070800', title: 'IMG_1.jpg', sidecarFacts: 42 };
  const variant = listingVariant({ size: 1991, evidence });
  assert.equal(typeof variant, 'number');
  assert.ok(Number.isSafeInteger(variant) && variant >= 0);
  assert.equal(listingVariant({ size: 1991, evidence: { ...evidence } }), variant);
  const others = [
    listingVariant({ size: 1992, evidence }),
    listingVariant({ size: 1991, evidence: { ...evidence, crc32: 3_000_000_001 } }),
    listingVariant({ size: 1991, evidence: { ...evidence, takenTime: '1704070801' } }),
    listingVariant({ size: 1991, evidence: { ...evidence, title: 'IMG_2.jpg' } }),
    listingVariant({ size: 1991, evidence: { ...evidence, sidecarFacts: 43 } }),
  ];
  assert.equal(new Set([variant, ...others]).size, 6);
  assert.equal(listingVariant({ size: 1991 }), 0);
  assert.equal(listingVariant({ size: 5 }), listingVariant({ size: 6 }));
});
