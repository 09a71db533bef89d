import { Decimal, roundAmount, ZERO } from '../money/decimal';
import type { Direction } from '../legs/direction';
import { bandAtInstant, splitByBands } from './bands';
import { findRate, type CompiledPlan, type Rate, type RateStep, type RateVersion } from './plan';

/** What the engine needs to know about a leg. */
export interface RatableLeg {
  direction: Direction;
  /** The number whose prefix picks the rate: the called number, or for inbound legs the dialled DID. E.164. */
  number: string;
  /** Leg start (setup) in UTC ms: picks the deck version in force. */
  startMs: number;
  /** Answer time in UTC ms; null when unanswered. Band boundaries are placed from here. */
  answerMs: number | null;
  /** Answered seconds (0 when unanswered). */
  billableSeconds: number;
}

export interface ChargePiece {
  band: string | null;
  step: number;
  /** Offset into the charged time, in seconds. */
  from: number;
  seconds: number;
  rate: Decimal;
  rateUnit: number;
  amount: Decimal;
}

export interface Charge {
  planId: number;
  currency: string;
  prefix: string;
  description: string;
  rateEffectiveFrom: number;
  billableSeconds: number;
  /** Billable seconds after increments (30/6, 60/60 ...). */
  chargedSeconds: number;
  connectFee: Decimal;
  usage: Decimal;
  pieces: ChargePiece[];
  minChargeApplied: boolean;
  maxCostApplied: boolean;
  /** connect fee + usage, after minimum and maximum, before rounding. */
  subtotal: Decimal;
  /** Rounded once, by the plan's rule. Before tax. */
  amount: Decimal;
}

export type UnratableReason = 'no_rate' | 'no_rate_for_band';
export interface Unratable {
  unratable: UnratableReason;
  detail: string;
}

export type RatingResult = Charge | Unratable;

export function isUnratable(r: RatingResult): r is Unratable {
  return (r as Unratable).unratable !== undefined;
}

/**
 * Charged seconds for `seconds` of talk under these steps. Billing advances in increments, each
 * as long as the increment of the step in force where it begins: "30/6" bills 0-30 as one block,
 * then 6 s blocks. Because the sequence of block ends does not depend on the call, a longer call
 * is never charged fewer seconds than a shorter one, even when an increment overhangs the next step.
 */
export function chargedSeconds(steps: RateStep[], seconds: number): number {
  let pos = 0;
  while (pos < seconds) {
    const idx = stepIndexAt(steps, pos);
    const step = steps[idx] as RateStep;
    const nextFrom = steps[idx + 1]?.from ?? Infinity;
    const target = Math.min(seconds, nextFrom);
    pos += Math.max(1, Math.ceil((target - pos) / step.increment)) * step.increment;
  }
  return pos;
}

function stepIndexAt(steps: RateStep[], offset: number): number {
  let idx = 0;
  for (let i = 1; i < steps.length; i++) if ((steps[i] as RateStep).from <= offset) idx = i;
  return idx;
}

function rateForBand(version: RateVersion, band: string | undefined): Rate | undefined {
  return (band !== undefined ? version.byBand.get(band) : undefined) ?? version.byBand.get(null);
}

/**
 * Prices one leg with one compiled plan. Pure: the same leg and plan always give the same charge,
 * so re-rating is idempotent by construction.
 */
export function rateLeg(leg: RatableLeg, plan: CompiledPlan): RatingResult {
  const digits = leg.number.startsWith('+') ? leg.number.slice(1) : leg.number;
  const match = findRate(plan, leg.direction, digits, leg.startMs);
  if (!match) return { unratable: 'no_rate', detail: `no ${leg.direction} rate for ${leg.number} in plan ${plan.name}` };

  const answered = leg.answerMs !== null && leg.billableSeconds > 0;
  const origin = answered ? (leg.answerMs as number) : leg.startMs;
  const startBand = bandAtInstant(plan.bands, origin);
  const lead = rateForBand(match.version, startBand);
  if (!lead) {
    return { unratable: 'no_rate_for_band', detail: `prefix ${match.prefix} has no rate for band ${startBand ?? '(none)'} in plan ${plan.name}` };
  }

  const base = { planId: plan.id, currency: plan.currency, prefix: match.prefix, description: lead.description, rateEffectiveFrom: match.version.effectiveFrom };

  if (!answered) {
    const fee = plan.connectFeeOnUnanswered ? lead.connectFee : ZERO;
    return {
      ...base, billableSeconds: 0, chargedSeconds: 0, connectFee: fee, usage: ZERO, pieces: [],
      minChargeApplied: false, maxCostApplied: false, subtotal: fee, amount: roundAmount(fee, plan.rounding),
    };
  }

  const charged = chargedSeconds(lead.steps, leg.billableSeconds);
  const segments = plan.bandMode === 'start' || plan.bands.empty
    ? [{ band: startBand, from: 0, to: charged }]
    : splitByBands(plan.bands, origin, charged);

  const pieces: ChargePiece[] = [];
  let usage = ZERO;
  for (const seg of segments) {
    const rate = rateForBand(match.version, seg.band);
    if (!rate) {
      return { unratable: 'no_rate_for_band', detail: `prefix ${match.prefix} has no rate for band ${seg.band ?? '(none)'} in plan ${plan.name}` };
    }
    // Within a band segment, cut at the step boundaries of the rate that prices it.
    let from = seg.from;
    while (from < seg.to) {
      const idx = stepIndexAt(rate.steps, from);
      const step = rate.steps[idx] as RateStep;
      const nextFrom = rate.steps[idx + 1]?.from ?? Infinity;
      const to = Math.min(seg.to, nextFrom);
      const seconds = to - from;
      const amount = step.rate.times(seconds).div(step.rateUnit);
      pieces.push({ band: seg.band ?? null, step: idx, from, seconds, rate: step.rate, rateUnit: step.rateUnit, amount });
      usage = usage.plus(amount);
      from = to;
    }
  }

  let subtotal = lead.connectFee.plus(usage);
  let minChargeApplied = false;
  let maxCostApplied = false;
  if (lead.minCharge && subtotal.lt(lead.minCharge)) {
    subtotal = lead.minCharge;
    minChargeApplied = true;
  }
  if (lead.maxCost && subtotal.gt(lead.maxCost)) {
    subtotal = lead.maxCost;
    maxCostApplied = true;
  }
  return {
    ...base, billableSeconds: leg.billableSeconds, chargedSeconds: charged, connectFee: lead.connectFee, usage, pieces,
    minChargeApplied, maxCostApplied, subtotal, amount: roundAmount(subtotal, plan.rounding),
  };
}

export { Decimal };
