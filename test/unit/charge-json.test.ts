import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Decimal } from '../../src/domain/money/decimal';
import { chargeText, isPriced, priceCharge } from '../../src/domain/rating/charge';
import { piecesJson, taxesJson } from '../../src/modules/ledger/ledger.repository';
import { answered, planFromCsv } from '../support/rating';

/** The objects the breakdown columns held when they were written with JSON.stringify. */
function reference(c: Parameters<typeof piecesJson>[0]) {
  const t = chargeText(c);
  return {
    pieces: JSON.stringify(c.pieces.map((p, i) => ({ band: p.band, step: p.step, from: p.from, seconds: p.seconds, rate: t.pieces[i]!.rate, rate_unit: p.rateUnit, amount: t.pieces[i]!.amount }))),
    taxes: JSON.stringify(c.taxes.map((x, i) => ({ tax_id: x.taxId, name: x.name, basis: x.basis, rate: t.taxes[i]!.rate, taxable: t.taxes[i]!.taxable, amount: t.taxes[i]!.amount }))),
  };
}

describe('the breakdown columns of a stored charge', () => {
  test('pieces and taxes written by hand are the JSON.stringify text of the same objects, whatever the tax names hold', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,11}$/), fc.string({ unit: 'binary' }), fc.integer({ min: 1, max: 7200 }), fc.boolean(), (band, taxName, seconds, withBand) => {
        const b = withBand ? band : '';
        const plan = planFromCsv(
          `44,UK,outbound,${b},0,0.0123456789,7,1,0.0050,,,\n44,UK,outbound,${b},30,0.5,60,6,,,,`,
          b ? `${b},mon tue wed thu fri sat sun,00:00` : '',
          { rounding: { decimals: 6, method: 'half_up' } },
        );
        const c = priceCharge({
          kind: 'retail', plan, planRevision: 1, leg: answered('+442079460000', '2026-11-25T12:00:00Z', seconds), billedCurrency: 'USD', exchangeRate: new Decimal(1),
          taxes: [
            { id: 7, name: taxName, basis: 'percent', rate: new Decimal('8.875'), priority: 1, compounding: false },
            { id: 9, name: `${taxName}"\\`, basis: 'fixed', rate: new Decimal('0.01'), priority: 2, compounding: true },
          ],
        });
        assert.ok(isPriced(c));
        const want = reference(c);
        assert.equal(piecesJson(c, chargeText(c)), want.pieces);
        assert.equal(taxesJson(c, chargeText(c)), want.taxes);
      }),
      { numRuns: 300 },
    );
  });
});
