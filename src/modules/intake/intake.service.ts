import type { Db, Queryable } from '../../db/knex';
import type { NormalisedLeg, RecordOutcome } from '../../domain/legs/leg';
import type { ShortNumberRule } from '../../domain/legs/identity';
import { carrierOf, type RatedLeg } from '../../domain/legs/rated';
import { legDifferences } from '../../domain/legs/repost';
import { getAdapter } from '../../domain/mediation';
import type { StoredLeg } from '../ledger/ledger.repository';
import { planCopies, storeInOneStatement, storeInTransaction, writeLedger, type CopyPlan, type LedgerPost, type StoredRecords } from '../ledger/ledger.service';
import { ensurePartitions } from '../ledger/partitions';
import type { Platform } from '../platforms/platforms.repository';
import { allowanceStep } from '../rating/allowances';
import { holdersGuard, partyVersionOf } from '../rating/holders';
import { rateLegs, type HoldersSource } from '../rating/rating.service';
import type { RatingCaches } from '../reference-data/reference-data';
import { answerOf, type LegOutcome, type PostOutcome, type PostResult, type RecordResult, type Refusal } from './outcome';
import { deletePending, pairWithPending, storeHalf } from './pending.service';
import { parseBody, type ParseAnswer, type ParseTask } from './parse.worker';
import { insertReject, readableBytes, recordErrorsSummary } from './rejects.repository';

export type { LegOutcome, PostResult, RecordResult } from './outcome';

/*
 * The intake's stages, each returning what the next one takes: parse (parsePost: read the records,
 * pair halves of calls with earlier posts, screen them) -> rate (ratePosts, by the rating module) ->
 * write (writeGroup, by the ledger's writer, with the intake's own rows beside it: pending halves
 * and rejects) -> answer (outcome.ts). The pipeline (pipeline.ts) runs them for concurrent posts.
 */

export interface PostInput {
  platform: Platform;
  body: string;
  contentType: string | undefined;
  sourceIp: string | undefined;
}

type GoodRecord = Extract<RecordOutcome, { ok: true }>;

/** A post parsed, waiting for rating: halves of calls from earlier posts already paired in. */
export interface ParsedPost {
  input: PostInput;
  outcomes: RecordOutcome[];
  good: GoodRecord[];
  /** Stored halves this post completes: deleted when the post is written. */
  consumedPending: number[];
}

/** A post parsed and rated, waiting for its write: everything but the transaction. */
export interface PreparedPost extends ParsedPost {
  ratedByLeg: Map<NormalisedLeg, RatedLeg>;
  /**
   * The party version of the holders it was rated with, when they came from a cache: its write
   * then checks that the version is still the one committed (rating/holders.ts).
   */
  partyVersion?: string;
  /** Its rows ready for COPY, when its group was large enough (ledger's copyPays). */
  copy?: CopyPlan;
}

/** A post written: its records' answers, and halves of calls that missed each other meanwhile. */
export interface WrittenPost {
  records: RecordResult[];
  /**
   * Correlation keys of halves this post stored while another half of the same call was already
   * waiting (both posts arrived before either was stored): pair them once this post is committed.
   */
  strandedHalves: string[];
}

/** How many legs a post carries (the size of its share of a group). */
export function legCount(p: ParsedPost): number {
  let n = 0;
  for (const o of p.good) n += o.legs.length;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Parse.

/** A body -> its records or the reason it cannot be read (inline, or in a worker thread: parse-pool.ts). */
export type ParseFn = (platformId: number, task: ParseTask) => Promise<ParseAnswer>;
const inlineParse: ParseFn = async (_platformId, task) => parseBody(task);

/**
 * Stage one of a post: parse, and pair halves of calls with earlier posts. An unreadable body (or
 * one with no records, or too many) is refused at once, after it is kept in the rejects.
 */
export async function parsePost(db: Db, input: PostInput, parse: ParseFn = inlineParse): Promise<ParsedPost | PostOutcome> {
  const { platform } = input;
  const adapter = getAdapter(platform.format);
  if (!adapter) throw new Error(`platform ${platform.id} has unknown format ${platform.format}`);

  const parsed = await parse(platform.id, { format: platform.format, body: input.body, contentType: input.contentType, ctx: { timeZone: platform.timeZone, countryCode: platform.countryCode } });
  // Whatever the adapter cannot read is the content's doing, never a passing fault: refused and
  // kept, not answered "send it again" (a switch would retry it for ever).
  if (!parsed.ok) return refuseWhole(db, input, parsed.tooLarge ? 'too-large' : 'unreadable', parsed.error);
  const outcomes = parsed.records;
  if (outcomes.length === 0) return refuseWhole(db, input, 'nothing-storable', 'the body holds no records');
  const { outcomes: paired, consumedPending } = await pairWithPending(db, adapter.parse, input, outcomes);
  const screened = paired.map((o) => screenRecord(o, platform, Date.now()));
  const good = screened.filter((o): o is GoodRecord => o.ok);
  return { input, outcomes: screened, good, consumedPending };
}

/**
 * A large post cut into parts of at most `maxLegs` legs, each rated and written as a post of its
 * own, so that a 10,000-record post takes its turns in the rating and write queues beside other
 * platforms' posts instead of holding both for seconds. Safe because every leg is idempotent by
 * its key: a part committed before a crash is answered "duplicate" when the switch posts again
 * (on the COPY path its unique violation sends it back to INSERT ... ON CONFLICT).
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

/** A post refused whole, kept in the rejects as it arrived. */
export async function refuseWhole(db: Queryable, input: PostInput, refusal: 'unreadable' | 'too-large' | 'nothing-storable', error: string): Promise<PostOutcome> {
  const rejectId = await insertReject(db, { platformId: input.platform.id, sourceIp: input.sourceIp, contentType: input.contentType, body: input.body, error });
  return { kind: 'refused', refusal, error, rejectId };
}

/**
 * A body that could not even be read (BodyError: too large, an encoding we do not read, not UTF-8,
 * a NUL byte): refused whole, kept as the bytes arrived (text columns may not hold them).
 */
export async function refuseUnreadBody(db: Queryable, input: Omit<PostInput, 'body'> & { bytes: Buffer; contentEncoding: string | undefined }, refusal: Refusal, error: string): Promise<PostOutcome> {
  const rejectId = await insertReject(db, { platformId: input.platform.id, sourceIp: input.sourceIp, contentType: input.contentType, body: readableBytes(input.bytes, input.contentEncoding), bytes: input.bytes, error });
  return { kind: 'refused', refusal, error, rejectId };
}

export const isOutcome = (x: ParsedPost | PostOutcome): x is PostOutcome => 'kind' in x;

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

// ---------------------------------------------------------------------------------------------
// Rate.

/** How rating runs for the pipeline. */
export interface RateOptions {
  /** Also prepare each post's COPY (ledger's planCopies). */
  copy?: boolean;
  /** Holders from here (the intake's HoldersCache) instead of the database: the write then checks their version. */
  holders?: HoldersSource;
}

/**
 * Stage two: classify and rate the legs of several posts at once (reading only), so that posts
 * arriving together share one look-up of numbers and parties instead of a few queries each.
 */
export async function ratePosts(db: Db, caches: RatingCaches, posts: ParsedPost[], opts: RateOptions = {}): Promise<PreparedPost[]> {
  const allLegs: NormalisedLeg[] = [];
  const rules: ShortNumberRule[] = [];
  const trunkMaps: Array<Readonly<Record<string, string>>> = [];
  for (const p of posts) {
    const { shortNumbers, sipDomain, countryCode, trunkCarriers } = p.input.platform;
    for (const o of p.good) for (const l of o.legs) allLegs.push(l), rules.push({ shortNumbers, sipDomain, countryCode }), trunkMaps.push(trunkCarriers);
  }
  // The same trunk maps as the carrier stored on each leg (ledgerRecords): its carrier_cost charge agrees with it.
  const { legs: rated, partyVersion } = await rateLegs(db, caches, allLegs, opts.holders, rules, trunkMaps);
  await ensurePartitions(db, allLegs.map((l) => l.startMs));
  const ratedByLeg = new Map(allLegs.map((l, i) => [l, rated[i] as RatedLeg]));
  // Only the parsed post is carried over: a rating (or COPY plan) of an earlier attempt is replaced.
  const prepared: PreparedPost[] = posts.map(({ input, outcomes, good, consumedPending }) => ({
    input, outcomes, good, consumedPending, ratedByLeg, partyVersion: opts.holders ? partyVersion : undefined,
  }));
  if (!opts.copy) return prepared;
  const plans = await planCopies(db, prepared.map((p) => ledgerRecords(p)));
  return prepared.map((p, i) => ({ ...p, copy: plans[i] }));
}

// ---------------------------------------------------------------------------------------------
// Write.

export interface WriteOptions {
  /** Write without the posts' COPY plans (a retry after a COPY met a leg stored already: its plan assumed every leg new). */
  ignoreCopyPlan?: boolean;
}

/** A post's good records as the ledger stores them. */
function ledgerRecords(p: PreparedPost): LedgerPost['records'] {
  const { platform, contentType } = p.input;
  return p.good.map((o) => ({
    platformId: platform.id,
    contentType,
    body: o.raw,
    legs: o.legs.map((l) => {
      const rated = p.ratedByLeg.get(l) as RatedLeg;
      return { rated, carrier: carrierOf(rated.leg, rated.direction, platform.trunkCarriers) };
    }),
  }));
}

function ledgerPosts(posts: PreparedPost[], opts: WriteOptions): LedgerPost[] {
  // A plan is ignored on a retry after its COPY met a leg stored already (the plan assumes every leg is new).
  return posts.map((p) => ({ records: ledgerRecords(p), copy: opts.ignoreCopyPlan ? undefined : p.copy }));
}

/** Whether a post stores more than legs (pending halves, refused records): its write needs a transaction. */
const storesMore = (p: PreparedPost) => p.consumedPending.length > 0 || p.good.length !== p.outcomes.length;

/**
 * Stage three for a group of posts (a group commit), through the ledger's writer, which picks the
 * strategy; the intake's own rows (pending halves, rejects) go in the same transaction when there
 * are any. Holders read from a cache are checked by the write (StaleHoldersError).
 */
export async function writeGroup(db: Db, posts: PreparedPost[], opts: WriteOptions = {}): Promise<WrittenPost[]> {
  const guard = holdersGuard(partyVersionOf(posts.map((p) => p.partyVersion)));
  return writeLedger(db, ledgerPosts(posts, opts), { guard, inTransaction: posts.some(storesMore), allowances: allowanceStep, then: (q, stored) => answerPosts(q, posts, stored) });
}

/** Stage three inside a transaction of the caller's (possibly shared with other posts). */
export async function writePosts(tx: Queryable, posts: PreparedPost[], opts: WriteOptions = {}): Promise<WrittenPost[]> {
  const guard = holdersGuard(partyVersionOf(posts.map((p) => p.partyVersion)));
  return answerPosts(tx, posts, await storeInTransaction(tx, ledgerPosts(posts, opts), guard, allowanceStep));
}

/**
 * The common case in one statement and no transaction of our own: posts whose records are all
 * good, that complete no pending halves, share no leg and have no COPY plan. Undefined when the
 * group is not such.
 */
export async function writeSimplePosts(db: Queryable, posts: PreparedPost[]): Promise<WrittenPost[] | undefined> {
  if (posts.some(storesMore)) return undefined;
  const guard = holdersGuard(partyVersionOf(posts.map((p) => p.partyVersion)));
  const stored = await storeInOneStatement(db, ledgerPosts(posts, {}), guard);
  return stored && answerPosts(db, posts, stored);
}

/**
 * Each post's answer from what the ledger stored, and the intake's own rows: halves that still
 * wait, records it refused (one reject per post), re-posts that differ from what is stored.
 */
async function answerPosts(q: Queryable, posts: PreparedPost[], stored: StoredRecords[]): Promise<WrittenPost[]> {
  const out: WrittenPost[] = [];
  for (let i = 0; i < posts.length; i++) {
    const p = posts[i] as PreparedPost;
    const byRecord = stored[i] as StoredLeg[][];
    const records: RecordResult[] = [];
    const strandedHalves: string[] = [];
    let k = 0;
    for (const o of p.outcomes) {
      if (!o.ok && o.awaiting) {
        if (await storeHalf(q, p.input.platform.id, o.awaiting, o.raw)) strandedHalves.push(o.awaiting.key);
        records.push({ index: o.index, status: 'pending', error: o.error, legs: [] });
        continue;
      }
      if (!o.ok) {
        records.push({ index: o.index, status: 'rejected', error: o.error, legs: [] });
        continue;
      }
      const result = recordResult(o, byRecord[k++] as StoredLeg[]);
      const rejectId = await keepIfDiffering(q, p.input, o, result);
      records.push(rejectId === undefined ? result : { ...result, reject_id: rejectId });
    }
    const refusedId = await keepRefusedRecords(q, p);
    out.push({ records: refusedId === undefined ? records : records.map((r) => (r.status === 'rejected' ? { ...r, reject_id: refusedId } : r)), strandedHalves });
  }
  await deletePending(q, posts.flatMap((p) => p.consumedPending));
  return out;
}

/**
 * The records a post refused, kept as one reject: their text (in order) and each one's error
 * inside it. A post of 100,000 bad records is one row, not 100,000.
 */
async function keepRefusedRecords(tx: Queryable, p: PreparedPost): Promise<number | undefined> {
  const refused = p.outcomes.filter((o): o is Extract<RecordOutcome, { ok: false }> => !o.ok && !o.awaiting);
  if (refused.length === 0) return undefined;
  const { platform, contentType, sourceIp } = p.input;
  const errors = refused.map((o) => ({ index: o.index, error: o.error }));
  return insertReject(tx, {
    platformId: platform.id, sourceIp, contentType, body: refused.map((o) => o.raw).join('\n'), error: recordErrorsSummary(errors, p.outcomes.length),
    errors, recordIndex: refused.length === 1 ? (refused[0] as { index: number }).index : undefined,
  });
}

/**
 * A record whose legs were stored already but say something else (another start, duration or
 * number): it is answered as a duplicate and nothing of it is stored, since a leg key names one leg;
 * its body goes to the rejects with the differences, for someone to decide which one is right.
 */
async function keepIfDiffering(db: Queryable, input: PostInput, o: GoodRecord, result: RecordResult): Promise<number | undefined> {
  const differing = result.legs.filter((l) => l.differs);
  if (differing.length === 0) return undefined;
  const error = `a re-post of ${differing.length === 1 ? 'a stored leg' : 'stored legs'} that says something else; answered as a duplicate, nothing of it stored: ${differing
    .map((l) => `leg ${l.leg_key}: ${(l.differs as string[]).join('; ')}`)
    .join(' | ')}`;
  return insertReject(db, { platformId: input.platform.id, sourceIp: input.sourceIp, contentType: input.contentType, body: o.raw, error, recordIndex: o.index });
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

/** One post through every stage, in its own transaction (demo data; the pipeline groups concurrent ones instead). */
export async function processPost(db: Db, caches: RatingCaches, input: PostInput): Promise<PostResult> {
  const parsed = await parsePost(db, input);
  if (isOutcome(parsed)) return answerOf(parsed);
  const [prepared] = await ratePosts(db, caches, [parsed]);
  const [written] = await db.transaction((tx) => writePosts(tx, [prepared as PreparedPost]));
  return answerOf({ kind: 'stored', records: (written as WrittenPost).records });
}
