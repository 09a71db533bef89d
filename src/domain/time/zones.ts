/**
 * Times as people read them: in their party's time zone (operator, reseller, subscriber), each
 * with the zone's name at that moment ("2026-12-07 09:14:05 EST", "… EDT" in summer), so a time
 * reads the same on either side of a DST change. Dates typed in filters are local days of the zone.
 * Everything stored stays UTC; only the text changes.
 */
import { DAY_MS, isValidTimeZone, utcOfWallTime } from '../rating/zoned-time';
import { readWallDateTime, type DateTimeResult } from './date-time';

export { isValidTimeZone };

/** The zone a party has when nobody chose one (the operator's default). */
export const DEFAULT_TIME_ZONE = 'UTC';

/** The canonical IANA name of a zone Intl knows ("us/eastern" -> "America/New_York"); undefined if unknown. */
export function canonicalTimeZone(name: string): string | undefined {
  const n = name.trim();
  if (!n || !isValidTimeZone(n)) return undefined;
  const resolved = new Intl.DateTimeFormat('en-US', { timeZone: n }).resolvedOptions().timeZone;
  // Intl calls UTC by its alias "Etc/UTC" on some builds: keep the name people type.
  return resolved === 'Etc/UTC' || resolved === 'Etc/GMT' ? 'UTC' : resolved;
}

/** Every zone name Intl knows, for a form's suggestions. */
export function knownTimeZones(): string[] {
  const all = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  return all.includes('UTC') ? all : ['UTC', ...all];
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

interface Parts {
  date: string;
  time: string;
  zone: string;
}

function partsOf(ms: number, timeZone: string): Parts {
  const p: Record<string, string> = {};
  for (const x of formatterFor(timeZone).formatToParts(new Date(ms))) p[x.type] = x.value;
  // Intl names a zone by its abbreviation where English has one (EST, EDT, UTC) and otherwise by
  // its offset ("GMT+9"): write offsets from UTC, the reference the rest of the product uses.
  const zone = (p.timeZoneName ?? timeZone).replace(/^GMT(?=[+-]|$)/, 'UTC');
  return { date: `${p.year}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}:${p.second}`, zone };
}

const toMs = (d: Date | string | number): number => (d instanceof Date ? d.getTime() : typeof d === 'number' ? d : Date.parse(d));

/** A moment as "2026-12-07 09:14:05 EST" in the zone; empty for no value. */
export function formatDateTime(d: Date | string | number | null | undefined, timeZone: string): string {
  if (d === null || d === undefined || d === '') return '';
  const ms = toMs(d);
  if (Number.isNaN(ms)) return '';
  const p = partsOf(ms, timeZone);
  return `${p.date} ${p.time} ${p.zone}`;
}

/** The zone's short name at a moment: "EST" in winter, "EDT" in summer, "UTC+9" for Tokyo. */
export function zoneAbbreviation(timeZone: string, at: Date | number = Date.now()): string {
  return partsOf(toMs(at), timeZone).zone;
}

/** The local calendar date (YYYY-MM-DD) of a moment in the zone. */
export function localDate(ms: number, timeZone: string): string {
  return partsOf(ms, timeZone).date;
}

/** The date `days` calendar days after (or before) a YYYY-MM-DD date. */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/**
 * A wall time without a zone ("2026-12-07 09:30", seconds optional unless required) read in
 * `timeZone`: the instant it names there (a time in a DST gap moves forward by the gap, one in a
 * repeated hour is the earlier). What people type into the portals' time fields, and what switches
 * write in their *_stamp columns.
 */
export function readZonedWallTime(text: string, timeZone: string, opts: { seconds?: 'required' } = {}): DateTimeResult {
  const wall = readWallDateTime(text, opts);
  if (!wall.ok) return wall;
  const day = Math.floor(wall.ms / DAY_MS);
  return { ok: true, ms: utcOfWallTime(timeZone, day, wall.ms - day * DAY_MS) };
}

/**
 * The UTC instant at which a local date begins in the zone: its midnight, or the first moment
 * after it when midnight falls in a DST gap (as in America/Santiago).
 */
export function startOfLocalDay(date: string, timeZone: string): number {
  const day = Math.round(Date.parse(`${date}T00:00:00Z`) / DAY_MS);
  return utcOfWallTime(timeZone, day, 0);
}
