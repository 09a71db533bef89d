import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Decimal } from '../../src/domain/money/decimal';
import { chargeText, isPriced, priceCharge } from '../../src/domain/rating/charge';
import { isUnratable, NO_ALLOWANCE, rateLeg, type RatableLeg } from '../../src/domain/rating/engine';
import { compilePlan, type Rate, type RatePlanSettings } from '../../src/domain/rating/plan';
import { answered, decimalCharge, decimalPriced, planFromCsv } from '../support/rating';
import * as ref from '../support/reference-rating';

/**
 * Where toll packages (issue 11) plug in: the price phase takes the seconds an allowance covers.
 * With none (NO_ALLOWANCE) a charge must be exactly today's: the frozen reference's, field by field.
 */

const BANDS = [
  { band: 'peak', weekdays: [1, 2, 3, 4, 5], dates: [], startMs: 8 * 3_600_000 },
  { band: 'offpeak', weekdays: [1, 2, 3, 4, 5], dates: [], startMs: 18 * 3_600_000 },
  { band: 'weekend', weekdays: [0, 6], dates: [], startMs: 0 },
];

// Per-second prices that terminate (rates in 0.0006 per minute or per second), so the 40-digit
// reference is exact and no difference can hide behind its rounding.
const rateArb = fc.record({
  perMinute: fc.boolean(),
  rates: fc.array(fc.integer({ min: 0, max: 500 }).map((n) => new Decimal(n).times('0.0006')), { minLength: 1, maxLength: 3 }),
  starts: fc.uniqueArray(fc.integer({ min: 1, max: 600 }), { minLength: 2, maxLength: 2 }).map((a) => a.sort((x, y) => x - y)),
  increments: fc.array(fc.constantFrom(1, 6, 30, 60), { minLength: 3, maxLength: 3 }),
  connect: fc.constantFrom('0', '0.01', '0.05'),
  min: fc.option(fc.constantFrom('0.02', '0.5'), { nil: null }),
  max: fc.option(fc.constantFrom('1', '4'), { nil: null }),
});

function rateOf(r: typeof rateArb extends fc.Arbitrary<infer T> ? T : never, band: string | null): Rate {
  return {
    prefix: '1', description: `US ${band ?? 'any'}`, direction: 'outbound', band, effectiveFrom: 0,
    connectFee: new Decimal(r.connect), minCharge: r.min === null ? null : new Decimal(r.min), maxCost: r.max === null ? null : new Decimal(r.max),
    steps: r.rates.map((rate, i) => ({ from: i === 0 ? 0 : (r.starts[i - 1] as number), rate, rateUnit: r.perMinute ? 60 : 1, increment: r.increments[i] as number })),
  };
}

const legArb: fc.Arbitrary<RatableLeg> = fc
  .record({ at: fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2026, 11, 31) }), seconds: fc.integer({ min: 0, max: 4 * 3600 }), answered: fc.boolean() })
  .map(({ at, seconds, answered }) => ({ direction: 'outbound', number: '+12125550100', startMs: at - 4000, answerMs: answered ? at : null, billableSeconds: answered ? seconds : 0 }));

describe('the allowance hook: seconds covered by a toll package', () => {
  test('with NO_ALLOWANCE every charge is today’s: the reference’s, field by field, and the same as leaving it out', () => {
    fc.assert(
      fc.property(rateArb, rateArb, fc.constantFrom('split' as const, 'start' as const), fc.constantFrom('UTC', 'America/New_York'), fc.array(legArb, { minLength: 1, maxLength: 5 }), (peak, any, bandMode, timeZone, legs) => {
        const settings: RatePlanSettings = { id: 3, name: 'Allowance', currency: 'USD', rounding: { decimals: 4, method: 'half_up' }, timeZone, bandMode, connectFeeOnUnanswered: true };
        const rates = [rateOf(peak, 'peak'), rateOf(any, null)];
        const plan = compilePlan(settings, rates, BANDS);
        const oracle = ref.compilePlan(settings, rates, BANDS);
        for (const leg of legs) {
          const got = rateLeg(leg, plan, NO_ALLOWANCE);
          const want = ref.rateLeg(leg, oracle);
          assert.ok(!isUnratable(got) && !ref.isUnratable(want));
          assert.deepEqual(got, rateLeg(leg, plan));
          assert.equal(got.coveredSeconds, 0);
          const shown = decimalCharge(got);
          assert.deepEqual(
            { amount: shown.amount.toString(), subtotal: shown.subtotal.toString(), usage: shown.usage.toString(), connectFee: shown.connectFee.toString(), chargedSeconds: shown.chargedSeconds, pieces: shown.pieces.map((p) => [p.band, p.step, p.from, p.seconds, p.rate.toString(), p.amount.toString()]) },
            { amount: want.amount.toString(), subtotal: want.subtotal.toString(), usage: want.usage.toString(), connectFee: want.connectFee.toString(), chargedSeconds: want.chargedSeconds, pieces: want.pieces.map((p) => [p.band, p.step, p.from, p.seconds, p.rate.toString(), p.amount.toString()]) },
          );
          const inputs = { kind: 'retail' as const, plan, planRevision: 1, leg, taxes: [], billedCurrency: 'USD', exchangeRate: new Decimal(1) };
          const priced = priceCharge({ ...inputs, coveredSeconds: NO_ALLOWANCE });
          const plain = priceCharge(inputs);
          assert.ok(isPriced(priced) && isPriced(plain));
          assert.deepEqual(chargeText(priced), chargeText(plain));
        }
      }),
      { numRuns: 300 },
    );
  });

  test('covered seconds are the first charged seconds, priced at zero; whole blocks, the fee and the breakdown stay', () => {
    // 30/6 at 0.06 a minute and a 0.01 connect fee: a 35 s call charges 36 s (0.036 + 0.01).
    const plan = planFromCsv(`
1,US,outbound,,0,0.06,60,30,0.01,,,
1,US,outbound,,30,0.06,60,6,,,,`);
    const leg = answered('+12125550100', '2026-11-25T12:00:00Z', 35);
    const whole = rateLeg(leg, plan, 0);
    const part = rateLeg(leg, plan, 30);
    const all = rateLeg(leg, plan, 600);
    assert.ok(!isUnratable(whole) && !isUnratable(part) && !isUnratable(all));
    assert.equal(decimalCharge(whole).amount.toFixed(4), '0.0460');
    // The first 30 s block is covered: 6 s are priced.
    assert.equal(decimalCharge(part).amount.toFixed(4), '0.0160');
    assert.deepEqual(part.pieces, whole.pieces);
    assert.equal(part.chargedSeconds, 36);
    assert.equal(part.coveredSeconds, 30);
    // Never more than was charged.
    assert.equal(all.coveredSeconds, 36);
    assert.equal(decimalCharge(all).amount.toFixed(4), '0.0100');
    const priced = priceCharge({ kind: 'retail', plan, planRevision: 1, leg, taxes: [], billedCurrency: 'USD', exchangeRate: new Decimal(1), coveredSeconds: 30 });
    assert.ok(isPriced(priced));
    assert.deepEqual(
      { usage: chargeText(priced).usage, pieces: chargeText(priced).pieces, amount: chargeText(priced).amount },
      { usage: '0.006', pieces: [{ rate: '0.06', amount: '0' }, { rate: '0.06', amount: '0.006' }], amount: '0.016' },
    );
    assert.equal(decimalPriced(priced).usage.toString(), '0.006');
    assert.throws(() => rateLeg(leg, plan, -1), RangeError);
    assert.throws(() => rateLeg(leg, plan, 1.5), RangeError);
  });
});
