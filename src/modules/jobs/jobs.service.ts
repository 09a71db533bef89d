import type { z } from 'zod';
import type { Db, Queryable } from '../../db/knex';
import type { Actor } from '../../domain/tenancy/actor';
import { NotFoundError } from '../../domain/errors';
import type { Scope } from '../../domain/tenancy/roles';
import { allJobs, getJob, insertJob, listJobs, openJobsOf, type Job, type JobFilter, type Schedule, upsertSchedule } from './jobs.repository';

/** What a handler is given for one attempt at its job. */
export interface JobContext<P> {
  job: Job;
  payload: P;
  /** Where an earlier attempt got to (see save), or null on the first. */
  checkpoint: Record<string, unknown> | null;
  /**
   * Records progress and, optionally, a checkpoint. Pass the transaction that stores the work it
   * describes: both commit together, so a resumed attempt starts exactly after stored work. Throws
   * LeaseLostError (rolling that transaction back) when the job is no longer this worker's.
   */
  save(tx: Queryable | undefined, set: { checkpoint?: Record<string, unknown>; done?: number; total?: number; step?: string }): Promise<void>;
  /** Aborted when the worker stops or loses the lease: a long handler should stop at its next step. */
  signal: AbortSignal;
  log: JobLog;
}

export interface JobLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * One kind of background work. Handlers must be idempotent or resumable: an attempt can be cut
 * short at any point (its process killed) and the job is then run again, from its last checkpoint.
 */
export interface JobHandler<P = unknown> {
  kind: string;
  /** The payload's shape, checked when the job is queued and again when it runs. */
  payload: z.ZodType<P>;
  /** Attempts before the job fails for good (default 5). */
  maxAttempts?: number;
  /** Seconds to wait before the given (1-based) attempt's retry (default: 10 s doubling, at most an hour). */
  backoffSeconds?(attempt: number): number;
  /** What the job's page says when the job has no title of its own (a scheduled run). */
  title(payload: P): string;
  /** Does the work; what it returns is the job's result (a `message` is shown on its page). */
  run(ctx: JobContext<P>): Promise<Record<string, unknown>>;
}

export class LeaseLostError extends Error {
  constructor(id: number) {
    super(`job ${id} is no longer this worker's (its lease ran out)`);
  }
}

export function defaultBackoffSeconds(attempt: number): number {
  return Math.min(3600, 10 * 2 ** Math.max(0, attempt - 1));
}

/** The handlers of this process, by kind, and the schedules of periodic work. */
export class JobKinds {
  private readonly handlers = new Map<string, JobHandler<any>>();
  private readonly schedules = new Map<string, Schedule>();
  private readonly listeners = new Set<() => void>();

  register<P>(h: JobHandler<P>): this {
    if (this.handlers.has(h.kind)) throw new Error(`job kind ${h.kind} is registered twice`);
    this.handlers.set(h.kind, h);
    return this;
  }

  get(kind: string): JobHandler<unknown> | undefined {
    return this.handlers.get(kind);
  }

  kinds(): string[] {
    return [...this.handlers.keys()];
  }

  /** Periodic work: a job of `kind` every `everySeconds`, once per period whatever the number of processes. */
  schedule(s: Schedule): this {
    if (!this.handlers.has(s.kind)) throw new Error(`schedule ${s.name}: no handler for job kind ${s.kind}`);
    this.schedules.set(s.name, s);
    return this;
  }

  /** Writes this process's schedules (their periods and payloads follow the code; next run times are kept). */
  async declareSchedules(db: Db): Promise<void> {
    for (const s of this.schedules.values()) await upsertSchedule(db, s);
  }

  /** A worker of this process hears of jobs queued here at once (others poll). */
  onQueued(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  queued(): void {
    for (const fn of this.listeners) fn();
  }
}

export interface EnqueueSpec<P> {
  kind: string;
  payload: P;
  title: string;
  /** The units of work (legs, say), for the progress bar; a handler may set it once it knows. */
  total?: number;
  /** Our own path of the page that started it, for the link back. */
  returnTo: string;
  /** Not before then (default: now). */
  runAfter?: Date;
}

/**
 * Queues a job, owned by the actor's tenant (a reseller's people see it; the operator sees every
 * job). The payload is checked against the kind's schema now, so a bad job is refused to its
 * caller rather than failing later in a worker.
 */
export async function enqueueJob<P>(db: Queryable, kinds: JobKinds, actor: Actor, spec: EnqueueSpec<P>): Promise<number> {
  const handler = kinds.get(spec.kind);
  if (!handler) throw new Error(`no handler for job kind ${spec.kind}`);
  const payload = handler.payload.parse(spec.payload) as Record<string, unknown>;
  const resellerId = actor.scope.kind === 'reseller' ? actor.scope.resellerId : actor.scope.kind === 'subscriber' ? actor.scope.resellerId : null;
  const id = await insertJob(db, {
    resellerId, kind: spec.kind, title: spec.title, payload, total: spec.total, returnTo: spec.returnTo, startedBy: actor.userId,
    maxAttempts: handler.maxAttempts, runAfter: spec.runAfter,
  });
  kinds.queued();
  return id;
}

// ---- Reads: what the portal's pages show, and the API will share (routes never read a repository) ----

export type { Job, JobFilter, JobStatus } from './jobs.repository';

/** The jobs the scope may see, newest first, a page at a time. */
export function listJobsIn(db: Queryable, scope: Scope, filter: JobFilter) {
  return listJobs(db, scope, filter);
}

/** Every job the list's filter matches, in its order: the CSV of exactly that list. */
export function allJobsIn(db: Queryable, scope: Scope, filter: JobFilter) {
  return allJobs(db, scope, filter);
}

/** One job the scope may see; NotFoundError otherwise (another tenant's job is not there). */
export async function jobIn(db: Queryable, scope: Scope, id: number): Promise<Job> {
  const job = await getJob(db, scope, id);
  if (!job) throw new NotFoundError();
  return job;
}

/** The scope's queued or running jobs of `kind` whose payload contains `payload` (a plan's imports on its page). */
export function openJobsIn(db: Queryable, scope: Scope, kind: string, payload: Record<string, unknown>): Promise<Job[]> {
  return openJobsOf(db, scope, kind, payload);
}
