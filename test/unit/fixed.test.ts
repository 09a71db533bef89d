import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Decimal, ROUNDING_METHODS, roundAmount } from '../../src/domain/money/decimal';
import { decimalOf, formatScaled, methodCode, parseScaled, pow10, roundDiv, scaledOf } from '../../src/domain/money/fixed';

const d = (s: string) => new Decimal(s);

describe('fixed-point money: exact bigints in 10^-scale', () => {
  test('the parts of a Decimal, whatever its size and decimals', () => {
    const parts = (s: string) => {
      const p = scaledOf(d(s));
      return [p.coef.toString(), p.scale];
    };
    assert.deepEqual(parts('0.92'), ['92', 2]);
    assert.deepEqual(parts('0.0050'), ['5', 3]);
    assert.deepEqual(parts('123.4567891234'), ['1234567891234', 10]);
    assert.deepEqual(parts('5126932.7'), ['51269327', 1]);
    assert.deepEqual(parts('-0.5'), ['-5', 1]);
    assert.deepEqual(parts('0'), ['0', 0]);
    assert.deepEqual(parts('1e45'), [`1${'0'.repeat(45)}`, 0]);
    assert.deepEqual(parts('1e-40'), ['1', 40]);
    assert.deepEqual(parts('1000000000.0000000001'), ['10000000000000000001', 10]);
    assert.deepEqual(parseScaled('12.3400'), { coef: 1234n, scale: 2 });
    assert.equal(parseScaled('1e5'), undefined);
  });

  test('roundDiv rounds like decimal.js: half-up and up away from zero, down toward it, half-even to even', () => {
    const at = (n: bigint, div: bigint) => ROUNDING_METHODS.map((m) => roundDiv(n, div, methodCode(m)).toString());
    // half_up, half_even, up, down
    assert.deepEqual(at(125n, 10n), ['13', '12', '13', '12']);
    assert.deepEqual(at(135n, 10n), ['14', '14', '14', '13']);
    assert.deepEqual(at(-125n, 10n), ['-13', '-12', '-13', '-12']);
    assert.deepEqual(at(121n, 10n), ['12', '12', '13', '12']);
    assert.deepEqual(at(-129n, 10n), ['-13', '-13', '-13', '-12']);
    assert.deepEqual(at(120n, 10n), ['12', '12', '12', '12']);
  });

  test('roundDiv agrees with decimal.js toDecimalPlaces on random exact fractions', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.integer({ min: 0, max: 14 }), fc.integer({ min: 0, max: 10 }), fc.constantFrom(...ROUNDING_METHODS), (n, scale, decimals, method) => {
        const want = roundAmount(decimalOf(n, scale), { decimals, method });
        const got = scale <= decimals ? n * pow10(decimals - scale) : roundDiv(n, pow10(scale - decimals), methodCode(method));
        assert.equal(formatScaled(got, decimals), want.toString());
      }),
      { numRuns: 2000 },
    );
  });

  test('formatScaled is decimal.js toString of the same value, exponential notation included', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 45n), max: 10n ** 45n }), fc.integer({ min: 0, max: 45 }), (n, scale) => {
        assert.equal(formatScaled(n, scale), new Decimal(`${n}e-${scale}`).toString());
      }),
      { numRuns: 2000 },
    );
    assert.equal(formatScaled(1234500000n, 10), '0.12345');
    assert.equal(formatScaled(-50000000000n, 10), '-5');
    assert.equal(formatScaled(1n, 30), '1e-30');
  });
});
