/**
 * The rating engine as it was before the fixed-point rewrite (decimal.js at 40 significant digits,
 * per-segment wall-time arithmetic), kept verbatim as the oracle the property tests compare the
 * engine with. Taken from commit b49cb6f of src/domain/{rating/zoned-time,rating/bands,rating/plan,
 * rating/engine,tax/tax,money/fx,rating/charge}.ts; only imports are merged and input types
 * (Rate, RateStep, RatePlanSettings, BandStart, TaxRule, ChargeInputs) come from src.
 * Do not "fix" anything here: its point is to be the old behaviour.
 */
import { Decimal, roundAmount, ZERO, type Rounding } from '../../src/domain/money/decimal';
import type { Direction } from '../../src/domain/legs/direction';
import { deckDirection } from '../../src/domain/legs/direction';
import type { BandStart } from '../../src/domain/rating/bands';
import type { Rate, RatePlanSettings, RateStep } from '../../src/domain/rating/plan';
import type { TaxBasis, TaxRule } from '../../src/domain/tax/tax';
import type { ChargeInputs as EngineChargeInputs, ChargeKind, ChargeUnratable } from '../../src/domain/rating/charge';
import type { RatableLeg } from '../../src/domain/rating/engine';


// ---- zoned-time.ts ----
/**
 * Wall-clock time in a plan's time zone, fast enough for the rating hot path. Zone offsets change
 * only at UTC instants that are multiples of 15 minutes, so one Intl look-up per zone and quarter
 * hour is cached and everything else is arithmetic.
 */
const QUARTER_HOUR = 15 * 60 * 1000;
const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();
const offsetCache = new Map<string, Map<number, number>>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Offset of the zone from UTC at a UTC instant, in ms (e.g. +3600000 for CET in winter). */
export function zoneOffsetMs(timeZone: string, utcMs: number): number {
  if (timeZone === 'UTC' || timeZone === 'Etc/UTC') return 0;
  const bucket = Math.floor(utcMs / QUARTER_HOUR);
  let zoneCache = offsetCache.get(timeZone);
  if (!zoneCache) {
    zoneCache = new Map();
    offsetCache.set(timeZone, zoneCache);
  }
  const cached = zoneCache.get(bucket);
  if (cached !== undefined) return cached;
  const at = bucket * QUARTER_HOUR;
  const parts = formatterFor(timeZone).formatToParts(new Date(at));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  const offset = asUtc - at;
  if (zoneCache.size > 200_000) zoneCache.clear();
  zoneCache.set(bucket, offset);
  return offset;
}

export interface WallTime {
  /** Days since 1970-01-01 of the local date. */
  day: number;
  /** 0 = Sunday ... 6 = Saturday. */
  weekday: number;
  /** Local date as YYYY-MM-DD. */
  date: string;
  /** Milliseconds since local midnight. */
  msOfDay: number;
}

export function wallTime(timeZone: string, utcMs: number): WallTime {
  const local = utcMs + zoneOffsetMs(timeZone, utcMs);
  const day = Math.floor(local / DAY_MS);
  return { day, weekday: (((day + 4) % 7) + 7) % 7, date: dateOfDay(day), msOfDay: local - day * DAY_MS };
}

// Band lookups ask for the date of the same few days over and over (each leg, each day walked back).
const dateCache = new Map<number, string>();

export function dateOfDay(day: number): string {
  let date = dateCache.get(day);
  if (date === undefined) {
    date = new Date(day * DAY_MS).toISOString().slice(0, 10);
    if (dateCache.size >= 100_000) dateCache.clear();
    dateCache.set(day, date);
  }
  return date;
}

/**
 * The UTC instant of a local wall time. A wall time inside a DST gap does not exist and is moved
 * forward by the gap (02:30 becomes 03:30, as Temporal's "compatible"); in an overlap, the earlier
 * of the two instants.
 */
export function utcOfWallTime(timeZone: string, day: number, msOfDay: number): number {
  const local = day * DAY_MS + msOfDay;
  // The offsets in force half a day either side cover any single transition.
  const before = zoneOffsetMs(timeZone, local - DAY_MS / 2);
  const after = zoneOffsetMs(timeZone, local + DAY_MS / 2);
  let best: number | undefined;
  for (const candidate of [local - before, local - after]) {
    if (candidate + zoneOffsetMs(timeZone, candidate) === local && (best === undefined || candidate < best)) best = candidate;
  }
  return best ?? local - before;
}


// ---- bands.ts ----

/**
 * Time bands (DOMAIN.md): each definition says "from this local time on these days, band X"; a band
 * lasts until the next one starts, across midnight if nothing starts at 00:00. Specific dates
 * (holidays) replace the weekday schedule for that date.
 */
export interface BandSchedule {
  timeZone: string;
  byWeekday: Array<Array<{ startMs: number; band: string }>>;
  byDate: Map<string, Array<{ startMs: number; band: string }>>;
  empty: boolean;
}

export function compileBands(timeZone: string, starts: BandStart[]): BandSchedule {
  const byWeekday: Array<Array<{ startMs: number; band: string }>> = Array.from({ length: 7 }, () => []);
  const byDate = new Map<string, Array<{ startMs: number; band: string }>>();
  for (const s of starts) {
    for (const w of s.weekdays) byWeekday[w]?.push({ startMs: s.startMs, band: s.band });
    for (const d of s.dates) {
      const list = byDate.get(d) ?? [];
      list.push({ startMs: s.startMs, band: s.band });
      byDate.set(d, list);
    }
  }
  const sort = (l: Array<{ startMs: number }>) => l.sort((a, b) => a.startMs - b.startMs);
  byWeekday.forEach(sort);
  byDate.forEach(sort);
  return { timeZone, byWeekday, byDate, empty: starts.length === 0 };
}

function dayStarts(s: BandSchedule, day: number, date: string, weekday: number) {
  return s.byDate.get(date) ?? s.byWeekday[weekday] ?? [];
}

/** The band at a local day and time; undefined when the plan defines no bands. */
function bandAt(s: BandSchedule, day: number, msOfDay: number): string | undefined {
  // Walk back at most a week to find the band still running from an earlier day.
  for (let back = 0; back <= 7; back++) {
    const d = day - back;
    const w = wallTime('UTC', d * DAY_MS);
    const starts = dayStarts(s, d, w.date, w.weekday);
    for (let i = starts.length - 1; i >= 0; i--) {
      const st = starts[i] as { startMs: number; band: string };
      if (back > 0 || st.startMs <= msOfDay) return st.band;
    }
  }
  return undefined;
}

/** Next band start strictly after (day, msOfDay), as [day, msOfDay]; midnight counts as a boundary. */
function nextBoundary(s: BandSchedule, day: number, msOfDay: number): [number, number] {
  const w = wallTime('UTC', day * DAY_MS);
  for (const st of dayStarts(s, day, w.date, w.weekday)) if (st.startMs > msOfDay) return [day, st.startMs];
  return [day + 1, 0];
}

export interface BandSegment {
  band: string | undefined;
  /** Offsets in seconds from the segment's origin. */
  from: number;
  to: number;
}

/** The band in force at a UTC instant. */
export function bandAtInstant(s: BandSchedule, utcMs: number): string | undefined {
  if (s.empty) return undefined;
  const w = wallTime(s.timeZone, utcMs);
  return bandAt(s, w.day, w.msOfDay);
}

/**
 * Splits [originMs, originMs + seconds) into the bands it passes through, as second offsets from
 * originMs. Boundaries are computed in the plan's local time (DST-aware) and rounded to whole
 * seconds, since billing works in whole seconds.
 */
export function splitByBands(s: BandSchedule, originMs: number, seconds: number): BandSegment[] {
  if (s.empty || seconds <= 0) return [{ band: bandAtInstant(s, originMs), from: 0, to: Math.max(0, seconds) }];
  const segments: BandSegment[] = [];
  let from = 0;
  while (from < seconds) {
    const w = wallTime(s.timeZone, originMs + from * 1000);
    const band = bandAt(s, w.day, w.msOfDay);
    const [nDay, nMs] = nextBoundary(s, w.day, w.msOfDay);
    const boundaryUtc = utcOfWallTime(s.timeZone, nDay, nMs);
    // A second belongs to the band in which it starts.
    const to = Math.min(seconds, Math.max(from + 1, Math.ceil((boundaryUtc - originMs) / 1000)));
    const last = segments[segments.length - 1];
    if (last && last.band === band) last.to = to;
    else segments.push({ band, from, to });
    from = to;
  }
  return segments;
}

// ---- plan.ts ----

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

// ---- engine.ts ----

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


// ---- tax.ts ----

/**
 * Taxes on a charge (DOMAIN.md, "Around the rate": Taxes). Pure: the caller has already chosen the
 * rules that apply (owner, jurisdiction, kind, in force at the call's start) and has already
 * decided exemption: an exempt subscriber or reseller simply gets an empty rule list.
 */


export interface TaxLine {
  taxId: number;
  name: string;
  basis: TaxBasis;
  rate: Decimal;
  /** What the tax was levied on: the base, or base + earlier taxes for a compounding tax. */
  taxable: Decimal;
  /** Rounded with the charge's rounding rule. */
  amount: Decimal;
}

export interface TaxResult {
  lines: TaxLine[];
  /** The sum of the rounded lines: what is shown beside the charge is what adds up. */
  total: Decimal;
}

const HUNDRED = new Decimal(100);

/** Ascending priority, ties by id: the order every process must agree on. */
export function taxOrder(a: Pick<TaxRule, 'priority' | 'id'>, b: Pick<TaxRule, 'priority' | 'id'>): number {
  return a.priority - b.priority || a.id - b.id;
}

/**
 * The tax lines of one charge of `base`.
 *
 * - Rules apply in ascending priority, ties broken by id.
 * - A percent tax that does not compound is levied on the base. A compounding percent tax is levied
 *   on the base plus every tax line of a strictly LOWER priority number (taxes of the same priority
 *   never compound on each other, whatever their ids).
 * - A fixed tax is its amount per charge, not scaled by the base; its compounding flag has no effect
 *   on it, but a later compounding tax does include it.
 * - Choice: a fixed tax applies only to a charge whose base is above zero. A free call (an inbound
 *   leg, a call within a package, a zero-rated on-net call) carries no fixed tax, and a credit (a
 *   negative base) does not refund one. Such a rule then yields no line at all. Percent taxes always
 *   yield a line (zero on a zero base, negative on a credit).
 * - Each line is rounded once with the charge's rounding rule; the total is the sum of the rounded
 *   lines, and compounding builds on the rounded lines, so every figure shown adds up.
 */
export function computeTaxes(base: Decimal, rules: TaxRule[], rounding: Rounding): TaxResult {
  const ordered = [...rules].sort(taxOrder);
  const lines: TaxLine[] = [];
  let total = ZERO;
  // Taxes of priorities already finished (strictly lower than the current rule's).
  let lowerTaxes = ZERO;
  let currentPriority: number | undefined;
  let currentPriorityTaxes = ZERO;

  for (const rule of ordered) {
    if (rule.priority !== currentPriority) {
      lowerTaxes = lowerTaxes.plus(currentPriorityTaxes);
      currentPriorityTaxes = ZERO;
      currentPriority = rule.priority;
    }
    let taxable: Decimal;
    let amount: Decimal;
    if (rule.basis === 'fixed') {
      if (!base.greaterThan(0)) continue;
      taxable = base;
      amount = roundAmount(rule.rate, rounding);
    } else {
      taxable = rule.compounding ? base.plus(lowerTaxes) : base;
      amount = roundAmount(taxable.times(rule.rate).dividedBy(HUNDRED), rounding);
    }
    lines.push({ taxId: rule.id, name: rule.name, basis: rule.basis, rate: rule.rate, taxable, amount });
    currentPriorityTaxes = currentPriorityTaxes.plus(amount);
    total = total.plus(amount);
  }
  return { lines, total };
}

// ---- fx.ts ----
/** amount x rate, rounded once with the target's rounding rule. */
export function convert(amount: Decimal, rate: Decimal, rounding: Rounding): Decimal {
  return roundAmount(amount.times(rate), rounding);
}


// ---- charge.ts ----
/** The engine's inputs, with the oracle's own compiled plan. */
export type ChargeInputs = Omit<EngineChargeInputs, 'plan'> & { plan: CompiledPlan };

/** A charge ready to store: the rated amount, its taxes, and the total in the billed party's currency. */
export interface PricedCharge extends Charge {
  kind: ChargeKind;
  planRevision: number;
  taxes: TaxLine[];
  taxAmount: Decimal;
  /** amount + taxes, in the plan's currency. */
  total: Decimal;
  billedCurrency: string;
  /** 1 unit of the plan's currency in the billed currency, in force at the call's start. */
  exchangeRate: Decimal;
  billedTotal: Decimal;
}

/** Rate, tax and convert one charge. Pure; rounding is the plan's, applied once per amount. */
export function priceCharge(i: ChargeInputs): PricedCharge | ChargeUnratable {
  const rated = rateLeg(i.leg, i.plan);
  if (isUnratable(rated)) return { kind: i.kind, reason: `${i.kind}: ${rated.detail}` };
  if (!i.exchangeRate) {
    return { kind: i.kind, reason: `${i.kind}: no exchange rate from ${i.plan.currency} to ${i.billedCurrency} in force at the call's start` };
  }
  const tax = computeTaxes(rated.amount, i.taxes, i.plan.rounding);
  const total = rated.amount.plus(tax.total);
  return {
    ...rated,
    kind: i.kind,
    planRevision: i.planRevision,
    taxes: tax.lines,
    taxAmount: tax.total,
    total,
    billedCurrency: i.billedCurrency,
    exchangeRate: i.exchangeRate,
    billedTotal: i.billedCurrency === i.plan.currency ? total : convert(total, i.exchangeRate, i.plan.rounding),
  };
}

