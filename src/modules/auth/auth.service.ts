import crypto from 'node:crypto';
import type { Db, Queryable } from '../../db/knex';
import { FieldErrors } from '../../domain/errors';
import type { Actor } from '../../domain/tenancy/actor';
import { isStaff } from '../../domain/tenancy/roles';
import { loginRefusal, type LoginRefusal } from '../../domain/tenancy/status';
import { recordAudit } from '../audit/audit.repository';
import * as users from '../users/users.repository';
import { burnPasswordCheck, hashPassword, verifyPassword } from './passwords';
import type { SecretBox } from './secret-box';
import { totpStep } from './totp';

export type AuthResult =
  | { ok: true; user: users.LoginRecord }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: LoginRefusal; user: users.LoginRecord }
  | { ok: false; reason: 'choose'; choices: users.LoginRecord[] };

/** Whether this person may log in now (status cascade): the login itself, or the refusal. */
export function admit(user: users.LoginRecord): AuthResult {
  const refusal = loginRefusal({ userStatus: user.status, resellerStatus: user.resellerStatus, subscriberStatus: user.subscriberStatus });
  return refusal ? { ok: false, reason: refusal, user } : { ok: true, user };
}

/**
 * Checks email and password. An email is unique within a party only, so several logins may have
 * it: the password is checked against every one of them, in parallel and without stopping at a
 * match, so the time taken does not tell whether (or where) the first one matched. One match logs
 * in; several (one person with one password in two parties) are for the person to choose between,
 * each of them proved by the password.
 */
export async function authenticate(db: Queryable, email: string, password: string): Promise<AuthResult> {
  const candidates = await users.findLoginsByEmail(db, email.trim());
  if (!candidates.length) {
    await burnPasswordCheck(password);
    return { ok: false, reason: 'invalid' };
  }
  const checks = await Promise.all(candidates.map((u) => verifyPassword(u.passwordHash, password)));
  const matches = candidates.filter((_, i) => checks[i]);
  if (!matches.length) return { ok: false, reason: 'invalid' };
  if (matches.length > 1) return { ok: false, reason: 'choose', choices: matches };
  return admit(matches[0] as users.LoginRecord);
}

/** Checks a TOTP code and spends its time step, so the same code cannot log in twice. */
export async function verifySecondFactor(db: Queryable, box: SecretBox, user: users.LoginRecord, code: string): Promise<boolean> {
  if (!user.totpSecret) return false;
  const step = totpStep(box.open(user.totpSecret), code);
  if (step === null) return false;
  return users.spendTotpStep(db, user.id, step);
}

/** Changes one's own password; every other session of the login ends, `session` (the caller's) stays. */
export async function changePassword(db: Db, actor: Actor, current: string, next: string, session?: string): Promise<void> {
  if (actor.userId == null) throw new Error('no user');
  const user = await users.findLoginById(db, actor.userId);
  if (!user || !(await verifyPassword(user.passwordHash, current))) {
    throw new FieldErrors({ current_password: 'Current password is not correct' });
  }
  if (current === next) throw new FieldErrors({ new_password: 'Choose a password different from the current one' });
  const hash = await hashPassword(next);
  await db.transaction(async (tx) => {
    await users.setPasswordHash(tx, user.id, hash, { keepSession: session });
    await recordAudit(tx, actor, { resellerId: user.resellerId, entityType: 'user', entityId: user.id, action: 'password_change' });
  });
}

export async function enableTotp(db: Db, box: SecretBox, actor: Actor, secret: string, code: string): Promise<void> {
  if (actor.userId == null || actor.role === 'system' || !isStaff(actor.role)) throw new FieldErrors({ code: 'Two-factor login is for staff accounts' });
  const step = totpStep(secret, code);
  if (step === null) throw new FieldErrors({ code: 'That code does not match; check the time on your phone and try again' });
  const user = await users.findLoginById(db, actor.userId);
  await db.transaction(async (tx) => {
    await users.setTotp(tx, actor.userId as number, box.seal(secret), step);
    await recordAudit(tx, actor, { resellerId: user?.resellerId ?? null, entityType: 'user', entityId: actor.userId, action: 'totp_enable' });
  });
}

export async function disableTotp(db: Db, actor: Actor, password: string): Promise<void> {
  if (actor.userId == null) throw new Error('no user');
  const user = await users.findLoginById(db, actor.userId);
  if (!user || !(await verifyPassword(user.passwordHash, password))) {
    throw new FieldErrors({ password: 'Password is not correct' });
  }
  await db.transaction(async (tx) => {
    await users.setTotp(tx, user.id, null);
    await recordAudit(tx, actor, { resellerId: user.resellerId, entityType: 'user', entityId: user.id, action: 'totp_disable' });
  });
}

/**
 * On first start there is nobody to log in as: create the first wholesale admin from ADMIN_EMAIL /
 * ADMIN_PASSWORD, or with a generated password that the caller prints once.
 */
export async function ensureFirstAdmin(
  db: Db,
  admin: { email?: string; password?: string },
): Promise<{ email: string; generatedPassword?: string } | undefined> {
  const existing = await db('users').whereIn('role', ['wholesale_admin']).first('id');
  if (existing) return undefined;
  const email = (admin.email ?? 'admin@localhost').toLowerCase();
  const generatedPassword = admin.password ? undefined : crypto.randomBytes(12).toString('base64url');
  const password = admin.password ?? (generatedPassword as string);
  const hash = await hashPassword(password);
  await db.transaction(async (tx) => {
    const user = await users.insertUser(tx, { email, name: 'Administrator', role: 'wholesale_admin', resellerId: null, subscriberId: null, passwordHash: hash });
    await recordAudit(tx, { userId: null, email: null, role: 'system', scope: { kind: 'wholesale' } }, {
      resellerId: null,
      entityType: 'user',
      entityId: user.id,
      action: 'create',
      after: { ...user },
    });
  });
  return { email, generatedPassword };
}

// ---- Reads: what the portal's pages show, and the API will share (routes never read a repository) ----

export type { LoginRecord } from '../users/users.repository';

/** The person whose password was checked and whose second step is owed (the id the session kept). */
export async function pendingLogin(db: Queryable, userId: number): Promise<users.LoginRecord | undefined> {
  return users.findLoginById(db, userId);
}

/** A login completed: remembered as the person's last. */
export async function loginCompleted(db: Queryable, userId: number): Promise<void> {
  await users.touchLastLogin(db, userId);
}
