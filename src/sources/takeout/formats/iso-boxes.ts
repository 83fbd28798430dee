/** ISO-BMFF boxes (ISO/IEC 14496-12): headers, children in memory or read from the file, capped. */

import type { ByteReader } from './byte-readers.ts';
import { u16, u32 } from './bytes.ts';

/** Caps: boxes read one header at a time from the file, and boxes or items in a box held in memory. */
const MAX_BOXES = 512;
export const MAX_CHILDREN = 65_536;

export interface BoxHeader {
  type: string;
  /** Absolute offset of the box. */
  start: number;
  /** Absolute offset of the payload. */
  body: number;
  /** Absolute end as declared; may lie past the container for a truncated or broken file. */
  end: number;
}

export function fourcc(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(
    bytes[at] as number,
    bytes[at + 1] as number,
    bytes[at + 2] as number,
    bytes[at + 3] as number,
  );
}

/** An unsigned big-endian integer of 0, 2, 4 or 8 bytes; undefined past 2^53. */
export function uint(bytes: Uint8Array, at: number, size: number): number | undefined {
  if (at + size > bytes.length) return undefined;
  if (size === 0) return 0;
  if (size === 2) return u16(bytes, at);
  if (size === 4) return u32(bytes, at);
  if (size === 8) {
    const high = u32(bytes, at);
    if (high > 0x1fffff) return undefined;
    return high * 0x1_0000_0000 + u32(bytes, at + 4);
  }
  return undefined;
}

/**
 * The box header at `at` in `bytes` (whose first byte is at absolute `base`). Size 0 runs to the
 * container's end, size 1 means a 64-bit size follows; anything smaller than its header is broken.
 */
export function parseHeader(
  bytes: Uint8Array,
  at: number,
  base: number,
  containerEnd: number,
): BoxHeader | undefined {
  if (at + 8 > bytes.length) return undefined;
  const start = base + at;
  const type = fourcc(bytes, at + 4);
  let size = u32(bytes, at);
  let headerSize = 8;
  if (size === 1) {
    const large = uint(bytes, at + 8, 8);
    if (large === undefined) return undefined;
    size = large;
    headerSize = 16;
  } else if (size === 0) {
    size = containerEnd - start;
  }
  if (size < headerSize) return undefined;
  return { type, start, body: start + headerSize, end: start + size };
}

/** Child boxes of an in-memory container, `[from, to)` relative to `bytes`; stops at the first broken one. */
export function* childBoxes(bytes: Uint8Array, from: number, to: number): Generator<BoxHeader> {
  let at = from;
  for (let count = 0; count < MAX_CHILDREN && at + 8 <= to; count++) {
    const header = parseHeader(bytes, at, 0, to);
    if (!header || header.end > to) return;
    yield header;
    at = header.end;
  }
}

/** Child boxes read from the file, `[from, to)` absolute; one small read per header. */
export async function* fileBoxes(reader: ByteReader, from: number, to: number): AsyncGenerator<BoxHeader> {
  let at = from;
  for (let count = 0; count < MAX_BOXES && at + 8 <= to; count++) {
    const head = await reader.read(at, 16);
    const header = parseHeader(head, 0, at, to);
    if (!header) return;
    yield header;
    // A box that claims more than its container is the last one we can trust to start here.
    if (header.end > to) return;
    at = header.end;
  }
}

export async function readBox(
  reader: ByteReader,
  box: BoxHeader,
  limit: number,
): Promise<Uint8Array | undefined> {
  const length = Math.min(box.end, reader.size) - box.start;
  if (length > limit || length < 8) return undefined;
  const bytes = await reader.read(box.start, length);
  return bytes.length === length ? bytes : undefined;
}
