/**
 * A record specification (DOMAIN.md, "Records for resellers"): which fields of the catalogue, in
 * which order and under which column names, and how the file is written. Stored as jsonb and
 * checked by `recordSpecSchema` on every write; docs/RECORD-FORMATS.md describes every option.
 */
import { z } from 'zod';
import { DIRECTIONS } from '../legs/direction';
import type { Role } from '../tenancy/roles';
import { canonicalTimeZone } from '../time/zones';
import { catalogueField, LITERAL_FIELD } from './catalogue';

export const LEG_STATUSES = ['rated', 'partial', 'unrated', 'blocked'] as const;
export const QUOTINGS = ['minimal', 'all', 'none'] as const;
export const LINE_ENDINGS = ['LF', 'CRLF'] as const;
export const CHARSETS = ['UTF-8', 'ISO-8859-1', 'Windows-1252'] as const;
export const DATE_FORMATS = ['iso8601', 'YYYY-MM-DD HH:mm:ss', 'YYYY-MM-DDTHH:mm:ss', 'DD/MM/YYYY HH:mm:ss', 'MM/DD/YYYY HH:mm:ss', 'YYYYMMDDHHmmss', 'epoch', 'epoch_ms'] as const;
export const LAYOUTS = ['delimited', 'fixed'] as const;
export const ALIGNMENTS = ['left', 'right'] as const;
/** Delimiters a person can choose; anything else would collide with quoting, escaping or line ends. */
export const DELIMITERS = [',', ';', '\t', '|', ':'] as const;
export const PERIODS = ['hourly', 'daily'] as const;

export type Quoting = (typeof QUOTINGS)[number];
export type Charset = (typeof CHARSETS)[number];
export type DateFormat = (typeof DATE_FORMATS)[number];
export type RecordPeriod = (typeof PERIODS)[number];

/** Length of a date written in each format, for fixed-width checks (epochs vary: none). */
export const DATE_FORMAT_WIDTH: Record<DateFormat, number | null> = {
  iso8601: 25, 'YYYY-MM-DD HH:mm:ss': 19, 'YYYY-MM-DDTHH:mm:ss': 19, 'DD/MM/YYYY HH:mm:ss': 19, 'MM/DD/YYYY HH:mm:ss': 19, YYYYMMDDHHmmss: 14, epoch: null, epoch_ms: null,
};

const columnName = z.string().max(100, 'A column name is at most 100 characters');

export const specFieldSchema = z
  .object({
    /** A catalogue field id, or `literal` for a constant column. */
    field: z.string().min(1),
    /** The column's name in the header (and the page). */
    name: columnName,
    /** The text of a `literal` column. */
    value: z.string().max(200).optional(),
    /** Values written as other text ("answered" -> "ok"); a value not named is written as it is. */
    map: z.record(z.string().max(100), z.string().max(100)).optional(),
    /** Fixed width only: the column's width in characters, its alignment and padding character. */
    width: z.number().int().min(1).max(500).optional(),
    align: z.enum(ALIGNMENTS).optional(),
    pad: z.string().length(1, 'Padding is one character').optional(),
  })
  .strict();

export const recordFilterSchema = z
  .object({
    /** Empty: every direction (legs with no direction included). */
    directions: z.array(z.enum(DIRECTIONS)).default([]),
    /** Empty: every status. */
    statuses: z.array(z.enum(LEG_STATUSES)).default([]),
    answeredOnly: z.boolean().default(false),
  })
  .strict();

export const recordSpecSchema = z
  .object({
    version: z.literal(1).default(1),
    layout: z.enum(LAYOUTS).default('delimited'),
    fields: z.array(specFieldSchema).min(1, 'Choose at least one field').max(120, 'At most 120 fields'),
    delimiter: z.enum(DELIMITERS).default(','),
    quoting: z.enum(QUOTINGS).default('minimal'),
    lineEnding: z.enum(LINE_ENDINGS).default('LF'),
    header: z.boolean().default(true),
    charset: z.enum(CHARSETS).default('UTF-8'),
    /** UTF-8 only: start the file with a byte order mark (some spreadsheets need it to read UTF-8). */
    bom: z.boolean().default(false),
    dateFormat: z.enum(DATE_FORMATS).default('iso8601'),
    timeZone: z.string().default('UTC'),
    /** Money is written with exactly this many decimals, rounded half-up from the stored amount. */
    decimalPlaces: z.number().int().min(0).max(10).default(4),
    decimalSeparator: z.enum(['.', ',']).default('.'),
    /** Prefix formula-like text cells with an apostrophe (the portal CSVs' rule, src/domain/csv-cell.ts). Off by default: record files are read by programs. */
    formulaGuard: z.boolean().default(false),
    filter: recordFilterSchema.default({ directions: [], statuses: [], answeredOnly: false }),
  })
  .strict()
  .superRefine((spec, ctx) => {
    const zone = canonicalTimeZone(spec.timeZone);
    if (!zone) ctx.addIssue({ code: 'custom', path: ['timeZone'], message: `${spec.timeZone} is not a time zone (use an IANA name such as America/New_York)` });
    if (spec.bom && spec.charset !== 'UTF-8') ctx.addIssue({ code: 'custom', path: ['bom'], message: 'A byte order mark is for UTF-8 files only' });
    if (spec.decimalSeparator === ',' && spec.layout === 'delimited' && spec.delimiter === ',' && spec.quoting === 'none') {
      ctx.addIssue({ code: 'custom', path: ['decimalSeparator'], message: 'A decimal comma needs another delimiter than the comma, or quoting' });
    }
    spec.fields.forEach((x, i) => {
      const path = ['fields', i];
      if (x.field === LITERAL_FIELD) {
        if (x.value === undefined) ctx.addIssue({ code: 'custom', path: [...path, 'value'], message: 'A constant column needs its text' });
      } else {
        const def = catalogueField(x.field);
        if (!def) return ctx.addIssue({ code: 'custom', path: [...path, 'field'], message: `${x.field} is not a field of the catalogue` });
        if (x.value !== undefined) ctx.addIssue({ code: 'custom', path: [...path, 'value'], message: 'Only a constant column has a text of its own' });
      }
      if (spec.layout === 'fixed') {
        if (x.width === undefined) ctx.addIssue({ code: 'custom', path: [...path, 'width'], message: `${x.name || x.field}: a fixed-width file needs the width of every column` });
        const def = catalogueField(x.field);
        const need = def?.type === 'datetime' && !x.map ? DATE_FORMAT_WIDTH[spec.dateFormat] : null;
        if (x.width !== undefined && need !== null && x.width < need) {
          ctx.addIssue({ code: 'custom', path: [...path, 'width'], message: `${x.name || x.field}: a date in ${spec.dateFormat} takes ${need} characters, more than the width ${x.width}` });
        }
      }
    });
  })
  .transform((spec) => ({ ...spec, timeZone: canonicalTimeZone(spec.timeZone) ?? spec.timeZone }));

export type RecordSpecInput = z.input<typeof recordSpecSchema>;
export type RecordSpec = z.output<typeof recordSpecSchema>;
export type SpecField = z.output<typeof specFieldSchema>;
export type RecordFilter = z.output<typeof recordFilterSchema>;

/** Specifications are a reseller's: the role whose view every field must fit. */
export const SPEC_AUDIENCE: Role = 'reseller_admin';

/**
 * The fields of a spec the audience may not see (none for every field of today's catalogue and
 * a reseller; kept as a check so that a field added for the operator alone cannot slip into a
 * reseller's file). Subscribers never get specifications at all.
 */
export function fieldsNotVisible(spec: Pick<RecordSpec, 'fields'>, role: Role = SPEC_AUDIENCE): string[] {
  if (role === 'subscriber') return spec.fields.map((x) => x.field);
  return spec.fields.filter((x) => x.field !== LITERAL_FIELD && !catalogueField(x.field)?.roles.includes(role)).map((x) => x.field);
}

export type SpecResult = { ok: true; spec: RecordSpec } | { ok: false; errors: Record<string, string> };

/**
 * A spec from JSON (a form's or the database's), checked: the schema, then that the audience may
 * see every field. Errors by path ("fields.2.width"), first message each.
 */
export function readRecordSpec(input: unknown, role: Role = SPEC_AUDIENCE): SpecResult {
  const r = recordSpecSchema.safeParse(input);
  if (!r.success) {
    const errors: Record<string, string> = {};
    for (const issue of r.error.issues) {
      const key = issue.path.join('.') || 'spec';
      errors[key] ??= issue.message;
    }
    return { ok: false, errors };
  }
  const hidden = fieldsNotVisible(r.data, role);
  if (hidden.length) return { ok: false, errors: { fields: `Not available in a record file for ${role === 'subscriber' ? 'a subscriber' : 'this reseller'}: ${hidden.join(', ')}` } };
  return { ok: true, spec: r.data };
}

/** readRecordSpec, throwing: for specs already stored (validated on write). */
export function parseRecordSpec(input: unknown): RecordSpec {
  const r = readRecordSpec(input);
  if (!r.ok) throw new Error(`invalid record specification: ${Object.entries(r.errors).map(([k, v]) => `${k}: ${v}`).join('; ')}`);
  return r.spec;
}
