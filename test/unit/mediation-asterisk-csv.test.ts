import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { AdapterContext, AdapterResult, NormalisedLeg } from '../../src/domain/legs/leg';
import { asteriskTrunk } from '../../src/domain/mediation/asterisk-csv';
import { ADAPTERS, MediationError, parseAsteriskCsv } from '../../src/domain/mediation';

const FIXTURES = path.resolve(__dirname, '../fixtures/cdr');
const read = (name: string) => fs.readFileSync(path.join(FIXTURES, 'asterisk', name), 'utf8');
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

// The testsuite machines ran on UTC: uniqueid 1270167992.0 (channel creation, epoch seconds) is
// 2010-04-02T00:26:32Z and the row's start is "2010-04-02 00:26:32".
const ctx: AdapterContext = { timeZone: 'UTC', countryCode: '1' };

function legsOf(result: AdapterResult): NormalisedLeg[] {
  return result.records.flatMap((r) => {
    assert.ok(r.ok, r.ok ? '' : `record ${r.index} refused: ${r.error}`);
    return r.legs;
  });
}
const view = (l: NormalisedLeg) => ({ ...l, startMs: iso(l.startMs), answerMs: iso(l.answerMs), endMs: iso(l.endMs) });

describe('asterisk-csv: the testsuite Master.csv files', () => {
  test('Master.csv: two answered Console calls of 7 s, start = uniqueid time in UTC', () => {
    const legs = legsOf(parseAsteriskCsv(read('testsuite__lib_python_asterisk_self_test_Master.csv'), 'text/csv', ctx));
    assert.equal(legs.length, 2);
    const first = view(legs[0] as NormalisedLeg);
    assert.match(first.legKey, /^1270167992\.0:[0-9a-f]{16}$/);
    assert.deepEqual({ ...first, legKey: 'k' }, {
      legKey: 'k',
      callId: '1270167992.0',
      callingNumber: null,
      calledNumber: null, // dst "1" is an extension, not a number
      rawCalling: '',
      rawCalled: '1',
      startMs: '2010-04-02T00:26:32.000Z',
      answerMs: '2010-04-02T00:26:32.000Z',
      endMs: '2010-04-02T00:26:39.000Z',
      billableSeconds: 7,
      answered: true,
      disposition: 'answered',
      switchCause: 'ANSWERED',
      trunk: null,
      redirectingNumber: null,
      accountCode: null,
    });
    assert.equal('platformDirection' in first, false, 'Asterisk CDRs carry no direction');
    const second = view(legs[1] as NormalisedLeg);
    assert.deepEqual([second.callId, second.startMs, second.endMs, second.billableSeconds], ['1270168442.0', '2010-04-02T00:34:02.000Z', '2010-04-02T00:34:09.000Z', 7]);
    for (const l of legs) assert.equal(Math.floor(l.startMs / 1000), Number(l.callId.split('.')[0]));
  });

  test('Master2.csv repeats the first row of Master.csv: same legKey (a re-post is idempotent)', () => {
    const again = legsOf(parseAsteriskCsv(read('testsuite__lib_python_asterisk_self_test_Master2.csv'), undefined, ctx));
    const first = legsOf(parseAsteriskCsv(read('testsuite__lib_python_asterisk_self_test_Master.csv'), undefined, ctx))[0];
    assert.equal(again.length, 1);
    assert.deepEqual(again[0], first);
  });

  test('cdrlib good.csv: one call in five dispositions, five distinct legs of one call', () => {
    const result = parseAsteriskCsv(read('testsuite__asttest_self-tests_cdrlib_good.csv'), undefined, ctx);
    const legs = legsOf(result);
    assert.deepEqual(
      legs.map((l) => [l.disposition, l.switchCause, l.answered, l.billableSeconds, iso(l.answerMs)]),
      [
        ['answered', 'ANSWERED', true, 5, '2009-01-14T23:51:15.000Z'],
        ['answered', 'ANSWERED', true, 7, '2009-01-14T23:51:15.000Z'], // billsec 7 > duration 5 in the sample; billsec is what we bill
        ['failed', 'FAILED', false, 0, null],
        ['no_answer', 'NO ANSWER', false, 0, null],
        ['busy', 'BUSY', false, 0, null],
      ],
    );
    for (const l of legs) {
      assert.equal(l.callId, '1231977075.0');
      assert.equal(iso(l.startMs), '2009-01-14T23:51:15.000Z');
      assert.equal(iso(l.endMs), '2009-01-14T23:51:20.000Z');
      assert.equal(l.rawCalling, 'test'); // src; clid is "Test User" <test>
      assert.equal(l.callingNumber, null);
      assert.equal(l.rawCalled, '100');
    }
    // All five rows share uniqueid 1231977075.0: the key must still tell them apart.
    assert.equal(new Set(legs.map((l) => l.legKey)).size, 5);
    assert.deepEqual(legsOf(parseAsteriskCsv(read('testsuite__asttest_self-tests_cdrlib_good.csv'), undefined, ctx)).map((l) => l.legKey), legs.map((l) => l.legKey));
    assert.deepEqual(result.records.map((r) => r.raw.slice(0, 12)), Array(5).fill('"","test","1'));
  });

  test('the CEL files are not CDRs: each row is refused, saying so', () => {
    const r = parseAsteriskCsv(read('testsuite__lib_python_asterisk_self_test_CELMaster1.csv'), undefined, ctx);
    assert.ok(r.records.length > 0);
    for (const rec of r.records) assert.match(rec.ok ? '' : rec.error, /^line \d+: this is a CEL event row \([A-Z_]+\), not a CDR/);
  });
});

describe('asterisk-csv: layouts and rules', () => {
  // Modelled on testsuite_expected__cdr_console_dial_sip_transfer: Local/1 dials PJSIP/test (no
  // answer), then is answered by Local/3 - two CDRs with Party A's uniqueid.
  const row18 = (dst: string, disposition: string, answer: string, billsec: number) =>
    `"cdrtest_local","","1","default","""Alice"" <2125550100>","Local/1@default-00000001;2","${dst}","Dial","PJSIP/test","2024-03-10 01:59:50",${answer},"2024-03-10 03:00:20",${disposition === 'ANSWERED' ? 30 : 30},${billsec},"${disposition}","DOCUMENTATION","1710053990.12",""`;
  const ny: AdapterContext = { timeZone: 'America/New_York', countryCode: '1' };

  test('18 columns: rows with one uniqueid get distinct keys and one callId; times across the DST jump', () => {
    const body = [row18('PJSIP/test-00000002', 'NO ANSWER', '', 0), row18('Local/3@default-00000003;1', 'ANSWERED', '"2024-03-10 03:00:05"', 15)].join('\r\n') + '\r\n';
    const legs = legsOf(parseAsteriskCsv(body, undefined, ny));
    assert.equal(legs.length, 2);
    assert.notEqual(legs[0]?.legKey, legs[1]?.legKey);
    assert.ok(legs.every((l) => l.callId === '1710053990.12' && l.legKey.startsWith('1710053990.12:')));
    const [noAnswer, answered] = legs as [NormalisedLeg, NormalisedLeg];
    // 01:59:50 EST = 06:59:50Z; 03:00:20 EDT (after the 02:00 -> 03:00 jump) = 07:00:20Z.
    assert.deepEqual([iso(noAnswer.startMs), iso(noAnswer.answerMs), iso(noAnswer.endMs), noAnswer.answered, noAnswer.trunk], ['2024-03-10T06:59:50.000Z', null, '2024-03-10T07:00:20.000Z', false, 'test']);
    assert.deepEqual([iso(answered.answerMs), answered.billableSeconds, answered.trunk, answered.accountCode], ['2024-03-10T07:00:05.000Z', 15, null, 'cdrtest_local']);
    // src is empty, so the calling number comes from clid.
    assert.equal(noAnswer.callingNumber, '+12125550100');
    // Same row, different line ending and quoting of an integer: same key.
    const requoted = row18('PJSIP/test-00000002', 'NO ANSWER', '', 0).replace(',30,0,', ',"30","0",');
    assert.equal(legsOf(parseAsteriskCsv(requoted + '\n', undefined, ny))[0]?.legKey, noAnswer.legKey);
  });

  test('21 columns (newcdrcolumns): legKey = uniqueid:sequence, callId = linkedid', () => {
    const row = `"acct7","2125550100","442071234567","from-internal","""Bob"" <2125550100>","PJSIP/alice-0000000a","SIP/carrier-uk-0000001b","Dial","SIP/carrier-uk/442071234567","2024-07-01 09:30:00","2024-07-01 09:30:07","2024-07-01 09:34:12",252,245,"ANSWERED","BILLING","1719840600.77","","","1719840600.75",42`;
    const leg = legsOf(parseAsteriskCsv(row, undefined, ny))[0] as NormalisedLeg;
    assert.deepEqual(view(leg), {
      legKey: '1719840600.77:42',
      callId: '1719840600.75',
      callingNumber: '+12125550100',
      calledNumber: null, // "442071234567" without 011/00/+ is not a NANP number
      rawCalling: '2125550100',
      rawCalled: '442071234567',
      startMs: '2024-07-01T13:30:00.000Z',
      answerMs: '2024-07-01T13:30:07.000Z',
      endMs: '2024-07-01T13:34:12.000Z',
      billableSeconds: 245,
      answered: true,
      disposition: 'answered',
      switchCause: 'ANSWERED',
      trunk: 'carrier-uk',
      redirectingNumber: null,
      accountCode: 'acct7',
    });
  });

  test('16 columns: no uniqueid, so a stable hash of the row is key and callId', () => {
    const row = `"","2125550100","3125550199","default","","SIP/pbx-00000001","SIP/carrier-00000002","Dial","SIP/carrier/3125550199","2024-07-01 09:30:00","","2024-07-01 09:30:25",25,0,"BUSY","DOCUMENTATION"`;
    const a = legsOf(parseAsteriskCsv(row, undefined, ny))[0] as NormalisedLeg;
    const b = legsOf(parseAsteriskCsv(`${row}\n`, undefined, ny))[0] as NormalisedLeg;
    assert.match(a.legKey, /^row:[0-9a-f]{16}$/);
    assert.equal(a.legKey, b.legKey);
    assert.equal(a.callId, a.legKey);
    assert.deepEqual([a.answered, a.billableSeconds, a.calledNumber, a.trunk], [false, 0, '+13125550199', 'carrier']);
  });

  test('bad rows are refused alone, with their line; broken quoting refuses the body', () => {
    const good = `"","2125550100","3125550199","default","","SIP/a-1","","Dial","","2024-07-01 09:30:00","","2024-07-01 09:30:25",25,0,"NO ANSWER","DOCUMENTATION"`;
    const body = [good, good.replace('"2024-07-01 09:30:00"', '"01/07/2024 09:30"'), good.replace(',25,0,', ',25,x,'), '"a","b"'].join('\n');
    const r = parseAsteriskCsv(body, undefined, ny);
    assert.deepEqual(r.records.map((x) => (x.ok ? 'ok' : x.error)), [
      'ok',
      'line 2: start (column 10) "01/07/2024 09:30" is not a YYYY-MM-DD HH:MM:SS time',
      'line 3: billsec (column 14) "x" is not a whole number of seconds',
      'line 4: the row has 2 columns; cdr_csv rows have 16, 18 (uniqueid, userfield) or 21 (and peeraccount, linkedid, sequence)',
    ]);
    assert.throws(() => parseAsteriskCsv(`${good}\n"unterminated,1`, undefined, ny), (e: unknown) => e instanceof MediationError && /^asterisk-csv: not valid CSV at line 2/.test(e.message));
    assert.throws(() => parseAsteriskCsv(good, undefined, { timeZone: 'Mars/Base', countryCode: '1' }), /not a valid IANA time zone/);
  });

  test('trunk from the dialled channel', () => {
    assert.equal(asteriskTrunk('SIP/carrier-000001'), 'carrier');
    assert.equal(asteriskTrunk('PJSIP/carrier-uk-0000001b'), 'carrier-uk');
    assert.equal(asteriskTrunk('IAX2/peer-1234'), 'peer');
    assert.equal(asteriskTrunk('Local/3@default-00000003;1'), null);
    assert.equal(asteriskTrunk(''), null);
    assert.equal(ADAPTERS['asterisk-csv'].parse, parseAsteriskCsv);
  });
});
