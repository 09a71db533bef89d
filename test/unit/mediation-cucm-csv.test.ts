import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import type { AdapterContext, AdapterResult, NormalisedLeg } from '../../src/domain/legs/leg';
import { ADAPTERS, MediationError, parseCucmCsv } from '../../src/domain/mediation';

const FIXTURES = path.resolve(__dirname, '../fixtures/cdr');
const FILE = fs.readFileSync(path.join(FIXTURES, 'cucm', 'cdr.txt'), 'utf8');
const ctx: AdapterContext = { timeZone: 'UTC', countryCode: '1' };

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const legsOf = (r: AdapterResult) => r.records.flatMap((x) => (x.ok ? x.legs : []));
const view = (l: NormalisedLeg) => ({ ...l, startMs: iso(l.startMs), answerMs: iso(l.answerMs), endMs: iso(l.endMs) });

/** The fixture's rows: header, type row, and its answered on-net call as a template for new records. */
const [HEADER, TYPES, , , CALL] = parse(FILE) as string[][];
const quoted = (fields: string[]) => fields.map((f) => `"${f.replace(/"/g, '""')}"`).join(',');
/** The fixture's answered call with some fields changed (by name), as a CDR line. */
function record(changes: Record<string, string>): string {
  const fields = [...(CALL as string[])];
  for (const [name, value] of Object.entries(changes)) {
    const i = (HEADER as string[]).indexOf(name);
    assert.ok(i >= 0, `no field ${name}`);
    fields[i] = value;
  }
  return quoted(fields);
}
const file = (...records: string[]) => [quoted(HEADER as string[]), quoted(TYPES as string[]), ...records].join('\r\n') + '\r\n';
const unanswered = { dateTimeConnect: '0', duration: '0', dateTimeDisconnect: '1744993940' };

describe('cucm-csv: the sieteunoseis sample file (header row, type row, three CDRs)', () => {
  const result = parseCucmCsv(FILE, 'text/csv', ctx);

  test('one outcome per CDR; the header and type rows are not records', () => {
    assert.equal(result.records.length, 3);
    assert.ok(result.records.every((r) => r.ok && r.legs.length === 1));
  });

  test('the 11 s on-net call: times in UTC from epoch seconds, numbers from the calling and final called party', () => {
    const call = legsOf(result).find((l) => l.callId === '2-25447') as NormalisedLeg;
    assert.deepEqual(view(call), {
      legKey: '2-25447-47874239-47874240',
      callId: '2-25447',
      callingNumber: '+15033466594',
      calledNumber: '+15033466593',
      rawCalling: '5033466594',
      rawCalled: '5033466593',
      startMs: '2025-04-18T16:32:08.000Z',
      answerMs: '2025-04-18T16:32:10.000Z',
      endMs: '2025-04-18T16:32:21.000Z',
      billableSeconds: 11,
      answered: true,
      disposition: 'answered',
      switchCause: 'orig 16, dest 0',
      trunk: null, // both sides are phones (SEP<MAC>)
      redirectingNumber: null,
      accountCode: null,
    });
  });

  test('the two recording legs never connected (dateTimeConnect 0): unanswered, 0 billable, the cause kept as sent', () => {
    const rec = legsOf(result).filter((l) => l.callId !== '2-25447');
    assert.deepEqual(
      rec.map((l) => [l.legKey, l.answered, l.answerMs, l.billableSeconds, l.disposition, l.switchCause, l.callingNumber, l.rawCalling]),
      [
        ['2-25449-47874246-47874248', false, null, 0, 'failed', 'orig 0, dest 1459617833', null, 'b002179144511001'],
        ['2-25448-47874243-47874250', false, null, 0, 'failed', 'orig 0, dest 1459617833', null, 'b002179144411001'],
      ],
    );
  });

  test('the same file without its type row gives the same legs; a re-post gives the same keys', () => {
    const lines = FILE.split(/\r?\n/);
    const noTypes = [lines[0], ...lines.slice(2)].join('\n');
    assert.deepEqual(legsOf(parseCucmCsv(noTypes, undefined, ctx)), legsOf(result));
    assert.deepEqual(legsOf(ADAPTERS['cucm-csv'].parse(FILE, undefined, ctx)).map((l) => l.legKey), legsOf(result).map((l) => l.legKey));
  });
});

describe('cucm-csv: legs and calls', () => {
  test('a transfer writes three CDRs with one Global Call ID: three legs (by leg identifiers), one call', () => {
    const body = file(
      record({ origLegCallIdentifier: '100', destLegIdentifier: '101', origCallTerminationOnBehalfOf: '10' }),
      record({ origLegCallIdentifier: '102', destLegIdentifier: '103' }),
      record({ origLegCallIdentifier: '101', destLegIdentifier: '103', joinOnBehalfOf: '10' }),
    );
    const legs = legsOf(parseCucmCsv(body, undefined, ctx));
    assert.deepEqual(legs.map((l) => l.legKey), ['2-25447-100-101', '2-25447-102-103', '2-25447-101-103']);
    assert.deepEqual(new Set(legs.map((l) => l.callId)), new Set(['2-25447']));
  });

  test('the same callId from two nodes of the cluster is two calls (callManagerId is half of the Global Call ID)', () => {
    const legs = legsOf(parseCucmCsv(file(record({ globalCallID_callManagerId: '1' }), record({ globalCallID_callManagerId: '3' })), undefined, ctx));
    assert.deepEqual(legs.map((l) => [l.legKey, l.callId]), [['1-25447-47874239-47874240', '1-25447'], ['3-25447-47874239-47874240', '3-25447']]);
  });

  test('a forwarded call: called = final called party, redirecting = lastRedirectDn; trunk = the gateway; account code = client matter code', () => {
    const [l] = legsOf(parseCucmCsv(file(record({
      originalCalledPartyNumber: '5033466593', finalCalledPartyNumber: '912125550199', lastRedirectDn: '5033466593', destDeviceName: 'PSTN-Eugene-RVBv4c1', clientMatterCode: '4711',
    })), undefined, { timeZone: 'UTC', countryCode: '1' }));
    assert.ok(l);
    assert.deepEqual([l.rawCalled, l.redirectingNumber, l.trunk, l.accountCode], ['912125550199', '+15033466593', 'PSTN-Eugene-RVBv4c1', '4711']);
    // The same number called and final: not redirected, whatever lastRedirectDn says (the fixture's call).
    const [plain] = legsOf(parseCucmCsv(file(record({})), undefined, ctx));
    assert.equal(plain?.redirectingNumber, null);
  });

  test('an inbound call from a gateway: its device is the trunk; Jabber clients are not trunks', () => {
    const [fromGw] = legsOf(parseCucmCsv(file(record({ origDeviceName: 'SHBCrouter1', destDeviceName: 'CSFJSMITH' })), undefined, ctx));
    assert.equal(fromGw?.trunk, 'SHBCrouter1');
  });

  test('CMR and start records (cdrRecordType 2, 0) give no leg and no error', () => {
    const r = parseCucmCsv(file(record({ cdrRecordType: '2' }), record({ cdrRecordType: '0' })), undefined, ctx);
    assert.deepEqual(r.records.map((x) => x.ok && x.legs.length), [0, 0]);
  });
});

describe('cucm-csv: disposition from the Q.850 cause of the side that cleared', () => {
  const cases: Array<[Record<string, string>, string, string]> = [
    [{ origCause_value: '0', destCause_value: '17' }, 'busy', 'orig 0, dest 17'],
    [{ origCause_value: '0', destCause_value: '19' }, 'no_answer', 'orig 0, dest 19'],
    [{ origCause_value: '0', destCause_value: '18' }, 'no_answer', 'orig 0, dest 18'],
    [{ origCause_value: '16', destCause_value: '0' }, 'cancelled', 'orig 16, dest 0'],
    [{ origCause_value: '0', destCause_value: '1' }, 'failed', 'orig 0, dest 1'],
    [{ origCause_value: '0', destCause_value: '34' }, 'failed', 'orig 0, dest 34'],
    [{ origCause_value: '0', destCause_value: '0' }, 'failed', 'orig 0, dest 0'],
    [{ origCause_value: '393216', destCause_value: '0' }, 'failed', 'orig 393216, dest 0'],
  ];
  for (const [causes, expected, cause] of cases) {
    test(`never connected, ${cause}: ${expected}`, () => {
      const [l] = legsOf(parseCucmCsv(file(record({ ...unanswered, ...causes })), undefined, ctx));
      assert.deepEqual([l?.answered, l?.billableSeconds, l?.disposition, l?.switchCause], [false, 0, expected, cause]);
    });
  }

  test('connected: answered whatever the cause (a normal hang-up by either side)', () => {
    const [l] = legsOf(parseCucmCsv(file(record({ origCause_value: '0', destCause_value: '16' })), undefined, ctx));
    assert.deepEqual([l?.answered, l?.disposition, l?.switchCause], [true, 'answered', 'orig 0, dest 16']);
  });
});

describe('cucm-csv: refusals', () => {
  test('a body without the header row is refused as a whole, saying the header is expected', () => {
    const lines = FILE.split(/\r?\n/).filter((l) => l !== '');
    assert.throws(() => parseCucmCsv(lines.slice(2).join('\n'), undefined, ctx), (e: unknown) => e instanceof MediationError && /header row/.test(e.message));
    assert.throws(() => parseCucmCsv('', undefined, ctx), MediationError);
  });

  test('a CMR file (no dateTimeOrigination in its header) is refused as a whole', () => {
    assert.throws(() => parseCucmCsv('"cdrRecordType","globalCallID_callManagerId","globalCallID_callId","callIdentifier"\n2,2,25447,47874239\n', undefined, ctx), (e: unknown) => e instanceof MediationError && /dateTimeOrigination|datetimeorigination/i.test(e.message));
  });

  test('a bad record is refused alone with its line; the others are read', () => {
    const body = file(record({ dateTimeOrigination: 'yesterday' }), record({}), record({ dateTimeDisconnect: '1744990000' }), quoted(['1', '2']));
    const r = parseCucmCsv(body, undefined, ctx);
    assert.deepEqual(r.records.map((x) => (x.ok ? 'ok' : x.error)), [
      'line 3: dateTimeOrigination "yesterday" is not a whole number of seconds since 1970',
      'ok',
      'line 5: dateTimeDisconnect 2025-04-18T15:26:40.000Z is before dateTimeOrigination 2025-04-18T16:32:08.000Z',
      `line 6: the row has 2 fields, the header ${(HEADER as string[]).length}`,
    ]);
  });
});
