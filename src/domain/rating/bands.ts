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
 * A stretch of time with one band: from `startUtc` (inclusive) to `endUtc` (exclusive), the next
 * band start that local day or the next local midnight, whichever comes first.
 */
export interface BandSpan {
  /** Band id (index into BandSchedule.names); -1 for none. */
  band: number;
  startUtc: number;
  endUtc: number;
}

/**
 * One local day of the calendar as spans: the band carried in from earlier days until the first
 * start, then each start's band until the next start or midnight. Each start is one UTC instant,
 * the first at which the plan's clock reads its time or later (firstInstantAtOrAfter), and bands
 * are found by comparing instants, never wall times: a start in a DST gap or in the repeated hour
 * then gives one boundary, whether a call starts after it or runs through it. DST is applied once,
 * here, instead of per call.
 */
export interface BandDay {
  /** Ascending by start; the first (the carried band) starts at -Infinity. Two starts at one instant: the later one wins. */
  spans: BandSpan[];
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
  /** The calendar by local day number (days since 1970-01-01), filled as days are asked for (a cache). */
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
function bandDay(s: BandSchedule, day: number): BandDay {
  let d = s.days.get(day);
  if (d !== undefined) return d;
  const list = dayStarts(s, day);
  // Walk back at most a week to find the band still running from an earlier day.
  let carry = -1;
  for (let back = 1; back <= 7 && carry < 0; back++) {
    const earlier = dayStarts(s, day - back);
    const last = earlier[earlier.length - 1];
    if (last) carry = s.names.indexOf(last.band);
  }
  const endUtc = firstInstantAtOrAfter(s.timeZone, day + 1, 0);
  const startUtc = list.map((st) => firstInstantAtOrAfter(s.timeZone, day, st.startMs));
  const spans: BandSpan[] = [{ band: carry, startUtc: -Infinity, endUtc: startUtc[0] ?? endUtc }];
  list.forEach((st, i) => spans.push({ band: s.names.indexOf(st.band), startUtc: startUtc[i] as number, endUtc: startUtc[i + 1] ?? endUtc }));
  d = { spans, endUtc };
  if (s.days.size >= MAX_DAYS) s.days.clear();
  s.days.set(day, d);
  return d;
}

/**
 * The span a UTC instant falls in: its band and the instant of the next boundary, always later
 * than the instant. The span belongs to the schedule's calendar: nothing is allocated per call.
 */
export function spanAt(s: BandSchedule, utcMs: number): BandSpan {
  const day = Math.floor((utcMs + zoneOffsetMs(s.timeZone, utcMs)) / DAY_MS);
  let d = bandDay(s, day);
  // A day is the span of instants between two midnights: when the clock goes back across midnight,
  // the repeated hour reads yesterday but belongs to the day already begun.
  if (utcMs >= d.endUtc) d = bandDay(s, day + 1);
  const spans = d.spans;
  let i = spans.length - 1;
  while ((spans[i] as BandSpan).startUtc > utcMs) i--;
  return spans[i] as BandSpan;
}
