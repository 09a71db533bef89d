/**
 * The reference reconciler (issue 13, "Reconciliation"): what the set-based SQL must give, for
 * the same inputs, written plainly so that it can be read as the rule. Pure, exact (Decimal), no
 * clock.
 *
 * 1. **Match.** A carrier record and one of our outbound legs are candidates when they have the
 *    same called number and their starts are at most `startSeconds` apart. Candidates are taken
 *    closest first; each leg and each record is matched at most once. Ties are broken by the leg's
 *    id, then the record's key (ids of digits compare as numbers, other text by code point, as
 *    Postgres `ORDER BY ... COLLATE "C"` does). Taking every candidate pair in that total order
 *    is the same as repeatedly matching the pairs that are each other's best remaining candidate,
 *    which is how a set-based query can do it in rounds.
 * 2. **Classify** each matched pair, first rule that holds:
 *    - `duration_mismatch`: the carrier's seconds differ from ours by more than `durationSeconds`;
 *    - `rate_mismatch`: the carrier names the rate it applied and it is not the rate of our deck
 *      in force for the leg (`deckRate`; no deck rate at all counts as not equal);
 *    - `cost_mismatch`: the carrier's cost differs from our expected cost by more than `cost`
 *      (or is in another currency);
 *    - `matched_equal` otherwise.
 *    A record with no leg is `not_in_our_records` (a lost CDR: revenue never billed); a leg with
 *    no record is `not_billed_by_carrier`.
 * 3. **Money at stake** (in the record's or the leg's currency), signed as "carrier minus ours":
 *    the cost difference for the three mismatches, the carrier's cost for a record we do not
 *    have, minus our expected cost for a leg they did not bill, and zero when matched and equal.
 */
import { Decimal } from '../money/decimal';

export interface ReconLeg {
  id: string;
  /** E.164. */
  called: string;
  startUtc: Date;
  /** Our billable seconds. */
  seconds: number;
  /** What the carrier's cost deck says the leg costs us: exact decimal text. */
  expectedCost: string;
  currency: string;
  /** The destination (deck description or prefix) the leg was priced at, for the report. */
  destination: string | null;
  /** The per-minute rate of the carrier's deck in force for the leg; null when the deck has none. */
  deckRate: string | null;
}

export interface ReconRecord {
  /** The record's idempotency key (carrierRecordKey): unique per carrier. */
  key: string;
  called: string;
  startUtc: Date;
  secondsBilled: number;
  cost: string;
  currency: string;
  rate: string | null;
}

export interface ReconTolerances {
  /** Starts at most this many seconds apart may match. */
  startSeconds: number;
  /** Durations differing by more than this many seconds are a duration mismatch. */
  durationSeconds: number;
  /** Costs differing by more than this (exact decimal text) are a cost mismatch. */
  cost: string;
}

export const RECON_CLASSES = ['matched_equal', 'duration_mismatch', 'rate_mismatch', 'cost_mismatch', 'not_in_our_records', 'not_billed_by_carrier'] as const;
export type ReconClass = (typeof RECON_CLASSES)[number];

export interface ReconItem {
  class: ReconClass;
  legId: string | null;
  recordKey: string | null;
  /** Carrier's start minus ours, ms (matched pairs). */
  startOffsetMs: number | null;
  /** Carrier's seconds minus ours (matched pairs). */
  secondsDifference: number | null;
  /** Carrier's cost minus our expected cost (matched pairs in one currency). */
  costDifference: string | null;
  carrierCost: string | null;
  expectedCost: string | null;
  carrierRate: string | null;
  deckRate: string | null;
  currency: string;
  /** Signed, carrier minus ours; see the module's rule 3. */
  moneyAtStake: string;
  destination: string | null;
  /** UTC date of our leg's start (or the carrier's, for a record we do not have). */
  day: string;
}

export interface ReconClassTotal {
  count: number;
  /** Sum of moneyAtStake per currency. */
  moneyAtStake: Record<string, string>;
}

export interface ReconResult {
  items: ReconItem[];
  byClass: Record<ReconClass, ReconClassTotal>;
}

/** Digits compare as numbers (bigint ids), anything else by code point. */
export function compareIds(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) {
    const x = a.replace(/^0+(?=\d)/, '');
    const y = b.replace(/^0+(?=\d)/, '');
    if (x.length !== y.length) return x.length - y.length;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

interface Edge {
  leg: number;
  record: number;
  distance: number;
}

function candidates(legs: ReconLeg[], records: ReconRecord[], toleranceMs: number): Edge[] {
  const byCalled = new Map<string, number[]>();
  legs.forEach((l, i) => {
    const list = byCalled.get(l.called);
    if (list) list.push(i);
    else byCalled.set(l.called, [i]);
  });
  for (const list of byCalled.values()) list.sort((a, b) => legs[a]!.startUtc.getTime() - legs[b]!.startUtc.getTime());
  const edges: Edge[] = [];
  records.forEach((r, ri) => {
    const list = byCalled.get(r.called);
    if (!list) return;
    const t = r.startUtc.getTime();
    // First leg that starts at or after t - tolerance.
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (legs[list[mid]!]!.startUtc.getTime() < t - toleranceMs) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo; k < list.length; k++) {
      const li = list[k]!;
      const d = legs[li]!.startUtc.getTime() - t;
      if (d > toleranceMs) break;
      edges.push({ leg: li, record: ri, distance: Math.abs(d) });
    }
  });
  return edges;
}

/** Pairs of (leg index, record index), closest first, each side at most once. */
export function matchRecords(legs: ReconLeg[], records: ReconRecord[], startSeconds: number): Array<[number, number]> {
  const edges = candidates(legs, records, startSeconds * 1000);
  edges.sort((a, b) => a.distance - b.distance || compareIds(legs[a.leg]!.id, legs[b.leg]!.id) || compareIds(records[a.record]!.key, records[b.record]!.key));
  const legUsed = new Uint8Array(legs.length);
  const recordUsed = new Uint8Array(records.length);
  const pairs: Array<[number, number]> = [];
  for (const e of edges) {
    if (legUsed[e.leg] || recordUsed[e.record]) continue;
    legUsed[e.leg] = 1;
    recordUsed[e.record] = 1;
    pairs.push([e.leg, e.record]);
  }
  return pairs;
}

const utcDay = (d: Date): string => d.toISOString().slice(0, 10);

function classifyPair(leg: ReconLeg, rec: ReconRecord, tol: ReconTolerances): ReconItem {
  const sameCurrency = leg.currency === rec.currency;
  const diff = sameCurrency ? new Decimal(rec.cost).minus(leg.expectedCost) : null;
  const secondsDifference = rec.secondsBilled - leg.seconds;
  const rateDiffers = rec.rate !== null && (leg.deckRate === null || !new Decimal(rec.rate).equals(leg.deckRate));
  let cls: ReconClass;
  if (Math.abs(secondsDifference) > tol.durationSeconds) cls = 'duration_mismatch';
  else if (rateDiffers) cls = 'rate_mismatch';
  else if (diff === null || diff.abs().greaterThan(tol.cost)) cls = 'cost_mismatch';
  else cls = 'matched_equal';
  const stake = cls === 'matched_equal' ? '0' : diff === null ? new Decimal(rec.cost).toFixed() : diff.toFixed();
  return {
    class: cls,
    legId: leg.id,
    recordKey: rec.key,
    startOffsetMs: rec.startUtc.getTime() - leg.startUtc.getTime(),
    secondsDifference,
    costDifference: diff === null ? null : diff.toFixed(),
    carrierCost: rec.cost,
    expectedCost: leg.expectedCost,
    carrierRate: rec.rate,
    deckRate: leg.deckRate,
    currency: rec.currency,
    moneyAtStake: stake,
    destination: leg.destination,
    day: utcDay(leg.startUtc),
  };
}

export function reconcile(legs: ReconLeg[], records: ReconRecord[], tol: ReconTolerances): ReconResult {
  if (!(tol.startSeconds >= 0) || !(tol.durationSeconds >= 0) || new Decimal(tol.cost).isNegative()) throw new RangeError('tolerances cannot be negative');
  const pairs = matchRecords(legs, records, tol.startSeconds);
  const legMatched = new Set<number>();
  const recordMatched = new Set<number>();
  const items: Array<{ at: number; item: ReconItem }> = [];
  for (const [li, ri] of pairs) {
    legMatched.add(li);
    recordMatched.add(ri);
    items.push({ at: legs[li]!.startUtc.getTime(), item: classifyPair(legs[li]!, records[ri]!, tol) });
  }
  legs.forEach((leg, li) => {
    if (legMatched.has(li)) return;
    items.push({
      at: leg.startUtc.getTime(),
      item: {
        class: 'not_billed_by_carrier', legId: leg.id, recordKey: null, startOffsetMs: null, secondsDifference: null, costDifference: null,
        carrierCost: null, expectedCost: leg.expectedCost, carrierRate: null, deckRate: leg.deckRate, currency: leg.currency,
        moneyAtStake: new Decimal(leg.expectedCost).negated().toFixed(), destination: leg.destination, day: utcDay(leg.startUtc),
      },
    });
  });
  records.forEach((rec, ri) => {
    if (recordMatched.has(ri)) return;
    items.push({
      at: rec.startUtc.getTime(),
      item: {
        class: 'not_in_our_records', legId: null, recordKey: rec.key, startOffsetMs: null, secondsDifference: null, costDifference: null,
        carrierCost: rec.cost, expectedCost: null, carrierRate: rec.rate, deckRate: null, currency: rec.currency,
        moneyAtStake: new Decimal(rec.cost).toFixed(), destination: null, day: utcDay(rec.startUtc),
      },
    });
  });
  // In time order (our start, or the carrier's for a record we lack); at one instant, items with a leg first.
  items.sort(
    (a, b) =>
      a.at - b.at ||
      Number(a.item.legId === null) - Number(b.item.legId === null) ||
      compareIds(a.item.legId ?? '', b.item.legId ?? '') ||
      compareIds(a.item.recordKey ?? '', b.item.recordKey ?? ''),
  );
  return { items: items.map((i) => i.item), byClass: totalsByClass(items.map((i) => i.item)) };
}

/** Count and money at stake per class (and per currency): the discrepancy report's headline. */
export function totalsByClass(items: ReconItem[]): Record<ReconClass, ReconClassTotal> {
  const sums = new Map<ReconClass, Map<string, Decimal>>();
  const out = {} as Record<ReconClass, ReconClassTotal>;
  for (const c of RECON_CLASSES) {
    out[c] = { count: 0, moneyAtStake: {} };
    sums.set(c, new Map());
  }
  for (const it of items) {
    out[it.class].count++;
    const m = sums.get(it.class)!;
    m.set(it.currency, (m.get(it.currency) ?? new Decimal(0)).plus(it.moneyAtStake));
  }
  for (const c of RECON_CLASSES) for (const [cur, v] of sums.get(c)!) out[c].moneyAtStake[cur] = v.toFixed();
  return out;
}

/**
 * The report's breakdowns: per destination (null for records we do not have: no deck priced them)
 * or per day (UTC), each with its totals by class. Keys in ascending order.
 */
export function totalsBy(items: ReconItem[], by: 'destination' | 'day'): Array<{ key: string | null; byClass: Record<ReconClass, ReconClassTotal> }> {
  const groups = new Map<string | null, ReconItem[]>();
  for (const it of items) {
    const k = it[by];
    const list = groups.get(k);
    if (list) list.push(it);
    else groups.set(k, [it]);
  }
  return [...groups.keys()]
    .sort((a, b) => (a === null ? 1 : b === null ? -1 : a < b ? -1 : a > b ? 1 : 0))
    .map((key) => ({ key, byClass: totalsByClass(groups.get(key)!) }));
}
