/**
 * Pure: what a file's name says about it: a photo or video (and its MIME type), a file that may
 * carry EXIF, or a NAS or desktop leftover that is no photo at all.
 */

const VIDEO_TYPES: Record<string, string> = {
  mp4: 'video/mp4',
  m4v: 'video/x-m4v',
  mov: 'video/quicktime',
  qt: 'video/quicktime',
  '3gp': 'video/3gpp',
  '3g2': 'video/3gpp2',
  avi: 'video/x-msvideo',
  mkv: 'video/x-matroska',
  webm: 'video/webm',
  wmv: 'video/x-ms-wmv',
  mpg: 'video/mpeg',
  mpeg: 'video/mpeg',
  mts: 'video/mp2t',
  m2ts: 'video/mp2t',
  // Motion Photo video parts are MP4 inside (gpth#381).
  mp: 'video/mp4',
  mv: 'video/mp4',
};

const IMAGE_TYPES: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  jpe: 'image/jpeg',
  jfif: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  heic: 'image/heic',
  heif: 'image/heif',
  avif: 'image/avif',
  bmp: 'image/bmp',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  dng: 'image/x-adobe-dng',
  nef: 'image/x-nikon-nef',
  cr2: 'image/x-canon-cr2',
  arw: 'image/x-sony-arw',
  orf: 'image/x-olympus-orf',
  rw2: 'image/x-panasonic-rw2',
  raf: 'image/x-fuji-raf',
};

/** Files in a folder input that are not the user's media. */
const SYSTEM_FILES = new Set(['.ds_store', 'thumbs.db', 'desktop.ini']);

/**
 * Folders a NAS or a desktop adds beside photos when an extracted Takeout sits on it: Synology's
 * thumbnails (`@eaDir/<photo>/SYNOFILE_THUMB_*.jpg`), QNAP's (`.@__thumb/s100<photo>`), macOS
 * resource forks in a zip (`__MACOSX/`) or on a share (`.AppleDouble/`). Google never writes them.
 */
const LEFTOVER_FOLDERS = new Set(['@eadir', '.@__thumb', '@__thumb', '__macosx', '.appledouble']);

/** True for NAS and desktop leftovers: files in the folders above, `Thumbs.db` and friends, AppleDouble `._name`. */
export function isLeftover(path: string): boolean {
  const segments = path.split('/');
  const name = (segments.pop() ?? '').toLowerCase();
  return (
    SYSTEM_FILES.has(name) ||
    name.startsWith('._') ||
    segments.some((segment) => LEFTOVER_FOLDERS.has(segment.toLowerCase()))
  );
}

export function isMediaName(name: string): boolean {
  const folded = name.toLowerCase();
  return (
    !folded.endsWith('.json') &&
    !folded.endsWith('.html') &&
    !SYSTEM_FILES.has(folded) &&
    !folded.startsWith('._')
  );
}

export function mediaType(name: string): { kind: 'photo' | 'video'; mimeType?: string } {
  const match = /\.([^.]+)$/.exec(name);
  const ext = (match?.[1] ?? '').toLowerCase().replace(/~\d+$/, '');
  const video = VIDEO_TYPES[ext];
  if (video) return { kind: 'video', mimeType: video };
  const image = IMAGE_TYPES[ext];
  if (image) return { kind: 'photo', mimeType: image };
  // Old extension-less Motion Photo parts (immich-go listing `checkLivePhoto`).
  if (!match && /^MVIMG_/i.test(name)) return { kind: 'video', mimeType: 'video/mp4' };
  return { kind: 'photo' };
}

/** Formats that may carry EXIF (JPEG APP1, TIFF-based raw, PNG `eXIf`, WebP `EXIF`). */
export function mayHaveExif(name: string): boolean {
  return /\.(jpe?g|jpe|jfif|tiff?|dng|nef|nrw|cr2|arw|sr2|orf|rw2|pef|srw|png|webp)$/i.test(name);
}
