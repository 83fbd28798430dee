/**
 * How the manifest holds each saved record's fields in memory with fewer bytes, and gives back
 * exactly the values the journal line had (src/manifest.ts KeptRecord). A 100,000-photo Takeout
 * keeps 100,000 of them for the whole run, and the old generation doubles what it keeps before
 * each collection, so each byte saved here is about two of the run's peak (docs/performance.md,
 * "The record packed"). Pure.
 */

/** A 64-character lowercase hex SHA-256, the only form packed (anything else is kept as it was). */
const HEX_SHA256 = /^[0-9a-f]{64}$/;
/** Marks a hash string kept as it was: a one-byte packed hash never starts with it. */
const AS_IS = '\u0100';

/**
 * A sha256 as kept: a canonical hex digest as its 32 bytes in a one-byte string (48 B on the heap
 * instead of 80), anything else (a record written by hand, a damaged line) marked and kept as it
 * was, so unpackHash gives back the same string. Equal hashes pack to equal strings, so the packed
 * form is a map key as good as the hex.
 */
export function packHash(hash: string): string {
  if (hash === '') return '';
  if (HEX_SHA256.test(hash)) return Buffer.from(hash, 'hex').toString('latin1');
  return AS_IS + hash;
}

export function unpackHash(packed: string): string {
  if (packed.charCodeAt(0) === 0x100) return packed.slice(1);
  return Buffer.from(packed, 'latin1').toString('hex');
}

/** A CRC-32 (0 … 2^32-1) as a signed 32-bit integer: a small integer V8 keeps unboxed (no 16-byte heap number). */
export function packCrc(crc: number): number {
  return crc | 0;
}

export function unpackCrc(packed: number): number {
  return packed >>> 0;
}

export function isCrc(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}

/** Digits that read back as the same string and fit a small integer: a sidecar's `photoTakenTime.timestamp`. */
const TIMESTAMP = /^(0|[1-9][0-9]{0,9})$/;

/**
 * A decimal timestamp string as a number when it reads back as the same string (no leading
 * zero, sign or fraction, at most 2^31-1: a small integer, no heap number), else undefined (the
 * caller keeps the string).
 */
export function packTimestamp(text: string): number | undefined {
  if (!TIMESTAMP.test(text)) return undefined;
  const value = Number(text);
  return value <= 0x7fffffff ? value : undefined;
}

/** The file name of a saved path (`<day>/<name>`). */
export function baseOf(relativePath: string): string {
  return relativePath.slice(relativePath.lastIndexOf('/') + 1);
}

/**
 * A 32-bit FNV-1a hash of a string's UTF-16 code units, as a signed integer (a small integer V8
 * keeps unboxed, so a Map keyed by it holds no string).
 */
export function stringHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}

/**
 * A map from a string key to a value, keyed in memory by the key's hash only: the key is not kept,
 * `keyOf(value)` gives it back from the value (the folded path of the record held). Two keys with
 * one hash share an array, told apart by keyOf. For the owner of each saved path: a 48-byte folded
 * path string less per saved photo.
 */
export class HashKeyedMap<V> {
  readonly #table = new Map<number, V | V[]>();
  readonly #keyOf: (value: V) => string;
  readonly #hash: (key: string) => number;

  constructor(keyOf: (value: V) => string, hash: (key: string) => number = stringHash) {
    this.#keyOf = keyOf;
    this.#hash = hash;
  }

  get(key: string): V | undefined {
    const held = this.#table.get(this.#hash(key));
    if (held === undefined) return undefined;
    if (!Array.isArray(held)) return this.#keyOf(held) === key ? held : undefined;
    return held.find((value) => this.#keyOf(value) === key);
  }

  /** Sets the value of `key`; `keyOf(value)` must be `key`. */
  set(key: string, value: V): void {
    const hash = this.#hash(key);
    const held = this.#table.get(hash);
    if (held === undefined) {
      this.#table.set(hash, value);
      return;
    }
    if (!Array.isArray(held)) {
      this.#table.set(hash, this.#keyOf(held) === key ? value : [held, value]);
      return;
    }
    const at = held.findIndex((other) => this.#keyOf(other) === key);
    if (at === -1) held.push(value);
    else held[at] = value;
  }

  delete(key: string): boolean {
    const hash = this.#hash(key);
    const held = this.#table.get(hash);
    if (held === undefined) return false;
    if (!Array.isArray(held)) {
      if (this.#keyOf(held) !== key) return false;
      this.#table.delete(hash);
      return true;
    }
    const rest = held.filter((other) => this.#keyOf(other) !== key);
    if (rest.length === held.length) return false;
    this.#table.set(hash, rest.length === 1 ? (rest[0] as V) : rest);
    return true;
  }

  get size(): number {
    let count = 0;
    for (const held of this.#table.values()) count += Array.isArray(held) ? held.length : 1;
    return count;
  }
}
