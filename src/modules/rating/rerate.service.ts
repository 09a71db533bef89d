import type { Db, Queryable } from '../../db/knex';
import { ConflictError, ForbiddenError, NotFoundError } from '../../domain/errors';
import { SYSTEM_ACTOR, type Actor } from '../../domain/tenancy/actor';
import type { Scope } from '../../domain/tenancy/roles';
import { recordAudit } from '../audit/audit.repository';
import type { RatingCaches } from '../reference-data/reference-data';
import {
  countReachableLegs,
  loadLegsForRating,
  reasonKind,
  type LegSelection,
  type StoredLegForRating,
} from '../ledger/ledger.repository';
import { storeRerating, type RewrittenLeg } from '../ledger/ledger.service';
import { carrierOf, type RatedLeg } from '../../domain/legs/rated';
import { trunkCarriersOf } from '../platforms/platforms.repository';
import { balanceKeyOf, planReallocation } from '../../domain/billing/allowances';
import { hasClaims, takenBy, takenByLeg, type SetAside } from '../ledger/allowances';
import { allowanceStep } from './allowances';
import { holdersOf } from './holders';
import { comparePositions, heldAfter, legsDrawingOn, type BalanceRef, type Position } from '../ledger/reallocation';
import { rateLegs } from './rating.service';

/** Legs picked one by one (checkboxes), or every leg a selection (filter, period) matches. */
export type RerateTarget = { ids: number[] } | { filter: LegSelection };

export interface RerateOutcome {
  /** Legs re-rated. */
  total: number;
  rated: number;
  /** One charge priced, the other not (see LegStatus). */
  partial: number;
  unrated: number;
  blocked: number;
  /**
   * Of `total`, legs outside the selection: later legs of a billing cycle that drew on (or may draw
   * on) a toll package balance the re-rating re-allocated, re-rated so that the cycle stays in call order.
   */
  extended: number;
  /** Why the legs that are still not rated are not, by kind of reason (numbers elided), most frequent first. */
  reasons: Array<{ reason: string; count: number }>;
}

export interface RerateOptions {
  /** Who asked, for the audit row (default: the system). */
  actor?: Actor;
  /** Legs per transaction. */
  batchSize?: number;
  /** Told the number of legs re-rated so far after each batch (a job's progress). */
  onProgress?: (done: number) => Promise<void>;
  /** Where an earlier run of the same selection stopped (a resumed job): it goes on after that leg, with those counts. */
  resume?: RerateCheckpoint;
  /**
   * Told where the run has got to inside each batch's transaction (and the audit's), so that a job
   * records its checkpoint in the same commit as the charges it describes.
   */
  checkpoint?: (tx: Queryable, at: RerateCheckpoint) => Promise<void>;
}

/**
 * How far a re-rating by selection got: the last leg walked (keyset, call order), the counts so
 * far, the toll package balances touched so far (their later legs are re-allocated too), and
 * whether its audit row is written.
 */
export interface RerateCheckpoint {
  after?: Position;
  outcome: Omit<RerateOutcome, 'reasons' | 'extended'> & { extended?: number };
  reasons: Array<[string, number]>;
  /** [assignment id, group id, cycle start ms, cycle end ms or null]. */
  touched?: Array<[number, number, number, number | null]>;
  audited?: boolean;
}

/**
 * Toll package allowances of re-rated legs, in the batch's transaction: what their stored charges
 * took is given back and their new charges draw again, in call order, under the balances' locks
 * (rating/allowances.ts), with the seconds that later legs still hold set aside (`setAside`).
 */
async function reallocate<T extends { id: number; startMs: number; rated: RatedLeg }>(tx: Queryable, rows: T[], setAside?: SetAside): Promise<T[]> {
  const given = await takenBy(tx, rows);
  const claimed = rows.filter((r) => hasClaims(r.rated));
  if (given.length === 0 && claimed.length === 0) return rows;
  const settled = new Map(claimed.map((r, i) => [r, i]));
  const out = await allowanceStep.consume(tx, claimed, given, setAside);
  return rows.map((r) => {
    const i = settled.get(r);
    return i === undefined ? r : (out[i] as T);
  });
}

/**
 * A leg of a newly touched balance turned up, between the balance's first leg and the batch's end,
 * that the batch does not hold (the intake stored it meanwhile): the batch is rolled back and walked
 * again, so that it is re-allocated in its place.
 */
class BatchOvertaken extends Error {
  constructor() {
    super('A call drawing on a toll package balance this batch re-allocates was stored inside it meanwhile; the batch is walked again.');
  }
}

/** A leg walked by re-rating: from the selection, or a later leg of a balance re-allocated. */
interface Walked {
  leg: StoredLegForRating;
  selected: boolean;
}

const positionOf = (l: StoredLegForRating): Position => ({ startKey: l.startKey, id: l.id });

/** The largest selection of ids one request may name. */
export const MAX_RERATE_IDS = 5000;

/**
 * Re-rates stored legs with today's data (numbers, plans, rates, taxes, exchange rates): each leg is
 * rebuilt from its stored columns, classified and rated exactly as the intake does, and stored in
 * one transaction per batch, its old charges replaced (re-rating never double-charges; re-rating
 * twice gives the same charges). Operator staff may re-rate any leg, including unmatched ones
 * (no reseller yet); a reseller's admins only legs already attributed to their reseller. Naming an
 * id the scope does not reach changes nothing and answers not found. One audit row per run.
 *
 * Toll package allowances come out as rating the legs afresh in call order would give, whatever
 * the batch: the legs (selected, or named, in call order) are walked with the later legs of the
 * same cycles that drew on a balance they touch, which are re-rated too (`extended`); each batch
 * draws as if the seconds later legs still hold were free, and leaves them counted until those
 * legs give them back (docs/ARCHITECTURE.md "Toll package allowances").
 *
 * Rating reads run outside the write transaction, which uses only its own connection (the embedded
 * server runs one transaction at a time).
 */
export async function rerateLegs(db: Db, caches: RatingCaches, scope: Scope, target: RerateTarget, opts: RerateOptions = {}): Promise<RerateOutcome> {
  if (scope.kind === 'subscriber') throw new ForbiddenError('Subscribers cannot re-rate calls');
  const batchSize = Math.max(1, opts.batchSize ?? 500);
  const resume = 'filter' in target ? opts.resume : undefined;
  let outcome: RerateOutcome = { total: 0, rated: 0, partial: 0, unrated: 0, blocked: 0, extended: 0, reasons: [], ...resume?.outcome };
  let reasons = new Map<string, number>(resume?.reasons);
  let after: Position | undefined = resume?.after;
  // Balances touched so far, by balanceKeyOf: every later leg of their cycles that drew on them is re-allocated in its turn.
  let touched = new Map<string, BalanceRef>((resume?.touched ?? []).map(([a, g, s, e]) => [balanceKeyOf({ assignmentId: a, groupId: g, cycleStartMs: s }), { assignmentId: a, groupId: g, cycleStartMs: s, cycleEndMs: e }]));
  const at = (o: RerateOutcome, r: Map<string, number>, pos: Position | undefined, t: Map<string, BalanceRef>, audited?: boolean): RerateCheckpoint => {
    const { reasons: _r, ...counts } = o;
    return { after: pos, outcome: counts, reasons: [...r], touched: [...t.values()].map((b) => [b.assignmentId, b.groupId, b.cycleStartMs, b.cycleEndMs]), ...(audited ? { audited } : {}) };
  };
  const sortedReasons = () => [...reasons].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
  if (resume?.audited) return { ...outcome, reasons: sortedReasons() };

  let picked: { ids: number[] } | { selection: LegSelection };
  let audited: Record<string, unknown>;
  if ('ids' in target) {
    const ids = [...new Set(target.ids)];
    if (ids.length > MAX_RERATE_IDS) throw new ConflictError(`Select at most ${MAX_RERATE_IDS} calls at a time, or re-rate by filter.`);
    if (ids.some((id) => !Number.isSafeInteger(id) || id < 1)) throw new NotFoundError();
    if ((await countReachableLegs(db, scope, ids)) !== ids.length) throw new NotFoundError();
    picked = { ids };
    audited = { ids: ids.length <= 100 ? ids : [...ids.slice(0, 100), `… ${ids.length - 100} more`] };
  } else {
    picked = { selection: target.filter };
    const f = target.filter;
    audited = {
      filter: {
        from: f.fromMs !== undefined ? new Date(f.fromMs).toISOString() : null,
        to: f.toMs !== undefined ? new Date(f.toMs).toISOString() : null,
        number: f.number ?? null,
        direction: f.direction ?? null,
        statuses: f.statuses ?? null,
        reseller_id: f.resellerId ?? null,
        platform_id: f.platformId ?? null,
        reason: f.reason ?? null,
      },
    };
  }

  /**
   * The next legs in call order after the last one walked (keyset: a leg that leaves the selection
   * once re-rated never shifts the pages, one that stays is not rated twice): the selection's,
   * merged with the later legs of the balances touched so far.
   */
  const nextLegs = async (): Promise<Walked[]> => {
    const selected = await loadLegsForRating(db, scope, picked, { after, limit: batchSize });
    const live = [...touched.values()].filter((b) => b.cycleEndMs === null || after === undefined || b.cycleEndMs > Date.parse(after.startKey));
    const found = await legsDrawingOn(db, scope, live.map((b) => ({ ...b, after: after ?? null })), { limit: batchSize, excluding: selected.map((l) => l.id) });
    const drawing = found.length ? await loadLegsForRating(db, scope, { ids: found.map((p) => p.id) }) : [];
    return [...selected.map((leg) => ({ leg, selected: true })), ...drawing.map((leg) => ({ leg, selected: false }))]
      .sort((x, y) => comparePositions(positionOf(x.leg), positionOf(y.leg)))
      .slice(0, batchSize);
  };

  /** Re-rates the first legs of `walked` (all, unless a leg it could not know of lies among them); false when the walk is over. */
  const rerateBatch = async (walked: Walked[]): Promise<boolean> => {
    const batch = walked.map((w) => w.leg);
    const platforms = await caches.refs.platforms.get(db);
    const rules = batch.map((b) => platforms.get(b.platformId)).map((p) => (p ? { shortNumbers: p.shortNumbers, sipDomain: p.sipDomain, countryCode: p.countryCode } : undefined));
    // The trunk maps as stored (as the intake's), read before rating: the legs' carriers and their carrier_cost charges agree.
    const carriers = await trunkCarriersOf(db, [...new Set(batch.map((b) => b.platformId))]);
    const { legs: rated } = await rateLegs(db, caches, batch.map((b) => b.leg), holdersOf, rules, batch.map((b) => carriers.get(b.platformId)));
    const took = await takenByLeg(db, batch);
    // The balances each leg touches: what its stored charges took, what its new claims may take.
    const refs = new Map<string, BalanceRef>();
    const balancesOf = batch.map((b, i) => {
      const keys = new Set<string>();
      for (const t of took.get(b.id) ?? []) {
        const k = balanceKeyOf(t);
        keys.add(k);
        if (!refs.has(k)) refs.set(k, { assignmentId: t.assignmentId, groupId: t.groupId, cycleStartMs: t.cycleStartMs, cycleEndMs: touched.get(k)?.cycleEndMs ?? null });
      }
      for (const claim of (rated[i] as RatedLeg).claims ?? []) {
        for (const c of claim.candidates) {
          const k = balanceKeyOf(c);
          keys.add(k);
          refs.set(k, { assignmentId: c.assignmentId, groupId: c.groupId, cycleStartMs: c.cycleStartMs, cycleEndMs: c.cycleEndMs });
        }
      }
      return [...keys];
    });
    const plan = planReallocation(walked.map((w, i) => ({ selected: w.selected, balances: balancesOf[i] as string[] })), new Set(touched.keys()));
    // A balance touched first in this batch may have later legs inside it that the walk could not
    // bring yet (it did not know the balance): the batch ends before the first of them, which the
    // next batch brings.
    const fresh = (n: number) => [...plan.first].filter(([, i]) => i < n).map(([k, i]) => ({ ...(refs.get(k) as BalanceRef), after: positionOf(batch[i] as StoredLegForRating) }));
    let n = batch.length;
    const [first] = await legsDrawingOn(db, scope, fresh(n), { upTo: positionOf(batch[n - 1] as StoredLegForRating), limit: 1, excluding: batch.map((b) => b.id) });
    if (first) n = batch.filter((b) => comparePositions(positionOf(b), first) < 0).length;
    const last = positionOf(batch[n - 1] as StoredLegForRating);
    const walkedIds = batch.slice(0, n).map((b) => b.id);

    const rows: Array<RewrittenLeg & { startMs: number }> = [];
    const next = { ...outcome };
    const nextReasons = new Map(reasons);
    for (let i = 0; i < n; i++) {
      if (!plan.keep[i]) continue;
      const b = batch[i] as StoredLegForRating;
      const r = rated[i] as RatedLeg;
      rows.push({ id: b.id, startMs: b.startMs, rated: r, carrier: carrierOf(r.leg, r.direction, carriers.get(b.platformId)) });
      next.total++;
      next[r.status]++;
      if (!(walked[i] as Walked).selected) next.extended++;
      if (r.status !== 'rated') {
        const kind = reasonKind(r.reason);
        nextReasons.set(kind, (nextReasons.get(kind) ?? 0) + 1);
      }
    }
    const nextTouched = new Map(touched);
    for (const [k, i] of plan.first) if (i < n) nextTouched.set(k, refs.get(k) as BalanceRef);
    for (const [k, b] of nextTouched) if (b.cycleEndMs === null && refs.get(k)?.cycleEndMs != null) nextTouched.set(k, refs.get(k) as BalanceRef);
    const starts = new Map(fresh(n).map((b) => [balanceKeyOf(b), b.after]));

    // Under the balances' locks: a leg of them stored meanwhile inside the batch sends it round
    // again; the seconds that legs after the batch hold are set aside (they give them back in turn).
    const setAside: SetAside = async (tx, locked) => {
      const from = locked.map((b) => ({ ...b, after: starts.get(balanceKeyOf(b)) ?? after ?? null }));
      if ((await legsDrawingOn(tx, scope, from, { upTo: last, limit: 1, excluding: walkedIds })).length) throw new BatchOvertaken();
      return heldAfter(tx, locked, last);
    };
    // Counted before the commit so that the checkpoint in it says what it stores; a failure ends the run.
    if (rows.length) {
      await db.transaction(async (tx) => {
        await storeRerating(tx, rows, (q, legs) => reallocate(q, legs, setAside));
        await opts.checkpoint?.(tx, at(next, nextReasons, 'filter' in target ? last : undefined, nextTouched));
      });
    }
    outcome = next;
    reasons = nextReasons;
    after = last;
    touched = nextTouched;
    if (rows.length) await opts.onProgress?.(outcome.total);
    // A short page of a walk that touched no balance: nothing can follow.
    return !(walked.length < batchSize && n === walked.length && touched.size === 0);
  };

  for (let overtaken = 0, more = true; more; ) {
    const walked = await nextLegs();
    if (walked.length === 0) break;
    try {
      more = await rerateBatch(walked);
      overtaken = 0;
    } catch (e) {
      if (!(e instanceof BatchOvertaken) || ++overtaken > 20) throw e;
    }
  }

  outcome.reasons = sortedReasons();
  const audit = (q: Queryable) => recordAudit(q, opts.actor ?? SYSTEM_ACTOR, {
    resellerId: scope.kind === 'reseller' ? scope.resellerId : null,
    entityType: 'call_legs',
    entityId: null,
    action: 'rerate',
    after: {
      ...audited,
      total: outcome.total,
      rated: outcome.rated,
      partial: outcome.partial,
      unrated: outcome.unrated,
      blocked: outcome.blocked,
      extended: outcome.extended,
      reasons: outcome.reasons.slice(0, 20),
    },
  });
  const checkpoint = opts.checkpoint;
  if (checkpoint) {
    await db.transaction(async (tx) => {
      await audit(tx);
      await checkpoint(tx, at(outcome, reasons, after, touched, true));
    });
  } else {
    await audit(db);
  }
  return outcome;
}
