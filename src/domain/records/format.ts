/**
 * Writing a record file: a header and one line per leg, each line formatted on its own, so that a
 * file of any size streams from a database cursor with constant memory (the posting work feeds
 * `formatLeg` row by row; the preview feeds it 20). Pure: text in, text and bytes out.
 *
 * The rules (docs/RECORD-FORMATS.md):
 * - money: the stored decimal text, rounded half-up to `decimalPlaces` with decimal.js, never a JS
 *   number; exchange rates are written exactly, trailing zeros dropped; the decimal separator
 *   applies to both;
 * - quoting `minimal`: a value is quoted when it holds the delimiter, a double quote, CR or LF;
 *   `all`: every value; inside quotes a double quote is doubled (RFC 4180). `none`: nothing is
 *   quoted and a backslash escapes a backslash, the delimiter, LF (`\n`) and CR (`\r`);
 * - fixed width: no delimiter, each value padded to its width; CR, LF and tab in a value become a
 *   space; a text value (or a mapped value, or a constant) longer than its width is cut to it; a
 *   number, amount or date longer than its width is never cut (a cut amount is a wrong amount):
 *   the line is refused with a FieldOverflowError naming the field and the leg;
 * - characters the charset cannot hold: charset.ts (before widths and quoting).
 */
import { csvCell } from '../csv-cell';
import { Decimal } from '../money/decimal';
import { catalogueField, LITERAL_FIELD, type FieldType, type FieldValue, type LegRecord } from './catalogue';
import { encodeText, fitCharset, UTF8_BOM } from './charset';
import { formatInstant } from './instants';
import type { RecordFilter, RecordSpec, SpecField } from './spec';

export class FieldOverflowError extends Error {
  constructor(readonly field: string, readonly legId: number, readonly text: string, readonly width: number) {
    super(`${field} of leg ${legId} is ${[...text].length} characters ("${text}"), wider than its column (${width}); widen the column`);
    this.name = 'FieldOverflowError';
  }
}

interface CompiledColumn {
  field: string;
  name: string;
  type: FieldType;
  get: (leg: LegRecord) => FieldValue;
  map?: Record<string, string>;
  width?: number;
  align: 'left' | 'right';
  pad: string;
}

/** A spec made ready to write many lines: columns resolved once. Build with compileSpec. */
export interface CompiledSpec {
  spec: RecordSpec;
  columns: CompiledColumn[];
  eol: string;
}

const NUMERIC: ReadonlySet<FieldType> = new Set(['integer', 'money', 'rate']);

export function compileSpec(spec: RecordSpec): CompiledSpec {
  const columns = spec.fields.map((x: SpecField): CompiledColumn => {
    if (x.field === LITERAL_FIELD) {
      const text = x.value ?? '';
      return { field: x.field, name: x.name, type: 'text', get: () => text, map: x.map, width: x.width, align: x.align ?? 'left', pad: x.pad ?? ' ' };
    }
    const def = catalogueField(x.field);
    if (!def) throw new Error(`unknown record field ${x.field}`);
    return { field: x.field, name: x.name, type: def.type, get: def.get, map: x.map, width: x.width, align: x.align ?? (NUMERIC.has(def.type) ? 'right' : 'left'), pad: x.pad ?? ' ' };
  });
  return { spec, columns, eol: spec.lineEnding === 'CRLF' ? '\r\n' : '\n' };
}

/** Whether a leg belongs in files of this filter. */
export function legPasses(filter: RecordFilter, leg: Pick<LegRecord, 'direction' | 'status' | 'answered'>): boolean {
  if (filter.directions.length && !(filter.directions as readonly string[]).includes(leg.direction ?? '')) return false;
  if (filter.statuses.length && !(filter.statuses as readonly string[]).includes(leg.status)) return false;
  if (filter.answeredOnly && !leg.answered) return false;
  return true;
}

const PLAIN_AMOUNT = /^(0|[1-9]\d*)(?:\.(\d+))?$/;

/**
 * A non-negative amount in plain notation rounded half-up by its digits: what
 * Decimal#toFixed(places, ROUND_HALF_UP) writes (test/unit/record-format.test.ts compares them),
 * without a Decimal per amount (a file of a million legs formats millions of amounts).
 * Undefined for anything else (signs, exponents): those go through Decimal.
 */
function roundPlain(stored: string, places: number): string | undefined {
  const m = PLAIN_AMOUNT.exec(stored);
  if (!m) return undefined;
  const int = m[1] as string;
  const frac = m[2] ?? '';
  if (frac.length <= places) return places ? `${int}.${frac.padEnd(places, '0')}` : int;
  let digits = int + frac.slice(0, places);
  if ((frac.charCodeAt(places) as number) >= 53 /* '5' */) {
    // Add one unit of the last kept place, carrying leftwards.
    let i = digits.length - 1;
    while (i >= 0 && digits[i] === '9') i--;
    digits = i < 0 ? `1${'0'.repeat(digits.length)}` : digits.slice(0, i) + String.fromCharCode(digits.charCodeAt(i) + 1) + '0'.repeat(digits.length - i - 1);
  }
  const cut = digits.length - places;
  return places ? `${digits.slice(0, cut)}.${digits.slice(cut)}` : digits;
}

/** An amount as stored ("0.0276000000"), rounded half-up to `places`, with the separator. */
export function formatMoney(stored: string, places: number, separator: '.' | ','): string {
  const text = roundPlain(stored, places) ?? new Decimal(stored).toFixed(places, Decimal.ROUND_HALF_UP);
  return separator === '.' ? text : text.replace('.', ',');
}

/** An exchange rate exactly, trailing zeros dropped ("1.250000000000" -> "1.25", "1.000" -> "1"). */
export function formatRate(stored: string, separator: '.' | ','): string {
  // Plain non-negative rates (every stored one) by their digits, as Decimal#toFixed() writes them.
  const m = PLAIN_AMOUNT.exec(stored);
  const frac = m ? (m[2] ?? '').replace(/0+$/, '') : '';
  const text = m ? (frac ? `${m[1]}.${frac}` : (m[1] as string)) : new Decimal(stored).toFixed();
  return separator === '.' ? text : text.replace('.', ',');
}

/** A value as text, before quoting or padding; `mapped` when a map changed it (then it counts as text). */
function valueText(c: CompiledColumn, value: FieldValue, spec: RecordSpec): { text: string; type: FieldType } {
  let text: string;
  if (value === null || value === undefined) text = '';
  else if (c.type === 'money') text = formatMoney(String(value), spec.decimalPlaces, spec.decimalSeparator);
  else if (c.type === 'rate') text = formatRate(String(value), spec.decimalSeparator);
  else if (c.type === 'datetime') text = formatInstant(Number(value), spec.dateFormat, spec.timeZone);
  else text = String(value);
  if (c.map && Object.hasOwn(c.map, text)) return { text: c.map[text] as string, type: 'text' };
  return { text, type: c.type };
}

function quoteDelimited(text: string, spec: RecordSpec): string {
  if (spec.quoting === 'none') {
    let out = '';
    for (const ch of text) {
      if (ch === '\\') out += '\\\\';
      else if (ch === spec.delimiter) out += `\\${ch}`;
      else if (ch === '\n') out += '\\n';
      else if (ch === '\r') out += '\\r';
      else out += ch;
    }
    return out;
  }
  const needs = spec.quoting === 'all' || text.includes(spec.delimiter) || text.includes('"') || text.includes('\n') || text.includes('\r');
  return needs ? `"${text.replace(/"/g, '""')}"` : text;
}

function fitWidth(text: string, c: CompiledColumn, type: FieldType, legId: number | null): string {
  const width = c.width as number;
  const flat = text.replace(/[\r\n\t]/g, ' ');
  const chars = [...flat];
  if (chars.length > width) {
    if (type !== 'text' && legId !== null) throw new FieldOverflowError(c.field === LITERAL_FIELD ? c.name : c.field, legId, flat, width);
    return chars.slice(0, width).join('');
  }
  const padding = c.pad.repeat(width - chars.length);
  return c.align === 'right' ? padding + flat : flat + padding;
}

function line(cells: string[], compiled: CompiledSpec): string {
  const { spec } = compiled;
  return (spec.layout === 'fixed' ? cells.join('') : cells.join(spec.delimiter)) + compiled.eol;
}

function cell(c: CompiledColumn, text: string, type: FieldType, compiled: CompiledSpec, legId: number | null): string {
  const { spec } = compiled;
  let t = fitCharset(text, spec.charset);
  if (spec.formulaGuard && type === 'text') t = csvCell(t);
  return spec.layout === 'fixed' ? fitWidth(t, c, type, legId) : quoteDelimited(t, spec);
}

/** The header line (with its line ending), or null when the spec has none. */
export function headerLine(compiled: CompiledSpec): string | null {
  if (!compiled.spec.header) return null;
  return line(compiled.columns.map((c) => cell(c, c.name, 'text', compiled, null)), compiled);
}

/** The line (with its line ending) of one leg, or null when the spec's filter leaves the leg out. */
export function formatLeg(compiled: CompiledSpec, leg: LegRecord): string | null {
  if (!legPasses(compiled.spec.filter, leg)) return null;
  return line(compiled.columns.map((c) => {
    const v = valueText(c, c.get(leg), compiled.spec);
    return cell(c, v.text, v.type, compiled, leg.id);
  }), compiled);
}

/** Bytes the file starts with: the UTF-8 byte order mark when asked for, then the header. */
export function fileStart(compiled: CompiledSpec): Buffer {
  const header = headerLine(compiled);
  const parts: Buffer[] = [];
  if (compiled.spec.bom && compiled.spec.charset === 'UTF-8') parts.push(UTF8_BOM);
  if (header !== null) parts.push(encodeText(header, compiled.spec.charset));
  return Buffer.concat(parts);
}

/** A line's bytes in the spec's charset. */
export function encodeLine(compiled: CompiledSpec, text: string): Buffer {
  return encodeText(text, compiled.spec.charset);
}

/** A whole file of a few legs in memory (the preview); files of a period stream line by line instead. */
export function formatFile(spec: RecordSpec, legs: Iterable<LegRecord>): { bytes: Buffer; records: number } {
  const compiled = compileSpec(spec);
  const parts = [fileStart(compiled)];
  let records = 0;
  for (const leg of legs) {
    const text = formatLeg(compiled, leg);
    if (text === null) continue;
    parts.push(encodeLine(compiled, text));
    records++;
  }
  return { bytes: Buffer.concat(parts), records };
}

/** The cells of one leg as text (no quoting, padding or charset): the preview table on a page. */
export function previewCells(compiled: CompiledSpec, leg: LegRecord): string[] {
  return compiled.columns.map((c) => valueText(c, c.get(leg), compiled.spec).text);
}
