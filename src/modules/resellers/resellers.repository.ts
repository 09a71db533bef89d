import type { Queryable } from '../../db/knex';
import { listAll, listPage, type ListPage, type ListParams, type ListSpec } from '../../db/list';
import type { Scope } from '../../domain/tenancy/roles';
import type { Status } from '../../domain/tenancy/status';
import type { ResellerInput } from './resellers.schemas';

export interface Reseller {
  id: number;
  name: string;
  code: string;
  status: Status;
  billingService: boolean;
  /** Its wholesale billing cycle starts on this day of the month (1-28), in its zone. */
  billingCycleDay: number;
  currency: string;
  contactName: string | null;
  contactEmail: string | null;
  contactPhone: string | null;
  notes: string | null;
  /** The operator's plan that prices this reseller's wholesale charges. */
  wholesalePlanId: number | null;
  /** The operator does not tax this reseller's wholesale charges. */
  taxExempt: boolean;
  /** The SIP domain of the extensions and SIP user names its staff type without one (hosted PBX). */
  sipDomain: string | null;
  /** Its people's time zone; null follows the operator's. */
  timeZone: string | null;
  statusChangedAt: Date;
  createdAt: Date;
  updatedAt: Date;
}

export interface ResellerSummary extends Reseller {
  subscribersTotal: number;
  subscribersActive: number;
}

function toReseller(r: Record<string, any>): Reseller {
  return {
    id: r.id,
    name: r.name,
    code: r.code,
    status: r.status,
    billingService: r.billing_service,
    billingCycleDay: r.billing_cycle_day ?? 1,
    currency: r.currency,
    contactName: r.contact_name,
    contactEmail: r.contact_email,
    contactPhone: r.contact_phone,
    notes: r.notes,
    wholesalePlanId: r.wholesale_plan_id ?? null,
    taxExempt: r.tax_exempt ?? false,
    sipDomain: r.sip_domain ?? null,
    timeZone: r.time_zone ?? null,
    statusChangedAt: r.status_changed_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Resellers a scope may reach: all for operator staff, its own for a reseller's people. */
function scoped(db: Queryable, scope: Scope) {
  const q = db('resellers');
  return scope.kind === 'wholesale' ? q : q.where('resellers.id', scope.resellerId);
}

export async function getReseller(db: Queryable, scope: Scope, id: number): Promise<Reseller | undefined> {
  const row = await scoped(db, scope).where('resellers.id', id).first();
  return row ? toReseller(row) : undefined;
}

/** Locks the row for a status change, so two admins cannot race one transition. */
export async function getResellerForUpdate(db: Queryable, id: number): Promise<Reseller | undefined> {
  const row = await db('resellers').where('id', id).forUpdate().first();
  return row ? toReseller(row) : undefined;
}

export interface ResellerFilter extends ListParams {
  q?: string;
  status?: Status;
}

const ACTIVE_SUBSCRIBERS = `(select count(*) from subscribers s where s.reseller_id = resellers.id and s.status = 'active')`;
const ALL_SUBSCRIBERS = '(select count(*) from subscribers s where s.reseller_id = resellers.id)';

/** The resellers list: its sortable columns and totals (src/db/list.ts). */
export const RESELLER_LIST: ListSpec = {
  sorts: {
    name: { sql: 'lower(resellers.name)', kind: 'text' },
    code: { sql: 'lower(resellers.code)', kind: 'text' },
    status: { sql: 'resellers.status', kind: 'text' },
    subscribers: { sql: ACTIVE_SUBSCRIBERS, kind: 'number' },
    currency: { sql: 'resellers.currency', kind: 'text' },
    contact: { sql: 'lower(resellers.contact_email)', kind: 'text' },
    created: { sql: 'resellers.created_at', kind: 'time' },
  },
  defaultSort: 'name',
  defaultDir: 'asc',
  id: 'resellers.id',
  totals: { subscribersActive: 'sum(subscribers_active)', subscribersTotal: 'sum(subscribers_total)' },
};

function filteredResellers(db: Queryable, scope: Scope, f: ResellerFilter) {
  const q = scoped(db, scope).select('resellers.*', db.raw(`${ALL_SUBSCRIBERS} as subscribers_total`), db.raw(`${ACTIVE_SUBSCRIBERS} as subscribers_active`));
  if (f.q) {
    const like = `%${f.q}%`;
    q.where((w) => w.whereILike('resellers.name', like).orWhereILike('resellers.code', like).orWhereILike('resellers.contact_email', like));
  }
  if (f.status) q.where('resellers.status', f.status);
  return q;
}

function toSummary(r: Record<string, any>): ResellerSummary {
  return { ...toReseller(r), subscribersTotal: Number(r.subscribers_total), subscribersActive: Number(r.subscribers_active) };
}

export async function listResellers(db: Queryable, scope: Scope, f: ResellerFilter): Promise<ListPage<ResellerSummary>> {
  return listPage(db, filteredResellers(db, scope, f), RESELLER_LIST, f, toSummary);
}

/** Every reseller of the filter, in the list's order (its CSV). */
export function allResellers(db: Queryable, scope: Scope, f: ResellerFilter): AsyncGenerator<ResellerSummary> {
  return listAll(db, filteredResellers(db, scope, f), RESELLER_LIST, f, toSummary);
}

function columns(input: ResellerInput) {
  return {
    name: input.name,
    code: input.code,
    currency: input.currency,
    billing_service: input.billing_service,
    billing_cycle_day: input.billing_cycle_day,
    contact_name: input.contact_name,
    contact_email: input.contact_email,
    contact_phone: input.contact_phone,
    notes: input.notes,
    sip_domain: input.sip_domain,
    time_zone: input.time_zone,
  };
}

export async function insertReseller(db: Queryable, input: ResellerInput): Promise<Reseller> {
  const [row] = await db('resellers').insert(columns(input)).returning('*');
  return toReseller(row);
}

export async function updateReseller(db: Queryable, id: number, input: ResellerInput): Promise<Reseller> {
  const [row] = await db('resellers').where('id', id).update({ ...columns(input), updated_at: db.fn.now() }).returning('*');
  return toReseller(row);
}

export async function setResellerStatus(db: Queryable, id: number, status: Status): Promise<Reseller> {
  const [row] = await db('resellers')
    .where('id', id)
    .update({ status, status_changed_at: db.fn.now(), updated_at: db.fn.now() })
    .returning('*');
  return toReseller(row);
}

/** What a status change of this reseller reaches: its own-status-active subscribers and logins. */
export async function cascadeCounts(db: Queryable, resellerId: number): Promise<{ activeSubscribers: number; activeUsers: number }> {
  const [subs, users] = await Promise.all([
    db('subscribers').where({ reseller_id: resellerId, status: 'active' }).count<{ count: number }>('* as count').first(),
    db('users as u')
      .leftJoin('subscribers as s', 's.id', 'u.subscriber_id')
      .where('u.reseller_id', resellerId)
      .where('u.status', 'active')
      .where((w) => w.whereNull('u.subscriber_id').orWhere('s.status', 'active'))
      .count<{ count: number }>('* as count')
      .first(),
  ]);
  return { activeSubscribers: Number(subs?.count ?? 0), activeUsers: Number(users?.count ?? 0) };
}

export async function resellerCounts(db: Queryable): Promise<{ active: number; inactive: number }> {
  return statusCounts(db('resellers').select('status').count('* as count').groupBy('status'));
}

async function statusCounts(query: PromiseLike<unknown>): Promise<{ active: number; inactive: number }> {
  const rows = (await query) as Array<{ status: string; count: number }>;
  const by = Object.fromEntries(rows.map((r) => [r.status, Number(r.count)]));
  return { active: by.active ?? 0, inactive: by.inactive ?? 0 };
}

/** Subscribers whose own status is active but whose reseller is inactive. */
export async function suspendedSubscriberCount(db: Queryable): Promise<number> {
  const row = await db('subscribers as s')
    .join('resellers as r', 'r.id', 's.reseller_id')
    .where({ 's.status': 'active', 'r.status': 'inactive' })
    .count<{ count: number }>('* as count')
    .first();
  return Number(row?.count ?? 0);
}

/** Subscribers by their own status; pass a reseller id for one reseller, none for all. */
export async function subscriberStatusCounts(db: Queryable, resellerId?: number): Promise<{ active: number; inactive: number }> {
  const q = db('subscribers').select('status').count('* as count').groupBy('status');
  if (resellerId !== undefined) q.where('reseller_id', resellerId);
  return statusCounts(q);
}

export async function setWholesalePlan(db: Queryable, id: number, planId: number | null): Promise<Reseller> {
  const [row] = await db('resellers').where('id', id).update({ wholesale_plan_id: planId, updated_at: db.fn.now() }).returning('*');
  return toReseller(row);
}

export async function setTaxExempt(db: Queryable, id: number, taxExempt: boolean): Promise<Reseller> {
  const [row] = await db('resellers').where('id', id).update({ tax_exempt: taxExempt, updated_at: db.fn.now() }).returning('*');
  return toReseller(row);
}
