import { Decimal } from '../money/decimal';
import type { DateTimeResult } from '../time/date-time';
import { readZonedWallTime } from '../time/zones';

/**
 * Pure rules of feature packages (issue 11): what a reseller may put in its package, when an
 * assignment is in force, and the margin over the base. No I/O.
 */

/** A feature's code as the switch knows it: letters, digits and _ . : - (the table's check). */
export const FEATURE_CODE = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Where an assignment stands at an instant: [starts, ends) in force; before it scheduled; after it ended. */
export type AssignmentState = 'current' | 'scheduled' | 'ended';

export function assignmentState(startsMs: number, endsMs: number | null, atMs: number): AssignmentState {
  if (atMs < startsMs) return 'scheduled';
  if (endsMs !== null && atMs >= endsMs) return 'ended';
  return 'current';
}

/** Whether [aStart, aEnd) and [bStart, bEnd) share an instant (null end: open). */
export function spansOverlap(aStart: number, aEnd: number | null, bStart: number, bEnd: number | null): boolean {
  return (aEnd === null || bStart < aEnd) && (bEnd === null || aStart < bEnd);
}

/**
 * The features a package may hold: each chosen one must be in the allowed set (the base package's,
 * for a reseller's package; the catalogue's, for the operator's), and one not held already must
 * not be retired (a retired feature stays where it is but goes into nothing new). Returns the
 * chosen ids that break these rules, each with why.
 */
export function featureChoiceProblems(
  chosen: readonly number[],
  allowed: ReadonlyMap<number, { retired: boolean }>,
  heldAlready: ReadonlySet<number>,
): Array<{ id: number; why: 'not allowed' | 'retired' }> {
  const out: Array<{ id: number; why: 'not allowed' | 'retired' }> = [];
  for (const id of new Set(chosen)) {
    const f = allowed.get(id);
    if (!f) out.push({ id, why: 'not allowed' });
    else if (f.retired && !heldAlready.has(id)) out.push({ id, why: 'retired' });
  }
  return out;
}

/** Retail minus wholesale, exact, as text; null when the currencies differ (no margin to show). */
export function marginOf(retail: { currency: string; amount: string }, wholesale: { currency: string; amount: string }): string | null {
  if (retail.currency !== wholesale.currency) return null;
  return new Decimal(retail.amount).minus(new Decimal(wholesale.amount)).toFixed();
}

/** A numeric(20,10) amount for reading: trailing zeros dropped, at least two decimals ("5.00", "0.125"). */
export function moneyText(amount: Decimal | string | null | undefined): string {
  if (amount === null || amount === undefined) return '';
  const d = typeof amount === 'string' ? new Decimal(amount) : amount;
  return d.toFixed(Math.max(2, d.decimalPlaces()));
}

/**
 * A moment typed in a zone (the viewer's): "2026-12-07 09:30" (or with T, or seconds), or a date
 * alone for its local midnight. DST gaps move forward, as everywhere in the product.
 */
export function readLocalMoment(text: string, timeZone: string): DateTimeResult {
  const t = text.trim().replace('T', ' ');
  // A date alone is its midnight.
  const at = readZonedWallTime(/^\d{4}-\d{2}-\d{2}$/.test(t) ? `${t} 00:00` : t, timeZone);
  if (!at.ok) return at.impossible ? at : { ok: false, reason: 'is not a date and time YYYY-MM-DD hh:mm (or a date YYYY-MM-DD)', impossible: false };
  return at;
}
