import type { Queryable } from '../../db/knex';
import { classifyLeg } from '../../domain/legs/classify';
import type { Direction } from '../../domain/legs/direction';
import type { NormalisedLeg } from '../../domain/legs/leg';
import type { Decimal } from '../../domain/money/decimal';
import { isPriced, priceCharge, type PricedCharge } from '../../domain/rating/charge';
import type { TaxRule } from '../../domain/tax/tax';
import type { RateTable } from '../exchange-rates/rate-cache';
import type { PlanCache } from '../rate-plans/plan-cache';
import { referenceDataOf, type ReferenceData } from '../reference-data/reference-data';
import type { UsageTaxTable } from '../taxes/tax-cache';
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

/**
 * The batch's view of usage taxes and exchange rates: the process's in-memory copies (see
 * modules/reference-data), taken once so every leg of the batch reads the same snapshot. The
 * tables answer exactly as the SQL look-ups they replace, per leg and instant, so there is no
 * per-batch memo or grouping of legs by period any more: a look-up is a map read and a short scan.
 */
class Lookups {
  private tables: Promise<[UsageTaxTable, RateTable]> | undefined;
  constructor(
    private readonly db: Queryable,
    private readonly refs: ReferenceData,
  ) {}

  private load() {
    return (this.tables ??= Promise.all([this.refs.usageTaxes.get(this.db), this.refs.exchangeRates.get(this.db)]));
  }

  async usageTaxes(owner: { kind: 'operator' } | { kind: 'reseller'; resellerId: number }, p: Party, atMs: number): Promise<TaxRule[]> {
    const [taxes] = await this.load();
    return taxes.rulesFor(owner, { country: p.country, region: p.region }, atMs);
  }

  async rate(from: string, to: string, atMs: number): Promise<Decimal | undefined> {
    const [, fx] = await this.load();
    return fx.rateInForce(from, to, atMs);
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
  const lookups = new Lookups(db, referenceDataOf(cache));

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
