/**
 * What each part holds: a zip's central directory, a tgz read once from start to end (pass 1:
 * names, sizes, JSON, the dates and CRC-32 of its media as their bytes pass), a folder walked.
 * The JSON files of zips and folders are read here too, keeping only the facts used.
 */

import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { BackupError } from '../../errors.ts';
import { errorText, type Findings } from './findings.ts';
import { holdHead, streamReader } from './formats/byte-readers.ts';
import { mayHaveMediaDate, readMediaDate, streamHoldBytes } from './formats/media-dates.ts';
import { CrcBody, collect } from './formats/stream-bytes.ts';
import { openTarStream, readTarEntries } from './formats/tar-reader.ts';
import { isSupportedMethod, readZipIndex } from './formats/zip-reader.ts';
import { isMediaName, mayHaveExif } from './media-names.ts';
import { ARCHIVE_NAME, openPart, type Part, type PartFile, type ReaderPool, readHead } from './parts.ts';
import { parseSidecarName } from './sidecar-match.ts';
import { baseName, checkEntryPath, type JsonFacts, jsonFactsOf } from './tree.ts';

/**
 * Sidecars and album JSON are a few KB; one listing many people or a long description reaches a
 * few MB. Larger is not one: it is not read (parsing it takes several times its size in memory).
 */
const MAX_JSON_BYTES = 16 * 1024 * 1024;
const READ_CONCURRENCY = 16;
/** JSON files above this are read and parsed one at a time. */
const BIG_JSON_BYTES = 256 * 1024;

/**
 * A zip's entries from its central directory, read through the pool's reader for the part: the
 * sidecar reads that follow share it, so over Drive the directory's tail blocks (and entries
 * near it) are fetched once, not again by a second reader.
 */
export async function loadZip(part: Part, pool: ReaderPool, findings: Findings): Promise<void> {
  const index = await readZipIndex(await pool.get(part));
  part.zip = index;
  const encrypted: string[] = [];
  const unsupported: string[] = [];
  const links: string[] = [];
  for (let at = 0; at < index.count; at++) {
    const name = index.name(at);
    if (name.endsWith('/') || name.endsWith('\\')) continue;
    const checked = checkEntryPath(name);
    if (!checked.ok) {
      findings.warn(`${part.file}: refused entry "${name}": ${checked.reason}.`);
      continue;
    }
    if (index.isSymlink(at)) {
      links.push(checked.path);
      continue;
    }
    if (index.isEncrypted(at)) {
      encrypted.push(checked.path);
      continue;
    }
    const method = index.method(at);
    if (!isSupportedMethod({ method })) {
      unsupported.push(`${checked.path} (method ${method})`);
      continue;
    }
    // The name as stored is almost always the normalized path: one string for both, not two.
    const entryPath = checked.path === name ? name : checked.path;
    // `json` named from the start (set for JSON files once read): a property added later goes to
    // an array of its own, about 40 bytes an entry.
    part.files.push({ part, path: entryPath, size: index.size(at), index: at, json: undefined });
  }
  // Each file holds its path: the directory's copy of the names is not kept beside them.
  index.forgetNames();
  if (links.length > 0) {
    // Google's Takeout holds no links; a tar's links are skipped the same way (not a file entry).
    findings.warn(
      `${part.file}: ${links.length} symbolic link${links.length === 1 ? '' : 's'} skipped, not a photo (first: "${links[0]}").`,
    );
  }
  if (encrypted.length > 0) {
    findings.problem(
      `${part.file}: ${encrypted.length} encrypted entr${encrypted.length === 1 ? 'y' : 'ies'} skipped (first: "${encrypted[0]}"). Google does not encrypt Takeouts: use the original download, or extract it with your password and pass the folder.`,
    );
  }
  if (unsupported.length > 0) {
    findings.problem(
      `${part.file}: ${unsupported.length} entr${unsupported.length === 1 ? 'y uses' : 'ies use'} an unsupported compression (first: "${unsupported[0]}"). Only stored and deflate are read: use the original Takeout download, or extract it and pass the folder.`,
    );
  }
}

/**
 * Pass 1 over a tgz: names, sizes, the JSON files, EXIF from the first bytes of photos, and the
 * HEIF/QuickTime dates of HEIC and MP4/MOV files (a `moov` after `mdat` too: see below).
 */
export async function loadTar(part: Part, findings: Findings): Promise<void> {
  let pending: PartFile | undefined;
  try {
    const stream = await openTarStream(await openPart(part));
    for await (const entry of readTarEntries(stream)) {
      if (pending) part.files.push(pending);
      pending = undefined;
      if (entry.type !== 'file') continue;
      const checked = checkEntryPath(entry.path);
      if (!checked.ok) {
        findings.warn(`${part.file}: refused entry "${entry.path}": ${checked.reason}.`);
        continue;
      }
      const file: PartFile = { part, path: checked.path, size: entry.size, index: entry.index };
      const name = baseName(checked.path);
      // Every byte of a tgz passes through gunzip in this pass anyway: its CRC-32 costs no read.
      const body = isMediaName(name) ? new CrcBody(entry.body) : undefined;
      if (!body) {
        if (/\.json$/i.test(name) && entry.size <= MAX_JSON_BYTES)
          file.json = parseJson(await collect(entry.body, entry.size));
        else if (/\.json$/i.test(name)) reportOversized(file, findings);
      } else if (mayHaveExif(name) || mayHaveMediaDate(name)) {
        // The gunzip stream passes every byte of the entry anyway, so a `moov` after `mdat` (or an
        // Exif IFD far into a raw file) is reached for free: the reader skips the chunks before it
        // and keeps only small boxes, plus the first bytes a parser may point back into.
        const reader = holdHead(streamReader(body, entry.size), streamHoldBytes(name));
        const exif = await readMediaDate(reader);
        await reader.close();
        if (reader.failure) throw reader.failure;
        if (exif) file.exif = exif;
        file.exifRead = true;
      }
      if (body) file.crc32 = await body.finish();
      // Kept only once the next header was read: a part cut off inside this entry loses it.
      pending = file;
    }
    if (pending) part.files.push(pending);
  } catch (error) {
    if (error instanceof BackupError) throw error;
    findings.problem(
      `${part.file}: ${errorText(error)}. ${part.files.length} files before the damage are used; download this part again from Google Takeout.`,
    );
  }
}

export async function loadFolder(part: Part, findings: Findings): Promise<void> {
  const top = path.basename(path.resolve(part.file));
  const walk = async (directory: string, relative: string): Promise<void> => {
    const entries = await readdir(directory, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const fsPath = path.join(directory, entry.name);
      const inside = `${relative}/${entry.name}`;
      if (entry.isSymbolicLink()) {
        findings.warn(`${fsPath}: symbolic link not followed.`);
      } else if (entry.isDirectory()) {
        await walk(fsPath, inside);
      } else if (entry.isFile() && !(relative === top && ARCHIVE_NAME.test(entry.name))) {
        part.files.push({ part, path: inside, size: 0, index: part.files.length, fsPath });
      }
    }
  };
  await walk(part.file, top);
  await forEachAtMost(part.files, READ_CONCURRENCY, async (file) => {
    const stats = await lstat(file.fsPath as string);
    file.size = stats.size;
  });
}

export async function loadJsonFiles(part: Part, pool: ReaderPool, findings: Findings): Promise<void> {
  const jsonFiles = part.files.filter((file) => /\.json$/i.test(file.path));
  for (const file of jsonFiles) if (file.size > MAX_JSON_BYTES) reportOversized(file, findings);
  const unreadable: string[] = [];
  const load = async (file: PartFile) => {
    try {
      file.json = parseJson(await readHead(file, file.size, pool));
    } catch (error) {
      // A stop (Drive's quota, a refused sign-in) is not an unreadable file: it ends the listing.
      if (error instanceof BackupError) throw error;
      unreadable.push(`"${file.path}" (${errorText(error)})`);
    }
  };
  // Small ones side by side; big ones one at a time, so parsing never holds many big ones at once.
  const big = (file: PartFile) => file.size > BIG_JSON_BYTES;
  await forEachAtMost(
    jsonFiles.filter((file) => !big(file)),
    READ_CONCURRENCY,
    load,
  );
  await forEachAtMost(
    jsonFiles.filter((file) => big(file) && file.size <= MAX_JSON_BYTES),
    1,
    load,
  );
  if (unreadable.length > 0) {
    findings.problem(
      `${part.file}: ${unreadable.length} JSON file(s) could not be read, first ${unreadable[0]}; their photos may be undated. Download this part again from Google Takeout.`,
    );
  }
}

/**
 * `work` for each item in order, at most `concurrency` at once: that many workers each take the
 * next item when done with one. Not p-limit's map, which queues a promise, closures and a queue
 * node for every item at the start, about 400 bytes each: 70 MB at the listing's peak for the
 * 100,000 sidecars of a large Takeout (a heap snapshot), and the heap grows to twice its peak.
 */
async function forEachAtMost<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  // One failed: the others take no new item (the caller gets the first failure).
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed)
      await work(items[next++] as T).catch((error: unknown) => {
        failed = true;
        throw error;
      });
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** Parsed one at a time, and only the facts used are kept (undefined when it does not parse). */
function parseJson(bytes: Buffer): JsonFacts | undefined {
  let content: unknown;
  try {
    // Invalid UTF-8 is replaced rather than fatal (gpth#143); a BOM is dropped.
    content = JSON.parse(bytes.toString('utf8').replace(/^\uFEFF/, ''));
  } catch {
    return undefined;
  }
  return jsonFactsOf(content);
}

/**
 * A JSON file too large to be a sidecar. Named like one (`IMG_1.jpg.json`, a cut suffix, `(n)`):
 * a problem, its photo is saved dated from its content or name. Otherwise (other Takeout
 * products' big JSON, such as location history) only a warning.
 */
function reportOversized(file: PartFile, findings: Findings): void {
  const rest = parseSidecarName(baseName(file.path))?.rest ?? '';
  const sidecar = isMediaName(rest) || isMediaName(rest.slice(0, rest.lastIndexOf('.')));
  const message = `${file.part.file}: "${file.path}" holds ${file.size} bytes of JSON, more than the ${MAX_JSON_BYTES} a sidecar can be: not read${sidecar ? '; its photo is dated from its content or name. Download this part again from Google Takeout' : ''}.`;
  if (sidecar) findings.problem(message);
  else findings.warn(message);
}
