import type { Queryable } from '../../db/knex';
import { Decimal } from '../../domain/money/decimal';
import { ownerKey, type Owner } from '../../domain/tenancy/owner';
import { partyTimeZoneSql } from '../settings/settings.repository';

/**
 * Destination groups, toll packages and their assignments (migrations/…_packages.ts). Every read
 * takes the owner (operator or one reseller) or the party, so no query can reach another tenant's
 * rows by id alone. Assignments here are toll-package rows only (toll_package_id set): feature
 * packages share the table and are another module's.
 */

export interface DestinationGroup {
  id: number;
  /** Null: the operator's. */
  resellerId: number | null;
  name: string;
  description: string;
  prefixCount: number;
  /** The first prefixes, sorted (all of them from getGroup). */
  prefixes: string[];
  /** Packages (of any owner) that give this group an allowance. */
  packageCount: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface PackageGroup {
  groupId: number;
  groupName: string;
  groupResellerId: number | null;
  /** Per billing cycle; null: unlimited. */
  includedSeconds: number | null;
  /** Per minute in the package's currency after the allowance; null: the plan's rate. */
  overageRate: Decimal | null;
}

export interface TollPackage {
  id: number;
  resellerId: number | null;
  name: string;
  description: string;
  currency: string;
  setupFee: Decimal;
  monthlyFee: Decimal;
  retiredAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  groups: PackageGroup[];
  /** Parties holding it now (assignments in force). */
  holders: number;
  /** Assignments starting later. */
  scheduled: number;
}

/** Who holds an assignment: a subscriber (a reseller's package) or the reseller itself (the operator's). */
export type Party = { kind: 'reseller'; resellerId: number } | { kind: 'subscriber'; subscriberId: number };

export interface TollAssignment {
  id: number;
  resellerId: number;
  subscriberId: number | null;
  packageId: number;
  packageName: string;
  packageCurrency: string;
  packageRetiredAt: Date | null;
  startsAt: Date;
  endsAt: Date | null;
  createdAt: Date;
  endedRecordedAt: Date | null;
}

const PREVIEW_PREFIXES = 12;

function toGroup(r: Record<string, any>): DestinationGroup {
  return {
    id: Number(r.id), resellerId: r.reseller_id === null ? null : Number(r.reseller_id), name: r.name, description: r.description,
    prefixCount: Number(r.prefix_count ?? 0), prefixes: r.prefixes ?? [], packageCount: Number(r.package_count ?? 0), createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

const ownerWhere = (owner: Owner, col = 'reseller_id') => (owner.kind === 'operator' ? `${col} is null` : `${col} = ${Number(owner.resellerId)}`);

const GROUP_COLUMNS = `g.*,
  (select count(*) from destination_group_prefixes p where p.group_id = g.id) as prefix_count,
  (select count(*) from toll_package_groups pg where pg.group_id = g.id) as package_count`;

/**
 * Groups of these owners (a reseller's list shows its own and, read only, the operator's), by owner
 * then name, each with its first prefixes.
 */
export async function listGroups(db: Queryable, owners: Owner[]): Promise<DestinationGroup[]> {
  if (!owners.length) return [];
  const keys = owners.map(ownerKey);
  const res = await db.raw(
    `select ${GROUP_COLUMNS},
       array(select p.prefix from destination_group_prefixes p where p.group_id = g.id order by p.prefix limit ${PREVIEW_PREFIXES}) as prefixes
     from destination_groups g where coalesce(g.reseller_id, 0) = any(?::bigint[])
     order by g.reseller_id nulls first, lower(g.name), g.id`,
    [keys],
  );
  return (res.rows as Array<Record<string, any>>).map(toGroup);
}

/** One group of one of these owners, with every prefix. */
export async function getGroup(db: Queryable, owners: Owner[], id: number, opts: { forUpdate?: boolean } = {}): Promise<DestinationGroup | undefined> {
  const keys = owners.map(ownerKey);
  const res = await db.raw(
    `select ${GROUP_COLUMNS}, array(select p.prefix from destination_group_prefixes p where p.group_id = g.id order by p.prefix) as prefixes
     from destination_groups g where g.id = ? and coalesce(g.reseller_id, 0) = any(?::bigint[])${opts.forUpdate ? ' for update of g' : ''}`,
    [id, keys],
  );
  const row = res.rows[0];
  return row ? toGroup(row) : undefined;
}

export async function groupNameTaken(db: Queryable, owner: Owner, name: string, exceptId?: number): Promise<boolean> {
  const q = db('destination_groups').whereRaw(ownerWhere(owner)).whereRaw('lower(name) = lower(?)', [name]).first('id');
  if (exceptId !== undefined) q.whereNot('id', exceptId);
  return Boolean(await q);
}

export async function insertGroup(db: Queryable, owner: Owner, input: { name: string; description: string }): Promise<number> {
  const [row] = await db('destination_groups').insert({ reseller_id: owner.kind === 'reseller' ? owner.resellerId : null, name: input.name, description: input.description }).returning('id');
  return Number(row.id);
}

export async function updateGroup(db: Queryable, id: number, input: { name: string; description: string }): Promise<void> {
  await db('destination_groups').where({ id }).update({ name: input.name, description: input.description, updated_at: db.fn.now() });
}

export async function replacePrefixes(db: Queryable, id: number, prefixes: string[]): Promise<void> {
  await db('destination_group_prefixes').where({ group_id: id }).del();
  // In slices: a group may hold thousands of prefixes, and a statement's parameters are limited.
  for (let i = 0; i < prefixes.length; i += 1000) {
    await db('destination_group_prefixes').insert(prefixes.slice(i, i + 1000).map((prefix) => ({ group_id: id, prefix })));
  }
}

/** What keeps a group from being deleted: packages giving it an allowance, and usage recorded against it. */
export async function groupUse(db: Queryable, id: number): Promise<{ packages: string[]; usageRows: number }> {
  const packages = await db('toll_package_groups as pg').join('toll_packages as p', 'p.id', 'pg.package_id').where('pg.group_id', id).orderBy('p.name').pluck('p.name');
  const row = await db('allowance_usage').where({ group_id: id }).count({ n: '*' }).first();
  return { packages, usageRows: Number(row?.n ?? 0) };
}

export async function deleteGroup(db: Queryable, id: number): Promise<void> {
  await db('destination_groups').where({ id }).del();
}

// ---------------------------------------------------------------------------------------------
// Toll packages

function toPackage(r: Record<string, any>, groups: PackageGroup[]): TollPackage {
  return {
    id: Number(r.id), resellerId: r.reseller_id === null ? null : Number(r.reseller_id), name: r.name, description: r.description, currency: String(r.currency).trim(),
    setupFee: new Decimal(r.setup_fee), monthlyFee: new Decimal(r.monthly_fee), retiredAt: r.retired_at ?? null, createdAt: r.created_at, updatedAt: r.updated_at,
    groups, holders: Number(r.holders ?? 0), scheduled: Number(r.scheduled ?? 0),
  };
}

export async function groupsOfPackages(db: Queryable, ids: number[]): Promise<Map<number, PackageGroup[]>> {
  const out = new Map<number, PackageGroup[]>();
  if (!ids.length) return out;
  const rows = await db('toll_package_groups as pg')
    .join('destination_groups as g', 'g.id', 'pg.group_id')
    .whereIn('pg.package_id', ids)
    .select('pg.package_id', 'pg.group_id', 'pg.included_seconds', 'pg.overage_rate', 'g.name', 'g.reseller_id')
    .orderByRaw('lower(g.name), g.id');
  for (const r of rows) {
    const list = out.get(Number(r.package_id)) ?? [];
    list.push({
      groupId: Number(r.group_id), groupName: r.name, groupResellerId: r.reseller_id === null ? null : Number(r.reseller_id),
      includedSeconds: r.included_seconds === null ? null : Number(r.included_seconds), overageRate: r.overage_rate === null ? null : new Decimal(r.overage_rate),
    });
    out.set(Number(r.package_id), list);
  }
  return out;
}

/** How many hold the package at `at`, and how many assignments start later (db.raw with bindings). */
function holderColumns(db: Queryable, at: Date) {
  return [
    db.raw('(select count(*) from package_assignments a where a.toll_package_id = p.id and a.starts_at <= ? and (a.ends_at is null or a.ends_at > ?)) as holders', [at, at]),
    db.raw('(select count(*) from package_assignments a where a.toll_package_id = p.id and a.starts_at > ?) as scheduled', [at]),
  ];
}

/** The owner's packages (retired ones last), with their groups and how many hold each at `at`. */
export async function listPackages(db: Queryable, owner: Owner, at: Date): Promise<TollPackage[]> {
  const rows = await db('toll_packages as p').whereRaw(ownerWhere(owner, 'p.reseller_id')).select('p.*', ...holderColumns(db, at)).orderByRaw('p.retired_at is not null, lower(p.name), p.id');
  const groups = await groupsOfPackages(db, rows.map((r: Record<string, any>) => Number(r.id)));
  return rows.map((r: Record<string, any>) => toPackage(r, groups.get(Number(r.id)) ?? []));
}

export async function getPackage(db: Queryable, owner: Owner, id: number, at: Date, opts: { lock?: boolean } = {}): Promise<TollPackage | undefined> {
  // No key update: an assignment's foreign key (FOR KEY SHARE) does not wait on it, another
  // assignment or a retirement of the same package does.
  if (opts.lock) await db.raw(`select id from toll_packages where id = ? and ${ownerWhere(owner)} for no key update`, [id]);
  const row = await db('toll_packages as p').whereRaw(ownerWhere(owner, 'p.reseller_id')).where('p.id', id).select('p.*', ...holderColumns(db, at)).first();
  if (!row) return undefined;
  const groups = await groupsOfPackages(db, [id]);
  return toPackage(row, groups.get(id) ?? []);
}

export async function packageNameTaken(db: Queryable, owner: Owner, name: string, exceptId?: number): Promise<boolean> {
  const q = db('toll_packages').whereRaw(ownerWhere(owner)).whereRaw('lower(name) = lower(?)', [name]).first('id');
  if (exceptId !== undefined) q.whereNot('id', exceptId);
  return Boolean(await q);
}

export interface PackageRow {
  name: string;
  description: string;
  currency: string;
  setupFee: Decimal;
  monthlyFee: Decimal;
}

export async function insertPackage(db: Queryable, owner: Owner, p: PackageRow): Promise<number> {
  const [row] = await db('toll_packages')
    .insert({ reseller_id: owner.kind === 'reseller' ? owner.resellerId : null, name: p.name, description: p.description, currency: p.currency, setup_fee: p.setupFee.toString(), monthly_fee: p.monthlyFee.toString() })
    .returning('id');
  return Number(row.id);
}

export async function updatePackage(db: Queryable, id: number, p: PackageRow): Promise<void> {
  await db('toll_packages').where({ id }).update({ name: p.name, description: p.description, currency: p.currency, setup_fee: p.setupFee.toString(), monthly_fee: p.monthlyFee.toString(), updated_at: db.fn.now() });
}

export async function replacePackageGroups(db: Queryable, id: number, groups: Array<{ groupId: number; includedSeconds: number | null; overageRate: Decimal | null }>): Promise<void> {
  await db('toll_package_groups').where({ package_id: id }).del();
  if (groups.length) {
    await db('toll_package_groups').insert(groups.map((g) => ({ package_id: id, group_id: g.groupId, included_seconds: g.includedSeconds, overage_rate: g.overageRate?.toString() ?? null })));
  }
}

export async function retirePackage(db: Queryable, id: number): Promise<void> {
  await db('toll_packages').where({ id }).update({ retired_at: db.fn.now(), updated_at: db.fn.now() });
}

// ---------------------------------------------------------------------------------------------
// Assignments

function toAssignment(r: Record<string, any>): TollAssignment {
  return {
    id: Number(r.id), resellerId: Number(r.reseller_id), subscriberId: r.subscriber_id === null ? null : Number(r.subscriber_id), packageId: Number(r.toll_package_id),
    packageName: r.package_name, packageCurrency: String(r.package_currency).trim(), packageRetiredAt: r.package_retired_at ?? null,
    startsAt: r.starts_at, endsAt: r.ends_at ?? null, createdAt: r.created_at, endedRecordedAt: r.ended_recorded_at ?? null,
  };
}

function partyQuery(db: Queryable, party: Party) {
  const q = db('package_assignments as a').join('toll_packages as p', 'p.id', 'a.toll_package_id').whereNotNull('a.toll_package_id');
  if (party.kind === 'reseller') q.where('a.reseller_id', party.resellerId).whereNull('a.subscriber_id');
  else q.where('a.subscriber_id', party.subscriberId);
  return q.select('a.*', 'p.name as package_name', 'p.currency as package_currency', 'p.retired_at as package_retired_at');
}

/** Every toll assignment of the party, history included: latest start first. */
export async function listAssignments(db: Queryable, party: Party): Promise<TollAssignment[]> {
  const rows = await partyQuery(db, party).orderBy([{ column: 'a.starts_at', order: 'desc' }, { column: 'a.id', order: 'desc' }]);
  return rows.map(toAssignment);
}

export async function getAssignment(db: Queryable, party: Party, id: number, opts: { forUpdate?: boolean } = {}): Promise<TollAssignment | undefined> {
  if (opts.forUpdate) await db.raw('select id from package_assignments where id = ? and toll_package_id is not null for no key update', [id]);
  const row = await partyQuery(db, party).where('a.id', id).first();
  return row ? toAssignment(row) : undefined;
}

/** An assignment of the package to the party whose span meets [from, to) (to null: open). */
export async function overlapping(db: Queryable, party: Party, packageId: number, from: Date, to: Date | null, exceptId?: number): Promise<TollAssignment | undefined> {
  const q = partyQuery(db, party)
    .where('a.toll_package_id', packageId)
    .whereRaw('tstzrange(a.starts_at, a.ends_at) && tstzrange(?::timestamptz, ?::timestamptz)', [from.toISOString(), to ? to.toISOString() : null])
    .orderBy('a.starts_at')
    .first();
  if (exceptId !== undefined) q.whereNot('a.id', exceptId);
  const row = await q;
  return row ? toAssignment(row) : undefined;
}

export async function insertAssignment(db: Queryable, a: { resellerId: number; subscriberId: number | null; packageId: number; startsAt: Date; endsAt: Date | null }): Promise<number> {
  const [row] = await db('package_assignments')
    .insert({ reseller_id: a.resellerId, subscriber_id: a.subscriberId, toll_package_id: a.packageId, starts_at: a.startsAt, ends_at: a.endsAt })
    .returning('id');
  return Number(row.id);
}

export async function endAssignment(db: Queryable, id: number, endsAt: Date): Promise<void> {
  await db('package_assignments').where({ id }).update({ ends_at: endsAt, ended_recorded_at: db.fn.now() });
}

// ---------------------------------------------------------------------------------------------
// Cycles and usage

/**
 * The party's billing-cycle rule as stored: its day (a subscriber's null follows its reseller) and
 * its zone (subscriber, else reseller, else the operator's setting), as users.repository resolves
 * a person's zone.
 */
export async function cycleRuleOf(db: Queryable, party: Party): Promise<{ day: number; timeZone: string | null } | undefined> {
  const res =
    party.kind === 'subscriber'
      ? await db.raw(
          `select coalesce(s.billing_cycle_day, r.billing_cycle_day) as day, ${partyTimeZoneSql('s.time_zone', 'r.time_zone')} as zone
           from subscribers s join resellers r on r.id = s.reseller_id where s.id = ?`,
          [party.subscriberId],
        )
      : await db.raw(`select r.billing_cycle_day as day, ${partyTimeZoneSql('r.time_zone')} as zone from resellers r where r.id = ?`, [party.resellerId]);
  const row = res.rows[0];
  return row ? { day: Number(row.day), timeZone: row.zone ?? null } : undefined;
}

/** Seconds used per (assignment, group) in the cycle that starts at `cycleStart`. */
export async function usageIn(db: Queryable, assignmentIds: number[], cycleStart: Date): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (!assignmentIds.length) return out;
  const rows = await db('allowance_usage').whereIn('assignment_id', assignmentIds).where('cycle_start', cycleStart).select('assignment_id', 'group_id', 'seconds_used');
  for (const r of rows) out.set(`${r.assignment_id}:${r.group_id}`, Number(r.seconds_used));
  return out;
}

/** Names of the parties holding the package now or later, for its page: reseller or subscriber. */
export async function holdersOf(db: Queryable, packageId: number, at: Date): Promise<Array<{ assignmentId: number; resellerId: number; resellerName: string; subscriberId: number | null; subscriberName: string | null; accountNumber: string | null; startsAt: Date; endsAt: Date | null; planCurrency: string | null }>> {
  const rows = await db('package_assignments as a')
    .join('resellers as r', 'r.id', 'a.reseller_id')
    .leftJoin('subscribers as s', 's.id', 'a.subscriber_id')
    // The plan that rates the holder's charges the package applies to: a reseller's wholesale plan, a subscriber's retail plan.
    .leftJoin('rate_plans as p', 'p.id', db.raw('CASE WHEN a.subscriber_id IS NULL THEN r.wholesale_plan_id ELSE s.retail_plan_id END'))
    .where('a.toll_package_id', packageId)
    .where((w) => w.whereNull('a.ends_at').orWhere('a.ends_at', '>', at))
    .select('a.id', 'a.reseller_id', 'r.name as reseller_name', 'a.subscriber_id', 's.name as subscriber_name', 's.account_number', 'a.starts_at', 'a.ends_at', db.raw('trim(p.currency) as plan_currency'))
    .orderBy([{ column: 'a.starts_at' }, { column: 'a.id' }])
    .limit(500);
  return rows.map((r: Record<string, any>) => ({
    assignmentId: Number(r.id), resellerId: Number(r.reseller_id), resellerName: r.reseller_name, subscriberId: r.subscriber_id === null ? null : Number(r.subscriber_id),
    subscriberName: r.subscriber_name ?? null, accountNumber: r.account_number ?? null, startsAt: r.starts_at, endsAt: r.ends_at ?? null, planCurrency: r.plan_currency ?? null,
  }));
}

/**
 * The currencies of the owner's rate plans, sorted: what the holders of its toll packages are
 * rated in (the operator's plans are the resellers' wholesale plans, a reseller's its subscribers' retail plans).
 */
export async function planCurrencies(db: Queryable, owner: Owner): Promise<string[]> {
  const q = db('rate_plans').distinct(db.raw('trim(currency) as currency')).orderBy('currency');
  if (owner.kind === 'reseller') q.where('reseller_id', owner.resellerId);
  else q.whereNull('reseller_id');
  return ((await q) as Array<{ currency: string }>).map((r) => r.currency);
}

/** The currency of the plan that rates the party's charges its toll packages apply to (null: no plan yet). */
export async function planCurrencyOf(db: Queryable, party: Party): Promise<string | null> {
  const row =
    party.kind === 'subscriber'
      ? await db('subscribers as s').leftJoin('rate_plans as p', 'p.id', 's.retail_plan_id').where('s.id', party.subscriberId).first(db.raw('trim(p.currency) as currency'))
      : await db('resellers as r').leftJoin('rate_plans as p', 'p.id', 'r.wholesale_plan_id').where('r.id', party.resellerId).first(db.raw('trim(p.currency) as currency'));
  return (row as { currency: string | null } | undefined)?.currency ?? null;
}
