import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal } from '../../src/domain/money/decimal';
import { convert, pickRate, type ExchangeRate } from '../../src/domain/money/fx';

const d = (s: string) => new Decimal(s);
const at = (iso: string) => Date.parse(iso);

const RATES: ExchangeRate[] = [
  { from: 'USD', to: 'EUR', rate: d('0.920000000000'), effectiveFrom: at('2026-01-01T00:00:00Z') },
  { from: 'USD', to: 'EUR', rate: d('0.935'), effectiveFrom: at('2026-06-01T00:00:00Z') },
  { from: 'USD', to: 'EUR', rate: d('0.9301'), effectiveFrom: at('2026-03-01T00:00:00Z') },
  { from: 'EUR', to: 'USD', rate: d('1.08'), effectiveFrom: at('2026-01-01T00:00:00Z') },
  { from: 'USD', to: 'GBP', rate: d('0.79'), effectiveFrom: at('2026-01-01T00:00:00Z') },
];

describe('fx: conversion with the rate in force', () => {
  test('convert is amount x rate, rounded once with the given rule', () => {
    // 0.123456 x 0.9301 = 0.1148264256 -> 0.1148
    assert.equal(convert(d('0.123456'), d('0.9301'), { decimals: 4, method: 'half_up' }).toFixed(4), '0.1148');
    assert.equal(convert(d('10.005'), d('1'), { decimals: 2, method: 'half_up' }).toFixed(2), '10.01');
    assert.equal(convert(d('10.005'), d('1'), { decimals: 2, method: 'half_even' }).toFixed(2), '10.00');
    assert.equal(convert(d('0.1'), d('3'), { decimals: 10, method: 'half_up' }).toString(), '0.3', 'exact, no float error');
  });

  test('the rate in force is the latest one that started at or before the moment, whatever the list order', () => {
    assert.equal(pickRate(RATES, 'USD', 'EUR', at('2026-02-15T12:00:00Z'))?.toString(), '0.92');
    assert.equal(pickRate(RATES, 'USD', 'EUR', at('2026-03-01T00:00:00Z'))?.toString(), '0.9301', 'in force from its first millisecond');
    assert.equal(pickRate(RATES, 'USD', 'EUR', at('2026-05-31T23:59:59.999Z'))?.toString(), '0.9301');
    assert.equal(pickRate(RATES, 'USD', 'EUR', at('2027-01-01T00:00:00Z'))?.toString(), '0.935');
  });

  test('before the first rate of a pair there is no rate: undefined, never 1 and never 0', () => {
    assert.equal(pickRate(RATES, 'USD', 'EUR', at('2025-12-31T23:59:59.999Z')), undefined);
    assert.equal(pickRate(RATES, 'USD', 'JPY', at('2026-06-01T00:00:00Z')), undefined);
    assert.equal(pickRate([], 'USD', 'EUR', at('2026-06-01T00:00:00Z')), undefined);
  });

  test('the reverse pair is its own rate, not an inverse', () => {
    assert.equal(pickRate(RATES, 'EUR', 'USD', at('2026-07-01T00:00:00Z'))?.toString(), '1.08');
    assert.equal(pickRate(RATES, 'GBP', 'USD', at('2026-07-01T00:00:00Z')), undefined);
  });

  test('the same currency converts at 1, with or without rates', () => {
    assert.equal(pickRate([], 'USD', 'USD', 0)?.toString(), '1');
    assert.equal(pickRate(RATES, 'eur', 'EUR', 0)?.toString(), '1');
  });

  test('currency codes compare case-insensitively', () => {
    assert.equal(pickRate(RATES, 'usd', 'gbp', at('2026-07-01T00:00:00Z'))?.toString(), '0.79');
  });

  test('two rates from the same moment: the later one in the list wins (a correction)', () => {
    const same = at('2026-01-01T00:00:00Z');
    const rates: ExchangeRate[] = [
      { from: 'USD', to: 'CAD', rate: d('1.35'), effectiveFrom: same },
      { from: 'USD', to: 'CAD', rate: d('1.36'), effectiveFrom: same },
    ];
    assert.equal(pickRate(rates, 'USD', 'CAD', same)?.toString(), '1.36');
  });

  test('a picked rate and convert together: 12.3456 USD at the March rate to EUR, 2 decimals', () => {
    const rate = pickRate(RATES, 'USD', 'EUR', at('2026-04-01T00:00:00Z'));
    assert.ok(rate);
    // 12.3456 x 0.9301 = 11.48264256 -> 11.48
    assert.equal(convert(d('12.3456'), rate, { decimals: 2, method: 'half_up' }).toFixed(2), '11.48');
  });
});
