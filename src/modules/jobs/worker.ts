import crypto from 'node:crypto';
import os from 'node:os';
import type { Db, Queryable } from '../../db/knex';
import { claimDueSchedule, claimJob, completeJob, failAttempt, insertScheduledJob, type Job, renewLease, saveCheckpoint } from './jobs.repository';
import { defaultBackoffSeconds, type JobKinds, type JobLog, LeaseLostError } from './jobs.service';

export interface WorkerOptions {
  db: Db;
  kinds: JobKinds;
  log: JobLog;
  /** Seconds a claimed job stays this worker's without a renewal (renewed every third of it). */
  leaseSeconds: number;
  /** How often to look for work queued by other processes and for due schedules. */
  pollMs?: number;
  /** Jobs run at once in this process. */
  concurrency?: number;
  /** Also turns due schedules into jobs (the server does; test apps run only what they queue). */
  schedules?: boolean;
  /** This worker's name in locked_by (default: host, pid and a random tag). */
  name?: string;
}

/**
 * The process's worker: claims jobs of the kinds it has handlers for (queued and due, or left by a
 * worker whose lease ran out), runs each with its lease renewed while it runs, and records the
 * outcome: done with its result, queued again after a back-off, or failed for good after its last
 * attempt. It polls, and hears at once of jobs queued in its own process.
 */
export class JobWorker {
  readonly name: string;
  private readonly db: Db;
  private readonly kinds: JobKinds;
  private readonly log: JobLog;
  private readonly leaseSeconds: number;
  private readonly pollMs: number;
  private readonly concurrency: number;
  private readonly schedules: boolean;
  private readonly running = new Map<number, { promise: Promise<void>; abort: AbortController }>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  private declared = false;
  private stopped = true;
  private unsubscribe: (() => void) | undefined;

  constructor(o: WorkerOptions) {
    this.db = o.db;
    this.kinds = o.kinds;
    this.log = o.log;
    this.leaseSeconds = o.leaseSeconds;
    this.pollMs = o.pollMs ?? 1000;
    this.concurrency = Math.max(1, o.concurrency ?? 2);
    this.schedules = o.schedules ?? false;
    this.name = o.name ?? `${os.hostname()}:${process.pid}:${crypto.randomBytes(3).toString('hex')}`;
  }

  start(): this {
    if (!this.stopped) return this;
    this.stopped = false;
    this.unsubscribe = this.kinds.onQueued(() => this.wake());
    this.wake();
    return this;
  }

  /** Looks for work now rather than at the next poll. */
  wake(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.ticking = this.tick()
      .catch((err) => this.log.warn({ err }, 'looking for background work failed'))
      .finally(() => {
        this.ticking = undefined;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          this.wake();
        } else {
          this.timer = setTimeout(() => this.wake(), this.pollMs);
          this.timer.unref();
        }
      });
  }

  /**
   * Stops claiming, asks running jobs to stop, and hands back those that do not finish within
   * `graceMs`: queued again at once, the attempt not counted, for the next worker to resume.
   */
  async stop(graceMs = 5000): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    const ids = [...this.running.keys()];
    for (const r of this.running.values()) r.abort.abort();
    const all = Promise.allSettled([...this.running.values()].map((r) => r.promise));
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
    // Those still this worker's (not finished, not failed): handed back.
    for (const id of ids) {
      await this.db('jobs')
        .where({ id, locked_by: this.name, status: 'running' })
        .update({ status: 'queued', locked_by: null, locked_until: null, attempts: this.db.raw('greatest(attempts - 1, 0)'), run_after: this.db.fn.now() })
        .catch(() => undefined);
    }
  }

  /** Jobs this worker is running now (for tests and the log). */
  busy(): number {
    return this.running.size;
  }

  private async tick(): Promise<void> {
    if (this.schedules && !this.declared) {
      await this.kinds.declareSchedules(this.db);
      this.declared = true;
    }
    if (this.schedules) while (!this.stopped && (await this.enqueueDue())) {}
    while (!this.stopped && this.running.size < this.concurrency) {
      const job = await claimJob(this.db, this.name, this.kinds.kinds(), this.leaseSeconds);
      if (!job) break;
      const abort = new AbortController();
      const promise = this.run(job, abort).finally(() => {
        this.running.delete(job.id);
        this.wake();
      });
      this.running.set(job.id, { promise, abort });
    }
  }

  /** One due schedule made into a job, in one transaction with moving its next run time on. */
  private async enqueueDue(): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const s = await claimDueSchedule(tx);
      if (!s) return false;
      const handler = this.kinds.get(s.kind);
      if (!handler) {
        this.log.warn({ schedule: s.name, kind: s.kind }, 'a schedule names a job kind this process has no handler for');
        return true;
      }
      const parsed = handler.payload.safeParse(s.payload);
      if (!parsed.success) {
        this.log.error({ schedule: s.name, error: parsed.error.message }, 'a schedule has a bad payload');
        return true;
      }
      const id = await insertScheduledJob(tx, {
        resellerId: null, kind: s.kind, title: handler.title(parsed.data), payload: parsed.data as Record<string, unknown>, returnTo: '/wholesale/jobs',
        maxAttempts: handler.maxAttempts, schedule: s.name,
      });
      if (id === undefined) this.log.info({ schedule: s.name }, 'the previous run of this schedule is still open: this period is skipped');
      return true;
    });
  }

  private async run(job: Job, abort: AbortController): Promise<void> {
    const handler = this.kinds.get(job.kind);
    const log = this.log;
    if (!handler) return; // claimJob only claims registered kinds
    if (job.attempts > job.maxAttempts) {
      // Its attempts each ended with the process (no outcome recorded): it is not tried again.
      const error = `gave up after ${job.maxAttempts} attempts; the last ones stopped with their process${job.error ? ` (earlier: ${job.error})` : ''}`;
      await failAttempt(this.db, job.id, this.name, error, null);
      log.error({ job: job.id, kind: job.kind }, 'job failed for good');
      return;
    }
    const parsed = handler.payload.safeParse(job.payload);
    if (!parsed.success) {
      await failAttempt(this.db, job.id, this.name, `its payload is not valid for ${job.kind}: ${parsed.error.message}`, null);
      return;
    }
    // A schedule's runs (webhooks every 30 s, upkeep hourly) are routine: said at debug, so that the
    // log at info is what people asked for and what went wrong (failures are warned of either way).
    const routine = job.schedule !== null && job.attempts <= 1;
    log[routine ? 'debug' : 'info']({ job: job.id, kind: job.kind, attempt: job.attempts, resumed: job.checkpoint !== null }, 'job started');

    let lost = false;
    const renew = setInterval(() => {
      renewLease(this.db, job.id, this.name, this.leaseSeconds)
        .then((ok) => {
          if (!ok && !lost) {
            lost = true;
            abort.abort(new LeaseLostError(job.id));
          }
        })
        .catch((err) => log.warn({ err, job: job.id }, 'renewing a job lease failed'));
    }, Math.max(500, (this.leaseSeconds * 1000) / 3));
    renew.unref();

    const save = async (tx: Queryable | undefined, set: { checkpoint?: Record<string, unknown>; done?: number; total?: number; step?: string }) => {
      if (!(await saveCheckpoint(tx ?? this.db, job.id, this.name, set))) {
        lost = true;
        throw new LeaseLostError(job.id);
      }
      if (set.done === undefined) return;
      const logProgress = () => log.debug({ job: job.id, kind: job.kind, done: set.done }, 'job progress');
      // Said once it is true: a checkpoint saved inside the handler's transaction counts when that commits.
      const committed = (tx as { executionPromise?: Promise<unknown> } | undefined)?.executionPromise;
      if (committed) committed.then(logProgress, () => undefined);
      else logProgress();
    };

    try {
      const result = await handler.run({ job, payload: parsed.data, checkpoint: job.checkpoint, save, signal: abort.signal, log });
      if (await completeJob(this.db, job.id, this.name, result, typeof result.done === 'number' ? result.done : undefined)) {
        log[routine ? 'debug' : 'info']({ job: job.id, kind: job.kind, attempt: job.attempts, message: result.message }, 'job finished');
      } else {
        log.warn({ job: job.id, kind: job.kind }, 'job finished after its lease ran out; the outcome of the worker that holds it stands');
      }
    } catch (err) {
      if (lost || err instanceof LeaseLostError) {
        log.warn({ job: job.id, kind: job.kind }, 'job lease lost: another worker has taken it up');
        return;
      }
      if (this.stopped && abort.signal.aborted) return; // handed back by stop()
      const message = err instanceof Error ? err.message : String(err);
      const retry = job.attempts < job.maxAttempts ? (handler.backoffSeconds ?? defaultBackoffSeconds)(job.attempts) : null;
      log.error({ err, job: job.id, kind: job.kind, attempt: job.attempts, retryInSeconds: retry }, 'job attempt failed');
      await failAttempt(this.db, job.id, this.name, message, retry).catch((e) => log.error({ err: e, job: job.id }, 'recording a failed job failed'));
    } finally {
      clearInterval(renew);
    }
  }
}
