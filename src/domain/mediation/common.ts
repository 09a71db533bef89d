/**
 * Small pure helpers shared by the mediation adapters: errors, numbers, times, hashing, CSV and
 * JSON reading. Nothing here does I/O or reads the clock.
 */
import { parse as parseCsvSync } from 'csv-parse/sync';
import type { AdapterContext, NormalisedLeg, RecordOutcome } from '../legs/leg';
import { normaliseE164 } from '../numbers/e164';
import { isValidTimeZone } from '../rating/zoned-time';
import { dateTimeProblem, fieldsMs } from '../time/date-time';
import { readZonedWallTime } from '../time/zones';

/**
 * The whole body could not be read (not-well-formed XML, invalid JSON, broken CSV quoting, a
 * missing header column): nothing in it can be trusted, so no record is produced. `line` and
 * `column` are 1-based and set when the parser says where it stopped.
 */
export class MediationError extends Error {
  constructor(
    message: string,
    public readonly line?: number,
    public readonly column?: number,
  ) {
    super(message);
    this.name = 'MediationError';
  }
}

/** A record-level refusal; adapters catch it and turn it into `{ ok: false, error }`. */
export class RecordError extends Error {}

export function fail(message: string): never {
  throw new RecordError(message);
}

/**
 * Runs one record's mapping; a RecordError (or any other error) becomes that record's refusal,
 * its message prefixed with `where` ("line 4") when given. A MediationError still aborts the body.
 */
export function outcome(index: number, raw: string, build: () => NormalisedLeg[], where?: string): RecordOutcome {
  try {
    const legs = build();
    for (const leg of legs) checkPlausible(leg);
    return { ok: true, index, raw, legs };
  } catch (err) {
    if (err instanceof MediationError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, index, raw, error: where ? `${where}: ${message}` : message };
  }
}

/**
 * The longest leg we bill: a week. Anything longer is a switch's clock or counter gone wrong (an end
 * a century after the start, a billsec of billions), and storing it would bill nonsense or fail in
 * the database; it is refused like any unreadable record and kept in the rejects.
 */
export const MAX_LEG_SECONDS = 7 * 86_400;

function checkPlausible(leg: NormalisedLeg): void {
  if (leg.billableSeconds > MAX_LEG_SECONDS) {
    fail(`leg ${leg.legKey} lasts ${leg.billableSeconds} s, more than a call can (${MAX_LEG_SECONDS} s, 7 days): check the switch's clock or duration fields`);
  }
}

// ---------------------------------------------------------------------------------------------
// Numbers

export interface Party {
  raw: string;
  e164: string | null;
}

/** Keeps the raw value; E.164 when `normaliseE164` accepts it with the platform's country code. */
export function party(raw: string | null | undefined, ctx: AdapterContext): Party {
  const value = (raw ?? '').trim();
  if (value === '') return { raw: '', e164: null };
  const n = normaliseE164(value, ctx.countryCode);
  return { raw: value, e164: n.ok ? n.number : null };
}

// ---------------------------------------------------------------------------------------------
// Times

export function assertTimeZone(ctx: AdapterContext): void {
  if (!isValidTimeZone(ctx.timeZone)) {
    throw new MediationError(`the platform's time zone "${ctx.timeZone}" is not a valid IANA time zone`);
  }
}

/**
 * Wall-clock date and time without a zone, as Asterisk, Kamailio and FreeSWITCH *_stamp write
 * them ("2024-03-31 02:30:00", optional ".fff"), read in `timeZone` (DST-correct). Null when the
 * text is not such a time.
 */
export function parseLocalDateTime(text: string, timeZone: string): number | null {
  const at = readZonedWallTime(text, timeZone, { seconds: 'required' });
  return at.ok ? at.ms : null;
}

/**
 * `YYYYMMDDhhmmss[.mmm]` in UTC (BroadWorks). Null when malformed.
 */
export function parseCompactUtc(text: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,9}))?$/.exec(text.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (dateTimeProblem(y, mo, d, h, mi, s)) return null;
  return fieldsMs(y, mo, d, h, mi, s, m[7]);
}

// ISO 8601 instants with their offset: the one date rule of src/domain/time.
export { parseIsoInstant, readIsoInstant } from '../time/date-time';

/** Whole seconds, rounded up: 8.02 s of talk is 9 billable seconds. */
export function ceilSeconds(ms: number): number {
  return ms <= 0 ? 0 : Math.ceil(ms / 1000 - 1e-9);
}

/** A non-negative integer written as digits; null otherwise. */
export function parseCount(text: string | undefined): number | null {
  if (text === undefined) return null;
  const t = text.trim();
  if (!/^\d+$/.test(t)) return null;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : null;
}

// ---------------------------------------------------------------------------------------------
// Hashing

const FNV64_OFFSET = 0xcbf29ce484222325n;
const FNV64_PRIME = 0x100000001b3n;
const MASK64 = 0xffffffffffffffffn;
const utf8 = new TextEncoder();

/**
 * FNV-1a, 64 bits, over the UTF-8 bytes of `text`, as 16 hex digits. 64 rather than 32 bits: a
 * platform posts millions of rows and a 32-bit key would collide (and drop a leg as a "re-post")
 * after some tens of thousands.
 */
export function fnv1a64(text: string): string {
  let h = FNV64_OFFSET;
  for (const byte of utf8.encode(text)) {
    h ^= BigInt(byte);
    h = (h * FNV64_PRIME) & MASK64;
  }
  return h.toString(16).padStart(16, '0');
}

// ---------------------------------------------------------------------------------------------
// Text decoding

/** URL-decodes a FreeSWITCH value (encode-values=true); text that is not valid %-encoding is kept. */
export function urlDecode(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function lineColumnAt(text: string, position: number): { line: number; column: number } {
  let line = 1;
  let lastBreak = -1;
  for (let i = 0; i < position && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lastBreak = i;
    }
  }
  return { line, column: position - lastBreak };
}

/** No call record nests deeper; a body that does is refused before anything walks it. */
export const MAX_JSON_DEPTH = 32;

/** Where `text` (JSON) first nests deeper than `max` arrays and objects, or -1 (strings skipped). */
export function jsonTooDeepAt(text: string, max = MAX_JSON_DEPTH): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: the next character is escaped
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > max) return i;
    } else if (c === 93 || c === 125) depth--;
  }
  return -1;
}

/** JSON.parse with a MediationError naming the line and column where the parser stopped. */
export function parseJsonBody(text: string, what: string): unknown {
  const body = text.replace(/^\uFEFF/, '');
  if (body.trim() === '') throw new MediationError(`${what}: the body is empty`);
  const deep = jsonTooDeepAt(body);
  if (deep >= 0) {
    const { line, column } = lineColumnAt(body, deep);
    throw new MediationError(`${what}: nested deeper than ${MAX_JSON_DEPTH} levels at line ${line}, column ${column}: no call record is`, line, column);
  }
  try {
    return JSON.parse(body) as unknown;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const lc = /\(line (\d+) column (\d+)\)/.exec(message);
    if (lc) throw new MediationError(`${what}: not valid JSON at line ${lc[1]}, column ${lc[2]}: ${message}`, Number(lc[1]), Number(lc[2]));
    const pos = /at position (\d+)/.exec(message);
    if (pos) {
      const { line, column } = lineColumnAt(body, Number(pos[1]));
      throw new MediationError(`${what}: not valid JSON at line ${line}, column ${column}: ${message}`, line, column);
    }
    const { line, column } = lineColumnAt(body, body.length);
    throw new MediationError(`${what}: not valid JSON (${message}) at line ${line}, column ${column}`, line, column);
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isFormContentType(contentType: string | undefined): boolean {
  return !!contentType && /application\/x-www-form-urlencoded/i.test(contentType);
}

export function isJsonContentType(contentType: string | undefined): boolean {
  return !!contentType && /[/+]json\b/i.test(contentType);
}

export function isCsvContentType(contentType: string | undefined): boolean {
  return !!contentType && /\b(text\/csv|application\/csv|text\/plain)\b/i.test(contentType);
}

/** First non-blank character is `[` or `{`. */
export function looksLikeJson(body: string): boolean {
  return /^[\s\uFEFF]*[[{]/.test(body);
}

// ---------------------------------------------------------------------------------------------
// CSV

export interface CsvRow {
  fields: string[];
  /** The record's text as sent, without its line break. */
  raw: string;
  /** 1-based line where the record starts. */
  line: number;
}

/**
 * RFC 4180 CSV (csv-parse): quoted fields, doubled quotes, empty unquoted fields. Blank lines are
 * skipped; rows may have different lengths (the adapter decides). Broken quoting throws a
 * MediationError with its line.
 */
export function readCsvRows(text: string, what: string): CsvRow[] {
  const body = text.replace(/^\uFEFF/, '');
  let parsed: Array<{ record: string[]; raw: string; info: { lines: number } }>;
  try {
    parsed = parseCsvSync(body, { raw: true, info: true, relax_column_count: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n', '\r'] }) as unknown as typeof parsed;
  } catch (err) {
    const e = err as { message?: string; lines?: number; column?: number | string };
    const line = typeof e.lines === 'number' ? e.lines : undefined;
    throw new MediationError(`${what}: not valid CSV${line ? ` at line ${line}` : ''}: ${e.message ?? String(err)}`, line);
  }
  return parsed.map((p) => {
    const raw = p.raw.replace(/^[\r\n]+/, '').replace(/(?:\r\n|\n|\r)$/, '');
    const breaks = (raw.match(/\r\n|\n|\r/g) ?? []).length;
    return { fields: p.record, raw, line: p.info.lines - breaks };
  });
}

export interface CsvHeaderRow {
  values: Record<string, string>;
  raw: string;
  line: number;
  /** Set when the row has non-empty cells beyond the header's columns. */
  extraCells: number;
}

/** Header row -> lower-case names; rows -> objects. Empty or duplicate names are refused. */
export function csvWithHeader(text: string, what: string): { header: string[]; headerLine: number; rows: CsvHeaderRow[] } {
  const rows = readCsvRows(text, what);
  const first = rows[0];
  if (!first) throw new MediationError(`${what}: the body is empty (a header row is expected)`);
  const header = first.fields.map((h) => h.trim().toLowerCase());
  header.forEach((h, i) => {
    if (h === '') throw new MediationError(`${what}: header column ${i + 1} has no name`, first.line, i + 1);
    const j = header.indexOf(h);
    if (j !== i) throw new MediationError(`${what}: header column "${h}" appears twice (columns ${j + 1} and ${i + 1})`, first.line, i + 1);
  });
  return {
    header,
    headerLine: first.line,
    rows: rows.slice(1).map((r) => {
      const values: Record<string, string> = {};
      header.forEach((h, i) => {
        values[h] = r.fields[i] ?? '';
      });
      const extraCells = r.fields.slice(header.length).filter((f) => f.trim() !== '').length;
      return { values, raw: r.raw, line: r.line, extraCells };
    }),
  };
}

/** Text of a JSON scalar as a string ('' for null/undefined); objects and arrays are refused. */
export function scalarText(value: unknown, field: string): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return fail(`${field} must be a string or a number, not ${Array.isArray(value) ? 'an array' : 'an object'}`);
}
