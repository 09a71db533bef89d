import { z } from 'zod';
import { apiOperation, idParam, iso, isoTime, UTC, utcWallText, type ApiOperation } from '../../web/api-operations';
import { catalogueOwner, catalogueQuery } from '../rate-plans/rate-plans.api';
import { FieldErrors, NotFoundError } from '../../domain/errors';
import { getOrThrow as getSubscriber } from '../subscribers/subscribers.service';
import * as service from './feature-packages.service';

/**
 * Feature packages in the API (issue 14): the packages a key may give, those the operator offers
 * a reseller, and a subscriber's assignments, given and ended through the portal's own service
 * (a reseller's keys only, as only its own people do it in the portal; the same checks and audit).
 */

const featureRef = z.object({ id: z.number().int(), code: z.string(), name: z.string(), retired: z.boolean() }).meta({ id: 'FeatureRef' });

const packageOut = z
  .object({
    id: z.number().int(),
    owner: z.enum(['operator', 'reseller']),
    reseller_id: z.number().int().nullable(),
    base_package_id: z.number().int().nullable().meta({ description: 'A reseller’s package: the operator’s package it is built on.' }),
    name: z.string(),
    description: z.string(),
    currency: z.string(),
    setup_fee: z.string().meta({ description: 'Decimal text in `currency`.' }),
    monthly_fee: z.string().meta({ description: 'Decimal text in `currency`.' }),
    features: z.array(featureRef),
    subscribers: z.number().int().meta({ description: 'Subscribers holding it now (the operator’s: through the packages built on it).' }),
    assignable: z.boolean().nullable().meta({ description: 'A reseller’s package: whether it can be given to more subscribers (null for the operator’s).' }),
    not_assignable_why: z.string().nullable(),
    retired_at: isoTime.nullable(),
    created_at: isoTime,
    updated_at: isoTime,
  })
  .meta({ id: 'FeaturePackage' });

type PackageLike = service.FeaturePackage & { features: service.FeatureRef[]; subscribers: number; assignable?: boolean; notAssignableWhy?: string | null };
const packageJsonOf = (p: PackageLike): z.infer<typeof packageOut> => ({
  id: p.id, owner: p.resellerId === null ? 'operator' : 'reseller', reseller_id: p.resellerId, base_package_id: p.basePackageId, name: p.name, description: p.description,
  currency: p.currency, setup_fee: p.setupFee, monthly_fee: p.monthlyFee, features: p.features.map((f) => ({ id: f.id, code: f.code, name: f.name, retired: f.retired })),
  subscribers: p.subscribers, assignable: p.assignable ?? null, not_assignable_why: p.notAssignableWhy ?? null,
  retired_at: iso(p.retiredAt), created_at: iso(p.createdAt) as string, updated_at: iso(p.updatedAt) as string,
});

export const assignmentOut = z
  .object({
    id: z.number().int(),
    subscriber_id: z.number().int(),
    feature_package_id: z.number().int(),
    package_name: z.string(),
    currency: z.string(),
    setup_fee: z.string(),
    monthly_fee: z.string(),
    starts_at: isoTime,
    ends_at: isoTime.nullable().meta({ description: 'Null: until ended.' }),
    state: z.enum(['current', 'scheduled', 'ended']).meta({ description: 'Now.' }),
    created_at: isoTime,
  })
  .meta({ id: 'FeatureAssignment' });

const assignmentJsonOf = (a: service.AssignmentView): z.infer<typeof assignmentOut> => ({
  id: a.id, subscriber_id: a.subscriberId, feature_package_id: a.featurePackageId, package_name: a.packageName, currency: a.currency, setup_fee: a.setupFee, monthly_fee: a.monthlyFee,
  starts_at: iso(a.startsAt) as string, ends_at: iso(a.endsAt), state: a.state, created_at: iso(a.createdAt) as string,
});

const subscriberParams = z.object({ subscriberId: idParam.meta({ description: 'The subscriber’s id.' }) });
const assignmentParams = subscriberParams.extend({ featureAssignmentId: idParam.meta({ description: 'The assignment’s id.' }) });
const resellerParams = z.object({ resellerId: idParam.meta({ description: 'The reseller’s id.' }) });

const assignBody = z
  .object({
    feature_package_id: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).meta({ description: 'One of the reseller’s packages (GET /feature-packages).' }),
    starts_at: isoTime.optional().meta({ description: 'From when (a future start is fine); absent: now.' }),
    ends_at: isoTime.nullable().optional().meta({ description: 'Until when; absent or null: until ended.' }),
  })
  .strict();
const endBody = z.object({ ends_at: isoTime.optional().meta({ description: 'When it ends (a scheduled end may be moved); absent: now.' }) }).strict();

export function featurePackageApi(): ApiOperation[] {
  return [
    apiOperation({
      method: 'get', path: '/feature-packages', operationId: 'listFeaturePackages', tags: ['Plans and packages'], audience: 'all',
      summary: 'The feature packages a key may give',
      description: 'A reseller key: its own packages, each saying whether it can be given now. An operator key: the operator’s packages, or with `reseller_id` that reseller’s.',
      query: catalogueQuery,
      success: { status: 200, description: 'The packages.', schema: z.object({ data: z.array(packageOut) }).meta({ id: 'FeaturePackageList' }) },
      handler: async ({ db, query, actor }) => {
        const owner = await catalogueOwner(db, actor.scope, query.reseller_id);
        const rows: PackageLike[] = owner.kind === 'operator' ? await service.listOperatorPackages(db, actor.scope) : await service.listResellerPackages(db, actor.scope, owner.resellerId);
        return { body: { data: rows.map(packageJsonOf) } };
      },
    }),
    apiOperation({
      method: 'get', path: '/resellers/:resellerId/feature-packages', operationId: 'listOfferedFeaturePackages', tags: ['Plans and packages'], audience: 'all',
      summary: 'The operator’s feature packages offered to a reseller', description: 'What the reseller may build its own packages on, at the operator’s wholesale prices.',
      params: resellerParams,
      success: { status: 200, description: 'The packages offered.', schema: z.object({ data: z.array(packageOut) }).meta({ id: 'OfferedFeaturePackageList' }) },
      handler: async ({ db, params, actor }) => ({ body: { data: (await service.offeredTo(db, actor.scope, params.resellerId)).map(packageJsonOf) } }),
    }),
    apiOperation({
      method: 'post', path: '/resellers/:resellerId/feature-packages', operationId: 'offerFeaturePackage', tags: ['Plans and packages'], audience: 'operator',
      summary: 'Offer one of the operator’s feature packages to a reseller',
      description: 'The reseller may then build its own packages on it. Refused (422) for a retired package and one offered already. Audited.',
      params: resellerParams,
      body: z.object({ feature_package_id: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).meta({ description: 'One of the operator’s packages (GET /feature-packages).' }) }).strict(),
      reach: ({ db, params, actor }) => service.offeredTo(db, actor.scope, params.resellerId),
      success: { status: 201, description: 'The package as offered to the reseller.', schema: packageOut },
      handler: async ({ db, params, actor, body }) => {
        const choose = () => new FieldErrors({ feature_package_id: 'Choose one of the operator’s packages' });
        await service.operatorPackage(db, actor.scope, body.feature_package_id).catch((e) => {
          throw e instanceof NotFoundError ? choose() : e;
        });
        // The service names the form's field (reseller_id); here the package is the body's choice.
        await service.offerPackage(db, actor, body.feature_package_id, params.resellerId).catch((e) => {
          throw e instanceof FieldErrors ? new FieldErrors({ feature_package_id: Object.values(e.fields).join(' ') }) : e;
        });
        const offered = (await service.offeredTo(db, actor.scope, params.resellerId)).find((p) => p.id === body.feature_package_id);
        return { body: packageJsonOf(offered as PackageLike), location: `/api/v1/resellers/${params.resellerId}/feature-packages` };
      },
    }),
    apiOperation({
      method: 'delete', path: '/resellers/:resellerId/feature-packages/:featurePackageId', operationId: 'withdrawFeaturePackage', tags: ['Plans and packages'], audience: 'operator',
      summary: 'Withdraw a feature package’s offer from a reseller',
      description: 'The reseller builds and gives nothing new on it; its assignments already made go on until it ends them. Audited.',
      params: resellerParams.extend({ featurePackageId: idParam.meta({ description: 'The operator’s package offered.' }) }),
      success: { status: 204, description: 'Withdrawn.' },
      handler: async ({ db, params, actor }) => {
        await service.withdrawOffer(db, actor, params.featurePackageId, params.resellerId);
        return {};
      },
    }),
    apiOperation({
      method: 'get', path: '/subscribers/:subscriberId/feature-packages', operationId: 'listFeatureAssignments', tags: ['Plans and packages'], audience: 'all',
      summary: 'A subscriber’s feature package assignments', description: 'History included (ended assignments stay), latest start first.',
      params: subscriberParams,
      success: { status: 200, description: 'The assignments.', schema: z.object({ data: z.array(assignmentOut) }).meta({ id: 'FeatureAssignmentList' }) },
      handler: async ({ db, params, actor }) => ({ body: { data: (await service.featureAssignmentsOf(db, actor.scope, params.subscriberId)).map(assignmentJsonOf) } }),
    }),
    apiOperation({
      method: 'post', path: '/subscribers/:subscriberId/feature-packages', operationId: 'assignFeaturePackage', tags: ['Plans and packages'], audience: 'reseller',
      summary: 'Give a subscriber one of the reseller’s feature packages',
      description: 'Refused (422) for a retired package, one whose base the operator withdrew or retired, and over another assignment of the same package to the subscriber. Reseller keys only. Audited.',
      params: subscriberParams,
      body: assignBody,
      reach: ({ db, params, actor }) => getSubscriber(db, actor.scope, params.subscriberId),
      success: { status: 201, description: 'The assignment.', schema: assignmentOut },
      handler: async ({ db, params, actor, body }) => {
        const input = { feature_package_id: body.feature_package_id, starts_at: utcWallText(body.starts_at ?? new Date()), ends_at: body.ends_at ? utcWallText(body.ends_at) : null };
        const made = await service.assignPackage(db, actor, params.subscriberId, input, UTC);
        return { body: assignmentJsonOf(await service.getAssignment(db, actor.scope, params.subscriberId, made.id)), location: `/api/v1/subscribers/${params.subscriberId}/feature-packages` };
      },
    }),
    apiOperation({
      method: 'post', path: '/subscribers/:subscriberId/feature-packages/:featureAssignmentId/end', operationId: 'endFeatureAssignment', tags: ['Plans and packages'], audience: 'reseller',
      summary: 'End a subscriber’s feature package assignment',
      description: 'At `ends_at` (absent: now), never before its start; the row stays in the history. One already ended is a 409. Reseller keys only. Audited.',
      params: assignmentParams,
      body: endBody,
      reach: ({ db, params, actor }) => service.getAssignment(db, actor.scope, params.subscriberId, params.featureAssignmentId),
      success: { status: 200, description: 'The assignment with its end.', schema: assignmentOut },
      handler: async ({ db, params, actor, body }) => {
        await service.endAssignment(db, actor, params.subscriberId, params.featureAssignmentId, utcWallText(body.ends_at ?? new Date()), UTC);
        return { body: assignmentJsonOf(await service.getAssignment(db, actor.scope, params.subscriberId, params.featureAssignmentId)) };
      },
    }),
  ];
}
