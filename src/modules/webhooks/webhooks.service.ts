import type { Db, Queryable } from '../../db/knex';
import { FieldErrors, NotFoundError } from '../../domain/errors';
import type { Actor } from '../../domain/tenancy/actor';
import { eventsFor, messageIdOf, newWebhookSecret, webhookBody, webhookHeaders } from '../../domain/webhooks/standard-webhooks';
import { checkPushUrl, postOnce, retryDelayMs, type OutboundPolicy } from '../../web/outbound';
import { recordAudit } from '../audit/audit.repository';
import type { SecretBox } from '../auth/secret-box';
import { eventsAfter, type OutboxEvent } from '../changes/changes.service';
import * as repo from './webhooks.repository';

export type { EndpointRow, DeliveryRow, AttemptRow, Owner } from './webhooks.repository';

/**
 * Webhooks (issue 14): endpoints of the operator and of resellers, and the delivery of the outbox's
 * events to them as Standard Webhooks messages (domain/webhooks/standard-webhooks.ts).
 *
 * An event is written by the transaction that makes the change (audit.repository recordAudit, the
 * outbox): a rolled-back change has none, a committed one always has. The fan-out (`fanOut`) reads
 * the outbox in commit order from its cursor (modules/changes) and writes one delivery per matching
 * (endpoint, event), moving the cursor in the same transaction: no event is fanned out twice or
 * skipped. The sender (`sendDue`) posts due deliveries; any answer but 2xx is tried again with
 * back-off (1 minute doubling, at most an hour) until 26 hours after the delivery was made, then
 * the delivery is failed. Deliveries of one object (entity type and id) to one endpoint go in
 * order: one is not sent while an earlier one is still pending, retries included.
 *
 * Who gets what: an operator endpoint every event (every reseller's and the operator's own), a
 * reseller's endpoint its own reseller's events only; each the types it chose (or all). An
 * endpoint gets the events made after it was created.
 */

/** Retries stop this long after a delivery was made (or sent again by hand): more than a day. */
export const GIVE_UP_AFTER_MS = 26 * 3_600_000;
/** How long a claimed delivery is the claimer's before another sender may take it (a killed sender). */
const CLAIM_MS = 5 * 60_000;
/** Events read per page of the fan-out. */
const FANOUT_PAGE = 1_000;

const ownerKind = (owner: repo.Owner) => (owner === null ? 'operator' : 'reseller');

export interface EndpointInput {
  url: string;
  description: string;
  /** 'all', or the chosen types. */
  events: 'all' | string[];
  /** "All" ticked beside some types: refused, the person says which they meant. */
  allToo?: boolean;
}

/** Checks an endpoint's form: the address, and the types against the owner's catalogue. */
function checkInput(owner: repo.Owner, input: EndpointInput, policy: OutboundPolicy): { url: string; description: string; eventTypes: string[] | null } {
  const errors: Record<string, string> = {};
  let url = '';
  try {
    url = checkPushUrl(input.url, policy);
  } catch (err) {
    if (!(err instanceof FieldErrors)) throw err;
    Object.assign(errors, err.fields);
  }
  if (url.length > 2000) errors.url = 'At most 2,000 characters';
  const description = input.description.trim();
  if (description.length > 200) errors.description = 'At most 200 characters';
  let eventTypes: string[] | null = null;
  if (input.events !== 'all') {
    const known = new Set(eventsFor(ownerKind(owner)).map((e) => e.type));
    const chosen = [...new Set(input.events)];
    const unknown = chosen.filter((t) => !known.has(t));
    if (input.allToo) errors.events = 'Tick “All events” or some events, not both';
    else if (unknown.length) errors.events = `Not an event you can receive: ${unknown.join(', ')}`;
    else if (!chosen.length) errors.events = 'Choose at least one event, or all';
    eventTypes = chosen.sort();
  }
  if (Object.keys(errors).length) throw new FieldErrors(errors);
  return { url, description, eventTypes };
}

/** What an endpoint's audit rows say: never its secret. */
const auditView = (e: { url: string; description: string; eventTypes: string[] | null; active?: boolean }) => ({
  url: e.url, description: e.description, events: e.eventTypes ?? 'all', ...(e.active === undefined ? {} : { active: e.active }),
});

export function listEndpoints(db: Queryable, owner: repo.Owner) {
  return repo.listEndpoints(db, owner);
}

export async function endpointOrThrow(db: Queryable, owner: repo.Owner, id: number): Promise<repo.EndpointRow> {
  const e = await repo.getEndpoint(db, owner, id);
  if (!e) throw new NotFoundError();
  return e;
}

export const deliveryCounts = repo.deliveryCounts;

/** Registers an endpoint; returns its id and its secret, which is shown this once and kept sealed. */
export async function createEndpoint(db: Db, box: SecretBox, actor: Actor, owner: repo.Owner, input: EndpointInput, policy: OutboundPolicy): Promise<{ id: number; secret: string }> {
  const v = checkInput(owner, input, policy);
  const secret = newWebhookSecret();
  return db.transaction(async (tx) => {
    const id = await repo.insertEndpoint(tx, { resellerId: owner, ...v, secret: box.seal(secret) });
    await recordAudit(tx, actor, { resellerId: owner, entityType: 'webhook_endpoint', entityId: id, action: 'create', after: auditView({ ...v, active: true }) });
    return { id, secret };
  });
}

export async function updateEndpoint(db: Db, actor: Actor, owner: repo.Owner, id: number, input: EndpointInput & { active: boolean }, policy: OutboundPolicy): Promise<void> {
  const v = checkInput(owner, input, policy);
  await db.transaction(async (tx) => {
    const before = await repo.getEndpoint(tx, owner, id, { forUpdate: true });
    if (!before) throw new NotFoundError();
    await repo.updateEndpoint(tx, id, { ...v, active: input.active });
    await recordAudit(tx, actor, { resellerId: owner, entityType: 'webhook_endpoint', entityId: id, action: 'update', before: auditView(before), after: auditView({ ...v, active: input.active }) });
  });
}

/** How long the secret before a rotation keeps signing beside the new one: the receivers' time to switch over. */
export const SECRET_OVERLAP_MS = 24 * 3_600_000;

/** Whether the endpoint's previous secret still signs at `nowMs`. */
export const inOverlap = (e: Pick<repo.EndpointRow, 'previousSecret' | 'previousSecretUntil'>, nowMs = Date.now()) =>
  e.previousSecret !== null && e.previousSecretUntil !== null && e.previousSecretUntil.getTime() > nowMs;

/**
 * A new secret (shown once). The one it replaces keeps signing beside it for SECRET_OVERLAP_MS
 * (every message carries both signatures), so receivers can take the new one without refusing a
 * message; a rotation during an overlap drops the older secret (only the one just replaced signs on).
 */
export async function rotateSecret(db: Db, box: SecretBox, actor: Actor, owner: repo.Owner, id: number, nowMs = Date.now()): Promise<string> {
  const secret = newWebhookSecret();
  const until = new Date(nowMs + SECRET_OVERLAP_MS);
  await db.transaction(async (tx) => {
    const before = await repo.getEndpoint(tx, owner, id, { forUpdate: true });
    if (!before) throw new NotFoundError();
    await repo.updateEndpoint(tx, id, { secret: box.seal(secret), previous: { secret: before.secret, until } });
    await recordAudit(tx, actor, { resellerId: owner, entityType: 'webhook_endpoint', entityId: id, action: 'rotate_secret', after: { secret_rotated: true, previous_secret_signs_until: until.toISOString() } });
  });
  return secret;
}

/** Ends a rotation's overlap early: from now on only the current secret signs. False when there was none. */
export async function endOverlap(db: Db, actor: Actor, owner: repo.Owner, id: number, nowMs = Date.now()): Promise<boolean> {
  return db.transaction(async (tx) => {
    const before = await repo.getEndpoint(tx, owner, id, { forUpdate: true });
    if (!before) throw new NotFoundError();
    if (!inOverlap(before, nowMs)) return false;
    await repo.updateEndpoint(tx, id, { previous: null });
    await recordAudit(tx, actor, {
      resellerId: owner, entityType: 'webhook_endpoint', entityId: id, action: 'end_secret_overlap',
      before: { previous_secret_signs_until: before.previousSecretUntil?.toISOString() }, after: { previous_secret_signs_until: null },
    });
    return true;
  });
}

/** "Send again" by hand: the delivery is tried now (same message id), for another day of tries. */
export async function sendAgain(db: Db, actor: Actor, owner: repo.Owner, endpointId: number, deliveryId: number, nowMs = Date.now()): Promise<void> {
  await db.transaction(async (tx) => {
    const endpoint = await repo.getEndpoint(tx, owner, endpointId, { forUpdate: true });
    if (!endpoint) throw new NotFoundError();
    const d = await repo.getDelivery(tx, endpoint.id, deliveryId);
    if (!d) throw new NotFoundError();
    await repo.requeue(tx, d.id, new Date(nowMs), new Date(nowMs + GIVE_UP_AFTER_MS));
    await recordAudit(tx, actor, { resellerId: owner, entityType: 'webhook_endpoint', entityId: endpoint.id, action: 'send_again', after: { delivery_id: d.id, event_id: d.eventId, event_type: d.eventType } });
  });
}

/** An endpoint's latest deliveries with their attempts. */
export function deliveriesOf(db: Queryable, endpointId: number, limit = 100) {
  return repo.deliveriesOf(db, endpointId, limit);
}

// ---- Fan-out ----

/** Whether the endpoint gets the event: its owner's (the operator: all), made after it, of a chosen type. */
export function matches(endpoint: repo.EndpointRow, event: OutboxEvent): boolean {
  if (endpoint.resellerId !== null && endpoint.resellerId !== event.resellerId) return false;
  if (event.createdAt.getTime() < endpoint.createdAt.getTime()) return false;
  return endpoint.eventTypes === null || endpoint.eventTypes.includes(event.type);
}

/** The message body of an event: `{type, timestamp, data}`, data being the change and its reseller. */
export function bodyOf(event: OutboxEvent): string {
  return webhookBody(event.type, event.createdAt, { reseller_id: event.resellerId, ...event.payload });
}

/**
 * Reads the outbox from the fan-out's cursor and writes a delivery per matching (active endpoint,
 * event), the cursor moved in the same transaction. Call it outside a transaction of one's own
 * (the outbox reader must not be held back by its own xid). Returns the events read and the
 * deliveries made.
 */
export async function fanOut(db: Db, opts: { nowMs?: number; signal?: AbortSignal } = {}): Promise<{ events: number; deliveries: number }> {
  let events = 0;
  let deliveries = 0;
  for (;;) {
    opts.signal?.throwIfAborted();
    const from = await repo.fanoutCursor(db);
    const page = await eventsAfter(db, { kind: 'wholesale' }, from, FANOUT_PAGE);
    if (!page.events.length) break;
    const endpoints = await repo.activeEndpoints(db);
    const nowMs = opts.nowMs ?? Date.now();
    const rows: repo.NewDelivery[] = [];
    for (const event of page.events) {
      let body: string | undefined;
      for (const endpoint of endpoints) {
        if (!matches(endpoint, event)) continue;
        body ??= bodyOf(event);
        rows.push({
          endpointId: endpoint.id, resellerId: endpoint.resellerId, eventId: messageIdOf(event.cursor), eventType: event.type, entityType: event.entityType,
          entityId: event.entityId, body, eventAt: event.createdAt, giveUpAt: new Date(nowMs + GIVE_UP_AFTER_MS),
        });
      }
    }
    const moved = await db.transaction(async (tx) => {
      if (!(await repo.moveFanoutCursor(tx, from, page.cursor))) return false;
      // In commit order, so that delivery ids follow it (the order per object is by id).
      for (let i = 0; i < rows.length; i += 500) deliveries += await repo.insertDeliveries(tx, rows.slice(i, i + 500));
      return true;
    });
    // Another fan-out moved the cursor first: it made these deliveries; read on from where it is.
    if (moved) events += page.events.length;
    if (page.events.length < FANOUT_PAGE) break;
  }
  return { events, deliveries };
}

// ---- Sending ----

/**
 * Posts every due delivery once (in order per object and endpoint); returns how many were tried and
 * delivered. An endpoint that fails is not tried again in the same run (its other deliveries wait
 * for the next), so one endpoint that is down does not hold up the others for long.
 */
export async function sendDue(db: Db, box: SecretBox, opts: { nowMs?: number; timeoutMs?: number; signal?: AbortSignal; allowPrivate?: boolean } = {}): Promise<{ tried: number; delivered: number }> {
  const now = () => opts.nowMs ?? Date.now();
  const down: number[] = [];
  const secrets = new Map<number, { sealed: string; open: string; previousSealed: string | null; previous: string | null }>();
  let tried = 0;
  let delivered = 0;
  for (;;) {
    opts.signal?.throwIfAborted();
    const d = await repo.claimDue(db, new Date(now()), down, CLAIM_MS);
    if (!d) break;
    tried++;
    const endpoint = await repo.endpointById(db, d.endpointId);
    if (!endpoint) continue;
    let secret = secrets.get(endpoint.id);
    if (!secret || secret.sealed !== endpoint.secret || secret.previousSealed !== endpoint.previousSecret) {
      secret = { sealed: endpoint.secret, open: box.open(endpoint.secret), previousSealed: endpoint.previousSecret, previous: endpoint.previousSecret === null ? null : box.open(endpoint.previousSecret) };
      secrets.set(endpoint.id, secret);
    }
    // During a rotation's overlap both secrets sign: a receiver with either accepts.
    const signers = secret.previous !== null && inOverlap(endpoint, now()) ? [secret.open, secret.previous] : [secret.open];
    // The time of this attempt (the convention signs it; a receiver refuses an old one).
    const timestamp = Math.floor(Date.now() / 1000);
    const out = await postOnce(endpoint.url, {
      body: d.body,
      headers: { 'content-type': 'application/json', 'user-agent': 'voip-billing-webhooks/1', ...webhookHeaders(signers, d.eventId, timestamp, d.body) },
      timeoutMs: opts.timeoutMs ?? 15_000, policy: { allowPrivate: opts.allowPrivate ?? false },
    });
    const attempts = d.attempts + 1;
    const nextMs = now() + retryDelayMs(attempts);
    const status = out.ok ? 'delivered' : nextMs > d.giveUpAt.getTime() ? 'failed' : 'pending';
    await db.transaction(async (tx) => {
      await repo.recordAttempt(tx, d, { statusCode: out.statusCode, answer: out.answer, durationMs: out.durationMs, error: out.error, manual: d.resend }, { status, attempts, nextAt: new Date(nextMs) });
    });
    if (out.ok) delivered++;
    else down.push(endpoint.id);
  }
  return { tried, delivered };
}
