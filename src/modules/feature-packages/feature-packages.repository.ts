import type { Queryable } from '../../db/knex';
import { Decimal } from '../../domain/money/decimal';

/**
 * The tables of feature packages (migration 20261209000200_packages): the operator's catalogue of
 * features, packages (the operator's, reseller_id null, and resellers' built on one of them), the
 * offers of the operator's packages to resellers, and package_assignments rows of feature packages
 * (the same table holds toll packages' rows: every query here keeps to feature_package_id).
 */

export interface Feature {
  id: number;
  code: string;
  name: string;
  description: string;
  retiredAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A feature as a package holds it. */
export interface FeatureRef {
  id: number;
  code: string;
  name: string;
  retired: boolean;
}

export interface FeaturePackage {
  id: number;
  /** Null: the operator's. */
  resellerId: number | null;
  basePackageId: number | null;
  name: string;
  description: string;
  currency: string;
  /** Exact decimal text, trailing zeros dropped ("5", "0.125"). */
  setupFee: string;
  monthlyFee: string;
  retiredAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface Offer {
  packageId: number;
  resellerId: number;
  resellerName: string;
  createdAt: Date;
}

export interface Assignment {
  id: number;
  resellerId: number;
  subscriberId: number;
  featurePackageId: number;
  packageName: string;
  currency: string;
  setupFee: string;
  monthlyFee: string;
  startsAt: Date;
  endsAt: Date | null;
  createdAt: Date;
  endedRecordedAt: Date | null;
}

/** numeric comes back as text (never a JS number): kept exact, trailing zeros dropped. */
const amount = (v: unknown): string => new Decimal(String(v)).toFixed();

function toFeature(r: Record<string, any>): Feature {
  return { id: Number(r.id), code: r.code, name: r.name, description: r.description, retiredAt: r.retired_at, createdAt: r.created_at, updatedAt: r.updated_at };
}

function toPackage(r: Record<string, any>): FeaturePackage {
  return {
    id: Number(r.id),
    resellerId: r.reseller_id === null ? null : Number(r.reseller_id),
    basePackageId: r.base_package_id === null ? null : Number(r.base_package_id),
    name: r.name,
    description: r.description,
    currency: String(r.currency).trim(),
    setupFee: amount(r.setup_fee),
    monthlyFee: amount(r.monthly_fee),
    retiredAt: r.retired_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

// ---- Features ----

export async function listFeatures(db: Queryable): Promise<Feature[]> {
  const rows = await db('features').select('*').orderByRaw('retired_at is not null, lower(code)');
  return rows.map(toFeature);
}

export async function getFeature(db: Queryable, id: number, opts: { forUpdate?: boolean } = {}): Promise<Feature | undefined> {
  const q = db('features').where('id', id).first();
  if (opts.forUpdate) q.forUpdate();
  const row = await q;
  return row ? toFeature(row) : undefined;
}

export async function insertFeature(db: Queryable, v: { code: string; name: string; description: string }): Promise<Feature> {
  const [row] = await db('features').insert(v).returning('*');
  return toFeature(row);
}

export async function updateFeature(db: Queryable, id: number, v: { code: string; name: string; description: string }): Promise<Feature> {
  const [row] = await db('features').where('id', id).update({ ...v, updated_at: db.fn.now() }).returning('*');
  return toFeature(row);
}

export async function retireFeature(db: Queryable, id: number): Promise<Feature> {
  const [row] = await db('features').where('id', id).update({ retired_at: db.fn.now(), updated_at: db.fn.now() }).returning('*');
  return toFeature(row);
}

/** Packages (not retired) that hold each feature, by owner: the operator's and resellers'. */
export async function featureUses(db: Queryable, featureIds?: number[]): Promise<Map<number, { operator: number; reseller: number }>> {
  const q = db('feature_package_features as pf')
    .join('feature_packages as p', 'p.id', 'pf.package_id')
    .whereNull('p.retired_at')
    .groupBy('pf.feature_id')
    .select('pf.feature_id', db.raw('count(*) filter (where p.reseller_id is null)::int as operator'), db.raw('count(*) filter (where p.reseller_id is not null)::int as reseller'));
  if (featureIds) q.whereIn('pf.feature_id', featureIds);
  const out = new Map<number, { operator: number; reseller: number }>();
  for (const r of await q) out.set(Number(r.feature_id), { operator: Number(r.operator), reseller: Number(r.reseller) });
  return out;
}

// ---- Packages ----

export interface PackageFilter {
  /** The operator's packages only. */
  operator?: boolean;
  resellerId?: number;
  basePackageId?: number;
  /** The operator's packages offered to this reseller. */
  offeredTo?: number;
  ids?: number[];
}

export async function listPackages(db: Queryable, f: PackageFilter): Promise<FeaturePackage[]> {
  const q = db('feature_packages as p').select('p.*').orderByRaw('p.retired_at is not null, lower(p.name), p.id');
  if (f.operator) q.whereNull('p.reseller_id');
  if (f.resellerId !== undefined) q.where('p.reseller_id', f.resellerId);
  if (f.basePackageId !== undefined) q.where('p.base_package_id', f.basePackageId);
  if (f.ids) q.whereIn('p.id', f.ids);
  if (f.offeredTo !== undefined) {
    q.whereNull('p.reseller_id').whereExists(db('feature_package_offers as o').whereRaw('o.package_id = p.id').where('o.reseller_id', f.offeredTo).select(db.raw('1')));
  }
  const rows = await q;
  return rows.map(toPackage);
}

export async function getPackage(db: Queryable, id: number, opts: { lock?: 'update' | 'share' } = {}): Promise<FeaturePackage | undefined> {
  const q = db('feature_packages').where('id', id).first();
  if (opts.lock === 'update') q.forUpdate();
  if (opts.lock === 'share') q.forShare();
  const row = await q;
  return row ? toPackage(row) : undefined;
}

/** The features of each package, by code. */
export async function packageFeatures(db: Queryable, packageIds: number[]): Promise<Map<number, FeatureRef[]>> {
  const out = new Map<number, FeatureRef[]>(packageIds.map((id) => [id, []]));
  if (!packageIds.length) return out;
  const rows = await db('feature_package_features as pf')
    .join('features as f', 'f.id', 'pf.feature_id')
    .whereIn('pf.package_id', packageIds)
    .select('pf.package_id', 'f.id', 'f.code', 'f.name', 'f.retired_at')
    .orderByRaw('lower(f.code)');
  for (const r of rows) out.get(Number(r.package_id))?.push({ id: Number(r.id), code: r.code, name: r.name, retired: r.retired_at !== null });
  return out;
}

/** The resellers each of the operator's packages is offered to. */
export async function offersOf(db: Queryable, packageIds: number[]): Promise<Map<number, Offer[]>> {
  const out = new Map<number, Offer[]>(packageIds.map((id) => [id, []]));
  if (!packageIds.length) return out;
  const rows = await db('feature_package_offers as o')
    .join('resellers as r', 'r.id', 'o.reseller_id')
    .whereIn('o.package_id', packageIds)
    .select('o.package_id', 'o.reseller_id', 'o.created_at', 'r.name')
    .orderByRaw('lower(r.name)');
  for (const r of rows) out.get(Number(r.package_id))?.push({ packageId: Number(r.package_id), resellerId: Number(r.reseller_id), resellerName: r.name, createdAt: r.created_at });
  return out;
}

/**
 * Whether the operator's package is offered to the reseller. `lock`: keeps the offer from being
 * withdrawn until the caller's transaction ends (a package built or an assignment made on it).
 */
export async function isOffered(db: Queryable, packageId: number, resellerId: number, opts: { lock?: boolean } = {}): Promise<boolean> {
  const q = db('feature_package_offers').where({ package_id: packageId, reseller_id: resellerId }).first('package_id');
  if (opts.lock) q.forShare();
  return (await q) !== undefined;
}

/**
 * Subscribers holding each package at `at` (by the package itself, or with `byBase` by the
 * resellers' packages built on it), optionally of one reseller only.
 */
export async function subscriberCounts(db: Queryable, packageIds: number[], at: Date, opts: { byBase?: boolean; resellerId?: number } = {}): Promise<Map<number, number>> {
  const out = new Map<number, number>(packageIds.map((id) => [id, 0]));
  if (!packageIds.length) return out;
  const key = opts.byBase ? 'p.base_package_id' : 'p.id';
  const q = db('package_assignments as a')
    .join('feature_packages as p', 'p.id', 'a.feature_package_id')
    .whereIn(key, packageIds)
    .where('a.starts_at', '<=', at)
    .where((w) => w.whereNull('a.ends_at').orWhere('a.ends_at', '>', at))
    .groupBy(key)
    .select(db.raw(`${key} as id`), db.raw('count(distinct a.subscriber_id)::int as n'));
  if (opts.resellerId !== undefined) q.where('a.reseller_id', opts.resellerId);
  for (const r of await q) out.set(Number(r.id), Number(r.n));
  return out;
}

/** Resellers' packages (not retired) built on the operator's package that hold any of the features. */
export async function dependentsHolding(db: Queryable, basePackageId: number, featureIds: number[]): Promise<Array<{ packageName: string; resellerName: string; featureCode: string }>> {
  if (!featureIds.length) return [];
  const rows = await db('feature_packages as p')
    .join('resellers as r', 'r.id', 'p.reseller_id')
    .join('feature_package_features as pf', 'pf.package_id', 'p.id')
    .join('features as f', 'f.id', 'pf.feature_id')
    .where('p.base_package_id', basePackageId)
    .whereNull('p.retired_at')
    .whereIn('pf.feature_id', featureIds)
    .select('p.name as package_name', 'r.name as reseller_name', 'f.code')
    .orderByRaw('lower(r.name), lower(p.name), lower(f.code)');
  return rows.map((r: Record<string, any>) => ({ packageName: r.package_name, resellerName: r.reseller_name, featureCode: r.code }));
}

interface PackageColumns {
  name: string;
  description: string;
  currency: string;
  setup_fee: string;
  monthly_fee: string;
}

export async function insertPackage(db: Queryable, v: PackageColumns & { reseller_id: number | null; base_package_id: number | null }): Promise<FeaturePackage> {
  const [row] = await db('feature_packages').insert(v).returning('*');
  return toPackage(row);
}

export async function updatePackage(db: Queryable, id: number, v: PackageColumns): Promise<FeaturePackage> {
  const [row] = await db('feature_packages').where('id', id).update({ ...v, updated_at: db.fn.now() }).returning('*');
  return toPackage(row);
}

export async function retirePackage(db: Queryable, id: number): Promise<FeaturePackage> {
  const [row] = await db('feature_packages').where('id', id).update({ retired_at: db.fn.now(), updated_at: db.fn.now() }).returning('*');
  return toPackage(row);
}

export async function setPackageFeatures(db: Queryable, packageId: number, featureIds: number[]): Promise<void> {
  await db('feature_package_features').where('package_id', packageId).del();
  if (featureIds.length) await db('feature_package_features').insert(featureIds.map((feature_id) => ({ package_id: packageId, feature_id })));
}

export async function insertOffer(db: Queryable, packageId: number, resellerId: number): Promise<void> {
  await db('feature_package_offers').insert({ package_id: packageId, reseller_id: resellerId });
}

export async function deleteOffer(db: Queryable, packageId: number, resellerId: number): Promise<boolean> {
  return (await db('feature_package_offers').where({ package_id: packageId, reseller_id: resellerId }).del()) > 0;
}

// ---- Assignments (rows of package_assignments with a feature package) ----

function toAssignment(r: Record<string, any>): Assignment {
  return {
    id: Number(r.id),
    resellerId: Number(r.reseller_id),
    subscriberId: Number(r.subscriber_id),
    featurePackageId: Number(r.feature_package_id),
    packageName: r.package_name,
    currency: String(r.currency).trim(),
    setupFee: amount(r.setup_fee),
    monthlyFee: amount(r.monthly_fee),
    startsAt: r.starts_at,
    endsAt: r.ends_at,
    createdAt: r.created_at,
    endedRecordedAt: r.ended_recorded_at,
  };
}

const assignmentQuery = (db: Queryable) =>
  db('package_assignments as a')
    .join('feature_packages as p', 'p.id', 'a.feature_package_id')
    .whereNotNull('a.feature_package_id')
    .select('a.*', 'p.name as package_name', 'p.currency', 'p.setup_fee', 'p.monthly_fee');

/** The subscriber's feature package assignments, latest start first. */
export async function listAssignments(db: Queryable, resellerId: number, subscriberId: number): Promise<Assignment[]> {
  const rows = await assignmentQuery(db).where({ 'a.reseller_id': resellerId, 'a.subscriber_id': subscriberId }).orderBy([{ column: 'a.starts_at', order: 'desc' }, { column: 'a.id', order: 'desc' }]);
  return rows.map(toAssignment);
}

export async function getAssignment(db: Queryable, resellerId: number, subscriberId: number, id: number, opts: { forUpdate?: boolean } = {}): Promise<Assignment | undefined> {
  const q = assignmentQuery(db).where({ 'a.reseller_id': resellerId, 'a.subscriber_id': subscriberId, 'a.id': id }).first();
  if (opts.forUpdate) q.forUpdate('a');
  const row = await q;
  return row ? toAssignment(row) : undefined;
}

/** Assignments of the same package to the subscriber that share an instant with [start, end). */
export async function overlapping(db: Queryable, subscriberId: number, packageId: number, start: Date, end: Date | null, exceptId?: number): Promise<Assignment[]> {
  const q = assignmentQuery(db)
    .where({ 'a.subscriber_id': subscriberId, 'a.feature_package_id': packageId })
    .where((w) => w.whereNull('a.ends_at').orWhere('a.ends_at', '>', start))
    .orderBy('a.starts_at');
  if (end) q.where('a.starts_at', '<', end);
  if (exceptId !== undefined) q.whereNot('a.id', exceptId);
  return (await q).map(toAssignment);
}

export async function insertAssignment(db: Queryable, v: { resellerId: number; subscriberId: number; packageId: number; startsAt: Date; endsAt: Date | null }): Promise<{ id: number }> {
  const [row] = await db('package_assignments')
    .insert({ reseller_id: v.resellerId, subscriber_id: v.subscriberId, feature_package_id: v.packageId, starts_at: v.startsAt, ends_at: v.endsAt })
    .returning('id');
  return { id: Number(row.id) };
}

export async function setAssignmentEnd(db: Queryable, id: number, endsAt: Date): Promise<void> {
  await db('package_assignments').where('id', id).whereNotNull('feature_package_id').update({ ends_at: endsAt, ended_recorded_at: db.fn.now() });
}

/**
 * The subscriber's feature set at an instant: every feature of the packages assigned to it then,
 * each with the packages that give it.
 */
export async function featureSetAt(db: Queryable, resellerId: number, subscriberId: number, at: Date): Promise<Array<FeatureRef & { packages: string[] }>> {
  const rows = await db('package_assignments as a')
    .join('feature_packages as p', 'p.id', 'a.feature_package_id')
    .join('feature_package_features as pf', 'pf.package_id', 'p.id')
    .join('features as f', 'f.id', 'pf.feature_id')
    .where({ 'a.reseller_id': resellerId, 'a.subscriber_id': subscriberId })
    .where('a.starts_at', '<=', at)
    .where((w) => w.whereNull('a.ends_at').orWhere('a.ends_at', '>', at))
    .groupBy('f.id', 'f.code', 'f.name', 'f.retired_at')
    .select('f.id', 'f.code', 'f.name', 'f.retired_at', db.raw('array_agg(distinct p.name order by p.name) as packages'))
    .orderByRaw('lower(f.code)');
  return rows.map((r: Record<string, any>) => ({ id: Number(r.id), code: r.code, name: r.name, retired: r.retired_at !== null, packages: r.packages as string[] }));
}

/** Active and inactive resellers by name, for the operator's offer form. */
export async function resellerChoices(db: Queryable): Promise<Array<{ id: number; name: string; status: string }>> {
  const rows = await db('resellers').select('id', 'name', 'status').orderByRaw('lower(name)');
  return rows.map((r: Record<string, any>) => ({ id: Number(r.id), name: r.name, status: r.status }));
}

/** How many resellers' packages are built on each of the operator's packages. */
export async function builtOnCounts(db: Queryable, baseIds: number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>(baseIds.map((id) => [id, 0]));
  if (!baseIds.length) return out;
  const rows = await db('feature_packages').whereIn('base_package_id', baseIds).groupBy('base_package_id').select('base_package_id', db.raw('count(*)::int as n'));
  for (const r of rows) out.set(Number(r.base_package_id), Number(r.n));
  return out;
}
