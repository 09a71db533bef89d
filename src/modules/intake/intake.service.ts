import type { Db, Queryable } from '../../db/knex';
import type { NormalisedLeg, RecordOutcome } from '../../domain/legs/leg';
import { getAdapter, MediationError } from '../../domain/mediation';
import type { PlanCache } from '../rate-plans/plan-cache';
import type { Platform } from '../platforms/platforms.repository';
import { deleteCdrs, insertCdrs, insertLegs, insertReject, insertCharges, type StoredLeg } from './legs.repository';
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

/** A post parsed and rated, waiting for its write: everything but the transaction. */
export interface PreparedPost {
  input: PostInput;
  outcomes: RecordOutcome[];
  good: Array<Extract<RecordOutcome, { ok: true }>>;
  ratedByLeg: Map<NormalisedLeg, RatedLeg>;
  /** Stored halves this post completes: deleted when the post is written. */
  consumedPending: number[];
}

/**
 * Phase one of a post: parse (pure adapter) and rate every leg, reading only. An unreadable body
 * (or one with no records) is answered at once, after it is kept in the rejects.
 */
export async function preparePost(db: Db, cache: PlanCache, input: PostInput): Promise<PreparedPost | PostResult> {
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
  outcomes = paired;
  const good = outcomes.filter((o): o is Extract<RecordOutcome, { ok: true }> => o.ok);
  const allLegs: NormalisedLeg[] = good.flatMap((o) => o.legs);
  const rated = await rateLegs(db, cache, allLegs);
  await ensurePartitions(db, allLegs.map((l) => l.startMs));
  return { input, outcomes, good, ratedByLeg: new Map(allLegs.map((l, i) => [l, rated[i] as RatedLeg])), consumedPending };
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

/** Phase two, inside a transaction (possibly shared with other posts): store records, legs, charges, rejects. */
export async function writePost(tx: Queryable, p: PreparedPost): Promise<RecordResult[]> {
  return (await writePosts(tx, [p]))[0] as RecordResult[];
}

/**
 * Phase two for several posts in one transaction (a group commit): the records and legs of all
 * posts of one platform are written with one multi-row statement per table (chunked), and the
 * charges of all of them together, instead of a few statements per post; a group of a hundred
 * single-record posts costs a handful of round trips, not hundreds. Each post is answered exactly
 * as if it had been written alone. Posts of the group that carry the same leg (a retry racing its
 * original) are written one after the other, so that the later one sees the leg as a duplicate.
 */
export async function writePosts(tx: Queryable, posts: PreparedPost[]): Promise<RecordResult[][]> {
  if (posts.length > 1) {
    const seen = new Set<string>();
    for (const p of posts) {
      for (const o of p.good) {
        for (const leg of o.legs) {
          const key = `${p.input.platform.id}|${leg.startMs}|${leg.legKey}`;
          if (seen.has(key)) {
            const out: RecordResult[][] = [];
            for (const one of posts) out.push((await writePosts(tx, [one]))[0] as RecordResult[]);
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
  const cdrOf = new Map<Extract<RecordOutcome, { ok: true }>, number>();
  const storedOf = new Map<PreparedPost, StoredLeg[]>();
  const fresh: Array<{ id: number; startMs: number; rated: RatedLeg }> = [];
  for (const bucket of buckets.values()) {
    const { platform, contentType } = (bucket[0] as PreparedPost).input;
    const good = bucket.flatMap((p) => p.good);
    const cdrIds = await insertCdrs(tx, platform.id, contentType, good.map((o) => o.raw));
    good.forEach((o, i) => cdrOf.set(o, cdrIds[i] as number));
    const toStore = bucket.flatMap((p) =>
      p.good.flatMap((o) =>
        o.legs.map((leg) => {
          const r = p.ratedByLeg.get(leg) as RatedLeg;
          const carriers = p.input.platform.trunkCarriers;
          const carrier = r.direction === 'outbound' || r.direction === 'forwarded' ? (leg.trunk ? (carriers[leg.trunk] ?? null) : null) : null;
          return { cdrId: cdrOf.get(o) as number, rated: r, carrier };
        }),
      ),
    );
    const stored = await insertLegs(tx, platform.id, toStore);
    stored.forEach((st, i) => st.inserted && fresh.push({ id: st.id, startMs: st.startAt, rated: toStore[i]!.rated }));
    let from = 0;
    for (const p of bucket) {
      const n = p.good.reduce((sum, o) => sum + o.legs.length, 0);
      storedOf.set(p, stored.slice(from, from + n));
      from += n;
    }
  }
  await insertCharges(tx, fresh);

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
      if (allDuplicate) duplicateCdrs.push(cdrOf.get(o) as number);
      out.push({ index: o.index, status: allDuplicate ? 'duplicate' : 'accepted', legs });
    }
    results.push(out);
  }
  await deleteCdrs(tx, duplicateCdrs);
  const consumed = posts.flatMap((p) => p.consumedPending);
  if (consumed.length) await tx('pending_records').whereIn('id', consumed).del();
  return results;
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
