/**
 * `carrier-generic-csv`: our documented carrier billing CSV (docs/CARRIER-FORMATS.md). RFC 4180,
 * UTF-8 (a BOM is allowed), comma-separated, a header row naming the columns in any order:
 *
 *   record_id,calling,called,start,seconds,cost,currency,rate
 *   C-1001,+12125550100,+442071234567,2026-11-03T14:05:09Z,125,0.0417,USD,0.0200
 *   C-1002,,+33142685300,2026-11-03T09:10:00-05:00,60,0.0150,USD,
 *
 * called, start, seconds, cost and currency are required; record_id, calling and rate may be
 * left out or blank. start is ISO 8601 with its offset (Z or ±hh:mm); cost and rate use "." as
 * the decimal mark. A header that lacks a required column, names one twice or names an unknown
 * one is a CarrierFileError; a bad row is listed with its line and reason and the others kept.
 */
import { iterDelimited } from './delimited';
import {
  blank, CarrierFileError, checkSeconds, collectCarrierRows, FieldCollector, FieldProblem, readAmount, readCurrency, readNumber, readOptionalNumber, readWholeSeconds,
  type CarrierParseResult, type CarrierRow,
} from './record';
import { readStart } from './times';
import { RecordIds } from './ids';

export const GENERIC_CARRIER_COLUMNS = ['record_id', 'calling', 'called', 'start', 'seconds', 'cost', 'currency', 'rate'] as const;
export const GENERIC_CARRIER_REQUIRED = ['called', 'start', 'seconds', 'cost', 'currency'] as const;
type Column = (typeof GENERIC_CARRIER_COLUMNS)[number];

export function parseGenericCarrierCsv(text: string): CarrierParseResult {
  return collectCarrierRows(genericCarrierRows(text));
}

/** The rows of a generic carrier CSV one at a time; the header's errors are thrown at the first. */
export function* genericCarrierRows(text: string): Generator<CarrierRow, void, undefined> {
  const rows = iterDelimited(text, ',');
  const head = rows.next();
  const first = head.done ? undefined : head.value;
  if (!first) throw new CarrierFileError('carrier-generic-csv: the file is empty (a header row is expected)');
  if (!first.ok) throw new CarrierFileError(`carrier-generic-csv: the header row cannot be read: ${first.reason}`, first.line);
  const header = first.fields.map((h) => h.trim().toLowerCase());
  const known = GENERIC_CARRIER_COLUMNS as readonly string[];
  header.forEach((h, i) => {
    if (h === '') throw new CarrierFileError(`carrier-generic-csv: header column ${i + 1} has no name`, first.line);
    if (!known.includes(h)) throw new CarrierFileError(`carrier-generic-csv: unknown column "${h}" in the header row (the columns are ${GENERIC_CARRIER_COLUMNS.join(', ')})`, first.line);
    const j = header.indexOf(h);
    if (j !== i) throw new CarrierFileError(`carrier-generic-csv: column "${h}" appears twice (columns ${j + 1} and ${i + 1})`, first.line);
  });
  const missing = GENERIC_CARRIER_REQUIRED.filter((c) => !header.includes(c));
  if (missing.length) throw new CarrierFileError(`carrier-generic-csv: the header row has no ${missing.map((c) => `"${c}"`).join(', ')} column${missing.length > 1 ? 's' : ''} (required)`, first.line);

  const at = Object.fromEntries(GENERIC_CARRIER_COLUMNS.map((c) => [c, header.indexOf(c)])) as Record<Column, number>;
  const ids = new RecordIds();
  for (const row of rows) {
    if (!row.ok) {
      yield { kind: 'bad', row: { line: row.line, reason: row.reason, raw: row.raw } };
      continue;
    }
    if (row.fields.length > header.length && row.fields.slice(header.length).some((f) => !blank(f))) {
      yield { kind: 'bad', row: { line: row.line, reason: `the row has ${row.fields.length} cells, the header ${header.length} columns`, raw: row.raw } };
      continue;
    }
    const cell = (c: Column): string => {
      const i = at[c];
      return i < 0 ? '' : (row.fields[i] ?? '');
    };
    const f = new FieldCollector();
    const called = f.take('called', () => readNumber(cell('called'), 'called'));
    const start = f.take('start', () => readStart(cell('start'), 'iso8601', 'UTC', 'start'));
    if (start !== undefined && !/([Zz]|[+-]\d{2}:?\d{2})$/.test(cell('start').trim())) f.problems.push(new FieldProblem('start', `start "${cell('start').trim()}" has no offset (add Z for UTC, or ±hh:mm)`));
    const seconds = f.take('seconds', () => checkSeconds(readWholeSeconds(cell('seconds'), 'seconds'), 'seconds'));
    const cost = f.take('cost', () => readAmount(cell('cost'), 'cost'));
    const currency = f.take('currency', () => readCurrency(cell('currency')));
    const rate = blank(cell('rate')) ? null : f.take('rate', () => readAmount(cell('rate'), 'rate'));
    const recordId = blank(cell('record_id')) ? null : cell('record_id').trim();
    // Only a good row claims its id: a bad row's id may come again, corrected.
    if (f.ok && recordId !== null) f.take('record_id', () => ids.check(recordId, row.line));
    if (!f.ok) {
      yield { kind: 'bad', row: { line: row.line, reason: f.reason, raw: row.raw } };
      continue;
    }
    yield { kind: 'record', record: {
      line: row.line,
      carrierRecordId: recordId,
      calling: readOptionalNumber(cell('calling')),
      called: called as string,
      startUtc: new Date(start as number),
      secondsBilled: seconds as number,
      cost: cost as string,
      currency: currency as string,
      rate: rate ?? null,
      raw: row.raw,
    } };
  }
}
