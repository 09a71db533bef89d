import type { Db } from '../../db/knex';
import { uniqueViolation } from '../../db/knex';
import { copyPays } from '../ledger/ledger.service';
import { HoldersCache, holdersGuard, StaleHoldersError } from '../rating/holders';
import type { RatingCaches } from '../reference-data/reference-data';
import { insertGroup } from '../ledger/ledger.repository';
import { insertReject } from './rejects.repository';
import { isOutcome, legCount, parsePost, ratePosts, splitPost, writeGroup, writePosts, type ParsedPost, type PostInput, type PreparedPost, type WrittenPost } from './intake.service';
import { answerOf, type PostOutcome, type PostResult, type RecordResult } from './outcome';
import { DEFAULT_PARSE_INLINE_BELOW, ParsePool, type ParsePoolOptions } from './parse-pool';
import { pairStoredHalves } from './pending.service';

type Settled<T> = PromiseSettledResult<T>;

/**
 * At most `lanes` runs at a time: items that arrive while every lane is busy wait and form the next
 * run, up to `maxWeight`. A lone item starts at once (no timer, no added latency); under load, runs
 * grow by themselves. `run` answers each item of its group separately, so one bad item fails alone.
 */
export class Batcher<In, Out> {
  private queue: Array<Waiting<In, Out>> = [];
  /** Parts of large posts: taken only when no other item waits, and in one lane at a time. */
  private bulk: Array<Waiting<In, Out>> = [];
  private running = 0;
  private bulkRunning = 0;

  constructor(
    private readonly run: (items: In[]) => Promise<Array<Settled<Out>>>,
    private readonly weight: (item: In) => number,
    private readonly maxWeight: number,
    private readonly lanes = 1,
  ) {}

  /** `bulk`: a part of a large post, which gives way to everything else (see the class). */
  submit(item: In, bulk = false): Promise<Out> {
    return new Promise((resolve, reject) => {
      (bulk ? this.bulk : this.queue).push({ item, resolve, reject });
      if (this.running < this.lanes) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running++;
    try {
      for (;;) {
        // Posts first; a part of a large post only when none waits and no other lane has one, so
        // that a platform's 10,000-record post never stands between another's single call and the
        // database, and always leaves a lane free for them.
        const bulk = this.queue.length === 0;
        const from = bulk ? this.bulk : this.queue;
        if (from.length === 0 || (bulk && this.bulkRunning > 0)) break;
        let n = 0;
        let w = 0;
        while (n < from.length && (n === 0 || w + this.weight(from[n]!.item) <= this.maxWeight)) w += this.weight(from[n++]!.item);
        const group = from.splice(0, n);
        if (bulk) this.bulkRunning++;
        let settled: Array<Settled<Out>>;
        try {
          settled = await this.run(group.map((g) => g.item));
        } catch (err) {
          settled = group.map(() => ({ status: 'rejected', reason: err }));
        } finally {
          if (bulk) this.bulkRunning--;
        }
        group.forEach((g, i) => {
          const s = settled[i] as Settled<Out>;
          if (s.status === 'fulfilled') g.resolve(s.value);
          else g.reject(s.reason);
        });
      }
    } finally {
      this.running--;
    }
  }
}

interface Waiting<In, Out> {
  item: In;
  resolve(v: Out): void;
  reject(e: unknown): void;
}

/** A value Postgres refused (SQLSTATE class 22 "data exception", or a CHECK or NOT NULL violation). */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && (code.startsWith('22') || code === '23514' || code === '23502');
}

/** Each item alone, in order, for when its group failed as a whole. */
async function oneByOne<In, Out>(items: In[], f: (item: In) => Promise<Out>): Promise<Array<Settled<Out>>> {
  const out: Array<Settled<Out>> = [];
  for (const item of items) {
    try {
      out.push({ status: 'fulfilled', value: await f(item) });
    } catch (reason) {
      out.push({ status: 'rejected', reason });
    }
  }
  return out;
}

/** Legs per rating run and per commit: a few large posts, or hundreds of single-record ones. */
const MAX_LEGS_PER_GROUP = 5000;

const WRITE_LANES = 2;

/**
 * Legs per part of a large post: small enough that a part rates and commits in tens of
 * milliseconds (other platforms' posts wait at most that long behind it), large enough for COPY.
 */
const PART_LEGS = 1000;

export interface PipelineOptions {
  /** COPY for large groups (a real Postgres server; the embedded PGlite takes INSERTs only). */
  copy: boolean;
  /** Smallest group written with COPY (tests lower it to exercise COPY with single posts; default: the ledger's). */
  copyFromLegs?: number;
  /** Legs per part of a large post (see splitPost; tests lower it). */
  partLegs?: number;
  /** After each part of a large post, a pause of this many times the part's own time (0: none). */
  partPause?: number;
  log?: { warn(obj: object, msg: string): void };
  /** Threads for parsing large bodies (0: all on the event loop) and the size from which they are used. */
  parse?: Partial<ParsePoolOptions>;
}

/**
 * The intake's pipeline for concurrent posts: parse (each request by itself), rate (posts that
 * arrive together share one look-up of numbers and parties), write (group commit: one transaction
 * and one WAL flush for all posts that were waiting). Rating of the next group overlaps the commit
 * of the previous one. Each caller is answered only after the commit that stored its post.
 */
export class IntakePipeline {
  private readonly rater: Batcher<ParsedPost, PreparedPost>;
  private readonly committer: Batcher<PreparedPost, WrittenPost>;

  /** Who holds which number, so that rating a small post needs no query (checked at write). */
  private readonly holders = new HoldersCache();
  private readonly copy: boolean;
  private readonly copyFromLegs: number | undefined;
  private readonly partLegs: number;
  private readonly partPause: number;
  private readonly log: PipelineOptions['log'];
  private readonly parser: ParsePool;

  constructor(
    private readonly db: Db,
    private readonly caches: RatingCaches,
    opts: PipelineOptions,
  ) {
    this.copy = opts.copy;
    this.copyFromLegs = opts.copyFromLegs;
    this.partLegs = opts.partLegs ?? PART_LEGS;
    this.partPause = opts.partPause ?? 1;
    this.log = opts.log;
    caches.versions?.register(this.holders);
    this.parser = new ParsePool({ threads: opts.parse?.threads ?? 1, inlineBelow: opts.parse?.inlineBelow ?? DEFAULT_PARSE_INLINE_BELOW, maxHeapMb: opts.parse?.maxHeapMb });
    const weight = (p: ParsedPost) => Math.max(1, legCount(p));
    this.rater = new Batcher((posts) => this.rate(posts), weight, MAX_LEGS_PER_GROUP);
    // Two transactions at a time: a large group's COPY keeps one Postgres backend busy, and the
    // next group need not wait for it; small posts still share commits within each lane.
    this.committer = new Batcher<PreparedPost, WrittenPost>((posts) => this.write(posts), weight, MAX_LEGS_PER_GROUP, WRITE_LANES);
  }

  /** A post through every stage: parse -> rate -> write -> answer. */
  async submit(input: PostInput): Promise<PostResult> {
    return answerOf(await this.outcomeOf(input));
  }

  private async outcomeOf(input: PostInput): Promise<PostOutcome> {
    const parsed = await parsePost(this.db, input, (platformId, task) => this.parser.parse(platformId, task));
    if (isOutcome(parsed)) return parsed;
    const parts = splitPost(parsed, this.partLegs);
    if (parts.length === 1) {
      try {
        return { kind: 'stored', records: await this.store(await this.rater.submit(parsed)) };
      } catch (err) {
        const { error, rejectId } = await this.refusedByDatabase(input, err);
        return { kind: 'refused', refusal: 'nothing-storable', error, rejectId };
      }
    }
    // One part of a large post in each queue at a time: the next part is rated while this one
    // commits, and other posts take their turns between them.
    const records: RecordResult[] = [];
    const storePart = async (part: PreparedPost): Promise<RecordResult[]> => {
      try {
        return await this.store(part, true);
      } catch (err) {
        // The part's records are refused with the reason; the parts before it stay stored.
        const { error, rejectId } = await this.refusedByDatabase(input, err);
        return part.outcomes.map((o) => ({ index: o.index, status: 'rejected' as const, error, reject_id: rejectId, legs: [] }));
      }
    };
    let writing: Promise<RecordResult[]> | undefined;
    for (const part of parts) {
      const began = performance.now();
      const prepared = this.rater.submit(part, true);
      prepared.catch(() => undefined); // awaited below; meanwhile a failure is not "unhandled"
      if (writing) records.push(...(await writing));
      writing = storePart(await prepared);
      // Half the time at most: as long again as the part took, the machine is the other posts'.
      await new Promise((r) => setTimeout(r, (performance.now() - began) * this.partPause));
    }
    records.push(...(await (writing as Promise<RecordResult[]>)));
    return { kind: 'stored', records: records.sort((a, b) => a.index - b.index) };
  }

  /** Writes a rated post (or part of one); halves of calls that missed each other are paired after. */
  private async store(prepared: PreparedPost, bulk = false): Promise<RecordResult[]> {
    const written = await this.committer.submit(prepared, bulk);
    for (const key of written.strandedHalves) void this.pairStranded(prepared.input.platform, key);
    return written.records;
  }

  /**
   * A post (or part) that failed alone (its group was retried post by post). If the database
   * refused a value (out of range, a check), it is bad input: kept in the rejects with the reason.
   * Anything else (the database unreachable, a bug) is rethrown, the caller's 5xx: nothing of it stored.
   */
  private async refusedByDatabase(input: PostInput, err: unknown): Promise<{ error: string; rejectId: number }> {
    if (!isDataError(err)) throw err;
    const error = `the database refused a value of this post: ${(err as Error).message}`;
    const rejectId = await insertReject(this.db, { platformId: input.platform.id, sourceIp: input.sourceIp, contentType: input.contentType, body: input.body, error });
    return { error, rejectId };
  }

  /** Starts the parse threads ahead of the first large post (see ParsePool.warm). */
  warm(): Promise<void> {
    return this.parser.warm();
  }

  /** Stops the parse threads (the process is ending or the app is closed). */
  close(): Promise<void> {
    return this.parser.close();
  }

  /**
   * Whether the intake can store now: its own write statement run on the pool with no rows, so a
   * fault that only the intake's statements meet (a named statement the session refuses, a
   * permission, a missing table) shows in the health check, not only in the switches' retries.
   */
  async probe(): Promise<void> {
    await insertGroup(this.db, [], holdersGuard(undefined));
  }

  /** Halves of a call that missed each other (see ParsedPost.strandedHalves), as a post of their own. */
  private async pairStranded(platform: PostInput['platform'], key: string): Promise<void> {
    try {
      const parsed = await pairStoredHalves(this.db, platform, key);
      if (parsed) await this.committer.submit(await this.rater.submit(parsed));
    } catch (err) {
      // They stay stored; the next half of the call or the stale-halves sweep deals with them.
      this.log?.warn({ err, platform: platform.id, key }, 'could not pair stored halves');
    }
  }

  private async rate(posts: ParsedPost[]): Promise<Array<Settled<PreparedPost>>> {
    // Large groups also get their COPY prepared here, while the previous group commits.
    const copy = copyPays(posts.reduce((n, p) => n + legCount(p), 0), { copy: this.copy, copyFromLegs: this.copyFromLegs });
    try {
      const prepared = await ratePosts(this.db, this.caches, posts, { copy, holders: (db, numbers) => this.holders.get(db, numbers) });
      return prepared.map((value) => ({ status: 'fulfilled', value }));
    } catch (err) {
      if (posts.length === 1) return [{ status: 'rejected', reason: err }];
      return oneByOne(posts, async (p) => (await ratePosts(this.db, this.caches, [p]))[0] as PreparedPost);
    }
  }

  private async write(posts: PreparedPost[]): Promise<Array<Settled<WrittenPost>>> {
    try {
      const results = await writeGroup(this.db, posts);
      return results.map((value) => ({ status: 'fulfilled', value }));
    } catch (err) {
      // Rated with holders that changed since: rate again from the database (no cache, so no
      // check and no second round), and write that.
      if (err instanceof StaleHoldersError) return this.write(await this.rateAfresh(posts));
      // A failed group: each post again in its own transaction, with INSERT ... ON CONFLICT. A COPY
      // plan assumes every leg is new, so a leg stored already (a post sent again, a leg shared
      // with another post of the group, or stored since) fails it with a unique violation: a post
      // alone is then written again too, and its leg answered as a duplicate.
      const copied = posts.some((p) => p.copy);
      if (posts.length === 1 && !(copied && uniqueViolation(err) !== undefined)) return [{ status: 'rejected', reason: err }];
      return oneByOne(posts, (p) => this.writeAlone(p));
    }
  }

  private async writeAlone(p: PreparedPost): Promise<WrittenPost> {
    const alone = async (post: PreparedPost) => (await this.db.transaction((tx) => writePosts(tx, [post], { ignoreCopyPlan: true })))[0] as WrittenPost;
    try {
      return await alone(p);
    } catch (err) {
      if (!(err instanceof StaleHoldersError)) throw err;
      const [again] = await this.rateAfresh([p]);
      return alone(again as PreparedPost);
    }
  }

  private async rateAfresh(posts: PreparedPost[]): Promise<PreparedPost[]> {
    this.holders.invalidate();
    const copy = this.copy && posts.some((p) => p.copy);
    return ratePosts(this.db, this.caches, posts, { copy });
  }
}
