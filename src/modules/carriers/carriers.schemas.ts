import { z } from 'zod';
import { currencyField, optionalId, requiredText, timeZoneField } from '../../domain/fields';
import { parseDecimal } from '../../domain/money/decimal';
import { CARRIER_FORMATS, carrierMappingSchema, type CarrierFormat, type CarrierMapping } from '../../domain/reconciliation';
import { cidrList } from '../platforms/platforms.schemas';

/** The formats as the carrier form offers them (the parsers are src/domain/reconciliation, docs/CARRIER-FORMATS.md). */
export const CARRIER_FORMAT_LABELS: Readonly<Record<CarrierFormat, string>> = {
  'carrier-generic-csv': 'Generic carrier CSV',
  'carrier-mapped-csv': 'CSV with a column mapping',
  'didww-cdr-out': 'DIDWW outbound CDR export (cdr_out CSV)',
  'didww-cdr-stream': 'DIDWW Voice OUT CDR streaming (gzip JSON lines)',
};

const seconds = (label: string) =>
  z
    .string()
    .trim()
    .regex(/^\d{1,4}$/, `${label}: whole seconds from 0 to 3600`)
    .transform(Number)
    .refine((n) => n <= 3600, `${label}: whole seconds from 0 to 3600`);

/** A money tolerance typed as a decimal ("0.01"), kept as text for the repository: never a JS number. */
const costTolerance = z
  .string()
  .trim()
  .refine((v) => /^\d{1,10}(\.\d{1,10})?$/.test(v) && parseDecimal(v) !== undefined, 'Cost tolerance: a decimal amount such as 0.01 (0 or more, up to 10 decimals)');

/** "06:30" (24 h); blank: no time due. */
const timeOfDay = z
  .string()
  .trim()
  .optional()
  .refine((v) => !v || /^([01]\d|2[0-3]):[0-5]\d$/.test(v), 'A time of day such as 06:00 (24 h), or blank for no deadline')
  .transform((v) => (v ? v : null));

/** A column as typed: a 1-based position ("3") or a header name ("Destination"); blank: none. */
const columnText = (v: unknown): number | string | undefined => {
  const s = typeof v === 'string' ? v.trim() : '';
  if (s === '') return undefined;
  return /^\d{1,4}$/.test(s) ? Number(s) : s;
};

/** The mapping's columns and the form fields that type them. */
const COLUMN_FIELDS = { called: 'map_called', calling: 'map_calling', start: 'map_start', duration: 'map_duration', cost: 'map_cost', rate: 'map_rate', recordId: 'map_record_id' } as const;
/** The mapping's other members and their form fields (an issue's path names the member). */
const MEMBER_FIELDS: Record<string, string> = {
  delimiter: 'map_delimiter', skipLines: 'map_skip_lines', header: 'map_header', dateFormat: 'map_date_format', timeZone: 'map_time_zone',
  durationFormat: 'map_duration_format', currency: 'map_currency', decimalSeparator: 'map_decimal_separator', countryCode: 'map_country_code',
};

/** The form's map_* fields as the mapping JSON the parsers take (carrierMappingSchema checks it). */
function mappingOf(body: Record<string, unknown>, carrierCurrency: string): unknown {
  const text = (k: string) => (typeof body[k] === 'string' ? (body[k] as string).trim() : '');
  const columns: Record<string, number | string> = {};
  for (const [member, field] of Object.entries(COLUMN_FIELDS)) {
    const ref = columnText(body[field]);
    if (ref !== undefined) columns[member] = ref;
  }
  const skip = text('map_skip_lines');
  const currencyColumn = columnText(body.map_currency_column);
  return {
    version: 1,
    delimiter: text('map_delimiter') === 'tab' ? '\t' : text('map_delimiter') || ',',
    skipLines: skip === '' ? 0 : /^\d{1,3}$/.test(skip) ? Number(skip) : skip,
    header: ['on', 'true', '1'].includes(text('map_header')),
    columns,
    dateFormat: text('map_date_format') || undefined,
    timeZone: text('map_time_zone') || undefined,
    durationFormat: text('map_duration_format') || undefined,
    // One currency for the file (blank: the carrier's), or the column naming each row's.
    currency: currencyColumn !== undefined ? { column: currencyColumn } : { fixed: text('map_currency') || carrierCurrency },
    decimalSeparator: text('map_decimal_separator') || undefined,
    countryCode: text('map_country_code') || undefined,
  };
}

/** The form field an issue of carrierMappingSchema belongs to. */
function fieldOfIssue(path: ReadonlyArray<PropertyKey>): string {
  const [head, sub] = path.map(String);
  if (head === 'columns') return sub && sub in COLUMN_FIELDS ? COLUMN_FIELDS[sub as keyof typeof COLUMN_FIELDS] : 'map_called';
  if (head === 'currency' && sub === 'column') return 'map_currency_column';
  return MEMBER_FIELDS[head ?? ''] ?? 'map_called';
}

const COLUMN_REQUIRED: Record<string, string> = {
  map_called: 'Which column holds the called number: required for a mapped CSV',
  map_start: 'Which column holds the start time: required for a mapped CSV',
  map_duration: 'Which column holds the duration: required for a mapped CSV',
  map_cost: 'Which column holds the cost: required for a mapped CSV',
};

/**
 * The form's map_* fields as a checked mapping, or each bad field's message (by form field): the
 * carrier form's check, and the mapped-CSV preview's.
 */
export function mappingFromForm(body: Record<string, unknown>, carrierCurrency: string): { mapping: CarrierMapping } | { errors: Record<string, string> } {
  const parsed = carrierMappingSchema.safeParse(mappingOf(body, carrierCurrency));
  if (parsed.success) return { mapping: parsed.data };
  const errors: Record<string, string> = {};
  for (const issue of parsed.error.issues) {
    const field = fieldOfIssue(issue.path);
    if (field in errors) continue;
    const typed = body[field];
    const blank = typeof typed !== 'string' || typed.trim() === '';
    errors[field] = issue.path[0] === 'columns' && blank && COLUMN_REQUIRED[field] ? COLUMN_REQUIRED[field] : issue.message;
  }
  return { errors };
}

/** The carrier form: settings, tolerances, how billing data arrives (and a mapped CSV's mapping), the allow-list and the time the file is due. */
export const carrierFields = z
  .object({
    name: requiredText('Name', 200),
    currency: currencyField,
    time_zone: timeZoneField,
    cost_plan_id: optionalId('Choose one of the operator’s rate plans'),
    start_tolerance_seconds: seconds('Start time tolerance'),
    duration_tolerance_seconds: seconds('Duration tolerance'),
    cost_tolerance: costTolerance,
    data_format: z.enum(CARRIER_FORMATS, { error: 'Choose how the carrier sends its billing data' }),
    allowed_sources: cidrList,
    file_due_at: timeOfDay,
    file_due_zone: timeZoneField,
  })
  .passthrough()
  .transform((v, ctx) => {
    const { name, currency, time_zone, cost_plan_id, start_tolerance_seconds, duration_tolerance_seconds, cost_tolerance, data_format, allowed_sources, file_due_at, file_due_zone } = v;
    let mapping: CarrierMapping | null = null;
    if (data_format === 'carrier-mapped-csv') {
      const parsed = mappingFromForm(v as Record<string, unknown>, currency);
      if ('errors' in parsed) {
        for (const [field, message] of Object.entries(parsed.errors)) ctx.addIssue({ code: 'custom', path: [field], message });
        return z.NEVER;
      }
      mapping = parsed.mapping;
    }
    return { name, currency, time_zone, cost_plan_id, start_tolerance_seconds, duration_tolerance_seconds, cost_tolerance, data_format, csv_mapping: mapping, allowed_sources, file_due_at, file_due_zone };
  });
export type CarrierInput = z.output<typeof carrierFields>;

export const carrierListQuery = z.object({
  q: z.string().trim().max(100).optional().catch(undefined),
  status: z.enum(['active', 'inactive']).optional().catch(undefined),
  sort: z.string().trim().max(40).regex(/^[a-z_]+$/).optional().catch(undefined),
  dir: z.enum(['asc', 'desc']).optional().catch(undefined),
  cursor: z.string().max(1000).optional().catch(undefined),
});
