import type { Db } from '../../db/knex';
import type { Actor } from '../../domain/tenancy/actor';
import { recordAudit } from '../audit/audit.repository';
import * as repo from './settings.repository';
import type { OperatorSettingsInput } from './settings.schemas';

export async function operatorSettings(db: Db): Promise<{ timeZone: string }> {
  return { timeZone: await repo.getOperatorTimeZone(db) };
}

/** Saves the operator's settings, audited as an operator-level change (no reseller). */
export async function updateOperatorSettings(db: Db, actor: Actor, input: OperatorSettingsInput): Promise<{ timeZone: string }> {
  return db.transaction(async (tx) => {
    const before = await repo.getOperatorTimeZoneForUpdate(tx);
    if (before === input.time_zone) return { timeZone: before };
    await repo.setOperatorTimeZone(tx, input.time_zone);
    await recordAudit(tx, actor, { resellerId: null, entityType: 'setting', entityId: null, action: 'update', before: { time_zone: before }, after: { time_zone: input.time_zone } });
    return { timeZone: input.time_zone };
  });
}
