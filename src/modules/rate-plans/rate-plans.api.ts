import { z } from 'zod';
import { NotFoundError } from '../../domain/errors';
import { OPERATOR, type Owner } from '../../domain/tenancy/owner';
import type { Scope } from '../../domain/tenancy/roles';
import { apiOperation, idParam, iso, isoTime, type ApiOperation } from '../../web/api-operations';
import { getResellerForUpdate } from '../resellers/resellers.repository';
import { getOrThrow as getReseller } from '../resellers/resellers.service';
import { getSubscriber } from '../subscribers/subscribers.repository';
import { getOrThrow as getSubscriberOrThrow } from '../subscribers/subscribers.service';
import * as assignments from './assignments.service';
import { getPlanById, type RatePlan } from './rate-plans.repository';
import * as service from './rate-plans.service';

/**
 * Rate plans in the API (issue 14): the plans a key may assign, the operator's wholesale plan of a
 * reseller and a reseller's retail plan of a subscriber, set through the portal's own service
 * (assignments.service: the same checks, the same audit).
 */

export const planRef = z
  .object({
    id: z.number().int(),
    name: z.string(),
    currency: z.string().meta({ description: 'ISO 4217: the currency the plan prices in.' }),
    retired_at: isoTime.nullable().meta({ description: 'Set: assigned to no one new; its holders keep it.' }),
  })
  .meta({ id: 'RatePlanRef' });

const planOut = z
  .object({
    id: z.number().int(),
    owner: z.enum(['operator', 'reseller']).meta({ description: 'The operator’s plans price resellers (wholesale); a reseller’s price its subscribers (retail).' }),
    reseller_id: z.number().int().nullable(),
    name: z.string(),
    description: z.string().nullable(),
    currency: z.string(),
    time_zone: z.string().meta({ description: 'IANA zone the plan’s time bands are read in.' }),
    revision: z.number().int(),
    rate_count: z.number().int(),
    destination_count: z.number().int(),
    assigned_count: z.number().int().meta({ description: 'Resellers (operator plan) or subscribers (reseller plan) holding it.' }),
    retired_at: isoTime.nullable(),
    created_at: isoTime,
    updated_at: isoTime,
  })
  .meta({ id: 'RatePlan' });

const planRefOf = (p: RatePlan | undefined): z.infer<typeof planRef> | null => (p ? { id: p.id, name: p.name, currency: p.currency, retired_at: iso(p.retiredAt) } : null);

const wholesalePlanOut = z
  .object({ reseller_id: z.number().int(), wholesale_plan: planRef.nullable().meta({ description: 'Null: none; its calls stay unrated until one is assigned.' }) })
  .meta({ id: 'WholesalePlanAssignment' });
const retailPlanOut = z
  .object({ subscriber_id: z.number().int(), reseller_id: z.number().int(), retail_plan: planRef.nullable().meta({ description: 'Null: none.' }) })
  .meta({ id: 'RetailPlanAssignment' });

async function wholesaleView(db: Parameters<typeof getPlanById>[0], resellerId: number, planId: number | null) {
  return { reseller_id: resellerId, wholesale_plan: planId === null ? null : planRefOf(await getPlanById(db, planId)) };
}

async function retailView(db: Parameters<typeof getPlanById>[0], sub: { id: number; resellerId: number; retailPlanId: number | null }) {
  return { subscriber_id: sub.id, reseller_id: sub.resellerId, retail_plan: sub.retailPlanId === null ? null : planRefOf(await getPlanById(db, sub.retailPlanId)) };
}

const resellerParams = z.object({ resellerId: idParam.meta({ description: 'The reseller’s id.' }) });
const subscriberParams = z.object({ subscriberId: idParam.meta({ description: 'The subscriber’s id.' }) });
const planChoice = (field: string, whose: string) =>
  z.object({ [field]: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).nullable().meta({ description: `One of ${whose} plans (GET /rate-plans), or null for none.` }) }).strict();

/**
 * Whose catalogue a key reads (plans, feature and toll packages): the key's own party's, or for an
 * operator key naming `reseller_id`, that reseller's. A reseller key naming another reseller is
 * answered as not found.
 */
export async function catalogueOwner(db: Parameters<typeof getReseller>[0], scope: Scope, resellerId: number | undefined): Promise<Owner> {
  if (scope.kind === 'subscriber') throw new NotFoundError();
  if (scope.kind === 'reseller') {
    if (resellerId !== undefined && resellerId !== scope.resellerId) throw new NotFoundError();
    return { kind: 'reseller', resellerId: scope.resellerId };
  }
  if (resellerId === undefined) return OPERATOR;
  await getReseller(db, scope, resellerId);
  return { kind: 'reseller', resellerId };
}

export const catalogueQuery = z.object({
  reseller_id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional().meta({ description: 'Operator keys: that reseller’s (what its subscribers may be given). A reseller key reads its own.' }),
});

export function ratePlanApi(): ApiOperation[] {
  return [
    apiOperation({
      method: 'get', path: '/rate-plans', operationId: 'listRatePlans', tags: ['Plans and packages'], audience: 'all',
      summary: 'The rate plans a key may assign',
      description: 'An operator key: the operator’s plans (wholesale, for resellers), or with `reseller_id` that reseller’s plans. A reseller key: its own plans (retail, for its subscribers). Retired plans are listed with `retired_at`: they are assigned to no one new.',
      query: catalogueQuery,
      success: { status: 200, description: 'The plans, by name.', schema: z.object({ data: z.array(planOut) }).meta({ id: 'RatePlanList' }) },
      handler: async ({ db, query, actor }) => {
        const owner = await catalogueOwner(db, actor.scope, query.reseller_id);
        const plans = await service.listPlans(db, owner);
        return {
          body: {
            data: plans.map((p) => ({
              id: p.id, owner: p.resellerId === null ? ('operator' as const) : ('reseller' as const), reseller_id: p.resellerId, name: p.name, description: p.description, currency: p.currency,
              time_zone: p.timeZone, revision: p.revision, rate_count: Number(p.rateCount), destination_count: Number(p.destinationCount), assigned_count: Number(p.assignedCount),
              retired_at: iso(p.retiredAt), created_at: iso(p.createdAt) as string, updated_at: iso(p.updatedAt) as string,
            })),
          },
        };
      },
    }),
    apiOperation({
      method: 'get', path: '/resellers/:resellerId/wholesale-plan', operationId: 'getWholesalePlan', tags: ['Plans and packages'], audience: 'all',
      summary: 'A reseller’s wholesale rate plan', description: 'The operator’s plan that prices the reseller’s calls. A reseller’s key reads its own.',
      params: resellerParams,
      success: { status: 200, description: 'The assignment.', schema: wholesalePlanOut, etag: true },
      handler: async ({ db, params, actor }) => {
        const r = await getReseller(db, actor.scope, params.resellerId);
        return { body: await wholesaleView(db, r.id, r.wholesalePlanId) };
      },
    }),
    apiOperation({
      method: 'put', path: '/resellers/:resellerId/wholesale-plan', operationId: 'setWholesalePlan', tags: ['Plans and packages'], audience: 'operator',
      summary: 'Assign a reseller’s wholesale rate plan',
      description: 'One of the operator’s plans, not retired (assigning its holder the plan it holds is no change); null leaves the reseller without one (its calls unrated until one is assigned). Audited.',
      params: resellerParams,
      body: planChoice('wholesale_plan_id', 'the operator’s'),
      success: { status: 200, description: 'The assignment as it is now.', schema: wholesalePlanOut, etag: true },
      current: async ({ db, params, actor }) => {
        if (actor.scope.kind !== 'wholesale') throw new NotFoundError();
        const r = await getResellerForUpdate(db, params.resellerId);
        if (!r) throw new NotFoundError();
        return wholesaleView(db, r.id, r.wholesalePlanId);
      },
      handler: async ({ db, params, actor, body }) => {
        const r = await assignments.assignWholesalePlan(db, actor, params.resellerId, body.wholesale_plan_id as number | null);
        return { body: await wholesaleView(db, r.id, r.wholesalePlanId) };
      },
    }),
    apiOperation({
      method: 'get', path: '/subscribers/:subscriberId/retail-plan', operationId: 'getRetailPlan', tags: ['Plans and packages'], audience: 'all',
      summary: 'A subscriber’s retail rate plan', description: 'Its reseller’s plan that prices its calls.',
      params: subscriberParams,
      success: { status: 200, description: 'The assignment.', schema: retailPlanOut, etag: true },
      handler: async ({ db, params, actor }) => ({ body: await retailView(db, await getSubscriberOrThrow(db, actor.scope, params.subscriberId)) }),
    }),
    apiOperation({
      method: 'put', path: '/subscribers/:subscriberId/retail-plan', operationId: 'setRetailPlan', tags: ['Plans and packages'], audience: 'all',
      summary: 'Assign a subscriber’s retail rate plan',
      description: 'One of the subscriber’s reseller’s plans, not retired; null leaves it without one. A reseller’s key for its own subscribers; an operator key for any. Audited.',
      params: subscriberParams,
      body: planChoice('retail_plan_id', 'its reseller’s'),
      reach: ({ db, params, actor }) => getSubscriberOrThrow(db, actor.scope, params.subscriberId),
      success: { status: 200, description: 'The assignment as it is now.', schema: retailPlanOut, etag: true },
      current: async ({ db, params, actor }) => {
        const sub = await getSubscriber(db, actor.scope, params.subscriberId, { forUpdate: true });
        if (!sub) throw new NotFoundError();
        return retailView(db, sub);
      },
      handler: async ({ db, params, actor, body }) => {
        const sub = await assignments.assignRetailPlan(db, actor, actor.scope, params.subscriberId, body.retail_plan_id as number | null);
        return { body: await retailView(db, sub) };
      },
    }),
  ];
}
