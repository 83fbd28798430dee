/**
 * Pure: what is known about a saved item → the text of its XMP sidecar (`IMG_0042.jpg.xmp`), the
 * file darktable, digiKam, immich and exiftool read beside a photo. The original is never touched.
 *
 * The same facts always give the same bytes (fixed property order, sorted bags, no clock, no
 * version), so a later run can tell by a hash whether the file on disk is still the one written.
 * Every text is escaped for XML 1.0, and characters XML 1.0 cannot carry at all (most C0
 * controls, lone surrogates, U+FFFE/U+FFFF) become U+FFFD: a name from Google can hold anything.
 *
 * XMP: https://github.com/adobe/XMP-Toolkit-SDK/tree/main/docs (XMP Specification Parts 1–3);
 * the exif: schema's GPS forms: https://exiftool.org/TagNames/XMP.html#exif
 */
import type { SourceName } from '../sources/source.ts';

/** What a source knows about one item; every field but `source` and `id` only when known. */
export interface ItemFacts {
  source: SourceName;
  /** The source's id of the item (SourceItem.id), so a sidecar can be traced back. */
  id: string;
  /** The capture instant. */
  takenAt?: Date;
  /** Minutes east of UTC of the clock the day folder used; the time is written with this offset (UTC when absent). */
  utcOffsetMinutes?: number;
  location?: Location;
  /** The original file name. */
  title?: string;
  description?: string;
  people?: readonly string[];
  albums?: readonly string[];
  favorite?: boolean;
  cameraMake?: string;
  cameraModel?: string;
}

export interface Location {
  /** Decimal degrees, north positive. */
  latitude: number;
  /** Decimal degrees, east positive. */
  longitude: number;
  /** Metres above sea level; negative below. */
  altitude?: number;
}

/** The tool name in `x:xmptk`, as other writers put theirs (icloudpd, exiv2), without a version so bytes stay stable. */
export const XMP_TOOLKIT = 'photo-backup';

/**
 * This tool's own properties (`photobackup:Source`, `photobackup:Id`). A namespace name only has
 * to be unique; the reserved `.invalid` domain says it is not meant to be fetched.
 */
export const PHOTO_BACKUP_NAMESPACE = 'http://ns.photo-backup.invalid/xmp/1.0/';

const NAMESPACES = {
  dc: 'http://purl.org/dc/elements/1.1/',
  exif: 'http://ns.adobe.com/exif/1.0/',
  Iptc4xmpExt: 'http://iptc.org/std/Iptc4xmpExt/2008-02-29/',
  lr: 'http://ns.adobe.com/lightroom/1.0/',
  photobackup: PHOTO_BACKUP_NAMESPACE,
  photoshop: 'http://ns.adobe.com/photoshop/1.0/',
  tiff: 'http://ns.adobe.com/tiff/1.0/',
  xmp: 'http://ns.adobe.com/xap/1.0/',
} as const;

type Prefix = keyof typeof NAMESPACES;

/** One property: a simple value, a language alternative (dc:title) or an unordered array. */
type Property =
  | { name: `${Prefix}:${string}`; kind: 'text'; value: string }
  | { name: `${Prefix}:${string}`; kind: 'alt'; value: string }
  | { name: `${Prefix}:${string}`; kind: 'bag'; values: string[] };

/** Each prefix's declaration on rdf:Description, in NAMESPACES' order (the order they are written in). */
const DECLARATIONS = (Object.keys(NAMESPACES) as Prefix[]).map(
  (prefix) => [prefix, `\n    xmlns:${prefix}="${NAMESPACES[prefix]}"`] as const,
);

const HEAD =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  `<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="${XMP_TOOLKIT}">\n` +
  ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n' +
  '  <rdf:Description rdf:about=""';
const TAIL = '  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>\n';

/**
 * The sidecar for `facts`: UTF-8 text without a byte order mark, ending in a newline. Built as one
 * string (no array of lines): one is built for every file saved with --xmp, on the main thread.
 */
export function buildXmpPacket(facts: ItemFacts): string {
  const properties = propertiesOf(facts);
  let body = '';
  const used = new Set<string>();
  for (const property of properties) {
    used.add(property.name.slice(0, property.name.indexOf(':')));
    body += serialize(property);
  }
  let declarations = '';
  for (const [prefix, declaration] of DECLARATIONS) if (used.has(prefix)) declarations += declaration;
  return `${HEAD}${declarations}>\n${body}${TAIL}`;
}

function propertiesOf(facts: ItemFacts): Property[] {
  const properties: Property[] = [];
  const text = (name: Property['name'], value: string | undefined) => {
    const known = knownText(value);
    if (known !== undefined) properties.push({ name, kind: 'text', value: known });
  };
  const title = knownText(facts.title);
  if (title !== undefined) properties.push({ name: 'dc:title', kind: 'alt', value: title });
  const description = knownText(facts.description);
  if (description !== undefined) properties.push({ name: 'dc:description', kind: 'alt', value: description });
  const albums = bagOf(facts.albums);
  if (albums.length > 0) properties.push({ name: 'dc:subject', kind: 'bag', values: albums });

  const taken = facts.takenAt ? formatXmpDate(facts.takenAt, facts.utcOffsetMinutes ?? 0) : undefined;
  text('exif:DateTimeOriginal', taken);
  const location = facts.location && validLocation(facts.location) ? facts.location : undefined;
  if (location) {
    text('exif:GPSLatitude', formatGpsCoordinate(location.latitude, 'N', 'S'));
    text('exif:GPSLongitude', formatGpsCoordinate(location.longitude, 'E', 'W'));
    const altitude = location.altitude;
    if (altitude !== undefined && Number.isFinite(altitude)) {
      text('exif:GPSAltitude', formatRational(Math.abs(altitude)));
      // 0 above sea level, 1 below (EXIF 2.32 GPSAltitudeRef).
      text('exif:GPSAltitudeRef', altitude < 0 ? '1' : '0');
    }
  }

  const people = bagOf(facts.people);
  if (people.length > 0) properties.push({ name: 'Iptc4xmpExt:PersonInImage', kind: 'bag', values: people });
  // Lightroom's keyword tree; `|` separates levels there, so one inside a name would split it.
  if (albums.length > 0)
    properties.push({
      name: 'lr:hierarchicalSubject',
      kind: 'bag',
      values: albums.map((album) => `Albums|${album.replaceAll('|', '\uff5c')}`),
    });

  text('photobackup:Id', facts.id);
  text('photobackup:Source', facts.source);
  // Apple Photos and icloudpd read the capture time from here.
  text('photoshop:DateCreated', taken);
  text('tiff:Make', facts.cameraMake);
  text('tiff:Model', facts.cameraModel);
  text('xmp:CreateDate', taken);
  if (facts.favorite === true) text('xmp:Rating', '5');
  return properties;
}

/** The property's lines, each ending in a newline. */
function serialize(property: Property): string {
  const { name } = property;
  if (property.kind === 'text') return `   <${name}>${escapeXmlText(property.value)}</${name}>\n`;
  if (property.kind === 'alt')
    return (
      `   <${name}>\n    <rdf:Alt>\n` +
      `     <rdf:li xml:lang="x-default">${escapeXmlText(property.value)}</rdf:li>\n` +
      `    </rdf:Alt>\n   </${name}>\n`
    );
  let members = '';
  for (const value of property.values) members += `     <rdf:li>${escapeXmlText(value)}</rdf:li>\n`;
  return `   <${name}>\n    <rdf:Bag>\n${members}    </rdf:Bag>\n   </${name}>\n`;
}

/** A text worth writing: not empty, not only white space. */
function knownText(value: string | undefined): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** An unordered array's members, once each and sorted, so their order at the source does not change the bytes. */
function bagOf(values: readonly string[] | undefined): string[] {
  const known = (values ?? []).map(knownText).filter((value): value is string => value !== undefined);
  return [...new Set(known.map(toWellFormedXml))].sort();
}

function validLocation(location: Location): boolean {
  const { latitude, longitude } = location;
  return (
    Number.isFinite(latitude) &&
    Number.isFinite(longitude) &&
    Math.abs(latitude) <= 90 &&
    Math.abs(longitude) <= 180 &&
    !(latitude === 0 && longitude === 0)
  );
}

/**
 * XMP's GPSCoordinate, `DDD,MM.mmmmmmK` (XMP Specification Part 2, exif: schema): whole degrees,
 * decimal minutes, hemisphere letter. Six decimals of a minute are about 2 mm. Computed in whole
 * millionths of a minute so 59.9999999′ carries into the degrees instead of printing 60.
 */
export function formatGpsCoordinate(degrees: number, positive: 'N' | 'E', negative: 'S' | 'W'): string {
  const microMinutes = Math.round(Math.abs(degrees) * 60 * 1_000_000);
  const whole = Math.floor(microMinutes / 60_000_000);
  const rest = microMinutes - whole * 60_000_000;
  const minutes = `${String(Math.floor(rest / 1_000_000)).padStart(2, '0')}.${String(rest % 1_000_000).padStart(6, '0')}`;
  return `${whole},${minutes}${degrees < 0 && microMinutes > 0 ? negative : positive}`;
}

/** A non-negative number as an XMP rational `n/d`, to the millimetre, reduced (`40/1`, `813/20`). */
export function formatRational(value: number): string {
  let numerator = Math.round(value * 1000);
  let denominator = 1000;
  const divisor = gcd(numerator, denominator);
  numerator /= divisor;
  denominator /= divisor;
  return `${numerator}/${denominator}`;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a || 1 : gcd(b, a % b);
}

/**
 * ISO 8601 with the offset, as XMP dates are written: `2024-03-17T14:05:09+01:00`, with the
 * milliseconds only when there are some. Undefined for a time XMP's four-digit years cannot hold.
 */
export function formatXmpDate(instant: Date, utcOffsetMinutes: number): string | undefined {
  const ms = instant.getTime();
  if (!Number.isFinite(ms) || !Number.isInteger(utcOffsetMinutes) || Math.abs(utcOffsetMinutes) > 18 * 60)
    return undefined;
  const local = new Date(ms + utcOffsetMinutes * 60_000);
  const year = local.getUTCFullYear();
  if (year < 0 || year > 9999) return undefined;
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  const millis = local.getUTCMilliseconds();
  const offset = Math.abs(utcOffsetMinutes);
  return (
    `${pad(year, 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}` +
    `T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}` +
    (millis === 0 ? '' : `.${pad(millis, 3)}`) +
    `${utcOffsetMinutes < 0 ? '-' : '+'}${pad(Math.floor(offset / 60))}:${pad(offset % 60)}`
  );
}

const REPLACEMENT = '\ufffd';

/**
 * Replaces what XML 1.0 cannot carry (https://www.w3.org/TR/xml/#charsets): C0 controls other than
 * tab, LF and CR, lone surrogates, U+FFFE and U+FFFF.
 */
export function toWellFormedXml(text: string): string {
  // Most names and descriptions hold none of these: the text itself, without building a copy.
  if (isWellFormedXml(text)) return text;
  let result = '';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        result += text[i] + (text[i + 1] as string);
        i++;
      } else {
        result += REPLACEMENT;
      }
    } else if (
      (unit < 0x20 && unit !== 0x09 && unit !== 0x0a && unit !== 0x0d) ||
      (unit >= 0xdc00 && unit <= 0xdfff) ||
      unit === 0xfffe ||
      unit === 0xffff
    ) {
      result += REPLACEMENT;
    } else {
      result += text[i];
    }
  }
  return result;
}

/** No code unit toWellFormedXml would replace (any surrogate counts: the slow path checks pairs). */
function isWellFormedXml(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (
      unit < 0x20
        ? unit !== 0x09 && unit !== 0x0a && unit !== 0x0d
        : unit >= 0xd800 && (unit <= 0xdfff || unit >= 0xfffe)
    )
      return false;
  }
  return true;
}

const ESCAPED_IN_TEXT = /[&<>\r]/;

/**
 * Text content for XML: `&`, `<` and `>` (so `]]>` never appears) as entities, and CR as `&#13;`,
 * since a parser turns a literal CR (or CRLF) into LF and the text would not read back the same.
 */
export function escapeXmlText(text: string): string {
  const wellFormed = toWellFormedXml(text);
  if (!ESCAPED_IN_TEXT.test(wellFormed)) return wellFormed;
  return wellFormed
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('\r', '&#13;');
}
