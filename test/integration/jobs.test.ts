/**
 * The durable job queue (src/modules/jobs): jobs are rows, claimed by workers with FOR UPDATE SKIP
 * LOCKED, held by a renewed lease, retried with back-off up to max_attempts, taken over when a
 * lease runs out; schedules enqueue periodic work once per period across workers; the portal lists
 * jobs (operator: all; a reseller: its own) with progress, attempts and errors.
 *
 * The workers here are built on the test's database as the app builds its own (the app's worker
 * also runs, but it has no handler for the test kinds, so it never claims them).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { until } from '../support/wait';
import { z } from 'zod';
import { createDb, type Db } from '../../src/db/knex';
import { SYSTEM_ACTOR } from '../../src/domain/tenancy/actor';
import { enqueueJob, JobKinds, type JobHandler } from '../../src/modules/jobs/jobs.service';
import { JobWorker } from '../../src/modules/jobs/worker';
import { createTestApp, type TestApp } from '../support/app';
import { makeReseller, makeUser } from '../support/factories';
import { Client } from '../support/http';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

describe('the durable job queue', () => {
  let t: TestApp;
  /** A second pool on the same database: another process, as far as row locks can tell (one session on the embedded database). */
  let db2: Db;
  const workers: JobWorker[] = [];

  before(async () => {
    t = await createTestApp();
    db2 = t.embedded ? t.db : createDb(t.url, { poolMax: 5 });
    // What a job did, once per effect: the test's view of "exactly once".
    await t.db.raw(`CREATE TABLE test_job_effects (job_id bigint NOT NULL, worker text NOT NULL, step int NOT NULL DEFAULT 0)`);
  });
  after(async () => {
    for (const w of workers) await w.stop(100);
    if (db2 !== t.db) await db2.destroy();
    await t.close();
  });

  const worker = (kinds: JobKinds, o: { db?: Db; name: string; leaseSeconds?: number; schedules?: boolean; concurrency?: number }) => {
    const w = new JobWorker({ db: o.db ?? t.db, kinds, log: silent, leaseSeconds: o.leaseSeconds ?? 30, pollMs: 50, name: o.name, schedules: o.schedules, concurrency: o.concurrency });
    workers.push(w);
    return w;
  };
  const job = async (id: number) => t.db('jobs').where({ id }).first();

  test('two workers on the same queue run each job exactly once (FOR UPDATE SKIP LOCKED)', async () => {
    const kinds = new JobKinds().register({
      kind: 'test-once',
      payload: z.object({ n: z.number().int() }),
      title: (p) => `Job ${p.n}`,
      async run(ctx) {
        await sleep(5);
        await t.db('test_job_effects').insert({ job_id: ctx.job.id, worker: ctx.job.lockedBy });
        return { n: ctx.payload.n };
      },
    });
    const ids: number[] = [];
    for (let n = 0; n < 30; n++) ids.push(await enqueueJob(t.db, kinds, SYSTEM_ACTOR, { kind: 'test-once', payload: { n }, title: `Job ${n}`, returnTo: '/wholesale/jobs' }));
    const a = worker(kinds, { name: 'worker-a', concurrency: 3 }).start();
    const b = worker(kinds, { db: db2, name: 'worker-b', concurrency: 3 }).start();
    await until('every job done', async () => Number((await t.db('jobs').whereIn('id', ids).where({ status: 'done' }).count('* as n').first())?.n) === ids.length);
    await a.stop(100);
    await b.stop(100);
    const effects = await t.db('test_job_effects').whereIn('job_id', ids).select('job_id', 'worker');
    assert.equal(effects.length, ids.length, 'one effect per job, none twice');
    assert.deepEqual([...new Set(effects.map((e) => Number(e.job_id)))].sort((x, y) => x - y), ids);
    const rows = await t.db('jobs').whereIn('id', ids).select('attempts', 'result', 'locked_by');
    assert.ok(rows.every((r) => r.attempts === 1 && r.locked_by === null));
    if (!t.embedded) assert.deepEqual(new Set(effects.map((e) => e.worker)), new Set(['worker-a', 'worker-b']), 'both workers took jobs');
  });

  test('a payload that does not fit its kind is refused when queued', async () => {
    const kinds = new JobKinds().register({ kind: 'test-typed', payload: z.object({ n: z.number() }).strict(), title: () => 'typed', run: async () => ({}) });
    await assert.rejects(enqueueJob(t.db, kinds, SYSTEM_ACTOR, { kind: 'test-typed', payload: { n: 'one' } as never, title: 'x', returnTo: '/' }));
    await assert.rejects(enqueueJob(t.db, kinds, SYSTEM_ACTOR, { kind: 'no-such-kind', payload: {}, title: 'x', returnTo: '/' }), /no handler/);
  });

  test('a failing attempt is retried after its back-off, and the job fails for good after max_attempts', async () => {
    let calls = 0;
    const flaky: JobHandler<{ failTimes: number }> = {
      kind: 'test-flaky',
      payload: z.object({ failTimes: z.number().int() }),
      maxAttempts: 3,
      backoffSeconds: (attempt) => (attempt === 1 ? 0 : 120),
      title: () => 'flaky',
      async run(ctx) {
        calls++;
        if (ctx.job.attempts <= ctx.payload.failTimes) throw new Error(`attempt ${ctx.job.attempts} broke`);
        return { message: 'fine at last' };
      },
    };
    const kinds = new JobKinds().register(flaky);
    const w = worker(kinds, { name: 'worker-flaky' }).start();

    // Fails once (retried at once: back-off 0), then succeeds.
    const ok = await enqueueJob(t.db, kinds, SYSTEM_ACTOR, { kind: 'test-flaky', payload: { failTimes: 1 }, title: 'flaky', returnTo: '/' });
    const done = await until('the retried job done', async () => ((await job(ok)).status === 'done' ? job(ok) : undefined));
    assert.equal(done.attempts, 2);
    assert.equal(done.result.message, 'fine at last');

    // Fails twice: after the second failure it waits its back-off (two minutes), queued, with the error.
    const slow = await enqueueJob(t.db, kinds, SYSTEM_ACTOR, { kind: 'test-flaky', payload: { failTimes: 99 }, title: 'flaky', returnTo: '/' });
    const waiting = await until('the second failure', async () => {
      const r = await job(slow);
      return r.attempts === 2 && r.status === 'queued' ? r : undefined;
    });
    assert.equal(waiting.error, 'attempt 2 broke');
    const waitSeconds = (new Date(waiting.run_after).getTime() - Date.now()) / 1000;
    assert.ok(waitSeconds > 100 && waitSeconds <= 120, `waits its back-off (${waitSeconds} s)`);
    const before = calls;
    await sleep(300);
    assert.equal(calls, before, 'not tried again before its time');
    // Its time comes: the third and last attempt fails, and so does the job.
    await t.db('jobs').where({ id: slow }).update({ run_after: t.db.fn.now() });
    w.wake();
    const failed = await until('the job failed for good', async () => ((await job(slow)).status === 'failed' ? job(slow) : undefined));
    assert.equal(failed.attempts, 3);
    assert.equal(failed.error, 'attempt 3 broke');
    assert.ok(failed.finished_at);
  });

  test("a job whose lease ran out is taken over by another worker, and the first can no longer record anything", async () => {
    let firstStarted = false;
    let firstRefused: unknown;
    const kinds = new JobKinds().register({
      kind: 'test-lease',
      payload: z.object({}),
      title: () => 'lease',
      async run(ctx) {
        if (ctx.job.attempts === 1) {
          firstStarted = true;
          // Stalls (a process cut off, a long GC pause) until the lease is gone, then tries to record a step.
          await until('the lease taken over', async () => (await job(ctx.job.id)).locked_by !== ctx.job.lockedBy);
          try {
            await t.db.transaction(async (tx) => {
              await tx('test_job_effects').insert({ job_id: ctx.job.id, worker: 'late', step: 1 });
              await ctx.save(tx, { checkpoint: { step: 1 }, done: 1 });
            });
          } catch (err) {
            firstRefused = err;
          }
          throw firstRefused ?? new Error('the late save went through');
        }
        await t.db.transaction(async (tx) => {
          await tx('test_job_effects').insert({ job_id: ctx.job.id, worker: 'second', step: 1 });
          await ctx.save(tx, { checkpoint: { step: 1 }, done: 1 });
        });
        return { message: 'taken over' };
      },
    });
    const id = await enqueueJob(t.db, kinds, SYSTEM_ACTOR, { kind: 'test-lease', payload: {}, title: 'lease', total: 1, returnTo: '/' });
    // The first worker's lease is long, and renewed: it is the clock, not the renewal, that is taken away here.
    worker(kinds, { name: 'worker-stalled', leaseSeconds: 600 }).start();
    await until('the first attempt', async () => firstStarted);
    await t.db('jobs').where({ id }).update({ locked_until: t.db.raw(`now() - interval '1 second'`) });
    worker(kinds, { db: db2, name: 'worker-fresh' }).start();
    const done = await until('done by the second worker', async () => ((await job(id)).status === 'done' ? job(id) : undefined));
    assert.equal(done.attempts, 2);
    assert.equal(done.result.message, 'taken over');
    await until('the stalled attempt to give up', async () => firstRefused !== undefined);
    assert.match(String((firstRefused as Error).message), /no longer this worker's/);
    const effects = await t.db('test_job_effects').where({ job_id: id }).pluck('worker');
    assert.deepEqual(effects, ['second'], "the stalled worker's step was rolled back with its refused checkpoint");
    assert.equal((await job(id)).status, 'done', 'and its failure did not touch the job');
  });

  test('stopping a worker hands its running job back, the attempt not counted, and another worker resumes it from its checkpoint', async () => {
    const steps: number[] = [];
    const kinds = new JobKinds().register({
      kind: 'test-resume',
      payload: z.object({ steps: z.number().int() }),
      title: () => 'resume',
      async run(ctx) {
        let step = Number(ctx.checkpoint?.step ?? 0);
        while (step < ctx.payload.steps) {
          if (ctx.signal.aborted) throw new Error('stopping');
          step++;
          await t.db.transaction(async (tx) => {
            await tx('test_job_effects').insert({ job_id: ctx.job.id, worker: String(ctx.job.lockedBy), step });
            await ctx.save(tx, { checkpoint: { step }, done: step });
          });
          steps.push(step);
          await sleep(20);
        }
        return { message: `${step} steps` };
      },
    });
    const id = await enqueueJob(t.db, kinds, SYSTEM_ACTOR, { kind: 'test-resume', payload: { steps: 20 }, title: 'resume', total: 20, returnTo: '/' });
    const first = worker(kinds, { name: 'worker-stopping' }).start();
    await until('a few steps', async () => steps.length >= 5);
    await first.stop(1000);
    const handed = await job(id);
    assert.equal(handed.status, 'queued');
    assert.equal(handed.attempts, 0, 'a stop is not a failed attempt');
    assert.ok(handed.checkpoint.step >= 5 && handed.checkpoint.step < 20);
    worker(kinds, { db: db2, name: 'worker-resuming' }).start();
    const done = await until('resumed to the end', async () => ((await job(id)).status === 'done' ? job(id) : undefined));
    assert.equal(done.result.message, '20 steps');
    const rows = await t.db('test_job_effects').where({ job_id: id }).orderBy('step').pluck('step');
    assert.deepEqual(rows, Array.from({ length: 20 }, (_, i) => i + 1), 'each step once: the second worker began after the first one\'s last');
  });

  test("a schedule's routine runs are logged at debug, a job someone queued at info", async () => {
    const lines: Array<{ level: string; msg: string; kind?: string }> = [];
    const log = Object.fromEntries((['debug', 'info', 'warn', 'error'] as const).map((level) => [level, (o: Record<string, unknown>, msg: string) => void lines.push({ level, msg, kind: o.kind as string })])) as unknown as typeof silent;
    const kinds = new JobKinds()
      .register({ kind: 'test-routine', payload: z.object({}), title: () => 'routine', run: async () => ({ message: 'nothing to do' }) })
      .register({ kind: 'test-asked', payload: z.object({}), title: () => 'asked', run: async () => ({}) })
      .schedule({ name: 'test-routine', kind: 'test-routine', payload: {}, everySeconds: 3600 });
    const w = new JobWorker({ db: t.db, kinds, log, leaseSeconds: 30, pollMs: 50, name: 'logs', schedules: true });
    workers.push(w);
    const asked = await enqueueJob(t.db, kinds, SYSTEM_ACTOR, { kind: 'test-asked', payload: {}, title: 'asked', returnTo: '/wholesale/jobs' });
    w.start();
    await until('both done', async () => (await job(asked)).status === 'done' && (await t.db('jobs').where({ schedule: 'test-routine', status: 'done' }).first()) !== undefined);
    await w.stop(100);
    const of = (kind: string) => lines.filter((l) => l.kind === kind && (l.msg === 'job started' || l.msg === 'job finished')).map((l) => `${l.level} ${l.msg}`);
    assert.deepEqual(of('test-routine'), ['debug job started', 'debug job finished']);
    assert.deepEqual(of('test-asked'), ['info job started', 'info job finished']);
  });

  test('a schedule runs once per period however many workers look at it, and a period whose last run is still open is skipped', async () => {
    let runs = 0;
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const kinds = () =>
      new JobKinds()
        .register({
          kind: 'test-periodic',
          payload: z.object({}),
          title: () => 'periodic',
          async run() {
            runs++;
            await held;
            return {};
          },
        })
        .schedule({ name: 'test-periodic', kind: 'test-periodic', payload: {}, everySeconds: 3600 });
    const ws = [worker(kinds(), { name: 's1', schedules: true }), worker(kinds(), { db: db2, name: 's2', schedules: true }), worker(kinds(), { name: 's3', schedules: true })];
    for (const w of ws) w.start();
    await until('the first run', async () => runs === 1);
    for (let i = 0; i < 10; i++) for (const w of ws) w.wake();
    await sleep(300);
    assert.equal(Number((await t.db('jobs').where({ schedule: 'test-periodic' }).count('* as n').first())?.n), 1, 'one job for the period');
    const s = await t.db('job_schedules').where({ name: 'test-periodic' }).first();
    const ahead = (new Date(s.next_run_at).getTime() - Date.now()) / 1000;
    assert.ok(ahead > 3500 && ahead <= 3600, `next run an hour on (${ahead} s)`);
    // The next period comes while this run still runs: skipped, not piled up.
    await t.db('job_schedules').where({ name: 'test-periodic' }).update({ next_run_at: t.db.raw(`now() - interval '1 second'`) });
    for (const w of ws) w.wake();
    await until('the period taken', async () => new Date((await t.db('job_schedules').where({ name: 'test-periodic' }).first()).next_run_at).getTime() > Date.now());
    assert.equal(Number((await t.db('jobs').where({ schedule: 'test-periodic' }).count('* as n').first())?.n), 1, 'the open run was not joined by a second');
    release();
    await until('the run done', async () => (await t.db('jobs').where({ schedule: 'test-periodic', status: 'done' }).first()) !== undefined);
    // The period after it runs again.
    await t.db('job_schedules').where({ name: 'test-periodic' }).update({ next_run_at: t.db.raw(`now() - interval '1 second'`) });
    for (const w of ws) w.wake();
    await until('the next run', async () => Number((await t.db('jobs').where({ schedule: 'test-periodic', status: 'done' }).count('* as n').first())?.n) === 2);
    assert.equal(runs, 2, 'one run for each period that came');
  });

  test('the portal lists jobs with progress, attempts and errors: the operator every job, a reseller its own', async () => {
    const mine = await makeReseller(t.db);
    const other = await makeReseller(t.db);
    const row = (resellerId: number | null, title: string, over: Record<string, unknown> = {}) => ({
      reseller_id: resellerId, kind: 'rerate', title, total: 10, done: 4, return_to: '/', status: 'running', attempts: 2, max_attempts: 5, ...over,
    });
    const [a] = await t.db('jobs').insert(row(mine.id, 'Mine running', { error: 'the database went away' })).returning('id');
    await t.db('jobs').insert(row(other.id, 'Theirs running'));
    await t.db('jobs').insert(row(null, 'Pairing stranded call halves', { schedule: 'x-list-test', status: 'failed', error: 'gave up', total: 0, done: 0 }));
    const operator = await Client.login(t.app, (await makeUser(t.db, 'wholesale_support')).email);
    const reseller = await Client.login(t.app, (await makeUser(t.db, 'reseller_support', { resellerId: mine.id })).email);

    const all = await operator.get('/wholesale/jobs');
    assert.equal(all.status, 200);
    for (const title of ['Mine running', 'Theirs running', 'Pairing stranded call halves']) assert.match(all.text, new RegExp(title));
    assert.match(all.text, /4 of 10/);
    assert.match(all.text, /2 of 5/);
    assert.match(all.text, /gave up/);
    const failedOnly = await operator.get('/wholesale/jobs?status=failed');
    assert.match(failedOnly.text, /Pairing stranded call halves/);
    assert.doesNotMatch(failedOnly.text, /Mine running/);

    const own = await reseller.get('/reseller/jobs');
    assert.equal(own.status, 200);
    assert.match(own.text, /Mine running/);
    assert.doesNotMatch(own.text, /Theirs running/);
    assert.doesNotMatch(own.text, /Pairing stranded/);

    const page = await reseller.get(`/reseller/jobs/${a.id}`);
    assert.match(page.text, /data-testid="job-progress">4 of 10</);
    assert.match(page.text, /data-testid="job-attempts">2 of 5</);
    assert.match(page.text, /An earlier attempt failed: the database went away/);
    // The operator reaches a reseller's job too.
    assert.equal((await operator.get(`/wholesale/jobs/${a.id}`)).status, 200);
    assert.equal((await operator.get('/wholesale/jobs?cursor=nonsense')).status, 400);
  });
});
