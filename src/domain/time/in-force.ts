/**
 * What is "in force" at an instant (DOMAIN.md: decks, taxes and exchange rates are versioned by
 * effective date; a call is rated by the version in force at its start). One rule for every copy
 * that answers it in memory: the SQL look-ups (taxesFor, rateInForce) compare the same way.
 */

/**
 * The instant a look-up at `atMs` compares with: what `new Date(atMs).toISOString()` sends to
 * Postgres in the SQL look-ups (truncated to the millisecond; an impossible instant throws, as
 * toISOString does).
 */
export function lookupInstant(atMs: number): number {
  const at = new Date(atMs).getTime();
  if (Number.isNaN(at)) throw new RangeError('Invalid time value');
  return at;
}

/** Effective from `fromMs` (inclusive) until `toMs` (exclusive; null: no end): in force at `atMs`? */
export function inForceAt(fromMs: number, toMs: number | null, atMs: number): boolean {
  return fromMs <= atMs && (toMs === null || toMs > atMs);
}

/**
 * Of versions that each hold until a later one starts, sorted by start (ascending), how many have
 * started at `atMs`: the last of them (index n - 1) is the one in force; 0, none is yet.
 */
export function startedCount(sortedFromMs: ArrayLike<number>, atMs: number): number {
  let lo = 0;
  let hi = sortedFromMs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sortedFromMs[mid] as number) <= atMs) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The same for versions in any order: the one with the latest start at or before `atMs`, on equal
 * starts the later in the list; undefined when none has started.
 */
export function latestStarted<T>(versions: Iterable<T>, fromOf: (v: T) => number, atMs: number): T | undefined {
  let best: T | undefined;
  let bestFrom = -Infinity;
  for (const v of versions) {
    const from = fromOf(v);
    if (from > atMs) continue;
    if (best === undefined || from >= bestFrom) {
      best = v;
      bestFrom = from;
    }
  }
  return best;
}

/** How a version with an end stands at `atMs`, for the pages that list versions (taxes). */
export function versionState(fromMs: number, toMs: number | null, atMs: number): 'in force' | 'ended' | 'scheduled' {
  if (fromMs > atMs) return 'scheduled';
  return inForceAt(fromMs, toMs, atMs) ? 'in force' : 'ended';
}

/**
 * How each of a series of versions that hold until the next one starts (exchange rates) stands at
 * `atMs`: the one in force (latestStarted), the ones it replaced, and those still to come.
 */
export function seriesStates<T>(versions: T[], fromOf: (v: T) => number, atMs: number): Array<'in force' | 'superseded' | 'scheduled'> {
  const current = latestStarted(versions, fromOf, atMs);
  return versions.map((v) => (fromOf(v) > atMs ? 'scheduled' : v === current ? 'in force' : 'superseded'));
}
