/**
 * One Takeout export of the emulator's items, as --demo puts it in the emulator's Drive: the
 * Google Photos year folders, each photo and its sidecar, stored zip entries split into two parts
 * so that one sidecar lands in the part after its photo (as real split exports do).
 */
import { crc32 } from 'node:zlib';
import type { DriveStore } from './drive.ts';
import { contentBuffer, type EmulatorItem } from './items.ts';

interface Entry {
  name: string;
  data: Buffer;
}

/** A zip of stored entries (no compression): local headers, data, central directory, end record. */
export function storedZip(entries: readonly Entry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const raw = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(raw.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(raw.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, raw, data);
    centrals.push(central, raw);
    offset += 30 + raw.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** Puts one two-part export of `items` in a Drive folder named `Takeout`; returns how many parts. */
export function putDemoExport(drive: DriveStore, items: readonly EmulatorItem[], made: Date): number {
  const entries: Entry[] = [];
  const used = new Map<string, number>();
  for (const item of items) {
    const folder = `Takeout/Google Photos/Photos from ${item.creationTime.slice(0, 4)}`;
    const taken = String(Math.floor(Date.parse(item.creationTime) / 1000));
    const sidecar = {
      title: item.filename,
      photoTakenTime: { timestamp: taken },
      creationTime: { timestamp: taken },
      // The photo's page: Google's id of it, the same in every later export that holds it again.
      url: `https://photos.google.com/photo/${item.id.replace(/[^A-Za-z0-9_-]/g, '_')}`,
    };
    // Takeout numbers same-named files of one folder: the photo `IMG(1).jpg`, its sidecar
    // `IMG.jpg.supplemental-metadata(1).json`. Without it the second is the first's duplicate entry.
    const seen = used.get(`${folder}/${item.filename}`) ?? 0;
    used.set(`${folder}/${item.filename}`, seen + 1);
    const suffix = seen === 0 ? '' : `(${seen})`;
    const dot = item.filename.lastIndexOf('.');
    const name =
      dot < 0
        ? `${item.filename}${suffix}`
        : `${item.filename.slice(0, dot)}${suffix}${item.filename.slice(dot)}`;
    entries.push({ name: `${folder}/${name}`, data: contentBuffer(item) });
    entries.push({
      name: `${folder}/${item.filename}.supplemental-metadata${suffix}.json`,
      data: Buffer.from(JSON.stringify(sidecar)),
    });
  }
  // Split after a photo, before its sidecar.
  const half = Math.max(1, Math.floor(entries.length / 4) * 2 - 1);
  const folder = drive.add({ name: 'Takeout', parents: ['root'] });
  const stamp = made
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  [entries.slice(0, half), entries.slice(half)].forEach((part, index) => {
    drive.add({
      name: `takeout-${stamp}-${String(index + 1).padStart(3, '0')}.zip`,
      mimeType: 'application/x-zip-compressed',
      parents: [folder.id],
      content: storedZip(part),
      createdTime: made.toISOString(),
    });
  });
  return 2;
}
