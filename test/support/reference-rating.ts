/**
 * The reference the property tests compare the engine with: a deliberately plain decimal.js
 * implementation (40 significant digits), independent of the engine's fixed-point fast code.
 * Taken from commit b49cb6f of src/domain/{rating/zoned-time,rating/bands,rating/plan,
 * rating/engine,tax/tax,money/fx,rating/charge}.ts; only imports are merged and input types
 * (Rate, RateStep, RatePlanSettings, BandStart, TaxRule, ChargeInputs) come from src.
 * Since then only the rating rules of issue 8 have changed here, each in the plainest form of the
 * rule that docs/RATE-DECKS.md states: blocks are walked one by one, each priced in full at the
 * band and step in force at its first second; a band start is the first instant at which the
 * plan's clock reads its time or later, and the band in force is the one started last; the
 * maximum cost caps an unanswered call's connect fee too. Nothing else is to change here: it is
 * the reference, not a second engine.
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
 * The first instant at which the zone's clock reads this wall time or later. Offsets are constant
 * within each UTC quarter hour, where the clock is t + offset: walk the quarter hours from well
 * before and take the first in which the clock gets there.
 */
export function firstInstantAtOrAfter(timeZone: string, day: number, msOfDay: number): number {
  const key = `${timeZone} ${day} ${msOfDay}`;
  let found = firstInstants.get(key);
  if (found !== undefined) return found;
  const local = day * DAY_MS + msOfDay;
  // No zone is 15 hours ahead of UTC, so the clock is still short of `local` in the first quarter.
  for (let q = Math.floor((local - 15 * 3_600_000) / QUARTER_HOUR) * QUARTER_HOUR; found === undefined; q += QUARTER_HOUR) {
    const at = Math.max(q, local - zoneOffsetMs(timeZone, q));
    if (at < q + QUARTER_HOUR) found = at;
  }
  firstInstants.set(key, found);
  return found;
}
const firstInstants = new Map<string, number>();


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

/**
 * The bands in force over a stretch of time. Every band start of every day (and every midnight), as
 * an instant, in order; the band in force at an instant is the one that started last at or before
 * it, unless that was more than a week of days earlier than the instant's day (the day of the last
 * midnight at or before it).
 */
class BandTimeline {
  private readonly list: Array<{ at: number; day: number; band: string | undefined }> = [];
  private next = 0;
  private today = 0;
  private last: { day: number; band: string } | undefined;

  constructor(s: BandSchedule, fromMs: number, toMs: number) {
    const first = wallTime(s.timeZone, fromMs).day - 8;
    const end = wallTime(s.timeZone, toMs).day + 1;
    for (let day = first; day <= end; day++) {
      const w = wallTime('UTC', day * DAY_MS);
      this.list.push({ at: firstInstantAtOrAfter(s.timeZone, day, 0), day, band: undefined });
      for (const st of dayStarts(s, day, w.date, w.weekday)) this.list.push({ at: firstInstantAtOrAfter(s.timeZone, day, st.startMs), day, band: st.band });
    }
    // Stable: a start at the same instant as an earlier one comes after it, and wins.
    this.list.sort((a, b) => a.at - b.at);
  }

  /** The band in force at `utcMs`; instants are asked for in order. */
  at(utcMs: number): string | undefined {
    for (let e = this.list[this.next]; e !== undefined && e.at <= utcMs; e = this.list[++this.next]) {
      if (e.band === undefined) this.today = e.day;
      else this.last = { day: e.day, band: e.band };
    }
    return this.last && this.last.day >= this.today - 7 ? this.last.band : undefined;
  }
}

/** The band in force at a UTC instant. */
export function bandAtInstant(s: BandSchedule, utcMs: number): string | undefined {
  if (s.empty) return undefined;
  return new BandTimeline(s, utcMs, utcMs).at(utcMs);
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
  const timeline = plan.bands.empty ? undefined : new BandTimeline(plan.bands, origin, origin + leg.billableSeconds * 1000);
  const startBand = timeline?.at(origin);
  const lead = rateForBand(match.version, startBand);
  if (!lead) {
    return { unratable: 'no_rate_for_band', detail: `prefix ${match.prefix} has no rate for band ${startBand ?? '(none)'} in plan ${plan.name}` };
  }

  const base = { planId: plan.id, currency: plan.currency, prefix: match.prefix, description: lead.description, rateEffectiveFrom: match.version.effectiveFrom };

  if (!answered) {
    const fee = plan.connectFeeOnUnanswered ? lead.connectFee : ZERO;
    // The maximum cost caps this call too.
    const capped = lead.maxCost !== null && fee.gt(lead.maxCost);
    const subtotal = capped ? (lead.maxCost as Decimal) : fee;
    return {
      ...base, billableSeconds: 0, chargedSeconds: 0, connectFee: fee, usage: ZERO, pieces: [],
      minChargeApplied: false, maxCostApplied: capped, subtotal, amount: roundAmount(subtotal, plan.rounding),
    };
  }

  // Blocks one by one: each is as long as the increment of, and priced in full by, the band and
  // step in force at its first second. A run of blocks of one band and step is one piece.
  const pieces: ChargePiece[] = [];
  let pos = 0;
  while (pos < leg.billableSeconds) {
    const band = plan.bandMode === 'start' || !timeline ? startBand : timeline.at(origin + pos * 1000);
    const rate = rateForBand(match.version, band);
    if (!rate) {
      return { unratable: 'no_rate_for_band', detail: `prefix ${match.prefix} has no rate for band ${band ?? '(none)'} in plan ${plan.name}` };
    }
    const idx = stepIndexAt(rate.steps, pos);
    const step = rate.steps[idx] as RateStep;
    const last = pieces[pieces.length - 1];
    if (last && last.band === (band ?? null) && last.step === idx) last.seconds += step.increment;
    else pieces.push({ band: band ?? null, step: idx, from: pos, seconds: step.increment, rate: step.rate, rateUnit: step.rateUnit, amount: ZERO });
    pos += step.increment;
  }
  const charged = pos;
  let usage = ZERO;
  for (const piece of pieces) {
    piece.amount = piece.rate.times(piece.seconds).div(piece.rateUnit);
    usage = usage.plus(piece.amount);
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

