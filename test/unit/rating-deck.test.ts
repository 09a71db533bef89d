import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readDeckCsv } from '../../src/modules/rate-plans/deck-csv';
import { DECK_HEADER } from '../support/rating';

const read = (rows: string) => readDeckCsv(`${DECK_HEADER}\n${rows.trim()}\n`, { timeZone: 'UTC' });

describe('deck CSV: per-call fees against the maximum cost', () => {
  test('a connect fee above max_cost is refused with the line named, and nothing is imported', () => {
    const r = read(`
1,US,outbound,,0,0.01,60,1,0.01,,0.50,
44,UK,outbound,,0,0.02,60,60,0.75,,0.50,`);
    assert.deepEqual(r, { ok: false, errors: [{ line: 3, message: 'connect_fee is above max_cost' }] });
  });

  test('a connect fee equal to max_cost, or with no max_cost, is accepted', () => {
    const r = read(`
1,US,outbound,,0,0.01,60,1,0.50,,0.50,
44,UK,outbound,,0,0.02,60,60,0.75,,,`);
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.value.map((rate) => [rate.prefix, rate.connectFee.toString(), rate.maxCost?.toString() ?? null]), [['1', '0.5', '0.5'], ['44', '0.75', null]]);
  });
});
