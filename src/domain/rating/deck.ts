import { Decimal, parseDecimal } from '../money/decimal';
import { DIRECTIONS, type Direction } from '../legs/direction';
import { readIsoDate, readIsoInstant } from '../time/date-time';
import type { BandStart } from './bands';
import type { Rate, RateStep } from './plan';
import { utcOfWallTime } from './zoned-time';

/**
 * The deck CSV (one row per step) and band CSV, as records keyed by header. Turning CSV text into
 * records is the caller's job; this validates every row and builds rates, or lists each bad row.
 */
export const DECK_COLUMNS = [
  'prefix', 'description', 'direction', 'band', 'interval_start', 'rate', 'rate_unit', 'increment',
  'connect_fee', 'min_charge', 'max_cost', 'effective_from',
] as const;
export const BAND_COLUMNS = ['band', 'days', 'start'] as const;

export interface RowError {
  /** 1-based line number in the file, the header being line 1. */
  line: number;
  message: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; errors: RowError[] };

type Rec = Record<string, string | undefined>;

function missingColumns(header: string[], required: readonly string[]): string[] {
  return required.filter((c) => !header.includes(c));
}

function nonNegative(text: string | undefined, field: string, errs: string[], required = true): Decimal | null {
  const t = (text ?? '').trim();
  if (t === '') {
    if (required) errs.push(`${field} is required`);
    return null;
  }
  const d = parseDecimal(t);
  if (!d || d.isNeg()) {
    errs.push(`${field} "${t}" is not a non-negative decimal number`);
    return null;
  }
  return d;
}

function positiveInt(text: string | undefined, field: string, errs: string[], allowZero = false): number {
  const t = (text ?? '').trim();
  if (!/^\d+$/.test(t) || (!allowZero && Number(t) === 0) || Number(t) > 86_400 * 31) {
    errs.push(`${field} "${t}" must be a whole number of seconds${allowZero ? '' : ' above 0'}`);
    return 0;
  }
  return Number(t);
}

/** effective_from: a local date in the plan's zone (midnight), or an ISO 8601 date-time with its offset. Empty: always. */
export function parseEffectiveFrom(text: string | undefined, timeZone: string): number | string {
  const t = (text ?? '').trim();
  if (t === '') return 0;
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) {
    const date = readIsoDate(t);
    return date.ok ? utcOfWallTime(timeZone, date.ms / 86_400_000, 0) : `effective_from "${t}" ${date.reason}`;
  }
  const at = readIsoInstant(t);
  if (at.ok) return at.ms;
  if (at.impossible) return `effective_from "${t}" ${at.reason}`;
  return `effective_from "${t}" must be a date (YYYY-MM-DD) or a date-time with offset (2026-01-01T00:00:00Z)`;
}

/**
 * A prefix is matched against E.164 numbers, whose country code never starts with 0: a prefix
 * written with the international access code (0044, 011) could never match, so it is refused
 * rather than stored. A leading + is the E.164 sign and is dropped.
 */
export function parsePrefix(text: string | undefined): { ok: true; prefix: string } | { ok: false; message: string } {
  const raw = (text ?? '').trim();
  const prefix = raw.replace(/^\+/, '');
  if (!/^\d{1,15}$/.test(prefix)) return { ok: false, message: `prefix "${raw}" must be 1-15 digits` };
  if (prefix.startsWith('0')) {
    const hint = prefix.startsWith('00') && prefix.length > 2 ? ` (write ${prefix.slice(2)})` : '';
    return { ok: false, message: `prefix "${raw}" starts with 0: write the country code without 00 or another access code${hint}, as E.164 numbers are matched` };
  }
  return { ok: true, prefix };
}

/** @param lines each record's line in the file (default: the header on line 1, no blank lines). */
export function parseDeck(header: string[], records: Rec[], opts: { timeZone: string; bands?: Set<string> }, lines?: number[]): Parsed<Rate[]> {
  const missing = missingColumns(header, DECK_COLUMNS);
  if (missing.length) return { ok: false, errors: [{ line: 1, message: `missing column${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}` }] };
  const errors: RowError[] = [];
  const groups = new Map<string, { rate: Rate; line: number; stepLines: Map<number, number> }>();
  records.forEach((r, i) => {
    const line = lines?.[i] ?? i + 2;
    const errs: string[] = [];
    const parsedPrefix = parsePrefix(r.prefix);
    if (!parsedPrefix.ok) errs.push(parsedPrefix.message);
    const prefix = parsedPrefix.ok ? parsedPrefix.prefix : '';
    const direction = (r.direction ?? '').trim().toLowerCase();
    if (!(DIRECTIONS as readonly string[]).includes(direction) || direction === 'forwarded') {
      errs.push(`direction "${r.direction ?? ''}" must be outbound, inbound or onnet`);
    }
    const band = (r.band ?? '').trim() || null;
    if (band && opts.bands && !opts.bands.has(band)) errs.push(`band "${band}" is not defined for this plan`);
    const from = positiveInt(r.interval_start, 'interval_start', errs, true);
    const rate = nonNegative(r.rate, 'rate', errs);
    const rateUnit = positiveInt(r.rate_unit, 'rate_unit', errs);
    const increment = positiveInt(r.increment, 'increment', errs);
    const connectFee = nonNegative(r.connect_fee, 'connect_fee', errs, false);
    const minCharge = nonNegative(r.min_charge, 'min_charge', errs, false);
    const maxCost = nonNegative(r.max_cost, 'max_cost', errs, false);
    const effective = parseEffectiveFrom(r.effective_from, opts.timeZone);
    if (typeof effective === 'string') errs.push(effective);
    if (minCharge && maxCost && minCharge.gt(maxCost)) errs.push('min_charge is above max_cost');
    // The cap would always cut the fee: a slip in the deck, not a price anyone means.
    if (connectFee && maxCost && connectFee.gt(maxCost)) errs.push('connect_fee is above max_cost');
    if (errs.length) {
      errors.push({ line, message: errs.join('; ') });
      return;
    }
    const k = `${direction}|${prefix}|${band ?? ''}|${effective}`;
    const step: RateStep = { from, rate: rate as Decimal, rateUnit, increment };
    const group = groups.get(k);
    if (!group) {
      groups.set(k, {
        line,
        stepLines: new Map([[from, line]]),
        rate: {
          prefix, description: (r.description ?? '').trim(), direction: direction as Exclude<Direction, 'forwarded'>, band,
          effectiveFrom: effective as number, connectFee: connectFee ?? new Decimal(0), minCharge, maxCost, steps: [step],
        },
      });
      return;
    }
    const dup = group.stepLines.get(from);
    if (dup) {
      errors.push({ line, message: `duplicate step: line ${dup} already has interval_start ${from} for ${direction} ${prefix}${band ? ` band ${band}` : ''}` });
      return;
    }
    group.stepLines.set(from, line);
    group.rate.steps.push(step);
    // Per-call fields belong to the rate, not the step: later rows must agree or leave them empty.
    const agree = (name: string, a: Decimal | null, b: Decimal | null) => {
      if (b !== null && (a === null || !a.eq(b))) errors.push({ line, message: `${name} differs from line ${group.line} of the same rate` });
    };
    agree('connect_fee', group.rate.connectFee, connectFee);
    agree('min_charge', group.rate.minCharge, minCharge);
    agree('max_cost', group.rate.maxCost, maxCost);
  });
  const rates: Rate[] = [];
  for (const g of groups.values()) {
    g.rate.steps.sort((a, b) => a.from - b.from);
    if (g.rate.steps[0]?.from !== 0) {
      errors.push({ line: g.line, message: `rate ${g.rate.direction} ${g.rate.prefix} has no step with interval_start 0` });
      continue;
    }
    rates.push(g.rate);
  }
  if (errors.length) return { ok: false, errors: errors.sort((a, b) => a.line - b.line) };
  if (rates.length === 0) return { ok: false, errors: [{ line: 1, message: 'the deck has no rates' }] };
  return { ok: true, value: rates };
}

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** days: weekdays and ranges ("mon-fri", "sat,sun") or dates ("2026-12-25 2026-12-26"). */
function parseDays(text: string): { weekdays: number[]; dates: string[] } | string {
  const tokens = text.toLowerCase().split(/[\s,;]+/).filter(Boolean);
  if (tokens.length === 0) return 'days is required';
  const weekdays = new Set<number>();
  const dates: string[] = [];
  for (const tok of tokens) {
    if (/^\d{4}-\d{2}-\d{2}$/.test(tok)) {
      const date = readIsoDate(tok);
      if (!date.ok) return `"${tok}" ${date.reason}`;
      dates.push(tok);
      continue;
    }
    const range = /^([a-z]{3})-([a-z]{3})$/.exec(tok);
    if (range) {
      const a = WEEKDAYS.indexOf(range[1] as string);
      const b = WEEKDAYS.indexOf(range[2] as string);
      if (a < 0 || b < 0) return `"${tok}" is not a weekday range like mon-fri`;
      for (let d = a; ; d = (d + 1) % 7) {
        weekdays.add(d);
        if (d === b) break;
      }
      continue;
    }
    const d = WEEKDAYS.indexOf(tok.slice(0, 3));
    if (d < 0 || !/^[a-z]{3,9}$/.test(tok)) return `"${tok}" is not a weekday (mon..sun) or a date (YYYY-MM-DD)`;
    weekdays.add(d);
  }
  if (dates.length && weekdays.size) return 'a row lists either weekdays or dates, not both';
  return { weekdays: [...weekdays].sort(), dates };
}

export function parseBands(header: string[], records: Rec[], lines?: number[]): Parsed<BandStart[]> {
  const missing = missingColumns(header, BAND_COLUMNS);
  if (missing.length) return { ok: false, errors: [{ line: 1, message: `missing column${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}` }] };
  const errors: RowError[] = [];
  const out: BandStart[] = [];
  const seen = new Map<string, number>();
  records.forEach((r, i) => {
    const line = lines?.[i] ?? i + 2;
    const errs: string[] = [];
    const band = (r.band ?? '').trim();
    if (!/^[A-Za-z][\w-]{0,31}$/.test(band)) errs.push(`band "${band}" must be a name of letters, digits, - or _`);
    const days = parseDays(r.days ?? '');
    if (typeof days === 'string') errs.push(days);
    const start = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec((r.start ?? '').trim());
    let startMs = 0;
    if (!start || Number(start[1]) > 23 || Number(start[2]) > 59 || Number(start[3] ?? 0) > 59) errs.push(`start "${r.start ?? ''}" must be a time HH:MM`);
    else startMs = ((Number(start[1]) * 60 + Number(start[2])) * 60 + Number(start[3] ?? 0)) * 1000;
    if (errs.length || typeof days === 'string') {
      errors.push({ line, message: errs.join('; ') });
      return;
    }
    for (const key of [...days.weekdays.map((w) => WEEKDAYS[w]), ...days.dates].map((d) => `${d}@${startMs}`)) {
      const prev = seen.get(key);
      if (prev) errs.push(`line ${prev} already starts a band at the same day and time`);
      else seen.set(key, line);
    }
    if (errs.length) errors.push({ line, message: errs.join('; ') });
    else out.push({ band, weekdays: days.weekdays, dates: days.dates, startMs });
  });
  if (errors.length) return { ok: false, errors };
  return { ok: true, value: out };
}
