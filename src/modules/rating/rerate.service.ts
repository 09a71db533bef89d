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
import { storeRerating } from '../ledger/ledger.service';
import { carrierOf, type RatedLeg } from '../../domain/legs/rated';
import { trunkCarriersOf } from '../platforms/platforms.repository';
import { hasClaims, takenBy } from '../ledger/allowances';
import { allowanceStep } from './allowances';
import { holdersOf } from './holders';
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

/** How far a re-rating by selection got: the last leg stored (keyset), the counts so far, and whether its audit row is written. */
export interface RerateCheckpoint {
  after?: { startKey: string; id: number };
  outcome: Omit<RerateOutcome, 'reasons'>;
  reasons: Array<[string, number]>;
  audited?: boolean;
}

/**
 * Toll package allowances of re-rated legs, in the batch's transaction: what their stored charges
 * took is given back and their new charges draw again, in call order, under the balances' locks
 * (rating/allowances.ts). Legs not re-rated keep what they took; see docs/ARCHITECTURE.md "Toll
 * package allowances" for what that means for a period in the middle of a cycle.
 */
async function reallocate<T extends { id: number; startMs: number; rated: RatedLeg }>(tx: Queryable, rows: T[]): Promise<T[]> {
  const given = await takenBy(tx, rows);
  const claimed = rows.filter((r) => hasClaims(r.rated));
  if (given.length === 0 && claimed.length === 0) return rows;
  const settled = new Map(claimed.map((r, i) => [r, i]));
  const out = await allowanceStep.consume(tx, claimed, given);
  return rows.map((r) => {
    const i = settled.get(r);
    return i === undefined ? r : (out[i] as T);
  });
}

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
 * Rating reads run outside the write transaction, which uses only its own connection (the embedded
 * server runs one transaction at a time).
 */
export async function rerateLegs(db: Db, caches: RatingCaches, scope: Scope, target: RerateTarget, opts: RerateOptions = {}): Promise<RerateOutcome> {
  if (scope.kind === 'subscriber') throw new ForbiddenError('Subscribers cannot re-rate calls');
  const batchSize = Math.max(1, opts.batchSize ?? 500);
  const outcome: RerateOutcome = { total: 0, rated: 0, partial: 0, unrated: 0, blocked: 0, reasons: [], ...('filter' in target ? opts.resume?.outcome : undefined) };
  const reasons = new Map<string, number>('filter' in target ? opts.resume?.reasons : undefined);
  let after: { startKey: string; id: number } | undefined = 'filter' in target ? opts.resume?.after : undefined;
  const at = (audited?: boolean): RerateCheckpoint => {
    const { reasons: _r, ...counts } = outcome;
    return { after, outcome: counts, reasons: [...reasons], ...(audited ? { audited } : {}) };
  };
  const sortedReasons = () => [...reasons].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
  if ('filter' in target && opts.resume?.audited) return { ...outcome, reasons: sortedReasons() };

  const rateBatch = async (batch: StoredLegForRating[]) => {
    if (batch.length === 0) return;
    const platforms = await caches.refs.platforms.get(db);
    const rules = batch.map((b) => platforms.get(b.platformId)).map((p) => (p ? { shortNumbers: p.shortNumbers, sipDomain: p.sipDomain, countryCode: p.countryCode } : undefined));
    const { legs: rated } = await rateLegs(db, caches, batch.map((b) => b.leg), holdersOf, rules);
    const carriers = await trunkCarriersOf(db, [...new Set(batch.map((b) => b.platformId))]);
    const rows = batch.map((b, i) => {
      const r = rated[i] as RatedLeg;
      return { id: b.id, startMs: b.startMs, rated: r, carrier: carrierOf(r.leg, r.direction, carriers.get(b.platformId)) };
    });
    for (const { rated: r } of rows) {
      outcome.total++;
      outcome[r.status]++;
      if (r.status !== 'rated') {
        const kind = reasonKind(r.reason);
        reasons.set(kind, (reasons.get(kind) ?? 0) + 1);
      }
    }
    if ('filter' in target) {
      const last = batch[batch.length - 1] as StoredLegForRating;
      after = { startKey: last.startKey, id: last.id };
    }
    // Counted before the commit so that the checkpoint in it says what it stores; a failure ends the run.
    await db.transaction(async (tx) => {
      await storeRerating(tx, rows, reallocate);
      await opts.checkpoint?.(tx, at());
    });
    await opts.onProgress?.(outcome.total);
  };

  let audited: Record<string, unknown>;

  if ('ids' in target) {
    const ids = [...new Set(target.ids)];
    if (ids.length > MAX_RERATE_IDS) throw new ConflictError(`Select at most ${MAX_RERATE_IDS} calls at a time, or re-rate by filter.`);
    if (ids.some((id) => !Number.isSafeInteger(id) || id < 1)) throw new NotFoundError();
    if ((await countReachableLegs(db, scope, ids)) !== ids.length) throw new NotFoundError();
    for (let i = 0; i < ids.length; i += batchSize) await rateBatch(await loadLegsForRating(db, scope, { ids: ids.slice(i, i + batchSize) }));
    audited = { ids: ids.length <= 100 ? ids : [...ids.slice(0, 100), `… ${ids.length - 100} more`] };
  } else {
    // Keyset through the selection: a leg that leaves it once re-rated (status filter) never
    // shifts the pages, and one that stays in it is not rated twice.
    for (;;) {
      const batch = await loadLegsForRating(db, scope, { selection: target.filter }, { after, limit: batchSize });
      await rateBatch(batch);
      if (batch.length < batchSize) break;
    }
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

  outcome.reasons = sortedReasons();
  const audit = (q: Queryable) => recordAudit(q, opts.actor ?? SYSTEM_ACTOR, {
    resellerId: scope.kind === 'reseller' ? scope.resellerId : null,
    entityType: 'call_legs',
    entityId: null,
    action: 'rerate',
    after: { ...audited, total: outcome.total, rated: outcome.rated, partial: outcome.partial, unrated: outcome.unrated, blocked: outcome.blocked, reasons: outcome.reasons.slice(0, 20) },
  });
  const checkpoint = opts.checkpoint;
  if (checkpoint) {
    await db.transaction(async (tx) => {
      await audit(tx);
      await checkpoint(tx, at(true));
    });
  } else {
    await audit(db);
  }
  return outcome;
}
