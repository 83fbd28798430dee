/** Byte helpers the format readers share. A byte past the end reads as 0. */

export const EMPTY = new Uint8Array(0);

/** An unsigned 16-bit integer, big-endian unless `little`. */
export function u16(bytes: Uint8Array, at: number, little = false): number {
  const [a, b] = [bytes[at] ?? 0, bytes[at + 1] ?? 0];
  return little ? a | (b << 8) : (a << 8) | b;
}

/** An unsigned 32-bit integer, big-endian unless `little`. */
export function u32(bytes: Uint8Array, at: number, little = false): number {
  const [a, b, c, d] = [bytes[at] ?? 0, bytes[at + 1] ?? 0, bytes[at + 2] ?? 0, bytes[at + 3] ?? 0];
  return little ? d * 0x1000000 + ((c << 16) | (b << 8) | a) : a * 0x1000000 + ((b << 16) | (c << 8) | d);
}
