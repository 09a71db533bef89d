import type { Knex } from 'knex';
import type { Queryable } from '../../db/knex';
import { listAll, listPage, type ListPage, type ListParams, type ListSpec } from '../../db/list';
import type { Scope } from '../../domain/tenancy/roles';
import type { Status } from '../../domain/tenancy/status';
import type { SubscriberInput } from './subscribers.schemas';

export interface Subscriber {
  id: number;
  resellerId: number;
  accountNumber: string;
  name: string;
  status: Status;
  contactName: string | null;
  email: string | null;
  phone: string | null;
  addressLine1: string | null;
  addressLine2: string | null;
  city: string | null;
  region: string | null;
  postalCode: string | null;
  country: string;
  /** The reseller's plan that prices this subscriber's retail charges. */
  retailPlanId: number | null;
  /** The reseller does not tax this subscriber's retail charges. */
  taxExempt: boolean;
  /** The time zone of its portal; null follows its reseller's. */
  timeZone: string | null;
  /** Its retail billing cycle's day (1-28); null follows its reseller's. */
  billingCycleDay: number | null;
  statusChangedAt: Date;
  createdAt: Date;
  updatedAt: Date;
}

export interface SubscriberSummary extends Subscriber {
  resellerStatus: Status;
  numbers: string[];
}

export interface PhoneNumber {
  id: number;
  resellerId: number;
  subscriberId: number;
  number: string;
  label: string | null;
  assignedAt: Date;
  releasedAt: Date | null;
}

function toSubscriber(r: Record<string, any>): Subscriber {
  return {
    id: r.id,
    resellerId: r.reseller_id,
    accountNumber: r.account_number,
    name: r.name,
    status: r.status,
    contactName: r.contact_name,
    email: r.email,
    phone: r.phone,
    addressLine1: r.address_line1,
    addressLine2: r.address_line2,
    city: r.city,
    region: r.region,
    postalCode: r.postal_code,
    country: r.country,
    retailPlanId: r.retail_plan_id ?? null,
    taxExempt: r.tax_exempt ?? false,
    timeZone: r.time_zone ?? null,
    billingCycleDay: r.billing_cycle_day ?? null,
    statusChangedAt: r.status_changed_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** An extension or SIP user name held within a SIP domain (hosted PBX), with its history like a number's. */
export interface ShortIdentity {
  id: number;
  resellerId: number;
  subscriberId: number;
  identity: string;
  domain: string;
  label: string | null;
  assignedAt: Date;
  releasedAt: Date | null;
}

function toIdentity(r: Record<string, any>): ShortIdentity {
  return {
    id: r.id,
    resellerId: r.reseller_id,
    subscriberId: r.subscriber_id,
    identity: r.identity,
    domain: r.domain,
    label: r.label,
    assignedAt: r.assigned_at,
    releasedAt: r.released_at,
  };
}

export async function listIdentities(db: Queryable, resellerId: number, subscriberId: number): Promise<ShortIdentity[]> {
  const rows = await db('subscriber_identities')
    .where({ reseller_id: resellerId, subscriber_id: subscriberId })
    .orderBy([{ column: 'released_at', order: 'desc', nulls: 'first' }, 'domain', 'identity']);
  return rows.map(toIdentity);
}

export async function insertIdentity(db: Queryable, resellerId: number, subscriberId: number, v: { identity: string; domain: string; label: string | null }): Promise<ShortIdentity> {
  const [row] = await db('subscriber_identities').insert({ reseller_id: resellerId, subscriber_id: subscriberId, ...v }).returning('*');
  return toIdentity(row);
}

export async function getIdentity(db: Queryable, resellerId: number, subscriberId: number, id: number): Promise<ShortIdentity | undefined> {
  const row = await db('subscriber_identities').where({ reseller_id: resellerId, subscriber_id: subscriberId, id }).first();
  return row ? toIdentity(row) : undefined;
}

export async function releaseIdentity(db: Queryable, resellerId: number, id: number): Promise<ShortIdentity> {
  const [row] = await db('subscriber_identities').where({ reseller_id: resellerId, id }).whereNull('released_at').update({ released_at: db.fn.now() }).returning('*');
  return toIdentity(row);
}

function toNumber(r: Record<string, any>): PhoneNumber {
  return {
    id: r.id,
    resellerId: r.reseller_id,
    subscriberId: r.subscriber_id,
    number: r.number,
    label: r.label,
    assignedAt: r.assigned_at,
    releasedAt: r.released_at,
  };
}

/** Confines a query on a table with reseller_id (alias given) to the scope. */
function confine<Q extends { where: (...args: any[]) => Q }>(q: Q, scope: Scope, alias: string): Q {
  if (scope.kind === 'reseller') return q.where(`${alias}.reseller_id`, scope.resellerId);
  if (scope.kind === 'subscriber') return q.where(`${alias}.reseller_id`, scope.resellerId).where(`${alias}.id`, scope.subscriberId);
  return q;
}

export interface SubscriberFilter extends ListParams {
  /** Operator staff looking at one reseller. */
  resellerId?: number;
  q?: string;
  status?: Status;
}

/** Its status as the list shows it: an active subscriber of an inactive reseller is suspended. */
const SHOWN_STATUS = `case when s.status = 'active' and r.status <> 'active' then 'suspended' else s.status end`;
const NUMBERS = `coalesce((select array_agg(n.number order by n.number) from phone_numbers n where n.reseller_id = s.reseller_id and n.subscriber_id = s.id and n.released_at is null), '{}')`;

/** The subscribers list: its sortable columns and totals (src/db/list.ts). */
export const SUBSCRIBER_LIST: ListSpec = {
  sorts: {
    account: { sql: 'lower(s.account_number)', kind: 'text' },
    name: { sql: 'lower(s.name)', kind: 'text' },
    numbers: { sql: `(${NUMBERS})[1]`, kind: 'text' },
    status: { sql: SHOWN_STATUS, kind: 'text' },
    location: { sql: `lower(concat_ws(', ', s.city, s.region, s.country))`, kind: 'text' },
    email: { sql: 'lower(s.email)', kind: 'text' },
    created: { sql: 's.created_at', kind: 'time' },
  },
  defaultSort: 'account',
  defaultDir: 'asc',
  id: 's.id',
  totals: { active: `count(*) filter (where shown_status = 'active')`, numbers: 'sum(cardinality(numbers))' },
};

function filteredSubscribers(db: Queryable, scope: Scope, f: SubscriberFilter) {
  const q = confine(db('subscribers as s'), scope, 's')
    .join('resellers as r', 'r.id', 's.reseller_id')
    .select('s.*', 'r.status as reseller_status', db.raw(`${SHOWN_STATUS} as shown_status`), db.raw(`${NUMBERS} as numbers`));
  if (f.resellerId) q.where('s.reseller_id', f.resellerId);
  if (f.status) q.where('s.status', f.status);
  if (f.q) {
    const like = `%${f.q}%`;
    const digits = f.q.replace(/[^\d]/g, '');
    q.where((w) => {
      w.whereILike('s.name', like).orWhereILike('s.account_number', like).orWhereILike('s.email', like);
      if (digits.length >= 3) {
        w.orWhereExists(
          db('phone_numbers as n').whereRaw('n.reseller_id = s.reseller_id and n.subscriber_id = s.id and n.released_at is null').where('n.number', 'like', `%${digits}%`),
        );
      }
    });
  }
  return q;
}

const toSummary = (r: Record<string, any>): SubscriberSummary => ({ ...toSubscriber(r), resellerStatus: r.reseller_status, numbers: r.numbers as string[] });

export async function listSubscribers(db: Queryable, scope: Scope, f: SubscriberFilter): Promise<ListPage<SubscriberSummary>> {
  return listPage(db, filteredSubscribers(db, scope, f), SUBSCRIBER_LIST, f, toSummary);
}

/** Every subscriber of the filter, in the list's order (its CSV). */
export function allSubscribers(db: Queryable, scope: Scope, f: SubscriberFilter): AsyncGenerator<SubscriberSummary> {
  return listAll(db, filteredSubscribers(db, scope, f), SUBSCRIBER_LIST, f, toSummary);
}

export async function getSubscriber(db: Queryable, scope: Scope, id: number, opts: { forUpdate?: boolean } = {}): Promise<Subscriber | undefined> {
  const q = confine(db('subscribers as s'), scope, 's').where('s.id', id).select('s.*').first();
  if (opts.forUpdate) q.forUpdate();
  const row = await q;
  return row ? toSubscriber(row) : undefined;
}

function columns(input: SubscriberInput) {
  return {
    account_number: input.account_number,
    name: input.name,
    contact_name: input.contact_name,
    email: input.email,
    phone: input.phone,
    address_line1: input.address_line1,
    address_line2: input.address_line2,
    city: input.city,
    region: input.region,
    postal_code: input.postal_code,
    country: input.country,
    time_zone: input.time_zone,
    billing_cycle_day: input.billing_cycle_day,
  };
}

export async function insertSubscriber(db: Queryable, resellerId: number, input: SubscriberInput): Promise<Subscriber> {
  const [row] = await db('subscribers').insert({ reseller_id: resellerId, ...columns(input) }).returning('*');
  return toSubscriber(row);
}

export async function updateSubscriber(db: Queryable, resellerId: number, id: number, input: SubscriberInput): Promise<Subscriber> {
  const [row] = await db('subscribers')
    .where({ reseller_id: resellerId, id })
    .update({ ...columns(input), updated_at: db.fn.now() })
    .returning('*');
  return toSubscriber(row);
}

export async function setSubscriberStatus(db: Queryable, resellerId: number, id: number, status: Status): Promise<Subscriber> {
  const [row] = await db('subscribers')
    .where({ reseller_id: resellerId, id })
    .update({ status, status_changed_at: db.fn.now(), updated_at: db.fn.now() })
    .returning('*');
  return toSubscriber(row);
}

export async function listNumbers(db: Queryable, resellerId: number, subscriberId: number, opts: { includeReleased?: boolean } = {}): Promise<PhoneNumber[]> {
  const q = db('phone_numbers').where({ reseller_id: resellerId, subscriber_id: subscriberId }).orderBy([{ column: 'released_at', order: 'desc', nulls: 'first' }, 'number']);
  if (!opts.includeReleased) q.whereNull('released_at');
  return (await q).map(toNumber);
}

export async function insertNumber(db: Queryable, resellerId: number, subscriberId: number, number: string, label: string | null): Promise<PhoneNumber> {
  const [row] = await db('phone_numbers').insert({ reseller_id: resellerId, subscriber_id: subscriberId, number, label }).returning('*');
  return toNumber(row);
}

/** The reseller's subscriber holding the number now, if one of its own does. */
export async function holderOf(db: Queryable, resellerId: number, number: string): Promise<{ accountNumber: string; name: string } | undefined> {
  const row = await db('phone_numbers as n')
    .join('subscribers as s', function () {
      this.on('s.reseller_id', 'n.reseller_id').andOn('s.id', 'n.subscriber_id');
    })
    .where({ 'n.reseller_id': resellerId, 'n.number': number })
    .whereNull('n.released_at')
    .first('s.account_number', 's.name');
  return row ? { accountNumber: row.account_number, name: row.name } : undefined;
}

export async function getNumber(db: Queryable, resellerId: number, subscriberId: number, numberId: number): Promise<PhoneNumber | undefined> {
  const row = await db('phone_numbers').where({ reseller_id: resellerId, subscriber_id: subscriberId, id: numberId }).first();
  return row ? toNumber(row) : undefined;
}

export async function releaseNumber(db: Queryable, resellerId: number, numberId: number): Promise<PhoneNumber> {
  const [row] = await db('phone_numbers').where({ reseller_id: resellerId, id: numberId }).whereNull('released_at').update({ released_at: db.fn.now() }).returning('*');
  return toNumber(row);
}

export async function setRetailPlan(db: Queryable, resellerId: number, id: number, planId: number | null): Promise<Subscriber> {
  const [row] = await db('subscribers').where({ reseller_id: resellerId, id }).update({ retail_plan_id: planId, updated_at: db.fn.now() }).returning('*');
  return toSubscriber(row);
}

export async function setTaxExempt(db: Queryable, resellerId: number, id: number, taxExempt: boolean): Promise<Subscriber> {
  const [row] = await db('subscribers').where({ reseller_id: resellerId, id }).update({ tax_exempt: taxExempt, updated_at: db.fn.now() }).returning('*');
  return toSubscriber(row);
}

/** The active numbers and SIP identities of many subscribers at once, with their resellers' status (the API's representation). */
export async function holdingsOf(db: Queryable, subs: Array<{ id: number; resellerId: number }>): Promise<Map<number, { resellerStatus: Status; numbers: string[]; identities: string[] }>> {
  const subscriberIds = subs.map((s) => s.id);
  // With their resellers, so that the (reseller_id, subscriber_id) indexes serve.
  const resellerIds = [...new Set(subs.map((s) => s.resellerId))];
  const out = new Map<number, { resellerStatus: Status; numbers: string[]; identities: string[] }>();
  if (!subscriberIds.length) return out;
  const [statuses, numbers, identities] = await Promise.all([
    db('subscribers as s').join('resellers as r', 'r.id', 's.reseller_id').whereIn('s.id', subscriberIds).select('s.id', 'r.status'),
    db('phone_numbers').whereIn('reseller_id', resellerIds).whereIn('subscriber_id', subscriberIds).whereNull('released_at').orderBy('number').select('subscriber_id', 'number'),
    db('subscriber_identities').whereIn('reseller_id', resellerIds).whereIn('subscriber_id', subscriberIds).whereNull('released_at').orderBy(['domain', 'identity']).select('subscriber_id', 'identity', 'domain'),
  ]);
  for (const s of statuses) out.set(Number(s.id), { resellerStatus: s.status, numbers: [], identities: [] });
  for (const n of numbers) out.get(Number(n.subscriber_id))?.numbers.push(n.number);
  for (const i of identities) out.get(Number(i.subscriber_id))?.identities.push(`${i.identity}@${i.domain}`);
  return out;
}

/** The text columns of a subscriber as insertSubscribers sends them, one array each. */
const TEXT_COLUMNS = ['account_number', 'name', 'contact_name', 'email', 'phone', 'address_line1', 'address_line2', 'city', 'region', 'postal_code', 'country', 'time_zone'] as const;

/**
 * Many subscribers in one statement, answered in the inputs' order. The values go as one array a
 * column (unnest), not one parameter a value: a thousand subscribers are 14 parameters, not 14,000.
 * The answer is put back in the inputs' order by account number (unique in a reseller).
 */
export async function insertSubscribers(db: Queryable, resellerId: number, inputs: Array<SubscriberInput & { retail_plan_id: number | null }>): Promise<Subscriber[]> {
  if (!inputs.length) return [];
  const rows = inputs.map((i) => columns(i));
  const names = [...TEXT_COLUMNS, 'billing_cycle_day', 'retail_plan_id'];
  const { rows: made } = await db.raw(
    `INSERT INTO subscribers (reseller_id, ${names.join(', ')})
     SELECT ?, ${names.join(', ')} FROM unnest(${TEXT_COLUMNS.map(() => '?::text[]').join(', ')}, ?::smallint[], ?::bigint[]) AS u(${names.join(', ')})
     RETURNING *`,
    // Arrays with nulls: knex's types know arrays of one type only.
    [resellerId, ...TEXT_COLUMNS.map((c) => rows.map((r) => r[c] ?? null)), rows.map((r) => r.billing_cycle_day ?? null), inputs.map((i) => i.retail_plan_id)] as unknown as Knex.RawBinding[],
  );
  const byAccount = new Map((made as Array<Record<string, any>>).map((r) => [String(r.account_number).toLowerCase(), r]));
  return inputs.map((i) => toSubscriber(byAccount.get(i.account_number.toLowerCase()) as Record<string, any>));
}

/**
 * Puts party_version's per-statement bump off to bumpPartyVersion, in this transaction only: its row
 * is then locked from that bump to commit, not from the first INSERT (two bulks in flight overlap).
 */
export async function deferPartyBump(tx: Queryable): Promise<void> {
  await tx.raw("SELECT set_config('app.party_bump_deferred', 'on', true)");
}

/** The bump deferPartyBump put off: once, as the transaction's last write. */
export async function bumpPartyVersion(tx: Queryable): Promise<void> {
  await tx.raw("SELECT set_config('app.party_bump_deferred', 'off', true)");
  await tx.raw('INSERT INTO party_version (one, version) VALUES (true, 1) ON CONFLICT (one) DO UPDATE SET version = party_version.version + 1');
}

/** Many numbers in one statement, answered in the inputs' order. */
export async function insertNumbers(db: Queryable, resellerId: number, rows: Array<{ subscriberId: number; number: string }>): Promise<PhoneNumber[]> {
  if (!rows.length) return [];
  const { rows: made } = await db.raw(
    `INSERT INTO phone_numbers (reseller_id, subscriber_id, number)
     SELECT ?, subscriber_id, number FROM unnest(?::bigint[], ?::text[]) AS u(subscriber_id, number)
     RETURNING *`,
    [resellerId, rows.map((r) => r.subscriberId), rows.map((r) => r.number)],
  );
  // In the inputs' order, by number (an active number is held once).
  const byNumber = new Map((made as Array<Record<string, any>>).map((r) => [r.number as string, r]));
  return rows.map((r) => toNumber(byNumber.get(r.number) as Record<string, any>));
}

/** Which of these account numbers the reseller's subscribers already have (lower case: they are unique so). */
export async function takenAccounts(db: Queryable, resellerId: number, accounts: string[]): Promise<Set<string>> {
  if (!accounts.length) return new Set();
  const rows = await db('subscribers').where('reseller_id', resellerId).whereRaw('lower(account_number) = any(?::text[])', [accounts.map((a) => a.toLowerCase())]).select(db.raw('lower(account_number) as a'));
  return new Set(rows.map((r: { a: string }) => r.a));
}

/** Who holds each of these numbers now: the reseller's own holders by name, another tenant's without. */
export async function holdersOf(db: Queryable, resellerId: number, numbers: string[]): Promise<Map<string, { accountNumber: string; name: string } | null>> {
  const out = new Map<string, { accountNumber: string; name: string } | null>();
  if (!numbers.length) return out;
  const rows = await db('phone_numbers as n')
    .leftJoin('subscribers as s', function () {
      this.on('s.reseller_id', 'n.reseller_id').andOn('s.id', 'n.subscriber_id').andOn('n.reseller_id', db.raw('?', [resellerId]));
    })
    .whereRaw('n.number = any(?::text[])', [numbers])
    .whereNull('n.released_at')
    .select('n.number', 's.account_number', 's.name');
  for (const r of rows) out.set(r.number, r.account_number ? { accountNumber: r.account_number, name: r.name } : null);
  return out;
}

export async function subscribersByIds(db: Queryable, scope: Scope, ids: number[]): Promise<Subscriber[]> {
  if (!ids.length) return [];
  const rows = await confine(db('subscribers as s'), scope, 's').whereIn('s.id', ids).select('s.*');
  return rows.map(toSubscriber);
}
