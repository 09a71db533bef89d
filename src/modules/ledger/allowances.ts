import type { Queryable } from '../../db/knex';
import type { AllowanceTake, BalanceKey } from '../../domain/billing/allowances';
import type { RatedLeg } from '../../domain/legs/rated';

/*
 * Toll package allowances in the ledger's writes (issue 11). The ledger does not know packages or
 * balances: rating hands it an AllowanceStep (as it hands the holders' WriteGuard), and the ledger
 * runs it in the write's transaction, after the legs are stored (so a re-post, which stores
 * nothing, takes nothing) and before their charges are: the step locks the balances, allocates in
 * call order and gives the legs back with their charges re-priced. Legs without claims never reach
 * it, and a group with none costs nothing more. Kept in this file, apart from the write paths.
 */

/** A leg stored in this transaction, as the charge writers take it. */
export interface FreshLeg {
  id: number;
  startMs: number;
  rated: RatedLeg;
}

export interface AllowanceStep {
  /**
   * In the write's transaction: locks the balances `legs` may draw on (and those `given` names),
   * gives back `given` (what earlier charges of re-rated legs took), allocates to the legs in call
   * order, stores the balances, and returns the legs with their claimed charges re-priced.
   * `setAside` (re-rating), run once the balances are locked, names seconds of each locked balance
   * that later legs still hold and will give back in their turn: the legs here draw as if they were
   * free, and they stay counted in the balance.
   */
  consume<T extends FreshLeg>(tx: Queryable, legs: T[], given?: AllowanceTake[], setAside?: SetAside): Promise<T[]>;
}

/** Seconds of each locked balance (by balanceKeyOf) held by legs after the ones allocated; may throw to roll the write back. */
export type SetAside = (tx: Queryable, locked: Array<Omit<BalanceKey, 'cycleEndMs'> & { cycleEndMs: number }>) => Promise<Map<string, number>>;

/** Whether a leg draws on an allowance. */
export const hasClaims = (r: RatedLeg): boolean => r.claims !== undefined && r.claims.length > 0;

/**
 * The write paths' one call: the legs with claims go through the step, the others as they are
 * (the same array back when none has a claim or there is no step).
 */
export async function settleAllowances<T extends FreshLeg>(tx: Queryable, step: AllowanceStep | undefined, legs: T[]): Promise<T[]> {
  if (!step) return legs;
  const claimed = legs.filter((l) => hasClaims(l.rated));
  if (claimed.length === 0) return legs;
  const settled = new Map(claimed.map((l, i) => [l, i]));
  const out = await step.consume(tx, claimed);
  return legs.map((l) => {
    const i = settled.get(l);
    return i === undefined ? l : (out[i] as T);
  });
}

/** What the stored charges of these legs took from allowances (re-rating gives it back). */
export async function takenBy(db: Queryable, legs: Array<{ id: number; startMs: number }>): Promise<AllowanceTake[]> {
  return [...(await takenByLeg(db, legs)).values()].flat();
}

/** The same by leg id (a leg that took nothing is absent). */
export async function takenByLeg(db: Queryable, legs: Array<{ id: number; startMs: number }>): Promise<Map<number, AllowanceTake[]>> {
  const out = new Map<number, AllowanceTake[]>();
  if (legs.length === 0) return out;
  const { rows } = (await db.raw(
    `SELECT c.leg_id, a.assignment_id, a.group_id, a.cycle_start, a.seconds
       FROM charges c, jsonb_to_recordset(c.allowances) AS a(assignment_id bigint, group_id bigint, cycle_start timestamptz, seconds int)
      WHERE (c.leg_id, c.start_at) IN (SELECT * FROM unnest(?::bigint[], ?::timestamptz[])) AND c.covered_seconds > 0`,
    [legs.map((l) => l.id), legs.map((l) => new Date(l.startMs).toISOString())],
  )) as { rows: Array<{ leg_id: string | number; assignment_id: string | number; group_id: string | number; cycle_start: Date | string; seconds: number }> };
  for (const r of rows) {
    const id = Number(r.leg_id);
    let takes = out.get(id);
    if (!takes) out.set(id, (takes = []));
    takes.push({ assignmentId: Number(r.assignment_id), groupId: Number(r.group_id), cycleStartMs: new Date(r.cycle_start).getTime(), seconds: Number(r.seconds) });
  }
  return out;
}
