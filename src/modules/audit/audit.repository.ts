import type { Queryable } from '../../db/knex';
import type { Actor } from '../../domain/tenancy/actor';
import type { Scope } from '../../domain/tenancy/roles';
import { decodeCursor, toPage, type Page, PAGE_SIZE } from '../../db/paging';

export interface AuditEntry {
  resellerId: number | null;
  entityType: string;
  entityId: number | null;
  action: string;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
}

// Never copy secrets into the log.
const SECRET_FIELDS = new Set(['password_hash', 'passwordHash', 'totp_secret', 'totpSecret', 'password']);

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

/** Writes one audit row; call it inside the transaction that makes the change. */
export async function recordAudit(db: Queryable, actor: Actor, entry: AuditEntry): Promise<void> {
  await db('audit_log').insert({
    reseller_id: entry.resellerId,
    actor_user_id: actor.userId,
    actor_email: actor.email,
    actor_role: actor.role,
    entity_type: entry.entityType,
    entity_id: entry.entityId,
    action: entry.action,
    before: clean(entry.before),
    after: clean(entry.after),
    ip: actor.ip ?? null,
    request_id: actor.requestId ?? null,
  });
}

export interface AuditRow {
  id: number;
  occurredAt: Date;
  resellerId: number | null;
  resellerName: string | null;
  actorEmail: string | null;
  actorRole: string | null;
  entityType: string;
  entityId: number | null;
  action: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  ip: string | null;
}

export interface AuditFilter {
  entityType?: string;
  action?: string;
  resellerId?: number;
  entityId?: number;
  cursor?: string;
  limit?: number;
}

/** The audit trail a scope may see: operator staff all of it, a reseller only its own rows. */
export async function listAudit(db: Queryable, scope: Scope, filter: AuditFilter = {}): Promise<Page<AuditRow>> {
  const limit = filter.limit ?? PAGE_SIZE;
  const q = db('audit_log as a')
    .leftJoin('resellers as r', 'r.id', 'a.reseller_id')
    .select('a.*', 'r.name as reseller_name')
    .orderBy([{ column: 'a.id', order: 'desc' }])
    .limit(limit + 1);
  if (scope.kind !== 'wholesale') q.where('a.reseller_id', scope.resellerId);
  else if (filter.resellerId) q.where('a.reseller_id', filter.resellerId);
  if (filter.entityType) q.where('a.entity_type', filter.entityType);
  if (filter.entityId) q.where('a.entity_id', filter.entityId);
  if (filter.action) q.where('a.action', filter.action);
  const after = decodeCursor(filter.cursor, ['id']);
  if (after) q.where('a.id', '<', Number(after[0]));
  const rows = (await q) as Array<Record<string, any>>;
  const mapped: AuditRow[] = rows.map((r) => ({
    id: r.id,
    occurredAt: r.occurred_at,
    resellerId: r.reseller_id,
    resellerName: r.reseller_name,
    // A reseller's people see that the operator made a change, not which member of staff.
    actorEmail: scope.kind !== 'wholesale' && String(r.actor_role).startsWith('wholesale_') ? null : r.actor_email,
    actorRole: r.actor_role,
    entityType: r.entity_type,
    entityId: r.entity_id,
    action: r.action,
    before: r.before,
    after: r.after,
    ip: r.ip,
  }));
  return toPage(mapped, limit, (r) => [r.id]);
}

