/**
 * Album folders (--albums): `albums/<album>/<file>` for every saved item of the year that belongs
 * to an album, as a relative symlink to the file in its day folder (`../../2024-03-17/IMG_1.jpg`),
 * or a hard link where symlinks cannot be made (Windows without developer mode answers EPERM).
 * Never a second copy of the bytes.
 *
 * planAlbumLinks is pure (album names → safe folder names, file names, collisions);
 * writeAlbumLinks acts, and writes only inside the backup folder: an `albums` folder or an album
 * folder that is a link is not written through, and a link planted where an album link belongs is
 * replaced (the link itself, by a rename), never followed.
 *
 * One file on purpose (over 300 lines): the pure planner and the one writer that carries out its
 * plan, with the link checks both need; apart, each would restate the other's rules.
 */
import { randomBytes } from 'node:crypto';
import {
  type Dirent,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import path from 'node:path';
import { symlinkRefusal } from './crash-hook.ts';
import { idSuffix, nameKey, safeFileName, suffixedName } from './layout.ts';
import type { SavedRecord } from './manifest.ts';
import type { SidecarWriter } from './metadata/sidecar-writer.ts';
import type { Report } from './report/events.ts';

export const ALBUMS_FOLDER = 'albums';

/** A saved file and the albums it belongs to. */
export interface AlbumMember {
  /** The file's place in the backup folder (`2024-03-17/IMG_1.jpg`, with `/`). */
  path: string;
  /** Album names as Google shows them; untrusted. */
  albums: readonly string[];
}

export interface AlbumLink {
  /** The album's name as Google shows it. */
  album: string;
  /** `albums/<safe album name>/<safe file name>`, with `/`. */
  link: string;
  /** The day-folder file it leads to (`2024-03-17/IMG_1.jpg`). */
  target: string;
}

/** The album names kept in an item's metadata (`metadata.albums`), checked: the record is untrusted. */
export function albumsOf(metadata: Record<string, unknown> | undefined): string[] {
  const albums = metadata?.albums;
  if (!Array.isArray(albums)) return [];
  return albums.filter((album): album is string => typeof album === 'string' && album.trim() !== '');
}

/**
 * The links to make, one per (album, file). Album names are made safe like file names; two albums
 * whose safe names a file system takes for one (case, `a/b` and `a_b`) are told apart by a suffix
 * from the name, the plain name going to the album whose name needed no change, then by order,
 * so every run gives every album the same folder. Two files of one name in an album (from two
 * days): the one of the earlier path keeps the name, the other gets a suffix from its path. Pure.
 */
export function planAlbumLinks(members: Iterable<AlbumMember>): AlbumLink[] {
  const byAlbum = new Map<string, Set<string>>();
  for (const member of members) {
    for (const album of member.albums) {
      const targets = byAlbum.get(album) ?? new Set<string>();
      targets.add(member.path);
      byAlbum.set(album, targets);
    }
  }
  const titles = [...byAlbum.keys()].sort((a, b) => {
    const exactA = safeFileName(a) === a ? 0 : 1;
    const exactB = safeFileName(b) === b ? 0 : 1;
    return exactA - exactB || (a < b ? -1 : a > b ? 1 : 0);
  });
  const folders = new Set<string>();
  const links: AlbumLink[] = [];
  for (const album of titles) {
    const safe = safeFileName(album);
    let folder = safe;
    for (let round = 0; folders.has(nameKey(folder)); round++)
      folder = `${safe}~${idSuffix(round === 0 ? album : `${album}\u0000${round}`)}`;
    folders.add(nameKey(folder));
    const names = new Set<string>();
    const targets = [...(byAlbum.get(album) ?? [])].sort();
    for (const target of targets) {
      const plain = safeFileName(target.slice(target.lastIndexOf('/') + 1));
      let name = plain;
      for (let round = 0; names.has(nameKey(name)); round++)
        name = suffixedName(plain, round === 0 ? target : `${target}\u0000${round}`);
      names.add(nameKey(name));
      links.push({ album, link: `${ALBUMS_FOLDER}/${folder}/${name}`, target });
    }
  }
  return links;
}

/** What happened to one link: made, replaced (a link to something else, or to nothing, was there), or already right. */
export type LinkAction = 'made' | 'replaced' | 'kept';

export interface AlbumLinkOptions {
  dryRun: boolean;
  /** Day-folder files a dry run would save: their links would be made although the file is not there yet. */
  planned?: ReadonlySet<string>;
  /** Each link made or replaced (or, in a dry run, that would be). */
  onLink?: (link: AlbumLink, action: Exclude<LinkAction, 'kept'>, kind: 'symlink' | 'hardlink') => void;
}

export interface AlbumLinkResult {
  made: number;
  replaced: number;
  kept: number;
  /** Hard links made because symlinks were refused. */
  hardLinks: number;
  /** One line each for what was left alone: a folder in the way, a file where a link belongs. */
  problems: string[];
}

type Entry = 'none' | 'symlink' | 'file' | 'folder' | 'other';

/**
 * The file system calls here are synchronous: the step runs once the downloads are done, and each
 * call (an lstat, a symlink) takes microseconds, less than a hand-off to the thread pool, which
 * would make the link of a small file cost almost as much as saving it. Folders are listed once
 * (writeAlbumLinks), so a new link costs one call, the symlink, and only a name a listing holds
 * is looked at on its own.
 */
function entryAt(full: string): { kind: Entry; dev?: number; ino?: number } {
  const info = lstatSync(full, { throwIfNoEntry: false });
  if (!info) return { kind: 'none' };
  if (info.isSymbolicLink()) return { kind: 'symlink' };
  if (info.isDirectory()) return { kind: 'folder' };
  if (info.isFile()) return { kind: 'file', dev: info.dev, ino: info.ino };
  return { kind: 'other' };
}

function kindOf(entry: Dirent): Entry {
  if (entry.isSymbolicLink()) return 'symlink';
  if (entry.isDirectory()) return 'folder';
  if (entry.isFile()) return 'file';
  return 'other';
}

/** What a folder holds, by name, in one readdir (the kinds from the listing, no lstat each); undefined when it cannot be listed. */
function listing(full: string): Map<string, Entry> | undefined {
  try {
    return new Map(readdirSync(full, { withFileTypes: true }).map((entry) => [entry.name, kindOf(entry)]));
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? new Map() : undefined;
  }
}

function readlinkOrUndefined(full: string): string | undefined {
  try {
    return readlinkSync(full);
  } catch {
    return undefined;
  }
}

/**
 * Makes a folder inside the backup folder, or finds it: never through a link (a link there could
 * lead anywhere). `problem`: why it cannot be used; none when it is ready (or, in a dry run, would
 * be). `made`: this call made it (or a dry run would), so it holds nothing yet.
 */
function folderAt(full: string, relative: string, dryRun: boolean): { problem?: string; made?: boolean } {
  const entry = entryAt(full);
  if (entry.kind === 'folder') return {};
  if (entry.kind === 'symlink') {
    const target = readlinkOrUndefined(full) ?? '?';
    return {
      problem: `${relative} in the backup folder is a link to ${target}, and nothing is written through it: replace the link with a folder, then run again`,
    };
  }
  if (entry.kind !== 'none')
    return {
      problem: `${relative} in the backup folder is a file, not a folder: move or rename it, then run again`,
    };
  if (dryRun) return { made: true };
  try {
    mkdirSync(full);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || entryAt(full).kind !== 'folder') throw error;
    return {};
  }
  return { made: true };
}

/**
 * Makes the links of `links` in the backup folder `folder`. A link already right is kept; a
 * symlink that leads elsewhere or to nothing is replaced by the right one (the link itself is
 * replaced, by a rename, never what it leads to); a file or folder of a link's name that is not
 * this item's file is left alone and reported. A link whose day-folder file is not there is not
 * made (no dangling links). Symlinks first; after the first EPERM, hard links for the rest.
 */
export async function writeAlbumLinks(
  folder: string,
  links: readonly AlbumLink[],
  options: AlbumLinkOptions,
): Promise<AlbumLinkResult> {
  const result: AlbumLinkResult = { made: 0, replaced: 0, kept: 0, hardLinks: 0, problems: [] };
  if (links.length === 0) return result;
  const rootProblem = folderAt(path.join(folder, ALBUMS_FOLDER), ALBUMS_FOLDER, options.dryRun).problem;
  if (rootProblem) {
    result.problems.push(rootProblem);
    return result;
  }
  /** Each album folder, made or found once: why it cannot be used, or the names it held then. */
  const albumFolders = new Map<string, { problem?: string; names?: Map<string, Entry> }>();
  const albumFolder = (relative: string) => {
    let known = albumFolders.get(relative);
    if (!known) {
      const full = path.join(folder, relative);
      const found = folderAt(full, relative, options.dryRun);
      // A folder just made holds nothing; one found is listed (undefined: every name is looked at).
      const names = found.problem ? undefined : found.made ? new Map<string, Entry>() : listing(full);
      known = { ...(found.problem ? { problem: found.problem } : {}), ...(names ? { names } : {}) };
      albumFolders.set(relative, known);
    }
    return known;
  };
  /** The day folders' files, listed once: whether a link's target is a file there, without an lstat each. */
  const dayFolders = new Map<string, Map<string, Entry> | undefined>();
  const targetKind = (target: string): Entry => {
    const slash = target.lastIndexOf('/');
    const day = target.slice(0, slash);
    if (!dayFolders.has(day)) dayFolders.set(day, listing(path.join(folder, day)));
    const kind = dayFolders.get(day)?.get(target.slice(slash + 1));
    // Not in the listing (or none): looked at on its own, as a name the listing may spell otherwise.
    return kind ?? entryAt(path.join(folder, target)).kind;
  };
  let useHardLinks = false;
  // Read once: the test switch lives in the environment, and reading it costs per link.
  const refusal = symlinkRefusal();

  const makeAt = (where: string, plan: AlbumLink, relativeTarget: string): 'symlink' | 'hardlink' => {
    if (!useHardLinks) {
      try {
        if (refusal) throw refusal;
        symlinkSync(relativeTarget, where, 'file');
        return 'symlink';
      } catch (error) {
        // Windows without developer mode (or without the privilege) refuses symlinks with EPERM.
        if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
        useHardLinks = true;
      }
    }
    linkSync(path.join(folder, plan.target), where);
    return 'hardlink';
  };

  /** `listed`: the album folder's listing may answer for the link's name (false: look at it). */
  const one = (plan: AlbumLink, listed = true): void => {
    const slash = plan.link.lastIndexOf('/');
    const album = albumFolder(plan.link.slice(0, slash));
    if (album.problem) return;
    const full = path.join(folder, plan.link);
    const targetIs = targetKind(plan.target);
    if (options.dryRun && targetIs === 'none' && options.planned?.has(plan.target)) {
      result.made++;
      options.onLink?.(plan, 'made', useHardLinks ? 'hardlink' : 'symlink');
      return;
    }
    // The day-folder file was deleted or is not a file (a link put in its place): no link to it.
    if (targetIs !== 'file') return;
    const relativeTarget = path.join('..', '..', ...plan.target.split('/'));
    // A name the album folder did not hold is free (most links of a run): no lstat of it, nor of
    // the target. Should it be taken since, the link call says EEXIST and it is looked at below.
    const free = listed && album.names !== undefined && !album.names.has(plan.link.slice(slash + 1));
    if (free && !options.dryRun) {
      try {
        const made = makeAt(full, plan, relativeTarget);
        if (made === 'hardlink') result.hardLinks++;
        result.made++;
        options.onLink?.(plan, 'made', made);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        one(plan, false);
        return;
      }
    }
    const target = entryAt(path.join(folder, plan.target));
    if (target.kind !== 'file') return;
    const here: ReturnType<typeof entryAt> = free ? { kind: 'none' } : entryAt(full);
    if (here.kind === 'symlink') {
      const resolves = statSync(full, { throwIfNoEntry: false });
      if (
        readlinkOrUndefined(full) === relativeTarget &&
        resolves?.ino === target.ino &&
        resolves?.dev === target.dev
      ) {
        result.kept++;
        return;
      }
    } else if (here.kind === 'file') {
      if (here.ino === target.ino && here.dev === target.dev) {
        result.kept++;
        return;
      }
      result.problems.push(
        `${plan.link} is a file, not a link to ${plan.target}: it is left as it is (move it away to have the link made)`,
      );
      return;
    } else if (here.kind !== 'none') {
      result.problems.push(`${plan.link} is a folder, not a link to ${plan.target}: it is left as it is`);
      return;
    }
    const action = here.kind === 'none' ? 'made' : 'replaced';
    if (options.dryRun) {
      result[action]++;
      options.onLink?.(plan, action, useHardLinks ? 'hardlink' : 'symlink');
      return;
    }
    let kind: 'symlink' | 'hardlink';
    if (action === 'made') {
      kind = makeAt(full, plan, relativeTarget);
    } else {
      // Beside it under a hidden name, then renamed over it: the old link is replaced whole, never followed.
      const temp = path.join(path.dirname(full), `.${randomBytes(6).toString('hex')}.link`);
      try {
        kind = makeAt(temp, plan, relativeTarget);
        renameSync(temp, full);
      } catch (error) {
        rmSync(temp, { force: true });
        throw error;
      }
    }
    if (kind === 'hardlink') result.hardLinks++;
    result[action]++;
    options.onLink?.(plan, action, kind);
  };

  for (const plan of links) {
    try {
      one(plan);
    } catch (error) {
      const { code, message } = error as NodeJS.ErrnoException;
      result.problems.push(`${plan.link} could not be made (${code ?? message})`);
    }
  }
  for (const { problem } of albumFolders.values()) if (problem) result.problems.push(problem);
  return result;
}

/**
 * Album links made while the year downloads, each as its file is saved (the Library API, once its
 * albums are listed): the album step at the end, which runs after the last download with nothing
 * beside it, then has only the rest to make. A link is made here only where its name is sure to
 * be the one the step's plan gives it: an album whose safe name no other known album shares, and
 * a file name its album folder did not hold (as listed when first used) and no link of this run
 * took. Anything else (a collision, a name taken, an error) is left to the step, which makes,
 * keeps or reports it as before; a link made here that the plan then puts elsewhere (a collision
 * that only the end shows) is removed there. Synchronous calls, as in writeAlbumLinks.
 */
export class LiveAlbumLinks {
  /** Links made this way, `albums/<album>/<name>` → the day-folder file they lead to. */
  readonly made = new Map<string, string>();
  /** Of `made`, the links made as hard links (symlinks refused): told apart by their inode. */
  readonly madeHard = new Set<string>();
  hardLinks = 0;
  readonly #folder: string;
  readonly #ofYear: RegExp;
  readonly #report: Report;
  /** Album name → its folder's name, for the albums whose folder is sure; undefined until start(). */
  #folders: Map<string, string> | undefined;
  /** Each album folder used: the name keys it holds (listed, then made here); null: not to be used. */
  readonly #names = new Map<string, Set<string> | null>();
  #useHardLinks = false;
  readonly #refusal = symlinkRefusal();
  /** The thread that makes the symlinks (the sidecars' writer), off the downloads' path; absent: here. */
  readonly #writer: SidecarWriter | undefined;
  /** Symlinks handed to the writer and not answered yet. */
  readonly #pending = new Set<Promise<void>>();

  constructor(folder: string, year: number, report: Report, writer?: SidecarWriter) {
    this.#folder = folder;
    this.#ofYear = new RegExp(`^${year}-\\d\\d-\\d\\d/`);
    this.#report = report;
    this.#writer = writer;
  }

  /** Resolves when every link handed to the writer thread is made (in `made`) or left to the step at the end. */
  async settled(): Promise<void> {
    // Sent now, not when the writer's batch would be: the step at the end waits for them.
    if (this.#pending.size > 0) await this.#writer?.flush();
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  /** Every album name known (the source's and the record's): the folders follow from them all. */
  start(titles: Iterable<string>): void {
    const byKey = new Map<string, string[]>();
    for (const title of new Set(titles)) {
      const key = nameKey(safeFileName(title));
      byKey.set(key, [...(byKey.get(key) ?? []), title]);
    }
    this.#folders = new Map();
    for (const [only, ...others] of byKey.values())
      if (only !== undefined && others.length === 0) this.#folders.set(only, safeFileName(only));
  }

  /** After `target`'s record line: its links into the albums it belongs to, where sure. */
  link(target: string, albums: readonly string[]): void {
    if (!this.#folders || albums.length === 0 || !this.#ofYear.test(target)) return;
    try {
      this.#linkAll(target, albums);
    } catch {
      this.#folders = undefined; // A folder that cannot be made or read: the step at the end says why.
    }
  }

  #linkAll(target: string, albums: readonly string[]): void {
    const name = safeFileName(target.slice(target.lastIndexOf('/') + 1));
    const key = nameKey(name);
    const relativeTarget = path.join('..', '..', ...target.split('/'));
    for (const album of new Set(albums)) {
      const albumFolder = this.#folders?.get(album);
      if (albumFolder === undefined) continue;
      const names = this.#namesIn(albumFolder);
      if (!names || names.has(key)) continue;
      names.add(key);
      const link = `${ALBUMS_FOLDER}/${albumFolder}/${name}`;
      const full = path.join(this.#folder, link);
      if (this.#writer && !this.#useHardLinks && !this.#refusal) {
        this.#handOn(this.#writer, full, link, target, relativeTarget);
        continue;
      }
      let kind: 'symlink' | 'hardlink';
      try {
        kind = this.#make(full, target, relativeTarget);
      } catch {
        continue; // The step at the end looks at it again, and says what is wrong.
      }
      if (kind === 'hardlink') {
        this.hardLinks++;
        this.madeHard.add(link);
      }
      this.made.set(link, target);
      this.#report({ type: 'album-link', path: link, target, action: 'made', kind, dryRun: false });
    }
  }

  /**
   * The symlink made by the writer thread (one call, so a link appears whole or not at all); a
   * system that refuses symlinks (EPERM) gets the hard link here, and from then on every link.
   * Any other error leaves the link to the step at the end, which says what is wrong.
   */
  #handOn(writer: SidecarWriter, full: string, link: string, target: string, relativeTarget: string): void {
    const done = writer.symlink(full, relativeTarget).then((code) => {
      let kind: 'symlink' | 'hardlink' = 'symlink';
      if (code === 'EPERM') {
        this.#useHardLinks = true;
        try {
          linkSync(path.join(this.#folder, target), full);
        } catch {
          return;
        }
        kind = 'hardlink';
        this.hardLinks++;
        this.madeHard.add(link);
      } else if (code !== undefined) return;
      this.made.set(link, target);
      this.#report({ type: 'album-link', path: link, target, action: 'made', kind, dryRun: false });
    });
    this.#pending.add(done);
    void done.finally(() => this.#pending.delete(done));
  }

  #namesIn(albumFolder: string): Set<string> | null {
    let names = this.#names.get(albumFolder);
    if (names === undefined) {
      if (
        this.#names.size === 0 &&
        folderAt(path.join(this.#folder, ALBUMS_FOLDER), ALBUMS_FOLDER, false).problem
      ) {
        this.#folders = undefined;
        return null;
      }
      const relative = `${ALBUMS_FOLDER}/${albumFolder}`;
      const full = path.join(this.#folder, relative);
      const found = folderAt(full, relative, false);
      const listed = found.problem ? undefined : found.made ? new Map<string, Entry>() : listing(full);
      names = listed ? new Set([...listed.keys()].map(nameKey)) : null;
      this.#names.set(albumFolder, names);
    }
    return names;
  }

  #make(full: string, target: string, relativeTarget: string): 'symlink' | 'hardlink' {
    if (!this.#useHardLinks) {
      try {
        if (this.#refusal) throw this.#refusal;
        symlinkSync(relativeTarget, full, 'file');
        return 'symlink';
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
        this.#useHardLinks = true;
      }
    }
    linkSync(path.join(this.#folder, target), full);
    return 'hardlink';
  }
}

/** Whether two paths are one file (a hard link made this run still leading to its target). */
function sameFile(a: string, b: string): boolean {
  const one = lstatSync(a, { throwIfNoEntry: false });
  const two = lstatSync(b, { throwIfNoEntry: false });
  return one !== undefined && two !== undefined && one.isFile() && one.ino === two.ino && one.dev === two.dev;
}

export interface AlbumFoldersInput {
  folder: string;
  year: number;
  dryRun: boolean;
  /** Everything recorded (after this run): each record keeps its item's album names. */
  records: Iterable<SavedRecord>;
  /** Items of this run whose albums the record may not hold yet (skipped, or planned in a dry run). */
  seen: readonly AlbumMember[];
  /** Album names by item id that the source gave this run (the Library API's albums). */
  albumsById?: ReadonlyMap<string, readonly string[]>;
  /** The links made while the year downloaded: not made again. */
  live?: LiveAlbumLinks;
  report: Report;
}

/**
 * The album step of a run: every saved file of the year with albums, from the record and from
 * this run, linked into its album folders; reported per link (always in a dry run) and in one line.
 */
export async function linkAlbumFolders(input: AlbumFoldersInput): Promise<void> {
  const members: AlbumMember[] = [...input.seen];
  const ofYear = new RegExp(`^${input.year}-\\d\\d-\\d\\d/`);
  for (const record of input.records) {
    const albums = [...new Set([...albumsOf(record.metadata), ...(input.albumsById?.get(record.id) ?? [])])];
    if (albums.length > 0 && ofYear.test(record.path)) members.push({ path: record.path, albums });
  }
  const links = planAlbumLinks(members.filter((member) => ofYear.test(member.path)));
  await input.live?.settled();
  if (links.length === 0) return;
  const live = input.live?.made ?? new Map<string, string>();
  if (live.size > 0) {
    const planned = new Map(links.map((plan) => [plan.link, plan.target]));
    for (const [link, target] of live) {
      if (planned.get(link) === target) continue;
      // Made during the run where the whole plan puts another name: removed (it is still the
      // link made then), and the plan's links are made below.
      const full = path.join(input.folder, link);
      const hard = input.live?.madeHard.has(link) === true;
      if (
        hard
          ? sameFile(full, path.join(input.folder, target))
          : readlinkOrUndefined(full) === path.join('..', '..', ...target.split('/'))
      ) {
        rmSync(full, { force: true });
        if (hard && input.live) input.live.hardLinks--;
      }
      live.delete(link);
    }
  }
  const rest = live.size > 0 ? links.filter((plan) => live.get(plan.link) !== plan.target) : links;
  const result = await writeAlbumLinks(input.folder, rest, {
    dryRun: input.dryRun,
    planned: new Set(input.seen.map((member) => member.path)),
    onLink: (plan, action, kind) =>
      input.report({
        type: 'album-link',
        path: plan.link,
        target: plan.target,
        action,
        kind,
        dryRun: input.dryRun,
      }),
  });
  result.made += live.size;
  result.hardLinks += input.live?.hardLinks ?? 0;
  for (const problem of result.problems)
    input.report({ type: 'notice', level: 'warn', message: `${problem}.` });
  const albums = new Set(links.map((plan) => plan.album)).size;
  const verb = input.dryRun ? 'would make' : 'made';
  const hard =
    result.hardLinks > 0 ? ` (${result.hardLinks} as hard links: this system refused symlinks)` : '';
  input.report({
    type: 'notice',
    level: 'info',
    message: `Album folders: ${albums} album(s) in ${ALBUMS_FOLDER}/, ${verb} ${result.made} link(s)${hard}, ${input.dryRun ? 'would replace' : 'replaced'} ${result.replaced}, ${result.kept} already there.`,
  });
}
