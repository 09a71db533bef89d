import type { Request } from 'express';
import { z } from 'zod';
import type { Db } from '../../db/knex';
import { ConflictError, FieldErrors, NotFoundError } from '../../domain/errors';
import type { Actor } from '../../domain/tenancy/actor';
import { apiOperation, idParam, iso, isoTime, issueFields, pageOf, pageQuery, type ApiOperation } from '../../web/api-operations';
import { problemSchema } from '../../web/openapi';
import { problem, validationProblem, type Problem } from '../../web/problems';
import { getOrThrow as getReseller } from '../resellers/resellers.service';
import { newSubscriberApiJson, subscriberJson, subscriberPatchJson, type NewSubscriberApiInput, type NewSubscriberInput } from './subscribers.schemas';
import * as service from './subscribers.service';

/** A subscriber as the API shows it (issue 14). */
export const subscriberOut = z
  .object({
    id: z.number().int(),
    reseller_id: z.number().int(),
    account_number: z.string(),
    name: z.string(),
    status: z.enum(['active', 'inactive']).meta({ description: 'Its own status, as set by activate and deactivate.' }),
    effective_status: z.enum(['active', 'inactive', 'suspended']).meta({ description: 'What its calls and login see: an active subscriber of a deactivated reseller is suspended.' }),
    contact_name: z.string().nullable(),
    email: z.string().nullable(),
    phone: z.string().nullable(),
    address_line1: z.string().nullable(),
    address_line2: z.string().nullable(),
    city: z.string().nullable(),
    region: z.string().nullable(),
    postal_code: z.string().nullable(),
    country: z.string().meta({ description: 'ISO 3166 alpha-2: national numbers are read for its calling code.' }),
    time_zone: z.string().nullable().meta({ description: 'IANA zone; null follows its reseller’s.' }),
    billing_cycle_day: z.number().int().min(1).max(28).nullable().meta({ description: 'Its retail billing cycle’s day; null follows its reseller’s.' }),
    retail_plan_id: z.number().int().nullable().meta({ description: 'The reseller’s rate plan that prices its calls; null: none yet.' }),
    tax_exempt: z.boolean(),
    numbers: z.array(z.string()).meta({ description: 'Its active phone numbers, E.164.' }),
    sip_identities: z.array(z.string()).meta({ description: 'Its active extensions and SIP user names, as identity@domain.' }),
    status_changed_at: isoTime,
    created_at: isoTime,
    updated_at: isoTime,
  })
  .meta({ id: 'Subscriber' });
type SubscriberOut = z.infer<typeof subscriberOut>;

export function subscriberJsonOf(v: service.SubscriberView): SubscriberOut {
  const s = v.subscriber;
  return {
    id: s.id, reseller_id: s.resellerId, account_number: s.accountNumber, name: s.name, status: s.status, effective_status: v.effectiveStatus,
    contact_name: s.contactName, email: s.email, phone: s.phone, address_line1: s.addressLine1, address_line2: s.addressLine2, city: s.city, region: s.region,
    postal_code: s.postalCode, country: s.country, time_zone: s.timeZone, billing_cycle_day: s.billingCycleDay, retail_plan_id: s.retailPlanId, tax_exempt: s.taxExempt,
    numbers: v.numbers, sip_identities: v.identities,
    status_changed_at: iso(s.statusChangedAt) as string, created_at: iso(s.createdAt) as string, updated_at: iso(s.updatedAt) as string,
  };
}

/** The fields PATCH may change, as their current values (what a PATCH body is merged onto). */
const editable = (s: service.Subscriber) => ({
  account_number: s.accountNumber, name: s.name, contact_name: s.contactName, email: s.email, phone: s.phone, address_line1: s.addressLine1, address_line2: s.addressLine2,
  city: s.city, region: s.region, postal_code: s.postalCode, country: s.country, time_zone: s.timeZone, billing_cycle_day: s.billingCycleDay,
});

export const numberOut = z
  .object({
    id: z.number().int(),
    subscriber_id: z.number().int(),
    number: z.string().meta({ description: 'E.164.' }),
    label: z.string().nullable(),
    assigned_at: isoTime,
    released_at: isoTime.nullable().meta({ description: 'When it was released; null while the subscriber holds it.' }),
  })
  .meta({ id: 'PhoneNumber' });
const numberJsonOf = (n: service.PhoneNumberRow) => ({ id: n.id, subscriber_id: n.subscriberId, number: n.number, label: n.label, assigned_at: iso(n.assignedAt) as string, released_at: iso(n.releasedAt) });

/** Another tenant's subscriber is a 404 before the body is read (web/api-operations.ts). */
const subscriberExists = async ({ db, params, actor }: { db: Db; params: { subscriberId: number }; actor: Actor }) => service.getOrThrow(db, actor.scope, params.subscriberId);

const subscriberParams = z.object({ subscriberId: idParam.meta({ description: 'The subscriber’s id.' }) });
const numberParams = z.object({ subscriberId: idParam.meta({ description: 'The subscriber’s id.' }), numberId: idParam.meta({ description: 'The number’s id (from its numbers list).' }) });

/**
 * The reseller a new subscriber is for: an operator's key names it; a reseller's key creates in its
 * own (naming another is the same answer as naming none that exists, so nothing is told).
 */
async function resellerFor(db: Db, actor: Actor, named: number | null): Promise<number> {
  const scope = actor.scope;
  if (scope.kind === 'reseller') {
    if (named !== null && named !== scope.resellerId) throw new FieldErrors({ reseller_id: 'Unknown reseller' });
    return scope.resellerId;
  }
  if (named === null) throw new FieldErrors({ reseller_id: 'Name the reseller the subscriber is for (reseller_id)' });
  try {
    return (await getReseller(db, scope, named)).id;
  } catch (err) {
    if (err instanceof NotFoundError) throw new FieldErrors({ reseller_id: 'Unknown reseller' });
    throw err;
  }
}

async function create(db: Db, actor: Actor, input: NewSubscriberApiInput): Promise<service.Subscriber> {
  const { reseller_id: named, ...fields } = input;
  return service.createSubscriber(db, actor, await resellerFor(db, actor, named), fields);
}

/** A PATCH body merged onto the subscriber's current fields, held to the create's rules, and saved. */
async function update(db: Db, actor: Actor, id: number, patch: Record<string, unknown>): Promise<service.Subscriber> {
  const now = await service.viewOf(db, actor.scope, id, { forUpdate: true });
  const merged = subscriberJson.safeParse({ ...editable(now.subscriber), ...patch });
  if (!merged.success) throw new FieldErrors(issueFields(merged.error));
  return service.updateSubscriber(db, actor, actor.scope, id, merged.data);
}

// ---- Bulk ----

export const BULK_MAX_ITEMS = 1000;

/**
 * One item of a bulk request, as the document shows it: a create (no id) or an update (id and the
 * members to change). Each item is read on its own (a bad one is that item's failure, not the
 * request's), so the request's schema takes any object and the handler applies these.
 */
const bulkUpdateItem = z.object({ id: z.number().int().positive() }).catchall(z.unknown());
const bulkItemDoc = z.union([
  z.object({}).catchall(z.unknown()).meta({ description: 'A create: the members of createSubscriber’s body (no id).' }),
  bulkUpdateItem.meta({ description: 'An update: the subscriber’s id and the members to change, as updateSubscriber’s body.' }),
]);
const bulkBody = z
  .strictObject({
    items: z.array(bulkItemDoc, { error: 'items must be a list of objects' }).min(1, 'Send at least one item').max(BULK_MAX_ITEMS, `At most ${BULK_MAX_ITEMS} items a request`),
  })
  .meta({ id: 'SubscriberBulkRequest' });

const bulkOutcome = z
  .object({
    index: z.number().int().meta({ description: 'The item’s position in items, from 0.' }),
    status: z.enum(['created', 'updated', 'failed']),
    subscriber: subscriberOut.optional().meta({ description: 'The subscriber as created or updated.' }),
    problem: problemSchema.optional().meta({ description: 'Why the item failed: 422 naming each field (pointers into the request: #/items/<index>/<member>), 404 for an id that names no subscriber of yours.' }),
  })
  .meta({ id: 'SubscriberBulkOutcome' });
const bulkAnswer = z
  .object({
    created: z.number().int(),
    updated: z.number().int(),
    failed: z.number().int(),
    items: z.array(bulkOutcome).meta({ description: 'One outcome per item, in the request’s order.' }),
  })
  .meta({ id: 'SubscriberBulkResult' });

type Outcome = { index: number; status: 'created' | 'updated'; id: number } | { index: number; status: 'failed'; problem: Problem };

/** An item's failure as a problem whose pointers name its members within the request. */
function itemProblem(req: Request, index: number, err: unknown): Problem | undefined {
  const prefix = `items.${index}.`;
  if (err instanceof FieldErrors) {
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(err.fields)) fields[k === '_form' ? `items.${index}` : prefix + k] = v;
    return validationProblem(req, fields);
  }
  if (err instanceof NotFoundError) return problem(req, 404, 'No subscriber of yours has this id.');
  if (err instanceof ConflictError) return problem(req, 409, err.message);
  return undefined;
}

/**
 * Creates or updates each item in the request's order: a failed item changes nothing and is listed
 * with its problem; the others stand. Consecutive creates are made together (service.createMany:
 * the same checks and rows as one by one, set-based); each update in its own savepoint. An error
 * that is no item's fault fails the request.
 */
async function bulk(req: Request, db: Db, actor: Actor, items: unknown[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(items.length);
  const failed = (index: number, err: unknown) => {
    const p = itemProblem(req, index, err);
    if (!p) throw err;
    outcomes[index] = { index, status: 'failed', problem: p };
  };
  let creates: Array<{ index: number; resellerId: number; input: NewSubscriberInput }> = [];
  const flush = async () => {
    // By reseller (their account numbers and ranges never meet), each in the items' order.
    for (const resellerId of new Set(creates.map((c) => c.resellerId))) {
      const mine = creates.filter((c) => c.resellerId === resellerId);
      const made = await service.createMany(db, actor, resellerId, mine.map((c) => c.input));
      made.forEach((m, k) => {
        const index = (mine[k] as (typeof mine)[number]).index;
        if (m instanceof FieldErrors) failed(index, m);
        else outcomes[index] = { index, status: 'created', id: m.id };
      });
    }
    creates = [];
  };
  for (const [index, item] of items.entries()) {
    const isUpdate = typeof item === 'object' && item !== null && 'id' in item;
    try {
      if (isUpdate) {
        await flush();
        const { id, ...patch } = item as Record<string, unknown>;
        const idOk = z.number().int().positive().max(Number.MAX_SAFE_INTEGER).safeParse(id);
        if (!idOk.success) throw new FieldErrors({ id: 'id must be a subscriber id' });
        const body = subscriberPatchJson.safeParse(patch);
        if (!body.success) throw new FieldErrors(issueFields(body.error));
        const sub = await db.transaction((sp) => update(sp as unknown as Db, actor, idOk.data, body.data));
        outcomes[index] = { index, status: 'updated', id: sub.id };
      } else {
        const body = newSubscriberApiJson.safeParse(item);
        if (!body.success) throw new FieldErrors(issueFields(body.error));
        const { reseller_id: named, ...input } = body.data;
        creates.push({ index, resellerId: await resellerFor(db, actor, named), input });
      }
    } catch (err) {
      failed(index, err);
    }
  }
  await flush();
  return outcomes;
}

/** The API's subscriber operations: a reseller's key reaches its own subscribers; an operator's key every reseller's. */
export function subscriberApi(): ApiOperation[] {
  return [
    apiOperation({
      method: 'get', path: '/subscribers', operationId: 'listSubscribers', tags: ['Subscribers'], audience: 'all',
      summary: 'List subscribers',
      description: 'A reseller’s key lists its own; an operator’s key every reseller’s, or one reseller’s with `reseller_id`.',
      query: z.object({
        q: z.string().trim().max(100).optional().meta({ description: 'Text in the name, account number or email, or 3 or more digits of an active number.' }),
        status: z.enum(['active', 'inactive']).optional().meta({ description: 'Its own status.' }),
        reseller_id: z.coerce.number().int().positive().optional().meta({ description: 'Only this reseller’s subscribers.' }),
        ...pageQuery,
      }),
      success: { status: 200, description: 'A page of subscribers, oldest first.', schema: pageOf(subscriberOut, 'SubscriberPage') },
      handler: async ({ db, query, actor }) => {
        const page = await service.listSubscribers(db, actor.scope, { q: query.q, status: query.status, resellerId: query.reseller_id, sort: 'created', dir: 'asc', cursor: query.cursor, limit: query.limit });
        const views = await service.viewsOf(db, page.rows);
        return { body: { data: views.map(subscriberJsonOf), count: page.count, next_cursor: page.nextCursor ?? null } };
      },
    }),
    apiOperation({
      method: 'post', path: '/subscribers', operationId: 'createSubscriber', tags: ['Subscribers'], audience: 'all',
      summary: 'Create a subscriber with its numbers',
      description: [
        'A reseller’s key creates in its own reseller; an operator’s key names `reseller_id`.',
        '`numbers` are phone numbers (international, or national for `country`), each of one of the reseller’s number ranges, normalised to E.164; an extension or SIP user name there is assigned in the reseller’s SIP domain.',
        '`retail_plan_id` (one of the reseller’s plans) prices its calls from the first; `login_email` with `login_password` gives it a portal login. All or nothing.',
      ].join(' '),
      body: newSubscriberApiJson,
      success: { status: 201, description: 'The new subscriber.', schema: subscriberOut, etag: true },
      handler: async ({ db, actor, body }) => {
        const sub = await create(db, actor, body);
        return { body: subscriberJsonOf(await service.viewOf(db, actor.scope, sub.id)), location: `/api/v1/subscribers/${sub.id}` };
      },
    }),
    apiOperation({
      method: 'post', path: '/subscribers/bulk', operationId: 'bulkSubscribers', tags: ['Subscribers'], audience: 'all',
      summary: 'Create or update many subscribers',
      description: [
        `Up to ${BULK_MAX_ITEMS} items: each without \`id\` is a create (the body of createSubscriber), each with \`id\` an update (the members to change, as updateSubscriber).`,
        'Each item is done on its own: one that fails is listed with its problem and changes nothing, and the others stand. With `Idempotency-Key` a retried request gets the first answer again and does nothing twice.',
        'For migrations from another billing system.',
      ].join(' '),
      body: bulkBody,
      success: { status: 200, description: 'Each item’s outcome, in order, and the counts.', schema: bulkAnswer },
      handler: async ({ req, db, actor, body }) => {
        const outcomes = await bulk(req, db, actor, body.items);
        const done = outcomes.filter((o): o is Extract<Outcome, { id: number }> => o.status !== 'failed');
        const views = new Map((await service.viewsOf(db, await service.subscribersByIds(db, actor.scope, done.map((o) => o.id)))).map((v) => [v.subscriber.id, subscriberJsonOf(v)]));
        const items = outcomes.map((o) => (o.status === 'failed' ? { index: o.index, status: o.status, problem: o.problem } : { index: o.index, status: o.status, subscriber: views.get(o.id) }));
        const count = (s: string) => outcomes.filter((o) => o.status === s).length;
        return { body: { created: count('created'), updated: count('updated'), failed: count('failed'), items } };
      },
    }),
    apiOperation({
      method: 'get', path: '/subscribers/:subscriberId', operationId: 'getSubscriber', tags: ['Subscribers'], audience: 'all',
      summary: 'Read a subscriber',
      params: subscriberParams,
      success: { status: 200, description: 'The subscriber.', schema: subscriberOut, etag: true },
      handler: async ({ db, params, actor }) => ({ body: subscriberJsonOf(await service.viewOf(db, actor.scope, params.subscriberId)) }),
    }),
    apiOperation({
      method: 'patch', path: '/subscribers/:subscriberId', operationId: 'updateSubscriber', tags: ['Subscribers'], audience: 'all',
      summary: 'Change a subscriber', description: 'Members absent from the body are unchanged; null clears an optional one. Numbers, status and plan have their own operations.',
      params: subscriberParams,
      reach: subscriberExists,
      body: subscriberPatchJson,
      success: { status: 200, description: 'The subscriber as changed.', schema: subscriberOut, etag: true },
      current: async ({ db, params, actor }) => subscriberJsonOf(await service.viewOf(db, actor.scope, params.subscriberId, { forUpdate: true })),
      handler: async ({ db, params, actor, body }) => {
        await update(db, actor, params.subscriberId, body);
        return { body: subscriberJsonOf(await service.viewOf(db, actor.scope, params.subscriberId)) };
      },
    }),
    ...(['activate', 'deactivate'] as const).map((verb) =>
      apiOperation({
        method: 'post', path: `/subscribers/:subscriberId/${verb}`, operationId: `${verb}Subscriber`, tags: ['Subscribers'], audience: 'all',
        summary: verb === 'activate' ? 'Activate a subscriber' : 'Deactivate a subscriber',
        description: verb === 'activate'
          ? 'Its portal login works again; calls stored as blocked meanwhile can be re-rated.'
          : 'Its portal login stops at once and its new calls are stored as blocked (kept, not charged), until it is activated again.',
        params: subscriberParams,
        errors: [409],
        success: { status: 200, description: 'The subscriber as changed.', schema: subscriberOut, etag: true },
        handler: async ({ db, params, actor }) => {
          await service.setStatus(db, actor, actor.scope, params.subscriberId, verb === 'activate' ? 'active' : 'inactive');
          return { body: subscriberJsonOf(await service.viewOf(db, actor.scope, params.subscriberId)) };
        },
      }),
    ),
    apiOperation({
      method: 'get', path: '/subscribers/:subscriberId/numbers', operationId: 'listSubscriberNumbers', tags: ['Subscribers'], audience: 'all',
      summary: 'A subscriber’s numbers', description: 'Held ones first, then the released ones with when.',
      params: subscriberParams,
      success: { status: 200, description: 'Its numbers.', schema: z.object({ data: z.array(numberOut) }).meta({ id: 'PhoneNumberList' }) },
      handler: async ({ db, params, actor }) => ({ body: { data: (await service.numbersOf(db, actor.scope, params.subscriberId)).map(numberJsonOf) } }),
    }),
    apiOperation({
      method: 'post', path: '/subscribers/:subscriberId/numbers', operationId: 'addSubscriberNumber', tags: ['Subscribers'], audience: 'all',
      summary: 'Assign a number to a subscriber',
      description: 'A phone number (international, or national for the subscriber’s country) of one of the reseller’s number ranges, not held by another subscriber; stored in E.164.',
      params: subscriberParams,
      reach: subscriberExists,
      body: z.strictObject({
        number: z.string({ error: 'Enter a number' }).trim().min(1, 'Enter a number').max(40),
        label: z.string().trim().max(60, 'Label must be at most 60 characters').nullable().optional().transform((v) => v || null),
      }),
      success: { status: 201, description: 'The number as assigned.', schema: numberOut },
      handler: async ({ db, params, actor, body }) => {
        const n = await service.addNumber(db, actor, actor.scope, params.subscriberId, body.number, body.label, { phoneOnly: true });
        if (!('id' in n)) throw new Error('a phone number was assigned without its row');
        return { body: numberJsonOf(n), location: `/api/v1/subscribers/${params.subscriberId}/numbers/${n.id}` };
      },
    }),
    apiOperation({
      method: 'delete', path: '/subscribers/:subscriberId/numbers/:numberId', operationId: 'releaseSubscriberNumber', tags: ['Subscribers'], audience: 'all',
      summary: 'Release a subscriber’s number', description: 'The number stays in its history (released_at); it can be assigned again, to this subscriber or another.',
      params: numberParams,
      errors: [409],
      success: { status: 200, description: 'The number as released.', schema: numberOut },
      handler: async ({ db, params, actor }) => ({ body: numberJsonOf(await service.releaseNumber(db, actor, actor.scope, params.subscriberId, params.numberId)) }),
    }),
  ];
}
