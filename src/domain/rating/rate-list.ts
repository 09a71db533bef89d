import { matchVersion, type CompiledPlan, type CompiledVersion, type Rate } from './plan';

/**
 * A plan's rates as a list people read (a subscriber's rates page): the version of each prefix in
 * force at an instant, searched by destination name or by a number (the longest prefix, the same
 * match as rating), paged by keyset on (prefix, direction). Read from the compiled plan, so the
 * list is what the intake prices by; no clock and no I/O.
 */
export type DeckDirection = Rate['direction'];

/** Every prefix's newest version, sorted by prefix then direction, once per compiled plan. */
const sortedHeads = new WeakMap<CompiledPlan, CompiledVersion[]>();

function headsOf(plan: CompiledPlan): CompiledVersion[] {
  let list = sortedHeads.get(plan);
  if (!list) {
    list = [...plan.rating.trie.heads].sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : a.direction < b.direction ? -1 : a.direction > b.direction ? 1 : 0));
    sortedHeads.set(plan, list);
  }
  return list;
}

/** The version of a head in force at `at`; undefined when all of them start later. */
function inForce(head: CompiledVersion, at: number): CompiledVersion | undefined {
  let v: CompiledVersion | undefined = head;
  while (v !== undefined && v.effectiveFrom > at) v = v.older;
  return v;
}

export interface RateListQuery {
  at: number;
  direction: DeckDirection;
  /** Destination name contains (case-insensitive). */
  name?: string;
  /** An E.164 number: only the rate that prices it (longest prefix). */
  number?: string;
  /** Keyset: the (prefix, direction) of the last entry shown. */
  after?: [string, string];
  limit: number;
}

export interface RateList {
  /** How many versions match the whole query (every page). */
  matched: number;
  rows: CompiledVersion[];
  /** More after the last row. */
  more: boolean;
}

export function listRates(plan: CompiledPlan, q: RateListQuery): RateList {
  if (q.number !== undefined) {
    const v = matchVersion(plan, q.direction, q.number, q.at);
    return { matched: v ? 1 : 0, rows: v && !q.after ? [v] : [], more: false };
  }
  const needle = q.name?.trim().toLowerCase();
  const rows: CompiledVersion[] = [];
  let matched = 0;
  for (const head of headsOf(plan)) {
    if (head.direction !== q.direction) continue;
    const v = inForce(head, q.at);
    if (!v) continue;
    if (needle && !v.rates.some((r) => r.description.toLowerCase().includes(needle))) continue;
    matched++;
    if (q.after && !(v.prefix > q.after[0] || (v.prefix === q.after[0] && v.direction > q.after[1]))) continue;
    if (rows.length <= q.limit) rows.push(v);
  }
  return { matched, rows: rows.slice(0, q.limit), more: rows.length > q.limit };
}

