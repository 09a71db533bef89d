import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal, type Rounding } from '../../src/domain/money/decimal';
import { computeTaxes, type TaxRule } from '../../src/domain/tax/tax';

const FOUR: Rounding = { decimals: 4, method: 'half_up' };
const d = (s: string) => new Decimal(s);

function rule(id: number, over: Partial<TaxRule> & Pick<TaxRule, 'rate'>): TaxRule {
  return { id, name: `Tax ${id}`, basis: 'percent', priority: 10, compounding: false, ...over };
}

/** Lines as "name: taxable -> amount" with fixed decimals, easy to compare exactly. */
function shown(r: ReturnType<typeof computeTaxes>, decimals = 4): string[] {
  return r.lines.map((l) => `${l.name}: ${l.taxable.toFixed(decimals)} -> ${l.amount.toFixed(decimals)}`);
}

describe('taxes: named scenarios with exact decimal results', () => {
  test('compounding taxes: 5 % federal, then 10 % state compounding on base + federal', () => {
    const federal = rule(1, { name: 'Federal', rate: d('5'), priority: 1 });
    const state = rule(2, { name: 'State', rate: d('10'), priority: 2, compounding: true });
    const r = computeTaxes(d('10.0000'), [state, federal], FOUR);
    assert.deepEqual(shown(r), ['Federal: 10.0000 -> 0.5000', 'State: 10.5000 -> 1.0500']);
    assert.equal(r.total.toFixed(4), '1.5500');
    assert.deepEqual(r.lines.map((l) => [l.taxId, l.basis, l.rate.toString()]), [[1, 'percent', '5'], [2, 'percent', '10']]);
  });

  test('the same two taxes without compounding are both on the base', () => {
    const r = computeTaxes(d('10'), [rule(1, { rate: d('5'), priority: 1 }), rule(2, { rate: d('10'), priority: 2 })], FOUR);
    assert.deepEqual(r.lines.map((l) => l.amount.toFixed(4)), ['0.5000', '1.0000']);
    assert.equal(r.total.toFixed(4), '1.5000');
  });

  test('a percent rate with decimals (8.875 %) on a per-call amount, rounded half-up per line', () => {
    // 0.1234 x 8.875 % = 0.010951750 -> 0.0110
    const r = computeTaxes(d('0.1234'), [rule(1, { name: 'NYC', rate: d('8.875') })], FOUR);
    assert.equal(r.lines[0]?.amount.toFixed(4), '0.0110');
    assert.equal(r.total.toFixed(4), '0.0110');
  });

  test('each line is rounded, and the total is the sum of the rounded lines (not the rounded sum)', () => {
    // Each of the three 1 % lines on 0.0150 is 0.00015 -> 0.0002 (half-up); total 0.0006, while
    // the unrounded sum 0.00045 would round to 0.0005.
    const rules = [1, 2, 3].map((id) => rule(id, { rate: d('1') }));
    const r = computeTaxes(d('0.0150'), rules, FOUR);
    assert.deepEqual(r.lines.map((l) => l.amount.toFixed(4)), ['0.0002', '0.0002', '0.0002']);
    assert.equal(r.total.toFixed(4), '0.0006');
  });

  test('a compounding tax builds on the rounded earlier lines', () => {
    // 3 % of 0.0150 = 0.00045 -> 0.0005; 10 % compounding of 0.0155 = 0.00155 -> 0.0016.
    const r = computeTaxes(d('0.0150'), [rule(1, { rate: d('3'), priority: 1 }), rule(2, { rate: d('10'), priority: 2, compounding: true })], FOUR);
    assert.deepEqual(shown(r), ['Tax 1: 0.0150 -> 0.0005', 'Tax 2: 0.0155 -> 0.0016']);
    assert.equal(r.total.toFixed(4), '0.0021');
  });

  test('the rounding method and decimals are the caller’s (2 decimals rounded down)', () => {
    const r = computeTaxes(d('9.99'), [rule(1, { rate: d('7.5') })], { decimals: 2, method: 'down' });
    // 9.99 x 7.5 % = 0.74925 -> 0.74 (down)
    assert.equal(r.lines[0]?.amount.toFixed(2), '0.74');
    const even = computeTaxes(d('0.25'), [rule(1, { rate: d('10') })], { decimals: 2, method: 'half_even' });
    assert.equal(even.total.toFixed(3), '0.020', '0.025 half-even is 0.02');
  });

  test('a compounding tax includes only lower priority NUMBERS: taxes of its own priority are not in its base', () => {
    const a = rule(1, { name: 'A', rate: d('5'), priority: 1 });
    const b = rule(2, { name: 'B', rate: d('2'), priority: 2 });
    const c = rule(3, { name: 'C', rate: d('10'), priority: 2, compounding: true });
    const r = computeTaxes(d('100'), [c, b, a], FOUR);
    // C is on 100 + A (5) = 105, not + B (same priority).
    assert.deepEqual(shown(r), ['A: 100.0000 -> 5.0000', 'B: 100.0000 -> 2.0000', 'C: 105.0000 -> 10.5000']);
    assert.equal(r.total.toFixed(4), '17.5000');
  });

  test('ties of priority apply in id order, whatever order the rules come in', () => {
    const r = computeTaxes(d('1'), [rule(9, { rate: d('1'), priority: 5 }), rule(4, { rate: d('2'), priority: 5 }), rule(7, { rate: d('3'), priority: 0 })], FOUR);
    assert.deepEqual(r.lines.map((l) => l.taxId), [7, 4, 9]);
  });

  test('a fixed tax is a fixed amount per charge, not scaled, and later compounding taxes include it', () => {
    const fee = rule(1, { name: '911 fee', basis: 'fixed', rate: d('0.05'), priority: 1 });
    const vat = rule(2, { name: 'VAT', rate: d('20'), priority: 2, compounding: true });
    const small = computeTaxes(d('0.0100'), [fee, vat], FOUR);
    assert.deepEqual(shown(small), ['911 fee: 0.0100 -> 0.0500', 'VAT: 0.0600 -> 0.0120']);
    assert.equal(small.total.toFixed(4), '0.0620');
    const large = computeTaxes(d('100'), [fee], FOUR);
    assert.equal(large.total.toFixed(4), '0.0500', 'the same fixed amount on a larger charge');
  });

  test('a fixed amount is rounded like every line', () => {
    const r = computeTaxes(d('1'), [rule(1, { basis: 'fixed', rate: d('0.125') })], { decimals: 2, method: 'half_up' });
    assert.equal(r.total.toFixed(2), '0.13');
  });

  test('zero base: percent taxes are zero lines, a fixed tax is not charged at all', () => {
    const r = computeTaxes(d('0'), [rule(1, { name: 'Sales', rate: d('8') }), rule(2, { name: 'Fee', basis: 'fixed', rate: d('0.25') })], FOUR);
    assert.deepEqual(shown(r), ['Sales: 0.0000 -> 0.0000']);
    assert.equal(r.total.toFixed(4), '0.0000');
  });

  test('a credit (negative base) gets negative percent taxes and no fixed tax back', () => {
    const r = computeTaxes(d('-10'), [rule(1, { rate: d('5') }), rule(2, { basis: 'fixed', rate: d('1') })], FOUR);
    assert.deepEqual(r.lines.map((l) => l.amount.toFixed(4)), ['-0.5000']);
    assert.equal(r.total.toFixed(4), '-0.5000');
  });

  test('exemption is the caller’s: an exempt subscriber or reseller is taxed with an empty rule list', () => {
    const r = computeTaxes(d('12.3456'), [], FOUR);
    assert.deepEqual(r.lines, []);
    assert.equal(r.total.toFixed(4), '0.0000');
  });

  test('exact decimals: no float error on values that are inexact in binary', () => {
    // 0.3 x 10 % is 0.03 exactly, and 10 % compounding on 0.33 is 0.033: no 0.30000000000000004.
    const r = computeTaxes(d('0.3'), [rule(1, { rate: d('10'), priority: 1 }), rule(2, { rate: d('10'), priority: 2, compounding: true })], { decimals: 10, method: 'half_up' });
    assert.equal(r.lines[0]?.amount.toString(), '0.03');
    assert.equal(r.lines[1]?.amount.toString(), '0.033');
    assert.equal(r.total.toString(), '0.063');
  });

  test('the input list is not reordered in place', () => {
    const rules = [rule(2, { rate: d('1'), priority: 2 }), rule(1, { rate: d('1'), priority: 1 })];
    computeTaxes(d('1'), rules, FOUR);
    assert.deepEqual(rules.map((r) => r.id), [2, 1]);
  });
});
