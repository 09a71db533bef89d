/**
 * Carrier billing formats (src/domain/reconciliation, docs/CARRIER-FORMATS.md): the generic CSV,
 * a mapped CSV with its preview, the DIDWW presets from their documented layouts, awkward values
 * (each a bad row with its line and reason while the good rows survive), DST in the mapped
 * format's zone, national numbers, and the idempotency key.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { Decimal } from '../../src/domain/money/decimal';
import {
  canonicalDecimal, CarrierFileError, carrierMappingSchema, carrierRecordKey, parseCarrierFile, parseDidwwCdrOut, parseDidwwStream, parseGenericCarrierCsv,
  parseMapped, previewMapped, readDelimited, sha256Hex, type CarrierMappingInput, type CarrierParseResult,
} from '../../src/domain/reconciliation';

const FIXTURES = path.resolve(__dirname, '../fixtures/carrier');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');
const iso = (d: Date) => d.toISOString();
const summary = (r: CarrierParseResult) => r.records.map((x) => [x.line, x.carrierRecordId, x.calling, x.called, iso(x.startUtc), x.secondsBilled, x.cost, x.currency, x.rate]);
const badLines = (r: CarrierParseResult) => r.badRows.map((b) => b.line);

const HEADER = 'record_id,calling,called,start,seconds,cost,currency,rate';

describe('the delimited reader', () => {
  test('quoted delimiters, doubled quotes, line breaks inside quotes, BOM, CRLF, CR and blank lines', () => {
    const rows = readDelimited('\uFEFFa,b\r\n"x,1","say ""hi"""\r\n\r\n   \n"two\r\nlines",z\rlast,1\n', ',');
    assert.deepEqual(rows.map((r) => (r.ok ? [r.line, r.fields] : [r.line, r.reason])), [
      [1, ['a', 'b']],
      [2, ['x,1', 'say "hi"']],
      [5, ['two\r\nlines', 'z']],
      [7, ['last', '1']],
    ]);
  });
  test('a broken quote is one bad line, and the next line is read again', () => {
    const rows = readDelimited('a,b\n1,"bad"x\n2,ok\n3,"never closed\n4,fine\n', ',');
    assert.deepEqual(rows.map((r) => [r.line, r.ok]), [[1, true], [2, false], [3, true], [4, false], [5, true]]);
    const bad = rows.filter((r) => !r.ok) as Array<{ reason: string; raw: string }>;
    assert.match(bad[0]!.reason, /after a closing quote/);
    assert.equal(bad[0]!.raw, '1,"bad"x');
    assert.match(bad[1]!.reason, /never closed/);
    assert.equal(bad[1]!.raw, '3,"never closed');
  });
  test('skipLines passes over the top lines, even ones with a stray quote', () => {
    const rows = readDelimited('Report "Nov\nh1;h2\n1;2\n', ';', 1);
    assert.deepEqual(rows.map((r) => (r.ok ? [r.line, r.fields] : r)), [[2, ['h1', 'h2']], [3, ['1', '2']]]);
  });
});

describe('carrier-generic-csv', () => {
  test('the documented example', () => {
    const r = parseGenericCarrierCsv(fixture('generic.csv'));
    assert.deepEqual(r.badRows, []);
    assert.deepEqual(summary(r), [
      [2, 'C-1001', '+12125550100', '+442071234567', '2026-11-03T14:05:09.000Z', 125, '0.0417', 'USD', '0.02'],
      [3, 'C-1002', null, '+33142685300', '2026-11-03T14:10:00.000Z', 60, '0.015', 'USD', null],
      [4, 'C-1003', '+12125550100', '+4915112345678', '2026-11-03T14:00:00.250Z', 7, '0.0116667', 'USD', '0.1'],
    ]);
    assert.equal(r.records[0]!.raw, 'C-1001,+12125550100,+442071234567,2026-11-03T14:05:09Z,125,0.0417,USD,0.0200');
  });

  test('awkward values: each bad row has its line and reason, the good rows survive', () => {
    const text = [
      `\uFEFF${HEADER}`,
      'A1,,+442071234567,2026-11-03T10:00:00Z,60,0.0100,USD,', // 2 good
      'A2,,+442071234568,2026-11-03T10:00:00Z,,0.0100,USD,', // 3 blank duration
      'A3,,+442071234569,2026-11-03T10:00:00Z,-4,0.0100,USD,', // 4 negative duration
      'A4,,+442071234570,2026-11-03T10:00:00Z,60,0.01a,USD,', // 5 non-numeric cost
      '', // 6 blank
      'A5,,+442071234571,2026-02-30T10:00:00Z,60,0.0100,USD,', // 7 impossible date
      'A6,,+442071234572,03/11/2026 10:00,60,0.0100,USD,', // 8 not ISO
      'A7,,+442071234573,2026-11-03T10:00:00,60,0.0100,USD,', // 9 no offset
      '"A8","+1 212 555 0100","+44 20 7123 4574",2026-11-03T10:00:00+00:00,"60","1,5",USD,', // 10 comma decimal in a quoted cost
      '"A9, the quoted one",,+442071234575,2026-11-03T10:00:00Z,60,"0.0100",usd,"0.0100"', // 11 good: quoted comma
      'A10,,+442071234576,2026-11-03T10:00:00Z,60,-0.01,USD,', // 12 negative cost
      'A11,,2071234577,2026-11-03T10:00:00Z,60,0.01,USD,', // 13 national number: no country in the generic format
      'A12,,+442071234578,2026-11-03T10:00:00Z,1.5,0.01,USD,', // 14 fractional seconds
      'A13,,+442071234579,2026-11-03T10:00:00Z,60,0.01,US,', // 15 currency
      'A1,,+442071234580,2026-11-03T10:00:00Z,60,0.01,USD,', // 16 repeated id
      'A14,,+442071234581,2026-11-03T10:00:00Z,60,0.01,USD,,extra', // 17 too many cells
      'A15,,+442071234582,2026-11-03T10:00:00Z,60,0.01,USD', // 18 good: short row, rate left out
    ].join('\r\n');
    const r = parseGenericCarrierCsv(text);
    assert.deepEqual(r.records.map((x) => [x.line, x.carrierRecordId]), [[2, 'A1'], [11, 'A9, the quoted one'], [18, 'A15']]);
    assert.equal(r.records[1]!.currency, 'USD');
    const reasons = Object.fromEntries(r.badRows.map((b) => [b.line, b.reason]));
    assert.deepEqual(Object.keys(reasons).map(Number), [3, 4, 5, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17]);
    assert.match(reasons[3]!, /seconds is blank/);
    assert.match(reasons[4]!, /seconds "-4" is negative/);
    assert.match(reasons[5]!, /cost "0\.01a" is not a number/);
    assert.match(reasons[7]!, /not a real date/);
    assert.match(reasons[8]!, /not an ISO 8601/);
    assert.match(reasons[9]!, /has no offset/);
    assert.match(reasons[10]!, /cost "1,5" is not a number with "\." as the decimal mark/);
    assert.match(reasons[12]!, /cost "-0\.01" is negative/);
    assert.match(reasons[13]!, /called: "2071234577" has no country code/);
    assert.match(reasons[14]!, /not a whole number of seconds/);
    assert.match(reasons[15]!, /ISO 4217/);
    assert.match(reasons[16]!, /record id "A1" was already given on line 2/);
    assert.match(reasons[17]!, /cells/);
    assert.equal(r.badRows.find((b) => b.line === 10)!.raw, '"A8","+1 212 555 0100","+44 20 7123 4574",2026-11-03T10:00:00+00:00,"60","1,5",USD,');
  });

  test('a row with several bad fields names each of them', () => {
    const r = parseGenericCarrierCsv(`${HEADER}\nB1,,nope,yesterday,x,y,dollars,z\n`);
    assert.equal(r.badRows.length, 1);
    for (const f of ['called', 'start', 'seconds', 'cost', 'currency', 'rate']) assert.match(r.badRows[0]!.reason, new RegExp(f));
  });

  test('the file as a whole: empty, unknown, repeated or missing columns', () => {
    assert.throws(() => parseGenericCarrierCsv(''), CarrierFileError);
    assert.throws(() => parseGenericCarrierCsv('\r\n\r\n'), /empty/);
    assert.throws(() => parseGenericCarrierCsv('called,start,seconds,cots,currency\n'), /unknown column "cots"/);
    assert.throws(() => parseGenericCarrierCsv('called,start,seconds,cost,currency,cost\n'), /appears twice/);
    assert.throws(() => parseGenericCarrierCsv('called,start,cost\n'), /"seconds", "currency" columns \(required\)/);
    // Columns in any order and any case.
    const r = parseGenericCarrierCsv('COST,Seconds,Called,Start,Currency\n0.5,30,+33142685300,2026-11-03T10:00:00Z,EUR\n');
    assert.deepEqual(summary(r), [[2, null, null, '+33142685300', '2026-11-03T10:00:00.000Z', 30, '0.5', 'EUR', null]]);
  });

  test('amounts stay exact: no float ever touches them', () => {
    const r = parseGenericCarrierCsv(`${HEADER}\nE1,,+33142685300,2026-11-03T10:00:00Z,1,0.1000000000000000055511151231257827,USD,0.00000001\n`);
    assert.equal(r.records[0]!.cost, '0.1000000000000000055511151231257827');
    assert.equal(r.records[0]!.rate, '0.00000001');
  });
});

const mappingInput: CarrierMappingInput = {
  delimiter: ';',
  skipLines: 1,
  columns: { recordId: 'Call Ref', start: 'Date', calling: 'From', called: 'Dialled', duration: 'Duration', rate: 'Rate/min', cost: 'Charge' },
  dateFormat: 'DD/MM/YYYY HH:mm:ss',
  timeZone: 'Europe/London',
  durationFormat: 'mm:ss',
  currency: { column: 'Currency' },
  decimalSeparator: ',',
  countryCode: '44',
};

describe('carrier-mapped-csv', () => {
  const mapping = carrierMappingSchema.parse(mappingInput);

  test('the documented example: title line, ";", decimal comma, national numbers, mm:ss, DST in Europe/London', () => {
    const r = parseMapped(fixture('mapped-semicolon.csv'), mapping);
    assert.deepEqual(r.badRows, []);
    assert.deepEqual(summary(r), [
      [3, 'X-1', '+442079460018', '+447700900123', '2026-11-01T00:30:00.000Z', 125, '0.1667', 'GBP', '0.08'],
      [4, 'X-2', '+442079460018', '+33142685300', '2026-11-01T01:30:00.000Z', 45, '0.03', 'GBP', '0.04'],
      // 29 March 2026 01:30 does not exist in London (clocks go 01:00 GMT -> 02:00 BST): moved forward by the gap.
      [5, 'X-3', null, '+441614960000', '2026-03-29T01:30:00.000Z', 60, '0.01', 'GBP', '0.01'],
      // 25 October 2026 01:30 happens twice (BST, then GMT): the first, 00:30 UTC.
      [6, 'X-4', null, '+441614960001', '2026-10-25T00:30:00.000Z', 30, '0.005', 'GBP', '0.01'],
    ]);
  });

  test('DST: wall times either side of the changes, in New York, read in the zone of their date', () => {
    const m = carrierMappingSchema.parse({ columns: { called: 1, start: 2, duration: 3, cost: 4 }, header: false, timeZone: 'America/New_York', currency: { fixed: 'USD' }, countryCode: '1' });
    const r = parseMapped(['2125550100,2026-03-08 01:59:59,1,0.01', '2125550100,2026-03-08 02:30:00,1,0.01', '2125550100,2026-03-08 03:00:00,1,0.01', '2125550100,2026-11-01 00:59:59,1,0.01', '2125550100,2026-11-01 01:30:00,1,0.01', '2125550100,2026-11-01 02:00:00,1,0.01', '2125550100,2026-07-01 12:00:00,1,0.01'].join('\n'), m);
    assert.deepEqual(r.records.map((x) => iso(x.startUtc)), [
      '2026-03-08T06:59:59.000Z', // EST
      '2026-03-08T07:30:00.000Z', // in the gap: 03:30 EDT
      '2026-03-08T07:00:00.000Z', // EDT
      '2026-11-01T04:59:59.000Z', // EDT
      '2026-11-01T05:30:00.000Z', // the repeated hour: its first (EDT) occurrence
      '2026-11-01T07:00:00.000Z', // EST
      '2026-07-01T16:00:00.000Z', // summer, EDT
    ]);
    assert.deepEqual(r.records.map((x) => x.called), Array(7).fill('+12125550100'));
  });

  test('every date format', () => {
    const cases: Array<[string, string, string]> = [
      ['iso8601', '2026-11-03T10:00:00+02:00', '2026-11-03T08:00:00.000Z'],
      ['iso8601', '2026-11-03 10:00:00', '2026-11-03T09:00:00.000Z'], // no offset: read in Europe/Paris
      ['YYYY-MM-DD HH:mm:ss', '2026-11-03 10:00:00.5', '2026-11-03T09:00:00.500Z'],
      ['DD/MM/YYYY HH:mm:ss', '3/11/2026 10:00:00', '2026-11-03T09:00:00.000Z'],
      ['MM/DD/YYYY HH:mm:ss', '11/03/2026 10:00:00', '2026-11-03T09:00:00.000Z'],
      ['MM/DD/YYYY hh:mm:ss A', '11/03/2026 10:00:00 PM', '2026-11-03T21:00:00.000Z'],
      ['MM/DD/YYYY hh:mm:ss A', '11/03/2026 12:05:00 AM', '2026-11-02T23:05:00.000Z'],
      ['MM/DD/YYYY hh:mm:ss A', '11/03/2026 12:05:00 pm', '2026-11-03T11:05:00.000Z'],
      ['DD.MM.YYYY HH:mm:ss', '03.11.2026 10:00:00', '2026-11-03T09:00:00.000Z'],
      ['YYYYMMDDHHmmss', '20261103100000', '2026-11-03T09:00:00.000Z'],
      ['epoch', '1793700000', '2026-11-03T10:00:00.000Z'],
      ['epoch', '1793700000.25', '2026-11-03T10:00:00.250Z'],
      ['epoch_ms', '1793700000123', '2026-11-03T10:00:00.123Z'],
    ];
    for (const [dateFormat, text, want] of cases) {
      const m = carrierMappingSchema.parse({ columns: { called: 1, start: 2, duration: 3, cost: 4 }, header: false, dateFormat, timeZone: 'Europe/Paris', currency: { fixed: 'EUR' } });
      const r = parseMapped(`+33142685300,"${text}",5,0.01\n`, m);
      assert.deepEqual(r.badRows, [], `${dateFormat} ${text}`);
      assert.equal(iso(r.records[0]!.startUtc), want, `${dateFormat} ${text}`);
    }
    const bad: Array<[string, string, RegExp]> = [
      ['DD/MM/YYYY HH:mm:ss', '31/02/2026 10:00:00', /not a real date/],
      ['MM/DD/YYYY HH:mm:ss', '31/12/2026 10:00:00', /no month 31/],
      ['MM/DD/YYYY hh:mm:ss A', '11/03/2026 13:00:00 PM', /1-12/],
      ['YYYY-MM-DD HH:mm:ss', '2026-11-03 24:00:00', /not a real time/],
      ['YYYYMMDDHHmmss', '2026-11-03', /YYYYMMDDHHmmss/],
      ['epoch', '-5', /seconds since 1970/],
    ];
    for (const [dateFormat, text, why] of bad) {
      const m = carrierMappingSchema.parse({ columns: { called: 1, start: 2, duration: 3, cost: 4 }, header: false, dateFormat, timeZone: 'UTC', currency: { fixed: 'EUR' } });
      const r = parseMapped(`+33142685300,${text},5,0.01\n`, m);
      assert.equal(r.records.length, 0, `${dateFormat} ${text}`);
      assert.match(r.badRows[0]!.reason, why, `${dateFormat} ${text}`);
    }
  });

  test('durations: seconds, mm:ss, hh:mm:ss; blank, negative and malformed ones are bad rows', () => {
    const read = (durationFormat: string, cells: string[]) => {
      const m = carrierMappingSchema.parse({ columns: { called: 1, start: 2, duration: 3, cost: 4 }, header: false, durationFormat, dateFormat: 'iso8601', currency: { fixed: 'EUR' } });
      return parseMapped(cells.map((c) => `+33142685300,2026-11-03T10:00:00Z,${c},0.01`).join('\n'), m);
    };
    assert.deepEqual(read('seconds', ['0', '75', '75.0']).records.map((r) => r.secondsBilled), [0, 75, 75]);
    assert.deepEqual(read('mm:ss', ['0:00', '1:15', '125:30']).records.map((r) => r.secondsBilled), [0, 75, 7530]);
    assert.deepEqual(read('hh:mm:ss', ['0:01:15', '02:00:01']).records.map((r) => r.secondsBilled), [75, 7201]);
    const bad = read('mm:ss', ['', '-1:00', '1:75', '75', '1:2:3']);
    assert.deepEqual(bad.records, []);
    assert.deepEqual(bad.badRows.map((b) => b.reason), ['duration is blank', 'duration "-1:00" is negative', 'duration "1:75" has 75 seconds (at most 59)', 'duration "75" is not written mm:ss', 'duration "1:2:3" is not written mm:ss']);
    assert.match(read('seconds', ['700000']).badRows[0]!.reason, /longer than a call can be/);
  });

  test('columns by number, a currency column, and a header row that lacks a named column', () => {
    const byNumber = carrierMappingSchema.parse({ columns: { called: 3, start: 1, duration: 2, cost: 4, recordId: 5 }, header: false, dateFormat: 'iso8601', currency: { column: 6 } });
    const r = parseMapped('2026-11-03T10:00:00Z,60,+33142685300,0.5,id-1,eur\n2026-11-03T10:00:00Z,60,+33142685300\n', byNumber);
    assert.deepEqual(summary(r), [[1, 'id-1', null, '+33142685300', '2026-11-03T10:00:00.000Z', 60, '0.5', 'EUR', null]]);
    assert.match(r.badRows[0]!.reason, /cost: the row has no column 4 \(it has 3\)/);
    const named = carrierMappingSchema.parse({ ...mappingInput, columns: { ...mappingInput.columns, cost: 'Amount' } });
    assert.throws(() => parseMapped(fixture('mapped-semicolon.csv'), named), (e: unknown) => e instanceof CarrierFileError && /no column "Amount" \(for cost\)/.test(e.message) && e.line === 2);
  });

  test('national numbers become E.164 with the mapping\'s country code; without it they are bad rows', () => {
    const withUs = carrierMappingSchema.parse({ columns: { called: 1, start: 2, duration: 3, cost: 4, calling: 5 }, header: false, dateFormat: 'iso8601', currency: { fixed: 'USD' }, countryCode: '1' });
    const text = ['(212) 555-0100,2026-11-03T10:00:00Z,5,0.01,212.555.0199', '12125550100,2026-11-03T10:00:00Z,5,0.01,', '011442071234567,2026-11-03T10:00:00Z,5,0.01,1001', '555-0100,2026-11-03T10:00:00Z,5,0.01,'].join('\n');
    const r = parseMapped(text, withUs);
    assert.deepEqual(r.records.map((x) => [x.called, x.calling]), [['+12125550100', '+12125550199'], ['+12125550100', null], ['+442071234567', null]]);
    assert.match(r.badRows[0]!.reason, /not a 10-digit North American number/);
    const withUk = carrierMappingSchema.parse({ columns: { called: 1, start: 2, duration: 3, cost: 4 }, header: false, dateFormat: 'iso8601', currency: { fixed: 'GBP' }, countryCode: '44' });
    assert.deepEqual(parseMapped('020 7123 4567,2026-11-03T10:00:00Z,5,0.01\n0044 161 496 0000,2026-11-03T10:00:00Z,5,0.01\n', withUk).records.map((x) => x.called), ['+442071234567', '+441614960000']);
    const none = carrierMappingSchema.parse({ columns: { called: 1, start: 2, duration: 3, cost: 4 }, header: false, dateFormat: 'iso8601', currency: { fixed: 'GBP' } });
    assert.match(parseMapped('020 7123 4567,2026-11-03T10:00:00Z,5,0.01\n', none).badRows[0]!.reason, /no country code/);
  });

  test('the mapping schema refuses what cannot work', () => {
    const fails = (input: unknown, path: string, message: RegExp) => {
      const r = carrierMappingSchema.safeParse(input);
      assert.equal(r.success, false, JSON.stringify(input));
      const issue = r.error!.issues.find((i) => i.path.join('.') === path);
      assert.ok(issue, `${path}: ${JSON.stringify(r.error!.issues)}`);
      assert.match(issue.message, message);
    };
    const base = { columns: { called: 1, start: 2, duration: 3, cost: 4 }, currency: { fixed: 'USD' } };
    fails({ ...base, timeZone: 'Mars/Olympus' }, 'timeZone', /Unknown time zone/);
    fails({ ...base, header: false, columns: { ...base.columns, called: 'To' } }, 'columns.called', /only when the file has a header row/);
    fails({ ...base, header: false, currency: { column: 'Cur' } }, 'currency.column', /only when the file has a header row/);
    fails({ ...base, columns: { ...base.columns, cost: 0 } }, 'columns.cost', /from 1/);
    fails({ ...base, currency: { fixed: 'dollars' } }, 'currency.fixed', /ISO 4217/);
    fails({ ...base, countryCode: '+44' }, 'countryCode', /calling code/);
    fails({ ...base, delimiter: '#' }, 'delimiter', /./);
    fails({ ...base, dateFormat: 'D/M/YY' }, 'dateFormat', /./);
    fails({ columns: { called: 1, start: 2, duration: 3 }, currency: { fixed: 'USD' } }, 'columns.cost', /./);
    const ok = carrierMappingSchema.parse({ ...base, timeZone: 'us/eastern', currency: { fixed: 'usd' } });
    assert.deepEqual([ok.timeZone, ok.currency, ok.delimiter, ok.header, ok.skipLines, ok.dateFormat, ok.durationFormat, ok.decimalSeparator], ['America/New_York', { fixed: 'USD' }, ',', true, 0, 'YYYY-MM-DD HH:mm:ss', 'seconds', '.']);
  });

  test('previewMapped: the first n rows with each field\'s value and error', () => {
    const text = `${fixture('mapped-semicolon.csv')}X-5;31/04/2026 10:00:00;;abc;-0:05;0,01;1.000,00;GBP\r\nX-6;01/11/2026 10:00:00;;020 7946 0019;00:10;0,01;0,0017;GBP\r\n`;
    const p = previewMapped(text, mapping, 5);
    assert.equal(p.fileError, null);
    assert.deepEqual(p.header, ['Call Ref', 'Date', 'From', 'Dialled', 'Duration', 'Rate/min', 'Charge', 'Currency']);
    assert.equal(p.rows.length, 5);
    assert.deepEqual(p.rows.slice(0, 4).map((r) => [r.line, r.errors, r.record?.carrierRecordId]), [[3, {}, 'X-1'], [4, {}, 'X-2'], [5, {}, 'X-3'], [6, {}, 'X-4']]);
    const bad = p.rows[4]!;
    assert.equal(bad.line, 7);
    assert.equal(bad.record, null);
    assert.deepEqual(bad.values, { recordId: 'X-5', calling: '', called: 'abc', start: '31/04/2026 10:00:00', duration: '-0:05', cost: '1.000,00', currency: 'GBP', rate: '0,01' });
    assert.deepEqual(Object.keys(bad.errors).sort(), ['called', 'cost', 'duration', 'start']);
    assert.match(bad.errors.start!, /April 2026 has 30 days/);
    assert.match(bad.errors.cost!, /"," as the decimal mark/);
    assert.deepEqual(previewMapped(text, mapping, 0).rows, []);
    const wrong = previewMapped(text, carrierMappingSchema.parse({ ...mappingInput, skipLines: 0 }), 3);
    assert.match(wrong.fileError!, /no column "Call Ref"/);
    assert.deepEqual(wrong.rows, []);
  });

  test('parseCarrierFile dispatches on the format and needs a mapping for the mapped one', () => {
    assert.equal(parseCarrierFile('carrier-mapped-csv', fixture('mapped-semicolon.csv'), { mapping }).records.length, 4);
    assert.throws(() => parseCarrierFile('carrier-mapped-csv', fixture('mapped-semicolon.csv')), /no column mapping/);
    assert.equal(parseCarrierFile('carrier-generic-csv', fixture('generic.csv')).records.length, 3);
  });
});

describe('DIDWW presets (samples written from DIDWW\'s documentation)', () => {
  test('didww-cdr-out: the outbound export; an unanswered attempt is skipped, a quoted network name read', () => {
    const r = parseDidwwCdrOut(fixture('didww/cdr_out.csv'));
    assert.deepEqual(r.badRows, []);
    assert.deepEqual(r.skipped, [{ line: 3, reason: 'not billed: no billing duration and nothing charged (an unanswered attempt)' }]);
    assert.deepEqual(summary(r), [
      [2, null, '+12125550100', '+441158720600', '2026-11-02T08:15:01.000Z', 125, '0.0104', 'USD', '0.005'],
      [4, null, '+12125550101', '+33142685300', '2026-11-02T09:00:00.000Z', 60, '0.012', 'USD', '0.012'],
    ]);
    assert.match(r.records[0]!.raw, /"United Kingdom, Fixed"/);
  });

  test('didww-cdr-out: a Call ID column is the record id; older column names; the currency from "Charged (EUR)"; bad rows', () => {
    const text = [
      'Date/Time Start (UTC),Source,Destination,Duration (secs),Rate (EUR),Charged (EUR),Call ID',
      '2026-11-02 08:15:01,12125550100,441158720600,125,0.0050,0.0104,c-1',
      '2026-11-02 08:16:01,12125550100,441158720600,,0.0050,0.0104,c-2',
      '2026-11-02 08:17:01,12125550100,441158720600,10,0.0050,n/a,c-3',
    ].join('\n');
    const r = parseDidwwCdrOut(text);
    assert.deepEqual(summary(r), [[2, 'c-1', '+12125550100', '+441158720600', '2026-11-02T08:15:01.000Z', 125, '0.0104', 'EUR', '0.005']]);
    assert.deepEqual(badLines(r), [3, 4]);
    assert.match(r.badRows[0]!.reason, /Billing Duration \(sec\) is blank/);
    assert.match(r.badRows[1]!.reason, /Charged "n\/a" is not a number/);
    assert.throws(() => parseDidwwCdrOut('Date/Time Start (UTC),Destination Number\n'), /"Billing Duration \(sec\)", "Charged \(USD\)"/);
  });

  test('didww-cdr-stream: the documented payloads, posted gzip-encoded', () => {
    const posted = fs.readFileSync(path.join(FIXTURES, 'didww/voice-out-stream.jsonl.gz'));
    const body = zlib.gunzipSync(posted).toString('utf8');
    assert.equal(body, fixture('didww/voice-out-stream.jsonl'));
    const r = parseDidwwStream(body);
    assert.deepEqual(r.badRows, []);
    // The two examples of DIDWW's page are unanswered attempts at no cost.
    assert.deepEqual(r.skipped.map((s) => s.line), [1, 2]);
    assert.deepEqual(summary(r), [
      [3, '7f1e2b9a-5ed2-11ea-bc9d-005056845b1e', '+123439643990', '+441158720600', '2020-03-05T11:10:00.500Z', 126, '0.0105', 'USD', '0.005'],
      [4, '8a2f3c0b-5ed2-11ea-bc9d-005056845b1e', '+123439643990', '+33142685300', '2020-03-05T11:20:12.000Z', 15, '0.00125', 'USD', '0.005'],
    ]);
    assert.equal(parseDidwwStream(body, { currency: 'eur' }).records[0]!.currency, 'EUR');
    assert.equal(parseCarrierFile('didww-cdr-stream', body).records.length, 2);
  });

  test('didww-cdr-stream: money read from its JSON text exactly; bad lines kept apart', () => {
    const ok = (attrs: string, id = 'a') => `{"type":"outbound-cdr","id":"${id}","attributes":{"time_start":"2026-11-03T10:00:00+00:00","dst_number":"441158720600","src_number":"","billing_duration":60,"success":true,${attrs}}}`;
    const body = [
      ok('"price":0.0000001,"rate":1e-7', 'a'),
      ok('"price":"0.0105","rate":"0.004"', 'b'),
      '{"type":"inbound-cdr","id":"c","attributes":{}}',
      'not json',
      '',
      ok('"price":-1,"rate":0.1', 'd'),
      ok('"price":0.1,"rate":0.1', 'a'),
      '{"type":"outbound-cdr","id":"e","attributes":{"time_start":"2026-11-03 10:00:00.5","dst_number":"abc","billing_duration":-3,"price":0.1,"success":true}}',
      '[1,2]',
    ].join('\r\n');
    const r = parseDidwwStream(body);
    assert.deepEqual(r.records.map((x) => [x.line, x.carrierRecordId, x.cost, x.rate, x.calling]), [[1, 'a', '0.0000001', '0.0000001', null], [2, 'b', '0.0105', '0.004', null]]);
    assert.deepEqual(badLines(r), [3, 4, 6, 7, 8, 9]);
    const reason = (line: number) => r.badRows.find((b) => b.line === line)!.reason;
    assert.match(reason(3), /"inbound-cdr" is not a Voice OUT CDR/);
    assert.match(reason(4), /not valid JSON/);
    assert.match(reason(6), /price "-1" is negative/);
    assert.match(reason(7), /record id "a" was already given on line 1/);
    assert.match(reason(8), /dst_number/);
    assert.match(reason(8), /billing_duration "-3" is negative/);
    assert.match(reason(9), /not a DIDWW CDR/);
  });
});

describe('amounts', () => {
  test('canonicalDecimal gives the same exact text as Decimal, for any plain decimal', () => {
    const plain = fc.tuple(fc.constantFrom('', '+', '-'), fc.stringMatching(/^\d{0,25}$/), fc.option(fc.stringMatching(/^\d{0,25}$/), { nil: undefined }))
      .filter(([, w, f]) => w !== '' || (f !== undefined && f !== ''))
      .map(([s, w, f]) => `${s}${w}${f === undefined ? '' : `.${f}`}`);
    fc.assert(fc.property(plain, (t) => {
      const d = new Decimal(t);
      assert.equal(canonicalDecimal(t), d.isZero() ? '0' : d.toFixed());
    }), { numRuns: 2000 });
  });
});

describe('the idempotency key', () => {
  test('the carrier record id when there is one, else sha256 of the file checksum and the line', () => {
    const checksum = sha256Hex('the file');
    assert.equal(carrierRecordKey({ carrierRecordId: 'C-1', line: 9 }, checksum), 'id:C-1');
    const k = carrierRecordKey({ carrierRecordId: null, line: 9 }, checksum);
    assert.equal(k, `line:${sha256Hex(`${checksum}:9`)}`);
    assert.match(k, /^line:[0-9a-f]{64}$/);
    assert.equal(carrierRecordKey({ carrierRecordId: null, line: 9 }, checksum), k, 'the same file and line: the same key');
    assert.notEqual(carrierRecordKey({ carrierRecordId: null, line: 10 }, checksum), k);
    assert.notEqual(carrierRecordKey({ carrierRecordId: null, line: 9 }, sha256Hex('another file')), k);
    assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  test('a file parsed twice gives the same keys', () => {
    const text = fixture('didww/cdr_out.csv');
    const sum = sha256Hex(text);
    const keys = () => parseDidwwCdrOut(text).records.map((r) => carrierRecordKey(r, sum));
    assert.deepEqual(keys(), keys());
    assert.equal(new Set(keys()).size, 2);
  });
});
