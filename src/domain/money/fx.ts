import { Decimal, roundAmount, type Rounding } from './decimal';

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
  return roundAmount(amount.times(rate), rounding);
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
  let best: ExchangeRate | undefined;
  for (const r of rates) {
    if (r.from.trim().toUpperCase() !== f || r.to.trim().toUpperCase() !== t) continue;
    if (r.effectiveFrom > atMs) continue;
    if (!best || r.effectiveFrom >= best.effectiveFrom) best = r;
  }
  return best?.rate;
}
