import type { Db, Queryable } from '../../db/knex';
import type { NormalisedLeg, RecordOutcome } from '../../domain/legs/leg';
import { getAdapter } from '../../domain/mediation';
import { parseBody, type ParseAnswer, type ParseTask } from './parse.worker';
import type { RatingCaches } from '../reference-data/reference-data';
import type { Platform } from '../platforms/platforms.repository';
import { legDifferences } from '../../domain/legs/repost';
import { insertReject, recordErrorsSummary } from './rejects.repository';
import { allocateIds, copyPrepared, copyText, deleteCdrs, insertCdrs, insertCharges, insertGroup, insertLegs, type GroupRecord, type StoredLeg } from './legs.repository';
import { StaleHoldersError } from './holders-cache';
import { currentPartyVersion } from './parties.repository';
import { ensurePartitions } from './partitions';
import type { ShortNumberRule } from '../../domain/legs/identity';
import { rateLegs, type HoldersSource, type RatedLeg } from './rating.service';

export interface LegOutcome {
  leg_key: string;
  id: number;
  call_id: string;
  status: string;
  reason: string | null;
  direction: string | null;
  duplicate: boolean;
  /** A duplicate that says something else than the stored leg: how (the record is kept in the rejects for review). */
  differs?: string[];
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
  /**
   * Correlation keys of halves this post stored while another half of the same call was already
   * waiting (both posts arrived before either was stored): pair them once this post is committed.
   */
  strandedHalves?: string[];
}

/** A post parsed and rated, waiting for its write: everything but the transaction. */
export interface PreparedPost extends ParsedPost {
  ratedByLeg: Map<NormalisedLeg, RatedLeg>;
  /**
   * The party version of the holders it was rated with, when they came from a cache: its write
   * then checks that the version is still the one committed (StaleHoldersError if not).
   */
  partyVersion?: string;
  /** Its rows ready for COPY, when its group was large enough (see planCopies). */
  copy?: CopyPlan;
}

/**
 * A post's write by COPY, prepared beside its rating and outside any transaction, so that the
 * transaction only streams rows: ids for the new rows, and the rows in COPY text. It assumes every
 * leg is new; one that is stored already makes the COPY fail with a unique violation, and the post
 * is then written again without its plan (see planCopies).
 */
export interface CopyPlan {
  /** The stored leg each of the post's legs answers with, in order (all new). */
  stored: StoredLeg[];
  /** Ids of the records' raw bodies. */
  cdrOf: Map<GoodRecord, number>;
  cdrs: string[];
  legKeys: string[];
  legs: string[];
  charges: string[];
}

/** How many legs a post carries (the size of its share of a group). */
export function legCount(p: ParsedPost): number {
  let n = 0;
  for (const o of p.good) n += o.legs.length;
  return n;
}

/**
 * A large post cut into parts of at most `maxLegs` legs, each rated and written as a post of its
 * own, so that a 10,000-record post takes its turns in the rating and write queues beside other
 * platforms' posts instead of holding both for seconds. Safe because every leg is idempotent by
 * its key: a part committed before a crash is answered "duplicate" when the switch posts again.
 * The refused and pending records go with the last part; a post that completes stored halves is
 * not cut (their deletion belongs with the legs they make, in one transaction).
 */
export function splitPost(p: ParsedPost, maxLegs: number): ParsedPost[] {
  if (p.consumedPending.length || legCount(p) <= maxLegs) return [p];
  const parts: ParsedPost[] = [];
  let good: GoodRecord[] = [];
  let n = 0;
  for (const o of p.good) {
    if (n > 0 && n + o.legs.length > maxLegs) {
      parts.push({ input: p.input, outcomes: [...good], good, consumedPending: [] });
      good = [];
      n = 0;
    }
    good.push(o);
    n += o.legs.length;
  }
  parts.push({ input: p.input, outcomes: [...good, ...p.outcomes.filter((o) => !o.ok)], good, consumedPending: [] });
  return parts;
}

/** A body -> its records or the reason it cannot be read (inline, or in a thread: parse-pool.ts). */
export type ParseFn = (platformId: number, task: ParseTask) => Promise<ParseAnswer>;
const inlineParse: ParseFn = async (_platformId, task) => parseBody(task);

/**
 * Phase one of a post: parse (pure adapter) and pair halves of calls with earlier posts. An
 * unreadable body (or one with no records) is answered at once, after it is kept in the rejects.
 */
export async function parsePost(db: Db, input: PostInput, parse: ParseFn = inlineParse): Promise<ParsedPost | PostResult> {
  const { platform } = input;
  const adapter = getAdapter(platform.format);
  if (!adapter) throw new Error(`platform ${platform.id} has unknown format ${platform.format}`);

  const parsed = await parse(platform.id, { format: platform.format, body: input.body, contentType: input.contentType, ctx: { timeZone: platform.timeZone, countryCode: platform.countryCode } });
  if (!parsed.ok) {
    // Whatever the adapter cannot read is the content's doing, never a passing fault: refused and
    // kept, not answered "send it again" (a switch would retry it for ever).
    const { error } = parsed;
    const rejectId = await insertReject(db, { platformId: platform.id, sourceIp: input.sourceIp, contentType: input.contentType, body: input.body, error });
    return { httpStatus: parsed.status ?? 400, body: { accepted: 0, duplicates: 0, rejected: 1, records: [], error, reject_id: rejectId } };
  }
  const outcomes = parsed.records;
  if (outcomes.length === 0) {
    const error = 'the body holds no records';
    const rejectId = await insertReject(db, { platformId: platform.id, sourceIp: input.sourceIp, contentType: input.contentType, body: input.body, error });
    return { httpStatus: 422, body: { accepted: 0, duplicates: 0, rejected: 1, records: [], error, reject_id: rejectId } };
  }
  const { outcomes: paired, consumedPending } = await pairWithPending(db, adapter.parse, input, outcomes);
  const screened = paired.map((o) => screenRecord(o, platform, Date.now()));
  const good = screened.filter((o): o is Extract<RecordOutcome, { ok: true }> => o.ok);
  return { input, outcomes: screened, good, consumedPending };
}

export { MAX_RECORDS_PER_POST } from './parse.worker';
/** The longest record (a FreeSWITCH JSON CDR with every variable is a few kilobytes). */
export const MAX_RECORD_BYTES = 256 * 1024;

/** How far ahead of the clock a call may start (switch clocks drift; a day is generous). */
const FUTURE_MS = 24 * 3600_000;
const LEG_TEXT: Array<keyof NormalisedLeg> = ['legKey', 'callId', 'rawCalling', 'rawCalled', 'disposition', 'trunk', 'accountCode'];

/**
 * What no adapter can judge alone: a leg must start inside the platform's window (from its
 * accept-calls-from date to a day ahead of now: a start in the year 9999 or 0050 is a broken
 * record, and every month named makes partitions), and its text must be storable (Postgres text
 * refuses NUL, which JSON can carry as \u0000). A record with such a leg is refused with the reason.
 */
export function screenRecord(o: RecordOutcome, platform: Pick<Platform, 'name' | 'acceptCallsFrom'>, nowMs: number): RecordOutcome {
  if (!o.ok) return o;
  if (o.raw.length > MAX_RECORD_BYTES) return { ok: false, index: o.index, raw: o.raw, error: `record ${o.index}: ${o.raw.length} characters long, more than the ${MAX_RECORD_BYTES} a record may be` };
  const from = new Date(platform.acceptCallsFrom).getTime();
  for (const leg of o.legs) {
    let error: string | undefined;
    if (!(leg.startMs >= from && leg.startMs <= nowMs + FUTURE_MS)) {
      const start = Number.isFinite(leg.startMs) && Math.abs(leg.startMs) < 8.64e15 ? new Date(leg.startMs).toISOString() : String(leg.startMs);
      error = `record ${o.index}: leg ${leg.legKey} starts ${start}, outside what platform ${platform.name} accepts (calls from ${new Date(from).toISOString().slice(0, 10)} to a day ahead of now); an older call is accepted once the platform's "accept calls from" date is set before it`;
    } else {
      const field = LEG_TEXT.find((k) => typeof leg[k] === 'string' && (leg[k] as string).includes('\0'));
      if (field) error = `record ${o.index}: leg ${JSON.stringify(leg.legKey.replace(/\0/g, '\\0'))}: ${field} holds a NUL character, which no call record has`;
    }
    if (error) return { ok: false, index: o.index, raw: o.raw, error };
  }
  return o;
}

/**
 * Phase two: classify and rate the legs of several posts at once (reading only), so that posts
 * arriving together share one look-up of numbers and parties instead of a few queries each.
 */
export async function ratePosts(db: Db, caches: RatingCaches, posts: ParsedPost[], opts: RateOptions = {}): Promise<PreparedPost[]> {
  const allLegs: NormalisedLeg[] = [];
  const rules: ShortNumberRule[] = [];
  for (const p of posts) {
    const { shortNumbers, sipDomain, countryCode } = p.input.platform;
    for (const o of p.good) for (const l of o.legs) allLegs.push(l), rules.push({ shortNumbers, sipDomain, countryCode });
  }
  const { legs: rated, partyVersion } = await rateLegs(db, caches, allLegs, opts.holders, rules);
  await ensurePartitions(db, allLegs.map((l) => l.startMs));
  const ratedByLeg = new Map(allLegs.map((l, i) => [l, rated[i] as RatedLeg]));
  // Only the parsed post is carried over: a rating (or COPY plan) of an earlier attempt is replaced.
  const prepared: PreparedPost[] = posts.map(({ input, outcomes, good, consumedPending, strandedHalves }) => ({
    input, outcomes, good, consumedPending, strandedHalves, ratedByLeg, partyVersion: opts.holders ? partyVersion : undefined,
  }));
  if (opts.copy) await planCopies(db, prepared);
  return prepared;
}

/**
 * Prepares the COPY of each post (see CopyPlan): ids for all posts together, and the rows as COPY
 * text. Optimistic: no look-up of stored legs first (a large post is almost always new). A leg that
 * is stored already (a batch sent again, or a leg shared by two posts of the group) makes the COPY
 * fail on the unique index, and the pipeline writes the group again post by post with INSERT ...
 * ON CONFLICT, which answers such legs as duplicates.
 */
async function planCopies(db: Db, posts: PreparedPost[]): Promise<void> {
  let bodies = 0;
  let legs = 0;
  for (const p of posts) {
    for (const o of p.good) {
      bodies++;
      legs += o.legs.length;
    }
  }
  const ids = await allocateIds(db, bodies, legs);
  let nextCdr = 0;
  let nextLeg = 0;
  const ratedAt = new Date().toISOString();
  for (const p of posts) {
    const { platform, contentType } = p.input;
    const plan: CopyPlan = { stored: [], cdrOf: new Map(), cdrs: [], legKeys: [], legs: [], charges: [] };
    for (const o of p.good) {
      const cdrId = ids.cdrIds[nextCdr++] as number;
      plan.cdrOf.set(o, cdrId);
      plan.cdrs.push(copyText.cdr(cdrId, platform.id, contentType, o.raw));
      for (const l of o.legs) {
        const r = p.ratedByLeg.get(l) as RatedLeg;
        const id = ids.legIds[nextLeg++] as number;
        plan.legKeys.push(copyText.legKey(id, platform.id, r));
        plan.legs.push(copyText.leg(id, platform.id, cdrId, r, carrierOf(p, r), ratedAt));
        plan.charges.push(copyText.charges({ id, startMs: l.startMs, rated: r }, ratedAt));
        plan.stored.push({ id, legKey: l.legKey, startAt: l.startMs, status: r.status, reason: r.reason, direction: r.direction, inserted: true });
      }
    }
    p.copy = plan;
  }
}

/** Phases one and two for one post. */
export async function preparePost(db: Db, caches: RatingCaches, input: PostInput): Promise<PreparedPost | PostResult> {
  const parsed = await parsePost(db, input);
  if ('httpStatus' in parsed) return parsed;
  return (await ratePosts(db, caches, [parsed]))[0] as PreparedPost;
}

/**
 * The stored halves of one call, parsed together, as a post of their own: what pairs becomes legs
 * (each half keeps its own raw record), what still waits stays stored. Undefined when nothing pairs.
 */
export async function pairStoredHalves(db: Db, platform: Platform, key: string): Promise<ParsedPost | undefined> {
  const adapter = getAdapter(platform.format);
  if (!adapter) return undefined;
  const stored = (await db('pending_records').where({ platform_id: platform.id, correlation: key }).orderBy('id').select('id', 'record', 'raw')) as Array<{
    id: number;
    record: Record<string, string>;
    raw: string;
  }>;
  if (stored.length < 2) return undefined;
  const merged = adapter.parse(JSON.stringify(stored.map((s) => s.record)), 'application/json', { timeZone: platform.timeZone, countryCode: platform.countryCode }).records;
  const good: Array<Extract<RecordOutcome, { ok: true }>> = [];
  const consumed: number[] = [];
  merged.forEach((o, i) => {
    const s = stored[i];
    if (!o.ok || !s) return;
    good.push({ ...o, index: good.length, raw: s.raw });
    consumed.push(s.id);
  });
  if (!good.some((o) => o.legs.length > 0)) return undefined;
  const input: PostInput = { platform, body: stored.map((s) => s.raw).join('\n'), contentType: 'application/json', sourceIp: undefined };
  return { input, outcomes: good, good, consumedPending: consumed };
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

/** Whether rating also prepares each post's COPY (a real Postgres server; see CopyPlan). */
export interface RateOptions {
  /** Prepare a COPY of the rows (see planCopies). */
  copy?: boolean;
  /** Holders from here (the intake's HoldersCache) instead of the database: the write then checks their version. */
  holders?: HoldersSource;
}

export interface WriteOptions {
  /** Write without the posts' COPY plans (a retry after a COPY met a leg stored meanwhile). */
  ignoreCopyPlan?: boolean;
}

/**
 * The one party version that posts rated from a cache were rated at (undefined when none was);
 * StaleHoldersError when they were rated at different versions, since one of them is then old.
 */
export function partyVersionOf(posts: PreparedPost[]): string | undefined {
  let version: string | undefined;
  for (const p of posts) {
    if (p.partyVersion === undefined) continue;
    if (version !== undefined && version !== p.partyVersion) throw new StaleHoldersError(p.partyVersion, version);
    version = p.partyVersion;
  }
  return version;
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
 * Phase three for several posts in one transaction (a group commit). Posts with a CopyPlan are
 * streamed with three COPYs for all of them; the others are written with one multi-row INSERT per
 * table (chunked) per platform, and the charges of all of them together: a group of a hundred
 * single-record posts costs a handful of round trips, not hundreds. Each post is answered exactly
 * as if it had been written alone; posts that share a leg (a retry racing its original) are
 * written one after the other, so that the later one sees the leg as a duplicate.
 */
export async function writePosts(tx: Queryable, posts: PreparedPost[], opts: WriteOptions = {}): Promise<RecordResult[][]> {
  // Holders from a cache: the first statement of the transaction checks they are still current.
  const partyVersion = partyVersionOf(posts);
  if (partyVersion !== undefined) {
    const current = await currentPartyVersion(tx);
    if (current !== partyVersion) throw new StaleHoldersError(partyVersion, current);
  }
  // A plan is ignored when it may be stale: a retry after its COPY met a leg stored meanwhile.
  const planOf = (p: PreparedPost) => (opts.ignoreCopyPlan ? undefined : p.copy);
  const inserted = posts.filter((p) => !planOf(p));
  if (inserted.length > 1) {
    // ON CONFLICT does not see a row inserted by the same statement: posts sharing a leg go one by one.
    const seen = new Set<string>();
    for (const p of inserted) {
      for (const o of p.good) {
        for (const leg of o.legs) {
          const key = `${p.input.platform.id}|${leg.legKey}`;
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

  const cdrOf = new Map<GoodRecord, number>();
  const storedOf = new Map<PreparedPost, StoredLeg[]>();
  const copied = posts.filter((p) => planOf(p));
  if (copied.length) {
    const plans = copied.map((p) => planOf(p) as CopyPlan);
    await copyPrepared(tx, { cdrs: plans.flatMap((c) => c.cdrs), legKeys: plans.flatMap((c) => c.legKeys), legs: plans.flatMap((c) => c.legs), charges: plans.flatMap((c) => c.charges) });
    for (const p of copied) {
      storedOf.set(p, (p.copy as CopyPlan).stored);
      for (const [o, id] of (p.copy as CopyPlan).cdrOf) cdrOf.set(o, id);
    }
  }

  // INSERT: one write per platform and content type (the cdrs rows carry both).
  const buckets = new Map<string, PreparedPost[]>();
  for (const p of inserted) {
    const key = `${p.input.platform.id}|${p.input.contentType ?? ''}`;
    const list = buckets.get(key) ?? [];
    list.push(p);
    buckets.set(key, list);
  }
  const fresh: Array<{ id: number; startMs: number; rated: RatedLeg }> = [];
  for (const bucket of buckets.values()) {
    const stored = await insertBucket(tx, bucket, cdrOf);
    stored.forEach((st) => st.inserted && fresh.push({ id: st.id, startMs: st.startAt, rated: st.rated }));
    let from = 0;
    for (const p of bucket) {
      const n = legCount(p);
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
        // Two halves of a call in concurrent posts each find nothing stored when parsed. The lock
        // makes the second writer wait for the first's commit, so it sees that half and says so.
        await tx.raw('select pg_advisory_xact_lock(?::int, hashtext(?))', [platform.id, o.awaiting.key]);
        const other = await tx('pending_records').where({ platform_id: platform.id, correlation: o.awaiting.key }).first('id');
        if (other) (p.strandedHalves ??= []).push(o.awaiting.key);
        await tx('pending_records').insert({ platform_id: platform.id, correlation: o.awaiting.key, record: JSON.stringify(o.awaiting.record), raw: o.raw });
        out.push({ index: o.index, status: 'pending', error: o.error, legs: [] });
        continue;
      }
      if (!o.ok) {
        out.push({ index: o.index, status: 'rejected', error: o.error, legs: [] });
        continue;
      }
      const result = recordResult(o, stored.slice(k, (k += o.legs.length)));
      await keepIfDiffering(tx, p.input, o, result);
      // A re-posted record is already stored once; keeping its body again would only add noise.
      const cdrId = cdrOf.get(o);
      if (result.status === 'duplicate' && cdrId !== undefined) duplicateCdrs.push(cdrId);
      out.push(result);
    }
    await keepRefusedRecords(tx, p, out);
    results.push(out);
  }
  await deleteCdrs(tx, duplicateCdrs);
  const consumed = posts.flatMap((p) => p.consumedPending);
  if (consumed.length) await tx('pending_records').whereIn('id', consumed).del();
  return results;
}

/**
 * The common case in one statement and no transaction of our own (insertGroup): posts whose records
 * are all good, that complete no pending halves, share no leg and have no COPY plan. Undefined when
 * the group is not such; the caller then uses writePosts in a transaction.
 */
export async function writeSimplePosts(db: Queryable, posts: PreparedPost[]): Promise<RecordResult[][] | undefined> {
  const seen = new Set<string>();
  for (const p of posts) {
    if (p.copy || p.consumedPending.length || p.good.length !== p.outcomes.length) return undefined;
    for (const o of p.good) for (const l of o.legs) {
      const key = `${p.input.platform.id}|${l.legKey}`;
      if (seen.has(key)) return undefined;
      seen.add(key);
    }
  }
  const records: GroupRecord[] = posts.flatMap((p) =>
    p.good.map((o) => ({
      platformId: p.input.platform.id,
      contentType: p.input.contentType,
      body: o.raw,
      legs: o.legs.map((l) => {
        const rated = p.ratedByLeg.get(l) as RatedLeg;
        return { rated, carrier: carrierOf(p, rated) };
      }),
    })),
  );
  const stored = await insertGroup(db, records, partyVersionOf(posts));
  let r = 0;
  const results = posts.map((p) => p.good.map((o) => recordResult(o, stored[r++] as StoredLeg[])));
  // Re-posts that differ from what is stored (rare): their records are kept for review.
  for (let i = 0; i < posts.length; i++) {
    const p = posts[i] as PreparedPost;
    for (let j = 0; j < p.good.length; j++) await keepIfDiffering(db, p.input, p.good[j] as GoodRecord, (results[i] as RecordResult[])[j] as RecordResult);
  }
  return results;
}

/**
 * The records a post refused, kept as one reject: their text (in order) and each one's error
 * inside it. A post of 100,000 bad records is one row, not 100,000.
 */
async function keepRefusedRecords(tx: Queryable, p: PreparedPost, out: RecordResult[]): Promise<void> {
  const refused = p.outcomes.filter((o): o is Extract<RecordOutcome, { ok: false }> => !o.ok && !o.awaiting);
  if (refused.length === 0) return;
  const { platform, contentType, sourceIp } = p.input;
  const errors = refused.map((o) => ({ index: o.index, error: o.error }));
  const rejectId = await insertReject(tx, {
    platformId: platform.id, sourceIp, contentType, body: refused.map((o) => o.raw).join('\n'), error: recordErrorsSummary(errors, p.outcomes.length),
    errors, recordIndex: refused.length === 1 ? (refused[0] as { index: number }).index : undefined,
  });
  for (const r of out) if (r.status === 'rejected') r.reject_id = rejectId;
}

/**
 * A record whose legs were stored already but say something else (another start, duration or
 * number): it is answered as a duplicate and nothing of it is stored, since a leg key names one leg;
 * its body goes to the rejects with the differences, for someone to decide which one is right.
 */
async function keepIfDiffering(db: Queryable, input: PostInput, o: GoodRecord, result: RecordResult): Promise<void> {
  const differing = result.legs.filter((l) => l.differs);
  if (differing.length === 0) return;
  const error = `a re-post of ${differing.length === 1 ? 'a stored leg' : 'stored legs'} that says something else; answered as a duplicate, nothing of it stored: ${differing
    .map((l) => `leg ${l.leg_key}: ${(l.differs as string[]).join('; ')}`)
    .join(' | ')}`;
  result.reject_id = await insertReject(db, { platformId: input.platform.id, sourceIp: input.sourceIp, contentType: input.contentType, body: o.raw, error, recordIndex: o.index });
}

/** A stored record's answer: each leg as stored; a duplicate when every leg was there already. */
function recordResult(o: GoodRecord, stored: StoredLeg[]): RecordResult {
  const legs = o.legs.map((leg, i): LegOutcome => {
    const st = stored[i] as StoredLeg;
    const out: LegOutcome = { leg_key: leg.legKey, id: st.id, call_id: leg.callId, status: st.status, reason: st.reason, direction: st.direction, duplicate: !st.inserted };
    const differs = !st.inserted && st.facts ? legDifferences(st.facts, leg) : [];
    if (differs.length) out.differs = differs;
    return out;
  });
  const allDuplicate = legs.length > 0 && legs.every((l) => l.duplicate);
  return { index: o.index, status: allDuplicate ? 'duplicate' : 'accepted', legs };
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

export function summarise(results: RecordResult[]): PostResult {
  const accepted = results.filter((r) => r.status === 'accepted').length;
  const duplicates = results.filter((r) => r.status === 'duplicate').length;
  const rejected = results.filter((r) => r.status === 'rejected').length;
  const pending = results.filter((r) => r.status === 'pending').length;
  // Stored, already there, or kept until its other half comes: acknowledged.
  return { httpStatus: accepted + duplicates + pending > 0 ? 200 : 422, body: { accepted, duplicates, rejected, pending, records: results } };
}

/** One post, in its own transaction (the group committer batches concurrent ones instead). */
export async function processPost(db: Db, caches: RatingCaches, input: PostInput): Promise<PostResult> {
  const prepared = await preparePost(db, caches, input);
  if ('httpStatus' in prepared) return prepared;
  return summarise(await db.transaction((tx) => writePost(tx, prepared)));
}
