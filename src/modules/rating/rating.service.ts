import type { Queryable } from '../../db/knex';
import { classifyLeg, type ShortIdentities } from '../../domain/legs/classify';
import { identityKeyOf, type ShortNumberRule } from '../../domain/legs/identity';
import type { NormalisedLeg } from '../../domain/legs/leg';
import { carrierOf, type RatedLeg } from '../../domain/legs/rated';
import { isPriced, priceCharge, type PricedCharge } from '../../domain/rating/charge';
import type { RatableLeg } from '../../domain/rating/engine';
import type { CompiledPlan } from '../../domain/rating/plan';
import type { RatingCaches } from '../reference-data/reference-data';
import type { CarrierDeck } from '../carriers/carrier-cache';
import { holderAt, vacancyOf } from '../../domain/legs/holders';
import { OPERATOR, type Owner } from '../../domain/tenancy/owner';
import { holdersOf, type Holders, type Party } from './holders';
import { loadTollHolders, priceWithAllowances, type TollHolders } from './allowances';
import type { AllowanceClaim } from '../../domain/billing/allowances';

export type { LegStatus, RatedLeg } from '../../domain/legs/rated';

/** Where rating learns who holds the numbers: the database (default), or the intake's HoldersCache. */
export type HoldersSource = (db: Queryable, numbers: string[]) => Promise<Holders>;

/** Rated legs, and the party version their holders were read at (a write of them checks it). */
export interface RatedBatch {
  legs: RatedLeg[];
  partyVersion: string;
}

/**
 * Classifies and rates legs: who pays (by our numbers at the call's time), the wholesale charge
 * with the reseller's plan, and the retail charge with the subscriber's plan when the reseller uses
 * the billing service. Reads only; the caller stores the result in its own transaction.
 */
export async function rateLegs(
  db: Queryable,
  caches: RatingCaches,
  legs: NormalisedLeg[],
  holders: HoldersSource = holdersOf,
  /** Each leg's platform's rule for short identities (none: E.164 numbers only). */
  rules?: ReadonlyArray<ShortNumberRule | undefined>,
  /** Each leg's platform's trunk -> carrier map (carrierOf): an outbound leg by a carrier with a cost deck gets its carrier_cost charge. */
  trunkMaps?: ReadonlyArray<Readonly<Record<string, string>> | undefined>,
): Promise<RatedBatch> {
  const numbers = new Set<string>();
  // Parties that are not E.164 numbers may be extensions or SIP user names of ours (identity.ts).
  const shorts = legs.map((l, i): ShortIdentities | undefined => {
    const rule = rules?.[i];
    if (!rule || (l.callingNumber && l.calledNumber)) return undefined;
    const calling = identityKeyOf(l.rawCalling, l.callingNumber, l.domain, rule);
    const called = identityKeyOf(l.rawCalled, l.calledNumber, l.domain, rule);
    return calling || called ? { calling, called, ratedNumber: `+${rule.countryCode}` } : undefined;
  });
  legs.forEach((l, i) => {
    for (const n of [l.callingNumber, l.calledNumber, l.redirectingNumber, shorts[i]?.calling, shorts[i]?.called]) if (n) numbers.add(n);
  });
  const { assignments, parties, version: partyVersion, tolls: tollsOf = loadTollHolders } = await holders(db, [...numbers]);

  // Each number's holder at the call's start; nobody's before its first assignment or between holders.
  const classified = legs.map((leg, i) =>
    classifyLeg(
      leg,
      (n) => {
        const a = n ? holderAt(assignments.get(n), leg.startMs) : undefined;
        return a ? { subscriberId: a.subscriberId, resellerId: a.resellerId } : undefined;
      },
      (n) => vacancyOf(n, assignments.get(n), leg.startMs),
      shorts[i],
    ),
  );

  // Everything pricing reads, loaded once for the batch; the loop below is then plain computation.
  // Taxes and exchange rates are the process's in-memory copies (modules/reference-data), which
  // answer exactly as the SQL look-ups they replace; one snapshot serves every leg of the batch.
  const { plans: planCache, refs } = caches;
  const planIds = new Set<number>();
  // Parties holding toll packages (few, and known from the holders): their packages in one query;
  // a batch with none asks nothing more.
  const tollSubscribers = new Set<number>();
  const tollResellers = new Set<number>();
  for (const p of parties.values()) {
    if (p.wholesalePlanId !== null) planIds.add(p.wholesalePlanId);
    if (p.billingService && p.retailPlanId !== null) planIds.add(p.retailPlanId);
    if (p.billingService && p.subscriberTolls) tollSubscribers.add(p.subscriberId);
    if (p.resellerTolls) tollResellers.add(p.resellerId);
  }
  // The carrier each leg left by, and its cost deck (from memory): only legs somebody pays for, as
  // a charge row carries its payer's reseller_id.
  const decksOf = trunkMaps?.some((m) => m && Object.keys(m).length) ? await refs.carriers.get(db) : undefined;
  const decks: Array<Readonly<CarrierDeck> | undefined> | undefined = decksOf?.size
    ? legs.map((leg, i) => {
        const c = classified[i]!;
        const carrier = c.matched ? carrierOf(leg, c.direction, trunkMaps?.[i]) : null;
        const deck = carrier ? decksOf.get(carrier.toLowerCase()) : undefined;
        if (deck) planIds.add(deck.costPlanId);
        return deck;
      })
    : undefined;
  const [taxes, fx, plans, tolls] = await Promise.all([
    refs.usageTaxes.get(db),
    refs.exchangeRates.get(db),
    Promise.all([...planIds].map(async (id) => [id, await planCache.get(db, id)] as const)).then((entries) => new Map(entries)),
    tollSubscribers.size || tollResellers.size ? tollsOf(db, [...tollSubscribers], [...tollResellers]) : undefined,
  ]);
  const batch: Batch = { plans, taxes, fx, tolls };

  const rated = legs.map((leg, i): RatedLeg => {
    const r = rateOne(leg, i);
    const deck = decks?.[i];
    const c = classified[i]!;
    if (deck && c.matched && r.resellerId !== null) priceCarrierCost(batch, r, deck, { direction: c.direction, number: c.ratedNumber, startMs: leg.startMs, answerMs: leg.answered ? leg.answerMs : null, billableSeconds: leg.answered ? leg.billableSeconds : 0 });
    return r;
  });
  return { legs: rated, partyVersion };

  function rateOne(leg: NormalisedLeg, i: number): RatedLeg {
    const c = classified[i]!;
    if (!c.matched) return { leg, direction: null, resellerId: null, subscriberId: null, calleeResellerId: null, calleeSubscriberId: null, status: 'unrated', reason: c.reason, charges: [] };
    const party = parties.get(c.payer.subscriberId);
    const base = {
      leg, direction: c.direction, resellerId: c.payer.resellerId, subscriberId: c.payer.subscriberId,
      calleeResellerId: c.callee?.resellerId ?? null, calleeSubscriberId: c.callee?.subscriberId ?? null,
    };
    if (!party) return { ...base, status: 'unrated', reason: 'the subscriber was removed', charges: [] };
    if (party.resellerStatus !== 'active') return { ...base, status: 'blocked', reason: `reseller ${party.resellerName} is inactive`, charges: [] };
    if (party.subscriberStatus !== 'active') return { ...base, status: 'blocked', reason: 'the subscriber is inactive', charges: [] };

    const ratable = { direction: c.direction, number: c.ratedNumber, startMs: leg.startMs, answerMs: leg.answered ? leg.answerMs : null, billableSeconds: leg.answered ? leg.billableSeconds : 0 };
    const out: LegPricing = { ratable, place: { country: party.country, region: party.region }, charges: [], reasons: [], claims: undefined };
    priceOne(batch, out, 'wholesale', party.wholesalePlanId, OPERATOR, party.resellerTaxExempt, party.resellerCurrency, party);
    if (party.billingService) {
      priceOne(batch, out, 'retail', party.retailPlanId, { kind: 'reseller', resellerId: party.resellerId }, party.subscriberTaxExempt, party.billingCurrency ?? party.resellerCurrency, party);
    }
    const { reasons, charges, claims } = out;
    // A status that agrees with the charges stored beside it: some priced and some not is partial.
    const status = reasons.length === 0 ? 'rated' : charges.length ? 'partial' : 'unrated';
    const r: RatedLeg = { ...base, status, reason: reasons.length ? reasons.join('; ') : null, charges };
    if (claims) r.claims = claims;
    return r;
  }
}

/**
 * The leg's expected carrier cost, priced with its carrier's cost deck as the other charges are
 * (same compiled plans, same rateLeg) but with no allowances and no taxes, in the carrier's
 * currency (converted at the rate in force at the call's start when the deck's differs). Added
 * after the billed charges, whatever the leg's status (blocked and unrated legs still cost us the
 * carrier's rate); a deck with no rate for the number, or no exchange rate, leaves none, and the
 * status (which is about what we bill) is never changed by it.
 */
function priceCarrierCost(b: Batch, r: RatedLeg, deck: Readonly<CarrierDeck>, ratable: RatableLeg): void {
  const plan = b.plans.get(deck.costPlanId);
  if (!plan) return;
  const priced = priceCharge({
    kind: 'carrier_cost', plan, planRevision: plan.revision ?? 0, leg: ratable, taxes: [],
    billedCurrency: deck.currency, exchangeRate: b.fx.rateInForce(plan.currency, deck.currency, ratable.startMs),
  });
  if (isPriced(priced)) r.charges.push(priced);
}

/** What pricing reads, loaded once for a batch. */
interface Batch {
  plans: Map<number, CompiledPlan | undefined>;
  taxes: Awaited<ReturnType<RatingCaches['refs']['usageTaxes']['get']>>;
  fx: Awaited<ReturnType<RatingCaches['refs']['exchangeRates']['get']>>;
  /** Toll packages of the batch's parties that hold any; undefined when none does. */
  tolls: TollHolders | undefined;
}

/** One leg being priced: what it is and where, and its charges and the reasons it could not be priced so far. */
interface LegPricing {
  ratable: RatableLeg;
  place: { country: string; region: string | null };
  charges: PricedCharge[];
  reasons: string[];
  /** Charges that may draw on allowances (RatedLeg.claims). */
  claims: AllowanceClaim[] | undefined;
}

/** One charge of a leg (a function of its own, not a closure made per leg). */
function priceOne(b: Batch, out: LegPricing, kind: 'wholesale' | 'retail', planId: number | null, taxOwner: Owner, exempt: boolean, billedCurrency: string, party: Party): void {
  if (planId === null) {
    out.reasons.push(kind === 'wholesale' ? `wholesale: reseller ${party.resellerName} has no wholesale rate plan` : 'retail: the subscriber has no retail rate plan');
    return;
  }
  const plan = b.plans.get(planId);
  if (!plan) {
    out.reasons.push(`${kind}: rate plan ${planId} is missing`);
    return;
  }
  const startMs = out.ratable.startMs;
  const rules = exempt ? [] : b.taxes.rulesFor(taxOwner, out.place, startMs);
  const exchangeRate = b.fx.rateInForce(plan.currency, billedCurrency, startMs);
  const inputs = { kind, plan, planRevision: plan.revision ?? 0, leg: out.ratable, taxes: rules, billedCurrency, exchangeRate };
  const holder = b.tolls && (kind === 'wholesale' ? (party.resellerTolls ? b.tolls.byReseller.get(party.resellerId) : undefined) : party.subscriberTolls ? b.tolls.bySubscriber.get(party.subscriberId) : undefined);
  if (!holder) {
    const priced = priceCharge(inputs);
    if (isPriced(priced)) out.charges.push(priced);
    else out.reasons.push(priced.reason);
    return;
  }
  const { charge, claim } = priceWithAllowances(inputs, holder);
  if (!isPriced(charge)) {
    out.reasons.push(charge.reason);
    return;
  }
  if (claim) (out.claims ??= []).push({ ...claim, charge: out.charges.length });
  out.charges.push(charge);
}
