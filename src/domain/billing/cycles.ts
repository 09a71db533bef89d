/**
 * Billing cycles (DOMAIN.md: a reseller's wholesale cycle and a subscriber's retail cycle): monthly,
 * starting at local midnight of a chosen day of the month in the party's time zone. The day is 1-28
 * so that every month has it (no "31st" that February lacks). Allowances of toll packages reset at a
 * cycle's start; recurring charges are posted for a cycle at its start, prorated by local days.
 */
import { localDate, startOfLocalDay } from '../time/zones';

export const MIN_CYCLE_DAY = 1;
export const MAX_CYCLE_DAY = 28;

export interface CycleRule {
  /** Day of the month the cycle starts on, 1-28. */
  day: number;
  /** IANA zone whose midnight starts the cycle. */
  timeZone: string;
}

export interface Cycle {
  /** Local date the cycle starts (YYYY-MM-DD), inclusive. */
  startDate: string;
  /** Local date the next cycle starts, exclusive. */
  endDate: string;
  /** UTC instant of startDate's midnight in the zone (inclusive). */
  startMs: number;
  /** UTC instant of endDate's midnight (exclusive). */
  endMs: number;
  /** Local calendar days in the cycle (28-31). */
  days: number;
}

export function isCycleDay(day: number): boolean {
  return Number.isInteger(day) && day >= MIN_CYCLE_DAY && day <= MAX_CYCLE_DAY;
}

function checkRule(rule: CycleRule): void {
  if (!isCycleDay(rule.day)) throw new RangeError(`billing cycle day must be ${MIN_CYCLE_DAY}-${MAX_CYCLE_DAY}, not ${rule.day}`);
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** The date of `day` in the month `offset` months after year/month (month 1-12). */
function monthDay(year: number, month: number, offset: number, day: number): string {
  const m0 = year * 12 + (month - 1) + offset;
  return `${Math.floor(m0 / 12)}-${pad((m0 % 12) + 1)}-${pad(day)}`;
}

/** Days between two YYYY-MM-DD dates (b - a). */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
}

/** The cycle whose local start date is `startDate` (which must fall on the rule's day). */
export function cycleStartingOn(startDate: string, rule: CycleRule): Cycle {
  checkRule(rule);
  const [y, m, d] = startDate.split('-').map(Number) as [number, number, number];
  if (d !== rule.day) throw new RangeError(`${startDate} is not a cycle start for day ${rule.day}`);
  const endDate = monthDay(y, m, 1, rule.day);
  return {
    startDate,
    endDate,
    startMs: startOfLocalDay(startDate, rule.timeZone),
    endMs: startOfLocalDay(endDate, rule.timeZone),
    days: daysBetween(startDate, endDate),
  };
}

/** The cycle in force at an instant. */
export function cycleAt(ms: number, rule: CycleRule): Cycle {
  checkRule(rule);
  const date = localDate(ms, rule.timeZone);
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  let c = cycleStartingOn(monthDay(y, m, d >= rule.day ? 0 : -1, rule.day), rule);
  // Midnight in a DST gap starts at the first instant after it: an instant before that still
  // belongs to the previous cycle though its local date is the start date.
  if (ms < c.startMs) c = previousCycle(c, rule);
  return c;
}

export function nextCycle(c: Cycle, rule: CycleRule): Cycle {
  return cycleStartingOn(c.endDate, rule);
}

export function previousCycle(c: Cycle, rule: CycleRule): Cycle {
  const [y, m] = c.startDate.split('-').map(Number) as [number, number];
  return cycleStartingOn(monthDay(y, m, -1, rule.day), rule);
}

/** The cycles that overlap [fromMs, toMs), in order. */
export function cyclesBetween(fromMs: number, toMs: number, rule: CycleRule): Cycle[] {
  const out: Cycle[] = [];
  for (let c = cycleAt(fromMs, rule); c.startMs < toMs; c = nextCycle(c, rule)) out.push(c);
  return out;
}

/**
 * The local days of a cycle for which something active from `fromMs` until `toMs` (null: no end)
 * is charged, for proration: from the local date it starts (inclusive) to the local date it ends
 * (exclusive), so a package taken at 15:00 on the 10th is charged from the 10th, one ended at 09:00
 * on the 20th until the 19th, and a switch of packages on one day never charges that day twice.
 * Returns 0..cycle.days.
 */
export function activeDays(c: Cycle, fromMs: number, toMs: number | null, timeZone: string): number {
  const from = localDate(fromMs, timeZone);
  const to = toMs === null ? c.endDate : localDate(toMs, timeZone);
  const a = from > c.startDate ? from : c.startDate;
  const b = to < c.endDate ? to : c.endDate;
  return a < b ? daysBetween(a, b) : 0;
}
