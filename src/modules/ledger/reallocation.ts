import type { Knex } from 'knex';
import type { Queryable } from '../../db/knex';
import { balanceKeyOf } from '../../domain/billing/allowances';
import type { Scope } from '../../domain/tenancy/roles';
import { startKeySql } from './ledger.repository';

/*
 * The reads re-rating needs to re-allocate toll package allowances in call order across batches
 * (rating/rerate.service.ts; docs/ARCHITECTURE.md "Toll package allowances"): which later legs of a
 * balance's cycle drew on it or may, and how many of its seconds legs after a point still hold.
 * In the ledger, the one module that queries legs and charges (test/unit/intake-stages.test.ts);
 * they also read who holds an assignment and a group's prefixes, as ledger/allowances.ts reads
 * what charges took.
 */

/** A leg's place in call order: its start as exact text (microseconds, startKeySql) and its id. */
export interface Position {
  startKey: string;
  id: number;
}

export const comparePositions = (a: Position, b: Position): number => (a.startKey < b.startKey ? -1 : a.startKey > b.startKey ? 1 : a.id - b.id);

/** A balance as re-rating tracks it; its cycle's end is known when a claim named it, else read from its row. */
export interface BalanceRef {
  assignmentId: number;
  groupId: number;
  cycleStartMs: number;
  cycleEndMs: number | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The balances as unnest's arrays, with a position per balance (null: from the cycle's start). */
function balanceArrays(balances: ReadonlyArray<BalanceRef & { after: Position | null }>): Knex.RawBinding[] {
  return [
    balances.map((b) => b.assignmentId),
    balances.map((b) => b.groupId),
    balances.map((b) => iso(b.cycleStartMs)),
    balances.map((b) => (b.cycleEndMs === null ? null : iso(b.cycleEndMs))) as unknown as Knex.RawBinding,
    balances.map((b) => (b.after ? b.after.startKey : iso(b.cycleStartMs))),
    balances.map((b) => (b.after ? b.after.id : 0)),
  ];
}

// The charges of a balance's holder in its cycle after a position: the holder's retail charges for
// a subscriber's assignment, its wholesale ones for a reseller's (charges_reseller_idx).
const HOLDER_CHARGES = `
  FROM unnest(?::bigint[], ?::bigint[], ?::timestamptz[], ?::timestamptz[], ?::timestamptz[], ?::bigint[]) AS b(a, g, s, e, after_at, after_id)
  JOIN package_assignments pa ON pa.id = b.a
  LEFT JOIN allowance_usage u ON u.assignment_id = b.a AND u.group_id = b.g AND u.cycle_start = b.s
  JOIN charges c ON c.reseller_id = pa.reseller_id
               AND c.kind = CASE WHEN pa.subscriber_id IS NULL THEN 'wholesale' ELSE 'retail' END
               AND (pa.subscriber_id IS NULL OR c.subscriber_id = pa.subscriber_id)
               AND c.start_at >= greatest(b.s, b.after_at) AND c.start_at < coalesce(b.e, u.cycle_end)
               AND (c.start_at, c.leg_id) > (b.after_at, b.after_id)`;

/** A charge that took from balance b. */
const TOOK = `EXISTS (SELECT 1 FROM jsonb_to_recordset(c.allowances) AS x(assignment_id bigint, group_id bigint, cycle_start timestamptz)
                       WHERE x.assignment_id = b.a AND x.group_id = b.g AND x.cycle_start = b.s)`;

/**
 * A charge short of its charged seconds that may claim balance b: a destination called (outbound,
 * forwarded) while the assignment was in force, to a number one of the group's prefixes starts
 * (a short number, stored without one, may be rated as any). More than the legs that claim b:
 * rating tells, and re-rating keeps only those.
 */
const MAY_CLAIM = `(c.covered_seconds < c.charged_seconds AND l.direction IN ('outbound', 'forwarded')
                    AND l.start_at >= pa.starts_at AND (pa.ends_at IS NULL OR l.start_at < pa.ends_at)
                    AND (l.called_number IS NULL
                         OR EXISTS (SELECT 1 FROM destination_group_prefixes p WHERE p.group_id = b.g AND ltrim(l.called_number, '+') LIKE p.prefix || '%')))`;

/**
 * Legs after each balance's position (in its cycle, call order) whose charges took from it or
 * may claim it, up to `upTo` (inclusive) and at most `limit`, within the scope, leaving out
 * `excluding`: the legs re-rating must re-allocate after a balance was touched, first first.
 */
export async function legsDrawingOn(
  db: Queryable,
  scope: Scope,
  balances: ReadonlyArray<BalanceRef & { after: Position | null }>,
  opts: { upTo?: Position; limit: number; excluding?: number[] },
): Promise<Position[]> {
  if (balances.length === 0) return [];
  const params: Knex.RawBinding[] = balanceArrays(balances);
  let where = '';
  if (opts.upTo) {
    where += ' AND (l.start_at, l.id) <= (?::timestamptz, ?)';
    params.push(opts.upTo.startKey, opts.upTo.id);
  }
  if (scope.kind !== 'wholesale') {
    where += ' AND l.reseller_id = ?';
    params.push(scope.resellerId);
  }
  if (opts.excluding?.length) {
    where += ' AND NOT (l.id = any(?::bigint[]))';
    params.push(opts.excluding);
  }
  params.push(opts.limit);
  const { rows } = (await db.raw(
    `SELECT DISTINCT l.start_at, l.id, ${startKeySql('l')} AS start_key
       ${HOLDER_CHARGES}
       JOIN call_legs l ON l.id = c.leg_id AND l.start_at = c.start_at
      WHERE (${TOOK} OR ${MAY_CLAIM})${where}
      ORDER BY l.start_at, l.id
      LIMIT ?`,
    params,
  )) as { rows: Array<{ id: string | number; start_key: string }> };
  return rows.map((r) => ({ startKey: r.start_key, id: Number(r.id) }));
}

/**
 * Seconds of each balance that the charges of legs after `after` (call order) took: what later
 * legs hold and will give back in their turn. By balanceKeyOf; balances none holds are absent.
 */
export async function heldAfter(db: Queryable, balances: ReadonlyArray<BalanceRef>, after: Position): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (balances.length === 0) return out;
  const { rows } = (await db.raw(
    `SELECT b.a, b.g, b.s, sum(x.seconds)::bigint AS seconds
       ${HOLDER_CHARGES}
       CROSS JOIN LATERAL jsonb_to_recordset(c.allowances) AS x(assignment_id bigint, group_id bigint, cycle_start timestamptz, seconds int)
      WHERE x.assignment_id = b.a AND x.group_id = b.g AND x.cycle_start = b.s
      GROUP BY b.a, b.g, b.s`,
    balanceArrays(balances.map((b) => ({ ...b, after }))),
  )) as { rows: Array<{ a: string | number; g: string | number; s: Date | string; seconds: string | number }> };
  for (const r of rows) out.set(balanceKeyOf({ assignmentId: Number(r.a), groupId: Number(r.g), cycleStartMs: new Date(r.s).getTime() }), Number(r.seconds));
  return out;
}
