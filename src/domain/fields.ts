import { z } from 'zod';
import { isCycleDay } from './billing/cycles';
import { canonicalTimeZone } from './time/zones';

// Field rules shared by forms and the API. Blank optional inputs become null, never ''.

export const requiredText = (label: string, max = 200) =>
  z
    .string({ error: `${label} is required` })
    .trim()
    .min(1, `${label} is required`)
    .max(max, `${label} must be at most ${max} characters`);

export const optionalText = (label: string, max = 200) =>
  z
    .string()
    .trim()
    .max(max, `${label} must be at most ${max} characters`)
    .optional()
    .transform((v) => (v === undefined || v === '' ? null : v));

export const emailField = z
  .string({ error: 'Email is required' })
  .trim()
  .toLowerCase()
  .pipe(z.email('Enter a valid email address'));

export const optionalEmail = z
  .string()
  .trim()
  .toLowerCase()
  .optional()
  .transform((v) => (v === undefined || v === '' ? null : v))
  .pipe(z.email('Enter a valid email address').nullable());

export const passwordField = z
  .string({ error: 'Password is required' })
  .min(12, 'Password must be at least 12 characters')
  .max(200, 'Password must be at most 200 characters');

export const currencyField = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^[A-Z]{3}$/, 'Currency must be a three-letter ISO 4217 code');

export const countryField = z
  .string({ error: 'Country is required' })
  .trim()
  .toUpperCase()
  .regex(/^[A-Z]{2}$/, 'Country must be a two-letter ISO 3166 code');

/** HTML checkboxes send "on" or nothing. */
export const checkbox = z
  .union([z.literal('on'), z.literal('true'), z.literal('1'), z.literal('')])
  .optional()
  .transform((v) => v === 'on' || v === 'true' || v === '1');

const TIME_ZONE_HELP = 'Unknown time zone: use an IANA name such as America/New_York, Asia/Tokyo or UTC';

/** An IANA time zone name Intl knows, stored under its canonical name ("us/eastern" -> "America/New_York"). */
export const timeZoneField = z
  .string({ error: 'Time zone is required' })
  .trim()
  .min(1, 'Time zone is required')
  .transform((v, ctx) => {
    const zone = canonicalTimeZone(v);
    if (zone) return zone;
    ctx.addIssue({ code: 'custom', message: TIME_ZONE_HELP });
    return z.NEVER;
  });

/** A time zone, or blank (null) to follow the party above (a subscriber its reseller, a reseller the operator). */
export const optionalTimeZone = z
  .string()
  .trim()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v === '') return null;
    const zone = canonicalTimeZone(v);
    if (zone) return zone;
    ctx.addIssue({ code: 'custom', message: TIME_ZONE_HELP });
    return z.NEVER;
  });

const CYCLE_DAY_HELP = 'Billing cycle day must be a day of the month from 1 to 28';

/** A day of the month from 1 to 28 as typed or sent in JSON, or null for a blank. */
const cycleDayOrBlank = z
  .union([z.string(), z.number()])
  .optional()
  .transform((v, ctx) => {
    const t = v === undefined ? '' : String(v).trim();
    if (t === '') return null;
    const n = Number(t);
    if (/^\d{1,2}$/.test(t) && isCycleDay(n)) return n;
    ctx.addIssue({ code: 'custom', message: CYCLE_DAY_HELP });
    return z.NEVER;
  });

/** A reseller's billing cycle day (1-28; every month has it); blank is the 1st. */
export const cycleDayField = cycleDayOrBlank.transform((v) => v ?? 1);

/** A subscriber's billing cycle day; blank (null) follows its reseller's. */
export const optionalCycleDay = cycleDayOrBlank;

/** A SIP domain (hosted PBX), lower case; blank: none. */
export const optionalSipDomain = (example: string) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .optional()
    .transform((v) => (v ? v : null))
    .refine((v) => v === null || /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(v), `A SIP domain name such as ${example}`);

/**
 * The JSON twin of a form's fields, built from the same rules (the API's bodies, issue 14). A
 * JSON body says "none" with null where a form sends a blank, so null reads as absent and each
 * rule decides as it does for a blank; fields whose JSON type differs from the form's text (a
 * checkbox is a boolean, a list is an array) are given in `json`, with the same output. Members
 * the form does not name are refused (strict): in JSON a misspelt field is a mistake to report,
 * not a field to ignore. The data is the form's, so the same service takes either.
 */
export function jsonFields<T extends z.ZodRawShape, O extends { [K in keyof T]?: z.ZodType<z.output<T[K]>> }>(form: z.ZodObject<T>, json: O = {} as O): z.ZodType<z.output<z.ZodObject<T>>> {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, rule] of Object.entries(form.shape)) {
    shape[name] = json[name as keyof O] ?? z.preprocess((v) => (v === null ? undefined : v), rule as z.ZodType);
  }
  return z.strictObject(shape) as unknown as z.ZodType<z.output<z.ZodObject<T>>>;
}

/**
 * The body of a PATCH: the same members as jsonFields, each optional (absent: unchanged). It checks
 * names and types; the object merged with the current values is then held to jsonFields' rules.
 */
export function jsonPatchFields<T extends z.ZodRawShape>(form: z.ZodObject<T>, json: { [K in keyof T]?: z.ZodType } = {}): z.ZodType<Partial<Record<keyof T, unknown>>> {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, rule] of Object.entries(form.shape)) {
    shape[name] = (json[name as keyof T] ?? z.preprocess((v) => (v === null ? undefined : v), rule as z.ZodType)).optional();
  }
  return z.strictObject(shape) as unknown as z.ZodType<Partial<Record<keyof T, unknown>>>;
}

/** A checkbox's value in JSON: true or false (absent: false, as an unticked box). */
export const jsonBoolean = (name: string) => z.boolean({ error: `${name} must be true or false` }).default(false);

/** The query parameters every portal list takes beside its own filters (src/db/list.ts): sort, direction, cursor. */
export const listParams = {
  sort: z.string().trim().max(40).regex(/^[a-z_]+$/).optional().catch(undefined),
  dir: z.enum(['asc', 'desc']).optional().catch(undefined),
  cursor: z.string().max(1000).optional().catch(undefined),
};

/** One row chosen from a list (a select of plans): its id, or null when left blank. */
export const optionalId = (message: string) =>
  z
    .string()
    .trim()
    .regex(/^([1-9]\d{0,14})?$/, message)
    .optional()
    .transform((v) => (v ? Number(v) : null));

/** The same in JSON: a positive integer, or null / absent for none. */
export const jsonOptionalId = (message: string) =>
  z
    .number({ error: message })
    .int(message)
    .positive(message)
    .nullable()
    .optional()
    .transform((v) => v ?? null);
