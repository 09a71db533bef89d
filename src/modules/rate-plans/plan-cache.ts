import type { CacheVersions, VersionedCache } from '../../db/cache-versions';
import type { Queryable } from '../../db/knex';
import { compilePlan, type CompiledPlan } from '../../domain/rating/plan';
import { getPlanById, loadBands, loadRates, planRevisions } from './rate-plans.repository';

/**
 * Compiled plans in memory, keyed by plan id and revision, following the process's CacheVersions
 * (db/cache-versions.ts). A plan's version is its revision, which every change of the plan moves;
 * the kind's version (cache_versions 'rate_plans') moves with it. When a check finds the kind
 * moved, the revisions of the plans held here are read and those that moved are dropped: a change
 * to one plan does not recompile the others. This process's own changes also drop the plan at
 * once (invalidate, after the commit).
 */
export class PlanCache implements VersionedCache {
  readonly kind = 'rate_plans';
  private readonly plans = new Map<number, { revision: number; compiled: CompiledPlan }>();
  private readonly loading = new Map<number, Promise<CompiledPlan | undefined>>();
  /** Moves on with every drop made by a check: a load begun before it is not kept. */
  private generation = 0;
  private versions: CacheVersions | undefined;

  follow(versions: CacheVersions): void {
    this.versions = versions;
  }

  async get(db: Queryable, planId: number): Promise<CompiledPlan | undefined> {
    const wait = this.versions?.ready(db);
    if (wait) await wait;
    const hit = this.plans.get(planId);
    if (hit) return hit.compiled;
    let pending = this.loading.get(planId);
    if (!pending) {
      const started: Promise<CompiledPlan | undefined> = this.load(db, planId).finally(() => {
        // Only this load's own entry: a check may already have replaced it.
        if (this.loading.get(planId) === started) this.loading.delete(planId);
      });
      pending = started;
      this.loading.set(planId, pending);
    }
    return pending;
  }

  /** A check found plans changed: drop those held at another revision than the committed one. */
  async versionMoved(db: Queryable): Promise<void> {
    const ids = [...this.plans.keys(), ...this.loading.keys()];
    if (ids.length === 0) return;
    const revisions = await planRevisions(db, ids);
    let dropped = false;
    for (const [id, held] of this.plans) {
      if (revisions.get(id) !== held.revision) {
        this.plans.delete(id);
        dropped = true;
      }
    }
    // A load in flight may have read the revision before the change: it answers its callers, unkept.
    if (dropped || this.loading.size) {
      this.generation++;
      for (const id of [...this.loading.keys()]) this.loading.delete(id);
    }
  }

  invalidate(planId: number): void {
    this.plans.delete(planId);
    this.loading.delete(planId);
    // Its revision moved: the next read sees the check first, so the new compile is not dropped again.
    this.versions?.unconfirm();
  }

  clear(): void {
    this.generation++;
    this.plans.clear();
    this.loading.clear();
  }

  get size(): number {
    return this.plans.size;
  }

  private async load(db: Queryable, planId: number): Promise<CompiledPlan | undefined> {
    const generation = this.generation;
    const plan = await getPlanById(db, planId);
    if (!plan) return undefined;
    const [rates, bands] = await Promise.all([loadRates(db, planId), loadBands(db, planId)]);
    const compiled = compilePlan(plan, rates, bands);
    // A change committed while we loaded must not be overwritten by the older compile.
    const current = await getPlanById(db, planId);
    if (current && current.revision === plan.revision && generation === this.generation) this.plans.set(planId, { revision: plan.revision, compiled });
    return compiled;
  }
}

export const PLAN_CHANGED_CHANNEL = 'rate_plan_changed';
