import type { Decimal, Rounding } from '../money/decimal';
import type { Direction } from '../legs/direction';
import { deckDirection } from '../legs/direction';
import { compileBands, type BandSchedule, type BandStart } from './bands';

/** One step of a rate: from second `from` of the call on, `rate` per `rateUnit` seconds, billed in whole `increment`s. */
export interface RateStep {
  from: number;
  rate: Decimal;
  rateUnit: number;
  increment: number;
}

/** A rate as imported: one prefix, direction and band, in force from `effectiveFrom`. */
export interface Rate {
  prefix: string;
  description: string;
  direction: Exclude<Direction, 'forwarded'>;
  /** null: all times (used when the plan has no rate for the band in force). */
  band: string | null;
  effectiveFrom: number;
  connectFee: Decimal;
  minCharge: Decimal | null;
  maxCost: Decimal | null;
  /** Sorted by `from`; the first starts at 0. */
  steps: RateStep[];
}

export interface RatePlanSettings {
  id: number;
  name: string;
  currency: string;
  rounding: Rounding;
  timeZone: string;
  /** 'split': each part of a call is priced by its band; 'start': the whole call by the band it started in. */
  bandMode: 'split' | 'start';
  /** Whether an unanswered call still pays the connect fee. */
  connectFeeOnUnanswered: boolean;
  /** Grows with every change of the plan; charges record the revision that priced them. */
  revision?: number;
}

/** All rates of one prefix and direction that took effect at one instant, by band. */
export interface RateVersion {
  effectiveFrom: number;
  byBand: Map<string | null, Rate>;
}

/**
 * A plan ready for rating: rates indexed by direction and prefix, each prefix's versions newest
 * first, and its time bands compiled. Built once per plan change and cached; rating only reads it.
 */
export interface CompiledPlan extends RatePlanSettings {
  bands: BandSchedule;
  /** direction -> prefix -> versions: no key string is built per look-up on the hot path. */
  index: Map<string, Map<string, RateVersion[]>>;
  maxPrefixLength: number;
  rateCount: number;
}

export function compilePlan(settings: RatePlanSettings, rates: Rate[], bands: BandStart[]): CompiledPlan {
  const index = new Map<string, Map<string, RateVersion[]>>();
  let maxPrefixLength = 0;
  for (const rate of rates) {
    let byPrefix = index.get(rate.direction);
    if (!byPrefix) {
      byPrefix = new Map();
      index.set(rate.direction, byPrefix);
    }
    let versions = byPrefix.get(rate.prefix);
    if (!versions) {
      versions = [];
      byPrefix.set(rate.prefix, versions);
    }
    let version = versions.find((v) => v.effectiveFrom === rate.effectiveFrom);
    if (!version) {
      version = { effectiveFrom: rate.effectiveFrom, byBand: new Map() };
      versions.push(version);
    }
    version.byBand.set(rate.band, rate);
    if (rate.prefix.length > maxPrefixLength) maxPrefixLength = rate.prefix.length;
  }
  for (const byPrefix of index.values()) for (const versions of byPrefix.values()) versions.sort((a, b) => b.effectiveFrom - a.effectiveFrom);
  return { ...settings, bands: compileBands(settings.timeZone, bands), index, maxPrefixLength, rateCount: rates.length };
}

export interface RateMatch {
  prefix: string;
  version: RateVersion;
}

/**
 * Longest prefix of `digits` with a version in force at `at`. A prefix whose first version starts
 * later does not exist yet, so a shorter prefix answers instead.
 */
export function findRate(plan: CompiledPlan, direction: Direction, digits: string, at: number): RateMatch | undefined {
  const byPrefix = plan.index.get(deckDirection(direction));
  if (!byPrefix) return undefined;
  for (let len = Math.min(plan.maxPrefixLength, digits.length); len >= 1; len--) {
    const prefix = digits.slice(0, len);
    const versions = byPrefix.get(prefix);
    if (!versions) continue;
    for (const v of versions) if (v.effectiveFrom <= at) return { prefix, version: v };
  }
  return undefined;
}
