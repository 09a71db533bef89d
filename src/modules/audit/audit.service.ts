import type { Queryable } from '../../db/knex';
import type { Scope } from '../../domain/tenancy/roles';
import * as repo from './audit.repository';

export type { AuditFilter, AuditRow } from './audit.repository';

/** The changes the caller's scope may see: every one for the operator's staff, a reseller's own for its people. */
export async function listAudit(db: Queryable, scope: Scope, filter: repo.AuditFilter = {}) {
  return repo.listAudit(db, scope, filter);
}

/** The audit log page: the filter's changes sorted, counted and paged. */
export async function auditPage(db: Queryable, scope: Scope, filter: repo.AuditFilter) {
  return repo.auditPage(db, scope, filter);
}

/** Every change the log's filter matches, in its order: the CSV of exactly that list. */
export function allAudit(db: Queryable, scope: Scope, filter: repo.AuditFilter) {
  return repo.allAudit(db, scope, filter);
}
