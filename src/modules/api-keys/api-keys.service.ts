import crypto from 'node:crypto';
import type { Db, Queryable } from '../../db/knex';
import { FieldErrors, NotFoundError } from '../../domain/errors';
import type { Actor } from '../../domain/tenancy/actor';
import type { Owner } from '../../domain/tenancy/owner';
import type { Role } from '../../domain/tenancy/roles';
import { recordAudit } from '../audit/audit.repository';
import * as repo from './api-keys.repository';

export type { ApiKey, ApiKeyAccess } from './api-keys.repository';

/**
 * API keys (issue 14). A key is the operator's or one reseller's, read-only or read-write, and acts
 * as that party's support or admin role: the same scope, read-only guard and services as its
 * people in the portal. `apk_<id>_<43 characters>`: the id finds the row without a scan, and only
 * the SHA-256 of the key is kept (256 random bits need no slow hash), so it is shown once.
 */
const KEY = /^apk_([1-9]\d{0,15})_([A-Za-z0-9_-]{43})$/;

const hashKey = (key: string) => crypto.createHash('sha256').update(key).digest('hex');

export function keyIdOf(token: string): number | undefined {
  const m = KEY.exec(token);
  return m ? Number(m[1]) : undefined;
}

function matches(token: string, storedHash: string): boolean {
  const a = Buffer.from(hashKey(token), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/** The role a key acts as: its party's admin for a read-write key, its support role for a read-only one. */
export function roleOfKey(k: { resellerId: number | null; access: repo.ApiKeyAccess }): Role {
  if (k.resellerId === null) return k.access === 'write' ? 'wholesale_admin' : 'wholesale_support';
  return k.access === 'write' ? 'reseller_admin' : 'reseller_support';
}

/** How a key is named where a person would be (the audit log's "who"). */
export const keyLabel = (k: { id: number; name: string }) => `API key “${k.name}” (#${k.id})`;

export interface NewKeyInput {
  name: string;
  access: string;
}

function validate(input: NewKeyInput): { name: string; access: repo.ApiKeyAccess } {
  const errors: Record<string, string> = {};
  const name = (input.name ?? '').trim();
  if (!name) errors.name = 'Give the key a name: which system uses it';
  else if (name.length > 100) errors.name = 'At most 100 characters';
  if (input.access !== 'read' && input.access !== 'write') errors.access = 'Choose read-only or read and write';
  if (Object.keys(errors).length) throw new FieldErrors(errors);
  return { name, access: input.access as repo.ApiKeyAccess };
}

/** A new key of the party's, audited (never the key itself); the key is answered once. */
export async function createKey(db: Db, actor: Actor, owner: Owner, input: NewKeyInput): Promise<{ key: repo.ApiKey; token: string }> {
  const v = validate(input);
  const resellerId = owner.kind === 'reseller' ? owner.resellerId : null;
  return db.transaction(async (tx) => {
    const id = await repo.insertKey(tx, { resellerId, name: v.name, access: v.access, createdBy: actor.userId });
    const token = `apk_${id}_${crypto.randomBytes(32).toString('base64url')}`;
    await repo.setKeyHash(tx, id, hashKey(token), token.slice(-4));
    await recordAudit(tx, actor, { resellerId, entityType: 'api_key', entityId: id, action: 'create', after: { name: v.name, access: v.access } });
    return { key: (await repo.keyOf(tx, owner, id)) as repo.ApiKey, token };
  });
}

/** Revokes a key of the party's at once (its next request answers 401); false when it was revoked already. */
export async function revokeKey(db: Db, actor: Actor, owner: Owner, id: number): Promise<boolean> {
  return db.transaction(async (tx) => {
    const key = await repo.keyOf(tx, owner, id, { forUpdate: true });
    if (!key) throw new NotFoundError();
    if (key.revokedAt) return false;
    await repo.revokeKey(tx, id, actor.userId);
    await recordAudit(tx, actor, { resellerId: key.resellerId, entityType: 'api_key', entityId: id, action: 'revoke', before: { name: key.name, access: key.access } });
    return true;
  });
}

export const listKeys = (db: Queryable, owner: Owner): Promise<repo.ApiKey[]> => repo.keysOf(db, owner);

/** What a bearer key is, for web/api.ts: unknown, or the key with its party. */
export type KeyCheck = { ok: false } | { ok: true; key: repo.ApiKeyForAuth; role: Role; suspended: boolean };

/** Checks a bearer key: well-formed, issued, its hash, not revoked. A deactivated reseller's key is `suspended`. */
export async function checkKey(db: Queryable, token: string): Promise<KeyCheck> {
  const id = keyIdOf(token);
  if (id === undefined) return { ok: false };
  const key = await repo.keyForAuth(db, id);
  if (!key || key.revoked || !matches(token, key.keyHash)) return { ok: false };
  return { ok: true, key, role: roleOfKey(key), suspended: key.resellerStatus === 'inactive' };
}

/** How often a key's last use is written: at most once a minute, not a write per request. */
const TOUCH_EVERY_MS = 60_000;

/**
 * Notes a key's use (when and from where). The key as checkKey read it says when it was last
 * noted: within the minute there is nothing to write, and the request costs no second query.
 */
export async function noteUse(db: Queryable, key: repo.ApiKeyForAuth, ip: string | null): Promise<void> {
  if (key.lastUsedAt && Date.now() - new Date(key.lastUsedAt).getTime() < TOUCH_EVERY_MS) return;
  await repo.touchKey(db, key.id, ip);
}
