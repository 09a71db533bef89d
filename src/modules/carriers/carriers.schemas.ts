import { z } from 'zod';
import { currencyField, optionalId, requiredText, timeZoneField } from '../../domain/fields';
import { parseDecimal } from '../../domain/money/decimal';
import { cidrList } from '../platforms/platforms.schemas';
import { CARRIER_DATA_FORMATS, csvMapping, type CsvMapping } from '../../domain/reconciliation/carrier-data-format';

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

/** A column of the mapped CSV as typed: a 1-based position ("3") or a header name ("Destination"); blank: none. */
const columnText = (v: unknown): number | string | null => {
  const s = typeof v === 'string' ? v.trim() : '';
  if (s === '') return null;
  return /^\d{1,4}$/.test(s) ? Number(s) : s;
};

/** The mapping fields of the form (map_*), as the stored JSON; checked by the domain's csvMapping. */
export const MAPPING_FIELDS = ['called', 'calling', 'start', 'duration', 'cost', 'rate', 'record_id', 'time_format', 'time_zone', 'currency', 'header_lines', 'delimiter'] as const;

function mappingOf(body: Record<string, unknown>): unknown {
  const text = (k: string) => (typeof body[`map_${k}`] === 'string' ? (body[`map_${k}`] as string).trim() : '');
  const headerLines = text('header_lines');
  const delimiter = typeof body.map_delimiter === 'string' && body.map_delimiter === 'tab' ? '\t' : text('delimiter') || ',';
  return {
    called: columnText(body.map_called) ?? undefined,
    calling: columnText(body.map_calling),
    start: columnText(body.map_start) ?? undefined,
    duration: columnText(body.map_duration) ?? undefined,
    cost: columnText(body.map_cost) ?? undefined,
    rate: columnText(body.map_rate),
    record_id: columnText(body.map_record_id),
    time_format: text('time_format') || undefined,
    time_zone: text('time_zone') || undefined,
    currency: text('currency') || null,
    header_lines: /^\d{1,3}$/.test(headerLines) ? Number(headerLines) : headerLines === '' ? 0 : -1,
    delimiter,
  };
}

const MAPPING_REQUIRED: Record<string, string> = {
  called: 'Which column holds the called number',
  start: 'Which column holds the start time',
  duration: 'Which column holds the seconds billed',
  cost: 'Which column holds the cost',
  time_format: 'How the start time is written',
  time_zone: 'The zone of times written without an offset',
};

/** The carrier form: settings, tolerances, how billing data arrives, the allow-list and the time the file is due. */
export const carrierFields = z
  .object({
    name: requiredText('Name', 200),
    currency: currencyField,
    time_zone: timeZoneField,
    cost_plan_id: optionalId('Choose one of the operator’s rate plans'),
    start_tolerance_seconds: seconds('Start time tolerance'),
    duration_tolerance_seconds: seconds('Duration tolerance'),
    cost_tolerance: costTolerance,
    data_format: z.enum(CARRIER_DATA_FORMATS, { error: 'Choose how the carrier sends its billing data' }),
    allowed_sources: cidrList,
    file_due_at: timeOfDay,
    file_due_zone: timeZoneField,
  })
  .passthrough()
  .transform((v, ctx) => {
    const { name, currency, time_zone, cost_plan_id, start_tolerance_seconds, duration_tolerance_seconds, cost_tolerance, data_format, allowed_sources, file_due_at, file_due_zone } = v;
    let mapping: CsvMapping | null = null;
    if (data_format === 'mapped-csv') {
      const parsed = csvMapping.safeParse(mappingOf(v as Record<string, unknown>));
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          const field = String(issue.path[0] ?? 'called');
          const message = issue.code === 'invalid_union' || issue.code === 'invalid_type' ? (MAPPING_REQUIRED[field] ?? issue.message) + (field in MAPPING_REQUIRED ? ' is required for a mapped CSV' : '') : issue.message;
          ctx.addIssue({ code: 'custom', path: [`map_${field}`], message: field === 'header_lines' && issue.code !== 'custom' ? 'Header lines: a whole number from 0 to 100' : message });
        }
        return z.NEVER;
      }
      mapping = parsed.data;
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
