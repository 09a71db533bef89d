import type { Decimal, Rounding } from '../money/decimal';
import { decimalsOf, fixed, lcm, methodCode, pow10, scaledOf, SCALE, type Fixed, type MethodCode } from '../money/fixed';
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

/**
 * Ticks: how the engine adds money. A version's amounts are summed exactly as whole ticks, one tick
 * being 1 / (L x 10^scale) of the currency, where L is the least common multiple of the version's
 * rate units and scale the plan's (SCALE, or more when a rate, fee or cap has more decimals). A step's price per second is then a whole
 * number of ticks, pieces priced by different steps and bands add up without rounding, and the
 * charge is rounded once, from ticks. The denominators below are named for what they convert.
 */

/** A step ready for rating: from second `from` on, `rate` per `rateUnit` seconds, billed in whole `increment`s. */
export interface CompiledStep {
  from: number;
  /** `from` of the next step; Infinity for the last. */
  next: number;
  increment: number;
  rateUnit: number;
  /** The rate as imported, at the plan's scale. */
  rate: Fixed;
  /** rate / rateUnit in ticks: a second of this step costs this many ticks. */
  ticksPerSecond: bigint;
}

export interface CompiledRate {
  /** The band it prices, null for all times. */
  band: string | null;
  description: string;
  steps: CompiledStep[];
  /** The connect fee, minimum charge and maximum cost as imported (null: none). */
  connectFee: Fixed;
  minCharge: Fixed | null;
  maxCost: Fixed | null;
  /** The same three in ticks, for the total phase. */
  connectFeeTicks: bigint;
  minChargeTicks: bigint | null;
  maxCostTicks: bigint | null;
}

/**
 * A version as the engine reads it. On a large deck every leg lands on a different version, so
 * what a leg reads sits in as few objects as possible: the rates by band are fields of the version
 * itself (not a Map, not an array), with the all-times fallback already applied.
 */
export interface CompiledVersion {
  effectiveFrom: number;
  prefix: string;
  direction: Rate['direction'];
  /** Its rates as imported, one per band, in deck order. */
  rates: CompiledRate[];
  /** The next older version of the same prefix and direction. */
  older: CompiledVersion | undefined;
  /** The rate when no band is in force: the all-times one. */
  r0: CompiledRate | undefined;
  /** The rates of band ids 0, 1 and 2 (BandSchedule.names), each falling back to the all-times rate. */
  r1: CompiledRate | undefined;
  r2: CompiledRate | undefined;
  r3: CompiledRate | undefined;
  /** Band ids 3 and up. */
  more: Array<CompiledRate | undefined>;
  /** Ticks in one unit of the rounded amount (10^-decimals): L x 10^(scale - decimals). */
  ticksPerRounded: bigint;
}

/** The rate pricing `band` (an id, -1 for none) in a version. */
export function rateFor(v: CompiledVersion, band: number): CompiledRate | undefined {
  switch (band) {
    case -1:
      return v.r0;
    case 0:
      return v.r1;
    case 1:
      return v.r2;
    case 2:
      return v.r3;
    default:
      return v.more[band - 3] ?? v.r0;
  }
}

/**
 * The engine's own form of a plan: every rate, fee and cap exact at one scale (10, or more if a
 * rate has more decimals), and a digit trie for the longest-prefix match.
 */
export interface CompiledRating {
  method: MethodCode;
  /** Stored units (10^-SCALE) in one unit of the rounded amount (10^-decimals): 10^(SCALE - decimals). */
  storedPerRounded: bigint;
  trie: PrefixTrie;
}

/**
 * Prefixes as a digit trie: no substring and no hash per look-up, one array read per digit. Each
 * node is NODE ints: the prefix's newest version (index + 1 into `heads`, 0 for none), then the
 * child of each digit (0 for none; node 0 is never a child). Each direction has its own root.
 */
export interface PrefixTrie {
  nodes: Int32Array;
  heads: CompiledVersion[];
  roots: { outbound: number; inbound: number; onnet: number };
}

const NODE = 11;

/**
 * A plan ready for rating: rates indexed by direction and prefix, each prefix's versions newest
 * first, and its time bands compiled. Built once per plan change and cached; rating only reads it.
 */
export interface CompiledPlan extends RatePlanSettings {
  bands: BandSchedule;
  rating: CompiledRating;
}

export function compilePlan(settings: RatePlanSettings, rates: Rate[], bands: BandStart[]): CompiledPlan {
  // First the rates grouped by direction, prefix and effective date; compiled below.
  const index = new Map<string, Map<string, RateVersion[]>>();
  let scale = SCALE;
  for (const rate of rates) {
    // Decks and the rates table hold E.164 digits only (parsePrefix, rates_prefix_check): the trie relies on it.
    if (!/^\d{1,15}$/.test(rate.prefix)) throw new Error(`prefix "${rate.prefix}" is not 1-15 digits`);
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
    scale = Math.max(scale, decimalsOf(rate.connectFee), rate.minCharge ? decimalsOf(rate.minCharge) : 0, rate.maxCost ? decimalsOf(rate.maxCost) : 0);
    for (const s of rate.steps) scale = Math.max(scale, decimalsOf(s.rate));
  }

  const { decimals } = settings.rounding;
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > SCALE) throw new Error(`rounding decimals must be 0-${SCALE}, not ${decimals}`);
  const schedule = compileBands(settings.timeZone, bands);
  const shared = new Shared(scale);
  const compiled = new Map<string, Map<string, CompiledVersion[]>>();
  for (const [direction, byPrefix] of index) {
    const out = new Map<string, CompiledVersion[]>();
    compiled.set(direction, out);
    for (const [prefix, versions] of byPrefix) {
      versions.sort((a, b) => b.effectiveFrom - a.effectiveFrom);
      // Oldest first, so that each knows the next older one.
      const list: CompiledVersion[] = new Array(versions.length);
      let older: CompiledVersion | undefined;
      for (let i = versions.length - 1; i >= 0; i--) {
        older = compileVersion(versions[i] as RateVersion, prefix, direction as Rate['direction'], older, schedule.names, scale, decimals, shared);
        list[i] = older;
      }
      out.set(prefix, list);
    }
  }
  // The rates as imported (their Decimals, maps and arrays) are not kept: a compiled plan holds
  // only what rating reads, with equal values shared. A process holds every plan in use, and the
  // garbage collector walks all of it in every major collection.
  const rating: CompiledRating = { method: methodCode(settings.rounding.method), storedPerRounded: pow10(SCALE - decimals), trie: buildTrie(compiled) };
  return { ...settings, bands: schedule, rating };
}

/** All rates of one prefix and direction that took effect at one instant, by band (compilePlan's grouping). */
interface RateVersion {
  effectiveFrom: number;
  byBand: Map<string | null, Rate>;
}

const NONE: Array<CompiledRate | undefined> = [];

/**
 * Equal values compiled once: a deck of 50,000 prefixes has a few thousand distinct rates, fees and
 * step shapes, so sharing them keeps what rating reads small enough to stay in the CPU cache.
 */
class Shared {
  private readonly bigints = new Map<bigint, bigint>();
  private readonly fixeds = new Map<bigint, Fixed>();
  private readonly texts = new Map<string, string>();
  // Candidates by price per second, then by first step: compared field by field, no key strings built.
  private readonly steps = new Map<bigint, CompiledStep[]>();
  private readonly lists = new Map<CompiledStep, CompiledStep[][]>();
  // Most fees and rates have at most 7 significant digits (one base-10^7 limb of the Decimal): their
  // values by limb and exponent, so each distinct value is converted once per plan.
  private readonly short = new Map<number, Fixed>();

  constructor(readonly scale: number) {}

  bigint(v: bigint): bigint {
    const hit = this.bigints.get(v);
    if (hit !== undefined) return hit;
    this.bigints.set(v, v);
    return v;
  }

  /** One string per text (descriptions repeat across prefixes, bands and versions). */
  text(s: string): string {
    const hit = this.texts.get(s);
    if (hit !== undefined) return hit;
    this.texts.set(s, s);
    return s;
  }

  /** A Decimal as a Fixed at the plan's scale, one object per value. */
  fixed(d: Decimal): Fixed {
    const limbs = d.d;
    const key = limbs && limbs.length === 1 && d.e > -1000 && d.e < 1000 ? ((limbs[0] as number) * 2000 + d.e + 1000) * d.s : undefined;
    if (key !== undefined) {
      const hit = this.short.get(key);
      if (hit !== undefined) return hit;
    }
    const s = scaledOf(d);
    const coef = s.scale === this.scale ? s.coef : s.coef * pow10(this.scale - s.scale);
    let f = this.fixeds.get(coef);
    if (f === undefined) {
      // Frozen: charges share it (a piece's rate, a connect fee), so no one may change it.
      f = Object.freeze(fixed(this.bigint(coef), this.scale));
      this.fixeds.set(coef, f);
    }
    if (key !== undefined) this.short.set(key, f);
    return f;
  }

  step(s: RateStep, next: number, l: bigint): CompiledStep {
    const unit = unitOf(s);
    const rate = this.fixed(s.rate);
    const ticksPerSecond = this.bigint((rate.coef * l) / unit);
    let candidates = this.steps.get(ticksPerSecond);
    if (candidates === undefined) {
      candidates = [];
      this.steps.set(ticksPerSecond, candidates);
    }
    for (const c of candidates) if (c.from === s.from && c.next === next && c.increment === s.increment && c.rateUnit === s.rateUnit && c.rate === rate) return c;
    const step: CompiledStep = { from: s.from, next, increment: s.increment, rateUnit: s.rateUnit, rate, ticksPerSecond };
    candidates.push(step);
    return step;
  }

  stepList(rate: Rate, l: bigint): CompiledStep[] {
    const steps = rate.steps;
    if (steps.length === 0) return [];
    const first = this.step(steps[0] as RateStep, steps[1]?.from ?? Infinity, l);
    let candidates = this.lists.get(first);
    if (candidates === undefined) {
      candidates = [];
      this.lists.set(first, candidates);
    }
    const rest: CompiledStep[] = [];
    for (let i = 1; i < steps.length; i++) rest.push(this.step(steps[i] as RateStep, steps[i + 1]?.from ?? Infinity, l));
    for (const c of candidates) if (c.length === steps.length && rest.every((s, i) => s === c[i + 1])) return c;
    const list = [first, ...rest];
    candidates.push(list);
    return list;
  }
}

/**
 * A version ready for rating. Its rates are compiled right after it, so that what one leg reads
 * (the version and its rates) tends to sit together in memory.
 */
function compileVersion(group: RateVersion, prefix: string, direction: Rate['direction'], older: CompiledVersion | undefined, names: string[], scale: number, decimals: number, shared: Shared): CompiledVersion {
  // L, one for the whole version: pieces priced by different bands' rates add up exactly.
  let l = 1n;
  for (const rate of group.byBand.values()) {
    for (const s of rate.steps) {
      const unit = unitOf(s);
      if (l % unit !== 0n) l = lcm(l, unit);
    }
  }
  // The fields a leg reads first.
  const v: CompiledVersion = {
    effectiveFrom: group.effectiveFrom, older, r0: undefined, r1: undefined, r2: undefined, r3: undefined,
    ticksPerRounded: shared.bigint(l * pow10(scale - decimals)), prefix, more: NONE,
    direction,
    // Sized up front: an array grown by push keeps room for 16 more.
    rates: new Array<CompiledRate>(group.byBand.size),
  };
  let n = 0;
  let allTimes: CompiledRate | undefined;
  const byId: Array<CompiledRate | undefined> = names.map(() => undefined);
  for (const [band, rate] of group.byBand) {
    const connectFee = shared.fixed(rate.connectFee);
    const minCharge = rate.minCharge ? shared.fixed(rate.minCharge) : null;
    const maxCost = rate.maxCost ? shared.fixed(rate.maxCost) : null;
    const compiled: CompiledRate = {
      description: shared.text(rate.description), steps: shared.stepList(rate, l),
      connectFeeTicks: shared.bigint(connectFee.coef * l),
      minChargeTicks: minCharge === null ? null : shared.bigint(minCharge.coef * l),
      maxCostTicks: maxCost === null ? null : shared.bigint(maxCost.coef * l),
      connectFee, minCharge, maxCost, band,
    };
    v.rates[n++] = compiled;
    if (band === null) allTimes = compiled;
    else if (names.includes(band)) byId[names.indexOf(band)] = compiled;
  }
  for (let i = 0; i < byId.length; i++) byId[i] ??= allTimes;
  v.r0 = allTimes;
  v.r1 = byId.length > 0 ? byId[0] : allTimes;
  v.r2 = byId.length > 1 ? byId[1] : allTimes;
  v.r3 = byId.length > 2 ? byId[2] : allTimes;
  if (byId.length > 3) v.more = byId.slice(3);
  return v;
}

function unitOf(s: RateStep): bigint {
  if (!Number.isSafeInteger(s.rateUnit) || s.rateUnit <= 0) throw new Error(`rate unit must be a whole number of seconds, not ${s.rateUnit}`);
  return BigInt(s.rateUnit);
}

function buildTrie(index: Map<string, Map<string, CompiledVersion[]>>): PrefixTrie {
  let nodes = new Int32Array(4096 * NODE);
  let count = 1; // node 0: none
  const heads: CompiledVersion[] = [];
  const newNode = () => {
    if ((count + 1) * NODE > nodes.length) {
      const grown = new Int32Array(nodes.length * 2);
      grown.set(nodes);
      nodes = grown;
    }
    return count++;
  };
  const roots = { outbound: newNode(), inbound: newNode(), onnet: newNode() };
  for (const [direction, byPrefix] of index) {
    const root = roots[direction as keyof typeof roots];
    if (root === undefined) continue;
    for (const [prefix, vs] of byPrefix) {
      let node = root;
      for (let i = 0; i < prefix.length; i++) {
        const slot = node * NODE + 1 + prefix.charCodeAt(i) - 48;
        let child = nodes[slot] as number;
        if (child === 0) {
          child = newNode();
          nodes[slot] = child;
        }
        node = child;
      }
      heads.push(vs[0] as CompiledVersion);
      nodes[node * NODE] = heads.length;
    }
  }
  return { nodes: nodes.slice(0, count * NODE), heads, roots };
}

/**
 * The match phase: the version of the longest prefix of `number` (E.164, with or without its +)
 * in force at `at`, for the deck of `direction`; its prefix is `version.prefix`. A prefix whose
 * first version starts later does not exist yet, so a shorter prefix answers instead.
 */
export function matchVersion(plan: CompiledPlan, direction: Direction, number: string, at: number): CompiledVersion | undefined {
  const trie = plan.rating.trie;
  const deck = deckDirection(direction);
  const root = deck === 'outbound' ? trie.roots.outbound : deck === 'inbound' ? trie.roots.inbound : trie.roots.onnet;
  const nodes = trie.nodes;
  const heads = trie.heads;
  const first = number.charCodeAt(0) === 43 ? 1 : 0;
  // Walk down to the deepest prefix (shorter than `limit` digits) that has versions. When none of
  // them is in force yet (rare: a prefix added for a later date), walk again, stopping above it.
  let limit = number.length - first + 1;
  for (;;) {
    let node = root;
    let deepest = 0;
    let depth = 0;
    for (let i = first; i < number.length && i - first + 1 < limit; i++) {
      const digit = number.charCodeAt(i) - 48;
      if (digit < 0 || digit > 9) break;
      node = nodes[node * NODE + 1 + digit] as number;
      if (node === 0) break;
      const head = nodes[node * NODE] as number;
      if (head !== 0) {
        deepest = head;
        depth = i - first + 1;
      }
    }
    if (deepest === 0) return undefined;
    let v: CompiledVersion | undefined = heads[deepest - 1];
    while (v !== undefined && v.effectiveFrom > at) v = v.older;
    if (v !== undefined) return v;
    limit = depth;
  }
}
