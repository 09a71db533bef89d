/**
 * The one rule for dates and times typed or sent by people and switches: every field must be in
 * range for its calendar (no 2026-02-30, no 24:00, no 10:61, no offset of +25:00). `Date.parse` and
 * `Date.UTC` roll such values over (2026-02-30 becomes 2 March), so nothing that reads user input
 * calls them on unchecked fields; it goes through here.
 */
/**
 * `reason` reads after the quoted text ("2026-02-30" is not a real date: ...); `impossible` when the
 * text has the right form but names a day, time or offset that does not exist.
 */
export type DateTimeResult = { ok: true; ms: number } | { ok: false; reason: string; impossible: boolean };

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

function daysInMonth(y: number, mo: number): number {
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  return mo === 2 && leap ? 29 : (DAYS_IN_MONTH[mo - 1] as number);
}

export function isRealDate(y: number, mo: number, d: number): boolean {
  return mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth(y, mo);
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/**
 * Why a date or a time of day does not exist, or null when it does. Second 60 (a leap second) is
 * refused: UTC milliseconds have none.
 */
export function dateTimeProblem(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): string | null {
  if (mo < 1 || mo > 12) return `is not a real date: there is no month ${mo}`;
  if (!isRealDate(y, mo, d)) return `is not a real date: ${MONTHS[mo - 1]} ${pad(y, 4)} has ${daysInMonth(y, mo)} days`;
  if (h > 23 || mi > 59 || s > 59) return `is not a real time: ${pad(h)}:${pad(mi)}:${pad(s)} (hours go to 23, minutes and seconds to 59)`;
  return null;
}

const impossible = (reason: string): DateTimeResult => ({ ok: false, reason, impossible: true });
const malformed = (reason: string): DateTimeResult => ({ ok: false, reason, impossible: false });

/** Digits after the decimal point of the seconds, as whole milliseconds (truncated). */
export function fractionMs(frac: string | undefined): number {
  if (!frac) return 0;
  return Math.floor(Number(`0.${frac}`) * 1000 + 1e-9);
}

/** UTC milliseconds of checked fields; a wall time in a zone is this, moved by the zone's offset. */
export function fieldsMs(y: number, mo: number, d: number, h: number, mi: number, s: number, frac?: string): number {
  // Date.UTC reads years 0-99 as 1900-1999; 400 Gregorian years later falls on the same calendar.
  if (y < 100) return Date.UTC(y + 400, mo - 1, d, h, mi, s) - YEARS_400_MS + fractionMs(frac);
  return Date.UTC(y, mo - 1, d, h, mi, s) + fractionMs(frac);
}
const YEARS_400_MS = 146_097 * 86_400_000;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** `YYYY-MM-DD` as the UTC milliseconds of its midnight. */
export function readIsoDate(text: string): DateTimeResult {
  const m = DATE.exec(text.trim());
  if (!m) return malformed('is not a date YYYY-MM-DD');
  const [y, mo, d] = [m[1], m[2], m[3]].map(Number) as [number, number, number];
  const problem = dateTimeProblem(y, mo, d);
  return problem ? impossible(problem) : { ok: true, ms: fieldsMs(y, mo, d, 0, 0, 0) };
}

const WALL = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?$/;

/**
 * A date and time with no zone (`2026-03-01 12:30`, `...T12:30:15.250`), as if it were UTC: the
 * caller moves it by the zone it is written in. Seconds are optional unless `seconds` is required.
 */
export function readWallDateTime(text: string, opts: { seconds?: 'required' } = {}): DateTimeResult {
  const m = WALL.exec(text.trim());
  if (!m || (opts.seconds === 'required' && m[6] === undefined)) {
    return malformed(`is not a date and time YYYY-MM-DD hh:mm${opts.seconds ? ':ss' : '[:ss]'}`);
  }
  const [y, mo, d, h, mi] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number, number];
  const s = m[6] ? Number(m[6]) : 0;
  const problem = dateTimeProblem(y, mo, d, h, mi, s);
  return problem ? impossible(problem) : { ok: true, ms: fieldsMs(y, mo, d, h, mi, s, m[7]) };
}

const INSTANT = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$/;

/**
 * ISO 8601 / RFC 3339 instant that carries its offset ("Z" or ±hh:mm): "2024-05-01T09:30:00+02:00".
 * Seconds are optional; fractions beyond milliseconds are truncated.
 */
export function readIsoInstant(text: string): DateTimeResult {
  const m = INSTANT.exec(text.trim());
  if (!m) return malformed('is not an ISO 8601 date-time with its offset');
  const [y, mo, d, h, mi] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number, number];
  const s = m[6] ? Number(m[6]) : 0;
  const problem = dateTimeProblem(y, mo, d, h, mi, s);
  if (problem) return impossible(problem);
  let offsetMin = 0;
  if (!m[8]) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return impossible(`is not a real time: offset ${m[9]}${m[10]}:${m[11]} (hours go to 23, minutes to 59)`);
    offsetMin = (oh * 60 + om) * (m[9] === '-' ? -1 : 1);
  }
  return { ok: true, ms: fieldsMs(y, mo, d, h, mi, s, m[7]) - offsetMin * 60_000 };
}

/** readIsoInstant's milliseconds, or null. */
export function parseIsoInstant(text: string): number | null {
  const r = readIsoInstant(text);
  return r.ok ? r.ms : null;
}
