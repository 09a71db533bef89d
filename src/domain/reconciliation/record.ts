/**
 * A carrier's billing record in our local, normalised form (issue 13, "Carrier billing data in"),
 * whatever format it arrived in, and the pure readers of its values. Money stays text (exact
 * decimals, read and compared with the domain's Decimal); never a JavaScript number.
 */
import { normaliseE164 } from '../numbers/e164';

export interface CarrierRecord {
  /** 1-based line of the file (or stream chunk) where the record starts. */
  line: number;
  /** The carrier's own id for the record, when its format has one. */
  carrierRecordId: string | null;
  /** E.164 with '+', or null when the carrier gave none (or none we could read). */
  calling: string | null;
  /** E.164 with '+'. */
  called: string;
  startUtc: Date;
  /** Whole seconds the carrier billed. */
  secondsBilled: number;
  /** The carrier's cost of the call: exact decimal text ("0.0123"), never a number. */
  cost: string;
  /** ISO 4217. */
  currency: string;
  /** The per-minute rate the carrier applied, when its format says; exact decimal text. */
  rate: string | null;
  /** The row as received: the CSV record's text, or the JSON line. */
  raw: string;
}

export interface BadRow {
  line: number;
  reason: string;
  raw: string;
}

/** A row that is no bill (an unanswered attempt the carrier lists at no cost): neither stored nor an error. */
export interface SkippedRow {
  line: number;
  reason: string;
}

/** Good rows are kept even when others are bad. */
export interface CarrierParseResult {
  records: CarrierRecord[];
  badRows: BadRow[];
  skipped: SkippedRow[];
}

/** One row of a file as read: a record, a bad row or a row that is no bill. */
export type CarrierRow = { kind: 'record'; record: CarrierRecord } | { kind: 'bad'; row: BadRow } | { kind: 'skipped'; row: SkippedRow };

/**
 * The rows of a file gathered in batches of at most `size` records and bad rows together (a file of
 * nothing but bad rows is cut into batches too). File errors (the header) surface at the first batch.
 */
export function* carrierBatches(rows: Iterable<CarrierRow>, size: number): Generator<CarrierParseResult, void, undefined> {
  let batch: CarrierParseResult = { records: [], badRows: [], skipped: [] };
  for (const r of rows) {
    if (r.kind === 'record') batch.records.push(r.record);
    else if (r.kind === 'bad') batch.badRows.push(r.row);
    else batch.skipped.push(r.row);
    if (batch.records.length + batch.badRows.length >= size) {
      yield batch;
      batch = { records: [], badRows: [], skipped: [] };
    }
  }
  if (batch.records.length || batch.badRows.length || batch.skipped.length) yield batch;
}

/** All the rows of a file at once (the whole-file readers, the preview, the tests). */
export function collectCarrierRows(rows: Iterable<CarrierRow>): CarrierParseResult {
  const out: CarrierParseResult = { records: [], badRows: [], skipped: [] };
  for (const r of rows) {
    if (r.kind === 'record') out.records.push(r.record);
    else if (r.kind === 'bad') out.badRows.push(r.row);
    else out.skipped.push(r.row);
  }
  return out;
}

/**
 * The file as a whole cannot be read (no header row, a required column missing, an invalid
 * mapping): no row of it can be trusted. `line` is set when the problem has one.
 */
export class CarrierFileError extends Error {
  constructor(
    message: string,
    public readonly line?: number,
  ) {
    super(message);
    this.name = 'CarrierFileError';
  }
}

/** One field's refusal; the row is bad and its reason names every refused field. */
export class FieldProblem extends Error {
  constructor(
    public readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** A cell that nobody filled: an empty string or only spaces. */
export const blank = (v: string | null | undefined): boolean => v === null || v === undefined || v.trim() === '';

const PLAIN_DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/**
 * An amount or a rate as exact text. `separator` is the decimal mark the file uses; no thousands
 * separators, no currency signs (a cell "$1.20" or "1,234.50" is refused rather than guessed).
 */
export function readAmount(text: string, field: string, opts: { separator?: '.' | ','; allowNegative?: boolean } = {}): string {
  const t = text.trim();
  if (t === '') throw new FieldProblem(field, `${field} is blank`);
  const sep = opts.separator ?? '.';
  const other = sep === '.' ? ',' : '.';
  if (t.includes(other)) throw new FieldProblem(field, `${field} "${t}" is not a number with "${sep}" as the decimal mark (no thousands separators)`);
  const normal = sep === ',' ? t.replace(',', '.') : t;
  if (!PLAIN_DECIMAL.test(normal)) throw new FieldProblem(field, `${field} "${t}" is not a number`);
  const value = canonicalDecimal(normal);
  if (value.startsWith('-') && !opts.allowNegative) throw new FieldProblem(field, `${field} "${t}" is negative`);
  return value;
}

/**
 * A plain decimal ("+007.50", ".5", "-0.000") in one canonical, exact text ("7.5", "0.5", "0"),
 * the same as Decimal's toFixed() gives, by string work alone: a million-row file reads faster
 * without a Decimal per cell.
 */
export function canonicalDecimal(plain: string): string {
  let negative = false;
  let t = plain;
  if (t[0] === '+' || t[0] === '-') {
    negative = t[0] === '-';
    t = t.slice(1);
  }
  const dot = t.indexOf('.');
  let whole = dot < 0 ? t : t.slice(0, dot);
  let frac = dot < 0 ? '' : t.slice(dot + 1);
  whole = whole.replace(/^0+/, '') || '0';
  frac = frac.replace(/0+$/, '');
  const out = frac ? `${whole}.${frac}` : whole;
  return negative && out !== '0' ? `-${out}` : out;
}

/** Whole seconds written as digits. */
export function readWholeSeconds(text: string, field: string): number {
  const t = text.trim();
  if (t === '') throw new FieldProblem(field, `${field} is blank`);
  if (/^-\s*\d/.test(t)) throw new FieldProblem(field, `${field} "${t}" is negative`);
  if (/^\+?\d+\.0*$/.test(t)) return readWholeSeconds(t.replace(/^\+/, '').replace(/\.0*$/, ''), field);
  if (!/^\+?\d+$/.test(t)) throw new FieldProblem(field, `${field} "${t}" is not a whole number of seconds`);
  const n = Number(t.replace(/^\+/, ''));
  if (!Number.isSafeInteger(n)) throw new FieldProblem(field, `${field} "${t}" is too large`);
  return n;
}

/** The longest call a carrier may bill for: a week (the intake's own limit for a leg). */
export const MAX_BILLED_SECONDS = 7 * 86_400;

export function checkSeconds(n: number, field: string): number {
  if (n > MAX_BILLED_SECONDS) throw new FieldProblem(field, `${field} ${n} is longer than a call can be (${MAX_BILLED_SECONDS} s, 7 days)`);
  return n;
}

/** An ISO 4217 code (three letters, any case). */
export function readCurrency(text: string, field = 'currency'): string {
  const t = text.trim().toUpperCase();
  if (t === '') throw new FieldProblem(field, `${field} is blank`);
  if (!/^[A-Z]{3}$/.test(t)) throw new FieldProblem(field, `${field} "${text.trim()}" is not a three-letter ISO 4217 code`);
  return t;
}

/**
 * A phone number in E.164. `countryCode` (calling code digits, "44") reads national numbers;
 * `internationalDigits` reads a bare digit string as already international (DIDWW writes
 * 441158720600 for +441158720600).
 */
export function readNumber(text: string, field: string, opts: { countryCode?: string; internationalDigits?: boolean } = {}): string {
  const t = text.trim();
  if (t === '') throw new FieldProblem(field, `${field} is blank`);
  const input = opts.internationalDigits && /^[1-9]\d{1,14}$/.test(t) ? `+${t}` : t;
  const n = normaliseE164(input, opts.countryCode);
  if (!n.ok) throw new FieldProblem(field, `${field}: ${n.reason}`);
  return n.number;
}

/** The calling number when it reads as E.164; null when blank or unreadable (it is not what we match on). */
export function readOptionalNumber(text: string | undefined, opts: { countryCode?: string; internationalDigits?: boolean } = {}): string | null {
  if (blank(text)) return null;
  try {
    return readNumber(text as string, 'calling', opts);
  } catch {
    return null;
  }
}

/**
 * Runs each field reader of a row, collecting every refusal, so that a row's reason (and the
 * preview's per-field errors) name all its bad fields at once.
 */
export class FieldCollector {
  readonly problems: FieldProblem[] = [];
  take<T>(field: string, read: () => T): T | undefined {
    try {
      return read();
    } catch (err) {
      if (err instanceof FieldProblem) this.problems.push(err);
      else this.problems.push(new FieldProblem(field, err instanceof Error ? err.message : String(err)));
      return undefined;
    }
  }
  get ok(): boolean {
    return this.problems.length === 0;
  }
  get reason(): string {
    return this.problems.map((p) => p.message).join('; ');
  }
}
