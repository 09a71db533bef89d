import { z } from 'zod';
import { type Decimal, parseDecimal } from '../../domain/money/decimal';
import { type DateTimeResult, readIsoDate, readIsoInstant, readWallDateTime } from '../../domain/time/date-time';

/**
 * Form fields shared by the tax and exchange-rate pages. Decimal text goes straight to a Decimal
 * (never through a JS number); moments are UTC.
 */

/**
 * A non-negative decimal typed in a form that fits numeric(precision, scale): at most `scale`
 * decimals and `precision - scale` integer digits. `positive` refuses zero as well.
 */
export function decimalText(label: string, opts: { precision: number; scale: number; positive?: boolean; max?: string }) {
  const intDigits = opts.precision - opts.scale;
  return z
    .string({ error: `${label} is required` })
    .trim()
    .min(1, `${label} is required`)
    .transform((text, ctx): Decimal => {
      const value = parseDecimal(text.replace(/^\+/, ''));
      const fail = (message: string) => {
        ctx.addIssue({ code: 'custom', message });
        return z.NEVER;
      };
      if (!value) return fail(`${label} must be a decimal number such as 8.875`);
      if (value.isNegative()) return fail(`${label} cannot be negative`);
      if (opts.positive && value.isZero()) return fail(`${label} must be above zero`);
      if (value.decimalPlaces() > opts.scale) return fail(`${label} can have at most ${opts.scale} decimals`);
      if (value.trunc().toFixed(0).replace(/^0$/, '').length > intDigits) return fail(`${label} is too large`);
      if (opts.max !== undefined && value.greaterThan(opts.max)) return fail(`${label} must be at most ${opts.max}`);
      return value;
    });
}

/**
 * A moment typed in a form, as UTC milliseconds: a date (its midnight UTC), a date and time without
 * an offset (UTC), or an ISO 8601 date-time with its offset. Undefined when it is none of these, or
 * names a day or time that does not exist (2026-02-30, 24:00): never rolled over.
 */
export function parseMoment(text: string): number | undefined {
  const r = readMoment(text);
  return r.ok ? r.ms : undefined;
}

/** parseMoment, or why not: a day or time that does not exist is said so, not "wrong format". */
function readMoment(text: string): DateTimeResult {
  let fail: DateTimeResult | undefined;
  for (const read of [readIsoDate, readWallDateTime, readIsoInstant]) {
    const r = read(text);
    if (r.ok) return r;
    if (r.impossible || !fail) fail = r;
  }
  return fail as DateTimeResult;
}

const momentIssue = (label: string, r: DateTimeResult, orEmpty = '') =>
  !r.ok && r.impossible ? `${label} ${r.reason}` : `${label} must be ${MOMENT_HELP}${orEmpty}`;

const MOMENT_HELP = 'a date (2026-01-01) or a date and time in UTC (2026-01-01 08:00)';

export function momentField(label: string) {
  return z
    .string({ error: `${label} is required` })
    .trim()
    .min(1, `${label} is required`)
    .transform((text, ctx): number => {
      const r = readMoment(text);
      if (!r.ok) {
        ctx.addIssue({ code: 'custom', message: momentIssue(label, r) });
        return z.NEVER;
      }
      return r.ms;
    });
}

export function optionalMomentField(label: string) {
  return z
    .string()
    .trim()
    .optional()
    .transform((text, ctx): number | null => {
      if (text === undefined || text === '') return null;
      const r = readMoment(text);
      if (!r.ok) {
        ctx.addIssue({ code: 'custom', message: momentIssue(label, r, ', or empty') });
        return z.NEVER;
      }
      return r.ms;
    });
}

/** A moment for a form's text input: "2026-01-01 08:00" (UTC), seconds only when there are some. */
export function momentText(value: Date | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const iso = new Date(value).toISOString();
  // Milliseconds (from a row not typed in this form) keep the full ISO text, so saving it back changes nothing.
  if (!iso.endsWith('.000Z')) return iso;
  const seconds = iso.slice(17, 19) === '00' ? '' : `:${iso.slice(17, 19)}`;
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}${seconds}`;
}

/** An id chosen in a select; blank or malformed is undefined. */
export const idChoice = (label: string) =>
  z
    .string({ error: `Choose ${label}` })
    .trim()
    .regex(/^[1-9]\d{0,15}$/, `Choose ${label}`)
    .transform(Number);
