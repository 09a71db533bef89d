import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseEffectiveFrom, parsePrefix } from '../../src/domain/rating/deck';
import { readBandsCsv, readDeckCsv } from '../../src/modules/rate-plans/deck-csv';
import { DECK_HEADER } from '../support/rating';

const errorsOf = (csv: string) => {
  const r = readDeckCsv(`${DECK_HEADER}\n${csv}`, { timeZone: 'UTC' });
  return r.ok ? [] : r.errors.map((e) => `line ${e.line}: ${e.message}`);
};

describe('deck rows: prefixes and effective dates', () => {
  test('a prefix written with 00 or another access code is refused: no E.164 number starts with 0', () => {
    assert.deepEqual(errorsOf('0044,UK,outbound,,0,0.05,60,60,,,,\n+011,US,outbound,,0,0.01,60,60,,,,\n0,Zero,outbound,,0,0.01,60,60,,,,\n'), [
      'line 2: prefix "0044" starts with 0: write the country code without 00 or another access code (write 44), as E.164 numbers are matched',
      'line 3: prefix "+011" starts with 0: write the country code without 00 or another access code, as E.164 numbers are matched',
      'line 4: prefix "0" starts with 0: write the country code without 00 or another access code, as E.164 numbers are matched',
    ]);
  });

  test('a prefix with its + sign is the same prefix without it', () => {
    assert.deepEqual(parsePrefix(' +44 '), { ok: true, prefix: '44' });
    assert.deepEqual(parsePrefix('447'), { ok: true, prefix: '447' });
    assert.equal(parsePrefix('4 4').ok, false);
    assert.equal(parsePrefix('1234567890123456').ok, false);
  });

  test('an effective_from date-time on a day that does not exist is refused, not rolled over to 2 March', () => {
    assert.equal(parseEffectiveFrom('2026-02-30T00:00:00Z', 'UTC'), 'effective_from "2026-02-30T00:00:00Z" is not a real date: February 2026 has 28 days');
    assert.equal(parseEffectiveFrom('2026-03-01T24:00:00+01:00', 'UTC'), 'effective_from "2026-03-01T24:00:00+01:00" is not a real time: 24:00:00 (hours go to 23, minutes and seconds to 59)');
    assert.equal(parseEffectiveFrom('2026-02-30', 'UTC'), 'effective_from "2026-02-30" is not a real date: February 2026 has 28 days');
    assert.match(String(parseEffectiveFrom('next monday', 'UTC')), /must be a date \(YYYY-MM-DD\) or a date-time with offset/);
    assert.equal(parseEffectiveFrom('2026-03-01 00:00+01:00', 'UTC'), Date.parse('2026-02-28T23:00:00Z'));
    assert.equal(parseEffectiveFrom('2026-07-01', 'Europe/Berlin'), Date.parse('2026-06-30T22:00:00Z'));
    assert.deepEqual(errorsOf('44,UK,outbound,,0,0.05,60,60,,,,2026-02-29T00:00:00Z\n'), ['line 2: effective_from "2026-02-29T00:00:00Z" is not a real date: February 2026 has 28 days']);
  });

  test('a band date that does not exist is refused with why', () => {
    const r = readBandsCsv('band,days,start\nholiday,2026-12-25 2026-11-31,00:00\n');
    assert.ok(!r.ok);
    assert.deepEqual(r.errors, [{ line: 2, message: '"2026-11-31" is not a real date: November 2026 has 30 days' }]);
  });

  test('a row with a field too many is listed with every other bad row, by the line it is on past blank lines', () => {
    assert.deepEqual(errorsOf('1,US,outbound,,0,0.01,60,60,,,,,extra\n\n44,UK,outbound,,0,abc,60,60,,,,\n33,FR,outbound,,0,0.02,60\n"1\n2",X,outbound,,0,0.01,60,60,,,,\n'), [
      'line 2: 13 fields where the header has 12 (prefix,description,direction,band,interval_start,rate,rate_unit,increment,connect_fee,min_charge,max_cost,effective_from)',
      'line 4: rate "abc" is not a non-negative decimal number',
      'line 5: 7 fields where the header has 12 (prefix,description,direction,band,interval_start,rate,rate_unit,increment,connect_fee,min_charge,max_cost,effective_from)',
      'line 6: prefix "1\n2" must be 1-15 digits',
    ]);
  });
});
