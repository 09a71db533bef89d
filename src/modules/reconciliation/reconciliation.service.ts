import type { Db, Queryable } from '../../db/knex';
import { BadRequestError, ConflictError, NotFoundError } from '../../domain/errors';
import { RECON_CLASSES, type ReconClass } from '../../domain/reconciliation/reconcile';
import * as carriers from '../carriers/carriers.service';
import { monthOf } from '../ledger/partitions';
import { carrierTraffic, countCarrierLegs } from '../ledger/reconciliation.reads';
import { enqueueJob, type JobKinds } from '../jobs/jobs.service';
import type { Actor } from '../../domain/tenancy/actor';
import { Decimal } from '../../domain/money/decimal';
import * as repo from './reconciliation.repository';
import { recordAudit } from '../audit/audit.repository';
import { SYSTEM_ACTOR } from '../../domain/tenancy/actor';

export type { ReconRun, ReconItemRow, ItemFilter, ItemSort, ReconStep, ReconStepListener } from './reconciliation.repository';

/**
 * Reconciliation runs (issue 13). A run reconciles one carrier over one period in a single
 * transaction: its items are written, the period's previous current run (if any) is marked
 * superseded (its figures and items are kept, so what changed can be shown), and the new run
 * becomes the current one; a concurrent run of the same carrier and period waits on the lock of
 * the current run, or fails on the unique 'running' index. Each run keeps its own items; reports
 * read one run's items, and the carrier's page lists the current runs first.
 */
export interface RunRequest {
  trigger: 'manual' | 'automatic';
  /** The person who asked; null for automatic runs. */
  userId?: number | null;
  jobId?: number | null;
  /** Told as each step of the run starts (a job's progress page; the bench's step timings). */
  onStep?: repo.ReconStepListener;
}

/** Periods longer than this are refused (a year: a wider period is a mistake, not a report). */
const MAX_PERIOD_MS = 366 * 86_400_000;

function checkPeriod(fromMs: number, toMs: number): void {
  if (!(Number.isFinite(fromMs) && Number.isFinite(toMs) && fromMs < toMs)) throw new BadRequestError('the period must end after it starts');
  if (toMs - fromMs > MAX_PERIOD_MS) throw new BadRequestError('a reconciliation period is at most a year');
}

export async function runReconciliation(db: Db, carrierId: number, fromMs: number, toMs: number, req: RunRequest): Promise<repo.ReconRun> {
  checkPeriod(fromMs, toMs);
  const carrier = await carriers.getOrThrow(db, carrierId);
  const from = new Date(fromMs);
  const to = new Date(toMs);
  const tolerances = { startSeconds: carrier.startToleranceSeconds, durationSeconds: carrier.durationToleranceSeconds, cost: carrier.costTolerance.toFixed() };
  const id = await db.transaction(async (tx) => {
    const previous = await repo.currentRun(tx, carrierId, from, to);
    let runId: number;
    try {
      runId = await repo.insertRun(tx, { carrierId, from, to, trigger: req.trigger, requestedBy: req.userId ?? null, jobId: req.jobId ?? null, tolerances });
    } catch (err: any) {
      if (err?.constraint === 'reconciliation_runs_running_key' || /reconciliation_runs_running_key/.test(String(err?.message))) {
        throw new ConflictError('a reconciliation of this carrier and period is already running');
      }
      throw err;
    }
    const counts = await repo.reconcileIntoItems(tx, { runId, carrierId, carrierName: carrier.name, carrierCurrency: carrier.currency, from, to, tolerances, onStep: req.onStep });
    await req.onStep?.({ step: 'totals' });
    const totals = await repo.itemTotals(tx, runId);
    if (previous) await repo.supersede(tx, previous.id, runId);
    await repo.finishRun(tx, runId, { ...counts, totals, previousRunId: previous?.id ?? null });
    // reconciliation.finished for the operator's webhooks (the outbox), with the run.
    await recordAudit(tx, { ...SYSTEM_ACTOR, userId: req.userId ?? null }, {
      resellerId: null, entityType: 'reconciliation_run', entityId: runId, action: 'finish',
      after: { carrier_id: carrierId, carrier: carrier.name, period_from: from, period_to: to, trigger: req.trigger, previous_run_id: previous?.id ?? null, ...counts, totals },
    });
    return runId;
  });
  return (await repo.getRun(db, id))!;
}

/** The job kind of a large run asked for by a person (reconciliation.jobs.ts). */
export const RECONCILE_JOB = 'carrier-reconciliation';

/**
 * Legs and records (together) above which a run asked for from the page is queued as a job, whose
 * page shows its steps, rather than run while the request waits (config RECONCILE_INLINE_MAX).
 * A million of each take some 30 s to 60 s (docs/PERFORMANCE.md); this many, a few seconds.
 */
export const INLINE_RECONCILE_MAX = 200_000;

/**
 * A run asked for by a person: done at once when the period's legs and records are few, else
 * queued as a job (the operator's: a wholesale actor's job has no reseller) whose page shows its
 * steps and ends with a link to the run. The counts stop at the threshold (they only decide).
 */
export async function reconcileOrStart(
  db: Db,
  jobs: JobKinds,
  actor: Actor,
  carrierId: number,
  fromMs: number,
  toMs: number,
  o: { periodLabel: string; inlineMax?: number },
): Promise<{ run: repo.ReconRun } | { jobId: number }> {
  checkPeriod(fromMs, toMs);
  const carrier = await carriers.getOrThrow(db, carrierId);
  const max = o.inlineMax ?? INLINE_RECONCILE_MAX;
  const from = new Date(fromMs);
  const to = new Date(toMs);
  const legs = await countCarrierLegs(db, { carrierName: carrier.name, from, to, limit: max + 1 });
  const records = legs > max ? 0 : await repo.countRecords(db, { carrierId, from, to, limit: max + 1 - legs });
  if (legs + records <= max) return { run: await runReconciliation(db, carrierId, fromMs, toMs, { trigger: 'manual', userId: actor.userId }) };
  const jobId = await enqueueJob(db, jobs, actor, {
    kind: RECONCILE_JOB,
    title: `Reconciling ${carrier.name}, ${o.periodLabel}`,
    returnTo: `/wholesale/carriers/${carrierId}/reconciliation`,
    payload: { carrierId, fromMs, toMs, userId: actor.userId },
  });
  return { jobId };
}

/**
 * For the carrier-data intake: reconcile the carrier's calendar months (UTC) that a stored file's
 * records touch, [fromMs, toMs) being the file's first and last record start (toMs exclusive;
 * pass last + 1). Each month is its own period, so an automatic run replaces the month's earlier
 * one and the monthly report stays one run per month.
 */
export async function reconcileAfterFile(db: Db, carrierId: number, fromMs: number, toMs: number): Promise<repo.ReconRun[]> {
  const runs: repo.ReconRun[] = [];
  let m = monthOf(fromMs);
  for (;;) {
    runs.push(await runReconciliation(db, carrierId, Date.parse(m.from), Date.parse(m.to), { trigger: 'automatic' }));
    if (Date.parse(m.to) >= toMs) break;
    m = monthOf(Date.parse(m.to));
  }
  return runs;
}

export async function getRunOrThrow(db: Queryable, carrierId: number, runId: number): Promise<repo.ReconRun> {
  const run = await repo.getRun(db, runId);
  if (!run || run.carrierId !== carrierId) throw new NotFoundError();
  return run;
}

export const listRuns = (db: Queryable, carrierId: number): Promise<repo.ReconRun[]> => repo.listRuns(db, carrierId);
export const listItems = repo.listItems;
export const filteredTotals = repo.filteredTotals;
export const breakdown = repo.breakdown;

export interface RunChanges {
  previous: repo.ReconRun;
  counts: Array<{ class: ReconClass; before: number; after: number }>;
  items: Awaited<ReturnType<typeof repo.changedItems>>;
}

/** What changed since the run this one superseded: counts per class before and after, and the items whose class changed. */
export async function changesSincePrevious(db: Queryable, run: repo.ReconRun): Promise<RunChanges | null> {
  if (run.previousRunId === null) return null;
  const previous = await repo.getRun(db, run.previousRunId);
  if (!previous) return null;
  const counts = RECON_CLASSES.map((c) => ({ class: c, before: previous.totals?.[c]?.count ?? 0, after: run.totals?.[c]?.count ?? 0 }));
  return { previous, counts, items: await repo.changedItems(db, previous.id, run.id) };
}

export interface CarrierReportRow {
  carrier: string;
  key: string;
  calls: number;
  seconds: number;
  minutes: string;
  cost: string;
  wholesale: string;
  retail: string;
  /** Wholesale billed minus expected carrier cost, when both are in one currency; null otherwise. */
  margin: string | null;
}

const withCurrency = (v: string | null, cur: string | null): string => (v === null ? '' : `${new Decimal(v).toFixed()} ${cur ?? ''}`.trim());

/** The LD carrier report's rows (per carrier, local day or destination), from the ledger's read. */
export async function carrierReport(db: Queryable, o: { fromMs: number; toMs: number; by: 'carrier' | 'day' | 'destination'; zone: string; carrier?: string }): Promise<CarrierReportRow[]> {
  const rows = await carrierTraffic(db, { from: new Date(o.fromMs), to: new Date(o.toMs), by: o.by, zone: o.zone, carrier: o.carrier });
  return rows.map((r) => ({
    carrier: r.carrier,
    key: r.key,
    calls: r.calls,
    seconds: r.seconds,
    minutes: new Decimal(r.seconds).dividedBy(60).toDecimalPlaces(2).toFixed(2),
    cost: withCurrency(r.cost, r.costCurrency),
    wholesale: withCurrency(r.wholesale, r.wholesaleCurrency),
    retail: withCurrency(r.retail, r.retailCurrency),
    margin: r.cost !== null && r.wholesale !== null && r.costCurrency === r.wholesaleCurrency ? `${new Decimal(r.wholesale).minus(r.cost).toFixed()} ${r.costCurrency}` : null,
  }));
}
