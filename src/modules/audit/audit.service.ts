import type { Queryable } from '../../db/knex';
import type { Scope } from '../../domain/tenancy/roles';
import * as repo from './audit.repository';

export type { AuditFilter, AuditRow } from './audit.repository';

/** The changes the caller's scope may see: every one for the operator's staff, a reseller's own for its people. */
export async function listAudit(db: Queryable, scope: Scope, filter: repo.AuditFilter = {}) {
  return repo.listAudit(db, scope, filter);
}
