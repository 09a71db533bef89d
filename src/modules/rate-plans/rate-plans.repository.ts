import type { Queryable } from '../../db/knex';
import { decodeCursor, toPage, type Page } from '../../db/paging';
import { Decimal, type RoundingMethod } from '../../domain/money/decimal';
import type { BandStart } from '../../domain/rating/bands';
import type { Rate, RatePlanSettings } from '../../domain/rating/plan';
import type { Owner } from '../../domain/tenancy/owner';
import type { PlanInput } from './rate-plans.schemas';

/** Who owns a plan: the operator (sold to resellers) or one reseller (sold to its subscribers). */
export type PlanOwner = Owner;

export interface RatePlan extends RatePlanSettings {
  resellerId: number | null;
  description: string | null;
  revision: number;
  /** Set: offered for no new assignment; it still rates what it is assigned to. */
  retiredAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface RatePlanSummary extends RatePlan {
  rateCount: number;
  /** Destinations: distinct direction and prefix, whatever their bands and versions. */
  destinationCount: number;
  assignedCount: number;
}

function toPlan(r: Record<string, any>): RatePlan {
  return {
    id: r.id,
    resellerId: r.reseller_id,
    name: r.name,
    description: r.description,
    currency: r.currency,
    rounding: { decimals: r.rounding_decimals, method: r.rounding_method as RoundingMethod },
    timeZone: r.time_zone,
    bandMode: r.band_mode,
    connectFeeOnUnanswered: r.connect_fee_on_unanswered,
    revision: r.revision,
    retiredAt: r.retired_at ? new Date(r.retired_at) : null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Plans an owner may reach: an owner sees exactly its own plans, never another's. */
function owned(db: Queryable, owner: PlanOwner) {
  const q = db('rate_plans');
  return owner.kind === 'operator' ? q.whereNull('rate_plans.reseller_id') : q.where('rate_plans.reseller_id', owner.resellerId);
}

export async function listPlans(db: Queryable, owner: PlanOwner): Promise<RatePlanSummary[]> {
  const assigned =
    owner.kind === 'operator'
      ? '(select count(*) from resellers x where x.wholesale_plan_id = rate_plans.id)'
      : '(select count(*) from subscribers x where x.reseller_id = rate_plans.reseller_id and x.retail_plan_id = rate_plans.id)';
  const rows = (await owned(db, owner)
    .select(
      'rate_plans.*',
      db.raw('(select count(*) from rates r where r.rate_plan_id = rate_plans.id) as rate_count'),
      db.raw('(select count(*) from (select distinct r.direction, r.prefix from rates r where r.rate_plan_id = rate_plans.id) d) as destination_count'),
      db.raw(`${assigned} as assigned_count`),
    )
    .orderByRaw('lower(name), id')) as Array<Record<string, any>>;
  return rows.map((r) => ({ ...toPlan(r), rateCount: Number(r.rate_count), destinationCount: Number(r.destination_count), assignedCount: Number(r.assigned_count) }));
}

export async function getPlan(db: Queryable, owner: PlanOwner, id: number, opts: { forUpdate?: boolean } = {}): Promise<RatePlan | undefined> {
  const q = owned(db, owner).where('rate_plans.id', id).first();
  if (opts.forUpdate) q.forUpdate();
  const row = await q;
  return row ? toPlan(row) : undefined;
}

/** Any plan by id, for rating: the caller has already decided whose plan applies. */
export async function getPlanById(db: Queryable, id: number): Promise<RatePlan | undefined> {
  const row = await db('rate_plans').where('id', id).first();
  return row ? toPlan(row) : undefined;
}

/** The revision of each of these plans that still exists (the plan cache's check). */
export async function planRevisions(db: Queryable, ids: number[]): Promise<Map<number, number>> {
  const rows = (await db('rate_plans').whereIn('id', ids).select('id', 'revision')) as Array<{ id: string | number; revision: number }>;
  return new Map(rows.map((r) => [Number(r.id), r.revision]));
}

function columns(input: PlanInput) {
  return {
    name: input.name,
    description: input.description,
    currency: input.currency,
    rounding_decimals: input.rounding_decimals,
    rounding_method: input.rounding_method,
    time_zone: input.time_zone,
    band_mode: input.band_mode,
    connect_fee_on_unanswered: input.connect_fee_on_unanswered,
  };
}

export async function insertPlan(db: Queryable, owner: PlanOwner, input: PlanInput): Promise<RatePlan> {
  const [row] = await db('rate_plans')
    .insert({ ...columns(input), reseller_id: owner.kind === 'reseller' ? owner.resellerId : null })
    .returning('*');
  return toPlan(row);
}

export async function updatePlan(db: Queryable, id: number, input: PlanInput): Promise<RatePlan> {
  const [row] = await db('rate_plans')
    .where('id', id)
    .update({ ...columns(input), revision: db.raw('revision + 1'), updated_at: db.fn.now() })
    .returning('*');
  return toPlan(row);
}

/** Retires (at) or brings back (null) a plan. */
export async function setRetired(db: Queryable, id: number, at: Date | null): Promise<RatePlan> {
  const [row] = await db('rate_plans').where('id', id).update({ retired_at: at, updated_at: db.fn.now() }).returning('*');
  return toPlan(row);
}

/** A copy of a plan's rates and bands into another plan of the same owner (one statement each). */
export async function copyDeck(db: Queryable, fromId: number, to: RatePlan): Promise<{ rates: number; bands: number }> {
  const rates = await db.raw(
    `INSERT INTO rates (rate_plan_id, reseller_id, prefix, description, direction, band, effective_from, connect_fee, min_charge, max_cost, steps)
     SELECT ?, ?, prefix, description, direction, band, effective_from, connect_fee, min_charge, max_cost, steps FROM rates WHERE rate_plan_id = ? ORDER BY id`,
    [to.id, to.resellerId, fromId],
  );
  const bands = await db.raw(
    `INSERT INTO rate_plan_bands (rate_plan_id, reseller_id, band, weekdays, dates, start_ms)
     SELECT ?, ?, band, weekdays, dates, start_ms FROM rate_plan_bands WHERE rate_plan_id = ? ORDER BY id`,
    [to.id, to.resellerId, fromId],
  );
  return { rates: (rates as { rowCount: number }).rowCount, bands: (bands as { rowCount: number }).rowCount };
}

export async function bumpRevision(db: Queryable, id: number): Promise<number> {
  const [row] = await db('rate_plans').where('id', id).update({ revision: db.raw('revision + 1'), updated_at: db.fn.now() }).returning('revision');
  return row.revision as number;
}

// ---- rates -------------------------------------------------------------------------------------

interface StepJson {
  from: number;
  rate: string;
  rate_unit: number;
  increment: number;
}

function toRate(r: Record<string, any>): Rate {
  return {
    prefix: r.prefix,
    description: r.description,
    direction: r.direction,
    band: r.band,
    effectiveFrom: new Date(r.effective_from).getTime(),
    connectFee: new Decimal(r.connect_fee),
    minCharge: r.min_charge === null ? null : new Decimal(r.min_charge),
    maxCost: r.max_cost === null ? null : new Decimal(r.max_cost),
    steps: (r.steps as StepJson[]).map((s) => ({ from: s.from, rate: new Decimal(s.rate), rateUnit: s.rate_unit, increment: s.increment })),
  };
}

function rateRow(planId: number, resellerId: number | null, r: Rate) {
  return {
    rate_plan_id: planId,
    reseller_id: resellerId,
    prefix: r.prefix,
    description: r.description,
    direction: r.direction,
    band: r.band,
    effective_from: new Date(r.effectiveFrom).toISOString(),
    connect_fee: r.connectFee.toString(),
    min_charge: r.minCharge?.toString() ?? null,
    max_cost: r.maxCost?.toString() ?? null,
    steps: JSON.stringify(r.steps.map((s): StepJson => ({ from: s.from, rate: s.rate.toString(), rate_unit: s.rateUnit, increment: s.increment }))),
  };
}

const BATCH = 2000;

/**
 * Writes an imported deck. 'replace' drops every rate first; 'merge' adds the rows, replacing any
 * with the same direction, prefix, band and effective date (a new version of a few prefixes).
 */
export async function writeRates(
  db: Queryable, plan: RatePlan, rates: Rate[], mode: 'merge' | 'replace', onBatch?: (written: number) => Promise<void>,
): Promise<{ inserted: number; replaced: number; removed: number }> {
  let removed = 0;
  if (mode === 'replace') removed = await db('rates').where('rate_plan_id', plan.id).del();
  let replaced = 0;
  let inserted = 0;
  for (let i = 0; i < rates.length; i += BATCH) {
    const rows = rates.slice(i, i + BATCH).map((r) => rateRow(plan.id, plan.resellerId, r));
    const result = (await db.raw(
      `? ON CONFLICT (rate_plan_id, direction, prefix, coalesce(band, ''), effective_from) DO UPDATE SET
         description = excluded.description, connect_fee = excluded.connect_fee, min_charge = excluded.min_charge,
         max_cost = excluded.max_cost, steps = excluded.steps
       RETURNING (xmax = 0) AS inserted`,
      [db('rates').insert(rows)],
    )) as { rows: Array<{ inserted: boolean }> };
    for (const r of result.rows) (r.inserted ? inserted++ : replaced++);
    await onBatch?.(Math.min(i + BATCH, rates.length));
  }
  return { inserted, replaced, removed };
}

export type StoredRate = Rate & { id: number };

export async function getRate(db: Queryable, planId: number, rateId: number): Promise<StoredRate | undefined> {
  const row = await db('rates').where({ rate_plan_id: planId, id: rateId }).first();
  return row ? { ...toRate(row), id: Number(row.id) } : undefined;
}

/** A rate added in the page; undefined when its destination already has a row at that effective date. */
export async function insertRate(db: Queryable, plan: RatePlan, rate: Rate): Promise<StoredRate | undefined> {
  const result = (await db.raw(`? ON CONFLICT (rate_plan_id, direction, prefix, coalesce(band, ''), effective_from) DO NOTHING RETURNING *`, [db('rates').insert(rateRow(plan.id, plan.resellerId, rate))])) as {
    rows: Array<Record<string, any>>;
  };
  const row = result.rows[0];
  return row ? { ...toRate(row), id: Number(row.id) } : undefined;
}

/** A rate changed in the page; undefined when another row of the plan already has its new key. */
export async function replaceRate(db: Queryable, plan: RatePlan, rateId: number, rate: Rate): Promise<StoredRate | undefined> {
  const clash = await db('rates')
    .where({ rate_plan_id: plan.id, direction: rate.direction, prefix: rate.prefix, effective_from: new Date(rate.effectiveFrom).toISOString() })
    .whereRaw("coalesce(band, '') = ?", [rate.band ?? ''])
    .whereNot('id', rateId)
    .first('id');
  if (clash) return undefined;
  const { rate_plan_id: _p, reseller_id: _r, ...cols } = rateRow(plan.id, plan.resellerId, rate);
  const [row] = await db('rates').where({ rate_plan_id: plan.id, id: rateId }).update(cols).returning('*');
  return row ? { ...toRate(row), id: Number(row.id) } : undefined;
}

export async function deleteRate(db: Queryable, planId: number, rateId: number): Promise<boolean> {
  return (await db('rates').where({ rate_plan_id: planId, id: rateId }).del()) > 0;
}

// ---- large imports waiting for their job --------------------------------------------------------

export interface PendingImport {
  id: number;
  planId: number;
  mode: 'merge' | 'replace';
  effectiveFrom: Date | null;
  csv: string;
}

export async function insertImport(db: Queryable, plan: RatePlan, x: { mode: 'merge' | 'replace'; effectiveFrom: number | null; csv: string }): Promise<number> {
  const [row] = await db('rate_plan_imports')
    .insert({ rate_plan_id: plan.id, reseller_id: plan.resellerId, mode: x.mode, effective_from: x.effectiveFrom === null ? null : new Date(x.effectiveFrom).toISOString(), csv: x.csv })
    .returning('id');
  return Number(row.id);
}

export async function getImport(db: Queryable, id: number): Promise<PendingImport | undefined> {
  const r = await db('rate_plan_imports').where({ id }).first();
  return r ? { id: Number(r.id), planId: Number(r.rate_plan_id), mode: r.mode, effectiveFrom: r.effective_from ? new Date(r.effective_from) : null, csv: r.csv } : undefined;
}

export async function deleteImport(db: Queryable, id: number): Promise<void> {
  await db('rate_plan_imports').where({ id }).del();
}

/** The wholesale plan the operator assigned to a reseller (its costs), if any. */
export async function wholesalePlanIdOf(db: Queryable, resellerId: number): Promise<number | null> {
  const row = await db('resellers').where({ id: resellerId }).first('wholesale_plan_id');
  return row?.wholesale_plan_id == null ? null : Number(row.wholesale_plan_id);
}

export async function loadRates(db: Queryable, planId: number): Promise<Rate[]> {
  const rows = await db('rates').where('rate_plan_id', planId).orderBy(['direction', 'prefix', 'effective_from']);
  return rows.map(toRate);
}

export interface RateFilter {
  prefix?: string;
  direction?: string;
  cursor?: string;
  limit?: number;
}

export async function searchRates(db: Queryable, planId: number, f: RateFilter): Promise<Page<Rate & { id: number }>> {
  const limit = f.limit ?? 50;
  const q = db('rates').where('rate_plan_id', planId).orderBy(['prefix', 'direction', 'id']).limit(limit + 1);
  if (f.prefix) q.where('prefix', 'like', `${f.prefix.replace(/^\+/, '')}%`);
  if (f.direction) q.where('direction', f.direction);
  const after = decodeCursor(f.cursor, ['text', 'text', 'id']);
  if (after) q.whereRaw('(prefix, direction, id) > (?, ?, ?)', after);
  const rows = await q;
  return toPage(rows.map((r) => ({ ...toRate(r), id: r.id as number })), limit, (r) => [r.prefix, r.direction, r.id]);
}

// ---- bands -------------------------------------------------------------------------------------

export async function loadBands(db: Queryable, planId: number): Promise<BandStart[]> {
  const rows = await db('rate_plan_bands').where('rate_plan_id', planId).orderBy(['band', 'start_ms', 'id']);
  return rows.map((r) => ({
    band: r.band,
    weekdays: (r.weekdays as number[]) ?? [],
    dates: ((r.dates as Array<Date | string>) ?? []).map((d) => (d instanceof Date ? d.toISOString().slice(0, 10) : String(d).slice(0, 10))),
    startMs: r.start_ms,
  }));
}

export async function replaceBands(db: Queryable, plan: RatePlan, bands: BandStart[]): Promise<void> {
  await db('rate_plan_bands').where('rate_plan_id', plan.id).del();
  if (bands.length === 0) return;
  await db('rate_plan_bands').insert(
    bands.map((b) => ({
      rate_plan_id: plan.id,
      reseller_id: plan.resellerId,
      band: b.band,
      weekdays: db.raw('?::smallint[]', [`{${b.weekdays.join(',')}}`]),
      dates: db.raw('?::date[]', [`{${b.dates.join(',')}}`]),
      start_ms: b.startMs,
    })),
  );
}

/** Bands the plan's rates use, to refuse a band file that drops one of them. */
export async function bandsInUse(db: Queryable, planId: number): Promise<string[]> {
  return (await db('rates').where('rate_plan_id', planId).whereNotNull('band').distinct('band').pluck('band')) as string[];
}
