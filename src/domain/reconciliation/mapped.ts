/**
 * `carrier-mapped-csv`: any carrier's CSV, read through a column mapping that a wholesale admin
 * defines on the carrier's page (docs/CARRIER-FORMATS.md, "Mapped CSV"). The mapping is stored as
 * jsonb and checked by `carrierMappingSchema` on every write; `previewMapped` shows the first rows
 * parsed with each field's error, for the page's preview.
 */
import { z } from 'zod';
import { canonicalTimeZone } from '../time/zones';
import { iterDelimited, type DelimitedRow } from './delimited';
import { RecordIds } from './ids';
import {
  blank, CarrierFileError, checkSeconds, collectCarrierRows, FieldCollector, readAmount, readCurrency, readNumber, readOptionalNumber,
  type CarrierParseResult, type CarrierRecord, type CarrierRow,
} from './record';
import { CARRIER_DATE_FORMATS, DURATION_FORMATS, readDuration, readStart } from './times';

export const MAPPING_DELIMITERS = [',', ';', '\t', '|'] as const;

/** A column by its header name (any case) or its 1-based position. */
const columnRef = z.union([
  z.string().trim().min(1, 'A column name cannot be blank').max(100, 'A column name is at most 100 characters'),
  z.number().int('A column number is a whole number').min(1, 'Columns are numbered from 1').max(500, 'At most 500 columns'),
]);
export type ColumnRef = z.infer<typeof columnRef>;

export const carrierMappingSchema = z
  .object({
    version: z.literal(1).default(1),
    delimiter: z.enum(MAPPING_DELIMITERS).default(','),
    /** Lines at the top of the file passed over unread (a title, a banner), before the header row if any. */
    skipLines: z.number().int().min(0).max(100).default(0),
    /** Whether the first line read is a header row (needed to name columns). */
    header: z.boolean().default(true),
    columns: z
      .object({
        called: columnRef,
        start: columnRef,
        duration: columnRef,
        cost: columnRef,
        calling: columnRef.optional(),
        rate: columnRef.optional(),
        recordId: columnRef.optional(),
      })
      .strict(),
    dateFormat: z.enum(CARRIER_DATE_FORMATS).default('YYYY-MM-DD HH:mm:ss'),
    /** The zone the file's wall times are in (IANA); times with an offset or epochs ignore it. */
    timeZone: z
      .string()
      .trim()
      .default('UTC')
      .transform((v, ctx) => {
        const zone = canonicalTimeZone(v);
        if (zone) return zone;
        ctx.addIssue({ code: 'custom', message: 'Unknown time zone: use an IANA name such as America/New_York, Europe/London or UTC' });
        return z.NEVER;
      }),
    durationFormat: z.enum(DURATION_FORMATS).default('seconds'),
    /** One currency for the whole file, or the column that names each row's. */
    currency: z.union([
      z.object({ fixed: z.string().trim().toUpperCase().regex(/^[A-Z]{3}$/, 'Currency must be a three-letter ISO 4217 code') }).strict(),
      z.object({ column: columnRef }).strict(),
    ]),
    decimalSeparator: z.enum(['.', ',']).default('.'),
    /** Calling code (digits, "44") for national numbers; without it a number must be international. */
    countryCode: z
      .string()
      .trim()
      .regex(/^[1-9]\d{0,2}$/, 'A country calling code is 1 to 3 digits, such as 1, 44 or 353')
      .optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.header) return;
    const named = [...Object.entries(m.columns), ...('column' in m.currency ? [['currency', m.currency.column] as const] : [])].filter(([, ref]) => typeof ref === 'string');
    for (const [field] of named) ctx.addIssue({ code: 'custom', path: field === 'currency' ? ['currency', 'column'] : ['columns', field], message: 'A column can be named only when the file has a header row: give its number instead' });
  });

export type CarrierMapping = z.output<typeof carrierMappingSchema>;
export type CarrierMappingInput = z.input<typeof carrierMappingSchema>;

export const MAPPED_FIELDS = ['recordId', 'calling', 'called', 'start', 'duration', 'cost', 'currency', 'rate'] as const;
export type MappedField = (typeof MAPPED_FIELDS)[number];

interface Layout {
  header: string[] | null;
  headerLine: number | null;
  /** 0-based cell index of each mapped field. */
  index: Partial<Record<MappedField, number>>;
  /** The data rows (after the header), read as they are taken. */
  rows: Iterator<DelimitedRow, void, undefined>;
}

/** Reads the header (if any) and finds each mapped column; a name not in the header is a file error. */
function layoutOf(text: string, m: CarrierMapping): Layout {
  const rows = iterDelimited(text, m.delimiter, m.skipLines);
  const refs: Partial<Record<MappedField, ColumnRef>> = { ...m.columns, ...('column' in m.currency ? { currency: m.currency.column } : {}) };
  let header: string[] | null = null;
  let headerLine: number | null = null;
  if (m.header) {
    const head = rows.next();
    const first = head.done ? undefined : head.value;
    if (!first) throw new CarrierFileError('the file has no header row (it is empty after the lines skipped)');
    if (!first.ok) throw new CarrierFileError(`the header row cannot be read: ${first.reason}`, first.line);
    header = first.fields.map((h) => h.trim());
    headerLine = first.line;
  }
  const index: Partial<Record<MappedField, number>> = {};
  for (const field of MAPPED_FIELDS) {
    const ref = refs[field];
    if (ref === undefined) continue;
    if (typeof ref === 'number') {
      index[field] = ref - 1;
      continue;
    }
    const want = ref.trim().toLowerCase();
    const i = (header ?? []).findIndex((h) => h.toLowerCase() === want);
    if (i < 0) throw new CarrierFileError(`the header row has no column "${ref}" (for ${field}); its columns are ${(header ?? []).map((h) => `"${h}"`).join(', ')}`, headerLine ?? undefined);
    index[field] = i;
  }
  return { header, headerLine, index, rows };
}

export interface MappedRow {
  line: number;
  raw: string;
  cells: string[];
  /** Each mapped field's cell as written. */
  values: Partial<Record<MappedField, string>>;
  /** Each refused field's reason; `row` for a record that could not be read at all. */
  errors: Partial<Record<MappedField | 'row', string>>;
  record: CarrierRecord | null;
}

function mapRow(row: DelimitedRow, layout: Layout, m: CarrierMapping, ids: RecordIds): MappedRow {
  if (!row.ok) return { line: row.line, raw: row.raw, cells: [], values: {}, errors: { row: row.reason }, record: null };
  const values: Partial<Record<MappedField, string>> = {};
  const errors: Partial<Record<MappedField | 'row', string>> = {};
  const f = new FieldCollector();
  const cell = (field: MappedField): string | undefined => {
    const i = layout.index[field];
    if (i === undefined) return undefined;
    const v = row.fields[i];
    if (v === undefined) {
      f.take(field, () => {
        throw new Error(`${field}: the row has no column ${i + 1} (it has ${row.fields.length})`);
      });
      return undefined;
    }
    values[field] = v;
    return v;
  };
  const sep = m.decimalSeparator;
  const calledText = cell('called');
  const called = calledText === undefined ? undefined : f.take('called', () => readNumber(calledText, 'called', { countryCode: m.countryCode }));
  const startText = cell('start');
  const start = startText === undefined ? undefined : f.take('start', () => readStart(startText, m.dateFormat, m.timeZone));
  const durationText = cell('duration');
  const seconds = durationText === undefined ? undefined : f.take('duration', () => checkSeconds(readDuration(durationText, m.durationFormat), 'duration'));
  const costText = cell('cost');
  const cost = costText === undefined ? undefined : f.take('cost', () => readAmount(costText, 'cost', { separator: sep }));
  let currency: string | undefined;
  if ('fixed' in m.currency) currency = m.currency.fixed;
  else {
    const c = cell('currency');
    if (c !== undefined) currency = f.take('currency', () => readCurrency(c));
  }
  const rateText = cell('rate');
  const rate = rateText === undefined || blank(rateText) ? null : f.take('rate', () => readAmount(rateText, 'rate', { separator: sep }));
  const idText = cell('recordId');
  const recordId = idText === undefined || blank(idText) ? null : idText.trim();
  if (f.ok && recordId !== null) f.take('recordId', () => ids.check(recordId, row.line));
  for (const p of f.problems) errors[p.field as MappedField] = errors[p.field as MappedField] ? `${errors[p.field as MappedField]}; ${p.message}` : p.message;
  const callingText = cell('calling');
  const record: CarrierRecord | null = f.ok
    ? {
        line: row.line,
        carrierRecordId: recordId,
        calling: readOptionalNumber(callingText, { countryCode: m.countryCode }),
        called: called as string,
        startUtc: new Date(start as number),
        secondsBilled: seconds as number,
        cost: cost as string,
        currency: currency as string,
        rate: rate ?? null,
        raw: row.raw,
      }
    : null;
  return { line: row.line, raw: row.raw, cells: row.fields, values, errors, record };
}

function reasonOf(r: MappedRow): string {
  return MAPPED_FIELDS.map((k) => r.errors[k]).concat(r.errors.row).filter((e): e is string => !!e).join('; ');
}

/** The file read through the mapping: every good row a record, every bad row with its line and reason. */
export function parseMapped(text: string, mapping: CarrierMapping): CarrierParseResult {
  return collectCarrierRows(mappedRows(text, mapping));
}

/** The rows of a mapped CSV one at a time; the header's and the mapping's errors are thrown at the first. */
export function* mappedRows(text: string, mapping: CarrierMapping): Generator<CarrierRow, void, undefined> {
  const layout = layoutOf(text, mapping);
  const ids = new RecordIds();
  for (let it = layout.rows.next(); !it.done; it = layout.rows.next()) {
    const r = mapRow(it.value, layout, mapping, ids);
    if (r.record) yield { kind: 'record', record: r.record };
    else yield { kind: 'bad', row: { line: r.line, reason: reasonOf(r), raw: r.raw } };
  }
}

export interface MappedPreview {
  header: string[] | null;
  /** Set when the file cannot be read with this mapping at all (then `rows` is empty). */
  fileError: string | null;
  rows: MappedRow[];
}

/** The first `n` data rows parsed with the mapping, each field's value and error, for the page. */
export function previewMapped(text: string, mapping: CarrierMapping, n: number): MappedPreview {
  let layout: Layout;
  try {
    layout = layoutOf(text, mapping);
  } catch (err) {
    if (err instanceof CarrierFileError) return { header: null, fileError: err.message, rows: [] };
    throw err;
  }
  const ids = new RecordIds();
  const rows: MappedRow[] = [];
  while (rows.length < n) {
    const it = layout.rows.next();
    if (it.done) break;
    rows.push(mapRow(it.value, layout, mapping, ids));
  }
  return { header: layout.header, fileError: null, rows };
}
