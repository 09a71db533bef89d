import type { Queryable } from '../../db/knex';
import { listAll, listPage, type ListPage, type ListParams, type ListSpec } from '../../db/list';
import type { Role, Scope } from '../../domain/tenancy/roles';
import type { Status } from '../../domain/tenancy/status';
import { partyTimeZoneSql } from '../settings/settings.repository';

/** A person as the portals see them (no secrets). */
export interface User {
  id: number;
  email: string;
  name: string;
  role: Role;
  resellerId: number | null;
  subscriberId: number | null;
  status: 'active' | 'disabled';
  totpEnabled: boolean;
  lastLoginAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What login needs: the user, the hash, and the statuses that decide whether access is allowed. */
export interface LoginRecord extends User {
  passwordHash: string;
  totpSecret: string | null;
  resellerStatus?: Status;
  resellerName?: string;
  subscriberStatus?: Status;
  subscriberName?: string;
  /** The zone of the person's party: the subscriber's, else the reseller's, else the operator's. */
  partyTimeZone?: string;
}

function toUser(r: Record<string, any>): User {
  return {
    id: r.id,
    email: r.email,
    name: r.name,
    role: r.role,
    resellerId: r.reseller_id,
    subscriberId: r.subscriber_id,
    status: r.status,
    totpEnabled: r.totp_enabled_at != null,
    lastLoginAt: r.last_login_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toLoginRecord(r: Record<string, any>): LoginRecord {
  return {
    ...toUser(r),
    passwordHash: r.password_hash,
    totpSecret: r.totp_secret,
    resellerStatus: r.reseller_status ?? undefined,
    resellerName: r.reseller_name ?? undefined,
    subscriberStatus: r.subscriber_status ?? undefined,
    subscriberName: r.subscriber_name ?? undefined,
    partyTimeZone: r.party_time_zone ?? undefined,
  };
}

function loginQuery(db: Queryable) {
  return db('users as u')
    .leftJoin('resellers as r', 'r.id', 'u.reseller_id')
    .leftJoin('subscribers as s', 's.id', 'u.subscriber_id')
    .select(
      'u.*',
      'r.status as reseller_status',
      'r.name as reseller_name',
      's.status as subscriber_status',
      's.name as subscriber_name',
      // A party without its own zone follows the one above it (DOMAIN: subscriber -> reseller -> operator).
      db.raw(`${partyTimeZoneSql('s.time_zone', 'r.time_zone')} as party_time_zone`),
    );
}

/** Every login with this email: one per party at most (an email is unique within its party only). */
export async function findLoginsByEmail(db: Queryable, email: string): Promise<LoginRecord[]> {
  const rows = await loginQuery(db).whereRaw('lower(u.email) = lower(?)', [email]).orderBy('u.id');
  return rows.map(toLoginRecord);
}

export async function findLoginById(db: Queryable, id: number): Promise<LoginRecord | undefined> {
  const row = await loginQuery(db).where('u.id', id).first();
  return row ? toLoginRecord(row) : undefined;
}

/** Confines a users query to what the scope may reach. */
function scoped(db: Queryable, scope: Scope) {
  const q = db('users');
  if (scope.kind === 'wholesale') return q;
  if (scope.kind === 'reseller') return q.where('users.reseller_id', scope.resellerId);
  return q.where({ 'users.reseller_id': scope.resellerId, 'users.subscriber_id': scope.subscriberId });
}

export interface UserListFilter extends ListParams {
  /** Which people: operator staff, one reseller's staff, or subscriber logins. */
  kind: 'wholesale' | 'reseller';
  resellerId?: number;
  q?: string;
  role?: Role;
  status?: 'active' | 'disabled';
}

/** The staff logins list: its sortable columns and totals (src/db/list.ts). */
export const USER_LIST: ListSpec = {
  sorts: {
    email: { sql: 'lower(users.email)', kind: 'text' },
    name: { sql: 'lower(users.name)', kind: 'text' },
    role: { sql: 'users.role', kind: 'text' },
    status: { sql: 'users.status', kind: 'text' },
    totp: { sql: `case when users.totp_enabled_at is null then 'off' else 'on' end`, kind: 'text' },
    last_login: { sql: 'users.last_login_at', kind: 'time' },
  },
  defaultSort: 'email',
  defaultDir: 'asc',
  id: 'users.id',
  totals: { active: `count(*) filter (where status = 'active')`, totp: 'count(totp_enabled_at)' },
};

function filteredUsers(db: Queryable, scope: Scope, f: UserListFilter) {
  const q = scoped(db, scope).select('users.*');
  if (f.kind === 'wholesale') q.whereNull('users.reseller_id');
  else q.whereIn('users.role', ['reseller_admin', 'reseller_support']);
  if (f.resellerId) q.where('users.reseller_id', f.resellerId);
  if (f.q) q.where((w) => w.whereILike('users.email', `%${f.q}%`).orWhereILike('users.name', `%${f.q}%`));
  if (f.role) q.where('users.role', f.role);
  if (f.status) q.where('users.status', f.status);
  return q;
}

export async function listUsers(db: Queryable, scope: Scope, f: UserListFilter): Promise<ListPage<User>> {
  return listPage(db, filteredUsers(db, scope, f), USER_LIST, f, toUser);
}

/** Every login of the filter, in the list's order (its CSV). */
export function allUsers(db: Queryable, scope: Scope, f: UserListFilter): AsyncGenerator<User> {
  return listAll(db, filteredUsers(db, scope, f), USER_LIST, f, toUser);
}

export async function getUser(db: Queryable, scope: Scope, id: number): Promise<User | undefined> {
  const row = await scoped(db, scope).where('id', id).first();
  return row ? toUser(row) : undefined;
}

export async function findUserBySubscriber(db: Queryable, scope: Scope, subscriberId: number): Promise<User | undefined> {
  const row = await scoped(db, scope).where({ subscriber_id: subscriberId, role: 'subscriber' }).first();
  return row ? toUser(row) : undefined;
}

export interface NewUser {
  email: string;
  name: string;
  role: Role;
  resellerId: number | null;
  subscriberId: number | null;
  passwordHash: string;
}

export async function insertUser(db: Queryable, u: NewUser): Promise<User> {
  const [row] = await db('users')
    .insert({
      email: u.email,
      name: u.name,
      role: u.role,
      reseller_id: u.resellerId,
      subscriber_id: u.subscriberId,
      password_hash: u.passwordHash,
    })
    .returning('*');
  return toUser(row);
}

export async function updateUser(
  db: Queryable,
  scope: Scope,
  id: number,
  patch: Partial<{ email: string; name: string; role: Role; status: 'active' | 'disabled' }>,
): Promise<User | undefined> {
  const [row] = await scoped(db, scope)
    .where('id', id)
    .update({ ...patch, updated_at: db.fn.now() })
    .returning('*');
  return row ? toUser(row) : undefined;
}

/**
 * A new password ends every session of the login (whoever knew the old one is logged out), but
 * `keepSession`: the session of the person changing their own password.
 */
export async function setPasswordHash(db: Queryable, id: number, hash: string, opts: { keepSession?: string } = {}): Promise<void> {
  await db('users').where('id', id).update({ password_hash: hash, password_changed_at: db.fn.now(), updated_at: db.fn.now() });
  await endSessions(db, id, opts.keepSession);
}

/** Ends the sessions of a login (passport keeps its id in sess.passport.user), all but `keepSession`. */
export async function endSessions(db: Queryable, userId: number, keepSession?: string): Promise<number> {
  const q = db('sessions').whereRaw(`sess->'passport'->>'user' = ?`, [String(userId)]);
  if (keepSession) q.whereNot('sid', keepSession);
  return q.del();
}

/** Turns TOTP on (with the step of the confirming code, spent) or off (null). */
export async function setTotp(db: Queryable, id: number, encryptedSecret: string | null, spentStep: number | null = null): Promise<void> {
  await db('users')
    .where('id', id)
    .update({
      totp_secret: encryptedSecret,
      totp_enabled_at: encryptedSecret ? db.fn.now() : null,
      totp_last_step: spentStep,
      updated_at: db.fn.now(),
    });
}

/** Records a TOTP step as used; false when it (or a later one) was used already. */
export async function spendTotpStep(db: Queryable, id: number, step: number): Promise<boolean> {
  const updated = await db('users')
    .where('id', id)
    .where((w) => w.whereNull('totp_last_step').orWhere('totp_last_step', '<', step))
    .update({ totp_last_step: step });
  return updated === 1;
}

export async function touchLastLogin(db: Queryable, id: number): Promise<void> {
  await db('users').where('id', id).update({ last_login_at: db.fn.now() });
}

export async function countWholesaleAdmins(db: Queryable): Promise<number> {
  const row = await db('users').where({ role: 'wholesale_admin', status: 'active' }).count<{ count: number }>('* as count').first();
  return Number(row?.count ?? 0);
}
