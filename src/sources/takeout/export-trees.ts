/**
 * The parts as exports, each one merged tree keyed by the path inside the Photos folder. The parts
 * of one export (`takeout-…-001.zip`, `-002.zip`) share that tree: a photo in one, its sidecar in
 * another, and a path found in two of them is one file (immich-go#380). Two exports given together
 * (two accounts, or an old and a new one) can each hold another photo at one path, because Google
 * numbers same-named files per export. So a part joins the first tree whose files at its paths
 * have the same content (size, CRC-32, the sidecar's JSON), preferring its own export's name; a
 * part that disagrees with every tree starts its own, and its photos stay separate items.
 */

import { createReadStream } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { Findings } from './findings.ts';
import { isLeftover, isMediaName } from './media-names.ts';
import { type Part, type PartFile, zipCrcOf } from './parts.ts';
import { countMediaRead } from './read-count.ts';
import { baseName, parentOf } from './tree.ts';

export interface TreeEntry {
  key: string;
  copy: PartFile;
}

/**
 * An export's merged tree: each path inside the Photos folder and the part's file at it. The
 * file itself is the value (no entry object per path: a tree of 200,000 held one each).
 */
export type ExportTree = Map<string, PartFile>;

export async function groupExports(
  parts: readonly Part[],
  keyOf: (file: PartFile) => string | undefined,
  findings: Findings,
): Promise<ExportTree[]> {
  const exports: Array<{ tree: ExportTree; stems: Set<string> }> = [];
  const rank = (file: PartFile) => (file.part.kind === 'tar' ? 1 : 0);
  const leftovers: string[] = [];
  for (const part of parts) {
    // Two arrays side by side, not an object per file.
    const keys: string[] = [];
    const files: PartFile[] = [];
    for (const file of part.files) {
      const key = keyOf(file);
      if (key === undefined) continue;
      if (isLeftover(key)) {
        leftovers.push(key);
        continue;
      }
      keys.push(key);
      files.push(file);
    }
    const stem = exportStem(part.file);
    const candidates = [
      ...exports.filter((group) => group.stems.has(stem)),
      ...exports.filter((group) => !group.stems.has(stem)),
    ];
    let chosen: (typeof exports)[number] | undefined;
    for (const group of candidates) {
      let agrees = true;
      for (let at = 0; at < keys.length; at++) {
        const key = keys[at] as string;
        const known = group.tree.get(key);
        if (known && known.part !== part && (await differ(known, files[at] as PartFile, key))) {
          agrees = false;
          break;
        }
      }
      if (agrees) {
        chosen = group;
        break;
      }
    }
    if (!chosen) {
      chosen = { tree: new Map(), stems: new Set() };
      exports.push(chosen);
    }
    chosen.stems.add(stem);
    const tree = chosen.tree;
    for (let at = 0; at < keys.length; at++) {
      const key = keys[at] as string;
      const file = files[at] as PartFile;
      const known = tree.get(key);
      if (!known) {
        tree.set(key, file);
        continue;
      }
      if (known.part === part) {
        // Two entries of one part are two files, even when their names differ only in Unicode
        // normalization (café.jpg in NFC and in NFD): each keeps its own name as written.
        const own = (copy: PartFile) => {
          const folder = parentOf(key);
          return `${folder === '' ? '' : `${folder}/`}${baseName(copy.path)}`;
        };
        if (own(file) !== key && !tree.has(own(file))) {
          tree.set(own(file), file);
        } else if (own(known) !== key && !tree.has(own(known))) {
          tree.set(own(known), known);
          tree.set(key, file);
        } else {
          findings.warn(`"${key}" is in ${part.file} twice; the first is used.`);
        }
        continue;
      }
      // The same file in two parts: prefer a copy that can be read out of order; keep a JSON that parsed.
      if (rank(file) < rank(known) || (known.json === undefined && file.json !== undefined)) {
        tree.set(key, file);
      }
    }
  }
  if (leftovers.length > 0) {
    findings.warn(
      `${leftovers.length} NAS or desktop leftover file${leftovers.length === 1 ? '' : 's'} ignored, not photos (Synology @eaDir, QNAP .@__thumb, Thumbs.db, .DS_Store, desktop.ini, AppleDouble ._ files; first: "${leftovers[0]}").`,
    );
  }

  return exports.map((group) => group.tree);
}

/** `takeout-20250101T000000Z-001.zip` → `takeout-20250101T000000Z`: the name the parts of one export share. */
function exportStem(file: string): string {
  const name = path.basename(file);
  const numbered = /^(.*)-\d{1,4}\.(?:zip|tgz|tar\.gz|tar)$/i.exec(name);
  return numbered ? (numbered[1] as string) : file;
}

/** Whether two parts' files at one path are different files: another size, CRC-32 or sidecar. */
async function differ(a: PartFile, b: PartFile, key: string): Promise<boolean> {
  if (a.size !== b.size) return true;
  if (a.json !== undefined && b.json !== undefined) return JSON.stringify(a.json) !== JSON.stringify(b.json);
  if (!isMediaName(baseName(key))) return false;
  const [crcA, crcB] = await Promise.all([crcOf(a), crcOf(b)]);
  return crcA !== undefined && crcB !== undefined && crcA !== crcB;
}

/**
 * A file's CRC-32: the zip directory's, the one tgz pass 1 computed, or (a folder's file, only
 * when another part holds the same path with the same size) read once and kept as evidence.
 */
async function crcOf(file: PartFile): Promise<number | undefined> {
  const known = zipCrcOf(file) ?? file.crc32;
  if (known !== undefined || file.fsPath === undefined) return known;
  countMediaRead();
  let crc = 0;
  try {
    for await (const chunk of createReadStream(file.fsPath)) crc = crc32(chunk as Buffer, crc);
  } catch {
    return undefined;
  }
  file.crc32 = crc;
  return crc;
}
