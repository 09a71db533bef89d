import crypto from 'node:crypto';
import { preparedQuery, type Queryable } from '../../db/knex';
import type { Owner } from '../../domain/tenancy/owner';
import { partyTimeZoneSql } from '../settings/settings.repository';

export type ApiKeyAccess = 'read' | 'write';

export interface ApiKey {
  id: number;
  resellerId: number | null;
  name: string;
  access: ApiKeyAccess;
  /** The key's last four characters, so a person can tell their keys apart. */
  hint: string;
  createdAt: Date;
  createdBy: number | null;
  createdByName: string | null;
  lastUsedAt: Date | null;
  lastUsedIp: string | null;
  revokedAt: Date | null;
  revokedByName: string | null;
}

/** What authentication needs of a key: its hash and its party's status and zone. */
export interface ApiKeyForAuth {
  id: number;
  resellerId: number | null;
  resellerName: string | null;
  resellerStatus: 'active' | 'inactive' | null;
  name: string;
  access: ApiKeyAccess;
  keyHash: string;
  revoked: boolean;
  timeZone: string;
  lastUsedAt: Date | null;
}

const ownerWhere = (owner: Owner) => (owner.kind === 'operator' ? { clause: 'k.reseller_id IS NULL', args: [] } : { clause: 'k.reseller_id = ?', args: [owner.resellerId] });

function toKey(r: Record<string, any>): ApiKey {
  return {
    id: Number(r.id), resellerId: r.reseller_id === null ? null : Number(r.reseller_id), name: r.name, access: r.access, hint: r.key_hint,
    createdAt: r.created_at, createdBy: r.created_by === null ? null : Number(r.created_by), createdByName: r.created_by_name ?? null,
    lastUsedAt: r.last_used_at, lastUsedIp: r.last_used_ip, revokedAt: r.revoked_at, revokedByName: r.revoked_by_name ?? null,
  };
}

const SELECT = `SELECT k.*, cu.name AS created_by_name, ru.name AS revoked_by_name
                  FROM api_keys k LEFT JOIN users cu ON cu.id = k.created_by LEFT JOIN users ru ON ru.id = k.revoked_by`;

/** A party's keys, live ones first, newest first. */
export async function keysOf(db: Queryable, owner: Owner): Promise<ApiKey[]> {
  const w = ownerWhere(owner);
  const { rows } = await db.raw(`${SELECT} WHERE ${w.clause} ORDER BY k.revoked_at IS NOT NULL, k.id DESC`, w.args);
  return rows.map(toKey);
}

export async function keyOf(db: Queryable, owner: Owner, id: number, o: { forUpdate?: boolean } = {}): Promise<ApiKey | undefined> {
  const w = ownerWhere(owner);
  const { rows } = await db.raw(`${SELECT} WHERE ${w.clause} AND k.id = ?${o.forUpdate ? ' FOR UPDATE OF k' : ''}`, [...w.args, id]);
  return rows[0] ? toKey(rows[0]) : undefined;
}

/** A new key row with a placeholder hash (the key embeds the id, so it is made once the row exists). */
export async function insertKey(db: Queryable, v: { resellerId: number | null; name: string; access: ApiKeyAccess; createdBy: number | null }): Promise<number> {
  const [row] = await db('api_keys').insert({ reseller_id: v.resellerId, name: v.name, access: v.access, key_hash: `pending-${crypto.randomUUID()}`, key_hint: '', created_by: v.createdBy }).returning('id');
  return Number((row as { id: number }).id);
}

export async function setKeyHash(db: Queryable, id: number, hash: string, hint: string): Promise<void> {
  await db('api_keys').where({ id }).update({ key_hash: hash, key_hint: hint });
}

export async function revokeKey(db: Queryable, id: number, by: number | null): Promise<boolean> {
  const n = await db('api_keys').where({ id }).whereNull('revoked_at').update({ revoked_at: db.fn.now(), revoked_by: by });
  return Number(n) === 1;
}

// Every API request reads its key: a prepared statement, planned once per connection.
const KEY_FOR_AUTH_SQL = `SELECT k.id, k.reseller_id, r.name AS reseller_name, r.status AS reseller_status, k.name, k.access, k.key_hash, k.revoked_at IS NOT NULL AS revoked,
         k.last_used_at, ${partyTimeZoneSql('r.time_zone')} AS time_zone
    FROM api_keys k LEFT JOIN resellers r ON r.id = k.reseller_id
   WHERE k.id = $1`;

export async function keyForAuth(db: Queryable, id: number): Promise<ApiKeyForAuth | undefined> {
  const { rows } = await preparedQuery<Record<string, any>>(db, 'api_key_for_auth', KEY_FOR_AUTH_SQL, [id]);
  const r = rows[0];
  if (!r) return undefined;
  return {
    id: Number(r.id), resellerId: r.reseller_id === null ? null : Number(r.reseller_id), resellerName: r.reseller_name ?? null, resellerStatus: r.reseller_status ?? null,
    name: r.name, access: r.access, keyHash: r.key_hash, revoked: r.revoked, timeZone: r.time_zone, lastUsedAt: r.last_used_at,
  };
}

/** Marks a key used (when and from where), at most once a minute: not a write per request. */
export async function touchKey(db: Queryable, id: number, ip: string | null): Promise<void> {
  await db('api_keys').where({ id }).where((q) => q.whereNull('last_used_at').orWhereRaw("last_used_at < now() - interval '1 minute'")).update({ last_used_at: db.fn.now(), last_used_ip: ip });
}
