import type { Queryable } from '../../db/knex';
import { NotFoundError } from '../../domain/errors';
import type { Decimal } from '../../domain/money/decimal';
import { margins, type MarginRow } from '../../domain/rating/versions';
import { exchangeRateAt } from '../exchange-rates/exchange-rates.service';
import * as repo from './rate-plans.repository';

/**
 * A reseller's costs and margins (issue 11): the operator's plan assigned to it, read only and
 * rates only (its settings a reader needs, nothing of other resellers), and each of its retail
 * destinations beside that cost (domain/rating/versions.ts `margins` states the rule).
 */

/** The wholesale plan the operator assigned to this reseller, or undefined. Never another plan. */
export async function wholesalePlanOf(db: Queryable, resellerId: number): Promise<repo.RatePlan | undefined> {
  const id = await repo.wholesalePlanIdOf(db, resellerId);
  return id === null ? undefined : repo.getPlan(db, { kind: 'operator' }, id);
}

export interface PlanMargins {
  plan: repo.RatePlan;
  wholesale: repo.RatePlan | undefined;
  /** 1 unit of the wholesale currency in the retail currency; undefined: no rate, cannot compare. */
  fx: Decimal | undefined;
  /** Why nothing can be compared, when that is so. */
  cannotCompare?: string;
  rows: MarginRow[];
  belowCost: number;
}

async function marginsFor(db: Queryable, plan: repo.RatePlan, wholesale: repo.RatePlan | undefined, wholesaleRates: Awaited<ReturnType<typeof repo.loadRates>>, atMs: number): Promise<PlanMargins> {
  const retail = await repo.loadRates(db, plan.id);
  if (!wholesale) return { plan, wholesale, fx: undefined, cannotCompare: 'The operator has assigned you no wholesale plan: there is no cost to compare with.', rows: margins(retail, [], atMs, undefined), belowCost: 0 };
  const fx = await exchangeRateAt(db, wholesale.currency, plan.currency, atMs);
  const rows = margins(retail, wholesaleRates, atMs, fx);
  const cannotCompare = fx ? undefined : `No exchange rate from ${wholesale.currency} to ${plan.currency} is in force: costs cannot be compared with this plan's prices.`;
  return { plan, wholesale, fx, cannotCompare, rows, belowCost: rows.filter((r) => r.belowCost).length };
}

/** One retail plan of the reseller (found through its owner) beside its wholesale cost, at `atMs`. */
export async function planMargins(db: Queryable, resellerId: number, planId: number, atMs: number): Promise<PlanMargins> {
  const plan = await repo.getPlan(db, { kind: 'reseller', resellerId }, planId);
  if (!plan) throw new NotFoundError();
  const wholesale = await wholesalePlanOf(db, resellerId);
  return marginsFor(db, plan, wholesale, wholesale ? await repo.loadRates(db, wholesale.id) : [], atMs);
}

/** Every retail plan of the reseller, with only its destinations sold below cost. */
export async function belowCost(db: Queryable, resellerId: number, atMs: number): Promise<{ wholesale: repo.RatePlan | undefined; plans: PlanMargins[] }> {
  const wholesale = await wholesalePlanOf(db, resellerId);
  const wholesaleRates = wholesale ? await repo.loadRates(db, wholesale.id) : [];
  const plans: PlanMargins[] = [];
  for (const plan of await repo.listPlans(db, { kind: 'reseller', resellerId })) {
    const m = await marginsFor(db, plan, wholesale, wholesaleRates, atMs);
    plans.push({ ...m, rows: m.rows.filter((r) => r.belowCost) });
  }
  return { wholesale, plans };
}

/** Destinations named in a warning before "and N more". */
const WARN_NAMED = 10;

/**
 * The warning after a retail deck import: the plan's destinations now sold below the reseller's
 * cost, named (the import itself stands). Undefined when there are none or nothing to compare with.
 */
export async function belowCostWarning(db: Queryable, resellerId: number, planId: number, atMs = Date.now()): Promise<string | undefined> {
  const m = await planMargins(db, resellerId, planId, atMs);
  const below = m.rows.filter((r) => r.belowCost);
  if (below.length === 0) return undefined;
  const named = below.slice(0, WARN_NAMED).map((r) => `${r.retail.prefix}${r.retail.description ? ` ${r.retail.description}` : ''} (${r.retail.direction}${r.retail.band ? `, ${r.retail.band}` : ''}): ${r.retailPerMinute.toString()} < ${r.costPerMinute!.toString()} ${m.plan.currency}/min`);
  const more = below.length > WARN_NAMED ? `, and ${below.length - WARN_NAMED} more` : '';
  return `Warning: ${below.length} destination${below.length === 1 ? ' is' : 's are'} sold below your cost: ${named.join('; ')}${more}.`;
}
