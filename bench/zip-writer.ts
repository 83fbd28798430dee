/**
 * A small zip writer for the benchmark's Takeout archive: stored (uncompressed) entries, as
 * Google Takeout stores its photos, written straight to a file. Sizes and offsets stay 32-bit (the
 * archive stays under 4 GB); more than 65,535 entries get the ZIP64 end record and its locator,
 * with 0xFFFF in the classic end record's counts (APPNOTE 4.4.1.4). Spec: PKWARE APPNOTE.TXT 4.3
 * (local header, central directory, end records).
 */
import { type FileHandle, open } from 'node:fs/promises';
import * as zlib from 'node:zlib';

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** zlib.crc32 where Node has it (20.15+), else a table-driven CRC-32. */
function crc32(data: Uint8Array): number {
  const native = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;
  if (native) return native(data) >>> 0;
  let crc = 0xffffffff;
  for (let index = 0; index < data.length; index++) {
    crc = (CRC_TABLE[(crc ^ (data[index] as number)) & 0xff] as number) ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

interface Central {
  name: Buffer;
  crc: number;
  size: number;
  offset: number;
}

/** 1980-01-01 00:00 in MS-DOS time and date. */
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

export class ZipWriter {
  private offset = 0;
  private readonly entries: Central[] = [];

  private constructor(private readonly handle: FileHandle) {}

  static async create(file: string): Promise<ZipWriter> {
    return new ZipWriter(await open(file, 'w'));
  }

  private async write(buffer: Buffer): Promise<void> {
    await this.handle.write(buffer);
    this.offset += buffer.length;
  }

  /** Adds one stored file; `name` uses `/` and is stored as UTF-8. */
  async add(name: string, data: Buffer): Promise<void> {
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const header = Buffer.alloc(30);
    header.writeUInt32LE(0x04034b50, 0);
    header.writeUInt16LE(20, 4); // version needed
    header.writeUInt16LE(0x0800, 6); // UTF-8 names
    header.writeUInt16LE(0, 8); // stored
    header.writeUInt16LE(DOS_TIME, 10);
    header.writeUInt16LE(DOS_DATE, 12);
    header.writeUInt32LE(crc, 14);
    header.writeUInt32LE(data.length, 18);
    header.writeUInt32LE(data.length, 22);
    header.writeUInt16LE(nameBytes.length, 26);
    header.writeUInt16LE(0, 28);
    this.entries.push({ name: nameBytes, crc, size: data.length, offset: this.offset });
    await this.write(Buffer.concat([header, nameBytes, data]));
  }

  async close(): Promise<void> {
    const start = this.offset;
    const records: Buffer[] = [];
    for (const entry of this.entries) {
      const record = Buffer.alloc(46);
      record.writeUInt32LE(0x02014b50, 0);
      record.writeUInt16LE(0x031e, 4); // made by: Unix, 3.0
      record.writeUInt16LE(20, 6);
      record.writeUInt16LE(0x0800, 8);
      record.writeUInt16LE(0, 10);
      record.writeUInt16LE(DOS_TIME, 12);
      record.writeUInt16LE(DOS_DATE, 14);
      record.writeUInt32LE(entry.crc, 16);
      record.writeUInt32LE(entry.size, 20);
      record.writeUInt32LE(entry.size, 24);
      record.writeUInt16LE(entry.name.length, 28);
      record.writeUInt16LE(0, 30); // extra
      record.writeUInt16LE(0, 32); // comment
      record.writeUInt16LE(0, 34); // disk
      record.writeUInt16LE(0, 36); // internal attributes
      record.writeUInt32LE((0o100644 << 16) >>> 0, 38); // external: a regular file, rw-r--r--
      record.writeUInt32LE(entry.offset, 42);
      records.push(record, entry.name);
    }
    const directory = Buffer.concat(records);
    const count = this.entries.length;
    const tail: Buffer[] = [];
    if (count > 0xffff) {
      // APPNOTE 4.3.14 (ZIP64 end of central directory record) and 4.3.15 (its locator).
      const zip64At = start + directory.length;
      const record = Buffer.alloc(56);
      record.writeUInt32LE(0x06064b50, 0);
      record.writeBigUInt64LE(44n, 4); // size of the rest of the record
      record.writeUInt16LE(45, 12); // made by
      record.writeUInt16LE(45, 14); // version needed
      record.writeBigUInt64LE(BigInt(count), 24);
      record.writeBigUInt64LE(BigInt(count), 32);
      record.writeBigUInt64LE(BigInt(directory.length), 40);
      record.writeBigUInt64LE(BigInt(start), 48);
      const locator = Buffer.alloc(20);
      locator.writeUInt32LE(0x07064b50, 0);
      locator.writeBigUInt64LE(BigInt(zip64At), 8);
      locator.writeUInt32LE(1, 16); // total disks
      tail.push(record, locator);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(Math.min(count, 0xffff), 8);
    end.writeUInt16LE(Math.min(count, 0xffff), 10);
    end.writeUInt32LE(directory.length, 12);
    end.writeUInt32LE(start, 16);
    await this.write(Buffer.concat([directory, ...tail, end]));
    await this.handle.close();
  }
}
