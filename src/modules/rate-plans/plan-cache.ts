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
 * Keeps the cache right when another process changes a plan: LISTEN on a dedicated connection and
 * drop the plan named in each notification. If the connection fails the cache is cleared (a stale
 * plan must never price a call) and the listener reconnects.
 */
export function listenForPlanChanges(
  url: string,
  cache: PlanCache,
  log: { warn(obj: object, msg: string): void },
): { close(): Promise<void> } {
  // Imported here so the cache itself stays free of the driver.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Client } = require('pg') as typeof import('pg');
  let client: import('pg').Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let attempt: Promise<void> | undefined;

  const connect = () => {
    attempt = connectOnce();
    return attempt;
  };
  const connectOnce = async () => {
    if (closed) return;
    const c = new Client({ connectionString: url, application_name: 'voip-billing plan-cache' });
    client = c;
    c.on('notification', (msg) => {
      const id = Number(msg.payload);
      if (Number.isSafeInteger(id)) cache.invalidate(id);
    });
    c.on('error', (err) => {
      log.warn({ err }, 'plan cache listener lost its connection; clearing the cache');
      cache.clear();
      c.end().catch(() => undefined);
      if (!closed) retry = setTimeout(() => void connect(), 1000);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${PLAN_CHANGED_CHANNEL}`);
    } catch (err) {
      log.warn({ err }, 'plan cache listener could not connect; retrying');
      cache.clear();
      await c.end().catch(() => undefined);
      if (!closed) retry = setTimeout(() => void connect(), 1000);
    }
  };
  void connect();
  return {
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      // Let a connection attempt in flight settle first, so nothing is left open behind us.
      await attempt?.catch(() => undefined);
      await client?.end().catch(() => undefined);
    },
  };
}
