import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cycleAt } from '../../src/domain/billing/cycles';
import { currencyDecimals, dueLines, priceLine, prorate, type PostedLine } from '../../src/domain/billing/recurring';
import { Decimal } from '../../src/domain/money/decimal';
import { fixedText, parseScaled, SCALE, type Fixed } from '../../src/domain/money/fixed';

const money = (s: string): Fixed => parseScaled(s) as Fixed;
const text = (coef: bigint) => fixedText({ coef, scale: SCALE });
const rule = { day: 1, timeZone: 'America/New_York' };
const at = Date.parse;

describe('recurring charges: the pure rules', () => {
  test('currency minor units', () => {
    assert.equal(currencyDecimals('USD'), 2);
    assert.equal(currencyDecimals('JPY'), 0);
    assert.equal(currencyDecimals('BHD'), 3);
  });

  test('proration rounds once, half-up, to the minor unit; a whole cycle is the fee', () => {
    assert.equal(text(prorate(money('10'), 22, 31, 2)), '7.1');
    assert.equal(text(prorate(money('9.999'), 31, 31, 2)), '10');
    assert.equal(text(prorate(money('1000'), 1, 28, 0)), '36'); // 35.71 yen
    assert.equal(text(prorate(money('0.05'), 15, 30, 2)), '0.03'); // 0.025 half-up
  });

  test('due lines: setup once, months from the start, none before the cycle has begun in the zone', () => {
    const terms = { startsAtMs: at('2026-11-10T15:00:00Z'), endsAtMs: null, setupFee: money('5'), monthlyFee: money('30'), currency: 'USD' };
    const due = dueLines(terms, rule, at('2026-12-01T04:59:59Z'), []);
    assert.deepEqual(due.map((l) => `${l.item} ${l.cycle.startDate} ${l.days} ${text(l.base)}`), ['setup 2026-11-01 0 5', 'monthly 2026-11-01 21 21']);
    const posted: PostedLine[] = due.map((l) => ({ item: l.item, cycleStartMs: l.cycle.startMs, cycleEndMs: l.cycle.endMs, days: l.days, amount: l.base, chargedAtMs: l.atMs }));
    assert.deepEqual(dueLines(terms, rule, at('2026-12-01T04:59:59Z'), posted), []);
    assert.deepEqual(dueLines(terms, rule, at('2026-12-01T05:00:00Z'), posted).map((l) => `${l.item} ${l.cycle.startDate} ${l.days}`), ['monthly 2026-12-01 31']);
  });

  test('an end after a month was posted is credited once, at the posted line instant; cycles before the horizon are left alone', () => {
    const c = cycleAt(at('2026-12-01T05:00:00Z'), rule);
    const month: PostedLine = { item: 'monthly', cycleStartMs: c.startMs, cycleEndMs: c.endMs, days: 31, amount: 62n * 10n ** 10n, chargedAtMs: c.startMs };
    const terms = { startsAtMs: at('2026-10-01T04:00:00Z'), endsAtMs: at('2026-12-11T15:00:00Z'), setupFee: money('0'), monthlyFee: money('62'), currency: 'USD' };
    const due = dueLines(terms, rule, at('2026-12-12T00:00:00Z'), [month], at('2026-12-01T06:00:00Z'));
    assert.deepEqual(due.map((l) => `${l.item} ${l.cycle.startDate} ${l.days} ${text(l.base)} ${l.atMs === c.startMs}`), ['credit 2026-12-01 -21 -42 true']);
    const credited: PostedLine = { item: 'credit', cycleStartMs: c.startMs, cycleEndMs: c.endMs, days: -21, amount: -42n * 10n ** 10n, chargedAtMs: c.startMs };
    assert.deepEqual(dueLines(terms, rule, at('2026-12-12T00:00:00Z'), [month, credited], at('2026-12-01T06:00:00Z')), []);
  });

  test('a line is taxed and converted as a charge is; no rate, no line', () => {
    const rules = [{ id: 1, name: 'State', basis: 'percent' as const, rate: new Decimal('8.875'), priority: 1, compounding: false }];
    const p = priceLine({ base: 1999n * 10n ** 8n, currency: 'USD', taxes: rules, billedCurrency: 'EUR', exchangeRate: new Decimal('0.9') });
    assert.ok(!('reason' in p));
    if ('reason' in p) return;
    assert.deepEqual([fixedText(p.amount), fixedText(p.taxAmount), fixedText(p.total), fixedText(p.billedTotal)], ['19.99', '1.77', '21.76', '19.58']);
    assert.match((priceLine({ base: 1n, currency: 'USD', taxes: [], billedCurrency: 'GBP', exchangeRate: undefined }) as { reason: string }).reason, /USD to GBP/);
  });
});
