import DecimalJs from 'decimal.js';

/**
 * The one Decimal used for money and rates. A clone, so nothing here depends on (or changes)
 * decimal.js's global settings. 40 significant digits is far beyond any amount or rate we store
 * (numeric(20,10) and friends), so intermediate results are exact in practice; rounding happens
 * once, explicitly, with roundAmount.
 */
export const Decimal = DecimalJs.clone({ precision: 40, rounding: DecimalJs.ROUND_HALF_UP, toExpNeg: -30, toExpPos: 40 });
export type Decimal = InstanceType<typeof Decimal>;

export const ZERO = new Decimal(0);

export const ROUNDING_METHODS = ['half_up', 'half_even', 'up', 'down'] as const;
export type RoundingMethod = (typeof ROUNDING_METHODS)[number];

const MODES: Record<RoundingMethod, DecimalJs.Rounding> = {
  half_up: DecimalJs.ROUND_HALF_UP,
  half_even: DecimalJs.ROUND_HALF_EVEN,
  // Away from zero / toward zero: charges are never negative, but credits may be.
  up: DecimalJs.ROUND_UP,
  down: DecimalJs.ROUND_DOWN,
};

export interface Rounding {
  decimals: number;
  method: RoundingMethod;
}

export function roundAmount(value: Decimal, rounding: Rounding): Decimal {
  return value.toDecimalPlaces(rounding.decimals, MODES[rounding.method]);
}

/** A decimal from a string as typed or stored; refuses anything that is not a plain decimal number. */
export function parseDecimal(text: string): Decimal | undefined {
  const t = text.trim();
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(t)) return undefined;
  return new Decimal(t);
}

/** Fixed-point text with exactly `decimals` places, for storage and display. */
export function formatFixed(value: Decimal, decimals: number): string {
  return value.toFixed(decimals);
}
