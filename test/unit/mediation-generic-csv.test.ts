import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AdapterContext, NormalisedLeg } from '../../src/domain/legs/leg';
import { ADAPTERS, MediationError, parseGenericCsv, parseGenericJson } from '../../src/domain/mediation';

const ctx: AdapterContext = { timeZone: 'Europe/London', countryCode: '44' };
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

// The example of docs/CDR-GENERIC.md.
const example = [
  'leg_id,call_id,calling,called,start,answer,end,billsec,disposition,direction,trunk',
  'a1f3-01,a1f3,+12125550100,+442071234567,2024-05-01T09:30:00-04:00,2024-05-01T09:30:07-04:00,2024-05-01T09:34:12-04:00,,answered,outbound,carrier-a',
  'a1f4-01,,+12125550100,+13125550199,2024-05-01T09:40:00-04:00,,2024-05-01T09:40:25-04:00,,busy,outbound,carrier-a',
  'b200-01,b200,+13125550111,+12125550100,2024-05-01T10:00:00Z,2024-05-01T10:00:04Z,,60,answered,inbound,',
].join('\r\n');

const legsOf = (body: string) =>
  parseGenericCsv(body, 'text/csv', ctx).records.map((r) => {
    assert.ok(r.ok, r.ok ? '' : r.error);
    return r.legs[0] as NormalisedLeg;
  });

describe('generic-csv', () => {
  test('the documented example', () => {
    const [a, b, c] = legsOf(example) as [NormalisedLeg, NormalisedLeg, NormalisedLeg];
    assert.deepEqual([a.legKey, a.callId, iso(a.startMs), iso(a.answerMs), iso(a.endMs), a.billableSeconds, a.answered, a.platformDirection, a.trunk], ['a1f3-01', 'a1f3', '2024-05-01T13:30:00.000Z', '2024-05-01T13:30:07.000Z', '2024-05-01T13:34:12.000Z', 245, true, 'outbound', 'carrier-a']);
    assert.deepEqual([b.legKey, b.callId, b.answered, b.billableSeconds, b.disposition, b.answerMs], ['a1f4-01', 'a1f4-01', false, 0, 'busy', null]);
    assert.deepEqual([c.billableSeconds, c.endMs, c.platformDirection, c.trunk, c.calledNumber], [60, null, 'inbound', null, '+12125550100']);
  });

  test('the same records in JSON give the same legs', () => {
    const [header, ...lines] = example.split('\r\n');
    const names = (header as string).split(',');
    const records = lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [names[i], v])));
    const fromJson = parseGenericJson(JSON.stringify(records), undefined, ctx).records.map((r) => (r.ok ? r.legs[0] : r.error));
    assert.deepEqual(fromJson, legsOf(example));
  });

  test('columns in any order, a subset, quoted cells; national numbers use the platform country code', () => {
    const body = 'start,called,leg_id,calling,answer,end\n"2024-07-01T09:00:00+01:00","020 7123 4567","l-1","07700 900123","2024-07-01T09:00:05+01:00","2024-07-01T09:01:05+01:00"\n';
    const [l] = legsOf(body) as [NormalisedLeg];
    assert.deepEqual([l.calledNumber, l.callingNumber, l.rawCalled, l.billableSeconds, iso(l.startMs)], ['+442071234567', '+447700900123', '020 7123 4567', 60, '2024-07-01T08:00:00.000Z']);
  });

  test('a bad row is refused with its index and line; the others give legs', () => {
    const body = `${example}\nx-9,,,,2024-05-01T09:40:00Z,,,,maybe,,\nb200-01,,,+13125550111,2024-05-01T09:40:00Z,,,,,,,extra\n`;
    const r = parseGenericCsv(body, undefined, ctx).records;
    assert.equal(r.length, 5);
    assert.ok(r.slice(0, 3).every((x) => x.ok));
    assert.deepEqual(r.slice(3).map((x) => (x.ok ? 'ok' : x.error)), [
      'record 3 (line 5): called is required; disposition "maybe" is not one of answered, no_answer, busy, failed, cancelled',
      'record 4 (line 6): the row has more cells than the header has columns (11)',
    ]);
    assert.equal(r[3]?.raw, 'x-9,,,,2024-05-01T09:40:00Z,,,,maybe,,');
    const dup = parseGenericCsv(`${example}\nb200-01,,,+13125550111,2024-05-01T09:40:00Z,,,,,,\n`, undefined, ctx).records[3];
    assert.equal(dup?.ok ? '' : dup?.error, 'record 3 (line 5): leg_id "b200-01" is already used by record 2 (line 4) of this post');
  });

  test('whole-body errors: unknown or missing columns, repeated columns, broken quoting, empty body', () => {
    assert.throws(() => parseGenericCsv('leg_id,called,start,bilsec\n', undefined, ctx), (e: unknown) => e instanceof MediationError && e.line === 1 && /^generic-csv: unknown column "bilsec" in the header row/.test(e.message));
    assert.throws(() => parseGenericCsv('leg_id,calling\nx,1\n', undefined, ctx), /the header row has no "called", "start" columns \(required\)/);
    assert.throws(() => parseGenericCsv('leg_id,called,start,called\n', undefined, ctx), /header column "called" appears twice \(columns 2 and 4\)/);
    assert.throws(() => parseGenericCsv('leg_id,called,start\nx,"2125550100,2024-01-01T00:00:00Z\n', undefined, ctx), (e: unknown) => e instanceof MediationError && /^generic-csv: not valid CSV at line \d+/.test(e.message));
    assert.throws(() => parseGenericCsv('', undefined, ctx), /the body is empty \(a header row is expected\)/);
    assert.equal(ADAPTERS['generic-csv'].parse, parseGenericCsv);
  });

  test('parsing twice gives the same keys', () => {
    assert.deepEqual(legsOf(example).map((l) => l.legKey), legsOf(example).map((l) => l.legKey));
  });
});
