import type { Db, Queryable } from '../../db/knex';
import type { NormalisedLeg, RecordOutcome } from '../../domain/legs/leg';
import { getAdapter, MediationError } from '../../domain/mediation';
import type { PlanCache } from '../rate-plans/plan-cache';
import type { Platform } from '../platforms/platforms.repository';
import { copyCdrs, copyLegs, deleteCdrs, existingLegs, insertCdrs, insertCharges, insertLegs, insertReject, legKeyOf, type StoredLeg } from './legs.repository';
import { ensurePartitions } from './partitions';
import { rateLegs, type RatedLeg } from './rating.service';

export interface LegOutcome {
  leg_key: string;
  id: number;
  call_id: string;
  status: string;
  reason: string | null;
  direction: string | null;
  duplicate: boolean;
}

export interface RecordResult {
  index: number;
  /** pending: half of a call, stored until its other half arrives in a later post. */
  status: 'accepted' | 'duplicate' | 'rejected' | 'pending';
  error?: string;
  reject_id?: number;
  legs: LegOutcome[];
}

export interface PostResult {
  /** 200 when something was stored or already there; 400 unreadable body; 422 every record refused. */
  httpStatus: number;
  body: { accepted: number; duplicates: number; rejected: number; pending?: number; records: RecordResult[]; error?: string; reject_id?: number };
}

export interface PostInput {
  platform: Platform;
  body: string;
  contentType: string | undefined;
  sourceIp: string | undefined;
}

/** A post parsed, waiting for rating: halves of calls from earlier posts already paired in. */
export interface ParsedPost {
  input: PostInput;
  outcomes: RecordOutcome[];
  good: Array<Extract<RecordOutcome, { ok: true }>>;
  /** Stored halves this post completes: deleted when the post is written. */
  consumedPending: number[];
}

/** A post parsed and rated, waiting for its write: everything but the transaction. */
export interface PreparedPost extends ParsedPost {
  ratedByLeg: Map<NormalisedLeg, RatedLeg>;
}

/** How many legs a post carries (the size of its share of a group). */
export function legCount(p: ParsedPost): number {
  let n = 0;
  for (const o of p.good) n += o.legs.length;
  return n;
}

/**
 * Phase one of a post: parse (pure adapter) and pair halves of calls with earlier posts. An
 * unreadable body (or one with no records) is answered at once, after it is kept in the rejects.
 */
export async function parsePost(db: Db, input: PostInput): Promise<ParsedPost | PostResult> {
  const { platform } = input;
  const adapter = getAdapter(platform.format);
  if (!adapter) throw new Error(`platform ${platform.id} has unknown format ${platform.format}`);

  let outcomes: RecordOutcome[];
  try {
    outcomes = adapter.parse(input.body, input.contentType, { timeZone: platform.timeZone, countryCode: platform.countryCode }).records;
  } catch (err) {
    if (!(err instanceof MediationError)) throw err;
    const rejectId = await insertReject(db, { platformId: platform.id, sourceIp: input.sourceIp, contentType: input.contentType, body: input.body, error: err.message });
    return { httpStatus: 400, body: { accepted: 0, duplicates: 0, rejected: 1, records: [], error: err.message, reject_id: rejectId } };
  }
  if (outcomes.length === 0) {
    const error = 'the body holds no records';
    const rejectId = await insertReject(db, { platformId: platform.id, sourceIp: input.sourceIp, contentType: input.contentType, body: input.body, error });
    return { httpStatus: 422, body: { accepted: 0, duplicates: 0, rejected: 1, records: [], error, reject_id: rejectId } };
  }
  const { outcomes: paired, consumedPending } = await pairWithPending(db, adapter.parse, input, outcomes);
  const good = paired.filter((o): o is Extract<RecordOutcome, { ok: true }> => o.ok);
  return { input, outcomes: paired, good, consumedPending };
}

/**
 * Phase two: classify and rate the legs of several posts at once (reading only), so that posts
 * arriving together share one look-up of numbers and parties instead of a few queries each.
 */
export async function ratePosts(db: Db, cache: PlanCache, posts: ParsedPost[]): Promise<PreparedPost[]> {
  const allLegs: NormalisedLeg[] = [];
  for (const p of posts) for (const o of p.good) for (const l of o.legs) allLegs.push(l);
  const rated = await rateLegs(db, cache, allLegs);
  await ensurePartitions(db, allLegs.map((l) => l.startMs));
  const ratedByLeg = new Map(allLegs.map((l, i) => [l, rated[i] as RatedLeg]));
  return posts.map((p) => ({ ...p, ratedByLeg }));
}

/** Phases one and two for one post. */
export async function preparePost(db: Db, cache: PlanCache, input: PostInput): Promise<PreparedPost | PostResult> {
  const parsed = await parsePost(db, input);
  if ('httpStatus' in parsed) return parsed;
  return (await ratePosts(db, cache, [parsed]))[0] as PreparedPost;
}

type Awaiting = Extract<RecordOutcome, { ok: false }> & { awaiting: { key: string; record: Record<string, string> } };

/**
 * Halves of calls across posts (Kamailio acc: an INVITE now, its BYE in a later post). The halves
 * this post leaves open are parsed again together with the halves stored from earlier posts under
 * the same key; what pairs becomes legs of this post (on the record that completed the call), what
 * does not stays awaiting and is stored by writePosts.
 */
async function pairWithPending(
  db: Db,
  parse: (body: string, contentType: string | undefined, ctx: { timeZone: string; countryCode: string }) => { records: RecordOutcome[] },
  input: PostInput,
  outcomes: RecordOutcome[],
): Promise<{ outcomes: RecordOutcome[]; consumedPending: number[] }> {
  const awaiting = outcomes.filter((o): o is Awaiting => !o.ok && o.awaiting !== undefined);
  if (awaiting.length === 0) return { outcomes, consumedPending: [] };
  const stored = (await db('pending_records')
    .where('platform_id', input.platform.id)
    .whereIn('correlation', [...new Set(awaiting.map((a) => a.awaiting.key))])
    .orderBy('id')
    .select('id', 'correlation', 'record')) as Array<{ id: number; correlation: string; record: Record<string, string> }>;
  if (stored.length === 0) return { outcomes, consumedPending: [] };

  const ctx = { timeZone: input.platform.timeZone, countryCode: input.platform.countryCode };
  const merged = parse(JSON.stringify([...stored.map((s) => s.record), ...awaiting.map((a) => a.awaiting.record)]), 'application/json', ctx).records;
  const consumed: number[] = [];
  // Legs that came out on a stored half go to this post's record that completed the call.
  const legsByKey = new Map<string, NormalisedLeg[]>();
  stored.forEach((s, i) => {
    const o = merged[i];
    if (o?.ok) {
      consumed.push(s.id);
      legsByKey.set(s.correlation, [...(legsByKey.get(s.correlation) ?? []), ...o.legs]);
    }
  });
  const replaced = new Map<RecordOutcome, RecordOutcome>();
  awaiting.forEach((a, j) => {
    const o = merged[stored.length + j];
    if (!o || (!o.ok && o.awaiting)) return; // still waiting
    const extra = legsByKey.get(a.awaiting.key) ?? [];
    legsByKey.delete(a.awaiting.key);
    replaced.set(a, o.ok ? { ok: true, index: a.index, raw: a.raw, legs: [...o.legs, ...extra] } : { ok: false, index: a.index, raw: a.raw, error: o.error });
  });
  return { outcomes: outcomes.map((o) => replaced.get(o) ?? o), consumedPending: consumed };
}

/** How the legs are written: multi-row INSERT ... ON CONFLICT (any Postgres, PGlite) or COPY (a real server). */
export interface WriteOptions {
  copy?: boolean;
}

/** Phase three, inside a transaction (possibly shared with other posts): store records, legs, charges, rejects. */
export async function writePost(tx: Queryable, p: PreparedPost, opts: WriteOptions = {}): Promise<RecordResult[]> {
  return (await writePosts(tx, [p], opts))[0] as RecordResult[];
}

type GoodRecord = Extract<RecordOutcome, { ok: true }>;
type LegToStore = { cdrId: number; rated: RatedLeg; carrier: string | null };

function carrierOf(p: PreparedPost, r: RatedLeg): string | null {
  const trunk = r.leg.trunk;
  if (!trunk || (r.direction !== 'outbound' && r.direction !== 'forwarded')) return null;
  return p.input.platform.trunkCarriers[trunk] ?? null;
}

/**
 * Phase three for several posts in one transaction (a group commit): the records and legs of all
 * posts of one platform are written with one statement per table, and the charges of all of them
 * together, instead of a few statements per post; a group of a hundred single-record posts costs a
 * handful of round trips, not hundreds. Each post is answered exactly as if it had been written
 * alone, in the order of the group: a leg that an earlier post of the group (or an earlier record
 * of the same post) carries is a duplicate of it.
 *
 * With `copy`, legs already stored are looked up first, ids allocated, and the new rows streamed
 * with COPY; a leg that another transaction stores in between makes the COPY fail with a unique
 * violation, and the caller retries without `copy`. Without it, INSERT ... ON CONFLICT DO NOTHING
 * settles such races row by row.
 */
export async function writePosts(tx: Queryable, posts: PreparedPost[], opts: WriteOptions = {}): Promise<RecordResult[][]> {
  if (!opts.copy && posts.length > 1) {
    // ON CONFLICT does not see a row inserted by the same statement: posts sharing a leg go one by one.
    const seen = new Set<string>();
    for (const p of posts) {
      for (const o of p.good) {
        for (const leg of o.legs) {
          const key = `${p.input.platform.id}|${leg.startMs}|${leg.legKey}`;
          if (seen.has(key)) {
            const out: RecordResult[][] = [];
            for (const one of posts) out.push((await writePosts(tx, [one], opts))[0] as RecordResult[]);
            return out;
          }
          seen.add(key);
        }
      }
    }
  }

  // One write per platform and content type (the cdrs rows carry both).
  const buckets = new Map<string, PreparedPost[]>();
  for (const p of posts) {
    const key = `${p.input.platform.id}|${p.input.contentType ?? ''}`;
    const list = buckets.get(key) ?? [];
    list.push(p);
    buckets.set(key, list);
  }
  const cdrOf = new Map<GoodRecord, number>();
  const storedOf = new Map<PreparedPost, StoredLeg[]>();
  const fresh: Array<{ id: number; startMs: number; rated: RatedLeg }> = [];
  for (const bucket of buckets.values()) {
    const stored = opts.copy ? await copyBucket(tx, bucket, cdrOf) : await insertBucket(tx, bucket, cdrOf);
    stored.forEach((st, i) => st.inserted && fresh.push({ id: st.id, startMs: st.startAt, rated: st.rated }));
    let from = 0;
    for (const p of bucket) {
      const n = legCount(p);
      storedOf.set(p, stored.slice(from, from + n));
      from += n;
    }
  }
  await insertCharges(tx, fresh, opts);

  const results: RecordResult[][] = [];
  const duplicateCdrs: number[] = [];
  for (const p of posts) {
    const { platform, contentType, sourceIp } = p.input;
    const stored = storedOf.get(p) as StoredLeg[];
    const out: RecordResult[] = [];
    let k = 0;
    for (const o of p.outcomes) {
      if (!o.ok && o.awaiting) {
        await tx('pending_records').insert({ platform_id: platform.id, correlation: o.awaiting.key, record: JSON.stringify(o.awaiting.record), raw: o.raw });
        out.push({ index: o.index, status: 'pending', error: o.error, legs: [] });
        continue;
      }
      if (!o.ok) {
        const rejectId = await insertReject(tx, { platformId: platform.id, sourceIp, contentType, body: o.raw, error: o.error, recordIndex: o.index });
        out.push({ index: o.index, status: 'rejected', error: o.error, reject_id: rejectId, legs: [] });
        continue;
      }
      const legs = o.legs.map((leg) => {
        const st = stored[k++] as StoredLeg;
        return { leg_key: leg.legKey, id: st.id, call_id: leg.callId, status: st.status, reason: st.reason, direction: st.direction, duplicate: !st.inserted };
      });
      const allDuplicate = legs.length > 0 && legs.every((l) => l.duplicate);
      // A re-posted record is already stored once; keeping its body again would only add noise.
      const cdrId = cdrOf.get(o);
      if (allDuplicate && cdrId !== undefined) duplicateCdrs.push(cdrId);
      out.push({ index: o.index, status: allDuplicate ? 'duplicate' : 'accepted', legs });
    }
    results.push(out);
  }
  await deleteCdrs(tx, duplicateCdrs);
  const consumed = posts.flatMap((p) => p.consumedPending);
  if (consumed.length) await tx('pending_records').whereIn('id', consumed).del();
  return results;
}

type Stored = StoredLeg & { rated: RatedLeg };

/** INSERT path: every record's body, then its legs; a leg already there comes back as it is stored. */
async function insertBucket(tx: Queryable, bucket: PreparedPost[], cdrOf: Map<GoodRecord, number>): Promise<Stored[]> {
  const { platform, contentType } = (bucket[0] as PreparedPost).input;
  const good = bucket.flatMap((p) => p.good);
  const cdrIds = await insertCdrs(tx, platform.id, contentType, good.map((o) => o.raw));
  good.forEach((o, i) => cdrOf.set(o, cdrIds[i] as number));
  const toStore: LegToStore[] = bucket.flatMap((p) =>
    p.good.flatMap((o) => o.legs.map((leg) => {
      const rated = p.ratedByLeg.get(leg) as RatedLeg;
      return { cdrId: cdrOf.get(o) as number, rated, carrier: carrierOf(p, rated) };
    })),
  );
  const stored = await insertLegs(tx, platform.id, toStore);
  return stored.map((st, i) => ({ ...st, rated: (toStore[i] as LegToStore).rated }));
}

/**
 * COPY path: legs already stored, or carried earlier in this group, are duplicates and need no
 * row; a record whose legs are all duplicates keeps no body either. The rest is streamed.
 */
async function copyBucket(tx: Queryable, bucket: PreparedPost[], cdrOf: Map<GoodRecord, number>): Promise<Stored[]> {
  const { platform, contentType } = (bucket[0] as PreparedPost).input;
  const legs = bucket.flatMap((p) => p.good.flatMap((o) => o.legs.map((leg) => ({ p, o, rated: p.ratedByLeg.get(leg) as RatedLeg }))));
  const existing = await existingLegs(tx, platform.id, legs.map((l) => ({ legKey: l.rated.leg.legKey, startMs: l.rated.leg.startMs })));

  // Each leg: an index into `fresh` (first in the group), or a stored leg it duplicates.
  const firstOf = new Map<string, number>();
  const fresh: typeof legs = [];
  const plan = legs.map((l) => {
    const key = legKeyOf(l.rated.leg.legKey, l.rated.leg.startMs);
    const old = existing.get(key);
    if (old) return old;
    const seen = firstOf.get(key);
    if (seen !== undefined) return seen;
    firstOf.set(key, fresh.length);
    fresh.push(l);
    return fresh.length - 1;
  });
  const needBody = new Set(fresh.map((l) => l.o));
  const bodies = bucket.flatMap((p) => p.good.filter((o) => o.legs.length === 0 || needBody.has(o)));
  const cdrIds = await copyCdrs(tx, platform.id, contentType, bodies.map((o) => o.raw));
  bodies.forEach((o, i) => cdrOf.set(o, cdrIds[i] as number));
  const inserted = await copyLegs(tx, platform.id, fresh.map((l) => ({ cdrId: cdrOf.get(l.o) as number, rated: l.rated, carrier: carrierOf(l.p, l.rated) })));

  const claimed = new Set<number>();
  return plan.map((x, i) => {
    const rated = (legs[i] as (typeof legs)[number]).rated;
    if (typeof x !== 'number') return { ...x, rated };
    const st = inserted[x] as StoredLeg;
    // The first occurrence is the insert; later ones in the group are its duplicates.
    const first = !claimed.has(x);
    claimed.add(x);
    return { ...st, inserted: first, rated };
  });
}

export function summarise(results: RecordResult[]): PostResult {
  const accepted = results.filter((r) => r.status === 'accepted').length;
  const duplicates = results.filter((r) => r.status === 'duplicate').length;
  const rejected = results.filter((r) => r.status === 'rejected').length;
  const pending = results.filter((r) => r.status === 'pending').length;
  // Stored, already there, or kept until its other half comes: acknowledged.
  return { httpStatus: accepted + duplicates + pending > 0 ? 200 : 422, body: { accepted, duplicates, rejected, pending, records: results } };
}

/** One post, in its own transaction (the group committer batches concurrent ones instead). */
export async function processPost(db: Db, cache: PlanCache, input: PostInput): Promise<PostResult> {
  const prepared = await preparePost(db, cache, input);
  if ('httpStatus' in prepared) return prepared;
  return summarise(await db.transaction((tx) => writePost(tx, prepared)));
}
