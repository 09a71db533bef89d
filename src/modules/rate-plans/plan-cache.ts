import { listenForChanges, type ChangeSubscriber } from '../../db/change-notices';
import type { Queryable } from '../../db/knex';
import { compilePlan, type CompiledPlan } from '../../domain/rating/plan';
import { getPlanById, loadBands, loadRates } from './rate-plans.repository';

/**
 * Compiled plans in memory, keyed by plan id and revision. A change to a plan bumps its revision
 * and calls invalidate(); other processes hear of it through Postgres NOTIFY (see listen()).
 */
export class PlanCache {
  private readonly plans = new Map<number, { revision: number; compiled: CompiledPlan }>();
  private readonly loading = new Map<number, Promise<CompiledPlan | undefined>>();

  async get(db: Queryable, planId: number): Promise<CompiledPlan | undefined> {
    const hit = this.plans.get(planId);
    if (hit) return hit.compiled;
    let pending = this.loading.get(planId);
    if (!pending) {
      pending = this.load(db, planId).finally(() => this.loading.delete(planId));
      this.loading.set(planId, pending);
    }
    return pending;
  }

  invalidate(planId: number): void {
    this.plans.delete(planId);
  }

  clear(): void {
    this.plans.clear();
  }

  get size(): number {
    return this.plans.size;
  }

  private async load(db: Queryable, planId: number): Promise<CompiledPlan | undefined> {
    const plan = await getPlanById(db, planId);
    if (!plan) return undefined;
    const [rates, bands] = await Promise.all([loadRates(db, planId), loadBands(db, planId)]);
    const compiled = compilePlan(plan, rates, bands);
    // A change committed while we loaded must not be overwritten by the older compile.
    const current = await getPlanById(db, planId);
    if (current && current.revision === plan.revision) this.plans.set(planId, { revision: plan.revision, compiled });
    return compiled;
  }
}

export const PLAN_CHANGED_CHANNEL = 'rate_plan_changed';

/**
 * The plan cache's part in the change notices (see db/change-notices): drop the plan named in each
 * notification; drop every plan when notifications may have gone unheard (the listener's
 * connection is down, or has just come back), since a stale plan must never price a call.
 */
export function planChanges(cache: PlanCache): ChangeSubscriber {
  return {
    channel: PLAN_CHANGED_CHANNEL,
    onNotice(payload) {
      const id = Number(payload);
      if (Number.isSafeInteger(id)) cache.invalidate(id);
    },
    onLost: () => cache.clear(),
    onListening: () => cache.clear(),
  };
}

/** Keeps the cache right when another process changes a plan: a listener of its own (the app shares one; see app.ts). */
export function listenForPlanChanges(url: string, cache: PlanCache, log: { warn(obj: object, msg: string): void }): { close(): Promise<void> } {
  return listenForChanges(url, [planChanges(cache)], log, 'plan cache listener');
}
