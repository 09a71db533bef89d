import { dateOfDay, DAY_MS, firstInstantAtOrAfter, zoneOffsetMs } from './zoned-time';

/**
 * Time bands (DOMAIN.md): each definition says "from this local time on these days, band X"; a band
 * lasts until the next one starts, across midnight if nothing starts at 00:00. Specific dates
 * (holidays) replace the weekday schedule for that date.
 */
export interface BandStart {
  band: string;
  /** Weekdays, 0 = Sunday ... 6 = Saturday; empty when `dates` is used. */
  weekdays: number[];
  /** Local dates YYYY-MM-DD. */
  dates: string[];
  /** Milliseconds after local midnight. */
  startMs: number;
}

/**
 * One local day of the calendar: the band starts in force that day (by date, else by weekday), the
 * band carried in from earlier days, and each start and the next midnight as UTC instants (DST
 * applied once, here, instead of per call). Each start is one instant, the first at which the
 * plan's clock reads its time or later (firstInstantAtOrAfter), and bands are found by comparing
 * instants, never wall times: a start in a DST gap or in the repeated hour then gives one
 * boundary, whether a call starts after it or runs through it.
 */
export interface BandDay {
  /** Band id of each start (index into BandSchedule.names). */
  ids: number[];
  /** The band running at 00:00 before the first start: the last start of the nearest earlier day with any, at most a week back; -1 for none. */
  carry: number;
  /** Each start as a UTC instant, ascending (equal when two starts share an instant: the later one wins). */
  startUtc: number[];
  /** The next local midnight in UTC: a boundary even when the band goes on. */
  endUtc: number;
}

export interface BandSchedule {
  timeZone: string;
  byWeekday: Array<Array<{ startMs: number; band: string }>>;
  byDate: Map<string, Array<{ startMs: number; band: string }>>;
  empty: boolean;
  /** Band names; the calendar and the engine use their index, -1 meaning no band. */
  names: string[];
  /** The calendar by local day number (days since 1970-01-01), filled as days are asked for. */
  days: Map<number, BandDay>;
}

export function compileBands(timeZone: string, starts: BandStart[]): BandSchedule {
  const byWeekday: Array<Array<{ startMs: number; band: string }>> = Array.from({ length: 7 }, () => []);
  const byDate = new Map<string, Array<{ startMs: number; band: string }>>();
  const names: string[] = [];
  for (const s of starts) {
    if (!names.includes(s.band)) names.push(s.band);
    for (const w of s.weekdays) byWeekday[w]?.push({ startMs: s.startMs, band: s.band });
    for (const d of s.dates) {
      const list = byDate.get(d) ?? [];
      list.push({ startMs: s.startMs, band: s.band });
      byDate.set(d, list);
    }
  }
  const sort = (l: Array<{ startMs: number }>) => l.sort((a, b) => a.startMs - b.startMs);
  byWeekday.forEach(sort);
  byDate.forEach(sort);
  return { timeZone, byWeekday, byDate, empty: starts.length === 0, names, days: new Map() };
}

function dayStarts(s: BandSchedule, day: number) {
  return s.byDate.get(dateOfDay(day)) ?? s.byWeekday[(((day + 4) % 7) + 7) % 7] ?? [];
}

// A plan rates calls over a few months at most; a re-rating over years stays well under this.
const MAX_DAYS = 20_000;

/** The calendar entry of a local day, built on first use. */
export function bandDay(s: BandSchedule, day: number): BandDay {
  let d = s.days.get(day);
  if (d !== undefined) return d;
  const list = dayStarts(s, day);
  const ids = list.map((st) => s.names.indexOf(st.band));
  // Walk back at most a week to find the band still running from an earlier day.
  let carry = -1;
  for (let back = 1; back <= 7 && carry < 0; back++) {
    const earlier = dayStarts(s, day - back);
    const last = earlier[earlier.length - 1];
    if (last) carry = s.names.indexOf(last.band);
  }
  const startUtc = list.map((st) => firstInstantAtOrAfter(s.timeZone, day, st.startMs));
  d = { ids, carry, startUtc, endUtc: firstInstantAtOrAfter(s.timeZone, day + 1, 0) };
  if (s.days.size >= MAX_DAYS) s.days.clear();
  s.days.set(day, d);
  return d;
}

/**
 * Where a UTC instant falls: its band id and the UTC instant of the next boundary, always later than
 * the instant (the next band start that local day, else the next local midnight). Written into
 * `located` so the hot path allocates nothing.
 */
export const located = { band: -1, boundaryUtc: 0 };

export function locate(s: BandSchedule, utcMs: number): void {
  const day = Math.floor((utcMs + zoneOffsetMs(s.timeZone, utcMs)) / DAY_MS);
  let d = bandDay(s, day);
  // A day is the span of instants between two midnights: when the clock goes back across midnight,
  // the repeated hour reads yesterday but belongs to the day already begun.
  if (utcMs >= d.endUtc) d = bandDay(s, day + 1);
  const starts = d.startUtc;
  let i = starts.length - 1;
  while (i >= 0 && (starts[i] as number) > utcMs) i--;
  located.band = i >= 0 ? (d.ids[i] as number) : d.carry;
  located.boundaryUtc = i + 1 < starts.length ? (starts[i + 1] as number) : d.endUtc;
}

export interface BandSegment {
  band: string | undefined;
  /** Offsets in seconds from the segment's origin. */
  from: number;
  to: number;
}

/** The band in force at a UTC instant. */
export function bandAtInstant(s: BandSchedule, utcMs: number): string | undefined {
  if (s.empty) return undefined;
  locate(s, utcMs);
  return located.band >= 0 ? s.names[located.band] : undefined;
}

/**
 * The end, in whole seconds from `originMs`, of the part of a call that starts `from` seconds in
 * and stays in the band just located: a second belongs to the band in which it starts, and every
 * part lasts at least one second. Call after locate(s, originMs + from * 1000).
 */
export function partEnd(originMs: number, from: number, seconds: number): number {
  return Math.min(seconds, Math.max(from + 1, Math.ceil((located.boundaryUtc - originMs) / 1000)));
}

/**
 * Splits [originMs, originMs + seconds) into the bands it passes through, as second offsets from
 * originMs. Boundaries are computed in the plan's local time (DST-aware) and rounded to whole
 * seconds, since billing works in whole seconds.
 */
export function splitByBands(s: BandSchedule, originMs: number, seconds: number): BandSegment[] {
  if (s.empty || seconds <= 0) return [{ band: bandAtInstant(s, originMs), from: 0, to: Math.max(0, seconds) }];
  const segments: BandSegment[] = [];
  let from = 0;
  while (from < seconds) {
    locate(s, originMs + from * 1000);
    const band = located.band >= 0 ? s.names[located.band] : undefined;
    const to = partEnd(originMs, from, seconds);
    const last = segments[segments.length - 1];
    if (last && last.band === band) last.to = to;
    else segments.push({ band, from, to });
    from = to;
  }
  return segments;
}
