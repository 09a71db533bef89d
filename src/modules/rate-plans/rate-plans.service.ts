import type { Db, Queryable } from '../../db/knex';
import { rethrowDuplicate } from '../../db/knex';
import { FieldErrors, NotFoundError } from '../../domain/errors';
import type { Direction } from '../../domain/legs/direction';
import { normaliseE164 } from '../../domain/numbers/e164';
import { chargeDecimals } from '../../domain/rating/charge';
import type { RowError } from '../../domain/rating/deck';
import { isUnratable, rateLeg } from '../../domain/rating/engine';
import { DAY_MS, utcOfWallTime } from '../../domain/rating/zoned-time';
import { MAX_LEG_SECONDS } from '../../domain/mediation/common';
import { readWallDateTime } from '../../domain/time/date-time';
import type { Actor } from '../../domain/tenancy/actor';
import { recordAudit } from '../audit/audit.repository';
import { readBandsCsv, readDeckCsv } from './deck-csv';
import type { PlanCache } from './plan-cache';
import { PLAN_CHANGED_CHANNEL } from './plan-cache';
import * as repo from './rate-plans.repository';
import type { PlanInput } from './rate-plans.schemas';

const UNIQUE = { rate_plans_owner_name_key: ['name', 'You already have a plan with this name'] as [string, string] };

const tenantOf = (owner: repo.PlanOwner) => (owner.kind === 'reseller' ? owner.resellerId : null);

/** Tells every process (this one included, via the cache) that a plan's rates changed. */
async function announceChange(tx: Queryable, planId: number): Promise<void> {
  await tx.raw('select pg_notify(?, ?)', [PLAN_CHANGED_CHANNEL, String(planId)]);
}

export async function getOrThrow(db: Queryable, owner: repo.PlanOwner, id: number): Promise<repo.RatePlan> {
  const plan = await repo.getPlan(db, owner, id);
  if (!plan) throw new NotFoundError();
  return plan;
}

export async function createPlan(db: Db, actor: Actor, owner: repo.PlanOwner, input: PlanInput): Promise<repo.RatePlan> {
  try {
    return await db.transaction(async (tx) => {
      const plan = await repo.insertPlan(tx, owner, input);
      await recordAudit(tx, actor, { resellerId: tenantOf(owner), entityType: 'rate_plan', entityId: plan.id, action: 'create', after: { ...input } });
      return plan;
    });
  } catch (err) {
    return rethrowDuplicate(err, UNIQUE);
  }
}

export async function updatePlan(db: Db, cache: PlanCache, actor: Actor, owner: repo.PlanOwner, id: number, input: PlanInput): Promise<repo.RatePlan> {
  try {
    const plan = await db.transaction(async (tx) => {
      const before = await repo.getPlan(tx, owner, id, { forUpdate: true });
      if (!before) throw new NotFoundError();
      const after = await repo.updatePlan(tx, id, input);
      await announceChange(tx, id);
      await recordAudit(tx, actor, { resellerId: tenantOf(owner), entityType: 'rate_plan', entityId: id, action: 'update', before: settingsOf(before), after: settingsOf(after) });
      return after;
    });
    cache.invalidate(id);
    return plan;
  } catch (err) {
    if (err instanceof NotFoundError) throw err;
    return rethrowDuplicate(err, UNIQUE);
  }
}

function settingsOf(p: repo.RatePlan) {
  return {
    name: p.name, description: p.description, currency: p.currency, rounding_decimals: p.rounding.decimals,
    rounding_method: p.rounding.method, time_zone: p.timeZone, band_mode: p.bandMode, connect_fee_on_unanswered: p.connectFeeOnUnanswered,
  };
}

/** A deck or band import that failed validation: every bad row, nothing written. */
export class ImportErrors extends Error {
  constructor(public readonly rows: RowError[]) {
    super(`${rows.length} row${rows.length === 1 ? '' : 's'} refused`);
  }
}

/** Imports a deck CSV, all or nothing. */
export async function importDeck(db: Db, cache: PlanCache, actor: Actor, owner: repo.PlanOwner, id: number, csv: string, mode: 'merge' | 'replace') {
  const result = await db.transaction(async (tx) => {
    const plan = await repo.getPlan(tx, owner, id, { forUpdate: true });
    if (!plan) throw new NotFoundError();
    const bands = await repo.loadBands(tx, id);
    const parsed = readDeckCsv(csv, { timeZone: plan.timeZone, bands: new Set(bands.map((b) => b.band)) });
    if (!parsed.ok) throw new ImportErrors(parsed.errors);
    const counts = await repo.writeRates(tx, plan, parsed.value, mode);
    const revision = await repo.bumpRevision(tx, id);
    await announceChange(tx, id);
    await recordAudit(tx, actor, { resellerId: tenantOf(owner), entityType: 'rate_plan', entityId: id, action: 'import_deck', after: { mode, rows: parsed.value.length, ...counts, revision } });
    return { ...counts, rates: parsed.value.length };
  });
  cache.invalidate(id);
  return result;
}

/** Replaces the plan's time bands; refuses a file that drops a band the rates still use. */
export async function importBands(db: Db, cache: PlanCache, actor: Actor, owner: repo.PlanOwner, id: number, csv: string) {
  const result = await db.transaction(async (tx) => {
    const plan = await repo.getPlan(tx, owner, id, { forUpdate: true });
    if (!plan) throw new NotFoundError();
    const parsed = readBandsCsv(csv);
    if (!parsed.ok) throw new ImportErrors(parsed.errors);
    const defined = new Set(parsed.value.map((b) => b.band));
    const orphaned = (await repo.bandsInUse(tx, id)).filter((b) => !defined.has(b));
    if (orphaned.length) throw new ImportErrors([{ line: 1, message: `rates of this plan use band${orphaned.length > 1 ? 's' : ''} ${orphaned.join(', ')}, which this file does not define` }]);
    await repo.replaceBands(tx, plan, parsed.value);
    const revision = await repo.bumpRevision(tx, id);
    await announceChange(tx, id);
    await recordAudit(tx, actor, { resellerId: tenantOf(owner), entityType: 'rate_plan', entityId: id, action: 'import_bands', after: { bands: parsed.value.length, names: [...defined], revision } });
    return { bands: parsed.value.length };
  });
  cache.invalidate(id);
  return result;
}

export { FieldErrors };

// ---- Reads: what the portal's pages show, and the API will share (routes never read a repository) ----

export type { PlanOwner, RatePlan, RatePlanSummary, RateFilter } from './rate-plans.repository';

/** The owner's plans, each with its counts (the caller's scope is the owner: operator or one reseller). */
export async function listPlans(db: Queryable, owner: repo.PlanOwner): Promise<repo.RatePlanSummary[]> {
  return repo.listPlans(db, owner);
}

/** One page of a plan's rates; the caller has found the plan through getOrThrow (its owner's). */
export async function searchRates(db: Queryable, planId: number, filter: repo.RateFilter) {
  return repo.searchRates(db, planId, filter);
}

/** A plan's band starts; the caller has found the plan through getOrThrow (its owner's). */
export async function bands(db: Queryable, planId: number) {
  return repo.loadBands(db, planId);
}

// ---- The rate look-up: what the intake would charge for one call on this plan ----------------

export interface RateLookup {
  number: string;
  atMs: number;
  seconds: number;
  direction: Direction;
  /** Why no rate applies, in the words of the calls pages; undefined when one does. */
  unratable?: string;
  charge?: {
    prefix: string;
    description: string;
    rateEffectiveFrom: Date;
    chargedSeconds: number;
    pieces: Array<{ band: string | null; step: number; from: number; seconds: number; rate: string; rateUnit: number; amount: string }>;
    connectFee: string;
    usage: string;
    /** The minimum charge or maximum cost that replaced connect fee + usage. */
    cap: { kind: 'minimum charge' | 'maximum cost'; amount: string } | null;
    amount: string;
    currency: string;
  };
}

/**
 * A call priced on the plan with the intake's own engine (the compiled plan from the cache, the
 * same rateLeg): the matching prefix, the band and step of each part, and the amount before tax.
 * `at` is a wall time in `timeZone` (the viewer's); bad fields are FieldErrors by field.
 */
export async function lookUpRate(db: Queryable, cache: PlanCache, plan: repo.RatePlan, q: { number: string; at: string; seconds: string; direction: Direction }, timeZone: string): Promise<RateLookup> {
  const errors: Record<string, string> = {};
  const number = normaliseE164(q.number);
  if (!number.ok) errors.lookup_number = `The number ${number.reason}: give it with its country code (+44 20 7946 0000)`;
  const wall = readWallDateTime(q.at.replace('T', ' '));
  if (!wall.ok) errors.lookup_at = `The time ${wall.reason}`;
  const seconds = /^\d{1,6}$/.test(q.seconds) ? Number(q.seconds) : NaN;
  if (!(seconds >= 0 && seconds <= MAX_LEG_SECONDS)) errors.lookup_seconds = `Seconds must be a whole number from 0 (unanswered) to ${MAX_LEG_SECONDS}`;
  if (Object.keys(errors).length || !number.ok || !wall.ok) throw new FieldErrors(errors);
  const day = Math.floor(wall.ms / DAY_MS);
  const atMs = utcOfWallTime(timeZone, day, wall.ms - day * DAY_MS);
  const compiled = await cache.get(db, plan.id);
  if (!compiled) throw new NotFoundError();
  const result = rateLeg({ direction: q.direction, number: number.number, startMs: atMs, answerMs: seconds > 0 ? atMs : null, billableSeconds: seconds }, compiled);
  const base = { number: number.number, atMs, seconds, direction: q.direction };
  if (isUnratable(result)) {
    return { ...base, unratable: result.unratable === 'no_rate' ? `No ${q.direction} rate matches ${number.number} at that time` : `No rate of ${number.number}'s prefix for the band in force at that time` };
  }
  const d = chargeDecimals(result);
  return {
    ...base,
    charge: {
      prefix: result.prefix,
      description: result.description,
      rateEffectiveFrom: new Date(result.rateEffectiveFrom),
      chargedSeconds: result.chargedSeconds,
      pieces: result.pieces.map((p, i) => ({ band: p.band, step: p.step, from: p.from, seconds: p.seconds, rate: d.pieces[i]!.rate.toString(), rateUnit: p.rateUnit, amount: d.pieces[i]!.amount.toString() })),
      connectFee: d.connectFee.toString(),
      usage: d.usage.toString(),
      cap: result.cap ? { kind: result.minChargeApplied ? 'minimum charge' : 'maximum cost', amount: d.subtotal.toString() } : null,
      amount: d.amount.toFixed(plan.rounding.decimals),
      currency: plan.currency,
    },
  };
}
