import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isUnratable, rateLeg, type RatingResult } from '../../src/domain/rating/engine';
import { decimalCharge, planFromCsv } from '../support/rating';

const BANDS = `
peak,mon-fri,08:00
offpeak,mon-fri,18:00
weekend,sat-sun,00:00`;

// A random rate: up to three steps with random rates, units and increments, optional fees and caps.
const stepArb = fc.record({
  rate: fc.integer({ min: 0, max: 50_000 }).map((n) => (n / 100_000).toFixed(5)),
  unit: fc.constantFrom(1, 60),
  increment: fc.constantFrom(1, 6, 30, 60),
});
const rateArb = fc.record({
  steps: fc.array(stepArb, { minLength: 1, maxLength: 3 }),
  starts: fc.uniqueArray(fc.integer({ min: 1, max: 600 }), { minLength: 2, maxLength: 2 }).map((a) => a.sort((x, y) => x - y)),
  connect: fc.option(fc.constantFrom('0.01', '0.015', '0.5'), { nil: '' }),
  min: fc.option(fc.constantFrom('0.02', '0.1'), { nil: '' }),
  max: fc.option(fc.constantFrom('1', '3.5'), { nil: '' }),
});

type RateShape = typeof rateArb extends fc.Arbitrary<infer T> ? T : never;

function deckRows(r: RateShape, band: string, prefix: string, effective: string): string[] {
  return r.steps.map((s, i) => {
    const from = i === 0 ? 0 : (r.starts[i - 1] as number);
    const fees = i === 0 ? `${r.connect},${r.min},${r.max && r.min && Number(r.min) > Number(r.max) ? '' : r.max}` : ',,';
    return `${prefix},dest,outbound,${band},${from},${s.rate},${s.unit},${s.increment},${fees},${effective}`;
  });
}

const instant = fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2026-12-31T00:00:00Z') });
const amountOf = (r: RatingResult) => {
  if (isUnratable(r)) throw new Error(r.detail);
  return decimalCharge(r).amount;
};

describe('rating properties', () => {
  test('cost never decreases as duration grows (steps, bands, fees, caps)', () => {
    fc.assert(
      fc.property(rateArb, rateArb, rateArb, instant, fc.nat(20_000), fc.nat(20_000), fc.constantFrom('split', 'start'), (peak, off, weekend, at, d1, d2, bandMode) => {
        const plan = planFromCsv(
          [...deckRows(peak, 'peak', '1', '2025-01-01'), ...deckRows(off, 'offpeak', '1', '2025-01-01'), ...deckRows(weekend, 'weekend', '1', '2025-01-01')].join('\n'),
          BANDS,
          { timeZone: 'America/Chicago', bandMode: bandMode as 'split' | 'start' },
        );
        const [short, long] = d1 <= d2 ? [d1, d2] : [d2, d1];
        const leg = (s: number) => ({ direction: 'outbound' as const, number: '+13125550100', startMs: at - 3000, answerMs: at, billableSeconds: s });
        assert.ok(amountOf(rateLeg(leg(short), plan)).lte(amountOf(rateLeg(leg(long), plan))), `${short}s cost more than ${long}s`);
      }),
      { numRuns: 1000 },
    );
  });

  test('splitting a deck into versions with the same rates changes nothing', () => {
    fc.assert(
      fc.property(rateArb, rateArb, instant, fc.nat(7200), fc.constantFrom('2026-03-01', '2026-06-15', '2026-09-30'), (a, b, at, seconds, splitDate) => {
        const one = planFromCsv([...deckRows(a, '', '1', '2025-01-01'), ...deckRows(b, '', '1312', '2025-01-01')].join('\n'));
        const split = planFromCsv(
          [
            ...deckRows(a, '', '1', '2025-01-01'),
            ...deckRows(b, '', '1312', '2025-01-01'),
            ...deckRows(a, '', '1', splitDate),
            ...deckRows(b, '', '1312', splitDate),
          ].join('\n'),
        );
        for (const number of ['+13125550100', '+12125550100']) {
          const leg = { direction: 'outbound' as const, number, startMs: at, answerMs: at + 4000, billableSeconds: seconds };
          const x = rateLeg(leg, one);
          const y = rateLeg(leg, split);
          if (isUnratable(x) || isUnratable(y)) assert.fail('unratable');
          assert.equal(x.amount.toString(), y.amount.toString());
          assert.equal(x.prefix, y.prefix);
          assert.deepEqual(x.pieces, y.pieces);
        }
      }),
      { numRuns: 200 },
    );
  });

  test('re-rating a leg gives an identical charge, also from a freshly compiled plan', () => {
    fc.assert(
      fc.property(rateArb, rateArb, instant, fc.nat(7200), (peak, off, at, seconds) => {
        const rows = [...deckRows(peak, 'peak', '44', ''), ...deckRows(off, 'offpeak', '44', ''), ...deckRows(off, 'weekend', '44', '')].join('\n');
        const leg = { direction: 'outbound' as const, number: '+442079460000', startMs: at, answerMs: at + 2500, billableSeconds: seconds };
        const plan = planFromCsv(rows, BANDS, { timeZone: 'Europe/London' });
        const first = rateLeg(leg, plan);
        assert.deepEqual(rateLeg(leg, plan), first);
        assert.deepEqual(rateLeg(leg, planFromCsv(rows, BANDS, { timeZone: 'Europe/London' })), first);
      }),
      { numRuns: 200 },
    );
  });
});
