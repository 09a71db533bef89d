import { DAY_MS, utcOfWallTime, wallTime } from './zoned-time';

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

export interface BandSchedule {
  timeZone: string;
  byWeekday: Array<Array<{ startMs: number; band: string }>>;
  byDate: Map<string, Array<{ startMs: number; band: string }>>;
  empty: boolean;
}

export function compileBands(timeZone: string, starts: BandStart[]): BandSchedule {
  const byWeekday: Array<Array<{ startMs: number; band: string }>> = Array.from({ length: 7 }, () => []);
  const byDate = new Map<string, Array<{ startMs: number; band: string }>>();
  for (const s of starts) {
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
  return { timeZone, byWeekday, byDate, empty: starts.length === 0 };
}

function dayStarts(s: BandSchedule, day: number, date: string, weekday: number) {
  return s.byDate.get(date) ?? s.byWeekday[weekday] ?? [];
}

/** The band at a local day and time; undefined when the plan defines no bands. */
function bandAt(s: BandSchedule, day: number, msOfDay: number): string | undefined {
  // Walk back at most a week to find the band still running from an earlier day.
  for (let back = 0; back <= 7; back++) {
    const d = day - back;
    const w = wallTime('UTC', d * DAY_MS);
    const starts = dayStarts(s, d, w.date, w.weekday);
    for (let i = starts.length - 1; i >= 0; i--) {
      const st = starts[i] as { startMs: number; band: string };
      if (back > 0 || st.startMs <= msOfDay) return st.band;
    }
  }
  return undefined;
}

/** Next band start strictly after (day, msOfDay), as [day, msOfDay]; midnight counts as a boundary. */
function nextBoundary(s: BandSchedule, day: number, msOfDay: number): [number, number] {
  const w = wallTime('UTC', day * DAY_MS);
  for (const st of dayStarts(s, day, w.date, w.weekday)) if (st.startMs > msOfDay) return [day, st.startMs];
  return [day + 1, 0];
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
  const w = wallTime(s.timeZone, utcMs);
  return bandAt(s, w.day, w.msOfDay);
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
    const w = wallTime(s.timeZone, originMs + from * 1000);
    const band = bandAt(s, w.day, w.msOfDay);
    const [nDay, nMs] = nextBoundary(s, w.day, w.msOfDay);
    const boundaryUtc = utcOfWallTime(s.timeZone, nDay, nMs);
    // A second belongs to the band in which it starts.
    const to = Math.min(seconds, Math.max(from + 1, Math.ceil((boundaryUtc - originMs) / 1000)));
    const last = segments[segments.length - 1];
    if (last && last.band === band) last.to = to;
    else segments.push({ band, from, to });
    from = to;
  }
  return segments;
}
