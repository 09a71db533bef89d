/**
 * Wall-clock time in a plan's time zone, fast enough for the rating hot path. Zone offsets change
 * only at UTC instants that are multiples of 15 minutes, so one Intl look-up per zone and quarter
 * hour is cached and everything else is arithmetic.
 */
const QUARTER_HOUR = 15 * 60 * 1000;
const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();
const offsetCache = new Map<string, Map<number, number>>();
let lastZone: string | undefined;
let lastZoneCache: Map<number, number> | undefined;

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Offset of the zone from UTC at a UTC instant, in ms (e.g. +3600000 for CET in winter). */
export function zoneOffsetMs(timeZone: string, utcMs: number): number {
  if (timeZone === 'UTC' || timeZone === 'Etc/UTC') return 0;
  const bucket = Math.floor(utcMs / QUARTER_HOUR);
  // Rating asks for one plan's zone many times in a row: skip the look-up by name then.
  let zoneCache = timeZone === lastZone ? lastZoneCache : offsetCache.get(timeZone);
  if (!zoneCache) {
    zoneCache = new Map();
    offsetCache.set(timeZone, zoneCache);
  }
  lastZone = timeZone;
  lastZoneCache = zoneCache;
  const cached = zoneCache.get(bucket);
  if (cached !== undefined) return cached;
  const at = bucket * QUARTER_HOUR;
  const parts = formatterFor(timeZone).formatToParts(new Date(at));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const year = get('year');
  // Date.UTC reads years 0-99 as 1900-1999: such a year is counted 400 (Gregorian) years on, and back.
  const early = year < 100;
  const asUtc = Date.UTC(early ? year + 400 : year, get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) - (early ? YEARS_400_MS : 0);
  const offset = asUtc - at;
  if (zoneCache.size > 200_000) zoneCache.clear();
  zoneCache.set(bucket, offset);
  return offset;
}

const YEARS_400_MS = 146_097 * 86_400_000;

// Band lookups ask for the date of the same few days over and over (each leg, each day walked back).
const dateCache = new Map<number, string>();

export function dateOfDay(day: number): string {
  let date = dateCache.get(day);
  if (date === undefined) {
    date = new Date(day * DAY_MS).toISOString().slice(0, 10);
    if (dateCache.size >= 100_000) dateCache.clear();
    dateCache.set(day, date);
  }
  return date;
}

/**
 * The UTC instant of a local wall time. A wall time inside a DST gap does not exist and is moved
 * forward by the gap (02:30 becomes 03:30, as Temporal's "compatible"); in an overlap, the earlier
 * of the two instants.
 */
export function utcOfWallTime(timeZone: string, day: number, msOfDay: number): number {
  const local = day * DAY_MS + msOfDay;
  const found = instantsOfWallTime(timeZone, local);
  return found.length > 0 ? Math.min(...found) : local - zoneOffsetMs(timeZone, local - DAY_MS);
}

/**
 * The instants at which the zone's clock reads this local time: one, two in a repeated hour, none
 * in a gap. The instant is local minus the offset in force then, and offsets lie within -12 h and
 * +14 h, so the instant lies within a day of local; the offsets seen a day either side and at local
 * are every offset in force across it (a transition exactly at a probe cannot hide the old one, as
 * it could with probes half a day away: Chatham falls back at 14:00 UTC, 02:00 + 12 h local).
 */
function instantsOfWallTime(timeZone: string, local: number): number[] {
  const found: number[] = [];
  for (const probe of [local - DAY_MS, local - DAY_MS / 2, local, local + DAY_MS / 2, local + DAY_MS]) {
    const candidate = local - zoneOffsetMs(timeZone, probe);
    if (!found.includes(candidate) && candidate + zoneOffsetMs(timeZone, candidate) === local) found.push(candidate);
  }
  return found;
}

/**
 * The first instant at which the zone's clock reads this wall time or later: where a band starts.
 * A wall time that exists once is its own instant; one in a repeated hour (fall back) is its first
 * occurrence; one inside a gap (spring forward) is the moment the clocks jump (02:30 on a night
 * that goes from 02:00 to 03:00 is 03:00). So a later wall time never maps to an earlier instant,
 * and a call that starts after a band start and one that runs through it meet the same boundary.
 */
export function firstInstantAtOrAfter(timeZone: string, day: number, msOfDay: number): number {
  const local = day * DAY_MS + msOfDay;
  const found = instantsOfWallTime(timeZone, local);
  if (found.length > 0) return Math.min(...found);
  // In a gap: offsets change on quarter hours, so the jump is the first one at which the clock is past it.
  // Start from the earliest candidate (the offset after the jump) and walk forward.
  const latestOffset = Math.max(zoneOffsetMs(timeZone, local - DAY_MS), zoneOffsetMs(timeZone, local + DAY_MS));
  let q = Math.floor((local - latestOffset) / QUARTER_HOUR) * QUARTER_HOUR;
  while (q + zoneOffsetMs(timeZone, q) < local) q += QUARTER_HOUR;
  return q;
}

export { DAY_MS };
