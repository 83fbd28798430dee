import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  findOriginalMedia,
  matchSidecarsInFolder,
  parseSidecarName,
} from '../../../src/sources/takeout/sidecar-match.ts';

interface MatchCase {
  media: string;
  sidecar: string;
  over?: string;
  scope?: string;
  note?: string;
}

const cases = JSON.parse(
  readFileSync(new URL('../../fixtures/takeout/takeout-matching-cases.json', import.meta.url), 'utf8'),
) as {
  match: MatchCase[];
  noMatch: MatchCase[];
  precedence: MatchCase[];
};

function matchOne(media: string, sidecars: string[]): string | undefined {
  return matchSidecarsInFolder(
    [media],
    sidecars.map((name) => ({ name })),
  ).get(media)?.sidecar;
}

/**
 * Cases with `scope` are synthetic or come from another tool's renaming; Google never writes them.
 * We match most of them anyway, but a partial edited suffix on a name shorter than the 47-unit
 * cut is left unmatched on purpose: Google only cuts at the cap, and matching such names would
 * pair unrelated files (spec §3.6). The decision is asserted, so a change in either direction fails.
 */
const UNMATCHED_ON_PURPOSE = new Set(['photo-ed.jp', 'photo-mo.jpg', 'video-bear.mp4']);

for (const entry of cases.match) {
  if (entry.scope && UNMATCHED_ON_PURPOSE.has(entry.media)) {
    test(`leaves synthetic ${entry.media} unmatched (${entry.scope})`, () => {
      assert.equal(matchOne(entry.media, [entry.sidecar]), undefined);
    });
    continue;
  }
  test(`matches ${entry.media} → ${entry.sidecar}`, () => {
    assert.equal(matchOne(entry.media, [entry.sidecar]), entry.sidecar);
  });
}

for (const entry of cases.noMatch) {
  test(`does not match ${entry.media} → ${entry.sidecar}`, () => {
    assert.equal(matchOne(entry.media, [entry.sidecar]), undefined);
  });
}

for (const entry of cases.precedence) {
  test(`prefers ${entry.sidecar} over ${entry.over} for ${entry.media}`, () => {
    assert.equal(matchOne(entry.media, [entry.over as string, entry.sidecar]), entry.sidecar);
    assert.equal(matchOne(entry.media, [entry.sidecar, entry.over as string]), entry.sidecar);
  });
}

// Our own cases, one or more per matching rule of spec §5.
const ownCases: Array<{
  input: { media: string; sidecars: string[] };
  expected: string | undefined;
  rule: string;
}> = [
  {
    rule: 'case-insensitive',
    input: { media: 'IMG_4081(1).jpg', sidecars: ['IMG_4081.JPG(1).json'] },
    expected: 'IMG_4081.JPG(1).json',
  },
  {
    rule: 'NFD media vs NFC sidecar',
    input: { media: 'cafe\u0301-edited.jpg', sidecars: ['caf\u00e9.jpg.json'] },
    expected: 'caf\u00e9.jpg.json',
  },
  {
    rule: 'NFC media vs NFD sidecar',
    input: { media: '08-21-07_1547-modifi\u00e9.jpg', sidecars: ['08-21-07_1547.jpg.json'.normalize('NFD')] },
    expected: '08-21-07_1547.jpg.json'.normalize('NFD'),
  },
  {
    rule: 'empty supplemental prefix',
    input: { media: 'a.jpg', sidecars: ['a.jpg..json'] },
    expected: 'a.jpg..json',
  },
  {
    rule: 'every prefix of supplemental-metadata',
    input: {
      media: 'MVIMG_20191230_232926.jpg',
      sidecars: ['MVIMG_20191230_232926.jpg.supplemental-metadat.json'],
    },
    expected: 'MVIMG_20191230_232926.jpg.supplemental-metadat.json',
  },
  {
    rule: 'short supplemental form (47 chars)',
    input: {
      media: 'PXL_20230518_103349822.MP',
      sidecars: ['PXL_20230518_103349822.MP.supplemental-met.json'],
    },
    expected: 'PXL_20230518_103349822.MP.supplemental-met.json',
  },
  {
    rule: 'uncut long supplemental name',
    input: {
      media: 'Screenshot_20231027_123303_Facebook.jpg',
      sidecars: ['Screenshot_20231027_123303_Facebook.jpg.supplemental-metadata.json'],
    },
    expected: 'Screenshot_20231027_123303_Facebook.jpg.supplemental-metadata.json',
  },
  {
    rule: 'whole suffix cut away when T is ≥ 46 units',
    input: {
      media: 'Screenshot_20220207_102421_com.snapchat.android.jpg',
      sidecars: ['Screenshot_20220207_102421_com.snapchat.androi.json'],
    },
    expected: 'Screenshot_20220207_102421_com.snapchat.androi.json',
  },
  {
    rule: 'index before the supplemental segment',
    input: { media: 'IMG_2367(1).HEIC', sidecars: ['IMG_2367.HEIC(1).supplemental-metadata.json'] },
    expected: 'IMG_2367.HEIC(1).supplemental-metadata.json',
  },
  {
    rule: 'index never cut (56 chars)',
    input: {
      media: 'Backyard_ceremony_wedding_photography_xxxxxxx_m(494).jpg',
      sidecars: ['Backyard_ceremony_wedding_photography_xxxxxxx_(494).json'],
    },
    expected: 'Backyard_ceremony_wedding_photography_xxxxxxx_(494).json',
  },
  {
    rule: 'plain X.jpg never takes an (n) sidecar',
    input: { media: 'X.jpg', sidecars: ['X.jpg(1).json'] },
    expected: undefined,
  },
  {
    rule: 'X(1).jpg never takes plain X.jpg.json',
    input: { media: 'X(1).jpg', sidecars: ['X.jpg.json'] },
    expected: undefined,
  },
  {
    rule: 'X(1).jpg never takes X.jpg.supplemental-metadata.json',
    input: { media: 'X(1).jpg', sidecars: ['X.jpg.supplemental-metadata.json'] },
    expected: undefined,
  },
  {
    rule: 'edited copy of a numbered photo keeps the index',
    input: { media: 'X-edited(1).jpg', sidecars: ['X.jpg.json', 'X.jpg(1).json'] },
    expected: 'X.jpg(1).json',
  },
  {
    rule: 'plain edited copy takes the plain sidecar',
    input: { media: 'X-edited.jpg', sidecars: ['X.jpg.json', 'X.jpg(1).json'] },
    expected: 'X.jpg.json',
  },
  {
    rule: 'own sidecar of a Google collage beats the original',
    input: { media: 'photo-collage.jpg', sidecars: ['photo-collage.jpg.json', 'photo.jpg.json'] },
    expected: 'photo-collage.jpg.json',
  },
  {
    rule: 'localized edited (it)',
    input: { media: 'IMG_1-modificato.jpg', sidecars: ['IMG_1.jpg.json'] },
    expected: 'IMG_1.jpg.json',
  },
  {
    rule: 'localized edited (ja)',
    input: { media: 'IMG_1-編集済み.jpg', sidecars: ['IMG_1.jpg.json'] },
    expected: 'IMG_1.jpg.json',
  },
  {
    rule: 'partial edited suffix only at the 47 cap',
    input: { media: 'IMG_1-edi.jpg', sidecars: ['IMG_1.jpg.json'] },
    expected: undefined,
  },
  {
    rule: 'Motion Photo .MP~2 part',
    input: { media: 'PXL_1.MP~2', sidecars: ['PXL_1.MP~2.jpg.json'] },
    expected: 'PXL_1.MP~2.jpg.json',
  },
  {
    rule: 'Motion Photo .MV part',
    input: { media: 'PXL_1.MV', sidecars: ['PXL_1.MV.jpg.supplemental-metadata.json'] },
    expected: 'PXL_1.MV.jpg.supplemental-metadata.json',
  },
  {
    rule: 'Live Photo .MOV borrows the HEIC sidecar',
    input: { media: 'IMG_9.MOV', sidecars: ['IMG_9.HEIC.json'] },
    expected: 'IMG_9.HEIC.json',
  },
  {
    rule: 'Live Photo video with index needs the same index',
    input: { media: 'IMG_2552(1).MP4', sidecars: ['IMG_2552.HEIC.json'] },
    expected: undefined,
  },
  {
    rule: 'no extension: stem.json',
    input: { media: '20030616', sidecars: ['20030616.json'] },
    expected: '20030616.json',
  },
  {
    rule: 'tolerated .metadata segment',
    input: { media: 'LIVE.MP4', sidecars: ['LIVE.MP4.metadata.json'] },
    expected: 'LIVE.MP4.metadata.json',
  },
  {
    rule: 'a different photo never matches',
    input: { media: 'IMG_1.jpg', sidecars: ['IMG_2.jpg.json'] },
    expected: undefined,
  },
  {
    rule: 'an image is not a Live Photo video',
    input: { media: 'IMG_9.png', sidecars: ['IMG_9.HEIC.json'] },
    expected: undefined,
  },
];

for (const { rule, input, expected } of ownCases) {
  test(`rule: ${rule}`, () => {
    assert.equal(matchOne(input.media, input.sidecars), expected);
  });
}

test('a folder: the (n) family, _1 names and a Live Photo each get their own sidecar', () => {
  const media = [
    'IMG_1005.JPG',
    'IMG_1005(1).JPG',
    'IMG_1005(2).JPG',
    'DSC_0238.JPG',
    'DSC_0238_1.JPG',
    'DSC_0238(1).JPG',
    'IMG_2552.HEIC',
    'IMG_2552.MP4',
    'IMG_2552(1).MP4',
    'IMG_2552-edited.HEIC',
  ];
  const sidecars = [
    'IMG_1005.JPG.json',
    'IMG_1005.JPG(1).json',
    'IMG_1005.JPG(2).json',
    'DSC_0238.JPG.json',
    'DSC_0238_1.JPG.json',
    'DSC_0238.JPG(1).json',
    'IMG_2552.HEIC.supplemental-metadata.json',
  ].map((name) => ({ name }));
  const result = matchSidecarsInFolder(media, sidecars);
  const simple = Object.fromEntries(
    [...result].map(([name, match]) => [name, `${match.sidecar} ${match.method}`]),
  );
  assert.deepEqual(simple, {
    'IMG_1005.JPG': 'IMG_1005.JPG.json exact',
    'IMG_1005(1).JPG': 'IMG_1005.JPG(1).json index',
    'IMG_1005(2).JPG': 'IMG_1005.JPG(2).json index',
    'DSC_0238.JPG': 'DSC_0238.JPG.json exact',
    'DSC_0238_1.JPG': 'DSC_0238_1.JPG.json exact',
    'DSC_0238(1).JPG': 'DSC_0238.JPG(1).json index',
    'IMG_2552.HEIC': 'IMG_2552.HEIC.supplemental-metadata.json supplemental',
    'IMG_2552.MP4': 'IMG_2552.HEIC.supplemental-metadata.json live',
    'IMG_2552-edited.HEIC': 'IMG_2552.HEIC.supplemental-metadata.json edited',
  });
  assert.equal(result.get('IMG_2552.MP4')?.borrowed, true);
  assert.equal(result.get('IMG_2552.HEIC')?.borrowed, false);
});

test('title index: last resort for a sidecar nobody claimed, never over the on-disk name', () => {
  const result = matchSidecarsInFolder(
    ['27_06_12 - 1.mov', 'IMG-20200101-WA0026.jpg', 'abc.jpg'],
    [
      { name: 'weird-name.json', title: '27/06/12 - 1' },
      { name: 'other.json', title: '816226709_8639.jpg' },
      { name: 'abc.jpg.json', title: 'zzz.jpg' },
    ],
  );
  assert.equal(result.get('27_06_12 - 1.mov')?.sidecar, 'weird-name.json');
  assert.equal(result.get('27_06_12 - 1.mov')?.method, 'title');
  assert.equal(result.get('IMG-20200101-WA0026.jpg'), undefined);
  assert.equal(result.get('abc.jpg')?.method, 'exact');
});

test('one sidecar serves the original, its edit and its motion part', () => {
  const result = matchSidecarsInFolder(
    ['PXL_1.MP.jpg', 'PXL_1.MP', 'PXL_1.MP-edited.jpg'],
    [{ name: 'PXL_1.MP.jpg.supplemental-metadata.json' }],
  );
  assert.deepEqual(
    [...result.values()].map((match) => match.method),
    ['supplemental', 'motion', 'edited'],
  );
});

test('findOriginalMedia links edits and video parts to their still', () => {
  const names = [
    'IMG_1.HEIC',
    'IMG_1.MOV',
    'IMG_1-edited.HEIC',
    'PXL_2.MP.jpg',
    'PXL_2.MP',
    'A(1).jpg',
    'A-edited(1).jpg',
  ];
  assert.equal(findOriginalMedia('IMG_1.MOV', names), 'IMG_1.HEIC');
  assert.equal(findOriginalMedia('IMG_1-edited.HEIC', names), 'IMG_1.HEIC');
  assert.equal(findOriginalMedia('PXL_2.MP', names), 'PXL_2.MP.jpg');
  assert.equal(findOriginalMedia('A-edited(1).jpg', names), 'A(1).jpg');
  assert.equal(findOriginalMedia('IMG_1.HEIC', names), undefined);
});

test('parseSidecarName reads the index wherever Google put it', () => {
  assert.deepEqual(parseSidecarName('Scan35.jpg.supplemental-metadata(1).json'), {
    rest: 'Scan35.jpg.supplemental-metadata',
    index: 1,
  });
  assert.deepEqual(parseSidecarName('IMG.HEIC(2).supple.json'), { rest: 'IMG.HEIC.supple', index: 2 });
  assert.deepEqual(parseSidecarName('Urlaub (38).JP.json'), { rest: 'Urlaub (38).JP' });
  assert.equal(parseSidecarName('photo.jpg'), undefined);
});
