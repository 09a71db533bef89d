import type { Db, Queryable } from '../../db/knex';
import { rethrowDuplicate } from '../../db/knex';
import { FieldErrors, NotFoundError } from '../../domain/errors';
import type { Direction } from '../../domain/legs/direction';
import { normaliseE164 } from '../../domain/numbers/e164';
import { chargeDecimals } from '../../domain/rating/charge';
import type { RowError } from '../../domain/rating/deck';
import { isUnratable, rateLeg } from '../../domain/rating/engine';
import { MAX_LEG_SECONDS } from '../../domain/mediation/common';
import { readZonedWallTime } from '../../domain/time/zones';
import type { Actor } from '../../domain/tenancy/actor';
import { recordAudit } from '../audit/audit.repository';
import { enqueueJob, openJobsIn, type JobKinds } from '../jobs/jobs.service';
import type { Scope } from '../../domain/tenancy/roles';
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

/** A deck file above this many lines is imported by a job, with its progress shown (see startDeckImport). */
export const INLINE_IMPORT_MAX_LINES = 5000;

export interface DeckImportOptions {
  mode: 'merge' | 'replace';
  /** Every row takes effect at this instant (a new version of the deck), in place of its own effective_from. */
  effectiveFrom?: number | null;
  /** Told the rates written as the import goes (a job's progress). */
  progress?: (p: { done: number; total: number }) => Promise<void>;
  /** Called inside the import's transaction, after the rates are written (a job's own bookkeeping). */
  also?: (tx: Queryable) => Promise<void>;
}

/**
 * Imports a deck CSV, all or nothing: every row is validated first (deck.ts, one rule for the file
 * and the page), then written in one transaction with the plan's revision moved and an audit row.
 */
export async function importDeck(db: Db, cache: PlanCache, actor: Actor, owner: repo.PlanOwner, id: number, csv: string, modeOrOpts: 'merge' | 'replace' | DeckImportOptions) {
  const opts: DeckImportOptions = typeof modeOrOpts === 'string' ? { mode: modeOrOpts } : modeOrOpts;
  const { mode } = opts;
  const effectiveFrom = opts.effectiveFrom == null ? undefined : new Date(opts.effectiveFrom).toISOString();
  // Validated before the transaction: a file with a bad row opens none (and the embedded
  // database's one connection stays free for the job's progress meanwhile).
  const first = await getOrThrow(db, owner, id);
  const parsed = readDeckCsv(csv, { timeZone: first.timeZone, bands: new Set((await repo.loadBands(db, id)).map((b) => b.band)), effectiveFrom });
  if (!parsed.ok) throw new ImportErrors(parsed.errors);
  const total = parsed.value.length;
  await opts.progress?.({ done: 0, total });
  const result = await db.transaction(async (tx) => {
    const plan = await repo.getPlan(tx, owner, id, { forUpdate: true });
    if (!plan) throw new NotFoundError();
    // The plan's zone or bands may have changed since the rows were read: read them again, in here.
    const again = plan.timeZone === first.timeZone ? parsed : readDeckCsv(csv, { timeZone: plan.timeZone, bands: new Set((await repo.loadBands(tx, id)).map((b) => b.band)), effectiveFrom });
    if (!again.ok) throw new ImportErrors(again.errors);
    const bands = new Set((await repo.loadBands(tx, id)).map((b) => b.band));
    const orphan = again.value.find((r) => r.band !== null && !bands.has(r.band));
    if (orphan) throw new ImportErrors([{ line: 1, message: `band "${orphan.band}" is not defined for this plan (its bands changed during the import)` }]);
    const counts = await repo.writeRates(tx, plan, again.value, mode, opts.progress ? (done) => opts.progress!({ done, total }) : undefined);
    const revision = await repo.bumpRevision(tx, id);
    await announceChange(tx, id);
    await recordAudit(tx, actor, { resellerId: tenantOf(owner), entityType: 'rate_plan', entityId: id, action: 'import_deck', after: { mode, rows: again.value.length, ...counts, revision, ...(effectiveFrom ? { effective_from: effectiveFrom } : {}) } });
    await opts.also?.(tx);
    return { ...counts, rates: again.value.length };
  });
  cache.invalidate(id);
  return result;
}

export const DECK_IMPORT_JOB = 'deck-import';

/** Lines of a file (a quoted field spanning lines counts twice: only the size matters here). */
export function lineCount(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return text.endsWith('\n') ? n : n + 1;
}

/**
 * A large deck file (more than INLINE_IMPORT_MAX_LINES lines) is kept in rate_plan_imports and
 * imported by a job (deck-import.jobs.ts), whose page shows its progress and, at the end, what it
 * imported or every refused row by line; all or nothing as inline. Returns the job's id.
 */
export async function startDeckImport(db: Db, jobs: JobKinds, actor: Actor, owner: repo.PlanOwner, id: number, csv: string, opts: { mode: 'merge' | 'replace'; effectiveFrom: number | null }, returnTo: string): Promise<number> {
  return db.transaction(async (tx) => {
    const plan = await repo.getPlan(tx, owner, id);
    if (!plan) throw new NotFoundError();
    const importId = await repo.insertImport(tx, plan, { mode: opts.mode, effectiveFrom: opts.effectiveFrom, csv });
    const lines = lineCount(csv) - 1;
    return enqueueJob(tx, jobs, actor, {
      kind: DECK_IMPORT_JOB, title: `Importing ${lines.toLocaleString('en-US')} deck rows into ${plan.name}`, returnTo,
      payload: { importId, planId: id, owner, actor: { userId: actor.userId, email: actor.email, role: actor.role } },
    });
  });
}

/** Deck imports of this plan still queued or running (its page points at their progress). */
export async function openImports(db: Queryable, scope: Scope, planId: number) {
  return openJobsIn(db, scope, DECK_IMPORT_JOB, { planId });
}

/** The file a deck-import job imports (undefined: its job already imported it). */
export async function pendingImport(db: Queryable, importId: number) {
  return repo.getImport(db, importId);
}

export async function dropImport(db: Queryable, importId: number): Promise<void> {
  await repo.deleteImport(db, importId);
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
  const at = readZonedWallTime(q.at, timeZone);
  if (!at.ok) errors.lookup_at = `The time ${at.reason}`;
  const seconds = /^\d{1,6}$/.test(q.seconds) ? Number(q.seconds) : NaN;
  if (!(seconds >= 0 && seconds <= MAX_LEG_SECONDS)) errors.lookup_seconds = `Seconds must be a whole number from 0 (unanswered) to ${MAX_LEG_SECONDS}`;
  if (Object.keys(errors).length || !number.ok || !at.ok) throw new FieldErrors(errors);
  const atMs = at.ms;
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
