/**
 * A generated month of outbound legs and a carrier billing file made from them, with errors of
 * every class injected (issue 13's reconciliation test): dropped records, extra records, durations
 * off within and beyond tolerance, costs off within and beyond tolerance, wrong rates, clocks
 * shifted within and beyond tolerance, and the same call billed twice. The expected outcome is
 * written from what was injected (not by running any matcher): each leg and each carrier record
 * with its class and money at stake.
 */
import { Rng } from '../../bench/rng';
import { Decimal } from '../../src/domain/money/decimal';
import type { ReconClass, ReconLeg, ReconTolerances } from '../../src/domain/reconciliation';

export const INJECTIONS = [
  'dropped', 'extra', 'duration_within', 'duration_beyond', 'cost_within', 'cost_beyond', 'wrong_rate',
  'clock_within', 'clock_beyond', 'twice_same_start', 'twice_later',
] as const;
export type Injection = (typeof INJECTIONS)[number];

export interface ExpectedItem {
  class: ReconClass;
  legId: string | null;
  /** The carrier's record id (the record's key is "id:" + it). */
  recordId: string | null;
  moneyAtStake: string;
  secondsDifference: number | null;
  injection: Injection | 'none';
}

export interface CarrierRow {
  recordId: string;
  calling: string | null;
  called: string;
  start: Date;
  seconds: number;
  cost: string;
  currency: string;
  rate: string | null;
}

export interface CarrierMonth {
  legs: ReconLeg[];
  rows: CarrierRow[];
  /** The rows as the generic carrier CSV (docs/CARRIER-FORMATS.md), shuffled as carriers' files are. */
  csv: string;
  expected: ExpectedItem[];
  /** How many legs (or extra records) each injection touched. */
  injected: Record<Injection, number>;
}

export interface CarrierMonthOptions {
  seed: number;
  /** First day of the month, UTC: "2026-11". */
  month: string;
  legs: number;
  /** Legs (or extra records) per injection. */
  perInjection: number;
  tolerances: ReconTolerances;
  currency?: string;
}

const DESTINATIONS = [
  { prefix: '+4420', digits: 8, name: 'United Kingdom - London', rate: '0.0080' },
  { prefix: '+447', digits: 9, name: 'United Kingdom - Mobile', rate: '0.0250' },
  { prefix: '+331', digits: 8, name: 'France - Paris', rate: '0.0120' },
  { prefix: '+4915', digits: 9, name: 'Germany - Mobile', rate: '0.0350' },
  { prefix: '+1212', digits: 7, name: 'United States - New York', rate: '0.0040' },
  { prefix: '+8190', digits: 8, name: 'Japan - Mobile', rate: '0.0910' },
] as const;

/** What a carrier charges for `seconds` at a per-minute `rate`: per second, to 6 decimals. */
export function costOf(rate: string, seconds: number): string {
  return new Decimal(rate).times(seconds).dividedBy(60).toDecimalPlaces(6, Decimal.ROUND_HALF_UP).toFixed();
}

const TWO_HOURS = 2 * 3600_000;

export function carrierMonth(o: CarrierMonthOptions): CarrierMonth {
  const rng = new Rng(o.seed);
  const currency = o.currency ?? 'USD';
  const monthStart = Date.parse(`${o.month}-01T00:00:00Z`);
  const next = new Date(monthStart);
  next.setUTCMonth(next.getUTCMonth() + 1);
  const span = next.getTime() - monthStart - 3600_000;
  const tol = o.tolerances;
  const costTol = new Decimal(tol.cost);

  // Legs: calls to the same number are at least two hours apart, so that no shifted record can
  // meet another call to its number by chance.
  const startsByNumber = new Map<string, number[]>();
  const numbers: string[] = [];
  const legs: ReconLeg[] = [];
  const callerOf = new Map<string, string>();
  for (let i = 0; i < o.legs; i++) {
    const start = monthStart + Math.floor(rng.next() * span / 1000) * 1000;
    let called: string;
    let dest: (typeof DESTINATIONS)[number];
    for (;;) {
      const reuse = numbers.length > 20 && rng.next() < 0.3;
      called = reuse ? rng.pick(numbers) : '';
      if (!reuse) {
        dest = rng.pick(DESTINATIONS);
        called = dest.prefix + rng.digits(dest.digits);
      } else dest = DESTINATIONS.find((d) => called.startsWith(d.prefix))!;
      const others = startsByNumber.get(called) ?? [];
      if (others.every((s) => Math.abs(s - start) >= TWO_HOURS)) break;
    }
    if (!startsByNumber.has(called)) numbers.push(called);
    startsByNumber.set(called, [...(startsByNumber.get(called) ?? []), start]);
    const seconds = rng.int(1, 1800);
    const id = String(i + 1);
    legs.push({ id, called, startUtc: new Date(start), seconds, expectedCost: costOf(dest.rate, seconds), currency, destination: dest.name, deckRate: dest.rate });
    callerOf.set(id, `+1212555${rng.digits(4)}`);
  }

  // Which legs get which injection: distinct legs, chosen at random.
  const order = legs.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const injectionOf = new Map<number, Injection>();
  let cursor = 0;
  for (const inj of INJECTIONS) {
    if (inj === 'extra') continue;
    for (let k = 0; k < o.perInjection; k++) injectionOf.set(order[cursor++]!, inj);
  }

  const rows: CarrierRow[] = [];
  const expected: ExpectedItem[] = [];
  const injected = Object.fromEntries(INJECTIONS.map((i) => [i, 0])) as Record<Injection, number>;
  const recordId = (n: number, suffix = '') => `R-${String(n).padStart(7, '0')}${suffix}`;
  const rowOf = (leg: ReconLeg, n: number): CarrierRow => ({
    recordId: recordId(n), calling: callerOf.get(leg.id) ?? null, called: leg.called, start: leg.startUtc, seconds: leg.seconds,
    cost: leg.expectedCost, currency, rate: leg.deckRate,
  });
  const minus = (a: string, b: string) => new Decimal(a).minus(b).toFixed();

  legs.forEach((leg, i) => {
    const inj = injectionOf.get(i);
    const base = rowOf(leg, i + 1);
    const equal = (row: CarrierRow, injection: Injection | 'none'): void => {
      rows.push(row);
      expected.push({ class: 'matched_equal', legId: leg.id, recordId: row.recordId, moneyAtStake: '0', secondsDifference: row.seconds - leg.seconds, injection });
    };
    if (inj) injected[inj]++;
    switch (inj) {
      case undefined:
        // Now and then the carrier writes the same rate with more zeros: still the deck's rate.
        equal(rng.next() < 0.2 ? { ...base, rate: `${leg.deckRate}00` } : base, 'none');
        return;
      case 'dropped':
        expected.push({ class: 'not_billed_by_carrier', legId: leg.id, recordId: null, moneyAtStake: new Decimal(leg.expectedCost).negated().toFixed(), secondsDifference: null, injection: inj });
        return;
      case 'duration_within': {
        const d = rng.int(1, Math.max(1, tol.durationSeconds)) * (leg.seconds > tol.durationSeconds && rng.next() < 0.5 ? -1 : 1);
        equal({ ...base, seconds: leg.seconds + d }, inj);
        return;
      }
      case 'duration_beyond': {
        const d = tol.durationSeconds + rng.int(1, 30);
        const seconds = leg.seconds + d;
        const cost = costOf(leg.deckRate as string, seconds);
        rows.push({ ...base, seconds, cost });
        expected.push({ class: 'duration_mismatch', legId: leg.id, recordId: base.recordId, moneyAtStake: minus(cost, leg.expectedCost), secondsDifference: d, injection: inj });
        return;
      }
      case 'cost_within': {
        // A rounding difference no larger than the tolerance.
        const cost = new Decimal(leg.expectedCost).plus(costTol.times(rng.int(0, 10)).dividedBy(10)).toFixed();
        equal({ ...base, cost }, inj);
        return;
      }
      case 'cost_beyond': {
        const delta = costTol.plus(new Decimal(rng.int(1, 5000)).dividedBy(10_000));
        const cost = new Decimal(leg.expectedCost).plus(delta).toFixed();
        rows.push({ ...base, cost });
        expected.push({ class: 'cost_mismatch', legId: leg.id, recordId: base.recordId, moneyAtStake: delta.toFixed(), secondsDifference: 0, injection: inj });
        return;
      }
      case 'wrong_rate': {
        const rate = new Decimal(leg.deckRate as string).plus('0.0015').toFixed();
        const cost = costOf(rate, leg.seconds);
        rows.push({ ...base, rate, cost });
        expected.push({ class: 'rate_mismatch', legId: leg.id, recordId: base.recordId, moneyAtStake: minus(cost, leg.expectedCost), secondsDifference: 0, injection: inj });
        return;
      }
      case 'clock_within': {
        const shift = rng.int(1, Math.max(1, tol.startSeconds)) * (rng.next() < 0.5 ? -1 : 1);
        equal({ ...base, start: new Date(leg.startUtc.getTime() + shift * 1000) }, inj);
        return;
      }
      case 'clock_beyond': {
        const shift = (tol.startSeconds + rng.int(60, 600)) * (rng.next() < 0.5 ? -1 : 1);
        rows.push({ ...base, start: new Date(leg.startUtc.getTime() + shift * 1000) });
        expected.push({ class: 'not_billed_by_carrier', legId: leg.id, recordId: null, moneyAtStake: new Decimal(leg.expectedCost).negated().toFixed(), secondsDifference: null, injection: inj });
        expected.push({ class: 'not_in_our_records', legId: null, recordId: base.recordId, moneyAtStake: leg.expectedCost, secondsDifference: null, injection: inj });
        return;
      }
      case 'twice_same_start': {
        // Billed twice, identically: the tie goes to the smaller record key, so the copy
        // (its id the original's with a suffix) is the one left over.
        const copy = { ...base, recordId: recordId(i + 1, '-b') };
        equal(base, inj);
        rows.push(copy);
        expected.push({ class: 'not_in_our_records', legId: null, recordId: copy.recordId, moneyAtStake: leg.expectedCost, secondsDifference: null, injection: inj });
        return;
      }
      case 'twice_later': {
        // Billed again a moment later, still within the start tolerance: the closer one matches,
        // though the copy's key is the smaller (so only "closest first" gets this right).
        const copy = { ...base, recordId: `Q-${String(i + 1).padStart(7, '0')}`, start: new Date(leg.startUtc.getTime() + Math.max(1, tol.startSeconds) * 1000) };
        equal(base, inj);
        rows.push(copy);
        expected.push({ class: 'not_in_our_records', legId: null, recordId: copy.recordId, moneyAtStake: leg.expectedCost, secondsDifference: null, injection: inj });
        return;
      }
      default:
        throw new Error(`unhandled injection ${inj}`);
    }
  });

  // Records of calls we never carried (a number none of our legs called).
  for (let k = 0; k < o.perInjection; k++) {
    const dest = rng.pick(DESTINATIONS);
    const seconds = rng.int(1, 900);
    const row: CarrierRow = {
      recordId: `X-${String(k + 1).padStart(5, '0')}`, calling: null, called: `${dest.prefix}0${rng.digits(dest.digits - 1)}`,
      start: new Date(monthStart + Math.floor(rng.next() * span / 1000) * 1000), seconds, cost: costOf(dest.rate, seconds), currency, rate: dest.rate,
    };
    if (startsByNumber.has(row.called)) continue; // vanishingly rare: a number we did call
    rows.push(row);
    injected.extra++;
    expected.push({ class: 'not_in_our_records', legId: null, recordId: row.recordId, moneyAtStake: row.cost, secondsDifference: null, injection: 'extra' });
  }

  const shuffled = [...rows];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  const csv = [
    'record_id,calling,called,start,seconds,cost,currency,rate',
    ...shuffled.map((r) => [r.recordId, r.calling ?? '', r.called, r.start.toISOString(), r.seconds, r.cost, r.currency, r.rate ?? ''].join(',')),
  ].join('\r\n') + '\r\n';
  return { legs, rows, csv, expected, injected };
}
