import type { Queryable } from '../../db/knex';

/**
 * Webhook endpoints, deliveries and attempts. An endpoint's owner is a reseller's id, or null for
 * the operator's own; every read here is by owner, so one tenant never reaches another's rows.
 */

export type Owner = number | null;

export interface EndpointRow {
  id: number;
  resellerId: number | null;
  url: string;
  description: string;
  /** null: every event the owner may receive. */
  eventTypes: string[] | null;
  /** Sealed (auth/secret-box). */
  secret: string;
  active: boolean;
  createdAt: Date;
  updatedAt: Date;
  secretRotatedAt: Date;
  /** The secret before the latest rotation (sealed), signing beside the current one until previousSecretUntil; null: no overlap. */
  previousSecret: string | null;
  previousSecretUntil: Date | null;
}

const toEndpoint = (r: Record<string, any>): EndpointRow => ({
  id: Number(r.id), resellerId: r.reseller_id === null ? null : Number(r.reseller_id), url: r.url, description: r.description,
  eventTypes: r.event_types ?? null, secret: r.secret, active: r.active, createdAt: r.created_at, updatedAt: r.updated_at, secretRotatedAt: r.secret_rotated_at,
  previousSecret: r.previous_secret ?? null, previousSecretUntil: r.previous_secret_until ?? null,
});

/** The owner's rows only: `reseller_id IS NOT DISTINCT FROM owner`. */
const ofOwner = (db: Queryable, table: string, owner: Owner) => (owner === null ? db(table).whereNull('reseller_id') : db(table).where('reseller_id', owner));

export async function listEndpoints(db: Queryable, owner: Owner): Promise<EndpointRow[]> {
  return ((await ofOwner(db, 'webhook_endpoints', owner).orderBy('id')) as Array<Record<string, any>>).map(toEndpoint);
}

export async function getEndpoint(db: Queryable, owner: Owner, id: number, opts: { forUpdate?: boolean } = {}): Promise<EndpointRow | undefined> {
  const q = ofOwner(db, 'webhook_endpoints', owner).where({ id }).first();
  if (opts.forUpdate) q.forUpdate();
  const r = await q;
  return r ? toEndpoint(r) : undefined;
}

export async function insertEndpoint(db: Queryable, v: { resellerId: Owner; url: string; description: string; eventTypes: string[] | null; secret: string }): Promise<number> {
  const [row] = await db('webhook_endpoints')
    .insert({ reseller_id: v.resellerId, url: v.url, description: v.description, event_types: v.eventTypes === null ? null : JSON.stringify(v.eventTypes), secret: v.secret })
    .returning('id');
  return Number((row as { id: number }).id);
}

export async function updateEndpoint(
  db: Queryable, id: number,
  v: { url?: string; description?: string; eventTypes?: string[] | null; active?: boolean; secret?: string; previous?: { secret: string; until: Date } | null },
): Promise<void> {
  const set: Record<string, unknown> = { updated_at: db.fn.now() };
  if (v.url !== undefined) set.url = v.url;
  if (v.description !== undefined) set.description = v.description;
  if (v.eventTypes !== undefined) set.event_types = v.eventTypes === null ? null : JSON.stringify(v.eventTypes);
  if (v.active !== undefined) set.active = v.active;
  if (v.secret !== undefined) {
    set.secret = v.secret;
    set.secret_rotated_at = db.fn.now();
  }
  if (v.previous !== undefined) {
    set.previous_secret = v.previous?.secret ?? null;
    set.previous_secret_until = v.previous?.until ?? null;
  }
  await db('webhook_endpoints').where({ id }).update(set);
}

/** Every active endpoint (the fan-out matches each event against them). */
export async function activeEndpoints(db: Queryable): Promise<EndpointRow[]> {
  return ((await db('webhook_endpoints').where({ active: true }).orderBy('id')) as Array<Record<string, any>>).map(toEndpoint);
}

export async function endpointById(db: Queryable, id: number): Promise<EndpointRow | undefined> {
  const r = await db('webhook_endpoints').where({ id }).first();
  return r ? toEndpoint(r) : undefined;
}

// ---- The fan-out's cursor ----

export async function fanoutCursor(db: Queryable): Promise<string | null> {
  const r = await db('webhook_fanout').first('cursor');
  return r ? (r.cursor as string | null) : null;
}

/** Moves the cursor from `from` to `to`; false when another fan-out moved it first (its work stands). */
export async function moveFanoutCursor(db: Queryable, from: string | null, to: string | null): Promise<boolean> {
  if (from === null) {
    const inserted = await db('webhook_fanout').insert({ id: true, cursor: to }).onConflict('id').ignore().returning('id');
    if (inserted.length) return true;
    return (await db('webhook_fanout').whereNull('cursor').update({ cursor: to, updated_at: db.fn.now() })) === 1;
  }
  return (await db('webhook_fanout').where({ cursor: from }).update({ cursor: to, updated_at: db.fn.now() })) === 1;
}

// ---- Deliveries ----

export interface NewDelivery {
  endpointId: number;
  resellerId: Owner;
  eventId: string;
  eventType: string;
  entityType: string;
  entityId: number | null;
  body: string;
  eventAt: Date;
  giveUpAt: Date;
}

export async function insertDeliveries(db: Queryable, rows: NewDelivery[]): Promise<number> {
  if (!rows.length) return 0;
  const inserted = await db('webhook_deliveries')
    .insert(rows.map((d) => ({
      endpoint_id: d.endpointId, reseller_id: d.resellerId, event_id: d.eventId, event_type: d.eventType, entity_type: d.entityType, entity_id: d.entityId,
      body: d.body, event_at: d.eventAt, give_up_at: d.giveUpAt, next_at: db.fn.now(),
    })))
    .onConflict(['endpoint_id', 'event_id']).ignore()
    .returning('id');
  return inserted.length;
}

export interface DeliveryRow {
  id: number;
  endpointId: number;
  resellerId: number | null;
  eventId: string;
  eventType: string;
  entityType: string;
  entityId: number | null;
  body: string;
  eventAt: Date;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  nextAt: Date;
  giveUpAt: Date;
  createdAt: Date;
  finishedAt: Date | null;
  resend: boolean;
}

export const toDelivery = (r: Record<string, any>): DeliveryRow => ({
  id: Number(r.id), endpointId: Number(r.endpoint_id), resellerId: r.reseller_id === null ? null : Number(r.reseller_id), eventId: r.event_id, eventType: r.event_type,
  entityType: r.entity_type, entityId: r.entity_id === null ? null : Number(r.entity_id), body: r.body, eventAt: new Date(r.event_at), status: r.status,
  attempts: Number(r.attempts), nextAt: new Date(r.next_at), giveUpAt: new Date(r.give_up_at), createdAt: new Date(r.created_at), finishedAt: r.finished_at ? new Date(r.finished_at) : null, resend: r.resend,
});

/**
 * Claims the next due delivery: pending, due, its endpoint active and not among `skip`, and no
 * earlier delivery of the same object (entity type and id) to the same endpoint still pending, so
 * an object's events reach an endpoint in the order they happened, retries included. Claimed by
 * moving next_at on in the same statement: another sender does not take it meanwhile.
 */
export async function claimDue(db: Queryable, now: Date, skip: number[], leaseMs: number): Promise<DeliveryRow | undefined> {
  const { rows } = (await db.raw(
    `UPDATE webhook_deliveries SET next_at = ?::timestamptz + ?::bigint * interval '1 millisecond'
      WHERE id = (
        SELECT d.id FROM webhook_deliveries d
          JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.active
         WHERE d.status = 'pending' AND d.next_at <= ?
           AND NOT (d.endpoint_id = ANY(?::bigint[]))
           AND NOT EXISTS (
             SELECT 1 FROM webhook_deliveries p
              WHERE p.endpoint_id = d.endpoint_id AND p.entity_type = d.entity_type AND p.entity_id IS NOT DISTINCT FROM d.entity_id
                AND p.status = 'pending' AND p.id < d.id)
         ORDER BY d.next_at, d.id
         LIMIT 1
         FOR UPDATE OF d SKIP LOCKED)
      RETURNING *`,
    [now, leaseMs, now, `{${skip.join(',')}}`],
  )) as { rows: Array<Record<string, any>> };
  return rows[0] ? toDelivery(rows[0]) : undefined;
}

export interface AttemptRow {
  id: number;
  deliveryId: number;
  at: Date;
  statusCode: number | null;
  answer: string;
  durationMs: number;
  error: string | null;
  manual: boolean;
}

export async function recordAttempt(
  db: Queryable,
  d: DeliveryRow,
  a: { statusCode: number | null; answer: string; durationMs: number; error: string | null; manual: boolean },
  next: { status: DeliveryRow['status']; attempts: number; nextAt: Date },
): Promise<void> {
  await db('webhook_attempts').insert({ delivery_id: d.id, status_code: a.statusCode, answer: a.answer, duration_ms: a.durationMs, error: a.error, manual: a.manual });
  await db('webhook_deliveries').where({ id: d.id }).update({
    attempts: next.attempts, status: next.status, next_at: next.nextAt, resend: false, finished_at: next.status === 'pending' ? null : db.fn.now(),
  });
}

/** An endpoint's latest deliveries (newest first), each with its attempts. */
export async function deliveriesOf(db: Queryable, endpointId: number, limit: number): Promise<Array<DeliveryRow & { attemptList: AttemptRow[] }>> {
  const rows = ((await db('webhook_deliveries').where({ endpoint_id: endpointId }).orderBy('id', 'desc').limit(limit)) as Array<Record<string, any>>).map(toDelivery);
  const attempts = rows.length ? ((await db('webhook_attempts').whereIn('delivery_id', rows.map((r) => r.id)).orderBy('id')) as Array<Record<string, any>>) : [];
  return rows.map((d) => ({
    ...d,
    attemptList: attempts.filter((a) => Number(a.delivery_id) === d.id).map((a) => ({
      id: Number(a.id), deliveryId: d.id, at: a.at, statusCode: a.status_code, answer: a.answer, durationMs: Number(a.duration_ms), error: a.error, manual: a.manual,
    })),
  }));
}

/** Counts of an owner's endpoints' deliveries by status (the list page). */
export async function deliveryCounts(db: Queryable, owner: Owner): Promise<Map<number, Record<string, number>>> {
  const rows = (await ofOwner(db, 'webhook_deliveries', owner).groupBy('endpoint_id', 'status').select('endpoint_id', 'status').count('* as n')) as Array<{ endpoint_id: number; status: string; n: string | number }>;
  const out = new Map<number, Record<string, number>>();
  for (const r of rows) {
    const m = out.get(Number(r.endpoint_id)) ?? {};
    m[r.status] = Number(r.n);
    out.set(Number(r.endpoint_id), m);
  }
  return out;
}

/** A delivery of the endpoint (undefined when it is another's). */
export async function getDelivery(db: Queryable, endpointId: number, id: number): Promise<DeliveryRow | undefined> {
  const r = await db('webhook_deliveries').where({ endpoint_id: endpointId, id }).first();
  return r ? toDelivery(r) : undefined;
}

/** "Send again": pending and due now, for another day of tries; the next attempt is marked manual. */
export async function requeue(db: Queryable, id: number, now: Date, giveUpAt: Date): Promise<void> {
  await db('webhook_deliveries').where({ id }).update({ status: 'pending', next_at: now, give_up_at: giveUpAt, finished_at: null, resend: true });
}
