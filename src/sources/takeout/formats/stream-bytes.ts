/** Helpers over an entry's bytes as they stream past: the first bytes, a CRC-32 of all of them. */
import { crc32 } from 'node:zlib';

/**
 * A tgz entry's body that keeps a CRC-32 of what passes: readers may stop early (a date is in the
 * first bytes) without ending it, and finish() reads the rest for the whole entry's CRC-32.
 */
export class CrcBody implements AsyncIterable<Buffer> {
  private crc = 0;
  private readonly iterator: AsyncIterator<Buffer>;

  constructor(body: AsyncIterable<Buffer>) {
    this.iterator = body[Symbol.asyncIterator]();
  }

  private async next(): Promise<IteratorResult<Buffer>> {
    const result = await this.iterator.next();
    if (!result.done) this.crc = crc32(result.value, this.crc);
    return result;
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return {
      next: () => this.next(),
      return: async () => ({ done: true, value: undefined }),
    };
  }

  async finish(): Promise<number> {
    while (!(await this.next()).done);
    return this.crc;
  }
}

/** The first `limit` bytes of a body (all of it when shorter). */
export async function collect(body: AsyncIterable<Uint8Array>, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    chunks.push(Buffer.from(chunk));
    total += chunk.length;
    if (total >= limit) break;
  }
  return Buffer.concat(chunks).subarray(0, limit);
}
