import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type ItemFacts, PHOTO_BACKUP_NAMESPACE } from '../../src/metadata/xmp.ts';
import type { XmpValue } from './xml.ts';

/** Namespace names of the properties a sidecar can hold, as readXmp keys them. */
export const NS = {
  dc: 'http://purl.org/dc/elements/1.1/',
  exif: 'http://ns.adobe.com/exif/1.0/',
  iptcExt: 'http://iptc.org/std/Iptc4xmpExt/2008-02-29/',
  lr: 'http://ns.adobe.com/lightroom/1.0/',
  photoshop: 'http://ns.adobe.com/photoshop/1.0/',
  tiff: 'http://ns.adobe.com/tiff/1.0/',
  xmp: 'http://ns.adobe.com/xap/1.0/',
  pb: PHOTO_BACKUP_NAMESPACE,
};

export const text = (value: string): XmpValue => ({ kind: 'text', value });
export const alt = (value: string): XmpValue => ({ kind: 'alt', values: [value] });
export const bag = (...values: string[]): XmpValue => ({ kind: 'bag', values });

/** An item with every fact known. */
export const FULL_FACTS: ItemFacts = {
  source: 'takeout',
  id: 'takeout:Photos from 2024/IMG_0042.jpg',
  takenAt: new Date('2024-03-17T13:05:09Z'),
  utcOffsetMinutes: 60,
  location: { latitude: 54.6737861, longitude: -11.9607639, altitude: 40.5 },
  title: 'IMG_0042.jpg',
  description: 'Dinner on the roof',
  people: ['Susan', 'Ana'],
  albums: ['Trip 2024', 'Family'],
  favorite: true,
  cameraMake: 'Google',
  cameraModel: 'Pixel 8',
};

/** A temporary folder removed after the test. */
export async function tempFolder(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'photo-backup-xmp-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
