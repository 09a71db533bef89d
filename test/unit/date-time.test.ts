import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseIsoInstant, readIsoDate, readIsoInstant, readWallDateTime } from '../../src/domain/time/date-time';

const reason = (r: ReturnType<typeof readIsoInstant>) => (r.ok ? `ok ${new Date(r.ms).toISOString()}` : `${r.impossible ? 'impossible' : 'malformed'}: ${r.reason}`);

describe('the one date rule: fields in range for their calendar, never rolled over', () => {
  test('instants with an offset are read exactly, seconds and fractions optional', () => {
    assert.equal(parseIsoInstant('2026-11-25T17:58:00-05:00'), Date.parse('2026-11-25T22:58:00Z'));
    assert.equal(parseIsoInstant('2026-11-25 12:00Z'), Date.parse('2026-11-25T12:00:00Z'));
    assert.equal(parseIsoInstant('2026-11-25T12:00:00.2509+0130'), Date.parse('2026-11-25T10:30:00.250Z'));
    assert.equal(parseIsoInstant('2028-02-29T00:00:00Z'), Date.parse('2028-02-29T00:00:00Z'), 'a leap day');
  });

  test('2026-02-30, 24:61, 24:00, second 60 and offset +25:00 are refused as impossible, with why', () => {
    assert.equal(reason(readIsoInstant('2026-02-30T10:00:00Z')), 'impossible: is not a real date: February 2026 has 28 days');
    assert.equal(reason(readIsoInstant('2100-02-29T10:00:00Z')), 'impossible: is not a real date: February 2100 has 28 days');
    assert.equal(reason(readIsoInstant('2026-13-01T10:00:00Z')), 'impossible: is not a real date: there is no month 13');
    assert.equal(reason(readIsoInstant('2026-01-01T24:61:00Z')), 'impossible: is not a real time: 24:61:00 (hours go to 23, minutes and seconds to 59)');
    assert.equal(readIsoInstant('2026-01-01T24:00:00Z').ok, false);
    assert.equal(readIsoInstant('2026-12-31T23:59:60Z').ok, false);
    assert.equal(reason(readIsoInstant('2026-01-01T00:00:00+25:00')), 'impossible: is not a real time: offset +25:00 (hours go to 23, minutes to 59)');
    // Date.parse rolls the first over to 2 March: this is what the rule is for.
    assert.equal(new Date(Date.parse('2026-02-30T10:00:00Z')).toISOString().slice(0, 10), '2026-03-02');
  });

  test('text of the wrong form is malformed, not impossible', () => {
    for (const bad of ['2026-01-01T10:00:00', '01/02/2026 10:00Z', 'tomorrow', '', '1764590400000']) {
      const r = readIsoInstant(bad);
      assert.ok(!r.ok && !r.impossible, bad);
    }
  });

  test('dates and zone-less date-times follow the same rule', () => {
    assert.equal(reason(readIsoDate('2026-02-28')), 'ok 2026-02-28T00:00:00.000Z');
    assert.equal(reason(readIsoDate('2026-02-30')), 'impossible: is not a real date: February 2026 has 28 days');
    assert.equal(reason(readIsoDate('2026-2-3')), 'malformed: is not a date YYYY-MM-DD');
    assert.equal(reason(readWallDateTime('2026-03-01 12:30')), 'ok 2026-03-01T12:30:00.000Z');
    assert.equal(readWallDateTime('2026-03-01 12:30', { seconds: 'required' }).ok, false);
    assert.equal(reason(readWallDateTime('2026-04-31 12:30:00')), 'impossible: is not a real date: April 2026 has 30 days');
    assert.equal(reason(readWallDateTime('0001-01-01 00:00')), 'ok 0001-01-01T00:00:00.000Z', 'years before 100 are not read as 19xx');
  });
});
