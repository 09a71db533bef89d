import type { Db } from '../../db/knex';
import { NotFoundError } from '../../domain/errors';
import type { Actor } from '../../domain/tenancy/actor';
import type { Scope } from '../../domain/tenancy/roles';
import { recordAudit } from '../audit/audit.repository';
// The retention setting belongs to the intake, which prunes by it; read and written only here.
import { rejectRetentionDays, setRejectRetentionDays } from '../intake/rejects.repository';
import { platformOptions } from './calls.repository';
import * as repo from './rejects.repository';

export type { CdrReject, CdrRejectDetail, RejectFilter } from './rejects.repository';

/** The rejects page: one page of rejects (the operator's alone), the platforms to filter by, the retention. */
export async function rejectsPage(db: Db, scope: Scope, filter: repo.RejectFilter) {
  const [page, platforms, retentionDays] = await Promise.all([repo.listRejects(db, scope, filter), platformOptions(db), rejectRetentionDays(db)]);
  return { page, platforms, retentionDays };
}

/** Every reject the list's filter matches, in its order: the CSV of exactly that list. */
export function allRejects(db: Db, scope: Scope, filter: repo.RejectFilter) {
  return repo.allRejects(db, scope, filter);
}

export async function getRejectOrThrow(db: Db, scope: Scope, id: number): Promise<repo.CdrRejectDetail> {
  const reject = await repo.getReject(db, scope, id);
  if (!reject) throw new NotFoundError();
  return reject;
}

/** The body exactly as it arrived. */
export async function rejectBytesOrThrow(db: Db, scope: Scope, id: number): Promise<Buffer> {
  const bytes = await repo.rejectBytes(db, scope, id);
  if (!bytes) throw new NotFoundError();
  return bytes;
}

/** How long rejects are kept: the operator's choice, audited (older ones are deleted every hour). */
export async function setRetentionDays(db: Db, actor: Actor, days: number): Promise<void> {
  const before = await rejectRetentionDays(db);
  await db.transaction(async (tx) => {
    await setRejectRetentionDays(tx, days);
    await recordAudit(tx, actor, { resellerId: null, entityType: 'setting', entityId: null, action: 'update', before: { reject_retention_days: before }, after: { reject_retention_days: days } });
  });
}
