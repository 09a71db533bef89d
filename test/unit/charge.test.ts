import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal } from '../../src/domain/money/decimal';
import { chargeText, isPriced, priceCharge, type ChargeInputs } from '../../src/domain/rating/charge';
import { answered, decimalPriced, planFromCsv } from '../support/rating';

const usdPlan = planFromCsv('44,UK,outbound,,0,0.10,60,60,,,,\n1800,US toll-free,inbound,,0,0.03,60,6,,,,', '', { currency: 'USD', rounding: { decimals: 4, method: 'half_up' } });
const base = (over: Partial<ChargeInputs> = {}): ChargeInputs => ({
  kind: 'retail', plan: usdPlan, planRevision: 3, leg: answered('+442079460000', '2026-11-25T12:00:00Z', 120), taxes: [], billedCurrency: 'USD', exchangeRate: new Decimal(1), ...over,
});

describe('a charge: rate, tax, currency', () => {
  test('compounding taxes: 5 % federal on the base, then a 10 % compounding state tax on base + federal', () => {
    const c = priceCharge(
      base({
        taxes: [
          { id: 2, name: 'State', basis: 'percent', rate: new Decimal('10'), priority: 2, compounding: true },
          { id: 1, name: 'Federal', basis: 'percent', rate: new Decimal('5'), priority: 1, compounding: false },
        ],
      }),
    );
    assert.ok(isPriced(c));
    assert.equal(decimalPriced(c).amount.toFixed(4), '0.2000');
    assert.deepEqual(c.taxes.map((t) => [t.name, t.taxable.toFixed(4), t.amount.toFixed(4)]), [['Federal', '0.2000', '0.0100'], ['State', '0.2100', '0.0210']]);
    assert.equal(decimalPriced(c).taxAmount.toFixed(4), '0.0310');
    assert.equal(decimalPriced(c).total.toFixed(4), '0.2310');
    assert.equal(c.planRevision, 3);
  });

  test('a wholesale charge priced in USD and billed to a reseller in EUR keeps both amounts and the rate used', () => {
    const c = priceCharge(base({ kind: 'wholesale', billedCurrency: 'EUR', exchangeRate: new Decimal('0.9213') }));
    assert.ok(isPriced(c));
    assert.equal(c.currency, 'USD');
    assert.equal(decimalPriced(c).total.toFixed(4), '0.2000');
    assert.equal(c.billedCurrency, 'EUR');
    assert.equal(c.exchangeRate.toString(), '0.9213');
    assert.equal(decimalPriced(c).billedTotal.toFixed(4), '0.1843'); // 0.18426 rounded half-up once
  });

  test('no exchange rate in force: unratable with the reason, never converted at 1 or 0', () => {
    const c = priceCharge(base({ billedCurrency: 'EUR', exchangeRate: undefined }));
    assert.ok(!isPriced(c));
    assert.match(c.reason, /retail: no exchange rate from USD to EUR/);
  });

  test('chargeText is the storage text of every amount, the same as the Decimal fields give', () => {
    const plan = planFromCsv('44,UK,outbound,,0,0.0123456789,7,1,0.0050,,,\n44,UK,outbound,,30,0.5,60,6,,,,', '', { rounding: { decimals: 6, method: 'half_up' } });
    const c = priceCharge(
      base({
        plan, kind: 'wholesale', billedCurrency: 'EUR', exchangeRate: new Decimal('0.921300000001'), leg: answered('+442079460000', '2026-11-25T12:00:00Z', 45),
        taxes: [
          { id: 1, name: 'Federal', basis: 'percent', rate: new Decimal('5.5'), priority: 1, compounding: false },
          { id: 2, name: 'Fee', basis: 'fixed', rate: new Decimal('0.0100'), priority: 1, compounding: false },
          { id: 3, name: 'State', basis: 'percent', rate: new Decimal('8.875'), priority: 2, compounding: true },
        ],
      }),
    );
    assert.ok(isPriced(c));
    const text = chargeText(c);
    const d = decimalPriced(c);
    assert.deepEqual(text, {
      connectFee: d.connectFee.toString(), usage: d.usage.toDecimalPlaces(10).toString(), amount: d.amount.toString(), taxAmount: d.taxAmount.toString(),
      total: d.total.toString(), exchangeRate: d.exchangeRate.toString(), billedTotal: d.billedTotal.toString(),
      pieces: d.pieces.map((p) => ({ rate: p.rate.toString(), amount: p.amount.toDecimalPlaces(10).toString() })),
      taxes: d.taxes.map((t) => ({ rate: t.rate.toString(), taxable: t.taxable.toString(), amount: t.amount.toString() })),
    });
    // 30 s at 0.0123456789 per 7 s, then 18 s at 0.5 per minute; the fee; 3 taxes; converted.
    assert.deepEqual(text.pieces, [{ rate: '0.0123456789', amount: '0.0529100524' }, { rate: '0.5', amount: '0.15' }]);
    assert.equal(text.amount, '0.20791'); // decimal.js text: no trailing zeros
    assert.equal(text.usage, '0.2029100524');
    assert.equal(text.exchangeRate, '0.921300000001');
  });

  test('a toll-free inbound leg is charged to the number’s owner at the inbound rates', () => {
    const c = priceCharge(base({ leg: answered('+18005550100', '2026-11-25T12:00:00Z', 90, 'inbound') }));
    assert.ok(isPriced(c));
    assert.equal(c.prefix, '1800');
    assert.equal(decimalPriced(c).total.toFixed(4), '0.0450');
  });
});
