/**
 * Which sidecar belongs to which photo or video (src/sources/takeout/sidecar-match.ts): one table of
 * (media, sidecars) → sidecar, from test/fixtures/takeout/takeout-matching-cases.json and our own
 * rules, run by one loop; then whole folders, the title index and the name parsers.
 */
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
 * pair unrelated files (gpth#175: never `X(1).jpg` to the plain `X.jpg.json`). The decision is asserted, so a change in either direction fails.
 */
const UNMATCHED_ON_PURPOSE = new Set(['photo-ed.jp', 'photo-mo.jpg', 'video-bear.mp4']);

/**
 * One row per case: the media name, the sidecar lists it is matched against (each list is one
 * folder; a precedence case is tried in both orders) and the sidecar it must get.
 */
interface MatchRow {
  title: string;
  media: string;
  folders: string[][];
  expected: string | undefined;
}

const fixtureRows: MatchRow[] = [
  ...cases.match.map((entry) =>
    entry.scope && UNMATCHED_ON_PURPOSE.has(entry.media)
      ? {
          title: `leaves synthetic ${entry.media} unmatched (${entry.scope})`,
          media: entry.media,
          folders: [[entry.sidecar]],
          expected: undefined,
        }
      : {
          title: `matches ${entry.media} → ${entry.sidecar}`,
          media: entry.media,
          folders: [[entry.sidecar]],
          expected: entry.sidecar,
        },
  ),
  ...cases.noMatch.map((entry) => ({
    title: `does not match ${entry.media} → ${entry.sidecar}`,
    media: entry.media,
    folders: [[entry.sidecar]],
    expected: undefined,
  })),
  ...cases.precedence.map((entry) => ({
    title: `prefers ${entry.sidecar} over ${entry.over} for ${entry.media}`,
    media: entry.media,
    folders: [
      [entry.over as string, entry.sidecar],
      [entry.sidecar, entry.over as string],
    ],
    expected: entry.sidecar,
  })),
];

// Our own cases, one or more per matching rule in src/sources/takeout/sidecar-match.ts.
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

const rows: MatchRow[] = [
  ...fixtureRows,
  ...ownCases.map(({ rule, input, expected }) => ({
    title: `rule: ${rule}`,
    media: input.media,
    folders: [input.sidecars],
    expected,
  })),
];

for (const { title, media, folders, expected } of rows) {
  test(title, () => {
    for (const sidecars of folders) assert.equal(matchOne(media, sidecars), expected, sidecars.join(', '));
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
  const originals: { media: string; original: string | undefined }[] = [
    { media: 'IMG_1.MOV', original: 'IMG_1.HEIC' },
    { media: 'IMG_1-edited.HEIC', original: 'IMG_1.HEIC' },
    { media: 'PXL_2.MP', original: 'PXL_2.MP.jpg' },
    { media: 'A-edited(1).jpg', original: 'A(1).jpg' },
    { media: 'IMG_1.HEIC', original: undefined },
  ];
  for (const { media, original } of originals) assert.equal(findOriginalMedia(media, names), original, media);
});

test('parseSidecarName reads the index wherever Google put it', () => {
  const names: { name: string; expected: ReturnType<typeof parseSidecarName> }[] = [
    {
      name: 'Scan35.jpg.supplemental-metadata(1).json',
      expected: { rest: 'Scan35.jpg.supplemental-metadata', index: 1 },
    },
    { name: 'IMG.HEIC(2).supple.json', expected: { rest: 'IMG.HEIC.supple', index: 2 } },
    // A number in the title is not an index.
    { name: 'Urlaub (38).JP.json', expected: { rest: 'Urlaub (38).JP' } },
    { name: 'photo.jpg', expected: undefined },
  ];
  for (const { name, expected } of names) assert.deepEqual(parseSidecarName(name), expected, name);
});
