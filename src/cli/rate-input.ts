import { z } from 'zod';
import { isDirection, type Direction } from '../domain/legs/direction';
import { MAX_LEG_SECONDS } from '../domain/mediation/common';
import { ROUNDING_METHODS } from '../domain/money/decimal';
import { normaliseE164 } from '../domain/numbers/e164';
import type { Parsed, RowError } from '../domain/rating/deck';
import { isValidTimeZone } from '../domain/rating/zoned-time';
import { readIsoInstant } from '../domain/time/date-time';
import { readCsvTable } from '../modules/rate-plans/deck-csv';

/** The offline rater's inputs besides the deck and bands: the plan file and the calls file. */

const DECIMALS = 'must be a whole number from 0 to 10';

/**
 * Plan settings, from the --plan JSON file or from flags. Strict: a misspelt key must not be
 * ignored, and a boolean is a JSON boolean ("false" as a string would read as true).
 */
export const planSettingsSchema = z.strictObject({
  currency: z
    .string({ error: 'must be a three-letter currency code such as "USD"' })
    .regex(/^[A-Za-z]{3}$/, 'must be a three-letter currency code such as "USD"')
    .transform((c) => c.toUpperCase())
    .optional(),
  decimals: z.number({ error: DECIMALS }).int(DECIMALS).min(0, DECIMALS).max(10, DECIMALS).optional(),
  rounding: z.enum(ROUNDING_METHODS, { error: `must be one of ${ROUNDING_METHODS.join(', ')}` }).optional(),
  timeZone: z.string({ error: 'must be an IANA time zone name such as "Europe/Berlin"' }).refine(isValidTimeZone, 'is not a known IANA time zone').optional(),
  bandMode: z.enum(['split', 'start'], { error: 'must be split or start' }).optional(),
  connectFeeOnUnanswered: z.boolean({ error: (iss) => `must be true or false (a JSON boolean), not ${JSON.stringify(iss.input)}` }).optional(),
});
export type PlanSettingsInput = z.output<typeof planSettingsSchema>;
export const PLAN_KEYS = Object.keys(planSettingsSchema.shape);

/** Zod's issues as "path: message" lines; an unknown key is named with the keys there are. */
export function settingsIssues(error: z.ZodError, nameOf: (key: string) => string = (k) => k): string[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => `unknown key "${k}" (the keys are ${PLAN_KEYS.join(', ')})`);
    const path = issue.path.map(String).join('.');
    return [`${path ? `${nameOf(path)}: ` : ''}${issue.message}`];
  });
}

/** The --plan file's text -> its settings, or every problem, each naming its key. */
export function readPlanFile(text: string): { ok: true; value: PlanSettingsInput } | { ok: false; errors: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    return { ok: false, errors: [`not valid JSON: ${(err as Error).message}`] };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { ok: false, errors: ['must be a JSON object such as {"currency":"EUR","decimals":4}'] };
  const parsed = planSettingsSchema.safeParse(json);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, errors: settingsIssues(parsed.error) };
}

export const CALL_COLUMNS = ['destination', 'start', 'duration', 'direction'] as const;
const REQUIRED_CALL_COLUMNS = ['destination', 'start', 'duration'];

export interface OfflineCall {
  line: number;
  destination: string;
  start: string;
  duration: string;
  direction: Direction;
  number: string;
  startMs: number;
  seconds: number;
}

/**
 * The calls CSV -> calls ready to rate, or every bad row by its line (all or nothing, as the deck
 * import: a priced file with rows missing reads as complete to whatever consumes it).
 * @param countryCode calling code for national destinations; without it they are refused, since
 *   "2125550100" read as international is Morocco (+212), not New York.
 */
export function readCallsCsv(text: string, countryCode?: string): Parsed<OfflineCall[]> {
  const table = readCsvTable(text);
  if (Array.isArray(table)) return { ok: false, errors: table };
  const { header, headerLine } = table;
  const unknown = header.filter((h) => !(CALL_COLUMNS as readonly string[]).includes(h));
  const missing = REQUIRED_CALL_COLUMNS.filter((c) => !header.includes(c));
  const headerErrs = [
    ...(missing.length ? [`missing column${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`] : []),
    ...(unknown.length ? [`unknown column${unknown.length > 1 ? 's' : ''}: ${unknown.map((u) => `"${u}"`).join(', ')} (the columns are ${CALL_COLUMNS.join(', ')})`] : []),
    ...(new Set(header).size !== header.length ? ['a column is named twice'] : []),
  ];
  if (headerErrs.length) return { ok: false, errors: [{ line: headerLine, message: headerErrs.join('; ') }] };
  if (table.records.length === 0 && table.errors.length === 0) return { ok: false, errors: [{ line: headerLine, message: 'the file has no calls' }] };

  const errors: RowError[] = [...table.errors];
  const calls: OfflineCall[] = [];
  table.records.forEach((record, i) => {
    const line = table.lines[i] as number;
    const get = (c: string) => record[c] ?? '';
    const destination = get('destination');
    const start = get('start');
    const duration = get('duration');
    const errs: string[] = [];

    const dir = (get('direction') || 'outbound').toLowerCase();
    if (!isDirection(dir)) errs.push(`direction "${get('direction')}" is not outbound, inbound, onnet or forwarded`);

    let number = '';
    if (destination === '') errs.push('destination is required');
    else {
      const n = normaliseE164(destination, countryCode);
      if (n.ok) number = n.number;
      else if (!countryCode && /^[1-9]\d*$|^0[1-9]\d*$/.test(destination.replace(/[\s\-.()/]/g, ''))) {
        errs.push(`destination "${destination}" has no country code: write it with + or 00 and its country code, or give --country-code (e.g. --country-code 1)`);
      } else errs.push(`destination ${n.reason}`);
    }

    const at = readIsoInstant(start);
    if (!at.ok) {
      errs.push(start === '' ? 'start is required' : at.impossible ? `start "${start}" ${at.reason}` : `start "${start}" must be ISO 8601 with its offset, e.g. 2026-11-25T12:00:00Z`);
    }

    let seconds = 0;
    if (!/^\d+$/.test(duration)) errs.push(`duration "${duration}" must be whole seconds`);
    else {
      seconds = Number(duration);
      // The intake refuses such legs too; rating one would walk billions of blocks.
      if (seconds > MAX_LEG_SECONDS) errs.push(`duration "${duration}" is more than ${MAX_LEG_SECONDS} s (7 days), the longest call the intake accepts: a timestamp in the wrong column?`);
    }

    if (errs.length) errors.push({ line, message: errs.join('; ') });
    else calls.push({ line, destination, start, duration, direction: dir as Direction, number, startMs: at.ok ? at.ms : 0, seconds });
  });
  return errors.length ? { ok: false, errors: errors.sort((a, b) => a.line - b.line) } : { ok: true, value: calls };
}
