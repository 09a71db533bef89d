import type { Knex } from 'knex';
import type { Queryable } from '../../db/knex';
import type { Actor } from '../../domain/tenancy/actor';
import type { Scope } from '../../domain/tenancy/roles';
import { PAGE_SIZE, type Page } from '../../db/paging';
import { listAll, listPage, type ListPage, type ListParams, type ListSpec } from '../../db/list';

export interface AuditEntry {
  resellerId: number | null;
  entityType: string;
  entityId: number | null;
  action: string;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
}

// Never copy secrets into the log.
const SECRET_FIELDS = new Set(['password_hash', 'passwordHash', 'totp_secret', 'totpSecret', 'password', 'ha1', 'ha1b']);

function clean(row: Record<string, unknown> | null | undefined): string | null {
  if (!row) return null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (SECRET_FIELDS.has(k)) continue;
    // One key style in the log whatever the caller passed: the column names (snake_case).
    out[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = v instanceof Date ? v.toISOString() : v;
  }
  return JSON.stringify(out);
}

/**
 * Changes that make a domain event in the outbox (outbox_events), by entity type: the event's
 * subject. Webhooks (issue 14) and record files (issue 12) read the outbox in commit order
 * (modules/changes); the audit log stays the record of who did what.
 */
const EVENT_SUBJECTS: Readonly<Record<string, string>> = {
  reseller: 'reseller',
  subscriber: 'subscriber',
  phone_number: 'number',
  subscriber_identity: 'identity',
  // A SIP credential set, replaced or removed (the SIP user, never the secret or its hashes).
  sip_credential: 'sip_credential',
  number_range: 'number_range',
  destination_group: 'destination_group',
  toll_package: 'toll_package',
  toll_package_assignment: 'toll_package_assignment',
  // A reseller's own packages, and the operator's offered to or withdrawn from it (the operator's
  // own package changes have no reseller and make none).
  feature_package: 'feature_package',
  package_assignment: 'package_assignment',
  // A reseller's record file closed (by the system, at the period's end).
  record_file: 'record_file',
};

/** Operator-level subjects: their events have no reseller and go to the operator's webhooks only. */
const OPERATOR_EVENT_SUBJECTS: Readonly<Record<string, string>> = {
  reconciliation_run: 'reconciliation',
};

/** Audit actions as the past tense of an event type; an action not listed is its own name. */
const EVENT_VERBS: Readonly<Record<string, string>> = {
  create: 'created',
  update: 'updated',
  delete: 'deleted',
  activate: 'activated',
  deactivate: 'deactivated',
  assign: 'assigned',
  release: 'released',
  assign_plan: 'plan_assigned',
  tax_exempt: 'tax_exemption_changed',
  retire: 'retired',
  offer: 'offered',
  withdraw: 'withdrawn',
  end: 'ended',
  close: 'closed',
  finish: 'finished',
};

/** The outbox event type of an audited change (`subscriber.updated`), or null when it makes none. */
export function eventTypeOf(entry: Pick<AuditEntry, 'entityType' | 'action' | 'resellerId'>): string | null {
  // A tenant's subject makes an event only with its reseller (the operator's own packages make none);
  // an operator-level subject only without one.
  const subject = entry.resellerId === null ? OPERATOR_EVENT_SUBJECTS[entry.entityType] : EVENT_SUBJECTS[entry.entityType];
  if (!subject) return null;
  return `${subject}.${EVENT_VERBS[entry.action] ?? entry.action}`;
}

/**
 * Writes one audit row, and for a change of a tenant's reseller, subscriber, number, identity or
 * number range its outbox event beside it, in one statement; call it inside the transaction that
 * makes the change, so that the event commits (and becomes readable) exactly with it. The payload
 * says what changed, never who did it (a webhook of a reseller must not name the operator's staff).
 */
export async function recordAudit(db: Queryable, actor: Actor, entry: AuditEntry): Promise<void> {
  await recordAudits(db, actor, [entry]);
}

export interface AuditRow {
  id: number;
  occurredAt: Date;
  resellerId: number | null;
  resellerName: string | null;
  actorEmail: string | null;
  /** The acting user's name (null where the email is withheld, or for the system). */
  actorName: string | null;
  actorRole: string | null;
  entityType: string;
  entityId: number | null;
  /** The reseller, subscriber, user, rate plan or platform changed, by its name today. */
  entityName: string | null;
  action: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  ip: string | null;
}

export interface AuditFilter extends ListParams {
  entityType?: string;
  action?: string;
  resellerId?: number;
  entityId?: number;
  /** Text in the email of who made the change. */
  who?: string;
}

/** The audit log list: its sortable columns (src/db/list.ts). Newest first unless asked. */
export const AUDIT_LIST: ListSpec = {
  sorts: {
    when: { sql: 'a.id', kind: 'number' },
    who: { sql: 'lower(a.actor_email)', kind: 'text' },
    reseller: { sql: 'lower(r.name)', kind: 'text' },
    what: { sql: `a.action || ' ' || a.entity_type`, kind: 'text' },
  },
  defaultSort: 'when',
  defaultDir: 'desc',
  id: 'a.id',
};

/** The audit trail a scope may see: operator staff all of it, a reseller only its own rows. */
function filteredAudit(db: Queryable, scope: Scope, filter: AuditFilter) {
  // Names, not ids: who acted, and the reseller, subscriber, user, plan or platform changed (as named now).
  const q = db('audit_log as a')
    .leftJoin('resellers as r', 'r.id', 'a.reseller_id')
    .leftJoin('users as au', 'au.id', 'a.actor_user_id')
    .leftJoin('resellers as er', (j) => j.on('er.id', 'a.entity_id').andOn('a.entity_type', db.raw('?', ['reseller'])))
    .leftJoin('subscribers as es', (j) => j.on('es.id', 'a.entity_id').andOn('a.entity_type', db.raw('?', ['subscriber'])))
    .leftJoin('users as eu', (j) => j.on('eu.id', 'a.entity_id').andOn('a.entity_type', db.raw('?', ['user'])))
    .leftJoin('rate_plans as ep', (j) => j.on('ep.id', 'a.entity_id').andOn('a.entity_type', db.raw('?', ['rate_plan'])))
    .leftJoin('platforms as ef', (j) => j.on('ef.id', 'a.entity_id').andOn('a.entity_type', db.raw('?', ['platform'])))
    .select('a.*', 'r.name as reseller_name', 'au.name as actor_name', db.raw('coalesce(er.name, es.name, eu.name, ep.name, ef.name) as entity_name'));
  if (scope.kind !== 'wholesale') q.where('a.reseller_id', scope.resellerId);
  else if (filter.resellerId) q.where('a.reseller_id', filter.resellerId);
  if (filter.entityType) q.where('a.entity_type', filter.entityType);
  if (filter.entityId) q.where('a.entity_id', filter.entityId);
  if (filter.action) q.where('a.action', filter.action);
  if (filter.who) q.whereILike('a.actor_email', `%${filter.who}%`);
  return q;
}

function toAuditRow(scope: Scope) {
  return (r: Record<string, any>): AuditRow => ({
    id: r.id,
    occurredAt: r.occurred_at,
    resellerId: r.reseller_id,
    resellerName: r.reseller_name,
    // A reseller's people see that the operator made a change, not which member of staff.
    actorEmail: scope.kind !== 'wholesale' && String(r.actor_role).startsWith('wholesale_') ? null : r.actor_email,
    actorName: scope.kind !== 'wholesale' && String(r.actor_role).startsWith('wholesale_') ? null : (r.actor_name ?? null),
    entityName: r.entity_name ?? null,
    actorRole: r.actor_role,
    entityType: r.entity_type,
    entityId: r.entity_id,
    action: r.action,
    before: r.before,
    after: r.after,
    ip: r.ip,
  });
}

/** The latest changes a scope may see (the feeds on home and reseller pages), newest first. */
export async function listAudit(db: Queryable, scope: Scope, filter: AuditFilter = {}): Promise<Page<AuditRow>> {
  const limit = filter.limit ?? PAGE_SIZE;
  const rows = (await filteredAudit(db, scope, filter).orderBy('a.id', 'desc').limit(limit)) as Array<Record<string, any>>;
  return { rows: rows.map(toAuditRow(scope)) };
}

/** The audit log page: sorted, counted, keyset paged. */
export async function auditPage(db: Queryable, scope: Scope, filter: AuditFilter): Promise<ListPage<AuditRow>> {
  return listPage(db, filteredAudit(db, scope, filter), AUDIT_LIST, filter, toAuditRow(scope));
}

/** Every change of the filter, in the list's order (its CSV). */
export function allAudit(db: Queryable, scope: Scope, filter: AuditFilter): AsyncGenerator<AuditRow> {
  return listAll(db, filteredAudit(db, scope, filter), AUDIT_LIST, filter, toAuditRow(scope));
}


/**
 * recordAudit for many changes at once (a bulk create): the same rows and outbox events, in the
 * entries' order, in one statement for every 5,000 entries.
 */
export async function recordAudits(db: Queryable, actor: Actor, entries: AuditEntry[]): Promise<void> {
  for (let at = 0; at < entries.length; at += 5000) {
    const chunk = entries.slice(at, at + 5000);
    const payloads = chunk.map((e) => ({ before: clean(e.before), after: clean(e.after) }));
    const types = chunk.map(eventTypeOf);
    // One statement: each entry takes its audit id first (in the entries' order), then the audit rows
    // and the outbox events are written from the same arrays (one parameter a column, not a value),
    // the events in the entries' order (their positions are the order webhooks deliver them in).
    await db.raw(
      `WITH u AS MATERIALIZED (
         SELECT nextval('audit_log_id_seq') AS id, u.reseller_id, u.entity_type, u.entity_id, u.action, u.before::jsonb AS before, u.after::jsonb AS after, u.event_type, u.ord
           FROM unnest(?::bigint[], ?::text[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[]) WITH ORDINALITY
                AS u(reseller_id, entity_type, entity_id, action, before, after, event_type, ord)),
       a AS (
         INSERT INTO audit_log (id, reseller_id, actor_user_id, actor_api_key_id, actor_email, actor_role, entity_type, entity_id, action, before, after, ip, request_id)
         SELECT id, reseller_id, ?, ?, ?, ?, entity_type, entity_id, action, before, after, ?, ? FROM u ORDER BY ord)
       INSERT INTO outbox_events (reseller_id, audit_id, type, entity_type, entity_id, payload, created_at)
       SELECT reseller_id, id, event_type, entity_type, entity_id,
              jsonb_build_object('entity_type', entity_type, 'entity_id', entity_id, 'action', action, 'before', before, 'after', after), CURRENT_TIMESTAMP
         FROM u WHERE event_type IS NOT NULL ORDER BY ord`,
      [
        chunk.map((e) => e.resellerId), chunk.map((e) => e.entityType), chunk.map((e) => e.entityId), chunk.map((e) => e.action),
        payloads.map((p) => p.before), payloads.map((p) => p.after), types,
        actor.userId, actor.apiKeyId ?? null, actor.email, actor.role, actor.ip ?? null, actor.requestId ?? null,
      ] as unknown as Knex.RawBinding[],
    );
  }
}
