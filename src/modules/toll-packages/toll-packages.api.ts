import { z } from 'zod';
import { apiOperation, idParam, iso, isoTime, UTC, utcWallText, type ApiOperation, type ApiContext } from '../../web/api-operations';
import { catalogueOwner, catalogueQuery } from '../rate-plans/rate-plans.api';
import * as service from './toll-packages.service';

/**
 * Toll packages in the API (issue 14): the packages a key may give, and the assignments of a
 * subscriber (its reseller's packages, given by the reseller's keys) and of a reseller (the
 * operator's, given by the operator's keys), as the portal's pages do them, through its service.
 */

const packageOut = z
  .object({
    id: z.number().int(),
    owner: z.enum(['operator', 'reseller']),
    reseller_id: z.number().int().nullable(),
    name: z.string(),
    description: z.string(),
    currency: z.string(),
    setup_fee: z.string().meta({ description: 'Decimal text in `currency`.' }),
    monthly_fee: z.string().meta({ description: 'Decimal text in `currency`.' }),
    groups: z.array(
      z.object({
        group_id: z.number().int(),
        group_name: z.string(),
        included_seconds: z.number().int().nullable().meta({ description: 'Per billing cycle; null: unlimited.' }),
        overage_rate: z.string().nullable().meta({ description: 'Per minute after the allowance, decimal text in `currency`; null: the plan’s rate.' }),
      }),
    ),
    holders: z.number().int().meta({ description: 'Assignments in force now.' }),
    scheduled: z.number().int().meta({ description: 'Assignments starting later.' }),
    retired_at: isoTime.nullable(),
    created_at: isoTime,
    updated_at: isoTime,
  })
  .meta({ id: 'TollPackage' });

const packageJsonOf = (p: service.TollPackage): z.infer<typeof packageOut> => ({
  id: p.id, owner: p.resellerId === null ? 'operator' : 'reseller', reseller_id: p.resellerId, name: p.name, description: p.description, currency: p.currency,
  setup_fee: p.setupFee.toFixed(), monthly_fee: p.monthlyFee.toFixed(),
  groups: p.groups.map((g) => ({ group_id: g.groupId, group_name: g.groupName, included_seconds: g.includedSeconds, overage_rate: g.overageRate === null ? null : g.overageRate.toFixed() })),
  holders: p.holders, scheduled: p.scheduled, retired_at: iso(p.retiredAt), created_at: iso(p.createdAt) as string, updated_at: iso(p.updatedAt) as string,
});

export const tollAssignmentOut = z
  .object({
    id: z.number().int(),
    reseller_id: z.number().int(),
    subscriber_id: z.number().int().nullable().meta({ description: 'Null: the reseller holds it (one of the operator’s packages).' }),
    toll_package_id: z.number().int(),
    package_name: z.string(),
    currency: z.string(),
    starts_at: isoTime,
    ends_at: isoTime.nullable().meta({ description: 'Null: until ended.' }),
    state: z.enum(['current', 'scheduled', 'ended']).meta({ description: 'Now.' }),
    created_at: isoTime,
  })
  .meta({ id: 'TollAssignment' });

const stateNow = (a: service.TollAssignment, now = Date.now()) => (a.startsAt.getTime() > now ? 'scheduled' : a.endsAt && a.endsAt.getTime() <= now ? 'ended' : 'current');
const assignmentJsonOf = (a: service.TollAssignment): z.infer<typeof tollAssignmentOut> => ({
  id: a.id, reseller_id: a.resellerId, subscriber_id: a.subscriberId, toll_package_id: a.packageId, package_name: a.packageName, currency: a.packageCurrency,
  starts_at: iso(a.startsAt) as string, ends_at: iso(a.endsAt), state: stateNow(a), created_at: iso(a.createdAt) as string,
});

/** What a party holds of a toll package this cycle, as its account and toll pages show it. */
export const allowanceOut = z
  .object({
    assignment_id: z.number().int(),
    toll_package_id: z.number().int(),
    package_name: z.string(),
    group_id: z.number().int(),
    group_name: z.string(),
    included_seconds: z.number().int().nullable().meta({ description: 'Null: unlimited.' }),
    used_seconds: z.number().int(),
    left_seconds: z.number().int().nullable().meta({ description: 'Null: unlimited.' }),
    overage_rate: z.string().nullable().meta({ description: 'Per minute after the allowance in `currency`; null: the plan’s rate.' }),
    overage_applies: z.boolean().meta({ description: 'Whether rating charges overage_rate after the allowance (false: the plan’s own rate).' }),
    currency: z.string(),
    cycle_start: z.string().meta({ description: 'The billing cycle’s first local day (YYYY-MM-DD, in cycle_time_zone).' }),
    cycle_end: z.string().meta({ description: 'Its last local day, inclusive.' }),
    cycle_time_zone: z.string(),
  })
  .meta({ id: 'Allowance' });

export const allowanceJsonOf = (a: service.Allowance): z.infer<typeof allowanceOut> => ({
  assignment_id: a.assignmentId, toll_package_id: a.packageId, package_name: a.packageName, group_id: a.groupId, group_name: a.groupName,
  included_seconds: a.includedSeconds, used_seconds: a.usedSeconds, left_seconds: a.leftSeconds, overage_rate: a.overageRate, overage_applies: a.overageApplies, currency: a.currency,
  cycle_start: a.cycle.startDate, cycle_end: a.cycle.lastDate, cycle_time_zone: a.cycle.timeZone,
});

const assignBody = z
  .object({
    toll_package_id: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).meta({ description: 'One of the owner’s packages, not retired (GET /toll-packages).' }),
    starts_at: isoTime.optional().meta({ description: 'From when; absent: now.' }),
    ends_at: isoTime.nullable().optional().meta({ description: 'Until when; absent or null: until ended.' }),
  })
  .strict();
const endBody = z.object({ ends_at: isoTime.optional().meta({ description: 'When it ends (never later than an end it has); absent: now.' }) }).strict();

const listOut = z.object({ data: z.array(tollAssignmentOut), allowances: z.array(allowanceOut).meta({ description: 'What the assignments in force give this cycle.' }) }).meta({ id: 'TollAssignmentList' });

type PartyCtx = ApiContext<any, any, any>;

/** The list, assign and end operations of one kind of party. */
function partyOperations(kind: 'subscriber' | 'reseller'): ApiOperation[] {
  const param = kind === 'subscriber' ? 'subscriberId' : 'resellerId';
  const base = `/${kind}s/:${param}/toll-packages`;
  const params = z.object({ [param]: idParam.meta({ description: `The ${kind}’s id.` }) }) as z.ZodType<Record<string, number>>;
  const endParams = z.object({ [param]: idParam.meta({ description: `The ${kind}’s id.` }), tollAssignmentId: idParam.meta({ description: 'The assignment’s id.' }) }) as z.ZodType<Record<string, number>>;
  const partyOf = (ctx: PartyCtx): service.Party => (kind === 'subscriber' ? { kind, subscriberId: ctx.params.subscriberId } : { kind, resellerId: ctx.params.resellerId });
  const Kind = kind === 'subscriber' ? 'Subscriber' : 'Reseller';
  const writers = kind === 'subscriber' ? 'reseller' : 'operator';
  return [
    apiOperation({
      method: 'get', path: base, operationId: `list${Kind}TollAssignments`, tags: ['Plans and packages'], audience: 'all',
      summary: `A ${kind}’s toll package assignments`,
      description: `History included, latest start first, with the allowances of the current billing cycle. ${kind === 'subscriber' ? 'Its reseller’s packages.' : 'The operator’s packages the reseller holds itself.'}`,
      params,
      success: { status: 200, description: 'The assignments and allowances.', schema: listOut },
      handler: async (ctx) => {
        const view = await service.partyView(ctx.db, ctx.actor.scope, partyOf(ctx));
        return { body: { data: view.assignments.map(assignmentJsonOf), allowances: view.allowances.map(allowanceJsonOf) } };
      },
    }),
    apiOperation({
      method: 'post', path: base, operationId: `assign${Kind}TollPackage`, tags: ['Plans and packages'], audience: writers,
      summary: `Give a ${kind} a toll package`,
      description: `One of ${kind === 'subscriber' ? 'its reseller’s' : 'the operator’s'} packages, not retired; never over another assignment of the same package (422). ${writers === 'reseller' ? 'Reseller' : 'Operator'} keys only, as in the portal. Audited.`,
      params,
      body: assignBody,
      reach: (ctx) => service.partyInfo(ctx.db, ctx.actor.scope, partyOf(ctx as PartyCtx)),
      success: { status: 201, description: 'The assignment.', schema: tollAssignmentOut },
      handler: async (ctx) => {
        const b = ctx.body as z.infer<typeof assignBody>;
        const input = { toll_package_id: b.toll_package_id, starts_at: b.starts_at ? utcWallText(b.starts_at) : '', ends_at: b.ends_at ? utcWallText(b.ends_at) : '' };
        const a = await service.assign(ctx.db, ctx.actor, ctx.actor.scope, partyOf(ctx), input, UTC);
        return { body: assignmentJsonOf(a), location: `/api/v1${base.replace(`:${param}`, String(ctx.params[param]))}` };
      },
    }),
    apiOperation({
      method: 'post', path: `${base}/:tollAssignmentId/end`, operationId: `end${Kind}TollAssignment`, tags: ['Plans and packages'], audience: writers,
      summary: `End a ${kind}’s toll package assignment`,
      description: 'At `ends_at` (absent: now): never before its start nor after an end it has; the row stays in the history. One already ended is a 409. Audited.',
      params: endParams,
      body: endBody,
      reach: (ctx) => service.getAssignmentOrThrow(ctx.db, ctx.actor.scope, partyOf(ctx as PartyCtx), ctx.params.tollAssignmentId as number),
      success: { status: 200, description: 'The assignment with its end.', schema: tollAssignmentOut },
      handler: async (ctx) => {
        const b = ctx.body as z.infer<typeof endBody>;
        const a = await service.endAssignment(ctx.db, ctx.actor, ctx.actor.scope, partyOf(ctx), ctx.params.tollAssignmentId as number, { ends_at: b.ends_at ? utcWallText(b.ends_at) : '' }, UTC);
        return { body: assignmentJsonOf(a) };
      },
    }),
  ];
}

export function tollPackageApi(): ApiOperation[] {
  return [
    apiOperation({
      method: 'get', path: '/toll-packages', operationId: 'listTollPackages', tags: ['Plans and packages'], audience: 'all',
      summary: 'The toll packages a key may give',
      description: 'An operator key: the operator’s packages (given to resellers), or with `reseller_id` that reseller’s. A reseller key: its own (given to its subscribers). Retired ones are listed with `retired_at`.',
      query: catalogueQuery,
      success: { status: 200, description: 'The packages.', schema: z.object({ data: z.array(packageOut) }).meta({ id: 'TollPackageList' }) },
      handler: async ({ db, query, actor }) => ({ body: { data: (await service.listPackages(db, await catalogueOwner(db, actor.scope, query.reseller_id))).map(packageJsonOf) } }),
    }),
    ...partyOperations('subscriber'),
    ...partyOperations('reseller'),
  ];
}
