/**
 * The one time-zone module: turning `--timezone` and the TZ variable into a zone name, checking a
 * zone, and reading an instant's local day and UTC offset in it. One cache of formatters per zone.
 * A zone is called `timeZone` everywhere: an IANA name or `UTC`, as resolveTimeZone gives (never a
 * raw `local`: this process's own offset would be silent UTC under a POSIX TZ rule).
 */

import type { BackupError } from './errors.ts';
import { usageError } from './errors.ts';

/** en-CA writes the date as YYYY-MM-DD: format() is cheaper per item than formatToParts (docs/performance.md). */
const DAY_FORMAT = {
  locale: 'en-CA',
  fields: { year: 'numeric', month: '2-digit', day: '2-digit' },
} as const;
/** Every field of the local clock, for the zone's UTC offset at an instant. */
const CLOCK_FORMAT = {
  locale: 'en-US',
  fields: {
    hourCycle: 'h23',
    era: 'short',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  },
} as const;

/** One cache of formatters, by format and zone: building one costs far more than using it. */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(
  format: typeof DAY_FORMAT | typeof CLOCK_FORMAT,
  timeZone: string,
): Intl.DateTimeFormat {
  const key = `${format.locale} ${timeZone}`;
  let formatter = formatters.get(key);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat(format.locale, { timeZone, ...format.fields });
    formatters.set(key, formatter);
  }
  return formatter;
}

/** TZ values that are UTC (ICU canonicalizes each of them to 'UTC'), and the POSIX rules `UTC0`, `GMT0`. */
const UTC_NAMES = new Set(['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT', 'UTC0', 'GMT0']);

/** The one message for a zone this Node does not know. */
export function unknownTimeZoneError(input: string): BackupError {
  return usageError(
    `Time zone "${input}" is unknown: give an IANA name such as Europe/Madrid or America/New_York, or "local" or "utc".`,
  );
}

/** The canonical IANA name of `name`, or undefined when this Node does not know it. */
function knownZone(name: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** True for 'UTC' and any IANA zone name this Node knows; not a raw 'local' (resolveTimeZone turns it into a name). */
export function isValidTimeZone(timeZone: string): boolean {
  return timeZone === 'UTC' || knownZone(timeZone) !== undefined;
}

/**
 * The zone the `TZ` environment variable names, for `--timezone local`. Empty counts as unset
 * (docker-compose's `TZ=${TZ}` with the host's variable unset): undefined, the system's zone
 * decides. A zone name (also as `:Europe/Berlin` or a zoneinfo path) and a POSIX rule with a
 * whole-hour offset and no daylight saving (`UTC0`, `JST-9`) are understood; any other POSIX rule
 * (`CET-1CEST,M3.5.0,M10.5.0/3`) is refused, because Node reads it as UTC without a word.
 * https://pubs.opengroup.org/onlinepubs/9799919799/basedefs/V1_chap08.html (the TZ variable)
 */
export function zoneFromTzVariable(tz: string | undefined): string | undefined {
  if (tz === undefined || tz.trim() === '') return undefined;
  let name = tz.trim().replace(/^:/, '');
  const zoneinfo = /\/zoneinfo\/(.+)$/.exec(name);
  if (zoneinfo) name = zoneinfo[1] as string;
  // Servers and containers mostly run in UTC: named without asking ICU, whose first use costs a run's
  // start 15-85 ms here (docs/performance.md); these are the names ICU itself calls UTC.
  if (UTC_NAMES.has(name)) return 'UTC';
  const known = knownZone(name);
  if (known) return known;
  // POSIX offsets count hours west of Greenwich, as the Etc/GMT+h names do: JST-9 is Etc/GMT-9.
  const fixed = /^(?:[A-Za-z]{3,}|<[A-Za-z0-9+-]{3,}>)([+-]?)(\d{1,2})$/.exec(name);
  if (fixed) {
    const hours = Number(fixed[2]);
    if (hours === 0) return 'UTC';
    const timeZone = knownZone(`Etc/GMT${fixed[1] === '-' ? '-' : '+'}${hours}`);
    if (timeZone) return timeZone;
  }
  throw usageError(
    `The TZ environment variable is "${tz}": photo-backup cannot pick day folders from it (a POSIX rule with ` +
      'daylight saving, or a zone this Node does not know). ' +
      'Give the zone by name: add --timezone Europe/Berlin (your zone), or set TZ=Europe/Berlin.',
  );
}

/** Turns `local`, `utc` or an IANA name into an IANA zone name, or a usage error. `tz` is the TZ variable. */
export function resolveTimeZone(input: string, tz?: string): string {
  const lower = input.toLowerCase();
  if (lower === 'local') {
    const named = zoneFromTzVariable(tz);
    if (named) return named;
    const system = Intl.DateTimeFormat().resolvedOptions().timeZone;
    // With TZ empty or unset, a system with no zone configured reads as UTC, as `date` does.
    return (system && knownZone(system)) ?? 'UTC';
  }
  if (lower === 'utc') return 'UTC';
  const known = knownZone(input);
  if (known) return known;
  throw unknownTimeZoneError(input);
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** `YYYY-MM-DD` of the clock `offsetMinutes` east of UTC at `instant`. */
export function dayAtOffset(instant: Date, offsetMinutes: number): string {
  const local = new Date(instant.getTime() + offsetMinutes * 60_000);
  return `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1, 2)}-${pad(local.getUTCDate(), 2)}`;
}

/** `YYYY-MM-DD` of `instant` in the IANA zone `timeZone`. */
export function dayInZone(instant: Date, timeZone: string): string {
  if (timeZone === 'UTC') return dayAtOffset(instant, 0);
  const formatter = formatterFor(DAY_FORMAT, timeZone);
  const text = formatter.format(instant);
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return text;
  const parts = formatter.formatToParts(instant);
  const get = (type: string) => parts.find((part) => part.type === type)?.value ?? '00';
  return `${get('year').padStart(4, '0')}-${get('month')}-${get('day')}`;
}

/** Minutes east of UTC of `timeZone` ('UTC' or IANA) at `instantMs`. */
export function zoneOffsetMinutes(timeZone: string, instantMs: number): number {
  if (timeZone === 'UTC') return 0;
  const parts: Record<string, string> = {};
  for (const part of formatterFor(CLOCK_FORMAT, timeZone).formatToParts(new Date(instantMs)))
    parts[part.type] = part.value;
  const year = parts.era === 'BC' ? 1 - Number(parts.year) : Number(parts.year);
  const local = new Date(
    Date.UTC(
      2000,
      Number(parts.month) - 1,
      Number(parts.day),
      Number(parts.hour),
      Number(parts.minute),
      Number(parts.second),
    ),
  );
  local.setUTCFullYear(year);
  return Math.round((local.getTime() - Math.floor(instantMs / 1000) * 1000) / 60_000);
}
