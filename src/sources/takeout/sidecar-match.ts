/**
 * Pure: which JSON sidecar in the same folder describes a media file. Google derives the sidecar
 * name from the media name, not the other way round (ente#4956), so every rule here starts from
 * the media name and asks "what would Google have called its sidecar?". The rules, each from the
 * issue that found it:
 *
 * - `T.json`, `T.supplemental-metadata.json` (2024+, immich-go#652) and any cut of the suffix,
 *   since Google keeps 51 UTF-16 units with `.json` (memories#1559, immich-go#35);
 * - `X(n).ext` ↔ `X.ext(n).json` / `X.ext.supplemental-metadata(n).json`: the index moves behind
 *   the extension (immich-go#673) and is never cut; never `X(n).ext` ↔ plain `X.ext.json` (gpth#175);
 * - edited copies borrow the original's sidecar (`-edited`, `-bearbeitet`, `-modifié`…, NFC: gpth#243);
 * - Motion Photo parts (`X.MP` ↔ `X.MP.jpg.json`) and Live Photo videos (`X.MP4` ↔ `X.HEIC.json`,
 *   gpth#180, Neo#119) borrow the still's sidecar;
 * - media stems are cut at 47 units, which can eat an edited suffix or a duplicate index (Neo#29, gpth#149).
 *
 * One file of some 350 lines on purpose: the rules above work together (a cut suffix, an index
 * and an edited suffix in one name), and split apart they would each need the others' helpers.
 *
 * One file on purpose (over 300 lines): the rules above interact (a cut suffix and a moved index
 * in one name), and are tested as one table; split, their order would be implicit.
 */

export type MatchMethod =
  | 'exact'
  | 'supplemental'
  | 'cut'
  | 'index'
  | 'edited'
  | 'extensionless'
  | 'motion'
  | 'live'
  | 'truncated'
  | 'title';

export interface SidecarInfo {
  /** File name of the JSON, in the media's folder. */
  name: string;
  /** The sidecar's `title`, used only as the last resort (gpth#395: titles can differ from disk). */
  title?: string;
}

export interface SidecarMatch {
  sidecar: string;
  method: MatchMethod;
  /** True when the sidecar belongs to another file (the original of an edit, the still of a video). */
  borrowed: boolean;
}

const SUPPLEMENTAL = 'supplemental-metadata';
/** Google cuts `T + suffix` to 46 units before adding `.json` (51 in all). */
const SIDECAR_CUT = 46;
/** Google cuts media stems to 47 units, keeping the extension. */
const MEDIA_STEM_CAP = 47;

/**
 * Localized "edited" suffixes as Google writes them in each language, plus gpth's English "extras". Google-made collages and
 * animations have their own sidecar; the exact name is always tried first.
 */
export const EDITED_SUFFIXES: readonly string[] = [
  '-edited',
  '-bearbeitet',
  '-modifié',
  '-modificato',
  '-ha editado',
  '-editado',
  '-editat',
  '-edytowane',
  '-bewerkt',
  '-編集済み',
  '-编辑',
  '-已修改',
  '-已編輯',
  '-muokattu',
  '-измененный',
  '-отредактировано',
  '-düzenlendi',
  '-편집됨',
  '-відредаговано',
  '-redigeret',
  '-upravené',
  '-effects',
  '-smile',
  '-mix',
  '-motion',
  '-animation',
  '-collage',
]
  .map((suffix) => suffix.normalize('NFC').toLowerCase())
  .sort((a, b) => b.length - a.length);

const LIVE_STILL_EXTENSIONS = ['.heic', '.jpg', '.jpeg'];

function nfc(text: string): string {
  return text.normalize('NFC');
}

function fold(text: string): string {
  return text.normalize('NFC').toLowerCase();
}

/** First `k` UTF-16 units; also `k + 1` when unit `k` would split a surrogate pair (immich-go#35). */
function cuts(text: string, k: number): string[] {
  if (text.length <= k) return [text];
  const code = text.charCodeAt(k - 1);
  return code >= 0xd800 && code <= 0xdbff ? [text.slice(0, k), text.slice(0, k + 1)] : [text.slice(0, k)];
}

/** Splits `name.ext`; an extension has no dot, space or parenthesis (so `… (38)` stays in the stem). */
export function splitExtension(name: string): { stem: string; ext: string } {
  const match = /\.[^.\s()]{1,10}$/u.exec(name);
  if (!match || match.index === 0) return { stem: name, ext: '' };
  return { stem: name.slice(0, match.index), ext: match[0] };
}

interface ParsedSidecar {
  rest: string;
  index?: number;
}

function isSupplementalSegment(segment: string): boolean {
  const tail = segment.slice(1).toLowerCase();
  return segment.startsWith('.') && (SUPPLEMENTAL.startsWith(tail) || tail === 'metadata');
}

/** `IMG.jpg.supple(1).json` → rest `IMG.jpg.supple`, index 1. Undefined for non-JSON names. */
export function parseSidecarName(name: string): ParsedSidecar | undefined {
  const normalized = nfc(name);
  if (!/\.json$/i.test(normalized)) return undefined;
  const rest = normalized.slice(0, -'.json'.length);
  const trailing = /^(.*)\((\d+)\)$/su.exec(rest);
  if (trailing?.[1]) return { rest: trailing[1], index: Number(trailing[2]) };
  // Neo's tests also accept the index before the suffix: `IMG_2367.HEIC(1).supplemental-metadata.json`.
  const inner = /^(.*)\((\d+)\)(\.[^.()]*)$/su.exec(rest);
  if (inner?.[1] && isSupplementalSegment(inner[3] as string)) {
    return { rest: inner[1] + inner[3], index: Number(inner[2]) };
  }
  return { rest };
}

type Step = 'direct' | 'edited' | 'extensionless' | 'motion' | 'live' | 'truncated';

interface Candidate {
  /** The original name Google would have built the sidecar name from. */
  target: string;
  index: number | undefined;
  step: Step;
}

interface Interpretation {
  base: string;
  index: number | undefined;
}

function interpretations(stem: string): Interpretation[] {
  const result: Interpretation[] = [];
  const numbered = /^(.*)\((\d+)\)$/su.exec(stem);
  if (numbered?.[1]) result.push({ base: numbered[1], index: Number(numbered[2]) });
  // The "(n)" can be part of the real name: `Urlaub … Schneifel (38).JPG` (gpth#8).
  result.push({ base: stem, index: undefined });
  return result;
}

function stripEditedSuffix(base: string): string | undefined {
  const folded = fold(base);
  for (const suffix of EDITED_SUFFIXES) {
    if (folded.length > suffix.length && folded.endsWith(suffix)) {
      return nfc(base).slice(0, nfc(base).length - suffix.length);
    }
  }
  return undefined;
}

/** `…_001-ha ed` → `…_001`: an edited suffix eaten by the 47-unit cap (Neo#29). */
function stripPartialEditedSuffix(base: string): string | undefined {
  const dash = base.lastIndexOf('-');
  if (dash <= 0) return undefined;
  const tail = fold(base.slice(dash));
  return EDITED_SUFFIXES.some((suffix) => suffix.startsWith(tail)) ? base.slice(0, dash) : undefined;
}

function atStemCap(base: string): boolean {
  if (base.length === MEDIA_STEM_CAP) return true;
  const code = base.charCodeAt(MEDIA_STEM_CAP - 1);
  return base.length === MEDIA_STEM_CAP + 1 && code >= 0xd800 && code <= 0xdbff;
}

const MOTION_EXTENSION = /^(?:\.mp|\.mp~\d+|\.mv|)$/i;
const LIVE_VIDEO_EXTENSION = /^\.(?:mp4|mov)$/i;

/** Candidate originals for a media name, most trustworthy first: the exact name, then ever looser forms. */
function candidates(mediaName: string): Candidate[] {
  const { stem, ext } = splitExtension(nfc(mediaName));
  const readings = interpretations(stem);
  const list: Candidate[] = [];
  const add = (target: string, index: number | undefined, step: Step) => list.push({ target, index, step });
  for (const { base, index } of readings) add(base + ext, index, 'direct');
  for (const { base, index } of readings) {
    const original = stripEditedSuffix(base);
    if (original !== undefined) add(original + ext, index, 'edited');
  }
  // `IMG-…-modifié(1).jpg` with only `IMG-….jpg.json` (Neo basic mode; immich-go#698).
  for (const { base, index } of readings) {
    const original = stripEditedSuffix(base);
    if (original !== undefined && index !== undefined) add(original + ext, undefined, 'edited');
  }
  if (ext !== '') {
    for (const { base, index } of readings) {
      add(base, index, 'extensionless');
      const original = stripEditedSuffix(base);
      if (original !== undefined) add(original, index, 'edited');
    }
  }
  if (MOTION_EXTENSION.test(ext)) {
    for (const { base, index } of readings) add(`${base}${ext}.jpg`, index, 'motion');
  }
  if (LIVE_VIDEO_EXTENSION.test(ext)) {
    for (const { base, index } of readings) {
      for (const still of LIVE_STILL_EXTENSIONS) add(base + still, index, 'live');
    }
  }
  for (const { base, index } of readings) {
    if (!atStemCap(base)) continue;
    const original = stripPartialEditedSuffix(base);
    if (original !== undefined) {
      add(original + ext, index, 'truncated');
      if (index !== undefined) add(original + ext, undefined, 'truncated');
    }
    // A "forgotten duplicate": the edited suffix vanished entirely, leaving only `(1)` (gpth#149).
    if (index !== undefined) add(base + ext, undefined, 'truncated');
  }
  return list;
}

type Form = 'supplemental' | 'cut' | 'exact';

/** Every sidecar rest (name without `(n)` and `.json`) Google may have written for `target`. */
function sidecarForms(target: string): Array<[string, Form]> {
  const long = `${target}.${SUPPLEMENTAL}`;
  const forms: Array<[string, Form]> = [[long, 'supplemental']];
  for (const cut of cuts(long, SIDECAR_CUT))
    forms.push([cut, cut.length >= target.length ? 'supplemental' : 'cut']);
  for (let length = SUPPLEMENTAL.length - 1; length >= 0; length--) {
    forms.push([`${target}.${SUPPLEMENTAL.slice(0, length)}`, 'supplemental']);
  }
  forms.push([target, 'exact']);
  for (const cut of cuts(target, SIDECAR_CUT)) forms.push([cut, 'cut']);
  // Unverified reports of `X.MP4.metadata.json` (gpth#460); tolerated, never preferred.
  forms.push([`${target}.metadata`, 'supplemental']);
  return forms;
}

/** `rest` is NFC already (sidecar names and candidates are normalized once), so only case folds here. */
function key(rest: string, index: number | undefined): string {
  return `${rest.toLowerCase()}\u0000${index ?? ''}`;
}

function methodFor(step: Step, form: Form, index: number | undefined): MatchMethod {
  if (step !== 'direct') return step;
  if (index !== undefined) return 'index';
  return form;
}

/** Replaces what cannot be in a file name the way Google and TakeoutExtractor do. */
function sanitizeTitle(title: string): string {
  return nfc(title).replace(/[/&?]/g, '_');
}

/**
 * Matches every media file of one folder (merged across all archive parts) to a sidecar of that
 * folder. One sidecar may serve several files (original, edited copy, motion part).
 */
export function matchSidecarsInFolder(
  mediaNames: readonly string[],
  sidecars: readonly SidecarInfo[],
): Map<string, SidecarMatch> {
  // A key's one name is held alone (almost every key), not in an array: about 115 bytes less
  // a sidecar while a folder of 100,000 is matched.
  const byKey = new Map<string, string | string[]>();
  for (const sidecar of [...sidecars].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const info = parseSidecarName(sidecar.name);
    if (!info) continue;
    const entry = key(info.rest, info.index);
    const names = byKey.get(entry);
    if (names === undefined) byKey.set(entry, sidecar.name);
    else if (typeof names === 'string') byKey.set(entry, [names, sidecar.name]);
    else names.push(sidecar.name);
  }

  const result = new Map<string, SidecarMatch>();
  for (const media of mediaNames) {
    const found = findByName(media, byKey);
    if (found) result.set(media, found);
  }

  // Last resort: sidecars nobody claimed, by their title (cut to 47 like a media stem). Nothing
  // to do when every media file has its sidecar (almost always), so nothing is built for it then.
  if (mediaNames.every((media) => result.has(media))) return result;
  const claimed = new Set<string>();
  for (const match of result.values()) claimed.add(match.sidecar);
  const byTitle = new Map<string, Array<{ sidecar: string; ext: string }>>();
  for (const sidecar of sidecars) {
    if (claimed.has(sidecar.name) || !sidecar.title) continue;
    const info = parseSidecarName(sidecar.name);
    if (!info) continue;
    const title = splitExtension(sanitizeTitle(sidecar.title));
    for (const cut of cuts(title.stem, MEDIA_STEM_CAP)) {
      const stem = fold(info.index === undefined ? cut : `${cut}(${info.index})`);
      const list = byTitle.get(stem) ?? [];
      list.push({ sidecar: sidecar.name, ext: fold(title.ext) });
      byTitle.set(stem, list);
    }
  }
  if (byTitle.size === 0) return result;
  for (const media of mediaNames) {
    if (result.has(media)) continue;
    const { stem, ext } = splitExtension(nfc(media));
    const found = byTitle.get(fold(stem))?.find((entry) => entry.ext === '' || entry.ext === fold(ext));
    if (found) result.set(media, { sidecar: found.sidecar, method: 'title', borrowed: false });
  }
  return result;
}

function findByName(media: string, byKey: Map<string, string | string[]>): SidecarMatch | undefined {
  for (const candidate of candidates(media)) {
    for (const [rest, form] of sidecarForms(candidate.target)) {
      const names = byKey.get(key(rest, candidate.index));
      if (names === undefined || names.length === 0) continue;
      // Case variants of one name: prefer the one spelled exactly like the form.
      const exactSpelling = `${rest}${candidate.index === undefined ? '' : `(${candidate.index})`}.json`;
      const sidecar =
        typeof names === 'string'
          ? names
          : (names.find((name) => nfc(name) === exactSpelling) ?? (names[0] as string));
      return {
        sidecar,
        method: methodFor(candidate.step, form, candidate.index),
        borrowed: candidate.step !== 'direct' && candidate.step !== 'extensionless',
      };
    }
  }
  return undefined;
}

/**
 * The media file an edited copy or a Live/Motion video part belongs to, among the folder's media,
 * so it can share the still's date when neither has a sidecar (the still may have EXIF).
 */
export function findOriginalMedia(
  media: string,
  mediaNames: readonly string[] | ReadonlyMap<string, string>,
): string | undefined {
  const byName = Array.isArray(mediaNames)
    ? indexMediaNames(mediaNames)
    : (mediaNames as ReadonlyMap<string, string>);
  for (const candidate of candidates(media)) {
    if (candidate.step === 'direct' || candidate.step === 'extensionless') continue;
    const { stem, ext } = splitExtension(candidate.target);
    const name = candidate.index === undefined ? candidate.target : `${stem}(${candidate.index})${ext}`;
    const found = byName.get(fold(name));
    if (found !== undefined && found !== media) return found;
  }
  return undefined;
}

/** A folder's media names by their folded form, built once for many findOriginalMedia calls. */
export function indexMediaNames(mediaNames: readonly string[]): Map<string, string> {
  const byName = new Map<string, string>();
  for (const name of mediaNames) byName.set(fold(name), name);
  return byName;
}
