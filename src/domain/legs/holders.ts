/**
 * Who held a number when (DOMAIN.md: a subscriber is found by its numbers "as held at the call's
 * start"). phone_numbers keeps every assignment, current and released; intake and re-rating ask
 * the same question of the same history, so the rule lives here.
 */

/** One assignment of a number to a subscriber: from assignedAt (inclusive) to releasedAt (exclusive, null: still held). */
export interface Assignment {
  number: string;
  subscriberId: number;
  resellerId: number;
  assignedAt: number;
  releasedAt: number | null;
}

/**
 * The holder of a number at a moment: the assignment covering it, else nobody. A call from before
 * the number's first assignment, or between two holders, is nobody's: billing it to a later holder
 * would charge someone for a call made before they had the number.
 */
export function holderAt(list: readonly Assignment[] | undefined, atMs: number): Assignment | undefined {
  if (!list) return undefined;
  for (const a of list) if (a.assignedAt <= atMs && (a.releasedAt === null || a.releasedAt > atMs)) return a;
  return undefined;
}

/**
 * Why a number that has been ours (it has assignments) belongs to nobody at `atMs`: nobody held it
 * at the call's time, and when it was first assigned if that came later. Undefined when it has no
 * assignment at all, or when someone held it then.
 */
export function vacancyOf(number: string, list: readonly Assignment[] | undefined, atMs: number): string | undefined {
  if (!list || list.length === 0 || holderAt(list, atMs)) return undefined;
  let first = list[0] as Assignment;
  for (const a of list) if (a.assignedAt < first.assignedAt) first = a;
  const when = atMs < first.assignedAt ? ` (first assigned ${new Date(first.assignedAt).toISOString()})` : '';
  return `nobody held ${number} at the call's time${when}`;
}
