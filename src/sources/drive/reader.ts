/**
 * One Drive file as a RandomAccessReader: ranged reads through DriveApi behind a block cache, so
 * a zip's end record, central directory and local headers cost a few requests, not one each.
 *
 * Each reader checks, once, that the file is still the version listed (files.get: size and
 * `md5Checksum`, api.checkUnchanged), while its first range is already on the way; no byte is
 * handed on before the check passed. A part replaced by another of the same size shows only in its
 * checksum, and without this its entries would fail on their CRC-32 with no word of why; with it,
 * each remaining item of that part fails saying the part changed (or is gone), naming it.
 */
import {
  BlockCache,
  type BlockCacheOptions,
  type RandomAccessReader,
  rangeReader,
} from '../random-access.ts';
import type { DriveApi, DriveFileRef } from './api.ts';

export function openDriveReader(
  api: DriveApi,
  file: DriveFileRef,
  options: BlockCacheOptions = {},
): BlockCache & RandomAccessReader {
  let verified: Promise<unknown> | undefined;
  // Started by the first read, not at open: a reader opened and closed unread costs no call. Not
  // tied to that read's signal: later reads of this reader wait for the same answer.
  const check = () => {
    if (!verified) {
      verified = api.checkUnchanged(file);
      verified.catch(() => undefined);
    }
    return verified;
  };
  return new BlockCache(
    rangeReader({
      size: file.size,
      readRange: async (start, end, signal) => {
        const checked = check();
        const bytes = await api.readRange(file, start, end, signal);
        await checked;
        return bytes;
      },
      streamRange: async function* (start, end, signal) {
        const checked = check();
        let first = true;
        for await (const chunk of api.streamRange(file, start, end, signal)) {
          if (first) {
            await checked;
            first = false;
          }
          yield chunk;
        }
      },
    }),
    options,
  );
}
