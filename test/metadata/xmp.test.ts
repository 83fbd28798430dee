import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import {
  buildXmpPacket,
  formatGpsCoordinate,
  formatRational,
  formatXmpDate,
  type ItemFacts,
  toWellFormedXml,
} from '../../src/metadata/xmp.ts';
import { readXmp, type XmpValue } from '../helpers/xml.ts';
import { alt, bag, FULL_FACTS as full, NS, tempFolder, text } from '../helpers/xmp.ts';

/** Reads the DDD,MM.mmmmmmK form back to decimal degrees. */
function gpsDecimal(value: string): number {
  const comma = value.indexOf(',');
  const hemisphere = value.slice(-1);
  const degrees = Number(value.slice(0, comma)) + Number(value.slice(comma + 1, -1)) / 60;
  return hemisphere === 'S' || hemisphere === 'W' ? -degrees : degrees;
}

test('every known fact is its XMP property, read back by an XML parser', () => {
  const { toolkit, properties } = readXmp(buildXmpPacket(full));
  assert.equal(toolkit, 'photo-backup');
  const expected = new Map<string, XmpValue>([
    [`${NS.dc}title`, alt('IMG_0042.jpg')],
    [`${NS.dc}description`, alt('Dinner on the roof')],
    [`${NS.dc}subject`, bag('Family', 'Trip 2024')],
    [`${NS.exif}DateTimeOriginal`, text('2024-03-17T14:05:09+01:00')],
    [`${NS.exif}GPSLatitude`, text('54,40.427166N')],
    [`${NS.exif}GPSLongitude`, text('11,57.645834W')],
    [`${NS.exif}GPSAltitude`, text('81/2')],
    [`${NS.exif}GPSAltitudeRef`, text('0')],
    [`${NS.iptcExt}PersonInImage`, bag('Ana', 'Susan')],
    [`${NS.lr}hierarchicalSubject`, bag('Albums|Family', 'Albums|Trip 2024')],
    [`${NS.pb}Id`, text('takeout:Photos from 2024/IMG_0042.jpg')],
    [`${NS.pb}Source`, text('takeout')],
    [`${NS.photoshop}DateCreated`, text('2024-03-17T14:05:09+01:00')],
    [`${NS.tiff}Make`, text('Google')],
    [`${NS.tiff}Model`, text('Pixel 8')],
    [`${NS.xmp}CreateDate`, text('2024-03-17T14:05:09+01:00')],
    [`${NS.xmp}Rating`, text('5')],
  ]);
  assert.deepEqual(properties, expected);
});

test('GPS coordinates read back within 1e-6 degrees, in every hemisphere', () => {
  for (const [latitude, longitude] of [
    [54.6737861, 11.9607639],
    [-33.8567844, 151.2152967],
    [40.6892494, -74.0445004],
    [-54.8019121, -68.3029511],
    [89.9999999, 179.9999999],
    [-0.0000004, 0.0000004],
  ] as const) {
    const { properties } = readXmp(buildXmpPacket({ ...full, location: { latitude, longitude } }));
    const lat = properties.get(`${NS.exif}GPSLatitude`);
    const lon = properties.get(`${NS.exif}GPSLongitude`);
    assert.ok(lat?.kind === 'text' && lon?.kind === 'text');
    assert.ok(Math.abs(gpsDecimal(lat.value) - latitude) < 1e-6, `${lat.value} for ${latitude}`);
    assert.ok(Math.abs(gpsDecimal(lon.value) - longitude) < 1e-6, `${lon.value} for ${longitude}`);
  }
});

for (const { degrees, expected } of [
  { degrees: 0.5, expected: '0,30.000000N' },
  { degrees: -0.5, expected: '0,30.000000S' },
  { degrees: 12.9999999999, expected: '13,00.000000N' },
  { degrees: -90, expected: '90,00.000000S' },
  { degrees: -0.000000001, expected: '0,00.000000N' },
]) {
  test(`formatGpsCoordinate(${degrees}) is ${expected} (minutes never print as 60)`, () =>
    assert.equal(formatGpsCoordinate(degrees, 'N', 'S'), expected));
}

for (const { value, expected } of [
  { value: 40, expected: '40/1' },
  { value: 40.65, expected: '813/20' },
  { value: 0.001, expected: '1/1000' },
  { value: 0, expected: '0/1' },
]) {
  test(`formatRational(${value}) is ${expected}`, () => assert.equal(formatRational(value), expected));
}

test('below sea level is a positive altitude with GPSAltitudeRef 1', () => {
  const { properties } = readXmp(
    buildXmpPacket({ ...full, location: { latitude: 31.5, longitude: 35.5, altitude: -430.5 } }),
  );
  assert.deepEqual(properties.get(`${NS.exif}GPSAltitude`), text('861/2'));
  assert.deepEqual(properties.get(`${NS.exif}GPSAltitudeRef`), text('1'));
});

for (const { instant, offset, expected } of [
  { instant: '2024-03-17T13:05:09Z', offset: 0, expected: '2024-03-17T13:05:09+00:00' },
  { instant: '2024-03-17T23:30:00Z', offset: 330, expected: '2024-03-18T05:00:00+05:30' },
  { instant: '2024-03-17T02:00:00Z', offset: -570, expected: '2024-03-16T16:30:00-09:30' },
  { instant: '2024-03-17T13:05:09.120Z', offset: 60, expected: '2024-03-17T14:05:09.120+01:00' },
  { instant: '1969-07-20T20:17:40Z', offset: -300, expected: '1969-07-20T15:17:40-05:00' },
  { instant: '0001-01-01T00:00:00Z', offset: 0, expected: '0001-01-01T00:00:00+00:00' },
]) {
  test(`formatXmpDate(${instant}, ${offset}) is ${expected}`, () =>
    assert.equal(formatXmpDate(new Date(instant), offset), expected));
}

for (const { instant, offset, why } of [
  { instant: 'not a date', offset: 0, why: 'an invalid date' },
  { instant: '+010000-01-01T00:00:00Z', offset: 0, why: 'a five-digit year' },
  { instant: '2024-01-01T00:00:00Z', offset: 19 * 60, why: 'an offset beyond ±18 h' },
  { instant: '2024-01-01T00:00:00Z', offset: 0.5, why: 'a fractional offset' },
]) {
  test(`no capture time is written for ${why}`, () => {
    assert.equal(formatXmpDate(new Date(instant), offset), undefined);
    const { properties } = readXmp(
      buildXmpPacket({ source: 'picker', id: 'x', takenAt: new Date(instant), utcOffsetMinutes: offset }),
    );
    assert.deepEqual([...properties.keys()], [`${NS.pb}Id`, `${NS.pb}Source`]);
  });
}

test('an item with nothing known gets only its source and id, and declares no unused namespace', () => {
  const packet = buildXmpPacket({
    source: 'library',
    id: 'AGj1ep',
    people: [],
    albums: [' '],
    description: '',
  });
  const { properties } = readXmp(packet);
  assert.deepEqual(
    properties,
    new Map([
      [`${NS.pb}Id`, text('AGj1ep')],
      [`${NS.pb}Source`, text('library')],
    ]),
  );
  for (const namespace of [NS.dc, NS.exif, NS.xmp, NS.lr, NS.iptcExt]) assert.ok(!packet.includes(namespace));
});

test('all-zero coordinates and coordinates off the globe are no location', () => {
  for (const location of [
    { latitude: 0, longitude: 0, altitude: 12 },
    { latitude: 91, longitude: 10 },
    { latitude: 10, longitude: -180.5 },
    { latitude: Number.NaN, longitude: 10 },
  ]) {
    const { properties } = readXmp(buildXmpPacket({ ...full, location }));
    assert.ok(!properties.has(`${NS.exif}GPSLatitude`), JSON.stringify(location));
    assert.ok(!properties.has(`${NS.exif}GPSAltitude`), JSON.stringify(location));
  }
});

test('not a favourite writes no rating (unrated, not rated 0)', () => {
  const { properties } = readXmp(buildXmpPacket({ ...full, favorite: false }));
  assert.ok(!properties.has(`${NS.xmp}Rating`));
});

test('a | inside an album name does not become a deeper keyword level', () => {
  const { properties } = readXmp(buildXmpPacket({ ...full, albums: ['Trip|2024'] }));
  assert.deepEqual(properties.get(`${NS.dc}subject`), bag('Trip|2024'));
  assert.deepEqual(properties.get(`${NS.lr}hierarchicalSubject`), bag('Albums|Trip\uff5c2024'));
});

const HOSTILE: { name: string; value: string; expected: string }[] = [
  { name: 'markup', value: '<b>"x" & \'y\'</b>', expected: '<b>"x" & \'y\'</b>' },
  { name: 'CDATA end', value: 'a]]>b]]', expected: 'a]]>b]]' },
  { name: 'entity look-alike', value: '&amp;&lt;&#0;&#x1;', expected: '&amp;&lt;&#0;&#x1;' },
  {
    name: 'C0 controls',
    value: 'a\u0000b\u0001c\u0008d\u000be\u000cf\u001bg\u001f',
    expected: 'a�b�c�d�e�f�g�',
  },
  { name: 'tab, LF, CR and CRLF', value: 'a\tb\nc\rd\r\ne', expected: 'a\tb\nc\rd\r\ne' },
  { name: 'lone surrogates', value: 'a\ud800b\udc00c\ud83d', expected: 'a�b�c�' },
  { name: 'U+FFFE and U+FFFF', value: 'a\ufffeb\uffffc', expected: 'a�b�c' },
  {
    name: 'BOM, bidi override and emoji',
    value: '\ufeffIMG_\u202egpj.exe 😀',
    expected: '\ufeffIMG_\u202egpj.exe 😀',
  },
  { name: 'C1 controls and NEL (allowed in XML 1.0)', value: 'a\u0085b\u009fc', expected: 'a\u0085b\u009fc' },
];

for (const { name, value, expected } of HOSTILE) {
  test(`hostile text (${name}) reads back as the same text, unrepresentable characters as U+FFFD`, () => {
    assert.equal(toWellFormedXml(value), expected);
    const packet = buildXmpPacket({
      source: 'takeout',
      id: `takeout:${value}`,
      title: `${value}.jpg`,
      description: value,
      people: [`${value} person`],
      albums: [`${value} album`],
      cameraMake: `${value} make`,
    });
    // The bytes are UTF-8 a strict decoder accepts, without a byte order mark.
    const bytes = Buffer.from(packet, 'utf8');
    assert.equal(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes), packet);
    assert.ok(packet.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n'));
    const { properties } = readXmp(packet);
    assert.deepEqual(properties.get(`${NS.dc}title`), alt(`${expected}.jpg`));
    assert.deepEqual(properties.get(`${NS.dc}description`), alt(expected));
    assert.deepEqual(properties.get(`${NS.iptcExt}PersonInImage`), bag(`${expected} person`));
    assert.deepEqual(properties.get(`${NS.dc}subject`), bag(`${expected} album`));
    assert.deepEqual(properties.get(`${NS.tiff}Make`), text(`${expected} make`));
    assert.deepEqual(properties.get(`${NS.pb}Id`), text(`takeout:${expected}`));
  });
}

test('the same facts give the same bytes, whatever the order of people and albums', () => {
  const first = buildXmpPacket(full);
  assert.equal(buildXmpPacket({ ...full }), first);
  assert.equal(
    buildXmpPacket({ ...full, people: ['Ana', 'Susan', 'Ana'], albums: ['Family', 'Trip 2024'] }),
    first,
  );
  assert.notEqual(buildXmpPacket({ ...full, description: 'Other' }), first);
});

/**
 * exiftool is the reader most photo tools trust; where it is installed (CI installs
 * libimage-exiftool-perl), it must read every sidecar without a warning and find the values.
 * PHOTO_BACKUP_REQUIRE_EXIFTOOL=1 turns a missing exiftool into a failure instead of a skip.
 */
function exiftool(args: string[]): { missing: true } | { missing: false; json: Record<string, unknown>[] } {
  const run = spawnSync('exiftool', args, { encoding: 'utf8' });
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return { missing: true };
  assert.equal(run.error, undefined);
  assert.equal(run.status, 0, run.stderr);
  return { missing: false, json: JSON.parse(run.stdout) };
}

test('exiftool (needs exiftool installed) reads the sidecars without warnings and finds every value', async (t) => {
  const probe = exiftool(['-ver', '-j']);
  if (probe.missing) {
    if (process.env.PHOTO_BACKUP_REQUIRE_EXIFTOOL === '1')
      assert.fail(
        'exiftool is not installed but PHOTO_BACKUP_REQUIRE_EXIFTOOL=1: install libimage-exiftool-perl',
      );
    t.skip(
      'exiftool is not installed (apt-get install libimage-exiftool-perl); set PHOTO_BACKUP_REQUIRE_EXIFTOOL=1 to fail instead',
    );
    console.log('# skipped: exiftool is not installed');
    return;
  }
  const dir = await tempFolder(t);
  const hostile = HOSTILE.map((entry) => entry.value).join(' | ');
  const cases: { name: string; facts: ItemFacts }[] = [
    { name: 'full.jpg', facts: full },
    { name: 'minimal.jpg', facts: { source: 'picker', id: 'AF1Qip' } },
    {
      name: 'south-west.jpg',
      facts: {
        source: 'library',
        id: 'AGj1ep',
        takenAt: new Date('1969-07-20T20:17:40Z'),
        utcOffsetMinutes: -570,
        location: { latitude: -54.8019121, longitude: -68.3029511, altitude: -12.25 },
      },
    },
    {
      name: 'hostile.jpg',
      facts: {
        source: 'takeout',
        id: `takeout:${hostile}`,
        title: hostile,
        description: hostile,
        people: [hostile, 'Zoë'],
        albums: [hostile],
      },
    },
  ];
  const files = [];
  for (const { name, facts } of cases) {
    const file = path.join(dir, `${name}.xmp`);
    await writeFile(file, buildXmpPacket(facts));
    files.push(file);
  }
  // The check itself: exiftool does warn on a broken packet, so "no warning" below means something.
  const broken = path.join(dir, 'broken.jpg.xmp');
  await writeFile(broken, buildXmpPacket(full).replace('</dc:title>', '</dc:titel>'));
  const check = exiftool(['-j', '-G1', '-a', '-warning', broken]);
  assert.ok(!check.missing && JSON.stringify(check.json).includes('Warning'), JSON.stringify(check));

  const warnings = exiftool(['-j', '-G1', '-a', '-warning', ...files]);
  assert.ok(!warnings.missing);
  for (const entry of warnings.json)
    assert.deepEqual(Object.keys(entry), ['SourceFile'], JSON.stringify(entry));

  const read = exiftool(['-j', '-G1', '-a', '-n', '-struct', ...files]);
  assert.ok(!read.missing);
  const [all, minimal, southWest, hostileRead] = read.json as Record<string, unknown>[];
  const near = (actual: unknown, expected: number) =>
    assert.ok(typeof actual === 'number' && Math.abs(actual - expected) < 1e-6, `${actual} ≠ ${expected}`);

  assert.equal(all?.['XMP-exif:DateTimeOriginal'], '2024:03:17 14:05:09+01:00');
  assert.equal(all?.['XMP-xmp:CreateDate'], '2024:03:17 14:05:09+01:00');
  near(all?.['XMP-exif:GPSLatitude'], 54.6737861);
  near(all?.['XMP-exif:GPSLongitude'], -11.9607639);
  near(all?.['Composite:GPSAltitude'], 40.5);
  assert.equal(all?.['XMP-xmp:Rating'], 5);
  assert.deepEqual(all?.['XMP-iptcExt:PersonInImage'], ['Ana', 'Susan']);
  assert.deepEqual(all?.['XMP-dc:Subject'], ['Family', 'Trip 2024']);
  assert.deepEqual(all?.['XMP-lr:HierarchicalSubject'], ['Albums|Family', 'Albums|Trip 2024']);
  assert.equal(all?.['XMP-dc:Title'], 'IMG_0042.jpg');
  assert.equal(all?.['XMP-dc:Description'], 'Dinner on the roof');
  assert.equal(all?.['XMP-tiff:Make'], 'Google');
  assert.equal(all?.['XMP-tiff:Model'], 'Pixel 8');
  assert.equal(all?.['XMP-photobackup:Source'], 'takeout');
  assert.equal(all?.['XMP-photobackup:Id'], 'takeout:Photos from 2024/IMG_0042.jpg');

  assert.equal(minimal?.['XMP-photobackup:Id'], 'AF1Qip');
  assert.equal(minimal?.['XMP-exif:DateTimeOriginal'], undefined);

  assert.equal(southWest?.['XMP-exif:DateTimeOriginal'], '1969:07:20 10:47:40-09:30');
  near(southWest?.['XMP-exif:GPSLatitude'], -54.8019121);
  near(southWest?.['XMP-exif:GPSLongitude'], -68.3029511);
  near(southWest?.['Composite:GPSAltitude'], -12.25);

  const expectedHostile = toWellFormedXml(hostile);
  assert.equal(hostileRead?.['XMP-dc:Title'], expectedHostile);
  assert.equal(hostileRead?.['XMP-dc:Description'], expectedHostile);
  assert.deepEqual(hostileRead?.['XMP-iptcExt:PersonInImage'], [expectedHostile, 'Zoë'].sort());
  assert.equal(hostileRead?.['XMP-photobackup:Id'], `takeout:${expectedHostile}`);
});
