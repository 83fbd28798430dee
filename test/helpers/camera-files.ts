/**
 * Byte builders for the layouts real cameras and phones write, for the date readers' tests: a
 * JPEG whose EXIF follows big APP segments, TIFF-based raw files (the Exif IFD anywhere, every
 * raw magic), PNG with `eXIf`, WebP with `EXIF`. Small and synthetic: no real photo is copied.
 * Each one reads back with exiftool (`exiftool -time:all -G1 -a file`) as the tests expect.
 */

import { crc32, deflateSync } from 'node:zlib';

/** EXIF tag numbers used here. */
export const TAG = {
  dateTime: 0x0132,
  exifIfd: 0x8769,
  dateTimeOriginal: 0x9003,
  createDate: 0x9004,
  offsetTime: 0x9010,
  offsetTimeOriginal: 0x9011,
  offsetTimeDigitized: 0x9012,
} as const;

/** The TIFF header magics: TIFF (DNG, NEF, CR2, ARW, PEF), Olympus ORF, Panasonic RW2. */
export type TiffMagic = 'II*' | 'MM*' | 'IIRO' | 'IIRS' | 'MMOR' | 'IIU';

export interface TiffOptions {
  magic?: TiffMagic;
  /** Where IFD0 sits (8 in most files, 0x10 in CR2, 0x18 in RW2, near the end in some TIFFs). */
  ifd0At?: number;
  /** Where the Exif IFD sits; right after IFD0's values when left out. */
  exifIfdAt?: number;
  /** ASCII tags of IFD0 and of the Exif IFD. */
  ifd0?: Partial<Record<number, string>>;
  exif?: Partial<Record<number, string>>;
  /** The whole file's size: the rest is fake image data. */
  size?: number;
  /** Write the Exif IFD pointer with type IFD (13) instead of LONG, as some raw writers do. */
  pointerTypeIfd?: boolean;
  /** Bytes right after the 8-byte header (CR2: `CR`, version 2.0, then the raw IFD's offset). */
  afterHeader?: Uint8Array;
}

const MAGIC: Record<TiffMagic, [string, number]> = {
  'II*': ['II', 42],
  'MM*': ['MM', 42],
  IIRO: ['II', 0x4f52],
  IIRS: ['II', 0x5352],
  MMOR: ['MM', 0x4f52],
  IIU: ['II', 0x55],
};

/** A TIFF structure (a raw file, or an EXIF payload) with its IFDs where the options put them. */
export function makeTiff(options: TiffOptions): Buffer {
  const [order, magic] = MAGIC[options.magic ?? 'II*'];
  const little = order === 'II';
  const ifd0At = options.ifd0At ?? 8;
  const ifd0Tags = Object.entries(options.ifd0 ?? {}).map(
    ([tag, text]) => [Number(tag), text as string] as const,
  );
  const exifTags = Object.entries(options.exif ?? {}).map(
    ([tag, text]) => [Number(tag), text as string] as const,
  );
  const ifdLength = (count: number, texts: readonly (readonly [number, string])[]) =>
    2 +
    count * 12 +
    4 +
    texts.reduce((sum, [, text]) => sum + (text.length + 1 > 4 ? text.length + 1 : 0), 0);
  const hasExif = exifTags.length > 0;
  const ifd0Count = ifd0Tags.length + (hasExif ? 1 : 0);
  const exifIfdAt = options.exifIfdAt ?? ifd0At + ifdLength(ifd0Count, ifd0Tags);
  const needed = Math.max(
    ifd0At + ifdLength(ifd0Count, ifd0Tags),
    hasExif ? exifIfdAt + ifdLength(exifTags.length, exifTags) : 0,
  );
  const file = Buffer.alloc(Math.max(options.size ?? 0, needed), 0x33);
  const u16 = (value: number, at: number) =>
    little ? file.writeUInt16LE(value, at) : file.writeUInt16BE(value, at);
  const u32 = (value: number, at: number) =>
    little ? file.writeUInt32LE(value, at) : file.writeUInt32BE(value, at);
  file.write(order, 0, 'latin1');
  u16(magic, 2);
  u32(ifd0At, 4);
  if (options.afterHeader) Buffer.from(options.afterHeader).copy(file, 8);
  const writeIfd = (
    at: number,
    entries: Array<{ tag: number; type: number; text?: string; long?: number }>,
  ) => {
    entries.sort((a, b) => a.tag - b.tag);
    u16(entries.length, at);
    let values = at + 2 + entries.length * 12 + 4;
    entries.forEach((entry, index) => {
      const slot = at + 2 + index * 12;
      u16(entry.tag, slot);
      u16(entry.type, slot + 2);
      if (entry.text !== undefined) {
        const bytes = Buffer.from(`${entry.text}\0`, 'latin1');
        u32(bytes.length, slot + 4);
        file.fill(0, slot + 8, slot + 12);
        if (bytes.length <= 4) {
          bytes.copy(file, slot + 8);
        } else {
          u32(values, slot + 8);
          bytes.copy(file, values);
          values += bytes.length;
        }
      } else {
        u32(1, slot + 4);
        u32(entry.long ?? 0, slot + 8);
      }
    });
    u32(0, at + 2 + entries.length * 12);
  };
  writeIfd(ifd0At, [
    ...ifd0Tags.map(([tag, text]) => ({ tag, type: 2, text })),
    ...(hasExif ? [{ tag: TAG.exifIfd, type: options.pointerTypeIfd ? 13 : 4, long: exifIfdAt }] : []),
  ]);
  if (hasExif)
    writeIfd(
      exifIfdAt,
      exifTags.map(([tag, text]) => ({ tag, type: 2, text })),
    );
  return file;
}

function segment(marker: number, body: Uint8Array): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(body.length + 2);
  return Buffer.concat([Buffer.from([0xff, marker]), length, body]);
}

/** An APP2 ICC profile split into 64 KiB segments, as big (wide-gamut) profiles are. */
export function iccSegments(bytes: number): Buffer[] {
  const perSegment = 65_533 - 14;
  const count = Math.ceil(bytes / perSegment);
  // The profile starts with its own size; the rest is opaque here.
  const profile = Buffer.alloc(bytes, 0);
  profile.writeUInt32BE(bytes, 0);
  return Array.from({ length: count }, (_, index) =>
    segment(
      0xe2,
      Buffer.concat([
        Buffer.from('ICC_PROFILE\0', 'latin1'),
        Buffer.from([index + 1, count]),
        profile.subarray(index * perSegment, (index + 1) * perSegment),
      ]),
    ),
  );
}

/** An APP13 Photoshop IRB segment of about `bytes` bytes. */
export function photoshopSegment(bytes: number): Buffer {
  // One 8BIM resource (an opaque thumbnail, id 0x040c) of about `bytes` bytes.
  const header = Buffer.alloc(12);
  header.write('8BIM', 0, 'latin1');
  header.writeUInt16BE(0x040c, 4);
  header.writeUInt32BE(bytes, 8);
  return segment(
    0xed,
    Buffer.concat([Buffer.from('Photoshop 3.0\0', 'latin1'), header, Buffer.alloc(bytes + (bytes % 2), 0)]),
  );
}

/** An APP1 XMP segment (it comes before EXIF in some edited files). */
export function xmpSegment(): Buffer {
  return segment(
    0xe1,
    Buffer.from('http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x="adobe:ns:meta/"></x:xmpmeta>', 'latin1'),
  );
}

/**
 * A JPEG with the given segments before its APP1 EXIF (a TIFF from makeTiff), then a minimal
 * valid 8×8 gray image.
 */
export function makeLayeredJpeg(before: readonly Buffer[], tiff: Buffer | undefined): Buffer {
  const exif = tiff ? [segment(0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]))] : [];
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    segment(0xe0, Buffer.from('JFIF\0\x01\x01\0\0\x01\0\x01\0\0', 'latin1')),
    ...before,
    ...exif,
    segment(0xdb, Buffer.concat([Buffer.from([0x00]), Buffer.alloc(64, 8)])),
    segment(0xc0, Buffer.from([8, 0, 8, 0, 8, 1, 1, 0x11, 0])),
    segment(0xc4, Buffer.from([0x00, 1, ...Array(15).fill(0), 0x00])),
    segment(0xc4, Buffer.from([0x10, 1, ...Array(15).fill(0), 0x00])),
    segment(0xda, Buffer.from([1, 1, 0x00, 0, 63, 0])),
    Buffer.from([0x3f, 0xff, 0xd9]),
  ]);
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])));
  return Buffer.concat([head, data, crc]);
}

/**
 * A 1×1 gray PNG with an `eXIf` chunk before or after its image data (both are seen), optionally
 * behind many text chunks.
 */
export function makePng(
  tiff: Buffer | undefined,
  options: { exifAfterIdat?: boolean; textChunks?: number } = {},
): Buffer {
  const ihdr = Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
  // One scanline: filter byte 0, one gray pixel.
  const idat = deflateSync(Buffer.from([0, 0x80]));
  const exif = tiff ? [pngChunk('eXIf', tiff)] : [];
  const extra = Array.from({ length: options.textChunks ?? 0 }, () =>
    pngChunk('tEXt', Buffer.from('Comment\0x')),
  );
  return Buffer.concat([
    Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'),
    pngChunk('IHDR', ihdr),
    ...(options.exifAfterIdat ? [] : exif),
    ...extra,
    pngChunk('IDAT', idat),
    ...(options.exifAfterIdat ? exif : []),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function riffChunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.write(type, 0, 'latin1');
  head.writeUInt32LE(data.length, 4);
  return Buffer.concat([head, data, Buffer.alloc(data.length % 2)]);
}

/**
 * An extended WebP (VP8X) with its `EXIF` chunk after the image data, as libwebp and phones write
 * it. `exifPrefix` keeps JPEG's `Exif\0\0` before the TIFF, as some writers wrongly do.
 */
export function makeWebp(
  tiff: Buffer | undefined,
  options: { exifPrefix?: boolean; imageBytes?: number } = {},
): Buffer {
  const vp8x = Buffer.alloc(10);
  vp8x[0] = tiff ? 0x08 : 0;
  const image = Buffer.alloc(options.imageBytes ?? 31, 0x2a);
  const chunks = [riffChunk('VP8X', vp8x), riffChunk('VP8 ', image)];
  if (tiff)
    chunks.push(
      riffChunk('EXIF', options.exifPrefix ? Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]) : tiff),
    );
  const body = Buffer.concat([Buffer.from('WEBP', 'latin1'), ...chunks]);
  const head = Buffer.alloc(8);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
}
