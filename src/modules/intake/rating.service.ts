import type { Queryable } from '../../db/knex';
import { classifyLeg } from '../../domain/legs/classify';
import type { Direction } from '../../domain/legs/direction';
import type { NormalisedLeg } from '../../domain/legs/leg';
import type { Decimal } from '../../domain/money/decimal';
import { isPriced, priceCharge, type PricedCharge } from '../../domain/rating/charge';
import type { TaxRule } from '../../domain/tax/tax';
import { rateInForce } from '../exchange-rates/exchange-rates.repository';
import type { PlanCache } from '../rate-plans/plan-cache';
import { usageTaxesFor } from '../taxes/taxes.repository';
import { assignmentsOf, holderAt, partiesOf, type Party } from './parties.repository';

export type LegStatus = 'rated' | 'unrated' | 'blocked';

/** A leg with who pays, how it was classified, and its charges. */
export interface RatedLeg {
  leg: NormalisedLeg;
  direction: Direction | null;
  resellerId: number | null;
  subscriberId: number | null;
  status: LegStatus;
  reason: string | null;
  charges: PricedCharge[];
}

/** How many of the sorted instants `edges` are at or before `atMs` (binary search). */
function periodOf(edges: number[], atMs: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((edges[mid] as number) <= atMs) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Sorted distinct instants (epoch ms, sub-millisecond kept) of the rows the query yields in column t. */
async function instants(q: Promise<{ rows: Array<{ t: number }> }>): Promise<number[]> {
  return (await q).rows.map((r) => Number(r.t)).sort((a, b) => a - b);
}

/**
 * Per-batch memo of the slow look-ups (taxes, exchange rates), so a batch of a thousand legs of a
 * few subscribers costs a few queries, not thousands.
 *
 * The answer of a look-up changes only at the instants where a usage tax starts or ends, or where
 * an exchange rate of the pair takes effect. So legs are keyed not by their exact start but by the
 * period between two such instants they fall in: every leg of one period gets the same answer, and
 * the look-up itself (same query, same rules) runs once per period. A batch whose legs all start at
 * the same instant (a single-record post) needs no periods and skips that query. Should the taxes
 * that apply come to depend on another dated row (a jurisdiction's own dates, say), its instants
 * must be added to the tax edges below.
 */
class Lookups {
  private readonly taxes = new Map<string, Promise<TaxRule[]>>();
  private readonly fx = new Map<string, Promise<Decimal | undefined>>();
  private taxEdges: Promise<number[]> | undefined;
  private readonly fxEdges = new Map<string, Promise<number[]>>();
  constructor(
    private readonly db: Queryable,
    /** Whether the batch's legs start at more than one instant. */
    private readonly manyInstants: boolean,
  ) {}

  async usageTaxes(owner: { kind: 'operator' } | { kind: 'reseller'; resellerId: number }, p: Party, atMs: number): Promise<TaxRule[]> {
    let period = atMs;
    if (this.manyInstants) {
      this.taxEdges ??= instants(
        this.db.raw(
          `select distinct extract(epoch from t) * 1000 as t from (
             select effective_from as t from taxes where kind = 'usage'
             union all select effective_to from taxes where kind = 'usage' and effective_to is not null) e`,
        ),
      );
      period = periodOf(await this.taxEdges, atMs);
    }
    const key = `${owner.kind === 'operator' ? 'op' : owner.resellerId}|${p.country}|${p.region ?? ''}|${period}`;
    let hit = this.taxes.get(key);
    if (!hit) {
      hit = usageTaxesFor(this.db, owner, { country: p.country, region: p.region }, atMs);
      this.taxes.set(key, hit);
    }
    return hit;
  }

  async rate(from: string, to: string, atMs: number): Promise<Decimal | undefined> {
    let period = atMs;
    // The same currency is 1 whenever: rateInForce answers without a query.
    if (from.trim().toUpperCase() === to.trim().toUpperCase()) period = 0;
    else if (this.manyInstants) {
      const pair = `${from}|${to}`;
      let edges = this.fxEdges.get(pair);
      if (!edges) {
        edges = instants(
          this.db.raw(`select distinct extract(epoch from effective_from) * 1000 as t from exchange_rates where from_currency = ? and to_currency = ?`, [
            from.trim().toUpperCase(),
            to.trim().toUpperCase(),
          ]),
        );
        this.fxEdges.set(pair, edges);
      }
      period = periodOf(await edges, atMs);
    }
    const key = `${from}|${to}|${period}`;
    let hit = this.fx.get(key);
    if (!hit) {
      hit = rateInForce(this.db, from, to, atMs);
      this.fx.set(key, hit);
    }
    return hit;
  }
}

/**
 * Classifies and rates legs: who pays (by our numbers at the call's time), the wholesale charge
 * with the reseller's plan, and the retail charge with the subscriber's plan when the reseller uses
 * the billing service. Reads only; the caller stores the result in its own transaction.
 */
export async function rateLegs(db: Queryable, cache: PlanCache, legs: NormalisedLeg[]): Promise<RatedLeg[]> {
  const numbers = new Set<string>();
  for (const l of legs) for (const n of [l.callingNumber, l.calledNumber, l.redirectingNumber]) if (n) numbers.add(n);
  const assignments = await assignmentsOf(db, [...numbers]);

  const classified = legs.map((leg) =>
    classifyLeg(leg, (n) => {
      const a = n ? holderAt(assignments.get(n), leg.startMs) : undefined;
      return a ? { subscriberId: a.subscriberId, resellerId: a.resellerId } : undefined;
    }),
  );
  const parties = await partiesOf(db, [...new Set(classified.flatMap((c) => (c.matched ? [c.payer.subscriberId] : [])))]);
  const lookups = new Lookups(db, legs.some((l) => l.startMs !== legs[0]?.startMs));

  return Promise.all(
    legs.map(async (leg, i): Promise<RatedLeg> => {
      const c = classified[i]!;
      if (!c.matched) return { leg, direction: null, resellerId: null, subscriberId: null, status: 'unrated', reason: c.reason, charges: [] };
      const party = parties.get(c.payer.subscriberId);
      const base = { leg, direction: c.direction, resellerId: c.payer.resellerId, subscriberId: c.payer.subscriberId };
      if (!party) return { ...base, status: 'unrated', reason: 'the subscriber was removed', charges: [] };
      if (party.resellerStatus !== 'active') return { ...base, status: 'blocked', reason: `reseller ${party.resellerName} is inactive`, charges: [] };
      if (party.subscriberStatus !== 'active') return { ...base, status: 'blocked', reason: 'the subscriber is inactive', charges: [] };

      const ratable = { direction: c.direction, number: c.ratedNumber, startMs: leg.startMs, answerMs: leg.answered ? leg.answerMs : null, billableSeconds: leg.answered ? leg.billableSeconds : 0 };
      const reasons: string[] = [];
      const charges: PricedCharge[] = [];

      const price = async (kind: 'wholesale' | 'retail', planId: number | null, taxOwner: { kind: 'operator' } | { kind: 'reseller'; resellerId: number }, exempt: boolean, billedCurrency: string) => {
        if (planId === null) {
          reasons.push(kind === 'wholesale' ? `wholesale: reseller ${party.resellerName} has no wholesale rate plan` : 'retail: the subscriber has no retail rate plan');
          return;
        }
        const plan = await cache.get(db, planId);
        if (!plan) {
          reasons.push(`${kind}: rate plan ${planId} is missing`);
          return;
        }
        const [taxes, exchangeRate] = await Promise.all([
          exempt ? Promise.resolve([]) : lookups.usageTaxes(taxOwner, party, leg.startMs),
          lookups.rate(plan.currency, billedCurrency, leg.startMs),
        ]);
        const priced = priceCharge({ kind, plan, planRevision: plan.revision ?? 0, leg: ratable, taxes, billedCurrency, exchangeRate });
        if (isPriced(priced)) charges.push(priced);
        else reasons.push(priced.reason);
      };

      await price('wholesale', party.wholesalePlanId, { kind: 'operator' }, party.resellerTaxExempt, party.resellerCurrency);
      if (party.billingService) {
        await price('retail', party.retailPlanId, { kind: 'reseller', resellerId: party.resellerId }, party.subscriberTaxExempt, party.billingCurrency ?? party.resellerCurrency);
      }
      return { ...base, status: reasons.length ? 'unrated' : 'rated', reason: reasons.length ? reasons.join('; ') : null, charges };
    }),
  );
}
