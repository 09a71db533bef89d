import type { Db, Queryable, Tx } from '../../db/knex';
import { rethrowDuplicate } from '../../db/knex';
import { ConflictError, FieldErrors, ForbiddenError, NotFoundError } from '../../domain/errors';
import { assignmentState, featureChoiceProblems, marginOf, readLocalMoment, type AssignmentState } from '../../domain/packages/feature-packages';
import type { Actor } from '../../domain/tenancy/actor';
import type { Scope } from '../../domain/tenancy/roles';
import { formatDateTime } from '../../domain/time/zones';
import { recordAudit } from '../audit/audit.repository';
import { getReseller as findReseller } from '../resellers/resellers.repository';
import { getSubscriber as findSubscriber } from '../subscribers/subscribers.repository';
import * as repo from './feature-packages.repository';
import type { AssignInput, FeatureInput, PackageInput, ResellerPackageInput } from './feature-packages.schemas';

export type { Assignment, Feature, FeaturePackage, FeatureRef, Offer } from './feature-packages.repository';

/**
 * Feature packages (issue 11). The operator keeps a catalogue of switch features and packages of
 * them, offered to chosen resellers at wholesale prices; a reseller builds its own packages, each
 * on one package offered to it and from that package's features only, at its retail prices, and
 * assigns them to its subscribers over time (history kept: ended, never deleted). Charges are not
 * posted here: the recurring-charges job reads the assignments (retail: the package; wholesale:
 * its base).
 */

const UNIQUE: Record<string, [string, string]> = {
  features_code_key: ['code', 'Another feature has this code (codes are compared without case)'],
  feature_packages_owner_name_key: ['name', 'Another package has this name'],
};

async function getReseller(db: Queryable, scope: Scope, id: number) {
  const r = await findReseller(db, scope, id);
  if (!r) throw new NotFoundError();
  return r;
}

async function getSubscriber(db: Queryable, scope: Scope, id: number) {
  const s = await findSubscriber(db, scope, id);
  if (!s) throw new NotFoundError();
  return s;
}

const operatorOnly = (scope: Scope): void => {
  // Operator-level rows: to anyone else they do not exist.
  if (scope.kind !== 'wholesale') throw new NotFoundError();
};

function writerReseller(actor: Actor): number {
  if (actor.scope.kind !== 'reseller') throw new ForbiddenError('Only the reseller’s own admins change its packages and assignments');
  return actor.scope.resellerId;
}

const featureAudit = (f: repo.Feature) => ({ code: f.code, name: f.name, description: f.description });
const packageAudit = (p: repo.FeaturePackage, features: number[]) => ({
  name: p.name, description: p.description, currency: p.currency, setup_fee: p.setupFee, monthly_fee: p.monthlyFee, base_package_id: p.basePackageId, feature_ids: [...features].sort((a, b) => a - b),
});

// ---- The feature catalogue (operator) ----

export async function listFeatures(db: Db, scope: Scope): Promise<Array<repo.Feature & { use: { operator: number; reseller: number } }>> {
  operatorOnly(scope);
  const [features, uses] = await Promise.all([repo.listFeatures(db), repo.featureUses(db)]);
  return features.map((f) => ({ ...f, use: uses.get(f.id) ?? { operator: 0, reseller: 0 } }));
}

export async function getFeature(db: Db, scope: Scope, id: number): Promise<repo.Feature & { use: { operator: number; reseller: number } }> {
  operatorOnly(scope);
  const f = await repo.getFeature(db, id);
  if (!f) throw new NotFoundError();
  return { ...f, use: (await repo.featureUses(db, [id])).get(id) ?? { operator: 0, reseller: 0 } };
}

export async function createFeature(db: Db, actor: Actor, input: FeatureInput): Promise<repo.Feature> {
  operatorOnly(actor.scope);
  return db.transaction(async (tx) => {
    const f = await repo.insertFeature(tx, { code: input.code, name: input.name, description: input.description ?? '' }).catch((e) => rethrowDuplicate(e, UNIQUE));
    await recordAudit(tx, actor, { resellerId: null, entityType: 'feature', entityId: f.id, action: 'create', after: featureAudit(f) });
    return f;
  });
}

export async function updateFeature(db: Db, actor: Actor, id: number, input: FeatureInput): Promise<repo.Feature> {
  operatorOnly(actor.scope);
  return db.transaction(async (tx) => {
    const before = await repo.getFeature(tx, id, { forUpdate: true });
    if (!before) throw new NotFoundError();
    const f = await repo.updateFeature(tx, id, { code: input.code, name: input.name, description: input.description ?? '' }).catch((e) => rethrowDuplicate(e, UNIQUE));
    await recordAudit(tx, actor, { resellerId: null, entityType: 'feature', entityId: id, action: 'update', before: featureAudit(before), after: featureAudit(f) });
    return f;
  });
}

/** Retires a feature: it goes into no package from now on; packages holding it keep it. */
export async function retireFeature(db: Db, actor: Actor, id: number): Promise<repo.Feature> {
  operatorOnly(actor.scope);
  return db.transaction(async (tx) => {
    const before = await repo.getFeature(tx, id, { forUpdate: true });
    if (!before) throw new NotFoundError();
    if (before.retiredAt) throw new ConflictError(`${before.name} (${before.code}) is already retired.`);
    const f = await repo.retireFeature(tx, id);
    await recordAudit(tx, actor, { resellerId: null, entityType: 'feature', entityId: id, action: 'retire', before: featureAudit(before), after: { retired_at: f.retiredAt } });
    return f;
  });
}

// ---- Packages: what pages show ----

export interface PackageView extends repo.FeaturePackage {
  features: repo.FeatureRef[];
  /** Subscribers holding it now (for the operator's: through the resellers' packages built on it). */
  subscribers: number;
}

export interface OperatorPackageView extends PackageView {
  offers: repo.Offer[];
  dependents: number;
}

export interface ResellerPackageView extends PackageView {
  base: (repo.FeaturePackage & { offered: boolean; features: repo.FeatureRef[] }) | null;
  /** Retail minus wholesale (null when the currencies differ). */
  margin: { setup: string | null; monthly: string | null };
  /** Whether it can be given to more subscribers, and if not why. */
  assignable: boolean;
  notAssignableWhy: string | null;
}

async function withFeatures(db: Queryable, packages: repo.FeaturePackage[]): Promise<Map<number, repo.FeatureRef[]>> {
  return repo.packageFeatures(db, packages.map((p) => p.id));
}

/** The operator's packages, each with its features, offers, packages built on it and subscribers. */
export async function listOperatorPackages(db: Db, scope: Scope, now = new Date()): Promise<OperatorPackageView[]> {
  operatorOnly(scope);
  const packages = await repo.listPackages(db, { operator: true });
  const ids = packages.map((p) => p.id);
  const [features, offers, subs, dependents] = await Promise.all([
    withFeatures(db, packages), repo.offersOf(db, ids), repo.subscriberCounts(db, ids, now, { byBase: true }),
    repo.builtOnCounts(db, ids),
  ]);
  return packages.map((p) => ({ ...p, features: features.get(p.id) ?? [], offers: offers.get(p.id) ?? [], subscribers: subs.get(p.id) ?? 0, dependents: dependents.get(p.id) ?? 0 }));
}

/** One of the operator's packages, with the resellers' packages built on it (the operator sees them all). */
export async function operatorPackage(db: Db, scope: Scope, id: number, now = new Date()) {
  operatorOnly(scope);
  const p = await repo.getPackage(db, id);
  if (!p || p.resellerId !== null) throw new NotFoundError();
  const built = await repo.listPackages(db, { basePackageId: id });
  const [features, offers, subs, builtSubs, resellers] = await Promise.all([
    withFeatures(db, [p, ...built]), repo.offersOf(db, [id]), repo.subscriberCounts(db, [id], now, { byBase: true }),
    repo.subscriberCounts(db, built.map((b) => b.id), now), repo.resellerChoices(db),
  ]);
  const names = new Map(resellers.map((r) => [r.id, r.name]));
  const pkgOffers = offers.get(id) ?? [];
  const offered = new Set(pkgOffers.map((o) => o.resellerId));
  return {
    pkg: { ...p, features: features.get(id) ?? [], offers: pkgOffers, subscribers: subs.get(id) ?? 0, dependents: built.length } as OperatorPackageView,
    built: built.map((b) => ({ ...b, resellerName: names.get(b.resellerId as number) ?? '', features: features.get(b.id) ?? [], subscribers: builtSubs.get(b.id) ?? 0 })),
    notOffered: resellers.filter((r) => !offered.has(r.id)),
  };
}

/** The operator's packages offered to a reseller (its people, or the operator on its page): features and wholesale prices, never the other offers. */
export async function offeredTo(db: Db, scope: Scope, resellerId: number): Promise<PackageView[]> {
  await getReseller(db, scope, resellerId);
  const packages = await repo.listPackages(db, { offeredTo: resellerId });
  const features = await withFeatures(db, packages);
  // Subscribers of this reseller only, through its own packages built on each.
  const subs = await repo.subscriberCounts(db, packages.map((p) => p.id), new Date(), { byBase: true, resellerId });
  return packages.map((p) => ({ ...p, features: features.get(p.id) ?? [], subscribers: subs.get(p.id) ?? 0 }));
}

/** Features the operator may put in a package: the catalogue's, retired ones only where held already. */
export async function catalogueChoices(db: Db, scope: Scope): Promise<repo.Feature[]> {
  operatorOnly(scope);
  return repo.listFeatures(db);
}

function checkFeatures(chosen: number[], allowed: Map<number, { retired: boolean; code: string }>, held: Set<number>, notAllowed: string): void {
  const problems = featureChoiceProblems(chosen, allowed, held);
  if (!problems.length) return;
  const retired = problems.filter((p) => p.why === 'retired').map((p) => allowed.get(p.id)?.code);
  throw new FieldErrors({ feature_ids: problems.some((p) => p.why === 'not allowed') ? notAllowed : `Retired features go into no package: ${retired.join(', ')}` });
}

function packageColumns(input: PackageInput) {
  return { name: input.name, description: input.description ?? '', currency: input.currency, setup_fee: input.setup_fee.toFixed(), monthly_fee: input.monthly_fee.toFixed() };
}

// ---- The operator's packages: changes ----

export async function createOperatorPackage(db: Db, actor: Actor, input: PackageInput): Promise<repo.FeaturePackage> {
  operatorOnly(actor.scope);
  return db.transaction(async (tx) => {
    const catalogue = new Map((await repo.listFeatures(tx)).map((f) => [f.id, { retired: f.retiredAt !== null, code: f.code }]));
    const ids = [...new Set(input.feature_ids)];
    checkFeatures(ids, catalogue, new Set(), 'Choose features of the catalogue');
    const p = await repo.insertPackage(tx, { ...packageColumns(input), reseller_id: null, base_package_id: null }).catch((e) => rethrowDuplicate(e, UNIQUE));
    await repo.setPackageFeatures(tx, p.id, ids);
    await recordAudit(tx, actor, { resellerId: null, entityType: 'feature_package', entityId: p.id, action: 'create', after: packageAudit(p, ids) });
    return p;
  });
}

export async function updateOperatorPackage(db: Db, actor: Actor, id: number, input: PackageInput): Promise<repo.FeaturePackage> {
  operatorOnly(actor.scope);
  return db.transaction(async (tx) => {
    const before = await repo.getPackage(tx, id, { lock: 'update' });
    if (!before || before.resellerId !== null) throw new NotFoundError();
    if (before.retiredAt) throw new ConflictError(`${before.name} is retired: it can no longer be changed.`);
    const held = new Set((await repo.packageFeatures(tx, [id])).get(id)?.map((f) => f.id));
    const catalogue = new Map((await repo.listFeatures(tx)).map((f) => [f.id, { retired: f.retiredAt !== null, code: f.code }]));
    const ids = [...new Set(input.feature_ids)];
    checkFeatures(ids, catalogue, held, 'Choose features of the catalogue');
    // A feature the resellers' packages built on it hold stays until they drop it (their packages
    // hold only features of their base).
    const removed = [...held].filter((f) => !ids.includes(f));
    const holding = await repo.dependentsHolding(tx, id, removed);
    if (holding.length) {
      const list = holding.slice(0, 5).map((h) => `${h.featureCode} in ${h.resellerName}’s ${h.packageName}`).join(', ');
      throw new FieldErrors({ feature_ids: `Packages of resellers built on ${before.name} include features you removed: ${list}${holding.length > 5 ? ', …' : ''}. They must remove them first.` });
    }
    const p = await repo.updatePackage(tx, id, packageColumns(input)).catch((e) => rethrowDuplicate(e, UNIQUE));
    await repo.setPackageFeatures(tx, id, ids);
    await recordAudit(tx, actor, { resellerId: null, entityType: 'feature_package', entityId: id, action: 'update', before: packageAudit(before, [...held]), after: packageAudit(p, ids) });
    return p;
  });
}

/** Retires the operator's package: offered to no one new, nothing new built on or assigned from it; what exists goes on. */
export async function retireOperatorPackage(db: Db, actor: Actor, id: number): Promise<repo.FeaturePackage> {
  operatorOnly(actor.scope);
  return db.transaction(async (tx) => {
    const before = await repo.getPackage(tx, id, { lock: 'update' });
    if (!before || before.resellerId !== null) throw new NotFoundError();
    if (before.retiredAt) throw new ConflictError(`${before.name} is already retired.`);
    const p = await repo.retirePackage(tx, id);
    await recordAudit(tx, actor, { resellerId: null, entityType: 'feature_package', entityId: id, action: 'retire', after: { retired_at: p.retiredAt } });
    return p;
  });
}

export async function offerPackage(db: Db, actor: Actor, id: number, resellerId: number): Promise<{ pkg: repo.FeaturePackage; resellerName: string }> {
  operatorOnly(actor.scope);
  return db.transaction(async (tx) => {
    const p = await repo.getPackage(tx, id, { lock: 'share' });
    if (!p || p.resellerId !== null) throw new NotFoundError();
    if (p.retiredAt) throw new FieldErrors({ reseller_id: `${p.name} is retired: it is offered to no one new` });
    const reseller = await findReseller(tx, { kind: 'wholesale' }, resellerId);
    if (!reseller) throw new FieldErrors({ reseller_id: 'Choose a reseller' });
    if (await repo.isOffered(tx, id, resellerId)) throw new FieldErrors({ reseller_id: `${p.name} is already offered to ${reseller.name}` });
    await repo.insertOffer(tx, id, resellerId);
    // The reseller's own event: its offer (name and wholesale prices), nothing of other resellers.
    await recordAudit(tx, actor, { resellerId, entityType: 'feature_package', entityId: id, action: 'offer', after: { reseller_id: resellerId, name: p.name, currency: p.currency, setup_fee: p.setupFee, monthly_fee: p.monthlyFee } });
    return { pkg: p, resellerName: reseller.name };
  });
}

/** What withdrawing an offer reaches: the reseller's packages built on it and their subscribers now. */
export async function withdrawImpact(db: Db, scope: Scope, id: number, resellerId: number) {
  operatorOnly(scope);
  const built = await repo.listPackages(db, { basePackageId: id, resellerId });
  const subs = await repo.subscriberCounts(db, [id], new Date(), { byBase: true, resellerId });
  return { packages: built.length, subscribers: subs.get(id) ?? 0 };
}

/** Withdraws an offer: the reseller builds and assigns nothing new on it; its assignments go on. */
export async function withdrawOffer(db: Db, actor: Actor, id: number, resellerId: number): Promise<{ pkg: repo.FeaturePackage; resellerName: string }> {
  operatorOnly(actor.scope);
  return db.transaction(async (tx) => {
    const p = await repo.getPackage(tx, id);
    if (!p || p.resellerId !== null) throw new NotFoundError();
    const reseller = await findReseller(tx, { kind: 'wholesale' }, resellerId);
    if (!reseller || !(await repo.deleteOffer(tx, id, resellerId))) throw new NotFoundError();
    await recordAudit(tx, actor, { resellerId, entityType: 'feature_package', entityId: id, action: 'withdraw', before: { reseller_id: resellerId, name: p.name } });
    return { pkg: p, resellerName: reseller.name };
  });
}

// ---- A reseller's packages ----

async function resellerViews(db: Queryable, resellerId: number, packages: repo.FeaturePackage[], now: Date): Promise<ResellerPackageView[]> {
  const baseIds = [...new Set(packages.map((p) => p.basePackageId as number))];
  const [features, subs, bases, offered, baseFeatures] = await Promise.all([
    withFeatures(db, packages), repo.subscriberCounts(db, packages.map((p) => p.id), now, { resellerId }),
    repo.listPackages(db, { ids: baseIds }), repo.listPackages(db, { offeredTo: resellerId }), repo.packageFeatures(db, baseIds),
  ]);
  const offeredIds = new Set(offered.map((o) => o.id));
  const baseById = new Map(bases.map((b) => [b.id, { ...b, offered: offeredIds.has(b.id), features: baseFeatures.get(b.id) ?? [] }]));
  return packages.map((p) => {
    const base = baseById.get(p.basePackageId as number) ?? null;
    const why = p.retiredAt ? 'it is retired'
      : !base ? 'its base package is gone'
      : !base.offered ? `the operator no longer offers ${base.name}`
      : base.retiredAt ? `the operator retired ${base.name}` : null;
    return {
      ...p,
      features: features.get(p.id) ?? [],
      subscribers: subs.get(p.id) ?? 0,
      base,
      margin: base
        ? { setup: marginOf({ currency: p.currency, amount: p.setupFee }, { currency: base.currency, amount: base.setupFee }), monthly: marginOf({ currency: p.currency, amount: p.monthlyFee }, { currency: base.currency, amount: base.monthlyFee }) }
        : { setup: null, monthly: null },
      assignable: why === null,
      notAssignableWhy: why,
    };
  });
}

export async function listResellerPackages(db: Db, scope: Scope, resellerId: number, now = new Date()): Promise<ResellerPackageView[]> {
  await getReseller(db, scope, resellerId);
  return resellerViews(db, resellerId, await repo.listPackages(db, { resellerId }), now);
}

export async function resellerPackage(db: Db, scope: Scope, id: number, now = new Date()): Promise<ResellerPackageView> {
  const p = await repo.getPackage(db, id);
  // A reseller's people reach only their own; the operator any reseller's.
  if (!p || p.resellerId === null || (scope.kind !== 'wholesale' && scope.resellerId !== p.resellerId)) throw new NotFoundError();
  const [view] = await resellerViews(db, p.resellerId, [p], now);
  return view as ResellerPackageView;
}

/** The base a reseller builds on: offered to it and not retired (locked so neither changes meanwhile). */
async function usableBase(tx: Tx, resellerId: number, baseId: number, field: string): Promise<repo.FeaturePackage> {
  const base = await repo.getPackage(tx, baseId, { lock: 'share' });
  // Not offered and not there are the same answer: another reseller's offers are not told.
  if (!base || base.resellerId !== null || !(await repo.isOffered(tx, baseId, resellerId, { lock: true }))) throw new FieldErrors({ [field]: 'Choose a package the operator offers you' });
  if (base.retiredAt) throw new FieldErrors({ [field]: `The operator retired ${base.name}: nothing new is built on it` });
  return base;
}

async function checkResellerFeatures(tx: Tx, base: repo.FeaturePackage, chosen: number[], held: Set<number>): Promise<void> {
  const allowed = new Map(((await repo.packageFeatures(tx, [base.id])).get(base.id) ?? []).map((f) => [f.id, { retired: f.retired, code: f.code }]));
  checkFeatures(chosen, allowed, held, `Choose features of ${base.name} only: a package holds only features the operator offers in its base`);
}

export async function createResellerPackage(db: Db, actor: Actor, input: ResellerPackageInput): Promise<repo.FeaturePackage> {
  const resellerId = writerReseller(actor);
  return db.transaction(async (tx) => {
    const base = await usableBase(tx, resellerId, input.base_package_id, 'base_package_id');
    const ids = [...new Set(input.feature_ids)];
    await checkResellerFeatures(tx, base, ids, new Set());
    const p = await repo.insertPackage(tx, { ...packageColumns(input), reseller_id: resellerId, base_package_id: base.id }).catch((e) => rethrowDuplicate(e, UNIQUE));
    await repo.setPackageFeatures(tx, p.id, ids);
    await recordAudit(tx, actor, { resellerId, entityType: 'feature_package', entityId: p.id, action: 'create', after: packageAudit(p, ids) });
    return p;
  });
}

/** Its name, prices and features (of its base still); the base stays (a new base is a new package). */
export async function updateResellerPackage(db: Db, actor: Actor, id: number, input: PackageInput): Promise<repo.FeaturePackage> {
  const resellerId = writerReseller(actor);
  return db.transaction(async (tx) => {
    const before = await repo.getPackage(tx, id, { lock: 'update' });
    if (!before || before.resellerId !== resellerId) throw new NotFoundError();
    if (before.retiredAt) throw new ConflictError(`${before.name} is retired: it can no longer be changed.`);
    const base = await repo.getPackage(tx, before.basePackageId as number, { lock: 'share' });
    if (!base) throw new NotFoundError();
    const held = new Set((await repo.packageFeatures(tx, [id])).get(id)?.map((f) => f.id));
    const ids = [...new Set(input.feature_ids)];
    await checkResellerFeatures(tx, base, ids, held);
    const p = await repo.updatePackage(tx, id, packageColumns(input)).catch((e) => rethrowDuplicate(e, UNIQUE));
    await repo.setPackageFeatures(tx, id, ids);
    await recordAudit(tx, actor, { resellerId, entityType: 'feature_package', entityId: id, action: 'update', before: packageAudit(before, [...held]), after: packageAudit(p, ids) });
    return p;
  });
}

export async function retireResellerPackage(db: Db, actor: Actor, id: number): Promise<repo.FeaturePackage> {
  const resellerId = writerReseller(actor);
  return db.transaction(async (tx) => {
    const before = await repo.getPackage(tx, id, { lock: 'update' });
    if (!before || before.resellerId !== resellerId) throw new NotFoundError();
    if (before.retiredAt) throw new ConflictError(`${before.name} is already retired.`);
    const p = await repo.retirePackage(tx, id);
    await recordAudit(tx, actor, { resellerId, entityType: 'feature_package', entityId: id, action: 'retire', after: { retired_at: p.retiredAt } });
    return p;
  });
}

// ---- Subscribers: assignments and the feature set ----

export interface AssignmentView extends repo.Assignment {
  state: AssignmentState;
}

/**
 * A subscriber's feature package assignments, latest start first, each current, scheduled or
 * ended at `now`. For the subscriber pages and anyone entitled to see the subscriber (scope).
 */
export async function featureAssignmentsOf(db: Db, scope: Scope, subscriberId: number, now = new Date()): Promise<AssignmentView[]> {
  const sub = await getSubscriber(db, scope, subscriberId);
  const rows = await repo.listAssignments(db, sub.resellerId, sub.id);
  return rows.map((a) => ({ ...a, state: assignmentState(a.startsAt.getTime(), a.endsAt ? a.endsAt.getTime() : null, now.getTime()) }));
}

/**
 * The subscriber's feature set at an instant: the union of the features of the packages assigned
 * to it then, by code, each with the packages that give it (the self-care pages; switch
 * provisioning). Retired features still held are in it, marked.
 */
export async function featureSetOf(db: Db, scope: Scope, subscriberId: number, at: Date = new Date()): Promise<Array<repo.FeatureRef & { packages: string[] }>> {
  const sub = await getSubscriber(db, scope, subscriberId);
  return repo.featureSetAt(db, sub.resellerId, sub.id, at);
}

/** Everything the "Features" section of a subscriber's pages shows. */
export async function subscriberFeatures(db: Db, scope: Scope, subscriberId: number, now = new Date()) {
  const sub = await getSubscriber(db, scope, subscriberId);
  const [assignments, featureSet] = await Promise.all([featureAssignmentsOf(db, scope, subscriberId, now), featureSetOf(db, scope, subscriberId, now)]);
  // The packages it can be given (its reseller's people only; the operator reads).
  const assignable = scope.kind === 'reseller' ? (await listResellerPackages(db, scope, sub.resellerId, now)).filter((p) => p.assignable) : [];
  return { subscriberId: sub.id, assignments, featureSet, assignable, current: assignments.filter((a) => a.state === 'current') };
}

function readMoment(text: string, timeZone: string, field: string, label: string): Date {
  const r = readLocalMoment(text, timeZone);
  if (!r.ok) throw new FieldErrors({ [field]: `${label} ${r.reason}` });
  return new Date(r.ms);
}

/** The exclusion constraint (two admins at once) read as the same message as the service's check. */
function overlapRefused(err: unknown): never {
  const e = err as { code?: string; constraint?: string };
  if (e?.code === '23P01' && e.constraint === 'package_assignments_feature_no_overlap') throw new FieldErrors({ starts_at: 'The subscriber already has this package for part of that time' });
  throw err;
}

function clashText(c: repo.Assignment, timeZone: string): string {
  return `${c.packageName} from ${formatDateTime(c.startsAt, timeZone)}${c.endsAt ? ` to ${formatDateTime(c.endsAt, timeZone)}` : ' with no end'}`;
}

/**
 * Gives the subscriber one of its reseller's packages from `starts_at` (a future start is fine)
 * until `ends_at` (blank: until ended), both typed in `timeZone`. Refused for a retired package,
 * one whose base the operator withdrew or retired, and over another assignment of the same
 * package to the same subscriber.
 */
export async function assignPackage(db: Db, actor: Actor, subscriberId: number, input: AssignInput, timeZone: string): Promise<{ id: number; packageName: string }> {
  const resellerId = writerReseller(actor);
  const startsAt = readMoment(input.starts_at, timeZone, 'starts_at', 'Start');
  const endsAt = input.ends_at ? readMoment(input.ends_at, timeZone, 'ends_at', 'End') : null;
  if (endsAt && endsAt <= startsAt) throw new FieldErrors({ ends_at: 'End must be after the start' });
  return db.transaction(async (tx) => {
    const sub = await getSubscriber(tx, actor.scope, subscriberId);
    const p = await repo.getPackage(tx, input.feature_package_id, { lock: 'share' });
    if (!p || p.resellerId !== resellerId) throw new FieldErrors({ feature_package_id: 'Choose one of your packages' });
    if (p.retiredAt) throw new FieldErrors({ feature_package_id: `${p.name} is retired: it is given to no one new` });
    const base = await repo.getPackage(tx, p.basePackageId as number, { lock: 'share' });
    if (!base || !(await repo.isOffered(tx, base.id, resellerId, { lock: true }))) throw new FieldErrors({ feature_package_id: `The operator no longer offers ${base?.name ?? 'its base package'}: ${p.name} is given to no one new` });
    if (base.retiredAt) throw new FieldErrors({ feature_package_id: `The operator retired ${base.name}: ${p.name} is given to no one new` });
    const [clash] = await repo.overlapping(tx, sub.id, p.id, startsAt, endsAt);
    if (clash) throw new FieldErrors({ starts_at: `${sub.name} already has ${clashText(clash, timeZone)}` });
    const row = await repo.insertAssignment(tx, { resellerId, subscriberId: sub.id, packageId: p.id, startsAt, endsAt }).catch(overlapRefused);
    await recordAudit(tx, actor, {
      resellerId, entityType: 'package_assignment', entityId: row.id, action: 'assign',
      after: { subscriber_id: sub.id, feature_package_id: p.id, package_name: p.name, starts_at: startsAt, ends_at: endsAt },
    });
    return { id: row.id, packageName: p.name };
  });
}

/** One of the subscriber's assignments, for the end form and its confirmation. */
export async function getAssignment(db: Db, scope: Scope, subscriberId: number, id: number, now = new Date()): Promise<AssignmentView> {
  const sub = await getSubscriber(db, scope, subscriberId);
  const a = await repo.getAssignment(db, sub.resellerId, sub.id, id);
  if (!a) throw new NotFoundError();
  return { ...a, state: assignmentState(a.startsAt.getTime(), a.endsAt ? a.endsAt.getTime() : null, now.getTime()) };
}

/**
 * Ends an assignment at `ends_at` (typed in `timeZone`): the row stays, with its end. An ended one
 * is not ended again; a scheduled end may be brought forward or moved, never before the start.
 */
export async function endAssignment(db: Db, actor: Actor, subscriberId: number, id: number, endsText: string, timeZone: string, now = new Date()): Promise<repo.Assignment> {
  const resellerId = writerReseller(actor);
  const endsAt = readMoment(endsText, timeZone, 'ends_at', 'End');
  return db.transaction(async (tx) => {
    const sub = await getSubscriber(tx, actor.scope, subscriberId);
    const a = await repo.getAssignment(tx, resellerId, sub.id, id, { forUpdate: true });
    if (!a) throw new NotFoundError();
    if (a.endsAt && a.endsAt <= now) throw new ConflictError(`${a.packageName} already ended ${formatDateTime(a.endsAt, timeZone)}.`);
    if (endsAt <= a.startsAt) throw new FieldErrors({ ends_at: `End must be after the start (${formatDateTime(a.startsAt, timeZone)})` });
    const [clash] = await repo.overlapping(tx, sub.id, a.featurePackageId, a.startsAt, endsAt, a.id);
    if (clash) throw new FieldErrors({ ends_at: `${sub.name} already has ${clashText(clash, timeZone)}` });
    await repo.setAssignmentEnd(tx, a.id, endsAt).catch(overlapRefused);
    await recordAudit(tx, actor, {
      resellerId, entityType: 'package_assignment', entityId: a.id, action: 'end',
      before: { ends_at: a.endsAt }, after: { subscriber_id: sub.id, feature_package_id: a.featurePackageId, package_name: a.packageName, ends_at: endsAt },
    });
    return { ...a, endsAt };
  });
}
