/**
 * The start times carriers write, read into UTC. Wall times (no offset) are read in the carrier's
 * IANA zone, DST-correct (src/domain/rating/zoned-time.ts): a wall time in the spring-forward gap
 * is moved forward by the gap, one in the repeated autumn hour is the earlier instant (a carrier
 * file with no offset cannot say which; docs/CARRIER-FORMATS.md).
 */
import { DAY_MS, utcOfWallTime } from '../rating/zoned-time';
import { dateTimeProblem, fieldsMs, readIsoInstant } from '../time/date-time';
import { FieldProblem } from './record';

export const CARRIER_DATE_FORMATS = [
  'iso8601',
  'YYYY-MM-DD HH:mm:ss',
  'DD/MM/YYYY HH:mm:ss',
  'MM/DD/YYYY HH:mm:ss',
  'MM/DD/YYYY hh:mm:ss A',
  'DD.MM.YYYY HH:mm:ss',
  'YYYYMMDDHHmmss',
  'epoch',
  'epoch_ms',
] as const;
export type CarrierDateFormat = (typeof CARRIER_DATE_FORMATS)[number];

const SEC_FRACTION = '(?::(\\d{2})(?:[.,](\\d{1,9}))?)';
const PATTERNS: Record<Exclude<CarrierDateFormat, 'iso8601' | 'epoch' | 'epoch_ms'>, { re: RegExp; order: 'ymd' | 'dmy' | 'mdy'; twelveHour?: true; example: string }> = {
  'YYYY-MM-DD HH:mm:ss': { re: new RegExp(`^(\\d{4})-(\\d{1,2})-(\\d{1,2})[T ](\\d{1,2}):(\\d{2})${SEC_FRACTION}$`), order: 'ymd', example: '2026-03-29 01:30:00' },
  'DD/MM/YYYY HH:mm:ss': { re: new RegExp(`^(\\d{1,2})/(\\d{1,2})/(\\d{4})[ T](\\d{1,2}):(\\d{2})${SEC_FRACTION}$`), order: 'dmy', example: '29/03/2026 01:30:00' },
  'MM/DD/YYYY HH:mm:ss': { re: new RegExp(`^(\\d{1,2})/(\\d{1,2})/(\\d{4})[ T](\\d{1,2}):(\\d{2})${SEC_FRACTION}$`), order: 'mdy', example: '03/29/2026 01:30:00' },
  'MM/DD/YYYY hh:mm:ss A': { re: new RegExp(`^(\\d{1,2})/(\\d{1,2})/(\\d{4}) (\\d{1,2}):(\\d{2})${SEC_FRACTION} ?([AaPp])\\.?[Mm]\\.?$`), order: 'mdy', twelveHour: true, example: '03/29/2026 1:30:00 AM' },
  'DD.MM.YYYY HH:mm:ss': { re: new RegExp(`^(\\d{1,2})\\.(\\d{1,2})\\.(\\d{4})[ T](\\d{1,2}):(\\d{2})${SEC_FRACTION}$`), order: 'dmy', example: '29.03.2026 01:30:00' },
  YYYYMMDDHHmmss: { re: /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/, order: 'ymd', example: '20260329013000' },
};

/** The UTC instant of wall-clock fields in `timeZone`. */
export function wallToUtc(y: number, mo: number, d: number, h: number, mi: number, s: number, frac: string | undefined, timeZone: string): number {
  const wall = fieldsMs(y, mo, d, h, mi, s, frac);
  const day = Math.floor(wall / DAY_MS);
  return utcOfWallTime(timeZone, day, wall - day * DAY_MS);
}

const ISO_WALL = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?$/;

/**
 * A start time in `format`, as UTC milliseconds. `iso8601` takes its offset (Z or ±hh:mm) when it
 * has one and is read in `timeZone` when it has none; `epoch` is seconds since 1970 (a fraction
 * allowed), `epoch_ms` milliseconds.
 */
export function readStart(text: string, format: CarrierDateFormat, timeZone: string, field = 'start'): number {
  const t = text.trim();
  if (t === '') throw new FieldProblem(field, `${field} is blank`);
  const bad = (why: string): never => {
    throw new FieldProblem(field, `${field} "${t}" ${why}`);
  };
  if (format === 'epoch' || format === 'epoch_ms') {
    if (!/^\d+(\.\d+)?$/.test(t)) bad(`is not ${format === 'epoch' ? 'seconds' : 'milliseconds'} since 1970-01-01 UTC`);
    const ms = format === 'epoch' ? Math.floor(Number(t) * 1000 + 1e-6) : Math.floor(Number(t));
    if (!Number.isSafeInteger(ms) || ms > Date.UTC(9999, 11, 31)) bad('is out of range');
    return ms;
  }
  if (format === 'iso8601') {
    const withOffset = readIsoInstant(t);
    if (withOffset.ok) return withOffset.ms;
    if (withOffset.impossible) return bad(withOffset.reason);
    const m = ISO_WALL.exec(t);
    if (!m) return bad('is not an ISO 8601 date-time (2026-03-29T01:30:00Z, 2026-03-29T01:30:00+02:00 or, in the file\'s zone, 2026-03-29 01:30:00)');
    const [y, mo, d, h, mi] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number, number];
    const s = m[6] ? Number(m[6]) : 0;
    const problem = dateTimeProblem(y, mo, d, h, mi, s);
    if (problem) bad(problem);
    return wallToUtc(y, mo, d, h, mi, s, m[7], timeZone);
  }
  const p = PATTERNS[format];
  const m = p.re.exec(t);
  if (!m) return bad(`is not a date-time written ${format} (e.g. ${p.example})`);
  const a = Number(m[1]);
  const b = Number(m[2]);
  const c = Number(m[3]);
  const [y, mo, d] = p.order === 'ymd' ? [a, b, c] : p.order === 'dmy' ? [c, b, a] : [c, a, b];
  let h = Number(m[4]);
  const mi = Number(m[5]);
  const s = m[6] ? Number(m[6]) : 0;
  if (p.twelveHour) {
    if (h < 1 || h > 12) bad('has an hour outside 1-12 for a 12-hour clock');
    const pm = /^[Pp]$/.test(m[8] as string);
    h = (h % 12) + (pm ? 12 : 0);
  }
  const problem = dateTimeProblem(y, mo, d, h, mi, s);
  if (problem) bad(problem);
  return wallToUtc(y, mo, d, h, mi, s, m[7], timeZone);
}

export const DURATION_FORMATS = ['seconds', 'mm:ss', 'hh:mm:ss'] as const;
export type DurationFormat = (typeof DURATION_FORMATS)[number];

/**
 * A billed duration as whole seconds: `seconds` digits; `mm:ss` minutes (any number) and
 * seconds; `hh:mm:ss` hours (any number), minutes and seconds (`h:mm:ss` too).
 */
export function readDuration(text: string, format: DurationFormat, field = 'duration'): number {
  const t = text.trim();
  if (t === '') throw new FieldProblem(field, `${field} is blank`);
  if (t.startsWith('-')) throw new FieldProblem(field, `${field} "${t}" is negative`);
  if (format === 'seconds') {
    if (/^\d+\.0*$/.test(t)) return Number(t.replace(/\.0*$/, ''));
    if (!/^\d+$/.test(t)) throw new FieldProblem(field, `${field} "${t}" is not a whole number of seconds`);
    const n = Number(t);
    if (!Number.isSafeInteger(n)) throw new FieldProblem(field, `${field} "${t}" is too large`);
    return n;
  }
  const re = format === 'mm:ss' ? /^(\d+):(\d{2})$/ : /^(\d+):(\d{2}):(\d{2})$/;
  const m = re.exec(t);
  if (!m) throw new FieldProblem(field, `${field} "${t}" is not written ${format}`);
  const parts = m.slice(1).map(Number);
  if (format === 'mm:ss') {
    const [mm, ss] = parts as [number, number];
    if (ss > 59) throw new FieldProblem(field, `${field} "${t}" has ${ss} seconds (at most 59)`);
    return mm * 60 + ss;
  }
  const [hh, mm, ss] = parts as [number, number, number];
  if (mm > 59 || ss > 59) throw new FieldProblem(field, `${field} "${t}" has minutes or seconds over 59`);
  return hh * 3600 + mm * 60 + ss;
}
