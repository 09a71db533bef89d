/**
 * Toll package allowances (issue 11; docs/ARCHITECTURE.md "Where allowances plug in"): which
 * allowance a charge may draw on, and how seconds are shared out among charges. Pure: rating finds
 * the candidates (reading only), the write's transaction locks the balances and allocates here.
 *
 * The rules, decided once:
 * - A charge draws on the allowances of the groups whose prefixes match the rated number of an
 *   outbound or forwarded leg (destinations called; an inbound leg's number is our DID, not a
 *   destination) at the leg's start. The longest matching prefix across every package the party
 *   holds wins. Ties (two held packages, or two groups, with the same longest prefix) are all
 *   drawn on, one after the other: the assignment that started first, then the lower assignment
 *   id, then the lower group id. The first of them (the winner) says the overage rate.
 * - What is drawn is charged seconds, second by second: the call as the plan's increments round
 *   it (a 61 s call on 60/60 draws 120 s). When the balance runs out inside a block, the block's
 *   uncovered seconds are priced (the engine's coveredSeconds hook): no whole-block rounding of
 *   the allowance, so a balance is always used to its last second.
 * - The plan's per-call prices stay: the connect fee and the minimum charge apply to a covered
 *   call as the plan says (a package covers time, not call set-up).
 * - Charges are served in call order (start, then leg key, then wholesale before retail); a new
 *   billing cycle starts with the whole allowance (a balance row per cycle).
 */
import type { PricedCharge } from '../rating/charge';

/** One group of one held toll package, as rating loads it for a party. */
export interface AllowanceSource {
  assignmentId: number;
  groupId: number;
  /** The assignment's span: in force from startsMs (inclusive) until endsMs (exclusive; null: open). */
  startsMs: number;
  endsMs: number | null;
  /** Digit prefixes of the group. */
  prefixes: readonly string[];
  /** Seconds per cycle; null: unlimited. */
  includedSeconds: number | null;
  /** Per minute after the allowance, as decimal text in `currency`; null: the plan's rate. */
  overageRate: string | null;
  currency: string;
}

/** A balance: one assignment's group in one billing cycle. */
export interface BalanceKey {
  assignmentId: number;
  groupId: number;
  cycleStartMs: number;
  cycleEndMs: number;
}

export interface AllowanceCandidate extends BalanceKey {
  includedSeconds: number | null;
}

/** Seconds a charge took from one balance (charges.allowances). */
export interface AllowanceTake {
  assignmentId: number;
  groupId: number;
  cycleStartMs: number;
  seconds: number;
}

/**
 * A charge of a rated leg that may draw on allowances: set by rating, settled by the write. The
 * charge stored beside it is priced with nothing covered until the write allocates.
 */
export interface AllowanceClaim {
  /** Index of the charge in the leg's charges. */
  charge: number;
  /** Charged seconds of the charge: the most it can take. */
  demand: number;
  /** In draw order (see the tie rule above). */
  candidates: AllowanceCandidate[];
  /** The charge priced with its first `covered` seconds taken from `takes` (pure, cheap). */
  reprice(covered: number, takes: AllowanceTake[]): PricedCharge;
}

export const balanceKeyOf = (k: { assignmentId: number; groupId: number; cycleStartMs: number }): string => `${k.assignmentId}|${k.groupId}|${k.cycleStartMs}`;

/**
 * The sources a number draws on at an instant: those in force whose group has the longest prefix
 * of the number, in draw order. Empty when no group matches.
 */
export function matchAllowances(sources: readonly AllowanceSource[], number: string, atMs: number): AllowanceSource[] {
  const digits = number.charCodeAt(0) === 43 ? number.slice(1) : number;
  let best = 0;
  let out: AllowanceSource[] = [];
  for (const s of sources) {
    if (s.startsMs > atMs || (s.endsMs !== null && s.endsMs <= atMs)) continue;
    let len = 0;
    for (const p of s.prefixes) if (p.length > len && digits.startsWith(p)) len = p.length;
    if (len === 0 || len < best) continue;
    if (len > best) {
      best = len;
      out = [];
    }
    out.push(s);
  }
  return out.sort((a, b) => a.startsMs - b.startsMs || a.assignmentId - b.assignmentId || a.groupId - b.groupId);
}

/** A balance as locked in the write: its allowance now and the seconds used so far in the cycle. */
export interface Balance {
  includedSeconds: number | null;
  used: number;
}

/**
 * Shares balances out among claims, in the order given (call order: sort with compareCallOrder
 * first). Each claim takes from its candidates in turn, up to its demand; an unlimited one covers
 * the rest. Balances are drawn down in place; a balance never goes past its allowance (one found
 * over already, after its allowance was lowered, gives nothing).
 */
export function allocate(claims: ReadonlyArray<Pick<AllowanceClaim, 'demand' | 'candidates'>>, balances: Map<string, Balance>): Array<{ covered: number; takes: AllowanceTake[] }> {
  return claims.map((c) => {
    let left = c.demand;
    const takes: AllowanceTake[] = [];
    for (const k of c.candidates) {
      if (left <= 0) break;
      const b = balances.get(balanceKeyOf(k));
      if (!b) throw new Error(`balance ${balanceKeyOf(k)} was not locked`);
      const free = b.includedSeconds === null ? left : Math.max(0, b.includedSeconds - b.used);
      const take = Math.min(free, left);
      if (take <= 0) continue;
      b.used += take;
      left -= take;
      takes.push({ assignmentId: k.assignmentId, groupId: k.groupId, cycleStartMs: k.cycleStartMs, seconds: take });
    }
    return { covered: c.demand - left, takes };
  });
}

/** Gives back what earlier charges took (re-rating), never below zero. */
export function giveBack(takes: readonly AllowanceTake[], balances: Map<string, Balance>): void {
  for (const t of takes) {
    const b = balances.get(balanceKeyOf(t));
    if (b) b.used = Math.max(0, b.used - t.seconds);
  }
}

/** Call order: start, then leg key. */
export function compareCallOrder(a: { startMs: number; legKey: string }, b: { startMs: number; legKey: string }): number {
  return a.startMs - b.startMs || (a.legKey < b.legKey ? -1 : a.legKey > b.legKey ? 1 : 0);
}

/**
 * Re-rating in call order (docs/ARCHITECTURE.md "Toll package allowances"): a leg's share of a
 * balance depends on every earlier leg of the balance's cycle, so once re-rating touches a balance
 * (gives back from it or claims it), every later leg of the cycle that drew on it, or may, is
 * re-allocated too, in call order. Re-rating walks the selected legs merged with such legs, one
 * batch at a time; this decides, for one batch in call order, which legs are re-allocated: a
 * selected leg always; another only when one of its balances (what its charges took, what its new
 * claims may take) was touched by an earlier leg of the walk (`touched`, or an earlier leg of the
 * batch). Returns that per leg, and the balances the batch touches first, with their first leg.
 */
export function planReallocation(legs: ReadonlyArray<{ selected: boolean; balances: readonly string[] }>, touched: ReadonlySet<string>): { keep: boolean[]; first: Map<string, number> } {
  const first = new Map<string, number>();
  const keep = legs.map((l, i) => {
    if (!l.selected && !l.balances.some((k) => touched.has(k) || first.has(k))) return false;
    for (const k of l.balances) if (!touched.has(k) && !first.has(k)) first.set(k, i);
    return true;
  });
  return { keep, first };
}
