import { Decimal, type Rounding } from './decimal';
import { latestStarted } from '../time/in-force';
import { decimalOf, methodCode, pow10, roundDiv, scaledOf, scaledOfInput, type MethodCode } from './fixed';

/**
 * Currency conversion (DOMAIN.md, "Around the rate": Currencies). A rate says that 1 unit of
 * `from` is `rate` units of `to`, from `effectiveFrom` on; a call is converted with the rate in
 * force at its start, and both amounts and the rate used are kept by the caller.
 */

export interface ExchangeRate {
  from: string;
  to: string;
  rate: Decimal;
  /** UTC milliseconds. */
  effectiveFrom: number;
}

const ONE = new Decimal(1);

/** amount x rate, rounded once with the target's rounding rule. */
export function convert(amount: Decimal, rate: Decimal, rounding: Rounding): Decimal {
  const a = scaledOf(amount);
  return decimalOf(convertScaled(a.coef, a.scale, rate, rounding.decimals, methodCode(rounding.method)), rounding.decimals);
}

/**
 * amount / 10^scale x rate, exactly, rounded once to `decimals`: the result in 10^-decimals.
 * The hot path's form of convert (bigints in, bigints out).
 */
export function convertScaled(amount: bigint, scale: number, rate: Decimal, decimals: number, method: MethodCode): bigint {
  const r = scaledOfInput(rate);
  const shift = scale + r.scale - decimals;
  const product = amount * r.coef;
  return shift <= 0 ? product * pow10(-shift) : roundDiv(product, pow10(shift), method);
}

/**
 * The rate in force at `atMs`: of the rates for exactly this pair, the one with the latest
 * effectiveFrom at or before atMs (on equal dates, the later in the list). The same currency is
 * always 1. No rate in force is undefined, never 1 and never 0: the caller must leave the charge
 * unconverted (and say so) rather than guess. The reverse pair is not inverted on the fly: 1/x is
 * inexact, and the operator publishes each direction it means.
 */
export function pickRate(rates: ReadonlyArray<ExchangeRate>, from: string, to: string, atMs: number): Decimal | undefined {
  const f = from.trim().toUpperCase();
  const t = to.trim().toUpperCase();
  if (f === t) return ONE;
  const pair = rates.filter((r) => r.from.trim().toUpperCase() === f && r.to.trim().toUpperCase() === t);
  return latestStarted(pair, (r) => r.effectiveFrom, atMs)?.rate;
}
