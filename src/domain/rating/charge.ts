import { convertScaled } from '../money/fx';
import { ZERO, type Decimal } from '../money/decimal';
import { decimalOfFixed, fixed, fixedText, formatScaled, HALF_UP, lcm, pow10, roundDiv, SCALE, textOfInput, type Fixed } from '../money/fixed';
import { taxLineFigures, taxLines, type TaxLine, type TaxRule } from '../tax/tax';
import { coveredIn, NO_ALLOWANCE, rateLeg, type Charge, type ChargePiece, type RatableLeg } from './engine';
import type { CompiledPlan } from './plan';
import type { AllowanceTake } from '../billing/allowances';

/**
 * wholesale: what a reseller pays the operator; retail: what a subscriber pays its reseller;
 * carrier_cost: what the LD carrier the leg left by should charge the operator (its cost deck, no
 * taxes; the operator's figure only, never shown to resellers).
 */
export type ChargeKind = 'wholesale' | 'retail' | 'carrier_cost';

/** A charge ready to store: the rated amount, its taxes, and the total in the billed party's currency. Plain data. */
export interface PricedCharge extends Charge {
  kind: ChargeKind;
  planRevision: number;
  taxes: TaxLine[];
  /** At SCALE, like every amount below. */
  taxAmount: Fixed;
  /** amount + taxes, in the plan's currency. */
  total: Fixed;
  billedCurrency: string;
  /** 1 unit of the plan's currency in the billed currency, in force at the call's start. */
  exchangeRate: Decimal;
  billedTotal: Fixed;
  /** Which allowances covered its coveredSeconds (toll packages); absent or empty: none. */
  allowances?: AllowanceTake[];
}

export interface ChargeUnratable {
  kind: ChargeKind;
  reason: string;
}

export interface ChargeInputs {
  kind: ChargeKind;
  plan: CompiledPlan;
  planRevision: number;
  leg: RatableLeg;
  /** The usage taxes that apply (empty for an exempt party). */
  taxes: TaxRule[];
  billedCurrency: string;
  /** Undefined when no rate is known: the charge is unratable, never converted at 1 or 0. */
  exchangeRate: Decimal | undefined;
  /** Seconds taken from an allowance (toll packages, issue 11), see rateLeg; NO_ALLOWANCE when absent. */
  coveredSeconds?: number;
}

/** Rate, tax and convert one charge. Pure; rounding is the plan's, applied once per amount. */
export function priceCharge(i: ChargeInputs): PricedCharge | ChargeUnratable {
  const plan = i.plan;
  const rated = rateLeg(i.leg, plan, i.coveredSeconds ?? NO_ALLOWANCE);
  if ('unratable' in rated) return { kind: i.kind, reason: `${i.kind}: ${rated.detail}` };
  if (!i.exchangeRate) return { kind: i.kind, reason: `${i.kind}: no exchange rate from ${plan.currency} to ${i.billedCurrency} in force at the call's start` };
  const { decimals } = plan.rounding;
  const method = plan.rating.method;
  const amount = rated.amount.coef;
  const taxes: TaxLine[] = [];
  const taxAmount = taxLines(amount, SCALE, i.taxes, decimals, method, taxes);
  const total = amount + taxAmount;
  const billedTotal = i.billedCurrency === plan.currency ? total : convertScaled(total, SCALE, i.exchangeRate, decimals, method) * plan.rating.storedPerRounded;
  // Every field written out (not spread), and Fixed values as literals (not fixed(): a call into
  // another module costs a getter under tsx): one object shape for every priced charge, and
  // measurably faster (bench (c), priceCharge).
  return {
    planId: rated.planId,
    currency: rated.currency,
    prefix: rated.prefix,
    description: rated.description,
    rateEffectiveFrom: rated.rateEffectiveFrom,
    billableSeconds: rated.billableSeconds,
    chargedSeconds: rated.chargedSeconds,
    coveredSeconds: rated.coveredSeconds,
    connectFee: rated.connectFee,
    pieces: rated.pieces,
    minChargeApplied: rated.minChargeApplied,
    maxCostApplied: rated.maxCostApplied,
    cap: rated.cap,
    amount: rated.amount,
    kind: i.kind,
    planRevision: i.planRevision,
    taxes,
    taxAmount: { coef: taxAmount, scale: SCALE },
    total: { coef: total, scale: SCALE },
    billedCurrency: i.billedCurrency,
    exchangeRate: i.exchangeRate,
    billedTotal: { coef: billedTotal, scale: SCALE },
  };
}

export function isPriced(c: PricedCharge | ChargeUnratable): c is PricedCharge {
  return (c as ChargeUnratable).reason === undefined;
}

/** A charge as stored: decimal text for the numeric columns and the JSON breakdowns. */
export interface ChargeText {
  connectFee: string;
  /** To 10 decimals, half-up. */
  usage: string;
  amount: string;
  taxAmount: string;
  total: string;
  exchangeRate: string;
  billedTotal: string;
  /** amount to 10 decimals, half-up. */
  pieces: Array<{ rate: string; amount: string }>;
  taxes: Array<{ rate: string; taxable: string; amount: string }>;
}

/** The storage text of a charge, straight from its Fixed figures (decimal.js's toString of each value): no Decimal is built. */
export function chargeText(c: PricedCharge): ChargeText {
  return {
    connectFee: fixedText(c.connectFee),
    usage: formatScaled(storedUsage(c.pieces, c.coveredSeconds), SCALE),
    amount: fixedText(c.amount),
    taxAmount: fixedText(c.taxAmount),
    total: fixedText(c.total),
    exchangeRate: textOfInput(c.exchangeRate),
    billedTotal: fixedText(c.billedTotal),
    pieces: c.pieces.map((p) => ({ rate: fixedText(p.rate), amount: formatScaled(storedAmount(p.rate, pricedSeconds(p, c.coveredSeconds), BigInt(p.rateUnit)), SCALE) })),
    taxes: c.taxes.map((t) => {
      const l = taxLineFigures(t);
      return l
        ? { rate: textOfInput(t.rate), taxable: formatScaled(l.taxable, l.scale), amount: formatScaled(l.amount, l.scale) }
        : { rate: t.rate.toString(), taxable: t.taxable.toString(), amount: t.amount.toString() };
    }),
  };
}

/** Seconds of a piece that are priced (not covered by an allowance). */
function pricedSeconds(p: ChargePiece, coveredSeconds: number): number {
  return p.seconds - coveredIn(p, coveredSeconds);
}

/** rate x seconds / per in 10^-SCALE, half-up: a stored breakdown figure. */
function storedAmount(rate: Fixed, seconds: number, per: bigint): bigint {
  const n = rate.coef * BigInt(seconds);
  return rate.scale >= SCALE ? roundDiv(n, per * pow10(rate.scale - SCALE), HALF_UP) : roundDiv(n * pow10(SCALE - rate.scale), per, HALF_UP);
}

/** The pieces' exact sum in 10^-SCALE, half-up: over the least common multiple of their rate units, at their largest scale. */
function storedUsage(pieces: ChargePiece[], coveredSeconds: number): bigint {
  if (pieces.length === 1) {
    const p = pieces[0] as ChargePiece;
    return storedAmount(p.rate, pricedSeconds(p, coveredSeconds), BigInt(p.rateUnit));
  }
  let per = 1n;
  let scale = 0;
  for (const p of pieces) {
    const unit = BigInt(p.rateUnit);
    if (per % unit !== 0n) per = lcm(per, unit);
    if (p.rate.scale > scale) scale = p.rate.scale;
  }
  let sum = 0n;
  for (const p of pieces) sum += p.rate.coef * pow10(scale - p.rate.scale) * (per / BigInt(p.rateUnit)) * BigInt(pricedSeconds(p, coveredSeconds));
  return storedAmount(fixed(sum, scale), 1, per);
}

/** A charge's figures as decimal.js values, for display (the rate CLI) and for the decimal.js reference. */
export interface ChargeDecimals {
  connectFee: Decimal;
  /** Each piece's rate and unrounded amount, rate x priced seconds / rate unit (40 significant digits when it does not terminate). */
  pieces: Array<{ rate: Decimal; amount: Decimal }>;
  /** The pieces' amounts added as shown. The charge's amount does not come from here: it is the exact sum, rounded once. */
  usage: Decimal;
  /** connect fee + usage as shown, or the minimum or maximum that applied. */
  subtotal: Decimal;
  amount: Decimal;
}

export function chargeDecimals(c: Charge): ChargeDecimals {
  const connectFee = decimalOfFixed(c.connectFee);
  let usage = ZERO;
  const pieces = c.pieces.map((p) => {
    const rate = decimalOfFixed(p.rate);
    const amount = rate.times(pricedSeconds(p, c.coveredSeconds)).div(p.rateUnit);
    usage = usage.plus(amount);
    return { rate, amount };
  });
  return { connectFee, pieces, usage, subtotal: c.cap ? decimalOfFixed(c.cap) : connectFee.plus(usage), amount: decimalOfFixed(c.amount) };
}
