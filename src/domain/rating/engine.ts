import { fixed, roundDiv, SCALE, type Fixed } from '../money/fixed';
import type { Direction } from '../legs/direction';
import { spanAt, type BandSpan } from './bands';
import { matchVersion, rateFor, type CompiledPlan, type CompiledRate, type CompiledStep, type CompiledVersion } from './plan';

/**
 * The rating core: one leg and one compiled plan in, one charge out, in four phases.
 *
 *   match   the deck version in force for the number at the leg's start, and the rate of the band
 *           in force when the charged time begins (matchLeg);
 *   slice   the charged time cut into runs of whole blocks with one band and one step (sliceLeg);
 *   price   each slice priced in ticks (plan.ts), less the seconds an allowance covers (priceSlices);
 *   total   connect fee, minimum charge, maximum cost, and the one rounding (totalCharge).
 *
 * Every phase is a pure function of its arguments; amounts are exact (ticks inside, Fixed in the
 * result, never a JavaScript number) and the result is plain data.
 */

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

/** One run of the charged time at one band and step. */
export interface ChargePiece {
  band: string | null;
  /** The step's index in its rate. */
  step: number;
  /** Offset into the charged time, in seconds. */
  from: number;
  seconds: number;
  rate: Fixed;
  rateUnit: number;
  // Its amount, rate x its priced seconds / rateUnit, is not kept: it does not always terminate,
  // and storage (chargeText) and display (chargeDecimals) each want it their own way.
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
  /** The first charged seconds, taken from an allowance and priced at zero (toll packages, issue 11); 0 until then. */
  coveredSeconds: number;
  /** The connect fee charged (zero for an unanswered call when the plan charges none). */
  connectFee: Fixed;
  /** Usage is their sum (chargeText, chargeDecimals). */
  pieces: ChargePiece[];
  minChargeApplied: boolean;
  maxCostApplied: boolean;
  /** The minimum charge or maximum cost that replaced connect fee + usage; null when neither did. */
  cap: Fixed | null;
  /** connect fee + usage (or the cap), exact, rounded once by the plan's rule; at SCALE. Before tax. */
  amount: Fixed;
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

/** No allowance: every charged second is priced. Toll packages (issue 11) pass the seconds they cover instead. */
export const NO_ALLOWANCE = 0;

/**
 * Prices one leg with one compiled plan. Pure: the same leg, plan and covered seconds always give
 * the same charge, so re-rating is idempotent by construction.
 *
 * @param coveredSeconds seconds of this leg taken from an allowance (a toll package's included
 *   minutes), priced at zero: the first charged seconds, see priceSlices. NO_ALLOWANCE today.
 */
export function rateLeg(leg: RatableLeg, plan: CompiledPlan, coveredSeconds: number = NO_ALLOWANCE): RatingResult {
  if (coveredSeconds !== NO_ALLOWANCE && !(Number.isSafeInteger(coveredSeconds) && coveredSeconds > 0)) throw new RangeError(`covered seconds must be a whole number, not ${coveredSeconds}`);
  // Each check reads one shape or two (a check shared by every phase's result would slow them all).
  const match = matchLeg(leg, plan);
  if (!('lead' in match)) return match;
  const slices = sliceLeg(leg, plan, match);
  if (!Array.isArray(slices)) return slices;
  const usageTicks = priceSlices(slices, coveredSeconds);
  return totalCharge(leg, plan, match, slices, usageTicks, coveredSeconds);
}

// ---------------------------------------------------------------------------------------------
// Phase 1: match.

export interface LegMatch {
  version: CompiledVersion;
  /** The rate of the band in force at `origin`: its fee, minimum, maximum and description are the charge's. */
  lead: CompiledRate;
  /** Whether the leg is charged for time (answered, with billable seconds). */
  answered: boolean;
  /** Where the charged time begins (the answer, or the start of an unanswered leg), UTC ms. */
  origin: number;
  /** The band span at `origin`; undefined when the plan has no bands. */
  span: BandSpan | undefined;
}

export function matchLeg(leg: RatableLeg, plan: CompiledPlan): LegMatch | Unratable {
  const version = matchVersion(plan, leg.direction, leg.number, leg.startMs);
  if (!version) return { unratable: 'no_rate', detail: `no ${leg.direction} rate for ${leg.number} in plan ${plan.name}` };
  const answered = leg.answerMs !== null && leg.billableSeconds > 0;
  const origin = answered ? (leg.answerMs as number) : leg.startMs;
  const span = plan.bands.empty ? undefined : spanAt(plan.bands, origin);
  const band = span ? span.band : -1;
  const lead = rateFor(version, band);
  if (!lead) return noRateForBand(plan, version.prefix, band);
  return { version, lead, answered, origin, span };
}

// ---------------------------------------------------------------------------------------------
// Phase 2: slice by band and step.

/** A run of whole blocks at one band and step; the last block may overhang the call and is charged whole. */
export interface Slice {
  /** Band name, null when the plan has no bands (or none is in force). */
  band: string | null;
  rate: CompiledRate;
  /** Index into rate.steps. */
  step: number;
  from: number;
  seconds: number;
}

/**
 * Blocks are walked from the answer on; each is priced in full at the band and step in force where
 * it begins, and is as long as that step's increment. Runs of blocks with the same band and step
 * are taken in one go (up to the next band boundary, step or the end of the call). An unanswered
 * leg has no slices.
 */
export function sliceLeg(leg: RatableLeg, plan: CompiledPlan, match: LegMatch): Slice[] | Unratable {
  const slices: Slice[] = [];
  if (!match.answered) return slices;
  const seconds = leg.billableSeconds;
  const bands = plan.bands;
  const origin = match.origin;
  let span = match.span;
  let band = span ? span.band : -1;
  let rate = match.lead;
  // In 'start' mode (or without bands) the band at the answer prices the whole call.
  const split = plan.bandMode === 'split' && span !== undefined;
  // The first whole second at or after the next band boundary: blocks beginning before it are in `band`.
  let bandEnd = split ? secondsUntil(span as BandSpan, origin) : Infinity;
  let last: Slice | undefined;
  let pos = 0;
  while (pos < seconds) {
    if (pos >= bandEnd) {
      span = spanAt(bands, origin + pos * 1000);
      bandEnd = secondsUntil(span, origin);
      if (span.band !== band) {
        band = span.band;
        const next = rateFor(match.version, band);
        if (!next) return noRateForBand(plan, match.version.prefix, band);
        rate = next;
        last = undefined;
      }
    }
    const steps = rate.steps;
    const idx = stepIndexAt(steps, pos);
    const step = steps[idx] as CompiledStep;
    let limit = seconds < bandEnd ? seconds : bandEnd;
    if (step.next < limit) limit = step.next;
    // The last block may overhang the limit: it is still charged whole here.
    const length = Math.ceil((limit - pos) / step.increment) * step.increment;
    if (last !== undefined && last.step === idx) last.seconds += length;
    else slices.push((last = { band: band >= 0 ? (bands.names[band] as string) : null, rate, step: idx, from: pos, seconds: length }));
    pos += length;
  }
  return slices;
}

/** Whole seconds from `origin` to the first second at or after the span's end. */
function secondsUntil(span: BandSpan, origin: number): number {
  return Math.ceil((span.endUtc - origin) / 1000);
}

function stepIndexAt(steps: CompiledStep[], offset: number): number {
  let idx = 0;
  for (let i = 1; i < steps.length; i++) if ((steps[i] as CompiledStep).from <= offset) idx = i;
  return idx;
}

// ---------------------------------------------------------------------------------------------
// Phase 3: price.

/**
 * The slices' usage in ticks of their version (exact), each priced at its step's rate. Where
 * allowances plug in: the first `coveredSeconds` of the charged time are taken from an allowance
 * (toll packages, issue 11) and priced at zero; the rest is priced as usual. Whole blocks stay
 * whole: how many seconds a package covers (its balance against the charged seconds) is the
 * caller's decision. With NO_ALLOWANCE (0) every second is priced: today's charges.
 */
export function priceSlices(slices: Slice[], coveredSeconds: number): bigint {
  let ticks = 0n;
  for (let i = 0; i < slices.length; i++) {
    const s = slices[i] as Slice;
    const step = s.rate.steps[s.step] as CompiledStep;
    ticks += step.ticksPerSecond * BigInt(s.seconds - coveredIn(s, coveredSeconds));
  }
  return ticks;
}

/** Of a run of charged time, the seconds within the first `coveredSeconds`. */
export function coveredIn(p: { from: number; seconds: number }, coveredSeconds: number): number {
  return coveredSeconds <= p.from ? 0 : Math.min(p.seconds, coveredSeconds - p.from);
}

// ---------------------------------------------------------------------------------------------
// Phase 4: total.

const ZERO_FIXED: Fixed = Object.freeze(fixed(0n, SCALE));

/**
 * Connect fee plus usage, then the minimum charge and the maximum cost (which caps every call, the
 * fee of an unanswered one too: decks refuse a fee above it now, but a deck stored before that may
 * have one), then the one rounding of the exact sum; and the charge with its breakdown.
 */
export function totalCharge(leg: RatableLeg, plan: CompiledPlan, match: LegMatch, slices: Slice[], usageTicks: bigint, coveredSeconds: number): Charge {
  const { version, lead } = match;
  // An unanswered leg pays the connect fee only if the plan says so.
  const feeCharged = match.answered || plan.connectFeeOnUnanswered;
  let subtotal = (feeCharged ? lead.connectFeeTicks : 0n) + usageTicks;
  let cap: Fixed | null = null;
  let minChargeApplied = false;
  let maxCostApplied = false;
  if (match.answered && lead.minChargeTicks !== null && subtotal < lead.minChargeTicks) {
    subtotal = lead.minChargeTicks;
    cap = lead.minCharge;
    minChargeApplied = true;
  }
  if (lead.maxCostTicks !== null && subtotal > lead.maxCostTicks) {
    subtotal = lead.maxCostTicks;
    cap = lead.maxCost;
    maxCostApplied = true;
  }
  const pieces: ChargePiece[] = new Array(slices.length);
  for (let i = 0; i < slices.length; i++) {
    const s = slices[i] as Slice;
    const step = s.rate.steps[s.step] as CompiledStep;
    pieces[i] = { band: s.band, step: s.step, from: s.from, seconds: s.seconds, rate: step.rate, rateUnit: step.rateUnit };
  }
  const end = slices[slices.length - 1];
  const rating = plan.rating;
  return {
    planId: plan.id,
    currency: plan.currency,
    prefix: version.prefix,
    description: lead.description,
    rateEffectiveFrom: version.effectiveFrom,
    billableSeconds: match.answered ? leg.billableSeconds : 0,
    chargedSeconds: end ? end.from + end.seconds : 0,
    coveredSeconds: end ? Math.min(coveredSeconds, end.from + end.seconds) : 0,
    connectFee: feeCharged ? lead.connectFee : ZERO_FIXED,
    pieces,
    minChargeApplied,
    maxCostApplied,
    cap,
    // A literal, not fixed(): see priceCharge.
    amount: { coef: roundDiv(subtotal, version.ticksPerRounded, rating.method) * rating.storedPerRounded, scale: SCALE },
  };
}

function noRateForBand(plan: CompiledPlan, prefix: string, band: number): Unratable {
  const name = band >= 0 ? plan.bands.names[band] : undefined;
  return { unratable: 'no_rate_for_band', detail: `prefix ${prefix} has no rate for band ${name ?? '(none)'} in plan ${plan.name}` };
}
