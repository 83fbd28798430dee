// The listing keeps only what it uses of each sidecar: a parsed sidecar is reduced
// at once, so the rest of it is not held for every photo of a large Takeout. Memory itself is a
// bench figure (`npm run bench`, "Memory: Takeout of 200,000 small entries"), never timed here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyJson, jsonFactsOf } from '../../../src/sources/takeout/tree.ts';

const sidecar = {
  title: 'IMG_0001.jpg',
  description: 'At the lake',
  imageViews: '12',
  creationTime: { timestamp: '1718000060', formatted: 'Jun 10, 2024, 6:14:20 AM UTC' },
  photoTakenTime: { timestamp: '1718000000', formatted: 'Jun 10, 2024, 6:13:20 AM UTC' },
  geoData: { latitude: 1.5, longitude: 2.5, altitude: 3, latitudeSpan: 0, longitudeSpan: 0 },
  geoDataExif: { latitude: 46.1, longitude: 7.2, altitude: 400, latitudeSpan: 0, longitudeSpan: 0 },
  people: [{ name: 'Ann' }],
  url: 'https://photos.google.com/photo/AF1Qip',
  googlePhotosOrigin: { mobileUpload: { deviceType: 'ANDROID_PHONE' } },
  favorited: true,
  archived: false,
};

test('a photo sidecar keeps only the fields the source reads', () => {
  assert.deepEqual(jsonFactsOf(sidecar), {
    kind: 'photo',
    title: 'IMG_0001.jpg',
    takenTime: '1718000000',
    location: { latitude: 1.5, longitude: 2.5, altitude: 3 },
    description: 'At the lake',
    people: ['Ann'],
    favorited: true,
    // Google's photo id from `url`: the same item in a later (incremental) export.
    photoId: 'AF1Qip',
  });
});

test('geoDataExif is the fallback; (0, 0), empty descriptions and false flags are dropped', () => {
  const facts = jsonFactsOf({
    ...sidecar,
    geoData: { latitude: 0, longitude: 0, altitude: 0 },
    people: [{ name: ' ' }, { nom: 'x' }],
    description: '',
    favorited: false,
    trashed: true,
    photoTakenTime: { timestamp: 1718000000 },
  });
  assert.deepEqual(facts, {
    kind: 'photo',
    title: 'IMG_0001.jpg',
    takenTime: 1718000000,
    location: { latitude: 46.1, longitude: 7.2, altitude: 400 },
    trashed: true,
    photoId: 'AF1Qip',
  });
});

test('album JSON keeps its kind and title, other JSON its kind only, as classifyJson says', () => {
  const album = { title: 'Trip', description: 'long text', access: 'protected', date: { timestamp: '1' } };
  assert.equal(classifyJson(album), 'album');
  assert.deepEqual(jsonFactsOf(album), { kind: 'album', title: 'Trip' });
  assert.deepEqual(jsonFactsOf({ albumData: { title: 'Trip', date: '1' } }), {
    kind: 'album',
    title: 'Trip',
  });
  assert.deepEqual(jsonFactsOf({ title: '', description: 'x', access: 'protected' }), { kind: 'album' });
  assert.deepEqual(jsonFactsOf(['not', 'a', 'sidecar']), { kind: 'other' });
  assert.deepEqual(jsonFactsOf(null), { kind: 'other' });
  // A sidecar with only a title and a url (no photoTakenTime) is still a photo's.
  assert.deepEqual(jsonFactsOf({ title: 'a.jpg', url: 'u' }), { kind: 'photo', title: 'a.jpg' });
});

test('a sidecar keeps at most 100 people, each name at most 200 characters', () => {
  const people = [
    { name: 'x'.repeat(201) },
    ...Array.from({ length: 150 }, (_, index) => ({ name: `P${index}` })),
  ];
  const facts = jsonFactsOf({ ...sidecar, people });
  assert.equal(facts.people?.length, 100);
  assert.equal(facts.people?.[0], 'P0');
});
