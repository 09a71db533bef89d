import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AdapterContext } from '../../src/domain/legs/leg';
import { parseGenericCsv, parseGenericJson } from '../../src/domain/mediation';
import { parseCompactUtc, parseLocalDateTime } from '../../src/domain/mediation/common';

const ctx: AdapterContext = { timeZone: 'America/New_York', countryCode: '1' };
const errorOf = (r: { ok: boolean; error?: string }) => (r.ok ? 'accepted' : r.error);

describe('mediation: times that do not exist are refused by the one date rule, with why', () => {
  test('generic JSON and CSV: 2026-02-30 and 24:61 are named, not called malformed', () => {
    const json = parseGenericJson(JSON.stringify([
      { leg_id: 'a', called: '+12125550100', start: '2026-02-30T10:00:00Z' },
      { leg_id: 'b', called: '+12125550100', start: '2026-01-01T10:00:00Z', answer: '2026-01-01T24:61:00Z', billsec: 5 },
      { leg_id: 'c', called: '+12125550100', start: '2026-01-01T10:00:00+25:00' },
    ]), undefined, ctx).records.map(errorOf);
    assert.deepEqual(json, [
      'record 0: start "2026-02-30T10:00:00Z" is not a real date: February 2026 has 28 days',
      'record 1: answer "2026-01-01T24:61:00Z" is not a real time: 24:61:00 (hours go to 23, minutes and seconds to 59)',
      'record 2: start "2026-01-01T10:00:00+25:00" is not a real time: offset +25:00 (hours go to 23, minutes to 59)',
    ]);
    const csv = parseGenericCsv('leg_id,called,start\nx,+12125550100,2026-04-31T08:00:00-04:00\n', 'text/csv', ctx).records.map(errorOf);
    assert.equal(csv.length, 1);
    assert.match(csv[0] as string, /start "2026-04-31T08:00:00-04:00" is not a real date: April 2026 has 30 days/);
  });

  test('switch wall-clock and compact times: impossible fields give no time at all', () => {
    assert.equal(parseLocalDateTime('2026-02-30 10:00:00', 'UTC'), null);
    assert.equal(parseLocalDateTime('2026-01-01 23:60:00', 'UTC'), null);
    assert.equal(parseLocalDateTime('2026-01-01 10:00', 'UTC'), null, 'seconds are required of switches');
    assert.equal(parseLocalDateTime('2026-07-01 10:00:00.5', 'America/New_York'), Date.parse('2026-07-01T14:00:00.500Z'));
    assert.equal(parseCompactUtc('20260230100000'), null);
    assert.equal(parseCompactUtc('20260101240000'), null);
    assert.equal(parseCompactUtc('20260228235959.250'), Date.parse('2026-02-28T23:59:59.250Z'));
  });
});
