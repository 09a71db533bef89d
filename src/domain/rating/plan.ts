import type { Decimal, Rounding } from '../money/decimal';
import { decimalOf, decimalsOf, lcm, methodCode, pow10, scaledOf, SCALE, type MethodCode } from '../money/fixed';
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
 * A step ready for the hot path. Amounts of one version are summed exactly as fractions over L,
 * the least common multiple of its rate units, at the plan's scale (see CompiledRating). Compiled
 * plans hold no Decimal (a Decimal and its digit array weigh more than the step): a process holds
 * every plan in use. Decimals are made from `units` when asked for (stepRate, ratesOf).
 */
export interface CompiledStep {
  from: number;
  /** `from` of the next step; Infinity for the last. */
  next: number;
  increment: number;
  rateUnit: number;
  /** The plan's scale: `units` is the rate in 10^-scale. */
  scale: number;
  /** The rate in 10^-scale. */
  units: bigint;
  /** units x L / rateUnit: `seconds` of this step add weight x seconds to the sum over L. */
  weight: bigint;
  /** rateUnit x 10^(scale - 10): units x seconds divided by this is the piece in 10^-10. */
  tenDen: bigint;
  /** The rate's storage text, once asked for (chargeText). */
  text: string | undefined;
}

export interface CompiledRate {
  band: string | null;
  description: string;
  steps: CompiledStep[];
  /** The connect fee, minimum charge and maximum cost in 10^-scale (null: none). */
  feeUnits: bigint;
  minUnits: bigint | null;
  maxUnits: bigint | null;
  /** The connect fee's storage text, once asked for (chargeText). */
  feeText: string | undefined;
  /** Connect fee, minimum charge and maximum cost as sums over L (null: none). */
  fee: bigint;
  min: bigint | null;
  max: bigint | null;
}

/**
 * A version as the engine reads it; it is also the RateVersion findRate answers. On a large deck
 * every leg lands on a different version, so what a leg reads sits in as few objects as possible:
 * the rates by band are fields of the version itself (not a Map, not an array), with the
 * all-times fallback already applied.
 */
export interface CompiledVersion {
  effectiveFrom: number;
  prefix: string;
  direction: Rate['direction'];
  /** Its rates as imported, one per band (ratesOf). */
  rates: CompiledRate[];
  /** The plan's scale (CompiledRating.scale). */
  scale: number;
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
  /** L x 10^scale: a sum over L divided by this is the amount itself. */
  den: bigint;
  /** L x 10^(scale - decimals): a sum over L divided by this, rounded, is the amount in 10^-decimals. */
  roundDen: bigint;
  /** L x 10^(scale - 10): a sum over L divided by this is the amount in 10^-10 (storage text). */
  tenDen: bigint;
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
 * The engine's own form of a plan: every rate, fee and cap as an exact bigint at one scale (10, or
 * more if a rate has more decimals), and a digit trie for the longest-prefix match.
 */
export interface CompiledRating {
  scale: number;
  method: MethodCode;
  /** 10^(10 - decimals): a rounded amount in 10^-decimals times this is in 10^-10. */
  toTen: bigint;
  /** Null when some prefix is not all digits: findRate then walks the prefix index instead. */
  trie: PrefixTrie | null;
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
  /**
   * direction -> prefix -> versions, newest first, when some prefix is not all digits; rating then
   * walks this instead of `rating.trie`. Null when the trie serves (it holds the same versions).
   */
  index: Map<string, Map<string, CompiledVersion[]>> | null;
  maxPrefixLength: number;
  rateCount: number;
  rating: CompiledRating;
}

export function compilePlan(settings: RatePlanSettings, rates: Rate[], bands: BandStart[]): CompiledPlan {
  // First the rates grouped by direction, prefix and effective date; compiled below.
  const index = new Map<string, Map<string, RateVersion[]>>();
  let maxPrefixLength = 0;
  let scale = SCALE;
  const digitsOnly = /^\d+$/;
  let allDigits = true;
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
    if (allDigits && !digitsOnly.test(rate.prefix)) allDigits = false;
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
  const trie = allDigits ? buildTrie(compiled) : null;
  const rating: CompiledRating = { scale, method: methodCode(settings.rounding.method), toTen: pow10(SCALE - decimals), trie };
  return { ...settings, bands: schedule, index: trie ? null : compiled, maxPrefixLength, rateCount: rates.length, rating };
}

const NONE: Array<CompiledRate | undefined> = [];

/**
 * Equal values compiled once: a deck of 50,000 prefixes has a few thousand distinct rates, fees and
 * step shapes, so sharing them keeps what rating reads small enough to stay in the CPU cache.
 */
class Shared {
  private readonly bigints = new Map<bigint, bigint>();
  private readonly texts = new Map<string, string>();
  // Candidates by weight, then by first step: compared field by field, no key strings built.
  private readonly steps = new Map<bigint, CompiledStep[]>();
  private readonly lists = new Map<CompiledStep, CompiledStep[][]>();

  constructor(readonly scale: number) {}

  bigint(v: bigint): bigint {
    const hit = this.bigints.get(v);
    if (hit !== undefined) return hit;
    this.bigints.set(v, v);
    return v;
  }

  // Most fees and rates have at most 7 significant digits (one base-10^7 limb of the Decimal): their
  // units by limb and exponent, so each distinct value is converted once per plan.
  private readonly short = new Map<number, bigint>();

  /** One string per text (descriptions repeat across prefixes, bands and versions). */
  text(s: string): string {
    const hit = this.texts.get(s);
    if (hit !== undefined) return hit;
    this.texts.set(s, s);
    return s;
  }

  /** A Decimal in 10^-scale. */
  units(d: Decimal): bigint {
    const limbs = d.d;
    const key = limbs && limbs.length === 1 && d.e > -1000 && d.e < 1000 ? ((limbs[0] as number) * 2000 + d.e + 1000) * d.s : undefined;
    if (key !== undefined) {
      const hit = this.short.get(key);
      if (hit !== undefined) return hit;
    }
    const s = scaledOf(d);
    const units = this.bigint(s.scale === this.scale ? s.coef : s.coef * pow10(this.scale - s.scale));
    if (key !== undefined) this.short.set(key, units);
    return units;
  }

  step(s: RateStep, next: number, l: bigint): CompiledStep {
    const unit = unitOf(s);
    const units = this.units(s.rate);
    const weight = this.bigint((units * l) / unit);
    let candidates = this.steps.get(weight);
    if (candidates === undefined) {
      candidates = [];
      this.steps.set(weight, candidates);
    }
    for (const c of candidates) if (c.from === s.from && c.next === next && c.increment === s.increment && c.rateUnit === s.rateUnit && c.units === units) return c;
    const step: CompiledStep = {
      from: s.from, next, increment: s.increment, rateUnit: s.rateUnit, scale: this.scale, units: this.bigint(units), weight, tenDen: this.bigint(unit * pow10(this.scale - SCALE)), text: undefined,
    };
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
  // One denominator for the whole version: pieces priced by different bands' rates add up exactly.
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
    roundDen: shared.bigint(l * pow10(scale - decimals)), prefix, more: NONE,
    den: shared.bigint(l * pow10(scale)), tenDen: shared.bigint(l * pow10(scale - SCALE)), scale, direction,
    // Sized up front: an array grown by push keeps room for 16 more.
    rates: new Array<CompiledRate>(group.byBand.size),
  };
  let n = 0;
  let allTimes: CompiledRate | undefined;
  const byId: Array<CompiledRate | undefined> = names.map(() => undefined);
  for (const [band, rate] of group.byBand) {
    const fee = shared.units(rate.connectFee);
    const min = rate.minCharge ? shared.units(rate.minCharge) : null;
    const max = rate.maxCost ? shared.units(rate.maxCost) : null;
    const compiled: CompiledRate = {
      description: shared.text(rate.description), steps: shared.stepList(rate, l),
      fee: shared.bigint(fee * l),
      min: min === null ? null : shared.bigint(min * l),
      max: max === null ? null : shared.bigint(max * l),
      feeUnits: fee, minUnits: min, maxUnits: max, feeText: undefined, band,
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

export interface RateMatch {
  prefix: string;
  version: CompiledVersion;
}

/** A compiled version's rates as imported (for display and tests; rating reads the compiled form). */
export function ratesOf(v: CompiledVersion): Rate[] {
  return v.rates.map((r) => ({
    prefix: v.prefix,
    description: r.description,
    direction: v.direction,
    band: r.band,
    effectiveFrom: v.effectiveFrom,
    connectFee: decimalOf(r.feeUnits, v.scale),
    minCharge: r.minUnits === null ? null : decimalOf(r.minUnits, v.scale),
    maxCost: r.maxUnits === null ? null : decimalOf(r.maxUnits, v.scale),
    steps: r.steps.map((s) => ({ from: s.from, rate: stepRate(s), rateUnit: s.rateUnit, increment: s.increment })),
  }));
}

/** A compiled step's rate as a Decimal (made on each call: rating itself never needs one). */
export function stepRate(s: CompiledStep): Decimal {
  return decimalOf(s.units, s.scale);
}

// Nodes with a prefix passed on the way down, deepest last: reused (E.164 numbers have at most 15 digits).
let path = new Int32Array(32);

/** The prefix of the last matchVersion that found one (a shared slot: nothing is allocated per look-up). */
export const matched = { prefix: '' };

/**
 * Longest prefix of `number` (from character `start` on) with a version in force at `at`, as the
 * engine reads it; the prefix is left in `matched`. A prefix whose first version starts later
 * does not exist yet, so a shorter prefix answers instead.
 */
export function matchVersion(plan: CompiledPlan, direction: Direction, number: string, start: number, at: number): CompiledVersion | undefined {
  const trie = plan.rating.trie;
  if (trie === null) return matchByIndex(plan, direction, start === 0 ? number : number.slice(start), at);
  const deck = deckDirection(direction);
  let node = deck === 'outbound' ? trie.roots.outbound : deck === 'inbound' ? trie.roots.inbound : trie.roots.onnet;
  const nodes = trie.nodes;
  let depth = 0;
  for (let i = start; i < number.length; i++) {
    const digit = number.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) break;
    node = nodes[node * NODE + 1 + digit] as number;
    if (node === 0) break;
    const head = nodes[node * NODE] as number;
    if (head !== 0) {
      if (depth === path.length) {
        const grown = new Int32Array(path.length * 2);
        grown.set(path);
        path = grown;
      }
      path[depth++] = head;
    }
  }
  const heads = trie.heads;
  while (depth > 0) {
    let v: CompiledVersion | undefined = heads[(path[--depth] as number) - 1];
    while (v !== undefined && v.effectiveFrom > at) v = v.older;
    if (v !== undefined) {
      matched.prefix = v.prefix;
      return v;
    }
  }
  return undefined;
}

function matchByIndex(plan: CompiledPlan, direction: Direction, digits: string, at: number): CompiledVersion | undefined {
  const byPrefix = plan.index?.get(deckDirection(direction));
  if (!byPrefix) return undefined;
  for (let len = Math.min(plan.maxPrefixLength, digits.length); len >= 1; len--) {
    const prefix = digits.slice(0, len);
    const versions = byPrefix.get(prefix);
    if (!versions) continue;
    for (const v of versions) {
      if (v.effectiveFrom <= at) {
        matched.prefix = prefix;
        return v;
      }
    }
  }
  return undefined;
}

/**
 * Longest prefix of `digits` with a version in force at `at`. A prefix whose first version starts
 * later does not exist yet, so a shorter prefix answers instead.
 */
export function findRate(plan: CompiledPlan, direction: Direction, digits: string, at: number): RateMatch | undefined {
  const version = matchVersion(plan, direction, digits, 0, at);
  return version ? { prefix: matched.prefix, version } : undefined;
}
