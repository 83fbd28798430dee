/**
 * One Drive file as a RandomAccessReader: ranged reads through DriveApi behind a block cache, so
 * a zip's end record, central directory and local headers cost a few requests, not one each.
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
  return new BlockCache(
    rangeReader({
      size: file.size,
      readRange: (start, end, signal) => api.readRange(file, start, end, signal),
      streamRange: (start, end, signal) => api.streamRange(file, start, end, signal),
    }),
    options,
  );
}
