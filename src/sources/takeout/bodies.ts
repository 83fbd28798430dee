/**
 * Opening an entry's bytes. Zip entries and folder files are opened by offset, in any order and as
 * often as asked. A tgz is read as one stream in archive order (pass 2): an entry's bytes are the
 * live stream while the listing is on it, and a later open() reads the part again up to it.
 */

import { createReadStream } from 'node:fs';
import { BackupError } from '../../errors.ts';
import type { OpenedMedia } from '../source.ts';
import type { CatalogEntry } from './catalog.ts';
import { errorText, type Findings } from './findings.ts';
import { openTarStream, readTarEntries } from './formats/tar-reader.ts';
import { readZipEntry, type ZipEntry } from './formats/zip-reader.ts';
import { openPart, type Part, type PartFile, zipEntryOf } from './parts.ts';

export type OpenBody = (signal: AbortSignal) => Promise<OpenedMedia>;

/** A zip entry or a folder's file, from its start. */
export function openRandomAccess(copy: PartFile): OpenBody {
  return async (signal) => {
    const zip = zipEntryOf(copy);
    if (zip) return { body: zipBody(copy, zip, signal), size: copy.size };
    const fsPath = copy.fsPath as string;
    return { body: createReadStream(fsPath, { signal, highWaterMark: 256 * 1024 }), size: copy.size };
  };
}

/** A zip entry's bytes through a reader of its own, closed when the body ends or is given up. */
async function* zipBody(copy: PartFile, zip: ZipEntry, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const reader = await openPart(copy.part, 'entry');
  try {
    yield* readZipEntry(reader, zip, { signal });
  } finally {
    await reader.close();
  }
}

/**
 * One tgz part's entries in archive order, each with its opener. The generator waits, before it
 * moves to the next entry, for a body claimed by open() to be read. A part that breaks on the way
 * is a problem (unless pass 1 found it already); the entries before the damage were given.
 */
export async function* tarPartBodies(
  part: Part,
  entries: ReadonlyMap<number, CatalogEntry>,
  signal: AbortSignal,
  findings: Findings,
): AsyncGenerator<{ entry: CatalogEntry; open: OpenBody }> {
  const stream = await openTarStream(await openPart(part), signal);
  try {
    for await (const tarEntry of readTarEntries(stream)) {
      const entry = entries.get(tarEntry.index);
      if (!entry) continue;
      const live = new LiveEntry(tarEntry.body);
      yield {
        entry,
        open: async (openSignal) => {
          const body = live.claim(openSignal);
          return {
            body: body ?? rescanTarEntry(part, tarEntry.index, openSignal),
            size: entry.copy.size,
          };
        },
      };
      await live.release();
    }
  } catch (error) {
    // A stop (Drive's quota, a refused sign-in) ends the run; the part is not damaged.
    if (signal.aborted || error instanceof BackupError) throw error;
    // Pass 1 already reported a damaged part and kept only the entries before the damage.
    if (!findings.hasProblemAbout(part.file)) findings.problem(`${part.file}: ${errorText(error)}`);
  }
}

/**
 * The body of the tgz entry the generator is on. Claimed by the item's first open(); the generator
 * waits for a claimed body to be read to the end (or given up) before it moves to the next entry,
 * because both read the same gunzip stream.
 */
class LiveEntry {
  private claimed = false;
  private done = false;
  private finish: () => void = () => {};
  private readonly finished = new Promise<void>((resolve) => {
    this.finish = resolve;
  });

  constructor(private readonly body: AsyncIterable<Buffer>) {}

  claim(signal: AbortSignal): AsyncIterable<Uint8Array> | undefined {
    if (this.claimed || this.done) return undefined;
    this.claimed = true;
    let started = false;
    const finish = () => this.finish();
    // Given up before reading: let the generator move on. Once reading, the body's `finally` does
    // it, so the generator never skips bytes while this body still waits for a chunk.
    signal.addEventListener('abort', () => started || finish(), { once: true });
    const body = this.body;
    return (async function* () {
      started = true;
      try {
        signal.throwIfAborted();
        for await (const chunk of body) {
          yield chunk;
          signal.throwIfAborted();
        }
      } finally {
        finish();
      }
    })();
  }

  async release(): Promise<void> {
    if (this.claimed) await this.finished;
    this.done = true;
  }
}

/** A tgz entry opened out of order (a retry, or a consumer that pulled ahead): read the part again up to it. */
async function* rescanTarEntry(part: Part, index: number, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const stream = await openTarStream(await openPart(part), signal);
  for await (const entry of readTarEntries(stream)) {
    if (entry.index === index) {
      yield* entry.body;
      return;
    }
  }
  throw new Error(`entry ${index + 1} is missing from ${part.file}`);
}
