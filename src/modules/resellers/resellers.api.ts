import { z } from 'zod';
import { FieldErrors } from '../../domain/errors';
import { apiOperation, idParam, iso, isoTime, issueFields, pageOf, pageQuery, type ApiOperation } from '../../web/api-operations';
import { newResellerJson, resellerJson, resellerPatchJson } from './resellers.schemas';
import * as service from './resellers.service';

/** A reseller as the API shows it (issue 14). */
export const resellerOut = z
  .object({
    id: z.number().int(),
    code: z.string(),
    name: z.string(),
    status: z.enum(['active', 'inactive']),
    currency: z.string().meta({ description: 'ISO 4217: the currency of its wholesale charges.' }),
    billing_service: z.boolean(),
    billing_cycle_day: z.number().int().min(1).max(28),
    contact_name: z.string().nullable(),
    contact_email: z.string().nullable(),
    contact_phone: z.string().nullable(),
    notes: z.string().nullable(),
    sip_domain: z.string().nullable(),
    time_zone: z.string().nullable().meta({ description: 'IANA zone; null follows the operator’s.' }),
    wholesale_plan_id: z.number().int().nullable(),
    tax_exempt: z.boolean(),
    status_changed_at: isoTime,
    created_at: isoTime,
    updated_at: isoTime,
  })
  .meta({ id: 'Reseller' });

export function resellerJsonOf(r: service.Reseller): z.infer<typeof resellerOut> {
  return {
    id: r.id, code: r.code, name: r.name, status: r.status, currency: r.currency, billing_service: r.billingService, billing_cycle_day: r.billingCycleDay,
    contact_name: r.contactName, contact_email: r.contactEmail, contact_phone: r.contactPhone, notes: r.notes, sip_domain: r.sipDomain, time_zone: r.timeZone,
    wholesale_plan_id: r.wholesalePlanId, tax_exempt: r.taxExempt, status_changed_at: iso(r.statusChangedAt) as string, created_at: iso(r.createdAt) as string, updated_at: iso(r.updatedAt) as string,
  };
}

/** The fields PATCH may change, as their current values (what a PATCH body is merged onto). */
const editable = (r: service.Reseller) => ({
  name: r.name, code: r.code, currency: r.currency, billing_service: r.billingService, billing_cycle_day: r.billingCycleDay, contact_name: r.contactName,
  contact_email: r.contactEmail, contact_phone: r.contactPhone, notes: r.notes, sip_domain: r.sipDomain, time_zone: r.timeZone,
});

const resellerParams = z.object({ resellerId: idParam.meta({ description: 'The reseller’s id.' }) });
const statusChange = z
  .object({
    reseller: resellerOut,
    subscribers_affected: z.number().int().meta({ description: 'Active subscribers the change suspends or restores.' }),
    logins_affected: z.number().int(),
  })
  .meta({ id: 'ResellerStatusChange' });

/** The API's reseller operations: the operator manages resellers; a reseller's key reads its own. */
export function resellerApi(): ApiOperation[] {
  return [
    apiOperation({
      method: 'get', path: '/resellers', operationId: 'listResellers', tags: ['Resellers'], audience: 'operator',
      summary: 'List resellers',
      query: z.object({ q: z.string().trim().max(100).optional().meta({ description: 'Text in the name or code.' }), status: z.enum(['active', 'inactive']).optional(), ...pageQuery }),
      success: { status: 200, description: 'A page of resellers, oldest first.', schema: pageOf(resellerOut, 'ResellerPage') },
      handler: async ({ db, query }) => {
        const page = await service.listResellers(db, { kind: 'wholesale' }, { q: query.q, status: query.status, sort: 'created', dir: 'asc', cursor: query.cursor, limit: query.limit });
        return { body: { data: page.rows.map(resellerJsonOf), count: page.count, next_cursor: page.nextCursor ?? null } };
      },
    }),
    apiOperation({
      method: 'post', path: '/resellers', operationId: 'createReseller', tags: ['Resellers'], audience: 'operator',
      summary: 'Create a reseller with its first admin',
      description: 'The admin can log in to the reseller portal at once. `wholesale_plan_id` (one of the operator’s plans) prices its calls; null assigns one later.',
      body: newResellerJson,
      success: { status: 201, description: 'The new reseller.', schema: resellerOut, etag: true },
      handler: async ({ db, actor, body }) => {
        const r = await service.createReseller(db, actor, body);
        return { body: resellerJsonOf(r), location: `/api/v1/resellers/${r.id}` };
      },
    }),
    apiOperation({
      method: 'get', path: '/resellers/:resellerId', operationId: 'getReseller', tags: ['Resellers'], audience: 'all',
      summary: 'Read a reseller', description: 'A reseller’s key reads its own reseller only.',
      params: resellerParams,
      success: { status: 200, description: 'The reseller.', schema: resellerOut, etag: true },
      handler: async ({ db, params, actor }) => ({ body: resellerJsonOf(await service.getOrThrow(db, actor.scope, params.resellerId)) }),
    }),
    apiOperation({
      method: 'patch', path: '/resellers/:resellerId', operationId: 'updateReseller', tags: ['Resellers'], audience: 'operator',
      summary: 'Change a reseller', description: 'Members absent from the body are unchanged; null clears an optional one.',
      params: resellerParams,
      body: resellerPatchJson,
      success: { status: 200, description: 'The reseller as changed.', schema: resellerOut, etag: true },
      current: async ({ db, params, actor }) => resellerJsonOf(await service.getForUpdateOrThrow(db, actor.scope, params.resellerId)),
      handler: async ({ db, params, actor, body }) => {
        const now = await service.getForUpdateOrThrow(db, actor.scope, params.resellerId);
        const merged = resellerJson.safeParse({ ...editable(now), ...body });
        if (!merged.success) throw new FieldErrors(issueFields(merged.error));
        return { body: resellerJsonOf(await service.updateReseller(db, actor, params.resellerId, merged.data)) };
      },
    }),
    ...(['activate', 'deactivate'] as const).map((verb) =>
      apiOperation({
        method: 'post', path: `/resellers/:resellerId/${verb}`, operationId: `${verb}Reseller`, tags: ['Resellers'], audience: 'operator',
        summary: verb === 'activate' ? 'Activate a reseller' : 'Deactivate a reseller',
        description: verb === 'activate'
          ? 'Its subscribers and logins that were active before are active again.'
          : 'Its subscribers are suspended (calls refused, not rated) and its logins and API keys refused, until it is activated again; their own status is kept.',
        params: resellerParams,
        errors: [409],
        success: { status: 200, description: 'The reseller and how many subscribers and logins the change reached.', schema: statusChange },
        handler: async ({ db, params, actor }) => {
          await service.getOrThrow(db, actor.scope, params.resellerId);
          const { reseller, impact } = await service.setStatus(db, actor, params.resellerId, verb === 'activate' ? 'active' : 'inactive');
          return { body: { reseller: resellerJsonOf(reseller), subscribers_affected: impact.subscribersAffected, logins_affected: impact.usersAffected } };
        },
      }),
    ),
  ];
}
