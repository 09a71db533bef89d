import { performance } from 'node:perf_hooks';
import { Decimal } from '../src/domain/money/decimal';
import { chargeText, isPriced, priceCharge } from '../src/domain/rating/charge';
import { isUnratable, rateLeg, type RatableLeg } from '../src/domain/rating/engine';
import { compilePlan, matchVersion, type CompiledPlan } from '../src/domain/rating/plan';
import type { TaxRule } from '../src/domain/tax/tax';
import { BANDS, deckRates, makeDeck, numberUnder } from './decks';
import { Rng } from './rng';

export interface EngineResult {
  prefixes: number;
  rates: number;
  legs: number;
  compileMs: number;
  /** legs/s for each loop, all on the same legs in the same run. */
  noop: number;
  findRate: number;
  rateLeg: number;
  priceCharge: number;
  rated: number;
}

/** Runs `fn` over the legs repeatedly for at least `minMs` (after one warm-up pass); legs/s. */
function measure(legs: RatableLeg[], minMs: number, fn: (leg: RatableLeg) => number): { perSecond: number; check: number } {
  let check = 0;
  for (const l of legs) check += fn(l);
  let n = 0;
  const t0 = performance.now();
  let elapsed = 0;
  do {
    for (let i = 0; i < legs.length; i++) check += fn(legs[i] as RatableLeg);
    n += legs.length;
    elapsed = performance.now() - t0;
  } while (elapsed < minMs);
  return { perSecond: (n / elapsed) * 1000, check };
}

export interface EngineFixture {
  plan: CompiledPlan;
  prefixes: number;
  rates: number;
  compileMs: number;
  legs: RatableLeg[];
  taxes: TaxRule[];
  fx: Decimal;
}

/**
 * The engine's workload: a deck of `prefixes` destinations, each with peak, offpeak and band-less
 * rates (30/6 steps, connect fee, minimum), bands in America/New_York split at their boundaries;
 * legs to random destinations, 80% answered for 1 s to 20 min, spread over a month.
 */
export function engineFixture(o: { prefixes: number; legs: number }): EngineFixture {
  const rng = new Rng(50_000);
  const deck = makeDeck(rng, o.prefixes);
  const rates = deckRates(deck, { bands: true });
  const t0 = performance.now();
  const plan = compilePlan(
    { id: 1, name: 'Bench 50k', currency: 'USD', rounding: { decimals: 4, method: 'half_up' }, timeZone: 'America/New_York', bandMode: 'split', connectFeeOnUnanswered: false, revision: 1 },
    rates,
    BANDS,
  );
  const compileMs = performance.now() - t0;

  const from = Date.UTC(2026, 9, 20);
  const legs: RatableLeg[] = [];
  for (let i = 0; i < o.legs; i++) {
    const startMs = from + Math.floor(rng.next() * 30 * 86_400_000);
    const answered = rng.next() < 0.8;
    const seconds = answered ? (rng.next() < 0.7 ? rng.int(1, 180) : rng.int(181, 1200)) : 0;
    legs.push({ direction: 'outbound', number: numberUnder(rng, rng.pick(deck).prefix), startMs, answerMs: answered ? startMs + 8000 : null, billableSeconds: seconds });
  }

  const taxes: TaxRule[] = [
    { id: 1, name: 'State', basis: 'percent', rate: new Decimal('8.875'), priority: 1, compounding: false },
    { id: 2, name: '911', basis: 'percent', rate: new Decimal('1'), priority: 2, compounding: true },
  ];
  return { plan, prefixes: deck.length, rates: rates.length, compileMs, legs, taxes, fx: new Decimal('0.92') };
}

/** The loops measured, each a function of one leg (1 when it rated). */
export function engineLoops(f: EngineFixture) {
  const { plan, taxes, fx } = f;
  const price = (l: RatableLeg) => priceCharge({ kind: 'wholesale', plan, planRevision: 1, leg: l, taxes, billedCurrency: 'EUR', exchangeRate: fx });
  return {
    noop: (l: RatableLeg) => l.number.length + l.billableSeconds,
    // The prefix lookup alone (the match phase's matchVersion; it was findRate, which took the number without its +).
    findRate: (l: RatableLeg) => (matchVersion(plan, l.direction, l.number, l.startMs) ? 1 : 0),
    rateLeg: (l: RatableLeg) => (isUnratable(rateLeg(l, plan)) ? 0 : 1),
    priceCharge: (l: RatableLeg) => ('amount' in price(l) ? 1 : 0),
    /** priceCharge and the storage text of the charge, as the intake stores it. */
    priceAndText: (l: RatableLeg) => {
      const c = price(l);
      return isPriced(c) ? chargeText(c).amount.length : 0;
    },
  };
}

/** The pure rating engine on one core (see engineFixture), beside findRate alone and a no-op loop. */
export function benchEngine(o: { prefixes: number; legs: number; minMs: number }): EngineResult {
  const f = engineFixture(o);
  const loops = engineLoops(f);
  const noop = measure(f.legs, o.minMs, loops.noop);
  const lookup = measure(f.legs, o.minMs, loops.findRate);
  let rated = 0;
  for (const l of f.legs) rated += loops.rateLeg(l);
  const engine = measure(f.legs, o.minMs, loops.rateLeg);
  const priced = measure(f.legs, o.minMs, loops.priceCharge);
  return {
    prefixes: f.prefixes,
    rates: f.rates,
    legs: f.legs.length,
    compileMs: f.compileMs,
    noop: noop.perSecond,
    findRate: lookup.perSecond,
    rateLeg: engine.perSecond,
    priceCharge: priced.perSecond,
    rated,
  };
}

/** One loop alone, for a CPU profile of just that loop (bench/profile-engine.ts). */
export function runLoop(name: keyof ReturnType<typeof engineLoops>, o: { prefixes: number; legs: number; minMs: number }): number {
  const f = engineFixture(o);
  return measure(f.legs, o.minMs, engineLoops(f)[name]).perSecond;
}
