import { Decimal } from '../money/decimal';
import { latestStarted, seriesStates } from '../time/in-force';
import type { Rate } from './plan';

/**
 * A plan's deck over time (DOMAIN.md: rates are versioned by effective date). Each rate row is one
 * version of its destination, the key (direction, prefix, band): the row of a key with the latest
 * effective_from at or before an instant is the one in force then (the engine's matchVersion asks
 * the same of the compiled plan). A "version of the deck" is the set of rows that share an
 * effective_from instant: an import or a scheduled change.
 */

/** The destination a rate prices: direction, prefix and band (null: all times). */
export function rateKey(r: Pick<Rate, 'direction' | 'prefix' | 'band'>): string {
  return `${r.direction}|${r.prefix}|${r.band ?? ''}`;
}

/** Rows grouped by destination. */
function byKey(rates: readonly Rate[]): Map<string, Rate[]> {
  const out = new Map<string, Rate[]>();
  for (const r of rates) {
    const k = rateKey(r);
    const list = out.get(k);
    if (list) list.push(r);
    else out.set(k, [r]);
  }
  return out;
}

/** The deck in force at `atMs`: per destination, its row in force then (none yet: absent). */
export function deckAt(rates: readonly Rate[], atMs: number): Map<string, Rate> {
  const out = new Map<string, Rate>();
  for (const [k, list] of byKey(rates)) {
    const r = latestStarted(list, (x) => x.effectiveFrom, atMs);
    if (r) out.set(k, r);
  }
  return out;
}

export type VersionState = 'in force' | 'scheduled' | 'superseded';

export interface DeckVersion {
  effectiveFrom: number;
  /** Rows taking effect at this instant. */
  rates: number;
  /** Of them, the rows in force at the instant asked about. */
  inForce: number;
  /** Scheduled: starts later; in force: some of its rows still price calls; superseded: none does. */
  state: VersionState;
}

/** The deck's versions, oldest first, each with how it stands at `atMs` (seriesStates per destination). */
export function deckVersions(rates: readonly Rate[], atMs: number): DeckVersion[] {
  const versions = new Map<number, DeckVersion>();
  for (const list of byKey(rates).values()) {
    const states = seriesStates(list, (x) => x.effectiveFrom, atMs);
    list.forEach((r, i) => {
      let v = versions.get(r.effectiveFrom);
      if (!v) {
        v = { effectiveFrom: r.effectiveFrom, rates: 0, inForce: 0, state: r.effectiveFrom > atMs ? 'scheduled' : 'superseded' };
        versions.set(r.effectiveFrom, v);
      }
      v.rates++;
      if (states[i] === 'in force') {
        v.inForce++;
        v.state = 'in force';
      }
    });
  }
  return [...versions.values()].sort((a, b) => a.effectiveFrom - b.effectiveFrom);
}

const same = (a: Decimal | null, b: Decimal | null) => (a === null || b === null ? a === b : a.eq(b));

/** Whether two rows price a destination alike (description included: it is what a customer reads). */
export function samePrice(a: Rate, b: Rate): boolean {
  if (a.description !== b.description || !same(a.connectFee, b.connectFee) || !same(a.minCharge, b.minCharge) || !same(a.maxCost, b.maxCost)) return false;
  if (a.steps.length !== b.steps.length) return false;
  return a.steps.every((s, i) => {
    const t = b.steps[i];
    return t !== undefined && s.from === t.from && s.rateUnit === t.rateUnit && s.increment === t.increment && s.rate.eq(t.rate);
  });
}

export interface DeckComparison {
  added: Rate[];
  removed: Rate[];
  changed: Array<{ before: Rate; after: Rate }>;
  unchanged: number;
}

/** What changed from the deck in force at `fromMs` to the one at `toMs`, each list in prefix order. */
export function compareDecks(rates: readonly Rate[], fromMs: number, toMs: number): DeckComparison {
  const a = deckAt(rates, fromMs);
  const b = deckAt(rates, toMs);
  const out: DeckComparison = { added: [], removed: [], changed: [], unchanged: 0 };
  for (const [k, before] of a) {
    const after = b.get(k);
    if (!after) out.removed.push(before);
    else if (after === before || samePrice(before, after)) out.unchanged++;
    else out.changed.push({ before, after });
  }
  for (const [k, after] of b) if (!a.has(k)) out.added.push(after);
  const order = (x: Rate, y: Rate) => (x.prefix < y.prefix ? -1 : x.prefix > y.prefix ? 1 : rateKey(x) < rateKey(y) ? -1 : rateKey(x) > rateKey(y) ? 1 : 0);
  out.added.sort(order);
  out.removed.sort(order);
  out.changed.sort((x, y) => order(x.after, y.after));
  return out;
}

// ---- Margins: a reseller's retail price beside its wholesale cost --------------------------------

/** The price of a minute at the rate's first step (rate x 60 / rate unit), exact. */
export function perMinute(r: Rate): Decimal {
  const first = r.steps[0];
  if (!first) return new Decimal(0);
  return first.rate.mul(60).div(first.rateUnit);
}

export interface MarginRow {
  retail: Rate;
  retailPerMinute: Decimal;
  /** The wholesale row compared with; undefined: no wholesale prefix covers this destination. */
  cost?: Rate;
  /** Its per-minute price in the retail plan's currency; undefined when it cannot be converted. */
  costPerMinute?: Decimal;
  /** retail - cost per minute. */
  margin?: Decimal;
  belowCost: boolean;
}

/**
 * Each retail destination in force at `atMs` beside its cost (the rule the margin pages state):
 * the wholesale row of the longest prefix that covers the retail prefix, same direction, in force
 * at the same instant; of its bands the one of the same name, else its all-times row, else the
 * dearest of its bands. Both at their first step's price per minute; the cost converted into the
 * retail currency by `fx` (1 unit of wholesale currency in retail currency; undefined: cannot
 * compare, and no row is called below cost). Connect fees, minimums and caps are not compared.
 */
export function margins(retail: readonly Rate[], wholesale: readonly Rate[], atMs: number, fx: Decimal | undefined): MarginRow[] {
  const costs = new Map<string, Rate[]>();
  for (const r of deckAt(wholesale, atMs).values()) {
    const k = `${r.direction}|${r.prefix}`;
    const list = costs.get(k);
    if (list) list.push(r);
    else costs.set(k, [r]);
  }
  const rows: MarginRow[] = [];
  for (const r of deckAt(retail, atMs).values()) {
    const retailPerMinute = perMinute(r);
    let cost: Rate | undefined;
    for (let n = r.prefix.length; n > 0 && !cost; n--) {
      const bands = costs.get(`${r.direction}|${r.prefix.slice(0, n)}`);
      if (!bands) continue;
      cost =
        bands.find((b) => b.band === r.band) ??
        bands.find((b) => b.band === null) ??
        bands.reduce((x, y) => (perMinute(y).gt(perMinute(x)) ? y : x));
    }
    const row: MarginRow = { retail: r, retailPerMinute, belowCost: false };
    if (cost) {
      row.cost = cost;
      if (fx) {
        row.costPerMinute = perMinute(cost).mul(fx);
        row.margin = retailPerMinute.sub(row.costPerMinute);
        row.belowCost = row.margin.isNeg();
      }
    }
    rows.push(row);
  }
  return rows.sort((x, y) => (x.retail.prefix < y.retail.prefix ? -1 : x.retail.prefix > y.retail.prefix ? 1 : rateKey(x.retail) < rateKey(y.retail) ? -1 : 1));
}
