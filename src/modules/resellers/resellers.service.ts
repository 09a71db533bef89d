import type { Db } from '../../db/knex';
import { rethrowDuplicate } from '../../db/knex';
import { ConflictError, FieldErrors, NotFoundError } from '../../domain/errors';
import type { Actor } from '../../domain/tenancy/actor';
import type { Scope } from '../../domain/tenancy/roles';
import { cascadeImpact, type CascadeImpact, type Status } from '../../domain/tenancy/status';
import { listAudit, recordAudit } from '../audit/audit.repository';
import { hashPassword } from '../auth/passwords';
import { listRanges } from '../number-ranges/number-ranges.repository';
import { getPlan } from '../rate-plans/rate-plans.repository';
import { insertUser } from '../users/users.repository';
import * as repo from './resellers.repository';
import type { NewResellerInput, ResellerInput } from './resellers.schemas';

const UNIQUE_FIELDS: Record<string, [string, string]> = {
  resellers_code_key: ['code', 'Another reseller already uses this code'],
  resellers_name_key: ['name', 'Another reseller already has this name'],
  resellers_sip_domain_key: ['sip_domain', 'Another reseller already has this SIP domain'],
  users_party_email_key: ['admin_email', 'A login with this email already exists'],
};

const duplicateToFieldErrors = (err: unknown): never => rethrowDuplicate(err, UNIQUE_FIELDS);

/** A new reseller and its first admin, all or nothing. */
export async function createReseller(db: Db, actor: Actor, input: NewResellerInput): Promise<repo.Reseller> {
  const passwordHash = await hashPassword(input.admin_password);
  try {
    return await db.transaction(async (tx) => {
      let reseller = await repo.insertReseller(tx, input);
      if (input.wholesale_plan_id !== null) {
        // The plan is assigned in the creating transaction: a reseller is never left without the plan chosen for it.
        if (!(await getPlan(tx, { kind: 'operator' }, input.wholesale_plan_id))) throw new FieldErrors({ wholesale_plan_id: 'Choose one of the operator’s rate plans' });
        reseller = await repo.setWholesalePlan(tx, reseller.id, input.wholesale_plan_id);
      }
      const admin = await insertUser(tx, {
        email: input.admin_email,
        name: input.admin_name,
        role: 'reseller_admin',
        resellerId: reseller.id,
        subscriberId: null,
        passwordHash,
      });
      await recordAudit(tx, actor, { resellerId: reseller.id, entityType: 'reseller', entityId: reseller.id, action: 'create', after: { ...reseller } });
      await recordAudit(tx, actor, { resellerId: reseller.id, entityType: 'user', entityId: admin.id, action: 'create', after: { ...admin } });
      return reseller;
    });
  } catch (err) {
    if (err instanceof FieldErrors) throw err;
    return duplicateToFieldErrors(err);
  }
}

export async function updateReseller(db: Db, actor: Actor, id: number, input: ResellerInput): Promise<repo.Reseller> {
  try {
    return await db.transaction(async (tx) => {
      const before = await repo.getResellerForUpdate(tx, id);
      if (!before) throw new NotFoundError();
      const after = await repo.updateReseller(tx, id, input);
      await recordAudit(tx, actor, { resellerId: id, entityType: 'reseller', entityId: id, action: 'update', before: { ...before }, after: { ...after } });
      return after;
    });
  } catch (err) {
    if (err instanceof NotFoundError) throw err;
    return duplicateToFieldErrors(err);
  }
}

/**
 * Activates or deactivates a reseller. The cascade (DOMAIN.md) is derived, not written: its
 * subscribers and people keep their own status and are suspended through the reseller's.
 */
export async function setStatus(db: Db, actor: Actor, id: number, status: Status): Promise<{ reseller: repo.Reseller; impact: CascadeImpact }> {
  return db.transaction(async (tx) => {
    const before = await repo.getResellerForUpdate(tx, id);
    if (!before) throw new NotFoundError();
    if (before.status === status) throw new ConflictError(`${before.name} is already ${status}.`);
    const impact = cascadeImpact(await repo.cascadeCounts(tx, id));
    const after = await repo.setResellerStatus(tx, id, status);
    await recordAudit(tx, actor, {
      resellerId: id,
      entityType: 'reseller',
      entityId: id,
      action: status === 'active' ? 'activate' : 'deactivate',
      before: { status: before.status },
      after: { status: after.status, subscribers_affected: impact.subscribersAffected, logins_affected: impact.usersAffected },
    });
    return { reseller: after, impact };
  });
}

/** Who a status change of the reseller reaches now: its active subscribers and logins. */
export async function statusImpact(db: Db, id: number): Promise<CascadeImpact> {
  return cascadeImpact(await repo.cascadeCounts(db, id));
}

/** The reseller with its row locked (a change's transaction: the API's If-Match), in the scope. */
export async function getForUpdateOrThrow(db: Db, scope: Scope, id: number): Promise<repo.Reseller> {
  if (scope.kind !== 'wholesale' && scope.resellerId !== id) throw new NotFoundError();
  const reseller = await repo.getResellerForUpdate(db, id);
  if (!reseller) throw new NotFoundError();
  return reseller;
}

export async function getOrThrow(db: Db, scope: Scope, id: number): Promise<repo.Reseller> {
  const reseller = await repo.getReseller(db, scope, id);
  if (!reseller) throw new NotFoundError();
  return reseller;
}

/** The monitor page: the reseller, what its status reaches, its number ranges and its recent changes. */
export async function monitor(db: Db, scope: Scope, id: number) {
  const reseller = await getOrThrow(db, scope, id);
  const [impact, recent, subscribers, ranges] = await Promise.all([
    repo.cascadeCounts(db, id).then(cascadeImpact),
    listAudit(db, scope, { resellerId: id, limit: 15 }),
    repo.subscriberStatusCounts(db, id),
    listRanges(db, id),
  ]);
  return { reseller, impact, recent: recent.rows, subscribers, ranges };
}

// ---- Reads: what the portal's pages show, and the API will share (routes never read a repository) ----

export type { Reseller, ResellerFilter, ResellerSummary } from './resellers.repository';

export async function listResellers(db: Db, scope: Scope, filter: repo.ResellerFilter) {
  return repo.listResellers(db, scope, filter);
}

/** Every reseller the list's filter matches, in its order: the CSV of exactly that list. */
export function allResellers(db: Db, scope: Scope, filter: repo.ResellerFilter) {
  return repo.allResellers(db, scope, filter);
}

/** The operator's dashboard counts: resellers by status, subscribers by status, subscribers suspended with their reseller. */
export async function operatorCounts(db: Db) {
  const [resellers, subscribers, suspended] = await Promise.all([repo.resellerCounts(db), repo.subscriberStatusCounts(db), repo.suspendedSubscriberCount(db)]);
  return { resellers, subscribers, suspended };
}

/** Subscribers by status, of one reseller (or of all with none given). */
export async function subscriberStatusCounts(db: Db, resellerId?: number) {
  return repo.subscriberStatusCounts(db, resellerId);
}
