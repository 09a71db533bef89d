/**
 * The record formatter (src/domain/records): every option of a specification, awkward values,
 * time zones and DST, fixed width, charsets, and files parsed back (csv-parse) equal to the legs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import {
  CATALOGUE, compileSpec, encodeText, fieldsFor, fieldsNotVisible, fileStart, fitCharset, formatFile, formatInstant, formatLeg, formatMoney, formatRate,
  headerLine, legPasses, presetSpec, readRecordSpec, recordSpecSchema, RECORD_PRESETS, FieldOverflowError, type LegRecord, type RecordSpecInput,
} from '../../src/domain/records';
import { Decimal } from '../../src/domain/money/decimal';

function leg(over: Partial<LegRecord> = {}): LegRecord {
  return {
    id: 101, legKey: 'k-101', callId: 'call-1', platform: 'sw1', resellerCode: 'acme', accountNumber: '1001', subscriberName: 'Jane Doe',
    callingNumber: '+12125550100', calledNumber: '+442071234567', rawCalling: '2125550100', rawCalled: '0442071234567', redirectingNumber: null, accountCode: null,
    startMs: Date.UTC(2026, 11, 7, 14, 0, 0), answerMs: Date.UTC(2026, 11, 7, 14, 0, 5), endMs: Date.UTC(2026, 11, 7, 14, 2, 5), ratedMs: Date.UTC(2026, 11, 7, 14, 2, 6),
    billableSeconds: 120, answered: true, disposition: 'answered', switchCause: 'NORMAL_CLEARING', direction: 'outbound', status: 'rated', reason: null,
    trunk: 'gw1', carrier: 'LDX',
    wholesale: { currency: 'USD', amount: '0.0200000000', taxAmount: '0.0010000000', total: '0.0210000000', billedCurrency: 'USD', billedTotal: '0.0210000000', exchangeRate: '1.000000000000', coveredSeconds: 0, prefix: '44', description: 'United Kingdom' },
    retail: { currency: 'USD', amount: '0.0500000000', taxAmount: '0.0050000000', total: '0.0550000000', billedCurrency: 'EUR', billedTotal: '0.0506000000', exchangeRate: '0.920000000000', coveredSeconds: 60, prefix: '4420', description: 'UK London' },
    ...over,
  };
}

const spec = (input: RecordSpecInput) => recordSpecSchema.parse(input);
const text = (input: RecordSpecInput, legs: LegRecord[]) => formatFile(spec(input), legs).bytes.toString('utf8');

describe('catalogue and validation', () => {
  test('every field has a type, a description and the roles that may see it; subscribers never see the wholesale charge', () => {
    for (const f of CATALOGUE) {
      assert.ok(f.description.length > 5 && f.roles.length > 0, f.id);
      if (f.id.startsWith('wholesale_')) assert.ok(!f.roles.includes('subscriber'), f.id);
    }
    assert.ok(fieldsFor('reseller_admin').some((f) => f.id === 'wholesale_total'), "a reseller's spec may hold its cost");
    assert.ok(!fieldsFor('subscriber').some((f) => f.id.startsWith('wholesale_')));
    assert.deepEqual(fieldsNotVisible(spec({ fields: [{ field: 'retail_total', name: 'x' }] }), 'subscriber'), ['retail_total'], 'a subscriber never gets a spec');
  });

  test('bad specs are refused with the path of the mistake', () => {
    const bad = (input: unknown) => {
      const r = readRecordSpec(input);
      assert.equal(r.ok, false);
      return r.ok ? {} : r.errors;
    };
    assert.ok(bad({ fields: [] }).fields);
    assert.match(bad({ fields: [{ field: 'nonsense', name: 'x' }] })['fields.0.field'] ?? '', /not a field/);
    assert.match(bad({ fields: [{ field: 'literal', name: 'x' }] })['fields.0.value'] ?? '', /needs its text/);
    assert.match(bad({ fields: [{ field: 'leg_id', name: 'x' }], timeZone: 'Mars/Olympus' }).timeZone ?? '', /not a time zone/);
    assert.ok(bad({ fields: [{ field: 'leg_id', name: 'x' }], delimiter: '"' }).delimiter);
    assert.ok(bad({ fields: [{ field: 'leg_id', name: 'x' }], charset: 'EBCDIC' }).charset);
    assert.match(bad({ fields: [{ field: 'leg_id', name: 'x' }], layout: 'fixed' })['fields.0.width'] ?? '', /width/);
    assert.match(bad({ fields: [{ field: 'start_time', name: 'x', width: 10 }], layout: 'fixed', dateFormat: 'iso8601' })['fields.0.width'] ?? '', /25 characters/);
    assert.ok(bad({ fields: [{ field: 'leg_id', name: 'x' }], bom: true, charset: 'ISO-8859-1' }).bom);
    assert.ok(bad({ fields: [{ field: 'leg_id', name: 'x' }], unknownOption: 1 }).spec);
    const ok = readRecordSpec({ fields: [{ field: 'leg_id', name: 'x' }], timeZone: 'us/eastern' });
    assert.ok(ok.ok && ok.spec.timeZone === 'America/New_York', 'zones are stored by their canonical name');
  });

  test('every preset is a valid spec a reseller may hold, and formats a leg', () => {
    assert.deepEqual(RECORD_PRESETS.map((p) => p.key), ['plain', 'sipwise', 'cgrates']);
    for (const p of RECORD_PRESETS) {
      const s = presetSpec(p, 'Europe/Berlin');
      assert.equal(s.timeZone, 'Europe/Berlin');
      assert.ok(readRecordSpec(s).ok, p.key);
      const line = formatLeg(compileSpec(s), leg());
      assert.ok(line && line.endsWith('\n'), p.key);
    }
    const plain = presetSpec(RECORD_PRESETS[0]!);
    assert.equal(plain.fields.length, CATALOGUE.length, 'the plain preset has every field');
  });

  test('the Sipwise and CGRateS layouts map our words onto theirs', () => {
    const sip = compileSpec(presetSpec(RECORD_PRESETS[1]!));
    const [head, row] = parse(headerLine(sip)! + formatLeg(sip, leg({ disposition: 'no_answer', answered: false, answerMs: null, billableSeconds: 0 }))!) as string[][];
    const r = Object.fromEntries(head!.map((h, i) => [h, row![i]]));
    assert.equal(r.call_status, 'noanswer');
    assert.equal(r.init_time, String(Date.UTC(2026, 11, 7, 14, 0, 0) / 1000));
    assert.equal(r.start_time, '');
    assert.equal(r.rating_status, 'ok');
    const cgr = compileSpec(presetSpec(RECORD_PRESETS[2]!));
    const [h2, row2] = parse(headerLine(cgr)! + formatLeg(cgr, leg())!) as string[][];
    const c = Object.fromEntries(h2!.map((h, i) => [h, row2![i]]));
    assert.equal(c.Direction, '*out');
    assert.equal(c.Tor, '*voice');
    assert.equal(c.SetupTime, '2026-12-07T14:00:00+00:00');
    assert.equal(c.Cost, '0.0506');
    assert.equal(formatLeg(cgr, leg({ status: 'unrated', retail: null })), null, 'CGRateS exports rated CDRs only');
  });
});

describe('delimited text', () => {
  const awkward = [
    'Smith, Jones & Co',
    'He said "hi"',
    'two\nlines',
    'carriage\r\nreturn',
    'Müller Ødegård 東京',
    '  spaces  ',
    '',
    'back\\slash',
    '=cmd|calc',
    ';semi|pipe\ttab',
  ];
  const legs = awkward.map((name, i) => leg({ id: i + 1, subscriberName: name, callId: `c,${i}"` }));

  for (const delimiter of [',', ';', '\t', '|'] as const) {
    for (const lineEnding of ['LF', 'CRLF'] as const) {
      for (const quoting of ['minimal', 'all'] as const) {
        test(`parsed back equals the source (delimiter ${JSON.stringify(delimiter)}, ${lineEnding}, quoting ${quoting})`, () => {
          const out = text({ fields: [{ field: 'leg_id', name: 'id' }, { field: 'subscriber_name', name: 'Name, full' }, { field: 'call_id', name: 'call "id"' }], delimiter, lineEnding, quoting }, legs);
          if (lineEnding === 'CRLF') assert.ok(out.split('\r\n').length > legs.length, 'CRLF line ends');
          else assert.ok(!out.replace(/"[^"]*"/g, '').includes('\r'), 'no CR outside quotes with LF');
          const rows = parse(out, { delimiter, record_delimiter: lineEnding === 'CRLF' ? '\r\n' : '\n', relax_column_count: false }) as string[][];
          assert.deepEqual(rows[0], ['id', 'Name, full', 'call "id"']);
          assert.deepEqual(rows.slice(1), legs.map((l) => [String(l.id), l.subscriberName, l.callId]));
        });
      }
    }
  }

  test('minimal quoting quotes only what needs it; all quotes every value, empty ones too', () => {
    const one = [leg({ subscriberName: 'plain' }), leg({ subscriberName: 'a,b' }), leg({ subscriberName: '' })];
    assert.equal(text({ fields: [{ field: 'subscriber_name', name: 'n' }], header: false }, one), 'plain\n"a,b"\n\n');
    assert.equal(text({ fields: [{ field: 'subscriber_name', name: 'n' }], header: false, quoting: 'all' }, one), '"plain"\n"a,b"\n""\n');
  });

  test('no quoting escapes backslash, delimiter, LF and CR with a backslash, and reads back unambiguously', () => {
    const legs2 = awkward.map((name, i) => leg({ id: i, subscriberName: name }));
    const out = text({ fields: [{ field: 'leg_id', name: 'id' }, { field: 'subscriber_name', name: 'name' }], quoting: 'none', header: false }, legs2);
    assert.equal(out.split('\n').length - 1, legs2.length, 'one physical line per leg');
    assert.ok(out.includes('Smith\\, Jones & Co'));
    assert.ok(out.includes('He said "hi"'), 'quotes stay as they are');
    // Read back: split on unescaped delimiters, then unescape.
    const back = out.split('\n').slice(0, -1).map((l) => l.split(/(?<!\\)(?:\\\\)*,/).length === 2 ? l : l)
      .map((l) => {
        const cells: string[] = [];
        let cur = '';
        for (let i = 0; i < l.length; i++) {
          const ch = l[i]!;
          if (ch === '\\') {
            const n = l[++i]!;
            cur += n === 'n' ? '\n' : n === 'r' ? '\r' : n;
          } else if (ch === ',') {
            cells.push(cur);
            cur = '';
          } else cur += ch;
        }
        cells.push(cur);
        return cells;
      });
    assert.deepEqual(back, legs2.map((l) => [String(l.id), l.subscriberName]));
  });

  test('a header row or not; column names are the spec’s own', () => {
    const s = { fields: [{ field: 'leg_id', name: 'Ident' }, { field: 'literal', name: 'Kind', value: 'voice' }] };
    assert.equal(text({ ...s, header: true }, [leg()]), 'Ident,Kind\n101,voice\n');
    assert.equal(text({ ...s, header: false }, [leg()]), '101,voice\n');
  });

  test('value maps replace written values; values not named pass through', () => {
    const s = { fields: [{ field: 'disposition', name: 'd', map: { answered: 'ANS', busy: 'BSY' } as Record<string, string> }, { field: 'answered', name: 'a', map: { true: 'Y', false: 'N' } as Record<string, string> }], header: false };
    assert.equal(text(s, [leg(), leg({ disposition: 'busy', answered: false }), leg({ disposition: 'failed', answered: false })]), 'ANS,Y\nBSY,N\nfailed,N\n');
  });

  test('the formula guard, when asked for, marks text cells but never amounts', () => {
    const s = { fields: [{ field: 'calling_number', name: 'n' }, { field: 'retail_total', name: 't' }], header: false, decimalPlaces: 2 };
    const credit = leg({ retail: { ...leg().retail!, total: '-1.5' } });
    assert.equal(text({ ...s, formulaGuard: true }, [credit]), "'+12125550100,-1.50\n");
    assert.equal(text(s, [credit]), '+12125550100,-1.50\n', 'off by default: programs read E.164 as it is');
  });
});

describe('numbers and money', () => {
  test('money is rounded half-up from the stored decimal text, exactly, with the chosen places and separator', () => {
    assert.equal(formatMoney('0.0550000000', 2, '.'), '0.06');
    assert.equal(formatMoney('0.0549999999', 2, '.'), '0.05');
    assert.equal(formatMoney('2.5', 0, '.'), '3');
    assert.equal(formatMoney('-2.5', 0, '.'), '-3');
    assert.equal(formatMoney('123456789012345.1234567891', 10, ','), '123456789012345,1234567891', 'beyond a double: exact');
    assert.equal(formatMoney('0.1', 4, '.'), '0.1000');
    // 0.1 + 0.2 style trouble never appears: amounts are never JS numbers.
    assert.equal(formatMoney('0.3000000000', 1, '.'), '0.3');
    assert.equal(formatRate('1.000000000000', '.'), '1');
    assert.equal(formatRate('0.920000000000', ','), '0,92');
  });

  test('exchange rates written by their digits are what Decimal writes', () => {
    const rates = ['0', '0.0', '1', '1.000000000000', '10', '100.000', '0.920000000000', '1.250000000001', '0.000000000001', '123456789012345678.5000', '-1.50', '1e3'];
    let seed = 777;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
    for (let i = 0; i < 3000; i++) {
      let frac = '';
      for (let k = 0, n = next() % 13; k < n; k++) frac += String(next() % 4 === 0 ? 0 : next() % 10);
      rates.push(`${next() % 3 === 0 ? '0' : String(next() % 10000)}${frac ? `.${frac}` : ''}`);
    }
    for (const r of rates) {
      assert.equal(formatRate(r, '.'), new Decimal(r).toFixed(), r);
      assert.equal(formatRate(r, ','), new Decimal(r).toFixed().replace('.', ','), r);
    }
  });

  test('money rounded by its digits is what Decimal writes, carries and edges included', () => {
    // formatMoney rounds plain non-negative amounts by their digits (no Decimal per amount): the
    // same text as Decimal#toFixed half-up, for edges and for many generated amounts.
    const edges = ['0', '0.0', '9', '9.5', '0.99995', '9.99995', '99999.9999999999', '0.00005', '0.00004999', '1.00005', '5', '0.5', '123.4500000000', '10', '10.0000000001'];
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
    const amounts = [...edges];
    for (let i = 0; i < 5000; i++) {
      const int = next() % 4 === 0 ? '0' : String(next() % 100000);
      const fracLen = next() % 12;
      let frac = '';
      for (let k = 0; k < fracLen; k++) frac += String(next() % 3 === 0 ? 9 : next() % 10);
      amounts.push(frac ? `${int}.${frac}` : int);
    }
    for (const a of amounts) {
      for (const places of [0, 1, 2, 4, 6, 10]) {
        assert.equal(formatMoney(a, places, '.'), new Decimal(a).toFixed(places, Decimal.ROUND_HALF_UP), `${a} to ${places}`);
      }
    }
    // Signs and exponents still go through Decimal.
    assert.equal(formatMoney('-0.00005', 4, '.'), new Decimal('-0.00005').toFixed(4, Decimal.ROUND_HALF_UP));
    assert.equal(formatMoney('1e-7', 6, ','), '0,000000');
  });

  test('a decimal comma is quoted in a comma-separated file, and read back whole', () => {
    const out = text({ fields: [{ field: 'retail_total', name: 'total' }, { field: 'retail_exchange_rate', name: 'fx' }], decimalSeparator: ',', decimalPlaces: 3 }, [leg()]);
    assert.equal(out, 'total,fx\n"0,055","0,92"\n');
    assert.deepEqual(parse(out), [['total', 'fx'], ['0,055', '0,92']]);
  });

  test('missing charges write empty cells, never zero', () => {
    assert.equal(text({ fields: [{ field: 'wholesale_total', name: 'w' }, { field: 'retail_package_seconds', name: 'p' }, { field: 'answer_time', name: 'a' }], header: false }, [leg({ wholesale: null, retail: null, answerMs: null })]), ',,\n');
  });

  test('durations: billable seconds and end minus start', () => {
    assert.equal(text({ fields: [{ field: 'billable_seconds', name: 'b' }, { field: 'duration_seconds', name: 'd' }], header: false }, [leg()]), '120,125\n');
  });
});

describe('times, zones and DST', () => {
  // America/New_York: DST starts 2026-03-08 at 02:00 EST (07:00 UTC), ends 2026-11-01 at 02:00 EDT (06:00 UTC).
  const ny = 'America/New_York';
  test('ISO 8601 carries the right offset on both sides of the spring change', () => {
    assert.equal(formatInstant(Date.UTC(2026, 2, 8, 6, 59, 59), 'iso8601', ny), '2026-03-08T01:59:59-05:00');
    assert.equal(formatInstant(Date.UTC(2026, 2, 8, 7, 0, 0), 'iso8601', ny), '2026-03-08T03:00:00-04:00');
  });
  test('the repeated hour of the autumn change is told apart by its offset', () => {
    assert.equal(formatInstant(Date.UTC(2026, 10, 1, 5, 30, 0), 'iso8601', ny), '2026-11-01T01:30:00-04:00');
    assert.equal(formatInstant(Date.UTC(2026, 10, 1, 6, 30, 0), 'iso8601', ny), '2026-11-01T01:30:00-05:00');
    assert.equal(formatInstant(Date.UTC(2026, 10, 1, 6, 30, 0), 'YYYY-MM-DD HH:mm:ss', ny), '2026-11-01 01:30:00');
  });
  test('southern hemisphere and half-hour zones', () => {
    assert.equal(formatInstant(Date.UTC(2026, 0, 15, 12, 0, 0), 'iso8601', 'Australia/Sydney'), '2026-01-15T23:00:00+11:00');
    assert.equal(formatInstant(Date.UTC(2026, 6, 15, 12, 0, 0), 'iso8601', 'Australia/Sydney'), '2026-07-15T22:00:00+10:00');
    assert.equal(formatInstant(Date.UTC(2026, 6, 15, 12, 0, 0), 'iso8601', 'Asia/Kolkata'), '2026-07-15T17:30:00+05:30');
    assert.equal(formatInstant(Date.UTC(2026, 6, 15, 12, 0, 0), 'iso8601', 'America/St_Johns'), '2026-07-15T09:30:00-02:30');
  });
  test('every named pattern, and epochs that ignore the zone; a leg crossing midnight local', () => {
    const ms = Date.UTC(2026, 11, 7, 4, 5, 6, 789);
    const cases: Array<[Parameters<typeof formatInstant>[1], string]> = [
      ['iso8601', '2026-12-06T23:05:06-05:00'],
      ['YYYY-MM-DD HH:mm:ss', '2026-12-06 23:05:06'],
      ['YYYY-MM-DDTHH:mm:ss', '2026-12-06T23:05:06'],
      ['DD/MM/YYYY HH:mm:ss', '06/12/2026 23:05:06'],
      ['MM/DD/YYYY HH:mm:ss', '12/06/2026 23:05:06'],
      ['YYYYMMDDHHmmss', '20261206230506'],
      ['epoch', String(Math.floor(ms / 1000))],
      ['epoch_ms', String(ms)],
    ];
    for (const [format, expected] of cases) assert.equal(formatInstant(ms, format, ny), expected, format);
    assert.equal(formatInstant(ms, 'epoch', 'Asia/Tokyo'), formatInstant(ms, 'epoch', 'UTC'));
  });
  test('a spec writes every time field in its own zone', () => {
    const out = text({ fields: [{ field: 'start_time', name: 's' }, { field: 'end_time', name: 'e' }], header: false, timeZone: 'Europe/Berlin', dateFormat: 'YYYY-MM-DD HH:mm:ss' }, [leg()]);
    assert.equal(out, '2026-12-07 15:00:00,2026-12-07 15:02:05\n');
  });
});

describe('filters', () => {
  test('directions, statuses and answered only', () => {
    const f = (x: Partial<{ directions: string[]; statuses: string[]; answeredOnly: boolean }>) => spec({ fields: [{ field: 'leg_id', name: 'i' }], filter: { directions: [], statuses: [], answeredOnly: false, ...x } as never }).filter;
    assert.ok(legPasses(f({}), leg({ direction: null })), 'no filter: every leg, unclassified ones too');
    assert.ok(!legPasses(f({ directions: ['inbound'] }), leg()));
    assert.ok(legPasses(f({ directions: ['inbound', 'outbound'] }), leg()));
    assert.ok(!legPasses(f({ directions: ['outbound'] }), leg({ direction: null })));
    assert.ok(!legPasses(f({ statuses: ['unrated'] }), leg()));
    assert.ok(legPasses(f({ statuses: ['rated', 'partial'] }), leg({ status: 'partial' })));
    assert.ok(!legPasses(f({ answeredOnly: true }), leg({ answered: false })));
    const file = formatFile(spec({ fields: [{ field: 'leg_id', name: 'i' }], header: false, filter: { directions: [], statuses: [], answeredOnly: true } }), [leg({ id: 1 }), leg({ id: 2, answered: false }), leg({ id: 3 })]);
    assert.equal(file.bytes.toString(), '1\n3\n');
    assert.equal(file.records, 2);
  });
});

describe('fixed width', () => {
  const fixed = (fields: RecordSpecInput['fields'], legs: LegRecord[], extra: Partial<RecordSpecInput> = {}) => text({ layout: 'fixed', header: false, fields, ...extra }, legs);

  test('widths, alignment (text left, numbers right by default) and padding characters', () => {
    const out = fixed([
      { field: 'leg_id', name: 'id', width: 6, pad: '0' },
      { field: 'account_number', name: 'acct', width: 6 },
      { field: 'retail_total', name: 'total', width: 8 },
      { field: 'disposition', name: 'd', width: 10, align: 'right', pad: '.' },
    ], [leg()], { decimalPlaces: 3 });
    assert.equal(out, '0001011001     0.055..answered\n');
  });

  test('every line has the same length, whatever the values', () => {
    const fields = [{ field: 'subscriber_name', name: 'n', width: 12 }, { field: 'called_number', name: 'c', width: 16 }, { field: 'start_time', name: 's', width: 19 }];
    const out = fixed(fields, [leg(), leg({ subscriberName: 'X', calledNumber: null }), leg({ subscriberName: 'Müller,\n"Co"' })], { dateFormat: 'YYYY-MM-DD HH:mm:ss' });
    const lines = out.split('\n').slice(0, -1);
    assert.equal(lines.length, 3, 'a newline inside a value never breaks a line');
    for (const l of lines) assert.equal([...l].length, 47);
    assert.ok(lines[2]!.startsWith('Müller, "Co"'));
  });

  test('a text value longer than its width is cut to it; a number, amount or date never is', () => {
    assert.equal(fixed([{ field: 'subscriber_name', name: 'n', width: 4 }], [leg({ subscriberName: 'Jonathan' })]), 'Jona\n');
    assert.equal(fixed([{ field: 'literal', name: 'k', value: 'VOICECALL', width: 5 }], [leg()]), 'VOICE\n');
    assert.throws(() => fixed([{ field: 'retail_total', name: 't', width: 4 }], [leg({ id: 7 })], { decimalPlaces: 4 }), (e: unknown) => e instanceof FieldOverflowError && e.field === 'retail_total' && e.legId === 7 && /0\.0550/.test(e.message));
    assert.throws(() => fixed([{ field: 'leg_id', name: 'i', width: 2 }], [leg({ id: 12345 })]), FieldOverflowError);
    assert.throws(() => fixed([{ field: 'start_time', name: 's', width: 9 }], [leg()], { dateFormat: 'epoch' }), FieldOverflowError);
  });

  test('the header row is fitted to the widths too', () => {
    const out = text({ layout: 'fixed', header: true, fields: [{ field: 'leg_id', name: 'IDENTIFIER', width: 4 }, { field: 'account_number', name: 'AC', width: 5 }] }, [leg()]);
    assert.equal(out, 'IDENAC   \n 1011001 \n');
  });

  test('widths count characters, and in a single-byte charset a line is exactly as many bytes', () => {
    const s = spec({ layout: 'fixed', header: false, charset: 'ISO-8859-1', fields: [{ field: 'subscriber_name', name: 'n', width: 10 }, { field: 'leg_id', name: 'i', width: 4 }] });
    const bytes = formatFile(s, [leg({ subscriberName: 'Ødegård' }), leg({ subscriberName: '東京 Łódź' })]).bytes;
    assert.equal(bytes.length, 2 * 15);
    assert.equal(bytes.toString('latin1'), 'Ødegård    101\n?? ?ódz    101\n');
  });
});

describe('character sets', () => {
  test('UTF-8 holds every name; a byte order mark only when asked', () => {
    const s = spec({ fields: [{ field: 'subscriber_name', name: 'Név' }] });
    const out = formatFile(s, [leg({ subscriberName: 'Zoë 東京 🎉' })]).bytes;
    assert.equal(out.toString('utf8'), 'Név\nZoë 東京 🎉\n');
    const bom = formatFile(spec({ fields: [{ field: 'leg_id', name: 'i' }], bom: true }), []).bytes;
    assert.deepEqual([...bom.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
  });

  test('ISO-8859-1: accents kept, others stripped of accents when that fits, else "?"', () => {
    assert.equal(fitCharset('Müller Ødegård', 'ISO-8859-1'), 'Müller Ødegård');
    assert.equal(fitCharset('Őry Čapek', 'ISO-8859-1'), 'Ory Capek');
    assert.equal(fitCharset('Łódź €5 東京', 'ISO-8859-1'), '?ódz ?5 ??');
    const bytes = encodeText(fitCharset('Müller €', 'ISO-8859-1'), 'ISO-8859-1');
    assert.deepEqual([...bytes], [0x4d, 0xfc, 0x6c, 0x6c, 0x65, 0x72, 0x20, 0x3f]);
  });

  test('Windows-1252: the euro sign, curly quotes and Š fit (code page bytes 0x80-0x9F); its C1 gaps do not', () => {
    assert.equal(fitCharset('€ “Šime” – Łódź', 'Windows-1252'), '€ “Šime” – ?ódz');
    // Bytes from the published code page (Microsoft's cp1252 table).
    const known: Array<[string, number]> = [['€', 0x80], ['‚', 0x82], ['ƒ', 0x83], ['…', 0x85], ['Š', 0x8a], ['Œ', 0x8c], ['Ž', 0x8e], ['‘', 0x91], ['“', 0x93], ['”', 0x94], ['–', 0x96], ['—', 0x97], ['™', 0x99], ['š', 0x9a], ['ž', 0x9e], ['Ÿ', 0x9f], ['é', 0xe9], ['ÿ', 0xff]];
    for (const [ch, byte] of known) assert.deepEqual([...encodeText(fitCharset(ch, 'Windows-1252'), 'Windows-1252')], [byte], ch);
    // U+0081 is a C1 control: ISO-8859-1 holds it, Windows-1252 (unassigned 0x81) does not.
    assert.equal(fitCharset('\u0081', 'Windows-1252'), '?');
    assert.equal(fitCharset('\u0081', 'ISO-8859-1'), '\u0081');
    assert.equal(fitCharset('€', 'ISO-8859-1'), '?');
  });

  test('a whole file in ISO-8859-1 reads back as the names with the rule applied, quoted right', () => {
    const names = ['Åsa, "Lund"', 'Dvořák', 'José\nMaría'];
    const s = spec({ fields: [{ field: 'subscriber_name', name: 'name' }], charset: 'ISO-8859-1' });
    const bytes = formatFile(s, names.map((n, i) => leg({ id: i, subscriberName: n }))).bytes;
    const rows = parse(bytes.toString('latin1')) as string[][];
    assert.deepEqual(rows.slice(1).map((r) => r[0]), ['Åsa, "Lund"', 'Dvorák', 'José\nMaría']);
  });
});

describe('streaming', () => {
  test('header and lines written one at a time equal the whole file', () => {
    const s = spec({ fields: CATALOGUE.map((f) => ({ field: f.id, name: f.label })), charset: 'Windows-1252', lineEnding: 'CRLF' });
    const legs = Array.from({ length: 50 }, (_, i) => leg({ id: i, subscriberName: i % 2 ? 'Łukasz, "the" Great' : 'Ann' }));
    const c = compileSpec(s);
    const parts = [fileStart(c)];
    for (const l of legs) parts.push(encodeText(formatLeg(c, l)!, s.charset));
    assert.deepEqual(Buffer.concat(parts), formatFile(s, legs).bytes);
    const rows = parse(Buffer.concat(parts).toString('latin1'), { record_delimiter: '\r\n' }) as string[][];
    assert.equal(rows.length, 51);
    assert.equal(rows[2]![CATALOGUE.findIndex((f) => f.id === 'subscriber_name')], '?ukasz, "the" Great');
  });

  test('the plain preset parsed back equals the legs field by field', () => {
    const s = presetSpec(RECORD_PRESETS[0]!, 'UTC');
    const legs = [leg(), leg({ id: 2, wholesale: null, retail: null, status: 'unrated', reason: 'no rate, for "44"', answerMs: null, answered: false, subscriberName: 'O\'Brien, "Pat"\nJr' })];
    const rows = parse(formatFile(s, legs).bytes.toString(), { columns: true }) as Array<Record<string, string>>;
    assert.equal(rows.length, 2);
    for (const [i, l] of legs.entries()) {
      const r = rows[i]!;
      assert.equal(r.leg_id, String(l.id));
      assert.equal(r.subscriber_name, l.subscriberName);
      assert.equal(r.unrated_reason, l.reason ?? '');
      assert.equal(r.start_time, new Date(l.startMs).toISOString().replace('.000Z', '+00:00'));
      assert.equal(r.retail_total, l.retail ? formatMoney(l.retail.total, 4, '.') : '');
      assert.equal(r.answered, String(l.answered));
    }
  });
});

describe('the specification form', async () => {
  const { readSpecForm, specFormValues } = await import('../../src/modules/record-specs/record-specs.schemas');
  const { FieldErrors } = await import('../../src/domain/errors');
  const base = (over: Record<string, unknown> = {}) => ({
    name: 'Mine', period: 'daily', layout: 'delimited', delimiter: 'tab', quoting: 'minimal', line_ending: 'CRLF', header: 'on', charset: 'UTF-8',
    date_format: 'epoch', time_zone: 'Europe/Paris', decimal_places: '2', decimal_separator: ',',
    f_0_field: 'leg_id', f_0_name: 'ID', f_0_order: '2',
    f_1_field: '', f_1_name: 'dropped', f_1_order: '1',
    f_2_field: 'disposition', f_2_name: 'D', f_2_order: '1', f_2_map: 'answered=ok; busy = BSY',
    f_3_field: 'literal', f_3_name: 'K', f_3_order: '3', f_3_value: 'voice',
    ...over,
  });

  test('rows are ordered by their numbers, blank ones dropped; checkboxes, repeated values and maps read', () => {
    const r = readSpecForm(base({ directions: ['outbound', 'forwarded'], statuses: 'rated', answered_only: 'on' }));
    assert.deepEqual(r.spec.fields.map((f) => f.name), ['D', 'ID', 'K']);
    assert.deepEqual(r.spec.fields[0]!.map, { answered: 'ok', busy: 'BSY' });
    assert.equal(r.spec.delimiter, '\t');
    assert.equal(r.spec.lineEnding, 'CRLF');
    assert.deepEqual(r.spec.filter, { directions: ['outbound', 'forwarded'], statuses: ['rated'], answeredOnly: true });
    assert.equal(r.spec.header, true);
    assert.equal(r.spec.bom, false);
    // And back: the form's values of the spec read as the same spec.
    assert.deepEqual(readSpecForm(specFormValues(r, r.spec) as Record<string, unknown>).spec, r.spec);
  });

  test('errors name the form field they belong to, by row', () => {
    try {
      readSpecForm(base({ name: '', time_zone: 'Nowhere', layout: 'fixed', f_0_width: 'x', f_2_map: 'oops', f_3_value: undefined, f_3_field: 'literal' }));
      assert.fail('must refuse');
    } catch (err) {
      assert.ok(err instanceof FieldErrors);
      const f = (err as InstanceType<typeof FieldErrors>).fields;
      assert.ok(f.name, 'name');
      assert.match(f.f_0_width ?? '', /whole number/);
      assert.match(f.f_2_map ?? '', /value=text/);
      assert.ok(f.time_zone, 'time zone');
    }
  });
});
