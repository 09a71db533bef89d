import { changeReferenceData, type ReferenceInvalidator } from '../../db/change-notices';
import type { Db } from '../../db/knex';
import { recordsTodayByPlatform } from '../ledger/ledger.reads';
import { rethrowDuplicate } from '../../db/knex';
import { FieldErrors, NotFoundError } from '../../domain/errors';
import type { Actor } from '../../domain/tenancy/actor';
import { recordAudit } from '../audit/audit.repository';
import { checkTrunkCarriers } from '../carriers/carriers.service';
import { newCredential } from './credentials';
import * as repo from './platforms.repository';
import type { PlatformInput } from './platforms.schemas';

const UNIQUE = { platforms_name_key: ['name', 'Another platform already has this name'] as [string, string] };

function auditView(p: repo.Platform) {
  const { credentialHash: _hidden, ...rest } = p;
  return rest;
}

// Every write below goes through changeReferenceData: the intake's credential check reads platforms
// from memory (platform-cache.ts), in this process and every other.

/** Registers a platform; the credential is returned once, to be shown once, and stored hashed. */
export async function createPlatform(db: Db, refs: ReferenceInvalidator, actor: Actor, input: PlatformInput): Promise<{ platform: repo.Platform; token: string }> {
  try {
    return await changeReferenceData(db, refs, 'platforms', async (tx) => {
      // Each trunk's carrier must be a carrier record (stored as the record spells it).
      input = { ...input, trunk_carriers: await checkTrunkCarriers(tx, input.trunk_carriers) };
      // The token embeds the id, so insert first with a placeholder hash that matches nothing.
      const platform = await repo.insertPlatform(tx, input, '0'.repeat(64));
      const { token, hash } = newCredential(platform.id);
      await repo.setCredential(tx, platform.id, hash);
      await recordAudit(tx, actor, { resellerId: null, entityType: 'platform', entityId: platform.id, action: 'create', after: auditView(platform) });
      return { platform, token };
    });
  } catch (err) {
    return rethrowDuplicate(err, UNIQUE);
  }
}

/** Settings, allow-list, trunk carriers, and activation (the active flag is one of the settings). */
export async function updatePlatform(db: Db, refs: ReferenceInvalidator, actor: Actor, id: number, input: PlatformInput): Promise<repo.Platform> {
  try {
    return await changeReferenceData(db, refs, 'platforms', async (tx) => {
      const before = await repo.getPlatform(tx, id);
      if (!before) throw new NotFoundError();
      // A trunk kept as it was may still name a carrier deactivated since; a new one may not.
      input = { ...input, trunk_carriers: await checkTrunkCarriers(tx, input.trunk_carriers, before.trunkCarriers) };
      const after = await repo.updatePlatform(tx, id, input);
      await recordAudit(tx, actor, { resellerId: null, entityType: 'platform', entityId: id, action: 'update', before: auditView(before), after: auditView(after) });
      return after;
    });
  } catch (err) {
    if (err instanceof NotFoundError || err instanceof FieldErrors) throw err;
    return rethrowDuplicate(err, UNIQUE);
  }
}

/** A new credential; the old one stops working at once. */
export async function rotateCredential(db: Db, refs: ReferenceInvalidator, actor: Actor, id: number): Promise<{ platform: repo.Platform; token: string }> {
  return changeReferenceData(db, refs, 'platforms', async (tx) => {
    const platform = await repo.getPlatform(tx, id);
    if (!platform) throw new NotFoundError();
    const { token, hash } = newCredential(id);
    await repo.setCredential(tx, id, hash);
    await recordAudit(tx, actor, { resellerId: null, entityType: 'platform', entityId: id, action: 'rotate_credential' });
    return { platform, token };
  });
}

// ---- Reads: what the portal's pages show, and the API will share (routes never read a repository) ----

export type { Platform } from './platforms.repository';

export async function listPlatforms(db: Db): Promise<Array<repo.Platform & { legsToday: number }>> {
  const [platforms, today] = await Promise.all([repo.listPlatforms(db), recordsTodayByPlatform(db)]);
  return platforms.map((p) => ({ ...p, legsToday: today.get(p.id) ?? 0 }));
}

/** Platforms are the operator's alone: no scope, and no other tenant's to find. */
export async function getOrThrow(db: Db, id: number): Promise<repo.Platform> {
  const p = await repo.getPlatform(db, id);
  if (!p) throw new NotFoundError();
  return p;
}
