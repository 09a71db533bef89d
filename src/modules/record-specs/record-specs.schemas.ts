import { z } from 'zod';
import { requiredText } from '../../domain/fields';
import { DIRECTIONS } from '../../domain/legs/direction';
import { LEG_STATUSES, LITERAL_FIELD, PERIODS, readRecordSpec, type RecordSpec, type RecordSpecInput } from '../../domain/records';
import { FieldErrors } from '../../domain/errors';

/**
 * The specification form: a table of column rows (`f_<row>_field`, `_name`, `_order`, `_width`,
 * `_align`, `_pad`, `_value`, `_map`) and the file's options. Rows without a field are dropped;
 * the rest are ordered by their order number (then their row), so moving a column is changing one
 * number. A form and JSON end in the same RecordSpec, checked by the domain's readRecordSpec.
 */
export const specHeadFields = z.object({
  name: requiredText('Name', 100),
  period: z.enum(PERIODS, { error: 'Choose hourly or daily' }),
  /** A local date (the reseller's zone) the files begin with; blank: every call already stored goes into the first file. */
  posts_from: z
    .string()
    .trim()
    .refine((v) => v === '' || (/^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00Z`))), 'A date (YYYY-MM-DD), or blank for every call already stored')
    .optional()
    .transform((v) => (v ? v : null)),
});

export type SpecHead = z.infer<typeof specHeadFields>;

export interface SpecFormInput extends SpecHead {
  spec: RecordSpec;
}

/** Blank rows the form offers below the spec's columns, for new ones. */
export const SPARE_ROWS = 5;

const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === undefined || v === '' ? [] : [String(v)]);
const on = (v: unknown) => v === 'on' || v === 'true' || v === true;
const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined ? '' : String(v));

/** "answered=ok; busy=busy" as a map, or undefined when blank. */
export function readMap(text: string): Record<string, string> | undefined | { error: string } {
  const t = text.trim();
  if (!t) return undefined;
  const map: Record<string, string> = {};
  for (const pair of t.split(';')) {
    if (!pair.trim()) continue;
    const i = pair.indexOf('=');
    if (i < 1) return { error: `"${pair.trim()}" is not value=text` };
    map[pair.slice(0, i).trim()] = pair.slice(i + 1).trim();
  }
  return map;
}

export const mapText = (map: Record<string, string> | undefined) => (map ? Object.entries(map).map(([k, v]) => `${k}=${v}`).join('; ') : '');

/** The form's body as a spec's input, and which form row each of its columns came from (for errors). */
export function specInputOf(body: Record<string, unknown>): { input: RecordSpecInput; rows: number[]; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const rows: Array<{ row: number; order: number; field: RecordSpecInput['fields'][number] }> = [];
  // Every row the form sent, whatever its numbers (a browser sends blank inputs; a script may not).
  const rowNumbers = Object.keys(body).map((k) => /^f_(\d{1,3})_field$/.exec(k)?.[1]).filter((x): x is string => x !== undefined).map(Number).sort((a, b) => a - b);
  for (const row of rowNumbers) {
    const field = str(body[`f_${row}_field`]).trim();
    if (!field) continue;
    const name = str(body[`f_${row}_name`]).trim();
    const orderText = str(body[`f_${row}_order`]).trim();
    const order = orderText === '' ? row + 1 : Number(orderText);
    if (!Number.isFinite(order)) errors[`f_${row}_order`] = 'The order is a number';
    const widthText = str(body[`f_${row}_width`]).trim();
    const width = widthText === '' ? undefined : Number(widthText);
    if (width !== undefined && !(Number.isInteger(width) && width > 0)) errors[`f_${row}_width`] = 'A width is a whole number of characters';
    const map = readMap(str(body[`f_${row}_map`]));
    if (map && 'error' in map) errors[`f_${row}_map`] = map.error as string;
    const align = str(body[`f_${row}_align`]);
    const pad = str(body[`f_${row}_pad`]);
    rows.push({
      row, order: Number.isFinite(order) ? order : row + 1,
      field: {
        field, name: name || field,
        ...(field === LITERAL_FIELD ? { value: str(body[`f_${row}_value`]) } : {}),
        ...(map && !('error' in map) ? { map: map as Record<string, string> } : {}),
        ...(width !== undefined && Number.isInteger(width) ? { width } : {}),
        ...(align === 'left' || align === 'right' ? { align } : {}),
        ...(pad ? { pad } : {}),
      },
    });
  }
  rows.sort((a, b) => a.order - b.order || a.row - b.row);
  const delimiter = str(body.delimiter) === 'tab' ? '\t' : str(body.delimiter);
  const input = {
    layout: str(body.layout) || 'delimited',
    fields: rows.map((r) => r.field),
    delimiter,
    quoting: str(body.quoting),
    lineEnding: str(body.line_ending),
    header: on(body.header),
    charset: str(body.charset),
    bom: on(body.bom),
    dateFormat: str(body.date_format),
    timeZone: str(body.time_zone).trim(),
    decimalPlaces: Number(str(body.decimal_places)),
    decimalSeparator: str(body.decimal_separator),
    formulaGuard: on(body.formula_guard),
    filter: {
      directions: list(body.directions).filter((d) => (DIRECTIONS as readonly string[]).includes(d)),
      statuses: list(body.statuses).filter((s) => (LEG_STATUSES as readonly string[]).includes(s)),
      answeredOnly: on(body.answered_only),
    },
  } as RecordSpecInput;
  return { input, rows: rows.map((r) => r.row), errors };
}

const OPTION_NAMES: Record<string, string> = {
  layout: 'layout', delimiter: 'delimiter', quoting: 'quoting', lineEnding: 'line_ending', header: 'header', charset: 'charset', bom: 'bom',
  dateFormat: 'date_format', timeZone: 'time_zone', decimalPlaces: 'decimal_places', decimalSeparator: 'decimal_separator', formulaGuard: 'formula_guard',
  'filter.directions': 'directions', 'filter.statuses': 'statuses', fields: 'fields', spec: 'fields',
};

/** The whole form read and checked: head fields, then the spec; a FieldErrors names each form field. */
export function readSpecForm(body: Record<string, unknown>): SpecFormInput {
  const head = specHeadFields.safeParse(body);
  const { input, rows, errors } = specInputOf(body);
  if (!head.success) for (const i of head.error.issues) errors[String(i.path[0])] ??= i.message;
  const spec = readRecordSpec(input);
  if (!spec.ok) {
    for (const [path, message] of Object.entries(spec.errors)) {
      const m = /^fields\.(\d+)\.(\w+)/.exec(path);
      const key = m ? `f_${rows[Number(m[1])]}_${m[2] === 'value' ? 'value' : m[2] === 'field' ? 'field' : m[2]}` : (OPTION_NAMES[path] ?? OPTION_NAMES[path.split('.').slice(0, 2).join('.')] ?? 'fields');
      errors[key] ??= message;
    }
  }
  if (Object.keys(errors).length || !head.success || !spec.ok) throw new FieldErrors(errors);
  return { ...head.data, spec: spec.spec };
}

/** A stored spec as the form's values. */
export function specFormValues(head: { name: string; period: string; postsFrom?: string | null; posts_from?: string | null }, spec: RecordSpec): Record<string, unknown> {
  const v: Record<string, unknown> = {
    name: head.name, period: head.period, posts_from: head.postsFrom ?? head.posts_from ?? '', layout: spec.layout, delimiter: spec.delimiter === '\t' ? 'tab' : spec.delimiter, quoting: spec.quoting,
    line_ending: spec.lineEnding, header: spec.header ? 'on' : '', charset: spec.charset, bom: spec.bom ? 'on' : '', date_format: spec.dateFormat,
    time_zone: spec.timeZone, decimal_places: String(spec.decimalPlaces), decimal_separator: spec.decimalSeparator, formula_guard: spec.formulaGuard ? 'on' : '',
    directions: [...spec.filter.directions], statuses: [...spec.filter.statuses], answered_only: spec.filter.answeredOnly ? 'on' : '',
  };
  spec.fields.forEach((f, i) => {
    v[`f_${i}_field`] = f.field;
    v[`f_${i}_name`] = f.name;
    v[`f_${i}_order`] = String(i + 1);
    v[`f_${i}_width`] = f.width === undefined ? '' : String(f.width);
    v[`f_${i}_align`] = f.align ?? '';
    v[`f_${i}_pad`] = f.pad ?? '';
    v[`f_${i}_value`] = f.value ?? '';
    v[`f_${i}_map`] = mapText(f.map);
  });
  return v;
}

/** How many column rows a form shows for these values: every filled row and the spare ones. */
export function formRows(values: Record<string, unknown>): number {
  let n = 0;
  while (`f_${n}_field` in values) n++;
  return n + SPARE_ROWS;
}
