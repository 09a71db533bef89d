import { Decimal, ZERO } from '../money/decimal';
import { decimalOf, formatScaled, roundDiv, SCALE } from '../money/fixed';
import type { Direction } from '../legs/direction';
import { locate, located } from './bands';
import { matched, matchVersion, rateFor, stepRate, type CompiledPlan, type CompiledRate, type CompiledStep, type CompiledVersion } from './plan';

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
  /** rate x seconds / rateUnit, unrounded (40 significant digits when it does not terminate). */
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

/** A piece of a charge. Its rate and amount are Decimals only when someone asks for them. */
class Piece implements ChargePiece {
  readonly #step: CompiledStep;
  constructor(
    public band: string | null,
    public step: number,
    public from: number,
    public seconds: number,
    public rateUnit: number,
    compiled: CompiledStep,
  ) {
    this.#step = compiled;
  }

  get rate(): Decimal {
    return stepRate(this.#step);
  }

  get amount(): Decimal {
    return this.rate.times(this.seconds).div(this.rateUnit);
  }

  /** The piece's storage text from its exact figures: the rate, and the amount to 10 decimals (half-up). */
  static text(p: ChargePiece, scale: number): { rate: string; amount: string } | undefined {
    if (!(p instanceof Piece)) return undefined;
    const step = p.#step;
    step.text ??= formatScaled(step.units, scale);
    return { rate: step.text, amount: formatScaled(roundDiv(step.units * BigInt(p.seconds), step.tenDen, 0), SCALE) };
  }
}

/** The exact figures behind a charge's Decimal fields. */
export interface ChargeFigures {
  /** The connect fee charged, as stored. */
  feeText: string;
  /** connect fee + usage after minimum and maximum, as a sum over the version's L (see CompiledVersion). */
  subtotal: bigint;
  usage: bigint;
  version: CompiledVersion;
  /** The rounded amount in 10^-10. */
  amount: bigint;
}

/**
 * A rated charge. The engine keeps its amounts as exact bigints; the Decimal fields are built only
 * when read, so rating a leg allocates no Decimal. Getters live on the prototype: spreading a charge
 * ({ ...c }) does not copy them.
 */
export class RatedCharge implements Charge {
  planId = 0;
  currency = '';
  prefix = '';
  description = '';
  rateEffectiveFrom = 0;
  billableSeconds = 0;
  chargedSeconds = 0;
  pieces: ChargePiece[] = [];
  minChargeApplied = false;
  maxCostApplied = false;
  /** Whether the connect fee is charged (an unanswered call pays it only if the plan says so). */
  #feeCharged = false;
  /** What replaced fee + usage: none, the fee alone (unanswered), the minimum charge, the maximum cost. */
  #cap: 'none' | 'fee' | 'min' | 'max' = 'none';
  #usage = 0n;
  #subtotal = 0n;
  #amount = 0n;
  #version: CompiledVersion | undefined;
  #lead: CompiledRate | undefined;

  get connectFee(): Decimal {
    const lead = this.#lead;
    return this.#feeCharged && lead ? decimalOf(lead.feeUnits, (this.#version as CompiledVersion).scale) : ZERO;
  }

  /**
   * The sum of the pieces' Decimal amounts, added as the breakdown shows them (each to 40
   * significant digits when it does not terminate). The amount does not come from here: it is the
   * exact sum, rounded once.
   */
  get usage(): Decimal {
    let usage = ZERO;
    for (const p of this.pieces) usage = usage.plus(p.amount);
    return usage;
  }

  /** connect fee + usage as shown; a minimum or maximum that applied (or an unanswered call's fee) as given. */
  get subtotal(): Decimal {
    const scale = this.#version?.scale ?? SCALE;
    switch (this.#cap) {
      case 'fee':
        return this.connectFee;
      case 'min':
        return decimalOf(this.#lead?.minUnits as bigint, scale);
      case 'max':
        return decimalOf(this.#lead?.maxUnits as bigint, scale);
      default:
        return this.connectFee.plus(this.usage);
    }
  }

  get amount(): Decimal {
    return decimalOf(this.#amount, SCALE);
  }

  static figures(c: RatedCharge): ChargeFigures {
    const lead = c.#lead;
    let feeText = '0';
    if (c.#feeCharged && lead && lead.feeUnits !== 0n) feeText = lead.feeText ??= formatScaled(lead.feeUnits, (c.#version as CompiledVersion).scale);
    return { feeText, subtotal: c.#subtotal, usage: c.#usage, version: c.#version as CompiledVersion, amount: c.#amount };
  }

  static amountUnits(c: RatedCharge): bigint {
    return c.#amount;
  }

  /**
   * Rates `leg` into `out` (a fresh charge). Pure: the same leg and plan always give the same
   * charge, so re-rating is idempotent by construction. Undefined when rated.
   */
  static rateInto(leg: RatableLeg, plan: CompiledPlan, out: RatedCharge): Unratable | undefined {
    const number = leg.number;
    const version = matchVersion(plan, leg.direction, number, number.charCodeAt(0) === 43 ? 1 : 0, leg.startMs);
    if (!version) return { unratable: 'no_rate', detail: `no ${leg.direction} rate for ${leg.number} in plan ${plan.name}` };
    const prefix = matched.prefix;

    const answered = leg.answerMs !== null && leg.billableSeconds > 0;
    const origin = answered ? (leg.answerMs as number) : leg.startMs;
    const bands = plan.bands;
    let startBand = -1;
    if (!bands.empty) {
      locate(bands, origin);
      startBand = located.band;
    }
    const lead = rateFor(version, startBand);
    if (!lead) return noRateForBand(plan, prefix, startBand);

    out.planId = plan.id;
    out.currency = plan.currency;
    out.prefix = prefix;
    out.description = lead.description;
    out.rateEffectiveFrom = version.effectiveFrom;
    out.#version = version;
    out.#lead = lead;
    const rating = plan.rating;

    if (!answered) {
      const charged = plan.connectFeeOnUnanswered;
      out.#feeCharged = charged;
      out.#cap = 'fee';
      out.#subtotal = charged ? lead.fee : 0n;
      // The maximum cost caps every call, the fee of an unanswered one too (decks refuse a fee above
      // it now, but a deck stored before that may have one).
      if (lead.max !== null && out.#subtotal > lead.max) {
        out.#subtotal = lead.max;
        out.#cap = 'max';
        out.maxCostApplied = true;
      }
      out.#amount = roundDiv(out.#subtotal, version.roundDen, rating.method) * rating.toTen;
      return undefined;
    }

    // Blocks are walked from the answer on; each is priced in full at the band and step in force
    // where it begins, and is as long as that step's increment. Runs of blocks with the same band
    // and step are taken in one go (up to the next band boundary, step or the end of the call).
    const seconds = leg.billableSeconds;
    const split = plan.bandMode === 'split' && !bands.empty;
    const pieces: ChargePiece[] = [];
    let usage = 0n;
    let band = startBand;
    let rate = lead;
    // The first whole second at or after the next band boundary: blocks beginning before it are in `band`.
    let bandEnd = split ? Math.ceil((located.boundaryUtc - origin) / 1000) : Infinity;
    let last: Piece | undefined;
    let pos = 0;
    while (pos < seconds) {
      if (pos >= bandEnd) {
        locate(bands, origin + pos * 1000);
        bandEnd = Math.ceil((located.boundaryUtc - origin) / 1000);
        if (located.band !== band) {
          band = located.band;
          const next = rateFor(version, band);
          if (!next) return noRateForBand(plan, prefix, band);
          rate = next;
          last = undefined;
        }
      }
      const steps = rate.steps;
      const idx = stepIndexAt(steps, pos);
      const step = steps[idx] as CompiledStep;
      let limit = seconds < bandEnd ? seconds : bandEnd;
      if (step.next < limit) limit = step.next;
      // The last block may overhang the limit: it is still priced whole here.
      const length = Math.ceil((limit - pos) / step.increment) * step.increment;
      if (last !== undefined && last.step === idx) last.seconds += length;
      else pieces.push((last = new Piece(band >= 0 ? (bands.names[band] as string) : null, idx, pos, length, step.rateUnit, step)));
      usage += step.weight * BigInt(length);
      pos += length;
    }
    const charged = pos;
    let subtotal = lead.fee + usage;
    let cap: 'none' | 'min' | 'max' = 'none';
    if (lead.min !== null && subtotal < lead.min) {
      subtotal = lead.min;
      cap = 'min';
      out.minChargeApplied = true;
    }
    if (lead.max !== null && subtotal > lead.max) {
      subtotal = lead.max;
      cap = 'max';
      out.maxCostApplied = true;
    }
    out.billableSeconds = leg.billableSeconds;
    out.chargedSeconds = charged;
    out.pieces = pieces;
    out.#feeCharged = true;
    out.#cap = cap;
    out.#usage = usage;
    out.#subtotal = subtotal;
    // The one rounding, of the exact sum.
    out.#amount = roundDiv(subtotal, version.roundDen, rating.method) * rating.toTen;
    return undefined;
  }
}

function noRateForBand(plan: CompiledPlan, prefix: string, band: number): Unratable {
  const name = band >= 0 ? plan.bands.names[band] : undefined;
  return { unratable: 'no_rate_for_band', detail: `prefix ${prefix} has no rate for band ${name ?? '(none)'} in plan ${plan.name}` };
}

function stepIndexAt(steps: ReadonlyArray<{ from: number }>, offset: number): number {
  let idx = 0;
  for (let i = 1; i < steps.length; i++) if ((steps[i] as { from: number }).from <= offset) idx = i;
  return idx;
}

/** A piece's storage text, when it is the engine's own piece. */
export const pieceText = Piece.text;

/**
 * Prices one leg with one compiled plan. Pure: the same leg and plan always give the same charge,
 * so re-rating is idempotent by construction.
 */
export function rateLeg(leg: RatableLeg, plan: CompiledPlan): RatingResult {
  const out = new RatedCharge();
  return RatedCharge.rateInto(leg, plan, out) ?? out;
}

export { Decimal };
