/**
 * Builds Takeout-like archives in memory for tests: a tiny zip writer (stored, deflate, ZIP64
 * records, the encrypted flag, odd methods), a ustar/pax tar writer with gzip, small valid
 * JPEGs with an EXIF DateTimeOriginal, and minimal ISO-BMFF files (a HEIC with an Exif item, an
 * MP4/MOV with mvhd and QuickTime date tags). Nothing here is used by the product.
 */

import { createHash } from 'node:crypto';
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';

export interface ArchiveEntry {
  name: string;
  data: Uint8Array | string;
}

export interface ZipEntryOptions extends ArchiveEntry {
  method?: 'store' | 'deflate';
  /** Sets general purpose bit 0, as a password-protected zip would. */
  encrypted?: boolean;
  /** A raw compression method number to write instead (12 = bzip2). */
  methodCode?: number;
  /** A Unix mode for the external attributes (`0o120777` is a symbolic link, as `zip -y` stores one). */
  unixMode?: number;
  /** Writes this uncompressed size in both headers instead of the data's own (a lying archive). */
  declaredSize?: number;
  /** Raw deflate bytes to store as they are (`data` is then only for the CRC-32). */
  deflated?: Buffer;
}

function bytesOf(data: Uint8Array | string): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
}

/** A zip with a central directory. `zip64` writes every size/offset through ZIP64 records. */
export function buildZip(entries: readonly ZipEntryOptions[], options: { zip64?: boolean } = {}): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const data = bytesOf(entry.data);
    const name = Buffer.from(entry.name, 'utf8');
    const deflate = (entry.method ?? 'deflate') === 'deflate';
    const stored = entry.deflated ?? (deflate ? deflateRawSync(data) : data);
    const method = entry.methodCode ?? (deflate ? 8 : 0);
    const flags = 0x800 | (entry.encrypted ? 1 : 0);
    const crc = crc32(data);
    const zip64 = options.zip64 === true;
    const extra = Buffer.alloc(zip64 ? 28 : 0);
    if (zip64) {
      extra.writeUInt16LE(0x0001, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(entry.declaredSize ?? data.length), 4);
      extra.writeBigUInt64LE(BigInt(stored.length), 12);
      extra.writeBigUInt64LE(BigInt(offset), 20);
    }
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(zip64 ? 45 : 20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(zip64 ? 0xffffffff : stored.length, 18);
    const declared = entry.declaredSize ?? data.length;
    local.writeUInt32LE(zip64 ? 0xffffffff : declared, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(zip64 ? 20 : 0, 28);
    const localExtra = zip64 ? Buffer.alloc(20) : Buffer.alloc(0);
    if (zip64) {
      localExtra.writeUInt16LE(0x0001, 0);
      localExtra.writeUInt16LE(16, 2);
      localExtra.writeBigUInt64LE(BigInt(declared), 4);
      localExtra.writeBigUInt64LE(BigInt(stored.length), 12);
    }
    locals.push(local, name, localExtra, stored);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(0x031e, 4);
    central.writeUInt16LE(zip64 ? 45 : 20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(zip64 ? 0xffffffff : stored.length, 20);
    central.writeUInt32LE(zip64 ? 0xffffffff : declared, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(extra.length, 30);
    if (entry.unixMode !== undefined) central.writeUInt32LE((entry.unixMode << 16) >>> 0, 38);
    central.writeUInt32LE(zip64 ? 0xffffffff : offset, 42);
    centrals.push(central, name, extra);
    offset += 30 + name.length + localExtra.length + stored.length;
  }
  const directory = Buffer.concat(centrals);
  const end = zipEndRecords({
    entries: entries.length,
    directoryLength: directory.length,
    directoryAt: offset,
    zip64: options.zip64 === true,
  });
  return Buffer.concat([...locals, directory, end]);
}

/**
 * A zip's end: with `zip64`, the ZIP64 end record and its locator (APPNOTE 4.3.14, 4.3.15), then
 * the end of central directory record whose fields all say "see ZIP64"; else the plain end record.
 * `entries` is what the records claim (a test may make it lie).
 */
export function zipEndRecords(end: {
  entries: number;
  directoryLength: number;
  directoryAt: number;
  zip64: boolean;
}): Buffer {
  const tail: Buffer[] = [];
  if (end.zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeUInt16LE(45, 12);
    record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(end.entries), 24);
    record.writeBigUInt64LE(BigInt(end.entries), 32);
    record.writeBigUInt64LE(BigInt(end.directoryLength), 40);
    record.writeBigUInt64LE(BigInt(end.directoryAt), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(end.directoryAt + end.directoryLength), 8);
    locator.writeUInt32LE(1, 16);
    tail.push(record, locator);
  }
  const record = Buffer.alloc(22);
  record.writeUInt32LE(0x06054b50, 0);
  record.writeUInt16LE(end.zip64 ? 0xffff : end.entries, 8);
  record.writeUInt16LE(end.zip64 ? 0xffff : end.entries, 10);
  record.writeUInt32LE(end.zip64 ? 0xffffffff : end.directoryLength, 12);
  record.writeUInt32LE(end.zip64 ? 0xffffffff : end.directoryAt, 16);
  tail.push(record);
  return Buffer.concat(tail);
}

export function tarHeader(name: string, size: number, type: string): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'utf8');
  header.write('0000644\0', 100, 'latin1');
  header.write('0000000\0', 108, 'latin1');
  header.write('0000000\0', 116, 'latin1');
  header.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  header.write(`${(1_700_000_000).toString(8).padStart(11, '0')}\0`, 136, 'latin1');
  header.write('        ', 148, 'latin1');
  header.write(type, 156, 'latin1');
  header.write('ustar\0', 257, 'latin1');
  header.write('00', 263, 'latin1');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return header;
}

export function padded(data: Buffer): Buffer {
  const padding = (512 - (data.length % 512)) % 512;
  return Buffer.concat([data, Buffer.alloc(padding)]);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length)
    length = String(length).length + Buffer.byteLength(body);
  return `${length}${body}`;
}

/** A tar: ustar headers, with a pax `path` record for names that do not fit (or are not ASCII). */
export function buildTar(entries: readonly (ArchiveEntry & { directory?: boolean })[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const data = entry.directory ? Buffer.alloc(0) : bytesOf(entry.data);
    const ascii = /^[\x20-\x7e]*$/.test(entry.name);
    if (!ascii || Buffer.byteLength(entry.name) > 100) {
      const pax = Buffer.from(paxRecord('path', entry.name), 'utf8');
      blocks.push(tarHeader('PaxHeader/entry', pax.length, 'x'), padded(pax));
    }
    const shortName = ascii ? entry.name.slice(0, 100) : 'non-ascii-name';
    blocks.push(tarHeader(shortName, data.length, entry.directory ? '5' : '0'), padded(data));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export function buildTgz(entries: readonly ArchiveEntry[]): Buffer {
  return gzipSync(buildTar(entries));
}

export interface JpegOptions {
  /** EXIF DateTimeOriginal, `YYYY:MM:DD HH:MM:SS`. */
  dateTimeOriginal?: string;
  /** EXIF OffsetTimeOriginal, `+02:00`. */
  offsetTimeOriginal?: string;
  /** A JPEG comment, to make otherwise equal images differ in bytes. */
  comment?: string;
  bigEndian?: boolean;
  /** Gray level of the 8×8 image, -1016..1016 in DC steps (0 = mid gray). */
  shade?: number;
}

function exifSegment(options: JpegOptions): Buffer | undefined {
  const tiff = exifTiff(options);
  if (!tiff) return undefined;
  const payload = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(payload.length + 2);
  return Buffer.concat([Buffer.from([0xff, 0xe1]), length, payload]);
}

/** TIFF bytes: IFD0 with a pointer to an Exif IFD holding the given date tags. */
export function exifTiff(options: JpegOptions): Buffer | undefined {
  const tags: Array<[number, string]> = [];
  if (options.dateTimeOriginal !== undefined) tags.push([0x9003, options.dateTimeOriginal]);
  if (options.offsetTimeOriginal !== undefined) tags.push([0x9011, options.offsetTimeOriginal]);
  if (tags.length === 0) return undefined;
  const little = !options.bigEndian;
  const u16 = (value: number) => {
    const buffer = Buffer.alloc(2);
    if (little) buffer.writeUInt16LE(value);
    else buffer.writeUInt16BE(value);
    return buffer;
  };
  const u32 = (value: number) => {
    const buffer = Buffer.alloc(4);
    if (little) buffer.writeUInt32LE(value);
    else buffer.writeUInt32BE(value);
    return buffer;
  };
  // TIFF header (8) + IFD0 with one entry (2 + 12 + 4) = 26; the Exif IFD follows.
  const exifIfdAt = 26;
  const valuesAt = exifIfdAt + 2 + tags.length * 12 + 4;
  const entries: Buffer[] = [];
  const values: Buffer[] = [];
  let valueOffset = valuesAt;
  for (const [tag, text] of tags) {
    const value = Buffer.from(`${text}\0`, 'latin1');
    entries.push(
      u16(tag),
      u16(2),
      u32(value.length),
      value.length <= 4 ? Buffer.concat([value, Buffer.alloc(4 - value.length)]) : u32(valueOffset),
    );
    if (value.length > 4) {
      values.push(value);
      valueOffset += value.length;
    }
  }
  const tiff = Buffer.concat([
    Buffer.from(little ? 'II' : 'MM', 'latin1'),
    u16(42),
    u32(8),
    u16(1),
    u16(0x8769),
    u16(4),
    u32(1),
    u32(exifIfdAt),
    u32(0),
    u16(tags.length),
    ...entries,
    u32(0),
    ...values,
  ]);
  return tiff;
}

function segment(marker: number, body: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(body.length + 2);
  return Buffer.concat([Buffer.from([0xff, marker]), length, body]);
}

/**
 * A valid baseline 8×8 grayscale JPEG: every coefficient but DC is zero, with one-code Huffman
 * tables, so any decoder shows a flat gray square. EXIF and a comment are optional.
 */
export function makeJpeg(options: JpegOptions = {}): Buffer {
  const parts: Buffer[] = [Buffer.from([0xff, 0xd8])];
  const exif = exifSegment(options);
  if (exif) parts.push(exif);
  if (options.comment !== undefined) parts.push(segment(0xfe, Buffer.from(options.comment, 'utf8')));
  parts.push(segment(0xdb, Buffer.concat([Buffer.from([0x00]), Buffer.alloc(64, 8)])));
  parts.push(segment(0xc0, Buffer.from([8, 0, 8, 0, 8, 1, 1, 0x11, 0])));
  const shade = Math.max(-127, Math.min(127, Math.round(options.shade ?? 0)));
  if (shade === 0) {
    // DC table: one code "0" for category 0; AC table: one code "0" for end-of-block.
    parts.push(segment(0xc4, Buffer.from([0x00, 1, ...Array(15).fill(0), 0x00])));
    parts.push(segment(0xc4, Buffer.from([0x10, 1, ...Array(15).fill(0), 0x00])));
    parts.push(segment(0xda, Buffer.from([1, 1, 0x00, 0, 63, 0])));
    parts.push(Buffer.from([0x3f]));
  } else {
    // DC category 7 holds ±64..127 (quantized by 8: 512..1016 levels of brightness).
    const magnitude = Math.max(64, Math.abs(shade));
    const bits = shade > 0 ? magnitude : magnitude ^ 0x7f;
    parts.push(segment(0xc4, Buffer.from([0x00, 1, ...Array(15).fill(0), 0x07])));
    parts.push(segment(0xc4, Buffer.from([0x10, 1, ...Array(15).fill(0), 0x00])));
    parts.push(segment(0xda, Buffer.from([1, 1, 0x00, 0, 63, 0])));
    // "0" (DC code) + 7 value bits + "0" (EOB), padded with ones.
    const stream = `0${bits.toString(2).padStart(7, '0')}0`.padEnd(16, '1');
    const bytes = [Number.parseInt(stream.slice(0, 8), 2), Number.parseInt(stream.slice(8, 16), 2)];
    parts.push(Buffer.from(bytes.flatMap((byte) => (byte === 0xff ? [0xff, 0x00] : [byte]))));
  }
  parts.push(Buffer.from([0xff, 0xd9]));
  return Buffer.concat(parts);
}

export interface SidecarOptions {
  title: string;
  photoTakenTime?: string | number;
  creationTime?: string;
  geoData?: { latitude: number; longitude: number; altitude?: number };
  geoDataExif?: { latitude: number; longitude: number; altitude?: number };
  description?: string;
  trashed?: boolean;
  archived?: boolean;
  favorited?: boolean;
  /** Names of the people Google Photos recognised (`people[].name`). */
  people?: string[];
  /**
   * The photo's page, `https://photos.google.com/photo/<id>`: Google's id, the same in every export.
   * Unset: an id made from the title and date, so two sidecars of one photo agree and two photos differ.
   */
  url?: string;
}

/** A photo sidecar as Google writes it. */
export function makeSidecar(options: SidecarOptions): string {
  const json: Record<string, unknown> = {
    title: options.title,
    description: options.description ?? '',
    imageViews: '0',
    creationTime: {
      timestamp: options.creationTime ?? '1735858677',
      formatted: 'Jan 2, 2025, 10:57:57 PM UTC',
    },
    url:
      options.url ??
      `https://photos.google.com/photo/AF1Qip${createHash('sha256')
        .update(`${options.title}\n${options.photoTakenTime ?? ''}`)
        .digest('hex')
        .slice(0, 24)}`,
  };
  if (options.photoTakenTime !== undefined) {
    json.photoTakenTime = { timestamp: options.photoTakenTime, formatted: 'ignored' };
  }
  json.geoData = {
    latitude: 0,
    longitude: 0,
    altitude: 0,
    latitudeSpan: 0,
    longitudeSpan: 0,
    ...options.geoData,
  };
  json.geoDataExif = {
    latitude: 0,
    longitude: 0,
    altitude: 0,
    latitudeSpan: 0,
    longitudeSpan: 0,
    ...options.geoDataExif,
  };
  if (options.trashed) json.trashed = true;
  if (options.archived) json.archived = true;
  if (options.favorited) json.favorited = true;
  if (options.people) json.people = options.people.map((name) => ({ name }));
  return `${JSON.stringify(json, null, 2)}\n`;
}

/** An album `metadata.json`. */
export function makeAlbumJson(title: string): string {
  return `${JSON.stringify({ title, description: '', access: 'protected', date: { timestamp: '0', formatted: '' } }, null, 2)}\n`;
}

// ---------------------------------------------------------------------------------------------
// ISO-BMFF (HEIC, MP4/MOV)

/** A box: 32-bit size, type, payload. `largeSize` writes size 1 and a 64-bit size. */
export function isoBox(type: string, payload: Uint8Array | readonly Uint8Array[], largeSize = false): Buffer {
  const body = Buffer.concat(payload instanceof Uint8Array ? [payload] : [...payload]);
  const header = Buffer.alloc(largeSize ? 16 : 8);
  if (largeSize) {
    header.writeUInt32BE(1, 0);
    header.writeBigUInt64BE(BigInt(body.length + 16), 8);
  } else {
    header.writeUInt32BE(body.length + 8, 0);
  }
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, body]);
}

/** A FullBox: a version byte and 24 bits of flags before the payload. */
export function isoFullBox(type: string, version: number, payload: readonly Uint8Array[] = []): Buffer {
  return isoBox(type, [Buffer.from([version, 0, 0, 0]), ...payload]);
}

function uintBytes(value: number, size: number): Buffer {
  const buffer = Buffer.alloc(size);
  if (size === 2) buffer.writeUInt16BE(value);
  else if (size === 4) buffer.writeUInt32BE(value);
  else if (size === 8) buffer.writeBigUInt64BE(BigInt(value));
  return buffer;
}

export interface HeicOptions {
  dateTimeOriginal?: string;
  offsetTimeOriginal?: string;
  /** Where the Exif item lives: in `mdat` (construction method 0) or `idat` (method 1). */
  exifIn?: 'mdat' | 'idat';
  ilocVersion?: 0 | 1 | 2;
  /** Field sizes in `iloc`: 0, 4 or 8 bytes. With a base offset, the extent offset is relative. */
  offsetSize?: 0 | 4 | 8;
  lengthSize?: 0 | 4 | 8;
  baseOffsetSize?: 0 | 4 | 8;
  infeVersion?: 2 | 3;
  brand?: string;
  /** Leave out the `Exif\0\0` before the TIFF header (its offset field is then 0). */
  bareTiff?: boolean;
  /** Bytes of fake image data before the Exif payload in `mdat`. */
  imageBytes?: number;
  /** Extra image items (tiles) listed in iinf before the Exif item, as big HEICs have. */
  tileItems?: number;
  /** Write `mdat` before `meta`, as Samsung phones do. */
  metaAfterMdat?: boolean;
}

/**
 * A minimal HEIF: ftyp, meta (hdlr, pitm, iinf with an image item and an 'Exif' item, iloc, and
 * optionally idat), then mdat. Not decodable as an image; enough for a metadata reader.
 */
export function makeHeic(options: HeicOptions = {}): Buffer {
  const ilocVersion = options.ilocVersion ?? (options.exifIn === 'idat' ? 1 : 0);
  const offsetSize = options.offsetSize ?? 4;
  const lengthSize = options.lengthSize ?? 4;
  const baseOffsetSize = options.baseOffsetSize ?? 0;
  const infeVersion = options.infeVersion ?? 2;
  const tiles = options.tileItems ?? 0;
  const tiff = exifTiff(options) ?? Buffer.alloc(0);
  const exifPayload = options.bareTiff
    ? Buffer.concat([uintBytes(0, 4), tiff])
    : Buffer.concat([uintBytes(6, 4), Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const image = Buffer.alloc(options.imageBytes ?? 64, 0x5a);
  const inIdat = options.exifIn === 'idat';
  const ftyp = isoBox('ftyp', [
    Buffer.from(options.brand ?? 'heic', 'latin1'),
    uintBytes(0, 4),
    Buffer.from('mif1heic', 'latin1'),
  ]);
  const infe = (id: number, type: string) =>
    infeVersion === 2
      ? isoFullBox('infe', 2, [uintBytes(id, 2), uintBytes(0, 2), Buffer.from(`${type}\0`, 'latin1')])
      : isoFullBox('infe', 3, [uintBytes(id, 4), uintBytes(0, 2), Buffer.from(`${type}\0`, 'latin1')]);
  const idSize = ilocVersion < 2 ? 2 : 4;
  const ilocItem = (id: number, method: number, base: number, offset: number, length: number) =>
    Buffer.concat([
      uintBytes(id, idSize),
      ilocVersion >= 1 ? uintBytes(method, 2) : Buffer.alloc(0),
      uintBytes(0, 2),
      uintBytes(base, baseOffsetSize),
      uintBytes(1, 2),
      uintBytes(offset, offsetSize),
      uintBytes(length, lengthSize),
    ]);
  const buildMeta = (mdatDataStart: number) => {
    const exifBase = baseOffsetSize > 0 && !inIdat ? mdatDataStart + image.length : 0;
    const exifOffset = inIdat ? 0 : mdatDataStart + image.length - exifBase;
    const iloc = isoFullBox('iloc', ilocVersion, [
      Buffer.from([(offsetSize << 4) | lengthSize, baseOffsetSize << 4]),
      uintBytes(2, idSize),
      ilocItem(
        1,
        0,
        baseOffsetSize > 0 ? mdatDataStart : 0,
        baseOffsetSize > 0 ? 0 : mdatDataStart,
        image.length,
      ),
      ilocItem(2, inIdat ? 1 : 0, exifBase, exifOffset, exifPayload.length),
    ]);
    return isoFullBox('meta', 0, [
      isoFullBox('hdlr', 0, [uintBytes(0, 4), Buffer.from('pict', 'latin1'), Buffer.alloc(13)]),
      isoFullBox('pitm', 0, [uintBytes(1, 2)]),
      isoFullBox('iinf', 0, [
        uintBytes(2 + tiles, 2),
        infe(1, 'hvc1'),
        ...Array.from({ length: tiles }, (_, index) => infe(3 + index, 'hvc1')),
        infe(2, 'Exif'),
      ]),
      iloc,
      ...(inIdat ? [isoBox('idat', exifPayload)] : []),
    ]);
  };
  const metaLength = buildMeta(0).length;
  const mdatDataStart = ftyp.length + (options.metaAfterMdat ? 0 : metaLength) + 8;
  const meta = buildMeta(mdatDataStart);
  const mdat = isoBox('mdat', inIdat ? [image] : [image, exifPayload]);
  return Buffer.concat(options.metaAfterMdat ? [ftyp, mdat, meta] : [ftyp, meta, mdat]);
}

/** Seconds since 1904-01-01 UTC, the QuickTime epoch. */
export function quickTimeSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000) + 2_082_844_800;
}

export interface Mp4Options {
  /** `ftyp` major brand: 'isom', 'mp42', 'qt  '. */
  brand?: string;
  mvhdVersion?: 0 | 1;
  /** mvhd creation_time in QuickTime seconds (see quickTimeSeconds); 0 when left out. */
  creationTime?: number;
  /** iTunes-style `moov/udta/meta/ilst/©day`. */
  day?: string;
  /** Classic QuickTime `moov/udta/©day` (16-bit length, language, text). */
  classicDay?: string;
  /** Apple `moov/meta` keys + ilst `com.apple.quicktime.creationdate`. */
  appleCreationDate?: string;
  /** Bytes of fake media data in `mdat` (default 1024). */
  mdatBytes?: number;
  /** `moov` before `mdat` ("fast start"); by default `mdat` comes first, as cameras write. */
  moovFirst?: boolean;
  /** Write mdat with a 64-bit size. */
  largeMdat?: boolean;
}

function ilstItem(type: Buffer, text: string): Buffer {
  return Buffer.concat([
    uintBytes(8 + 16 + Buffer.byteLength(text), 4),
    type,
    isoBox('data', [uintBytes(1, 4), uintBytes(0, 4), Buffer.from(text, 'utf8')]),
  ]);
}

/** A minimal MP4/MOV: ftyp, mdat and moov (mvhd, a trak stub, udta, meta) in either order. */
export function makeMp4(options: Mp4Options = {}): Buffer {
  const version = options.mvhdVersion ?? 0;
  const timeSize = version === 1 ? 8 : 4;
  const created = options.creationTime ?? 0;
  const mvhd = isoFullBox('mvhd', version, [
    uintBytes(created, timeSize),
    uintBytes(created, timeSize),
    uintBytes(600, 4),
    uintBytes(6000, timeSize),
    Buffer.alloc(80),
  ]);
  const udtaChildren: Buffer[] = [];
  if (options.classicDay !== undefined) {
    const text = Buffer.from(options.classicDay, 'latin1');
    udtaChildren.push(isoBox('\xa9day', [uintBytes(text.length, 2), uintBytes(0x55c4, 2), text]));
  }
  if (options.day !== undefined) {
    udtaChildren.push(
      isoFullBox('meta', 0, [
        isoFullBox('hdlr', 0, [uintBytes(0, 4), Buffer.from('mdirappl', 'latin1'), Buffer.alloc(9)]),
        isoBox('ilst', ilstItem(Buffer.from('\xa9day', 'latin1'), options.day)),
      ]),
    );
  }
  const moovChildren: Buffer[] = [mvhd, isoBox('trak', isoBox('tkhd', Buffer.alloc(84)))];
  if (udtaChildren.length > 0) moovChildren.push(isoBox('udta', udtaChildren));
  if (options.appleCreationDate !== undefined) {
    const keys = ['com.apple.quicktime.make', 'com.apple.quicktime.creationdate'];
    moovChildren.push(
      isoBox('meta', [
        isoFullBox('hdlr', 0, [uintBytes(0, 4), Buffer.from('mdta', 'latin1'), Buffer.alloc(13)]),
        isoFullBox('keys', 0, [
          uintBytes(keys.length, 4),
          ...keys.map((key) =>
            Buffer.concat([uintBytes(8 + key.length, 4), Buffer.from(`mdta${key}`, 'latin1')]),
          ),
        ]),
        isoBox('ilst', [
          ilstItem(uintBytes(1, 4), 'Apple'),
          ilstItem(uintBytes(2, 4), options.appleCreationDate),
        ]),
      ]),
    );
  }
  const ftyp = isoBox('ftyp', [
    Buffer.from((options.brand ?? 'isom').padEnd(4, ' '), 'latin1'),
    uintBytes(0x200, 4),
    Buffer.from('isomiso2mp41', 'latin1'),
  ]);
  const moov = isoBox('moov', moovChildren);
  const mdat = isoBox('mdat', Buffer.alloc(options.mdatBytes ?? 1024, 0x11), options.largeMdat === true);
  return Buffer.concat(options.moovFirst ? [ftyp, moov, mdat] : [ftyp, mdat, moov]);
}
