import type { Db, Queryable } from '../../db/knex';
import type { RatedLeg } from '../../domain/legs/rated';
import {
  addUsage,
  allocateIds,
  checkGuard,
  copyPrepared,
  copyText,
  deleteCdrs,
  insertCdrs,
  insertCharges,
  insertGroup,
  insertLegs,
  replaceCharges,
  updateLegRatings,
  takeAwayUsage,
  type GroupRecord,
  type StoredLeg,
  type WriteGuard,
} from './ledger.repository';
import { hasClaims, settleAllowances, type AllowanceStep, type FreshLeg } from './allowances';

/*
 * The one writer of rated legs. Three strategies, each measured (docs/PERFORMANCE.md, bench (a),
 * (b), (c)) and each for its case:
 *
 * - one statement (insertGroup): a group of small posts with nothing else to store, no transaction
 *   of our own; the common case of single-record posts.
 * - INSERT ... ON CONFLICT in a transaction (storeInTransaction): anything the caller stores beside
 *   the legs (pending halves, rejects), posts that share a leg, and every retry.
 * - COPY in a transaction: a group of at least COPY_FROM_LEGS legs on a Postgres server, its rows
 *   prepared beside rating (planCopies), outside the transaction, assuming every leg is new; a
 *   leg stored already fails it (unique violation) and the posts go again by INSERT ... ON CONFLICT.
 *
 * Every strategy writes each new leg's row of the change log (leg_changes) with the leg: in the
 * same statement (one statement, INSERT) or the same transaction (a fifth COPY).
 *
 * Legs that draw on toll package allowances (RatedLeg.claims) are settled in the transaction by
 * the caller's AllowanceStep, after they are stored and before their charges are (allowances.ts):
 * the one statement then runs inside a transaction of its own (storeInOneStatementDrawing), the
 * INSERT path settles before insertCharges, and COPY leaves their charges out of its rows.
 */

/** A leg to store, with the carrier it left by. */
export interface LedgerLeg {
  rated: RatedLeg;
  carrier: string | null;
}

/** One record as received (its raw body) with its legs. */
export interface LedgerRecord {
  platformId: number;
  contentType: string | undefined;
  body: string;
  legs: LedgerLeg[];
}

/**
 * One post's records: the unit that is answered as if written alone (a later post of the same
 * group sees a leg it shares with an earlier one as a duplicate). `copy` when its rows were
 * prepared for COPY.
 */
export interface LedgerPost {
  records: LedgerRecord[];
  copy?: CopyPlan;
}

/** Each record's legs as stored (new, or found stored already). */
export type StoredRecords = StoredLeg[][];

/**
 * A post's write by COPY, prepared beside its rating and outside any transaction, so that the
 * transaction only streams rows: ids for the new rows, and the rows in COPY text. It assumes every
 * leg is new; one that is stored already makes the COPY fail with a unique violation, and the post
 * is then written again without its plan (see the intake's pipeline).
 */
export interface CopyPlan {
  /** The stored leg each of the post's legs answers with, in order (all new). */
  stored: StoredLeg[];
  /** Ids of the records' raw bodies, in order. */
  cdrIds: number[];
  cdrs: string[];
  legKeys: string[];
  legs: string[];
  charges: string[];
  /** The legs' rows of the change log. */
  changes: string[];
  /** Legs that draw on toll package allowances: their charges are not in `charges` but written once settled (allowances.ts). */
  claimed: FreshLeg[];
  /** The legs' rated_at, for the charges of `claimed` written later. */
  ratedAt: string;
}

/**
 * Below this many legs a group is written with one INSERT statement (insertGroup). COPY needs a
 * look-up of ids first, then five COPYs in a transaction (leg keys, records, legs, charges, the change log): it
 * pays off only when there are many rows to stream.
 */
export const COPY_FROM_LEGS = 200;

/** Whether a group of `legs` legs is worth preparing for COPY (a real Postgres server only). */
export function copyPays(legs: number, opts: { copy: boolean; copyFromLegs?: number }): boolean {
  return opts.copy && legs >= (opts.copyFromLegs ?? COPY_FROM_LEGS);
}

/**
 * Prepares the COPY of each post (see CopyPlan): ids for all posts together, and the rows as COPY
 * text. Optimistic: no look-up of stored legs first (a large post is almost always new). A leg that
 * is stored already (a batch sent again, or a leg shared by two posts of the group) makes the COPY
 * fail on the unique index, and the caller writes the group again post by post without the plans,
 * with INSERT ... ON CONFLICT, which answers such legs as duplicates.
 */
export async function planCopies(db: Queryable, posts: LedgerRecord[][]): Promise<CopyPlan[]> {
  let bodies = 0;
  let legs = 0;
  for (const p of posts) {
    for (const r of p) {
      bodies++;
      legs += r.legs.length;
    }
  }
  const ids = await allocateIds(db, bodies, legs);
  let nextCdr = 0;
  let nextLeg = 0;
  const ratedAt = new Date().toISOString();
  return posts.map((records) => {
    const plan: CopyPlan = { stored: [], cdrIds: [], cdrs: [], legKeys: [], legs: [], charges: [], changes: [], claimed: [], ratedAt };
    for (const rec of records) {
      const cdrId = ids.cdrIds[nextCdr++] as number;
      plan.cdrIds.push(cdrId);
      plan.cdrs.push(copyText.cdr(cdrId, rec.platformId, rec.contentType, rec.body));
      for (const { rated: r, carrier } of rec.legs) {
        const l = r.leg;
        const id = ids.legIds[nextLeg++] as number;
        plan.legKeys.push(copyText.legKey(id, rec.platformId, r));
        plan.legs.push(copyText.leg(id, rec.platformId, cdrId, r, carrier, ratedAt));
        if (hasClaims(r)) plan.claimed.push({ id, startMs: l.startMs, rated: r });
        else plan.charges.push(copyText.charges({ id, startMs: l.startMs, rated: r }, ratedAt));
        plan.changes.push(copyText.change(id, r));
        plan.stored.push({ id, legKey: l.legKey, startAt: l.startMs, status: r.status, reason: r.reason, direction: r.direction, inserted: true });
      }
    }
    return plan;
  });
}

/** Whether two posts of the group share a leg (same platform and key). */
function shareALeg(posts: LedgerPost[]): boolean {
  const seen = new Set<string>();
  for (const p of posts) {
    for (const r of p.records) {
      for (const l of r.legs) {
        const key = `${r.platformId}|${l.rated.leg.legKey}`;
        if (seen.has(key)) return true;
        seen.add(key);
      }
    }
  }
  return false;
}

/**
 * The writer: stores the posts' records, legs and charges with the strategy that fits (see the top
 * of this file), the guard checked before anything is stored, then runs the caller's `then` with
 * what was stored: inside the transaction when there is one, so that the caller's own rows commit
 * with the legs. `inTransaction` when those rows need one (it rules out the one statement).
 */
export async function writeLedger<T>(
  db: Db,
  posts: LedgerPost[],
  opts: { guard?: WriteGuard; inTransaction?: boolean; allowances?: AllowanceStep; then: (q: Queryable, stored: StoredRecords[]) => Promise<T> },
): Promise<T> {
  if (!opts.inTransaction) {
    const stored = await storeInOneStatement(db, posts, opts.guard);
    if (stored) return opts.then(db, stored);
    if (oneStatementFits(posts) && claimsAllowances(posts)) {
      try {
        return await db.transaction(async (tx) => opts.then(tx, await storeInOneStatementDrawing(tx, posts, opts.guard, opts.allowances)));
      } catch (err) {
        if (!(err instanceof DrawnForAStoredLeg)) throw err;
      }
    }
  }
  return db.transaction(async (tx) => opts.then(tx, await storeInTransaction(tx, posts, opts.guard, opts.allowances)));
}

/** Whether a leg of the posts draws on a toll package allowance (its balances need the transaction's row locks). */
function claimsAllowances(posts: LedgerPost[]): boolean {
  for (const p of posts) for (const r of p.records) for (const l of r.legs) if (hasClaims(l.rated)) return true;
  return false;
}

/**
 * The common case in one statement and no transaction of our own (insertGroup): posts that share
 * no leg, have no COPY plan and draw on no allowance (balances are drawn under row locks, in a
 * transaction). Undefined when the group is not such.
 */
export async function storeInOneStatement(db: Queryable, posts: LedgerPost[], guard?: WriteGuard): Promise<StoredRecords[] | undefined> {
  if (!oneStatementFits(posts) || claimsAllowances(posts)) return undefined;
  const records: GroupRecord[] = posts.flatMap((p) => p.records);
  const stored = await insertGroup(db, records, guard);
  let r = 0;
  return posts.map((p) => p.records.map(() => stored[r++] as StoredLeg[]));
}

/** Whether one INSERT statement can store the posts: no COPY plan, no leg shared by two of them. */
const oneStatementFits = (posts: LedgerPost[]): boolean => !posts.some((p) => p.copy) && !shareALeg(posts);

/**
 * The one statement for a group that draws on toll package allowances, in a transaction of its
 * own. The allowances are settled first, as if every leg were new (the balances locked, allocated
 * in call order, stored), and the one statement then stores records, legs and every charge priced
 * as settled: two round trips more than the one statement. A claimed leg the statement finds
 * stored already (a re-post) took seconds it must not have: the transaction is rolled back
 * (DrawnForAStoredLeg) and the caller writes the group the slow way, settling after the legs.
 */
async function storeInOneStatementDrawing(tx: Queryable, posts: LedgerPost[], guard: WriteGuard | undefined, allowances: AllowanceStep | undefined): Promise<StoredRecords[]> {
  const records: GroupRecord[] = posts.flatMap((p) => p.records);
  const claimed: FreshLeg[] = [];
  for (const r of records) for (const l of r.legs) if (hasClaims(l.rated)) claimed.push({ id: claimed.length, startMs: l.rated.leg.startMs, rated: l.rated });
  const settled = await settleAllowances(tx, allowances, claimed);
  const byRated = new Map(claimed.map((c, i) => [c.rated, (settled[i] as FreshLeg).rated]));
  const final = records.map((r) => ({ ...r, legs: r.legs.map((l) => ({ ...l, rated: byRated.get(l.rated) ?? l.rated })) }));
  const stored = await insertGroup(tx, final, guard);
  records.forEach((r, i) => r.legs.forEach((l, k) => {
    if (byRated.has(l.rated) && !((stored[i] as StoredLeg[])[k] as StoredLeg).inserted) throw new DrawnForAStoredLeg();
  }));
  let r = 0;
  return posts.map((p) => p.records.map(() => stored[r++] as StoredLeg[]));
}

/** A group settled allowances for a leg that turned out to be stored already: written again, settling after the legs. */
class DrawnForAStoredLeg extends Error {
  constructor() {
    super('a leg that draws on an allowance was stored already');
  }
}

/**
 * Inside a transaction (possibly shared with the caller's own writes): the guard first, then posts
 * with a CopyPlan streamed with five COPYs for all of them, the others written with one multi-row
 * INSERT per table (chunked) per platform and content type, and the charges of all of them
 * together: a group of a hundred single-record posts costs a handful of round trips, not hundreds.
 * Each post is answered exactly as if it had been written alone; posts that share a leg (a retry
 * racing its original) are written one after the other, so that the later one sees the leg as a
 * duplicate. A record whose legs were all stored already keeps no second copy of its body.
 */
export async function storeInTransaction(tx: Queryable, posts: LedgerPost[], guard?: WriteGuard, allowances?: AllowanceStep): Promise<StoredRecords[]> {
  await checkGuard(tx, guard);
  const inserted = posts.filter((p) => !p.copy);
  // ON CONFLICT does not see a row inserted by the same statement: posts sharing a leg go one by one.
  if (inserted.length > 1 && shareALeg(inserted)) {
    const out: StoredRecords[] = [];
    for (const one of posts) out.push((await storeInTransaction(tx, [one], undefined, allowances))[0] as StoredRecords);
    return out;
  }

  const storedOf = new Map<LedgerPost, StoredLeg[]>();
  const cdrOf = new Map<LedgerRecord, number>();
  const copied = posts.filter((p) => p.copy);
  // Copied legs that draw, when no inserted leg does: settled before the COPY (which stores only
  // new legs, or fails as a whole) so that their charges stream with the others.
  const settleFirst = copied.some((p) => (p.copy as CopyPlan).claimed.length > 0) && !claimsAllowances(inserted);
  const drawnCharges: string[] = [];
  if (settleFirst) {
    // One settle for all of them: one lock order, and call order across the posts.
    const drawing = copied.flatMap((p) => (p.copy as CopyPlan).claimed.map((leg) => ({ ...leg, ratedAt: (p.copy as CopyPlan).ratedAt })));
    for (const leg of await settleAllowances(tx, allowances, drawing)) drawnCharges.push(copyText.charges(leg, leg.ratedAt));
  }
  if (copied.length) {
    const plans = copied.map((p) => p.copy as CopyPlan);
    await copyPrepared(tx, { cdrs: plans.flatMap((c) => c.cdrs), legKeys: plans.flatMap((c) => c.legKeys), legs: plans.flatMap((c) => c.legs), charges: [...plans.flatMap((c) => c.charges), ...drawnCharges], changes: plans.flatMap((c) => c.changes) });
    for (const p of copied) {
      const plan = p.copy as CopyPlan;
      storedOf.set(p, plan.stored);
      p.records.forEach((r, i) => cdrOf.set(r, plan.cdrIds[i] as number));
    }
  }

  // INSERT: one write per platform and content type (the cdrs rows carry both).
  const buckets = new Map<string, LedgerPost[]>();
  for (const p of inserted) {
    const first = p.records[0];
    const key = first ? `${first.platformId}|${first.contentType ?? ''}` : '';
    const list = buckets.get(key) ?? [];
    list.push(p);
    buckets.set(key, list);
  }
  // Legs stored now that still want their charges: those COPY left out (they draw on allowances), then the INSERTed ones.
  const fresh: FreshLeg[] = settleFirst ? [] : copied.flatMap((p) => (p.copy as CopyPlan).claimed);
  for (const bucket of buckets.values()) {
    const stored = await insertBucket(tx, bucket.flatMap((p) => p.records), cdrOf);
    stored.forEach((st) => st.inserted && fresh.push({ id: st.id, startMs: st.startAt, rated: st.rated }));
    let from = 0;
    for (const p of bucket) {
      const n = p.records.reduce((k, r) => k + r.legs.length, 0);
      storedOf.set(p, stored.slice(from, from + n));
      from += n;
    }
  }
  await insertCharges(tx, await settleAllowances(tx, allowances, fresh));
  // The dashboards' figures of every new leg, copied or inserted, in one statement; a copied leg
  // that drew on an allowance is in both lists, counted once.
  const counted = new Map<number, { id: number; startMs: number }>();
  for (const p of copied) for (const st of (p.copy as CopyPlan).stored) counted.set(st.id, { id: st.id, startMs: st.startAt });
  for (const f of fresh) counted.set(f.id, { id: f.id, startMs: f.startMs });
  await addUsage(tx, [...counted.values()]);

  // Each post's legs back by record; a re-posted record is already stored once, and keeping its
  // body again would only add noise.
  const duplicateCdrs: number[] = [];
  const out = posts.map((p) => {
    const stored = storedOf.get(p) as StoredLeg[];
    let k = 0;
    return p.records.map((r) => {
      const legs = stored.slice(k, (k += r.legs.length));
      const cdrId = cdrOf.get(r);
      if (legs.length > 0 && legs.every((l) => !l.inserted) && cdrId !== undefined) duplicateCdrs.push(cdrId);
      return legs;
    });
  });
  await deleteCdrs(tx, duplicateCdrs);
  return out;
}

type Stored = StoredLeg & { rated: RatedLeg };

/** INSERT path: every record's body, then its legs; a leg already there comes back as it is stored. */
async function insertBucket(tx: Queryable, records: LedgerRecord[], cdrOf: Map<LedgerRecord, number>): Promise<Stored[]> {
  if (records.length === 0) return [];
  const { platformId, contentType } = records[0] as LedgerRecord;
  const cdrIds = await insertCdrs(tx, platformId, contentType, records.map((r) => r.body));
  records.forEach((r, i) => cdrOf.set(r, cdrIds[i] as number));
  const toStore = records.flatMap((r) => r.legs.map((l) => ({ cdrId: cdrOf.get(r) as number, rated: l.rated, carrier: l.carrier })));
  const stored = await insertLegs(tx, platformId, toStore);
  return stored.map((st, i) => ({ ...st, rated: (toStore[i] as { rated: RatedLeg }).rated }));
}

/** A leg re-rated: its place in the table, its new rating and the carrier it left by. */
export interface RewrittenLeg {
  id: number;
  startMs: number;
  rated: RatedLeg;
  carrier: string | null;
}

/**
 * Stores a new rating of existing legs in the caller's transaction: the legs' columns and change
 * log (updateLegRatings), their charges replaced (replaceCharges), and the dashboards' figures moved
 * from the old to the new (the old taken away before anything changes, the new added after).
 */
export async function storeRerating<T extends RewrittenLeg>(tx: Queryable, legs: T[], settle?: (tx: Queryable, legs: T[]) => Promise<T[]>): Promise<number> {
  await takeAwayUsage(tx, legs);
  const n = await updateLegRatings(tx, legs);
  // Allowances are given back and drawn again (rating's step, handed in: the ledger imports no rating) before the old charges go.
  const settled = settle ? await settle(tx, legs) : legs;
  await replaceCharges(tx, settled);
  await addUsage(tx, settled);
  return n;
}
