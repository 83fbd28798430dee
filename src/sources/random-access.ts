/**
 * A file read at any offset, wherever it lives: a local archive part (a file handle) or a Drive
 * file (ranged HTTP reads). The zip reader needs exactly this: positional reads for the end
 * record, the central directory and local headers, and a stream of one entry's bytes. Over the
 * network (src/sources/drive/reader.ts) the reader also keeps those many small reads to few
 * requests.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';

export interface RandomAccessReader {
  /** Bytes in the file. */
  readonly size: number;
  /** `length` bytes at `position`; fewer only where the file ends. */
  read(position: number, length: number, signal?: AbortSignal): Promise<Buffer>;
  /** Bytes `start`..`end` (inclusive) as they arrive, for entries too large to hold. */
  stream(start: number, end: number, signal?: AbortSignal): AsyncIterable<Uint8Array>;
  close(): Promise<void>;
}

/** A local file through one handle, as the zip reader reads parts today. */
export async function openFileReader(file: string): Promise<RandomAccessReader> {
  const handle = await open(file, 'r');
  const { size } = await handle.stat();
  return {
    size,
    async read(position, length) {
      const wanted = Math.max(0, Math.min(length, size - position));
      const buffer = Buffer.alloc(wanted);
      let done = 0;
      while (done < wanted) {
        const { bytesRead } = await handle.read(buffer, done, wanted - done, position + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return buffer.subarray(0, done);
    },
    stream(start, end, signal) {
      return createReadStream(file, { start, end, highWaterMark: 256 * 1024, ...(signal ? { signal } : {}) });
    },
    close: () => handle.close(),
  };
}

/**
 * `reader` with each failure of its reads and streams handed to `failure`, which says what is
 * thrown instead (the same error, or a clearer one): a part read for its listing turns Drive's
 * rate limit into the run's stop; a date read notes that bytes could not be fetched.
 */
export function withFailures(
  reader: RandomAccessReader,
  failure: (error: unknown) => unknown,
): RandomAccessReader {
  return {
    size: reader.size,
    read: (position, length, signal) =>
      reader.read(position, length, signal).catch((error: unknown) => {
        throw failure(error);
      }),
    async *stream(start, end, signal) {
      try {
        yield* reader.stream(start, end, signal);
      } catch (error) {
        throw failure(error);
      }
    },
    close: () => reader.close(),
  };
}
