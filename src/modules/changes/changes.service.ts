import type { Queryable } from '../../db/knex';
import type { Scope } from '../../domain/tenancy/roles';
import * as repo from './changes.repository';

export type { ChangeCursor, LegChange, OutboxEvent } from './changes.repository';
export { MAX_CHANGES } from './changes.repository';

/**
 * The change log of call legs in commit order: what an export cursor or a record file (issue 12)
 * follows. Call it outside a transaction of one's own (a reader's own writes are not final until
 * it commits). See changes.repository.ts for why a cursor never skips or repeats a change.
 */
export async function changesAfter(db: Queryable, scope: Scope, cursor: repo.ChangeCursor | null | undefined, limit: number, upTo?: repo.ChangeCursor | null) {
  return repo.changesAfter(db, scope, cursor, limit, upTo);
}

/** The last change a reader may take now (the end of a record file's window); `cursor` when none is newer. */
export async function changesHorizon(db: Queryable, scope: Scope, cursor: repo.ChangeCursor | null | undefined) {
  return repo.changesHorizon(db, scope, cursor);
}

/** The outbox of domain events in commit order: what webhooks (issue 14) follow. */
export async function eventsAfter(db: Queryable, scope: Scope, cursor: repo.ChangeCursor | null | undefined, limit: number) {
  return repo.eventsAfter(db, scope, cursor, limit);
}
