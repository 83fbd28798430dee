/**
 * The field-mask grammar of Google's partial responses (`fields`), as src/emulator/system-parameters.ts
 * parses and applies it: names, `a/b` sub-fields, `a(b,c)` groups, `*`; a mask that does not parse
 * is none (the emulator then refuses the request: google-answers.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFieldMask, selectFields } from '../../src/emulator/system-parameters.ts';

const answer = {
  nextPageToken: 't',
  mediaItems: [
    { id: 'a', filename: 'A.jpg', mediaMetadata: { width: '1', height: '2', photo: { cameraMake: 'X' } } },
    { id: 'b', filename: 'B.jpg', mediaMetadata: { width: '3', height: '4' } },
  ],
};

const select = (mask: string) => {
  const parsed = parseFieldMask(mask);
  assert.ok(parsed, `${mask} parses`);
  return selectFields(answer, parsed);
};

test('fields: top-level names, a group per array element, sub-field paths, and * keep what they name', () => {
  assert.deepEqual(select('nextPageToken'), { nextPageToken: 't' });
  assert.deepEqual(select('nextPageToken, mediaItems(id)'), {
    nextPageToken: 't',
    mediaItems: [{ id: 'a' }, { id: 'b' }],
  });
  assert.deepEqual(select('mediaItems/mediaMetadata/width'), {
    mediaItems: [{ mediaMetadata: { width: '1' } }, { mediaMetadata: { width: '3' } }],
  });
  assert.deepEqual(select('mediaItems(id,mediaMetadata(photo/cameraMake))'), {
    mediaItems: [
      { id: 'a', mediaMetadata: { photo: { cameraMake: 'X' } } },
      { id: 'b', mediaMetadata: {} },
    ],
  });
  // Two paths into one field merge; a whole field wins over a part of it.
  assert.deepEqual(select('mediaItems/id,mediaItems/filename'), {
    mediaItems: [
      { id: 'a', filename: 'A.jpg' },
      { id: 'b', filename: 'B.jpg' },
    ],
  });
  assert.deepEqual(
    select('mediaItems(id),mediaItems'),
    answer.mediaItems ? { mediaItems: answer.mediaItems } : {},
  );
  assert.deepEqual(select('mediaItems(*)'), { mediaItems: answer.mediaItems });
  // Unset fields are left out, as Google leaves them out.
  assert.deepEqual(select('albums,nextPageToken'), { nextPageToken: 't' });
});

test('fields: a mask that does not parse is none', () => {
  for (const bad of ['', 'mediaItems(id', 'mediaItems)id', 'a,,b', 'a/', '(id)', 'a(b))'])
    assert.equal(parseFieldMask(bad), undefined, JSON.stringify(bad));
});
