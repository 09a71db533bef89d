/**
 * The periods of record files (issue 12): an hour or a day of the reseller's own zone, as UTC
 * instants [startMs, endMs). A local day is 23 or 25 hours across a DST change; an hourly period
 * is a local hour (the repeated hour of a fall-back is two periods, the skipped one of a
 * spring-forward none). Pure: no clock.
 */
import { zoneOffsetMs } from '../rating/zoned-time';
import { addDays, localDate, startOfLocalDay } from '../time/zones';
import type { RecordPeriod } from './spec';

export interface FilePeriod {
  startMs: number;
  endMs: number;
}

const HOUR = 3_600_000;

/** The period of this kind that holds the instant. */
export function periodAt(ms: number, kind: RecordPeriod, timeZone: string): FilePeriod {
  if (kind === 'daily') {
    const date = localDate(ms, timeZone);
    return { startMs: startOfLocalDay(date, timeZone), endMs: startOfLocalDay(addDays(date, 1), timeZone) };
  }
  const wall = ms + zoneOffsetMs(timeZone, ms);
  const startMs = ms - (((wall % HOUR) + HOUR) % HOUR);
  return { startMs, endMs: startMs + HOUR };
}

/** The period that begins where the previous one ended (`startMs`): contiguous, never overlapping. */
export function periodFrom(startMs: number, kind: RecordPeriod, timeZone: string): FilePeriod {
  const p = periodAt(startMs, kind, timeZone);
  // An offset that moves by less than an hour (Lord Howe's half hour) must not leave a gap or an overlap.
  return { startMs, endMs: p.endMs > startMs ? p.endMs : periodAt(startMs + HOUR, kind, timeZone).endMs };
}

/** A period's local name for a file: `2026-03-08` (daily) or `2026-03-08T14` (hourly; a repeated hour gets its offset). */
export function periodLabel(p: FilePeriod, kind: RecordPeriod, timeZone: string): string {
  const date = localDate(p.startMs, timeZone);
  if (kind === 'daily') return date;
  const off = zoneOffsetMs(timeZone, p.startMs);
  const hour = new Date(p.startMs + off).getUTCHours();
  const sign = off < 0 ? '-' : '+';
  const abs = Math.abs(off) / 60_000;
  return `${date}T${String(hour).padStart(2, '0')}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
}
