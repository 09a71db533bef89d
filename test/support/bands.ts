import { spanAt, type BandSchedule } from '../../src/domain/rating/bands';
import { dateOfDay, DAY_MS, zoneOffsetMs } from '../../src/domain/rating/zoned-time';

/** Views of the band calendar for tests (the engine walks spans itself: sliceLeg). */

export interface BandSegment {
  band: string | undefined;
  /** Offsets in seconds from the segment's origin. */
  from: number;
  to: number;
}

/** The band in force at a UTC instant. */
export function bandAtInstant(s: BandSchedule, utcMs: number): string | undefined {
  if (s.empty) return undefined;
  const span = spanAt(s, utcMs);
  return span.band >= 0 ? s.names[span.band] : undefined;
}

/**
 * Splits [originMs, originMs + seconds) into the bands it passes through, as second offsets from
 * originMs: a second belongs to the band in which it starts, and every part lasts at least one second.
 */
export function splitByBands(s: BandSchedule, originMs: number, seconds: number): BandSegment[] {
  if (s.empty || seconds <= 0) return [{ band: bandAtInstant(s, originMs), from: 0, to: Math.max(0, seconds) }];
  const segments: BandSegment[] = [];
  let from = 0;
  while (from < seconds) {
    const span = spanAt(s, originMs + from * 1000);
    const band = span.band >= 0 ? s.names[span.band] : undefined;
    const to = Math.min(seconds, Math.max(from + 1, Math.ceil((span.endUtc - originMs) / 1000)));
    const last = segments[segments.length - 1];
    if (last && last.band === band) last.to = to;
    else segments.push({ band, from, to });
    from = to;
  }
  return segments;
}

export interface WallTime {
  /** Days since 1970-01-01 of the local date. */
  day: number;
  /** 0 = Sunday ... 6 = Saturday. */
  weekday: number;
  /** Local date as YYYY-MM-DD. */
  date: string;
  /** Milliseconds since local midnight. */
  msOfDay: number;
}

export function wallTime(timeZone: string, utcMs: number): WallTime {
  const local = utcMs + zoneOffsetMs(timeZone, utcMs);
  const day = Math.floor(local / DAY_MS);
  return { day, weekday: (((day + 4) % 7) + 7) % 7, date: dateOfDay(day), msOfDay: local - day * DAY_MS };
}
