import { performance } from 'node:perf_hooks';
import { Decimal } from '../src/domain/money/decimal';
import { priceCharge } from '../src/domain/rating/charge';
import { isUnratable, rateLeg, type RatableLeg } from '../src/domain/rating/engine';
import { compilePlan, findRate } from '../src/domain/rating/plan';
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

/**
 * The pure rating engine on one core: a deck of `prefixes` destinations, each with peak, offpeak
 * and band-less rates (30/6 steps, connect fee, minimum), bands in America/New_York split at their
 * boundaries; legs to random destinations, 80% answered for 1 s to 20 min, spread over a month.
 */
export function benchEngine(o: { prefixes: number; legs: number; minMs: number }): EngineResult {
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
  const fx = new Decimal('0.92');

  const noop = measure(legs, o.minMs, (l) => l.number.length + l.billableSeconds);
  const lookup = measure(legs, o.minMs, (l) => (findRate(plan, l.direction, l.number.startsWith('+') ? l.number.slice(1) : l.number, l.startMs) ? 1 : 0));
  let rated = 0;
  for (const l of legs) if (!isUnratable(rateLeg(l, plan))) rated++;
  const engine = measure(legs, o.minMs, (l) => (isUnratable(rateLeg(l, plan)) ? 0 : 1));
  const priced = measure(legs, o.minMs, (l) => ('amount' in priceCharge({ kind: 'wholesale', plan, planRevision: 1, leg: l, taxes, billedCurrency: 'EUR', exchangeRate: fx }) ? 1 : 0));
  return {
    prefixes: deck.length,
    rates: rates.length,
    legs: legs.length,
    compileMs,
    noop: noop.perSecond,
    findRate: lookup.perSecond,
    rateLeg: engine.perSecond,
    priceCharge: priced.perSecond,
    rated,
  };
}
