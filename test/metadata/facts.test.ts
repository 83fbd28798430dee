import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import {
  albumTitle,
  factsFromLibraryItem,
  factsFromPickedItem,
  factsFromTakeout,
} from '../../src/metadata/facts.ts';
import { buildXmpPacket } from '../../src/metadata/xmp.ts';
import { readXmp } from '../helpers/xml.ts';
import { bag, NS, text } from '../helpers/xmp.ts';

// Shapes copied from Google's answers and a Takeout export (description of each field in facts.ts).
const fixtures = new URL('../fixtures/xmp/', import.meta.url);
const fixture = async (name: string): Promise<unknown> =>
  JSON.parse(await readFile(new URL(name, fixtures), 'utf8'));

test('Takeout sidecar: every field Google keeps, from its JSON', async () => {
  const facts = factsFromTakeout(await fixture('takeout-sidecar.json'), {
    id: 'takeout:Photos from 2025/PXL_20250101_115316882.jpg',
    albums: [albumTitle(await fixture('album-metadata.json'), 'Copenhagen _ Møn _2025_')],
    utcOffsetMinutes: 60,
  });
  assert.deepEqual(facts, {
    source: 'takeout',
    id: 'takeout:Photos from 2025/PXL_20250101_115316882.jpg',
    takenAt: new Date('2025-01-01T11:53:16Z'),
    utcOffsetMinutes: 60,
    location: { latitude: 54.6737861, longitude: 11.9607639, altitude: 40 },
    title: 'PXL_20250101_115316882.jpg',
    people: ['Susan'],
    albums: ['Copenhagen & Møn <2025>'],
    favorite: true,
  });
  const { properties } = readXmp(buildXmpPacket(facts));
  assert.deepEqual(properties.get(`${NS.exif}DateTimeOriginal`), text('2025-01-01T12:53:16+01:00'));
  assert.deepEqual(properties.get(`${NS.lr}hierarchicalSubject`), bag('Albums|Copenhagen & Møn <2025>'));
});

const PLACE = { latitude: 48.8583701, longitude: 2.2944813, altitude: 35, latitudeSpan: 0, longitudeSpan: 0 };
const CAMERA = {
  latitude: 45.4642035,
  longitude: 9.189982,
  altitude: 120,
  latitudeSpan: 0,
  longitudeSpan: 0,
};
const ZERO = { latitude: 0, longitude: 0, altitude: 0, latitudeSpan: 0, longitudeSpan: 0 };

for (const { name, sidecar, expected } of [
  {
    name: 'geoData (as Google shows it, edits included) wins over geoDataExif',
    sidecar: { geoData: PLACE, geoDataExif: CAMERA },
    expected: { latitude: 48.8583701, longitude: 2.2944813, altitude: 35 },
  },
  {
    name: 'geoDataExif when geoData is all zeros',
    sidecar: { geoData: ZERO, geoDataExif: CAMERA },
    expected: { latitude: 45.4642035, longitude: 9.189982, altitude: 120 },
  },
  {
    name: 'no location when both are all zeros',
    sidecar: { geoData: ZERO, geoDataExif: ZERO },
    expected: undefined,
  },
  {
    name: 'altitude 0.0 is Google having none',
    sidecar: { geoData: { ...PLACE, altitude: 0 } },
    expected: { latitude: 48.8583701, longitude: 2.2944813 },
  },
  {
    name: 'coordinates as strings are not a location',
    sidecar: { geoData: { latitude: '48.8', longitude: '2.2' } },
    expected: undefined,
  },
]) {
  test(`Takeout location: ${name}`, () =>
    assert.deepEqual(factsFromTakeout(sidecar, { id: 'takeout:x' }).location, expected));
}

for (const { timestamp, expected } of [
  { timestamp: '1735732396', expected: '2025-01-01T11:53:16.000Z' },
  { timestamp: 1735732396, expected: '2025-01-01T11:53:16.000Z' },
  { timestamp: '-86400', expected: '1969-12-31T00:00:00.000Z' },
  { timestamp: '0', expected: undefined },
  { timestamp: '', expected: undefined },
  { timestamp: '17e8', expected: undefined },
  { timestamp: 1735732396.5, expected: undefined },
]) {
  test(`Takeout photoTakenTime ${JSON.stringify(timestamp)} is ${expected ?? 'no time'}`, () => {
    const facts = factsFromTakeout(
      { photoTakenTime: { timestamp }, creationTime: { timestamp: '1735858677' } },
      { id: 'takeout:x' },
    );
    assert.equal(facts.takenAt?.toISOString(), expected);
  });
}

test('Takeout: the time the day folder used wins, and empty or odd fields are left out', () => {
  const facts = factsFromTakeout(
    {
      photoTakenTime: { timestamp: '1735732396' },
      title: '',
      description: '   ',
      people: [{ name: 'Ana' }, { name: '' }, {}, 'Bo', null],
      favorited: 'true',
    },
    {
      id: 'takeout:x',
      takenAt: new Date('2025-01-02T00:00:00Z'),
      filename: 'IMG_1.jpg',
      albums: ['', 'Trip'],
    },
  );
  assert.deepEqual(facts, {
    source: 'takeout',
    id: 'takeout:x',
    takenAt: new Date('2025-01-02T00:00:00Z'),
    title: 'IMG_1.jpg',
    people: ['Ana'],
    albums: ['Trip'],
  });
  assert.deepEqual(factsFromTakeout(null, { id: 'takeout:y' }), { source: 'takeout', id: 'takeout:y' });
  assert.deepEqual(factsFromTakeout(['not', 'a', 'sidecar'], { id: 'takeout:y' }), {
    source: 'takeout',
    id: 'takeout:y',
  });
});

test('album names: metadata.json title, albumData.title in old exports, else the folder name', async () => {
  assert.equal(albumTitle(await fixture('album-metadata.json'), 'folder'), 'Copenhagen & Møn <2025>');
  assert.equal(albumTitle(await fixture('album-metadata-old.json'), 'folder'), 'Summer 2016');
  assert.equal(albumTitle({ title: '' }, 'Untitled(1)'), 'Untitled(1)');
  assert.equal(albumTitle(undefined, 'Sans titre(9)'), 'Sans titre(9)');
});

test('Library API MediaItem: creation time, camera, description and file name', async () => {
  const facts = factsFromLibraryItem(await fixture('library-media-item.json'), {
    id: 'AGj1epU7Example',
    utcOffsetMinutes: -240,
  });
  assert.deepEqual(facts, {
    source: 'library',
    id: 'AGj1epU7Example',
    takenAt: new Date('2024-03-17T13:05:09.120Z'),
    utcOffsetMinutes: -240,
    title: 'IMG_0042.JPG',
    description: 'Dinner on the roof',
    cameraMake: 'Apple',
    cameraModel: 'iPhone 15',
  });
  const { properties } = readXmp(buildXmpPacket(facts));
  assert.deepEqual(properties.get(`${NS.xmp}CreateDate`), text('2024-03-17T09:05:09.120-04:00'));
  const video = factsFromLibraryItem(
    { id: 'v', mediaMetadata: { creationTime: 'yesterday', video: { cameraMake: 'GoPro' } } },
    { id: 'v' },
  );
  assert.deepEqual(video, { source: 'library', id: 'v', cameraMake: 'GoPro' });
});

test('Picker PickedMediaItem: create time, camera and file name (a picked item has no description)', async () => {
  const facts = factsFromPickedItem(await fixture('picked-media-item.json'), {
    id: 'AF1QipPickedExample',
    utcOffsetMinutes: -420,
  });
  assert.deepEqual(facts, {
    source: 'picker',
    id: 'AF1QipPickedExample',
    takenAt: new Date('2024-07-04T22:30:00Z'),
    utcOffsetMinutes: -420,
    title: 'PXL_20240704_223000000.mp4',
    cameraMake: 'Google',
    cameraModel: 'Pixel 8',
  });
});
