import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { listRates } from '../../src/domain/rating/rate-list';
import { planFromCsv } from '../support/rating';

const NOW = Date.parse('2026-12-07T12:00:00Z');

describe('listRates: a plan\'s rates in force, searched and paged', () => {
  const plan = planFromCsv(
    [
      '44,United Kingdom,outbound,,0,0.05,60,1,0,,,2020-01-01',
      '4420,United Kingdom - London,outbound,,0,0.03,60,1,0,,,2020-01-01',
      '33,France,outbound,,0,0.09,60,1,0,,,2019-01-01',
      '33,France,outbound,,0,0.07,60,1,0,,,2024-01-01',
      '33,France,outbound,,0,0.01,60,1,0,,,2099-01-01',
      '49,Germany,outbound,,0,0.04,60,1,0,,,2099-01-01',
      '1800,Toll free,inbound,,0,0.02,60,1,0,,,2020-01-01',
    ].join('\n'),
  );

  test('the version in force now of each prefix, by prefix; none for a prefix that starts later', () => {
    const all = listRates(plan, { at: NOW, direction: 'outbound', limit: 10 });
    assert.deepEqual(all.rows.map((v) => [v.prefix, v.effectiveFrom]), [['33', Date.parse('2024-01-01T00:00:00Z')], ['44', Date.parse('2020-01-01T00:00:00Z')], ['4420', Date.parse('2020-01-01T00:00:00Z')]]);
    assert.equal(all.matched, 3);
    assert.deepEqual(listRates(plan, { at: NOW, direction: 'inbound', limit: 10 }).rows.map((v) => v.prefix), ['1800']);
  });

  test('by name (case-insensitive), by number (the longest prefix), paged by keyset', () => {
    assert.deepEqual(listRates(plan, { at: NOW, direction: 'outbound', name: 'KINGDOM', limit: 10 }).rows.map((v) => v.prefix), ['44', '4420']);
    assert.deepEqual(listRates(plan, { at: NOW, direction: 'outbound', number: '+442079460000', limit: 10 }).rows.map((v) => v.prefix), ['4420']);
    assert.deepEqual(listRates(plan, { at: NOW, direction: 'outbound', number: '+441612345678', limit: 10 }).rows.map((v) => v.prefix), ['44']);
    assert.equal(listRates(plan, { at: NOW, direction: 'outbound', number: '+4930123456', limit: 10 }).matched, 0);
    const p1 = listRates(plan, { at: NOW, direction: 'outbound', limit: 2 });
    assert.equal(p1.more, true);
    const last = p1.rows[1]!;
    const p2 = listRates(plan, { at: NOW, direction: 'outbound', limit: 2, after: [last.prefix, last.direction] });
    assert.deepEqual([...p1.rows, ...p2.rows].map((v) => v.prefix), ['33', '44', '4420']);
    assert.equal(p2.more, false);
    assert.equal(p2.matched, 3, 'matched counts the whole query, not the page');
  });
});
