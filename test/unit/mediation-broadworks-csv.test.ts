import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { AdapterContext, NormalisedLeg } from '../../src/domain/legs/leg';
import { splitBroadworksLine } from '../../src/domain/mediation/broadworks-csv';
import { ADAPTERS, parseBroadworksCsv } from '../../src/domain/mediation';

const FIXTURES = path.resolve(__dirname, '../fixtures/cdr');
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const ctx: AdapterContext = { timeZone: 'America/New_York', countryCode: '1' };

/** Attribute number -> name, from the FreeRADIUS BroadSoft dictionary (attribute number = CDR field number). */
const dictionary = new Map(
  [...fs.readFileSync(path.join(FIXTURES, 'broadworks', 'radius-dictionary.broadsoft'), 'utf8').matchAll(/^ATTRIBUTE\s+(\S+)\s+(\d+)\s/gm)].map((m) => [m[1] as string, Number(m[2])]),
);
const F = (name: string): number => {
  const n = dictionary.get(name);
  assert.ok(n !== undefined, `${name} is not in the dictionary`);
  return n;
};

/** One BroadWorks CDR line: fields by dictionary name, commas and backslashes escaped as BroadWorks does. */
function record(values: Record<string, string>, fieldCount = 160): string {
  const fields = Array<string>(fieldCount).fill('');
  for (const [name, value] of Object.entries(values)) fields[F(name) - 1] = value;
  return fields.map((v) => v.replace(/\\/g, '\\\\').replace(/,/g, '\\,')).join(',');
}

const common = { 'Service-provider': 'AcmeResellerSP', 'Group-Number': '+12125550100', 'User-Timezone': '1-040000', 'Network-Type': 'VoIP', Codec: 'PCMU/8000', Group: 'Acme Corp' };

// 1. Originating, off-net: +1 212 555 0100 calls London through the network (route = SBC).
const originating = record({
  ...common,
  'Record-id': '0002a4f1b2c320240501133000.1231-040000',
  Type: 'Normal',
  'User-Number': '+12125550100',
  Direction: 'Originating',
  'Calling-Number': '+12125550100',
  'Calling-Presentation-Indic': 'Public',
  'Called-Number': '+442071234567',
  'Start-Time': '20240501133000.123',
  'Answer-Indic': 'Yes',
  'Answer-Time': '20240501133007.456',
  'Release-Time': '20240501133412.789',
  'Termination-Cause': '016',
  'Dialed-Digits': '011442071234567',
  'Call-Category': 'international',
  'Releasing-Party': 'local',
  Route: '198.51.100.20:5060',
  'Network-Callid': 'BW1330001230105242@198.51.100.20',
  'Account-Code': '7001',
  'Local-Callid': '1000001:0',
});

// 2 + 3. On-net: 0100 calls 0101; an Originating record for A and a Terminating one for B, paired by
// localCallId / remoteCallId, no networkCallID.
const onnetA = record({
  ...common,
  'Record-id': '0002a4f1b2c420240501140000.0001-040000',
  Type: 'Normal',
  'User-Number': '+12125550100',
  Direction: 'Originating',
  'Calling-Number': '+12125550100',
  'Called-Number': '2125550101',
  'Start-Time': '20240501140000.000',
  'Answer-Indic': 'Yes',
  'Answer-Time': '20240501140003.000',
  'Release-Time': '20240501140103.000',
  'Termination-Cause': '016',
  'Local-Callid': '2000002:0',
  'Remote-Callid': '2000003:0',
});
const onnetB = record({
  ...common,
  'Record-id': '0002a4f1b2c520240501140000.0002-040000',
  Type: 'Normal',
  'User-Number': '+12125550101',
  Direction: 'Terminating',
  'Calling-Number': '+12125550100',
  'Called-Number': '+12125550101',
  'Start-Time': '20240501140000.010',
  'Answer-Indic': 'Yes',
  'Answer-Time': '20240501140003.000',
  'Release-Time': '20240501140103.000',
  'Termination-Cause': '016',
  'Local-Callid': '2000003:0',
  'Remote-Callid': '2000002:0',
});

// 4. Unanswered: a PSTN caller rings 0101, nobody answers (Q.850 19).
const unanswered = record({
  ...common,
  'Record-id': '0002a4f1b2c620240501150000.0003-040000',
  Type: 'Normal',
  'User-Number': '+12125550101',
  Direction: 'Terminating',
  'Calling-Number': '+14155550123',
  'Called-Number': '+12125550101',
  'Start-Time': '20240501150000.500',
  'Answer-Indic': 'No',
  'Release-Time': '20240501150030.250',
  'Termination-Cause': '019',
  'Network-Callid': 'pstn-in-778899@203.0.113.9',
  'Local-Callid': '3000004:0',
});

// 5. Redirected: the PSTN caller rings 0102, who forwards everything (CFA) to +1 312 555 0199;
// answered after redirection. The caller's name has a comma, escaped as \, in the file.
const redirectedTerminating = record({
  ...common,
  'Record-id': '0002a4f1b2c720240501160000.0004-040000',
  Type: 'Normal',
  'User-Number': '+12125550102',
  Direction: 'Terminating',
  'Calling-Number': '+14155550123',
  'Called-Number': '+12125550102',
  'Start-Time': '20240501160000.000',
  'Answer-Indic': 'Yes-PostRedirection',
  'Answer-Time': '20240501160009.100',
  'Release-Time': '20240501160130.000',
  'Termination-Cause': '016',
  'Network-Callid': 'pstn-in-998877@203.0.113.9',
  'Account-Code': 'ACME\\7',
  'Original-Called-Number': '+12125550102',
  'Original-Called-Reason': 'unconditional',
  'Redirecting-Number': '+12125550102',
  'Redirecting-Reason': 'unconditional',
  'Local-Callid': '4000005:0',
  'Other-Party-Name': 'Smith, John',
  'Related-CallId': '4000006:0',
  'Related-CallId-Reason': 'Call Forward Always',
});
const forwardedLeg = record({
  ...common,
  'Record-id': '0002a4f1b2c820240501160000.0005-040000',
  Type: 'Normal',
  'User-Number': '+12125550102',
  Direction: 'Originating',
  'Calling-Number': '+14155550123',
  'Called-Number': '+13125550199',
  'Start-Time': '20240501160000.050',
  'Answer-Indic': 'Yes',
  'Answer-Time': '20240501160009.100',
  'Release-Time': '20240501160130.000',
  'Termination-Cause': '016',
  Route: '198.51.100.20:5060',
  'Network-Callid': 'bw-out-445566@198.51.100.20',
  'Original-Called-Number': '+12125550102',
  'Original-Called-Reason': 'unconditional',
  'Redirecting-Number': '+12125550102',
  'Redirecting-Reason': 'unconditional',
  'Local-Callid': '4000006:0',
  'Related-CallId': '4000005:0',
  'Related-CallId-Reason': 'Call Forward Always',
  'Trunk-Group-Name': 'Acme, PBX trunk',
});

// 6. Not call records: the file's Start record and a Long Duration (interim) record.
const fileStart = ['0002a4f1b2c900000000000000.0000-000000', 'bwcdr01', 'Start', '20240501000000.000'].join(',');
const longDuration = record({ ...common, 'Record-id': '0002a4f1b2ca20240501170000.0006-040000', Type: 'Long Duration', 'User-Number': '+12125550100', Direction: 'Originating', 'Start-Time': '20240501170000.000', 'Local-Callid': '5000007:0' });

const body = [fileStart, originating, onnetA, onnetB, unanswered, redirectedTerminating, forwardedLeg, longDuration].join('\n') + '\n';
const view = (l: NormalisedLeg) => ({ ...l, startMs: iso(l.startMs), answerMs: iso(l.answerMs), endMs: iso(l.endMs) });

describe('broadworks-csv', () => {
  const result = parseBroadworksCsv(body, 'text/csv', ctx);
  const legOf = (i: number) => {
    const r = result.records[i];
    assert.ok(r?.ok, r && !r.ok ? r.error : 'missing');
    assert.equal(r.legs.length, 1);
    return view(r.legs[0] as NormalisedLeg);
  };

  test('the test records put each value at its dictionary field number, \\, kept inside values', () => {
    const f = splitBroadworksLine(redirectedTerminating);
    assert.equal(f.length, 160);
    assert.equal(f[F('Other-Party-Name') - 1], 'Smith, John');
    assert.equal(f[F('Account-Code') - 1], 'ACME\\7');
    assert.equal(f[F('Local-Callid') - 1], '4000005:0');
    assert.deepEqual([F('Type'), F('Direction'), F('Answer-Indic'), F('Network-Callid'), F('Local-Callid'), F('Redirecting-Number')], [3, 6, 12, 25, 45, 39]);
  });

  test('one outcome per line; non-Normal records are skipped without an error', () => {
    assert.equal(result.records.length, 8);
    assert.deepEqual(result.records[0], { ok: true, index: 0, raw: fileStart, legs: [] });
    assert.deepEqual(result.records[7], { ok: true, index: 7, raw: longDuration, legs: [] });
  });

  test('Originating off-net call: UTC times, billable = release − answer rounded up', () => {
    assert.deepEqual(legOf(1), {
      legKey: '1000001:0',
      callId: 'BW1330001230105242@198.51.100.20',
      callingNumber: '+12125550100',
      calledNumber: '+442071234567',
      rawCalling: '+12125550100',
      rawCalled: '+442071234567',
      startMs: '2024-05-01T13:30:00.123Z',
      answerMs: '2024-05-01T13:30:07.456Z',
      endMs: '2024-05-01T13:34:12.789Z',
      billableSeconds: 246, // 245.333 s
      answered: true,
      disposition: 'answered',
      switchCause: '016',
      platformDirection: 'originating',
      trunk: '198.51.100.20:5060',
      redirectingNumber: null,
      accountCode: '7001',
    });
  });

  test('on-net call: the Originating and the Terminating record share a callId', () => {
    const a = legOf(2);
    const b = legOf(3);
    assert.equal(a.callId, b.callId);
    assert.equal(a.callId, '2000002:0');
    assert.deepEqual([a.legKey, a.platformDirection, a.calledNumber, a.billableSeconds], ['2000002:0', 'originating', '+12125550101', 60]);
    assert.deepEqual([b.legKey, b.platformDirection, b.callingNumber, b.billableSeconds, b.startMs], ['2000003:0', 'terminating', '+12125550100', 60, '2024-05-01T14:00:00.010Z']);
  });

  test('unanswered Terminating record: no answer time, 0 billable seconds', () => {
    const l = legOf(4);
    assert.deepEqual([l.answered, l.answerMs, l.billableSeconds, l.endMs, l.disposition, l.switchCause, l.platformDirection, l.callId], [false, null, 0, '2024-05-01T15:00:30.250Z', 'no_answer', '019', 'terminating', 'pstn-in-778899@203.0.113.9']);
  });

  test('Yes-PostRedirection: answered, with the redirecting number; the forwarded leg carries it too', () => {
    const t = legOf(5);
    assert.deepEqual([t.answered, t.billableSeconds, t.redirectingNumber, t.accountCode, t.legKey, t.callingNumber, t.calledNumber], [true, 81, '+12125550102', 'ACME\\7', '4000005:0', '+14155550123', '+12125550102']);
    const fwd = legOf(6);
    assert.deepEqual([fwd.platformDirection, fwd.calledNumber, fwd.redirectingNumber, fwd.trunk, fwd.billableSeconds, fwd.legKey], ['originating', '+13125550199', '+12125550102', '198.51.100.20:5060', 81, '4000006:0']);
  });

  test('parsing twice gives the same keys; keys are unique', () => {
    const keys = (r: typeof result) => r.records.flatMap((x) => (x.ok ? x.legs.map((l) => l.legKey) : []));
    assert.deepEqual(keys(parseBroadworksCsv(body, undefined, ctx)), keys(result));
    assert.equal(new Set(keys(result)).size, keys(result).length);
  });

  test('bad Normal records are refused alone with their line', () => {
    const lines = [
      originating.replace(',20240501133000.123,', ',2024-05-01 13:30,'),
      onnetA.replace(',20240501140003.000,', ',,'),
      '0002,sp,Normal,+12125550100',
      ',sp,,+12125550100',
      onnetB,
    ];
    const r = parseBroadworksCsv(lines.join('\r\n'), undefined, ctx);
    assert.deepEqual(r.records.map((x) => (x.ok ? 'ok' : x.error)), [
      'line 1: startTime (field 10) "2024-05-01 13:30" is not a YYYYMMDDhhmmss.mmm time',
      'line 2: answerIndicator is Yes but answerTime (field 13) is empty',
      'line 3: a Normal record needs at least 14 fields, this one has 4',
      'line 4: type (field 3) is empty',
      'ok',
    ]);
    assert.equal(ADAPTERS['broadworks-csv'].parse, parseBroadworksCsv);
  });
});
