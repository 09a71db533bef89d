import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AdapterContext, NormalisedLeg } from '../../src/domain/legs/leg';
import { ADAPTERS, MediationError, parseGenericJson } from '../../src/domain/mediation';

const ctx: AdapterContext = { timeZone: 'America/New_York', countryCode: '1' };
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const outcomes = (body: unknown) => parseGenericJson(typeof body === 'string' ? body : JSON.stringify(body), 'application/json', ctx).records.map((r) => (r.ok ? r.legs : r.error));

const answeredOut = {
  leg_id: 'a1f3-01',
  call_id: 'a1f3',
  calling: '+12125550100',
  called: '+442071234567',
  start: '2024-05-01T09:30:00-04:00',
  answer: '2024-05-01T09:30:07-04:00',
  end: '2024-05-01T09:34:12.4-04:00',
  disposition: 'answered',
  direction: 'outbound',
  trunk: 'carrier-a',
  account_code: 'acct-9',
};
const busy = { leg_id: 'a1f4-01', calling: '2125550100', called: '3125550199', start: '2024-05-01T13:40:00Z', end: '2024-05-01T13:40:25Z', disposition: 'busy' };

describe('generic-json', () => {
  test('the documented example: an answered outbound leg and a busy attempt', () => {
    const r = parseGenericJson(JSON.stringify({ records: [answeredOut, busy] }), 'application/json', ctx);
    assert.deepEqual(r.records.map((x) => x.index), [0, 1]);
    const [a, b] = r.records.map((x) => (x.ok ? (x.legs[0] as NormalisedLeg) : assert.fail(x.error)));
    assert.deepEqual({ ...a, startMs: iso(a!.startMs), answerMs: iso(a!.answerMs), endMs: iso(a!.endMs) }, {
      legKey: 'a1f3-01',
      callId: 'a1f3',
      callingNumber: '+12125550100',
      calledNumber: '+442071234567',
      rawCalling: '+12125550100',
      rawCalled: '+442071234567',
      startMs: '2024-05-01T13:30:00.000Z',
      answerMs: '2024-05-01T13:30:07.000Z',
      endMs: '2024-05-01T13:34:12.400Z',
      billableSeconds: 246, // 245.4 s rounded up
      answered: true,
      disposition: 'answered',
      switchCause: null, // the generic formats speak our vocabulary: no word of a switch's own
      platformDirection: 'outbound',
      trunk: 'carrier-a',
      redirectingNumber: null,
      accountCode: 'acct-9',
    });
    assert.deepEqual([b!.legKey, b!.callId, b!.answered, b!.answerMs, b!.billableSeconds, b!.disposition, b!.callingNumber, iso(b!.endMs), 'platformDirection' in b!], ['a1f4-01', 'a1f4-01', false, null, 0, 'busy', '+12125550100', '2024-05-01T13:40:25.000Z', false]);
  });

  test('one object, an array and { records } are the same records; raw is each record', () => {
    const single = parseGenericJson(JSON.stringify(busy), undefined, ctx);
    const array = parseGenericJson(JSON.stringify([busy]), undefined, ctx);
    const envelope = parseGenericJson(JSON.stringify({ records: [busy] }), undefined, ctx);
    assert.deepEqual(single.records.map((r) => r.ok && r.legs), array.records.map((r) => r.ok && r.legs));
    assert.deepEqual(array.records, envelope.records);
    assert.equal(array.records[0]?.raw, JSON.stringify(busy));
    assert.deepEqual(parseGenericJson(JSON.stringify([]), undefined, ctx).records, []);
  });

  test('defaults: disposition from answer, billsec from end − answer, call_id from leg_id; given billsec wins', () => {
    const [legs] = outcomes([{ leg_id: 'x', called: '2125550100', start: '2024-05-01T09:30:00+02:00', answer: '2024-05-01T09:30:01.5+02:00', billsec: 30, redirecting: '+12125550111', direction: 'inbound' }]) as [NormalisedLeg[]];
    assert.deepEqual(legs.map((l) => [l.answered, l.disposition, l.billableSeconds, l.callId, l.endMs, l.redirectingNumber, l.platformDirection, l.rawCalling, l.callingNumber]), [[true, 'answered', 30, 'x', null, '+12125550111', 'inbound', '', null]]);
    const [legs2] = outcomes([{ leg_id: 'y', called: '2125550100', start: '2024-05-01T07:30:00Z', answer: '2024-05-01T07:30:00Z', end: '2024-05-01T07:30:00.001Z', billsec: '1', calling: null, trunk: '' }]) as [NormalisedLeg[]];
    assert.deepEqual(legs2.map((l) => [l.billableSeconds, l.trunk, l.rawCalling]), [[1, null, '']]);
  });

  test('refusals name the record index and every bad field; the other records still give legs', () => {
    const got = outcomes([
      busy,
      { leg_id: 'b', called: 12, start: '2024-05-01 09:30', bilsec: 3, disposition: 'ok' },
      { leg_id: 'c', called: '3125550199', start: '2024-05-01T09:30:00Z', disposition: 'busy', answer: '2024-05-01T09:30:05Z', billsec: 4 },
      { leg_id: 'd', called: '3125550199', start: '2024-05-01T09:30:00Z', answer: '2024-05-01T09:29:00Z', end: '2024-05-01T09:31:00Z' },
      { leg_id: 'e', called: '3125550199', start: '2024-05-01T09:30:00Z', disposition: 'answered' },
      { leg_id: 'f', called: '3125550199', start: '2024-05-01T09:30:00Z', answer: '2024-05-01T09:30:00Z', end: '2024-05-01T09:30:10Z', billsec: 11 },
      { called: '3125550199', start: '2024-05-01T09:30:00Z', billsec: -1, direction: 'sideways' },
      { leg_id: 'a1f4-01', called: '3125550199', start: '2024-05-01T09:30:00Z' },
      [1],
    ]);
    assert.equal(Array.isArray(got[0]), true);
    assert.deepEqual(got.slice(1), [
      'record 1: called must be a string; start "2024-05-01 09:30" is not an ISO 8601 time with a UTC offset, e.g. 2024-05-01T09:30:00+02:00 or 2024-05-01T07:30:00Z; disposition "ok" is not one of answered, no_answer, busy, failed, cancelled; unknown field "bilsec" (the fields are leg_id, call_id, calling, called, start, answer, end, billsec, disposition, direction, trunk, redirecting, account_code)',
      'record 2: answer is set but disposition is busy; billsec is 4 but disposition is busy',
      'record 3: answer 2024-05-01T09:29:00.000Z is before start 2024-05-01T09:30:00.000Z',
      'record 4: answer is required when disposition is answered',
      'record 5: billsec 11 is more than end − answer (10 s)',
      'record 6: leg_id is required; billsec -1 is not a whole, non-negative number of seconds; direction "sideways" is not inbound or outbound',
      'record 7: leg_id "a1f4-01" is already used by record 0 of this post',
      'record 8: expected a record object, got an array',
    ]);
  });

  test('a start without an offset is refused: we cannot guess the sender zone', () => {
    assert.match(String(outcomes({ leg_id: 'z', called: '2125550100', start: '2024-05-01T09:30:00' })[0]), /^record 0: start "2024-05-01T09:30:00" is not an ISO 8601 time with a UTC offset/);
  });

  test('whole-body errors: invalid JSON (line and column), wrong envelope', () => {
    assert.throws(() => parseGenericJson('{\n  "records": [\n    {"leg_id": "a",}\n  ]\n}', undefined, ctx), (e: unknown) => e instanceof MediationError && e.line === 3 && /^generic-json: not valid JSON at line 3, column \d+/.test(e.message));
    assert.throws(() => parseGenericJson('{"records": {}}', undefined, ctx), /"records" must be an array/);
    assert.throws(() => parseGenericJson('{"records": [], "platform": "x"}', undefined, ctx), /unknown top-level field "platform" beside "records"/);
    assert.throws(() => parseGenericJson('"hello"', undefined, ctx), /must be a record object, an array of records, or \{ "records": \[\.\.\.\] \}/);
    assert.throws(() => parseGenericJson('', undefined, ctx), /the body is empty/);
    assert.equal(ADAPTERS['generic-json'].parse, parseGenericJson);
  });

  test('parsing twice gives the same keys', () => {
    const body = JSON.stringify({ records: [answeredOut, busy] });
    const keys = () => parseGenericJson(body, undefined, ctx).records.flatMap((r) => (r.ok ? r.legs.map((l) => l.legKey) : []));
    assert.deepEqual(keys(), keys());
    assert.deepEqual(keys(), ['a1f3-01', 'a1f4-01']);
  });
  test('a leg longer than a week is refused with the reason (a week exactly is billed)', () => {
    const week = { ...answeredOut, answer: '2024-05-01T09:30:00-04:00', end: '2024-05-08T09:30:00-04:00' };
    const more = { ...week, leg_id: 'long-1', end: '2024-05-08T09:30:01-04:00' };
    const [ok, refused] = outcomes([week, more]);
    assert.equal((ok as NormalisedLeg[])[0]?.billableSeconds, 604800);
    assert.match(refused as string, /leg long-1 lasts 604801 s, more than a call can \(604800 s, 7 days\)/);
  });
});
