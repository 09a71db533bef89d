import type { Db, Queryable } from '../../db/knex';
import { rethrowDuplicate } from '../../db/knex';
import { FieldErrors, NotFoundError } from '../../domain/errors';
import { DECK_COLUMNS, parseDeck } from '../../domain/rating/deck';
import type { Rate } from '../../domain/rating/plan';
import { compareDecks, deckVersions, type DeckComparison, type DeckVersion } from '../../domain/rating/versions';
import { readZonedWallTime } from '../../domain/time/zones';
import type { Actor } from '../../domain/tenancy/actor';
import { recordAudit } from '../audit/audit.repository';
import type { PlanCache } from './plan-cache';
import { PLAN_CHANGED_CHANNEL } from './plan-cache';
import * as repo from './rate-plans.repository';

/**
 * Managing plans in the page (issue 11): clone, retire, and rates edited one at a time with the
 * import's own row validation. Every change of rates or bands moves the plan's revision (the plan
 * cache compares it, docs/ARCHITECTURE.md "Caches") and is audited in its transaction.
 */

const UNIQUE = { rate_plans_owner_name_key: ['name', 'You already have a plan with this name'] as [string, string] };
const tenantOf = (owner: repo.PlanOwner) => (owner.kind === 'reseller' ? owner.resellerId : null);

async function moved(tx: Queryable, planId: number): Promise<number> {
  const revision = await repo.bumpRevision(tx, planId);
  await tx.raw('select pg_notify(?, ?)', [PLAN_CHANGED_CHANNEL, String(planId)]);
  return revision;
}

async function lockPlan(tx: Queryable, owner: repo.PlanOwner, id: number): Promise<repo.RatePlan> {
  const plan = await repo.getPlan(tx, owner, id, { forUpdate: true });
  if (!plan) throw new NotFoundError();
  return plan;
}

/** A new plan with the settings, rates and bands of another of the same owner, under a new name; active. */
export async function clonePlan(db: Db, actor: Actor, owner: repo.PlanOwner, id: number, name: string): Promise<repo.RatePlan> {
  const trimmed = name.trim();
  if (!trimmed) throw new FieldErrors({ clone_name: 'Give the copy a name' });
  if (trimmed.length > 120) throw new FieldErrors({ clone_name: 'Name must be at most 120 characters' });
  try {
    return await db.transaction(async (tx) => {
      const source = await lockPlan(tx, owner, id);
      const copy = await repo.insertPlan(tx, owner, {
        name: trimmed, description: source.description ?? '', currency: source.currency, rounding_decimals: source.rounding.decimals,
        rounding_method: source.rounding.method, time_zone: source.timeZone, band_mode: source.bandMode, connect_fee_on_unanswered: source.connectFeeOnUnanswered,
      });
      const counts = await repo.copyDeck(tx, id, copy);
      await recordAudit(tx, actor, { resellerId: tenantOf(owner), entityType: 'rate_plan', entityId: copy.id, action: 'clone', after: { name: trimmed, cloned_from: id, ...counts } });
      return copy;
    });
  } catch (err) {
    if (err instanceof NotFoundError) throw err;
    return rethrowDuplicate(err, { rate_plans_owner_name_key: ['clone_name', UNIQUE.rate_plans_owner_name_key[1]] });
  }
}

/**
 * Retired: no longer offered for assignment (assignments.service refuses it), while everything it
 * is assigned to keeps being rated by it, unchanged. Bringing it back makes it assignable again.
 * Neither changes how it prices a call, so neither moves the revision.
 */
export async function setRetired(db: Db, actor: Actor, owner: repo.PlanOwner, id: number, retired: boolean): Promise<repo.RatePlan> {
  return db.transaction(async (tx) => {
    const before = await lockPlan(tx, owner, id);
    if ((before.retiredAt !== null) === retired) return before;
    const after = await repo.setRetired(tx, id, retired ? new Date() : null);
    await recordAudit(tx, actor, { resellerId: tenantOf(owner), entityType: 'rate_plan', entityId: id, action: retired ? 'retire' : 'unretire', before: { retired_at: before.retiredAt }, after: { retired_at: after.retiredAt } });
    return after;
  });
}

// ---- one rate, in the page ------------------------------------------------------------------------

/** How many step rows the rate form offers. */
export const MAX_FORM_STEPS = 6;

/** The rate form as typed: the deck's columns, the steps as rows, the start as a wall time in the viewer's zone. */
export interface RateForm {
  prefix: string;
  description: string;
  direction: string;
  band: string;
  connect_fee: string;
  min_charge: string;
  max_cost: string;
  /** "YYYY-MM-DD hh:mm[:ss]" in the viewer's zone; blank: in force always (since the beginning). */
  effective_at: string;
  steps: Array<{ interval_start: string; rate: string; rate_unit: string; increment: string }>;
}

/** A wall time typed in `timeZone` as an instant; the reason when it cannot be read. */
export function readZonedTime(text: string, timeZone: string): { ok: true; ms: number } | { ok: false; reason: string } {
  const at = readZonedWallTime(text, timeZone);
  return at.ok ? at : { ok: false, reason: at.reason };
}

/**
 * The form's rate, validated by the deck import's own rules: each step becomes the deck row it
 * would be in a file (the per-call fields on the first), and parseDeck judges them. Its messages
 * come back beside the step they are about (`step_0`...), word for word as the import lists them.
 */
export function rateOfForm(form: RateForm, plan: repo.RatePlan, bands: Set<string>, viewerZone: string): Rate {
  let effective = '';
  if (form.effective_at.trim()) {
    const at = readZonedTime(form.effective_at, viewerZone);
    if (!at.ok) throw new FieldErrors({ effective_at: `The start ${at.reason}` });
    effective = new Date(at.ms).toISOString();
  }
  const steps = form.steps.filter((s) => Object.values(s).some((v) => v.trim() !== ''));
  if (steps.length === 0) throw new FieldErrors({ step_0: 'Give at least one step, the first with interval_start 0' });
  const records = steps.map((s, i) => ({
    prefix: form.prefix, description: form.description, direction: form.direction, band: form.band,
    interval_start: s.interval_start, rate: s.rate, rate_unit: s.rate_unit, increment: s.increment,
    connect_fee: i === 0 ? form.connect_fee : '', min_charge: i === 0 ? form.min_charge : '', max_cost: i === 0 ? form.max_cost : '',
    effective_from: effective,
  }));
  const parsed = parseDeck([...DECK_COLUMNS], records, { timeZone: plan.timeZone, bands });
  if (!parsed.ok) {
    const fields: Record<string, string> = {};
    for (const e of parsed.errors) {
      // Line 2 is the first record (the header being line 1), as in a file.
      const key = e.line < 2 ? '_form' : `step_${form.steps.indexOf(steps[e.line - 2]!)}`;
      fields[key] = fields[key] ? `${fields[key]}; ${e.message}` : e.message;
    }
    throw new FieldErrors(fields);
  }
  return parsed.value[0]!;
}

const rateText = (r: Rate) => ({
  prefix: r.prefix, description: r.description, direction: r.direction, band: r.band, effective_from: new Date(r.effectiveFrom).toISOString(),
  connect_fee: r.connectFee.toString(), min_charge: r.minCharge?.toString() ?? null, max_cost: r.maxCost?.toString() ?? null,
  steps: r.steps.map((s) => ({ from: s.from, rate: s.rate.toString(), rate_unit: s.rateUnit, increment: s.increment })),
});

const CLASH = 'This plan already has a rate for this prefix, direction and band from that instant: change that one, or choose another start';

/**
 * Adds a rate (rateId null: a new destination, or a new version of one from its start) or changes
 * one in place. The revision moves and the change is audited, in one transaction.
 */
export async function saveRate(db: Db, cache: PlanCache, actor: Actor, owner: repo.PlanOwner, planId: number, rateId: number | null, form: RateForm, viewerZone: string): Promise<repo.StoredRate> {
  const saved = await db.transaction(async (tx) => {
    const plan = await lockPlan(tx, owner, planId);
    const bands = new Set((await repo.loadBands(tx, planId)).map((b) => b.band));
    const rate = rateOfForm(form, plan, bands, viewerZone);
    let before: repo.StoredRate | undefined;
    let stored: repo.StoredRate | undefined;
    if (rateId === null) {
      stored = await repo.insertRate(tx, plan, rate);
    } else {
      before = await repo.getRate(tx, planId, rateId);
      if (!before) throw new NotFoundError();
      stored = await repo.replaceRate(tx, plan, rateId, rate);
    }
    if (!stored) throw new FieldErrors({ effective_at: CLASH });
    const revision = await moved(tx, planId);
    await recordAudit(tx, actor, {
      resellerId: tenantOf(owner), entityType: 'rate_plan', entityId: planId, action: rateId === null ? 'add_rate' : 'change_rate',
      before: before ? rateText(before) : undefined, after: { ...rateText(stored), rate_id: stored.id, revision },
    });
    return stored;
  });
  cache.invalidate(planId);
  return saved;
}

export async function removeRate(db: Db, cache: PlanCache, actor: Actor, owner: repo.PlanOwner, planId: number, rateId: number): Promise<repo.StoredRate> {
  const removed = await db.transaction(async (tx) => {
    await lockPlan(tx, owner, planId);
    const before = await repo.getRate(tx, planId, rateId);
    if (!before) throw new NotFoundError();
    await repo.deleteRate(tx, planId, rateId);
    const revision = await moved(tx, planId);
    await recordAudit(tx, actor, { resellerId: tenantOf(owner), entityType: 'rate_plan', entityId: planId, action: 'remove_rate', before: { ...rateText(before), rate_id: rateId }, after: { revision } });
    return before;
  });
  cache.invalidate(planId);
  return removed;
}

/** One rate of a plan the caller has found through getOrThrow (its owner's). */
export async function rateOf(db: Queryable, planId: number, rateId: number): Promise<repo.StoredRate> {
  const rate = await repo.getRate(db, planId, rateId);
  if (!rate) throw new NotFoundError();
  return rate;
}

// ---- versions and comparison --------------------------------------------------------------------

/** The plan's deck versions and how each stands at `atMs`. */
export async function versionsOf(db: Queryable, planId: number, atMs: number): Promise<DeckVersion[]> {
  return deckVersions(await repo.loadRates(db, planId), atMs);
}

/** What changed between the deck in force at `fromMs` and the one at `toMs`. */
export async function compareAt(db: Queryable, planId: number, fromMs: number, toMs: number): Promise<DeckComparison> {
  return compareDecks(await repo.loadRates(db, planId), fromMs, toMs);
}
