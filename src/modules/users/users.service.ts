import type { Db } from '../../db/knex';
import { rethrowDuplicate } from '../../db/knex';
import { FieldErrors, NotFoundError } from '../../domain/errors';
import type { Actor } from '../../domain/tenancy/actor';
import { assignableRoles, isRole, type Role, type Scope } from '../../domain/tenancy/roles';
import { recordAudit } from '../audit/audit.repository';
import { hashPassword } from '../auth/passwords';
import * as repo from './users.repository';
import type { NewStaffUser, StaffUserUpdate } from './users.schemas';

type StaffPortal = 'wholesale' | 'reseller';

function checkRole(portal: StaffPortal, role: string): Role {
  if (!isRole(role) || !assignableRoles(portal).includes(role)) throw new FieldErrors({ role: 'Choose a role' });
  return role;
}

const duplicateEmail = (err: unknown): never => rethrowDuplicate(err, { users_party_email_key: ['email', 'A login with this email already exists'] });

/** A staff login of the portal's own: wholesale staff, or the caller's reseller's staff. */
export async function getStaffUser(db: Db, scope: Scope, portal: StaffPortal, id: number): Promise<repo.User> {
  const user = await repo.getUser(db, scope, id);
  if (!user || !assignableRoles(portal).includes(user.role)) throw new NotFoundError();
  return user;
}

export async function createStaffUser(db: Db, actor: Actor, portal: StaffPortal, resellerId: number | null, input: NewStaffUser): Promise<repo.User> {
  const role = checkRole(portal, input.role);
  const passwordHash = await hashPassword(input.password);
  try {
    return await db.transaction(async (tx) => {
      const user = await repo.insertUser(tx, { email: input.email, name: input.name, role, resellerId, subscriberId: null, passwordHash });
      await recordAudit(tx, actor, { resellerId, entityType: 'user', entityId: user.id, action: 'create', after: { ...user } });
      return user;
    });
  } catch (err) {
    return duplicateEmail(err);
  }
}

export async function updateStaffUser(db: Db, actor: Actor, scope: Scope, portal: StaffPortal, id: number, input: StaffUserUpdate): Promise<repo.User> {
  const role = checkRole(portal, input.role);
  if (actor.userId === id && (input.status !== 'active' || role !== actor.role)) {
    // Nobody locks themselves out; another admin has to do it.
    throw new FieldErrors({ [input.status !== 'active' ? 'status' : 'role']: 'You cannot disable or demote your own login' });
  }
  const passwordHash = input.password ? await hashPassword(input.password) : undefined;
  try {
    return await db.transaction(async (tx) => {
      const before = await repo.getUser(tx, scope, id);
      if (!before || !assignableRoles(portal).includes(before.role)) throw new NotFoundError();
      const after = (await repo.updateUser(tx, scope, id, { name: input.name, email: input.email, role, status: input.status })) as repo.User;
      if (passwordHash) await repo.setPasswordHash(tx, id, passwordHash);
      const action = before.status !== after.status ? (after.status === 'active' ? 'activate' : 'deactivate') : 'update';
      await recordAudit(tx, actor, {
        resellerId: before.resellerId,
        entityType: 'user',
        entityId: id,
        action,
        before: { ...before },
        after: { ...after, ...(passwordHash ? { password_reset: true } : {}) },
      });
      return after;
    });
  } catch (err) {
    if (err instanceof NotFoundError || err instanceof FieldErrors) throw err;
    return duplicateEmail(err);
  }
}

// ---- Reads: what the portal's pages show, and the API will share (routes never read a repository) ----

export type { User, UserListFilter } from './users.repository';

export async function listUsers(db: Db, scope: Scope, filter: repo.UserListFilter) {
  return repo.listUsers(db, scope, filter);
}

/** Every login the list's filter matches, in its order: the CSV of exactly that list. */
export function allUsers(db: Db, scope: Scope, filter: repo.UserListFilter) {
  return repo.allUsers(db, scope, filter);
}
