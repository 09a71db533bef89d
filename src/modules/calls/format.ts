/**
 * Text for the call pages. Amounts stay strings from Postgres numeric to the page: these helpers
 * only trim and pad digits, they never compute.
 */

import { localDate, startOfLocalDay } from '../../domain/time/zones';

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/**
 * An amount as stored ("0.0276000000") for reading: trailing zeros dropped but at least two
 * decimals kept ("0.0276", "0.18", "1.00"). Lossless: every significant digit stays.
 */
export function displayAmount(stored: string): string {
  const m = DECIMAL.exec(stored.trim());
  if (!m) return stored;
  let frac = (m[3] ?? '').replace(/0+$/, '');
  if (frac.length < 2) frac = frac.padEnd(2, '0');
  return `${m[1]}${m[2]}.${frac}`;
}

/** True when a stored amount is zero ("0.0000000000", "-0", "0"). */
export function isZeroAmount(stored: string): boolean {
  return /^-?0*(\.0*)?$/.test(stored.trim());
}

/** Billable seconds as m:ss (minutes may exceed 59: "75:03"). */
export function minutesSeconds(seconds: number): string {
  const s = Math.max(0, Math.trunc(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** The calendar date (YYYY-MM-DD) of a moment in a time zone (the viewer's: see domain/time/zones). */
export function isoDate(ms: number, timeZone = 'UTC'): string {
  return localDate(ms, timeZone);
}

/** The UTC instant a YYYY-MM-DD date begins in a time zone (its local midnight). */
export function dateMs(date: string, timeZone = 'UTC'): number {
  return startOfLocalDay(date, timeZone);
}

export const DAY_MS = 86_400_000;
