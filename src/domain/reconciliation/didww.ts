/**
 * DIDWW presets (docs/CARRIER-FORMATS.md, "DIDWW"): the two ways DIDWW gives its Voice OUT
 * (outbound, PSTN termination) call records.
 *
 * - `didww-cdr-out`: the CSV of a `cdr_out` Export (API v3 `POST /v3/exports`, downloaded as
 *   .csv.gz). Columns as DIDWW's API reference lists them for an outbound export ("Get CSV File of
 *   Export", API version 2026-04-16): Date/Time Start (UTC), Date/Time Connect (UTC), Date/Time
 *   End (UTC), Status, Source, CLI, Destination Number, Call Duration (sec), Billing Duration (sec),
 *   Disconnect Code, Disconnect Reason, Voice OUT Trunk, Destination Country, Network, Call Type,
 *   Rate (USD), Charged (USD), ... Columns are found by name, so columns we do not read, and ones
 *   DIDWW adds, do no harm. The older User Panel export named the duration "Duration (secs)" and
 *   the called number "Destination": both are read too.
 * - `didww-cdr-stream`: Voice OUT CDR streaming: DIDWW POSTs gzip-encoded bodies
 *   (Content-Encoding: gzip, Content-Type: text/plain) of JSON objects one per line
 *   ("JSONEachRow"), each `{"type":"outbound-cdr","id":"<uuid>","attributes":{...}}` with
 *   time_start (ISO 8601 with offset), dst_number and src_number (international digits, no '+'),
 *   billing_duration (seconds; null when unanswered), price, rate (per minute), success.
 *   The caller gunzips; this reads the text.
 *
 * DIDWW bills in USD (the export's money columns say so); the stream names no currency, so the
 * carrier's currency is passed in (USD unless the carrier record says otherwise).
 */
import { Decimal } from '../money/decimal';
import { iterDelimited } from './delimited';
import { RecordIds } from './ids';
import {
  blank, CarrierFileError, checkSeconds, collectCarrierRows, FieldCollector, FieldProblem, readAmount, readCurrency, readNumber, readOptionalNumber, readWholeSeconds,
  type CarrierParseResult, type CarrierRow,
} from './record';
import { readStart } from './times';

const INTERNATIONAL = { internationalDigits: true } as const;

// ---------------------------------------------------------------------------------------------
// cdr_out export CSV

/** Header names that may hold each value, in order of preference (lower case). */
const CDR_OUT_COLUMNS = {
  start: ['date/time start (utc)', 'time start (utc)', 'date/time (utc)'],
  called: ['destination number', 'destination'],
  seconds: ['billing duration (sec)', 'billing duration (secs)', 'duration (secs)'],
  calling: ['source', 'cli'],
  recordId: ['call id'],
  status: ['status'],
} as const;
const CHARGED = /^charged \(([a-z]{3})\)$/;
const RATE = /^rate \(([a-z]{3})\)$/;

export function parseDidwwCdrOut(text: string): CarrierParseResult {
  return collectCarrierRows(didwwCdrOutRows(text));
}

/** The rows of a cdr_out export one at a time; the header's errors are thrown at the first. */
export function* didwwCdrOutRows(text: string): Generator<CarrierRow, void, undefined> {
  const rows = iterDelimited(text, ',');
  const head = rows.next();
  const first = head.done ? undefined : head.value;
  if (!first) throw new CarrierFileError('didww-cdr-out: the file is empty (a header row is expected)');
  if (!first.ok) throw new CarrierFileError(`didww-cdr-out: the header row cannot be read: ${first.reason}`, first.line);
  const header = first.fields.map((h) => h.trim().toLowerCase().replace(/\s+/g, ' '));
  const find = (names: readonly string[]): number => {
    for (const n of names) {
      const i = header.indexOf(n);
      if (i >= 0) return i;
    }
    return -1;
  };
  const col = {
    start: find(CDR_OUT_COLUMNS.start),
    called: find(CDR_OUT_COLUMNS.called),
    seconds: find(CDR_OUT_COLUMNS.seconds),
    calling: find(CDR_OUT_COLUMNS.calling),
    recordId: find(CDR_OUT_COLUMNS.recordId),
    charged: header.findIndex((h) => CHARGED.test(h)),
    rate: header.findIndex((h) => RATE.test(h)),
  };
  const missing = (['start', 'called', 'seconds', 'charged'] as const).filter((k) => col[k] < 0);
  if (missing.length) {
    const names = { start: '"Date/Time Start (UTC)"', called: '"Destination Number"', seconds: '"Billing Duration (sec)"', charged: '"Charged (USD)"' };
    throw new CarrierFileError(`didww-cdr-out: the header row has no ${missing.map((k) => names[k]).join(', ')} column: is this a DIDWW outbound (cdr_out) export?`, first.line);
  }
  const currency = (CHARGED.exec(header[col.charged] as string) as RegExpExecArray)[1]!.toUpperCase();

  const ids = new RecordIds();
  for (const row of rows) {
    if (!row.ok) {
      yield { kind: 'bad', row: { line: row.line, reason: row.reason, raw: row.raw } };
      continue;
    }
    const cell = (i: number): string => (i < 0 ? '' : (row.fields[i] ?? ''));
    const f = new FieldCollector();
    const secondsText = cell(col.seconds);
    const charged = f.take('cost', () => readAmount(cell(col.charged), 'Charged'));
    // An attempt that never connected is listed with no billing duration and nothing charged.
    if (charged === '0' && (blank(secondsText) || /^0+$/.test(secondsText.trim()))) {
      yield { kind: 'skipped', row: { line: row.line, reason: 'not billed: no billing duration and nothing charged (an unanswered attempt)' } };
      continue;
    }
    const called = f.take('called', () => readNumber(cell(col.called), 'Destination Number', INTERNATIONAL));
    const start = f.take('start', () => readStart(cell(col.start), 'iso8601', 'UTC', 'Date/Time Start (UTC)'));
    const seconds = f.take('seconds', () => checkSeconds(readWholeSeconds(secondsText, 'Billing Duration (sec)'), 'Billing Duration (sec)'));
    const rate = col.rate < 0 || blank(cell(col.rate)) ? null : f.take('rate', () => readAmount(cell(col.rate), 'Rate'));
    const recordId = blank(cell(col.recordId)) ? null : cell(col.recordId).trim();
    if (f.ok && recordId !== null) f.take('recordId', () => ids.check(recordId, row.line));
    if (!f.ok) {
      yield { kind: 'bad', row: { line: row.line, reason: f.reason, raw: row.raw } };
      continue;
    }
    yield { kind: 'record', record: {
      line: row.line,
      carrierRecordId: recordId,
      calling: readOptionalNumber(cell(col.calling), INTERNATIONAL),
      called: called as string,
      startUtc: new Date(start as number),
      secondsBilled: seconds as number,
      cost: charged as string,
      currency,
      rate: rate ?? null,
      raw: row.raw,
    } };
  }
}

// ---------------------------------------------------------------------------------------------
// Voice OUT CDR streaming (JSON lines)

/**
 * Money fields are JSON numbers in DIDWW's payloads; JSON.parse would turn 0.0000001 into 1e-7
 * and 0.1 + float noise into something else. Their text is quoted before parsing, so it stays
 * exactly as DIDWW wrote it.
 */
function quoteMoney(line: string): string {
  return line.replace(/(?<!\\)"(price|rate)"(\s*:\s*)(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?=\s*[,}])/g, '"$1"$2"$3"');
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON numbers may be written with an exponent (1e-7): as plain decimal text, exactly. */
const EXPONENT = /^-?\d+(\.\d+)?[eE][+-]?\d+$/;

function text(v: unknown, field: string): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return EXPONENT.test(v.trim()) ? new Decimal(v.trim()).toFixed() : v;
  if (typeof v === 'number') return String(v);
  throw new FieldProblem(field, `${field} must be a string or a number`);
}

export function parseDidwwStream(body: string, opts: { currency?: string } = {}): CarrierParseResult {
  return collectCarrierRows(didwwStreamRows(body, opts));
}

/** The physical lines of text (CRLF, LF or CR), each with its 1-based number, a BOM at the start dropped. */
function* linesOf(text: string): Generator<{ line: number; raw: string }, void, undefined> {
  let pos = text.startsWith('\uFEFF') ? 1 : 0;
  let line = 1;
  for (;;) {
    let i = pos;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 10 || c === 13) break;
      i++;
    }
    yield { line, raw: text.slice(pos, i) };
    if (i >= text.length) return;
    pos = text.charCodeAt(i) === 13 && text.charCodeAt(i + 1) === 10 ? i + 2 : i + 1;
    line++;
  }
}

/** The rows of a Voice OUT stream chunk one at a time. */
export function* didwwStreamRows(body: string, opts: { currency?: string } = {}): Generator<CarrierRow, void, undefined> {
  const currency = readCurrency(opts.currency ?? 'USD');
  const ids = new RecordIds();
  for (const { line, raw } of linesOf(body)) {
    if (raw.trim() === '') continue;
    let doc: unknown;
    try {
      doc = JSON.parse(quoteMoney(raw));
    } catch (err) {
      yield { kind: 'bad', row: { line, reason: `not valid JSON: ${err instanceof Error ? err.message : String(err)}`, raw } };
      continue;
    }
    if (!isObject(doc) || !isObject(doc.attributes)) {
      yield { kind: 'bad', row: { line, reason: 'not a DIDWW CDR: expected {"type": "outbound-cdr", "id": ..., "attributes": {...}}', raw } };
      continue;
    }
    if (doc.type !== 'outbound-cdr') {
      yield { kind: 'bad', row: { line, reason: `type ${JSON.stringify(doc.type)} is not a Voice OUT CDR ("outbound-cdr")`, raw } };
      continue;
    }
    const a = doc.attributes;
    const f = new FieldCollector();
    const price = f.take('cost', () => readAmount(text(a.price, 'price'), 'price'));
    const billing = a.billing_duration;
    if (price === '0' && (a.success === false || billing === null || billing === undefined || billing === 0)) {
      yield { kind: 'skipped', row: { line, reason: 'not billed: an unanswered attempt (success false, no billing duration, price 0)' } };
      continue;
    }
    const called = f.take('called', () => readNumber(text(a.dst_number, 'dst_number'), 'dst_number', INTERNATIONAL));
    const start = f.take('start', () => readStart(text(a.time_start, 'time_start'), 'iso8601', 'UTC', 'time_start'));
    const seconds = f.take('seconds', () => checkSeconds(readWholeSeconds(text(billing, 'billing_duration'), 'billing_duration'), 'billing_duration'));
    const rate = blank(text(a.rate, 'rate')) ? null : f.take('rate', () => readAmount(text(a.rate, 'rate'), 'rate'));
    const recordId = typeof doc.id === 'string' && doc.id.trim() !== '' ? doc.id.trim() : null;
    if (f.ok && recordId !== null) f.take('id', () => ids.check(recordId, line));
    if (!f.ok) {
      yield { kind: 'bad', row: { line, reason: f.reason, raw } };
      continue;
    }
    let calling: string | null = null;
    try {
      calling = readOptionalNumber(text(a.src_number, 'src_number'), INTERNATIONAL);
    } catch {
      calling = null;
    }
    yield { kind: 'record', record: {
      line,
      carrierRecordId: recordId,
      calling,
      called: called as string,
      startUtc: new Date(start as number),
      secondsBilled: seconds as number,
      cost: price as string,
      currency,
      rate: rate ?? null,
      raw,
    } };
  }
}
