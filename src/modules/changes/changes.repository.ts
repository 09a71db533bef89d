import type { Queryable } from '../../db/knex';
import { BadRequestError, ForbiddenError } from '../../domain/errors';
import type { Scope } from '../../domain/tenancy/roles';

/*
 * Reading the change log (leg_changes) and the outbox (outbox_events) in commit order
 * (docs/ARCHITECTURE.md, "The change log and the outbox"). Both are written by the transaction that makes the change (the
 * ledger for legs, recordAudit for events), each row with its position (an identity) and the id of
 * its transaction (xid, pg_current_xact_id()).
 *
 * Why not "position > cursor": a position is taken when a row is written, not when it commits.
 * Two write lanes (the intake's group commit, re-rating, a portal change) take 10 and 11, and 11
 * commits first; a reader that saw 11 and keeps "after 11" never sees 10. Nor is a counter row
 * bumped just before commit worth it here: it would make every writer wait for the last one's
 * commit, and the intake's commits are what it is measured by.
 *
 * Instead a reader takes only rows whose transaction is below pg_snapshot_xmin(pg_current_snapshot()):
 * every transaction below xmin had ended when the reader's snapshot was taken, so those rows are
 * final (committed and visible, or rolled back and gone), and any transaction still to commit has
 * an xid at or above xmin. Reading in (xid, position) order with the cursor on that pair, no row
 * can appear behind the cursor later: nothing is skipped, and a row is never read twice. A change
 * becomes readable once every transaction older than its own has ended (usually milliseconds; a
 * long transaction anywhere on the server delays readers, never loses a change). xid8 is 64 bits:
 * it never wraps around.
 */

/** Where a reader has got to: the (xid, position) of the last change it read, as text. */
export type ChangeCursor = string;

const CURSOR = /^(\d{1,20})\.(\d{1,19})$/;

/** The pair a cursor carries; undefined (the start of the log) for none. */
function cursorPair(cursor: ChangeCursor | null | undefined): [string, string] {
  if (!cursor) return ['0', '0'];
  const m = CURSOR.exec(cursor);
  if (!m) throw new BadRequestError('Not a cursor of the change log');
  return [m[1] as string, m[2] as string];
}

const cursorOf = (row: { xid: string; position: string | number }): ChangeCursor => `${row.xid}.${row.position}`;

/** At most this many changes a read. */
export const MAX_CHANGES = 10_000;

/** The tenant rows a scope reaches: all for operator staff, its own for a reseller's people; subscribers none. */
function tenantOf(scope: Scope): number | null {
  if (scope.kind === 'wholesale') return null;
  if (scope.kind === 'subscriber') throw new ForbiddenError('Subscribers cannot follow the change log');
  return scope.resellerId;
}

async function readAfter<R extends { xid: string; position: string | number }>(
  db: Queryable,
  table: 'leg_changes' | 'outbox_events',
  columns: string,
  scope: Scope,
  cursor: ChangeCursor | null | undefined,
  limit: number,
  upTo?: ChangeCursor | null,
): Promise<{ rows: R[]; cursor: ChangeCursor | null }> {
  const [xid, position] = cursorPair(cursor);
  // An upper bound (inclusive): a record file's closing reads exactly the window it fixed at its start.
  const [toXid, toPosition] = upTo ? cursorPair(upTo) : [null, null];
  const resellerId = tenantOf(scope);
  const n = Math.min(Math.max(1, Math.floor(limit)), MAX_CHANGES);
  // Ordered by the column, not by the text `xid` of the select list (which ORDER BY xid would
  // name): as text '1045' sorts before '788', and a cursor taken from such a page reads rows again.
  const { rows } = (await db.raw(
    `SELECT xid::text AS xid, position, ${columns}
       FROM ${table}
      WHERE (xid, position) > (?::xid8, ?::bigint)
        AND xid < pg_snapshot_xmin(pg_current_snapshot())
        AND (?::bigint IS NULL OR reseller_id = ?::bigint)
        AND (?::xid8 IS NULL OR (xid, position) <= (?::xid8, ?::bigint))
      ORDER BY ${table}.xid, ${table}.position
      LIMIT ?`,
    [xid, position, resellerId, resellerId, toXid, toXid, toPosition, n],
  )) as { rows: R[] };
  const last = rows[rows.length - 1];
  return { rows, cursor: last ? cursorOf(last) : (cursor ?? null) };
}

export interface LegChange {
  /** This change's place in the log: pass it back as the cursor to read after it. */
  cursor: ChangeCursor;
  legId: number;
  /** The leg's start (its partition key). */
  startAt: Date;
  /** The leg's reseller after the change (null: matched to no subscriber). */
  resellerId: number | null;
  kind: 'stored' | 'rerated';
  changedAt: Date;
}

/**
 * Up to `limit` changes of legs after `cursor` (null: from the start), in commit order, and the
 * cursor to read on from (the same one when there is nothing new). A reseller's scope reads the
 * changes that left a leg with it.
 */
export async function changesAfter(db: Queryable, scope: Scope, cursor: ChangeCursor | null | undefined, limit: number, upTo?: ChangeCursor | null): Promise<{ changes: LegChange[]; cursor: ChangeCursor | null }> {
  const { rows, cursor: next } = await readAfter<Record<string, any> & { xid: string; position: string }>(
    db, 'leg_changes', 'leg_id, start_at, reseller_id, kind, changed_at', scope, cursor, limit, upTo,
  );
  return {
    changes: rows.map((r) => ({ cursor: cursorOf(r), legId: Number(r.leg_id), startAt: new Date(r.start_at), resellerId: r.reseller_id === null ? null : Number(r.reseller_id), kind: r.kind, changedAt: new Date(r.changed_at) })),
    cursor: next,
  };
}

export interface OutboxEvent {
  cursor: ChangeCursor;
  /** `subscriber.updated`, `number.assigned`, … (audit.repository.ts, eventTypeOf). */
  type: string;
  /** Null for an operator-level event (a reconciliation finished): the operator's alone. */
  resellerId: number | null;
  entityType: string;
  entityId: number | null;
  /** What changed: entity_type, entity_id, action, before, after. */
  payload: Record<string, unknown>;
  /** The audit row written beside it. */
  auditId: number;
  createdAt: Date;
}

/** Up to `limit` domain events after `cursor`, in commit order, as changesAfter; a reseller's scope reads its own. */
export async function eventsAfter(db: Queryable, scope: Scope, cursor: ChangeCursor | null | undefined, limit: number): Promise<{ events: OutboxEvent[]; cursor: ChangeCursor | null }> {
  const { rows, cursor: next } = await readAfter<Record<string, any> & { xid: string; position: string }>(
    db, 'outbox_events', 'type, reseller_id, entity_type, entity_id, payload, audit_id, created_at', scope, cursor, limit,
  );
  return {
    events: rows.map((r) => ({
      cursor: cursorOf(r), type: r.type, resellerId: r.reseller_id === null ? null : Number(r.reseller_id), entityType: r.entity_type, entityId: r.entity_id === null ? null : Number(r.entity_id),
      payload: r.payload, auditId: Number(r.audit_id), createdAt: new Date(r.created_at),
    })),
    cursor: next,
  };
}

/**
 * The last change of the scope that a reader may take now (below the snapshot's xmin), as a
 * cursor, or `cursor` itself when there is none after it: the end of a window that a record file
 * closes over. Every change up to it is final, so reading up to it later reads the same rows.
 */
export async function changesHorizon(db: Queryable, scope: Scope, cursor: ChangeCursor | null | undefined): Promise<ChangeCursor | null> {
  const [xid, position] = cursorPair(cursor);
  const resellerId = tenantOf(scope);
  const { rows } = (await db.raw(
    `SELECT xid::text AS xid, position
       FROM leg_changes
      WHERE (xid, position) > (?::xid8, ?::bigint)
        AND xid < pg_snapshot_xmin(pg_current_snapshot())
        AND (?::bigint IS NULL OR reseller_id = ?::bigint)
      ORDER BY leg_changes.xid DESC, leg_changes.position DESC
      LIMIT 1`,
    [xid, position, resellerId, resellerId],
  )) as { rows: Array<{ xid: string; position: string }> };
  const last = rows[0];
  return last ? cursorOf(last) : (cursor ?? null);
}
