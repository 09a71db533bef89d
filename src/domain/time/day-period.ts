import { readIsoDate } from './date-time';
import { addDays, localDate, startOfLocalDay } from './zones';

/** The dashboards' default period: the last 30 local days, today included. */
export const DEFAULT_PERIOD_DAYS = 30;
/** The longest period a dashboard shows day by day. */
export const MAX_PERIOD_DAYS = 366;

/** Local days of a zone, `from` to `to` inclusive, and the instants they span: [fromMs, toMs). */
export interface DayPeriod {
  from: string;
  to: string;
  timeZone: string;
  fromMs: number;
  toMs: number;
  /** Every local date of the period, in order. */
  days: string[];
}

function periodOf(from: string, to: string, timeZone: string): DayPeriod {
  const days: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) days.push(d);
  return { from, to, timeZone, fromMs: startOfLocalDay(from, timeZone), toMs: startOfLocalDay(addDays(to, 1), timeZone), days };
}

/**
 * The period asked for (YYYY-MM-DD local dates, either left out), or the last 30 days ending today
 * in the zone; a date that cannot be read, a start after the end or a period longer than
 * MAX_PERIOD_DAYS gives the default and says why.
 */
export function dayPeriod(asked: { from?: string; to?: string }, timeZone: string, nowMs: number): { period: DayPeriod; problem?: string } {
  const today = localDate(nowMs, timeZone);
  const fallback = () => periodOf(addDays(today, 1 - DEFAULT_PERIOD_DAYS), today, timeZone);
  const from = asked.from?.trim() || undefined;
  const to = asked.to?.trim() || undefined;
  for (const [name, v] of [['start', from], ['end', to]] as const) {
    if (v !== undefined && (!/^\d{4}-\d{2}-\d{2}$/.test(v) || !readIsoDate(v).ok)) return { period: fallback(), problem: `The ${name} date must be a real date as YYYY-MM-DD.` };
  }
  if (from === undefined && to === undefined) return { period: fallback() };
  const end = to ?? (from && addDays(from, DEFAULT_PERIOD_DAYS - 1) < today ? addDays(from as string, DEFAULT_PERIOD_DAYS - 1) : today);
  const start = from ?? addDays(end, 1 - DEFAULT_PERIOD_DAYS);
  if (start > end) return { period: fallback(), problem: 'The start date must not be after the end date.' };
  if (addDays(start, MAX_PERIOD_DAYS - 1) < end) return { period: fallback(), problem: `Choose a period of at most ${MAX_PERIOD_DAYS} days.` };
  return { period: periodOf(start, end, timeZone) };
}
