import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Db } from '../../src/db/knex';
import { reratePayload } from '../../src/modules/calls/rerate.jobs';
import { insertJob } from '../../src/modules/jobs/jobs.repository';
import { makePlan, makeRates, makeReseller, makeSubscriber, rateRow } from '../support/factories';
import { makePlatform } from '../support/intake';
import { EMBEDDED, kill, ServerProcesses, type Server, type Store } from '../support/server-process';

/**
 * A job survives the death of its process: the real server (src/server.ts) runs as a child
 * process and re-rates a period of calls as a durable job, in batches of BATCH legs; it is
 * SIGKILLed mid-job. A second server on the same database finds the job's lease run out, claims
 * it, and resumes it after the last batch the first one committed. Afterwards the job is done once:
 * every leg re-rated at the corrected rate with exactly its two charges, the counts adding up to
 * the legs (none counted twice), one audit row for the run, two attempts.
 *
 * As in intake-crash.test.ts: with TEST_DATABASE_URL a fresh database there (the kill takes the
 * server down); on the embedded default the child runs PGlite itself on its own DATA_DIR, so the
 * kill takes the database down mid-transaction too, and the data is set up and read by opening
 * the folder in this process while no server runs on it. The child's progress is read from its
 * log (LOG_LEVEL=debug logs each checkpoint), which works the same for both.
 */
const LEGS = 3000;
const BATCH = 20;
/** Kill once the job has committed this many legs. */
const KILL_AFTER = 200;

const procs = new ServerProcesses();

async function seed(db: Db): Promise<{ token: string; platformId: number; wholesalePlanId: number; resellerId: number }> {
  const p = await makePlatform(db);
  const wholesale = await makePlan(db, null, { name: 'Jobs crash WS', rounding_decimals: 4 });
  const reseller = await makeReseller(db, { wholesale_plan_id: wholesale.id });
  const retail = await makePlan(db, reseller.id, { name: 'Jobs crash retail', rounding_decimals: 4 });
  await makeSubscriber(db, reseller.id, { retail_plan_id: retail.id }, ['+12125550123']);
  await makeRates(db, rateRow(wholesale, { rate: '0.0200' }), rateRow(retail, { rate: '0.0500' }));
  return { token: p.token, platformId: p.id, wholesalePlanId: wholesale.id, resellerId: reseller.id };
}

/** The server on the store, its lease short; debug logs each job checkpoint ("job progress"), which is how this test sees the job's progress. */
const startServer = (store: Store) => procs.start(store, { LOG_LEVEL: 'debug', ADMIN_EMAIL: 'jobs-crash@example.com', JOB_LEASE_SECONDS: '3' });

async function until<T>(what: string, server: Server, fn: () => T | undefined | false, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (server.child.exitCode !== null || server.child.signalCode !== null) throw new Error(`the server exited while waiting for ${what}: ${server.output().slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${server.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

after(() => procs.close());

describe(`a job survives its process (${EMBEDDED ? 'embedded PGlite in the killed process' : 'TEST_DATABASE_URL'})`, () => {
  test('re-rating SIGKILLed mid-job is resumed by the next server from its last committed batch and completes exactly once', { timeout: 240_000 }, async (t) => {
    const store = await procs.store(EMBEDDED, 'voip-jobs-crash-');
    const seeded = await store.read(seed);

    // ---- the calls, posted through the real intake, rated at the first rate -----------------------
    const first = await startServer(store);
    const startMs = Date.now() - 6 * 3_600_000;
    for (let from = 0; from < LEGS; from += 1000) {
      const records = Array.from({ length: Math.min(1000, LEGS - from) }, (_, k) => {
        const i = from + k;
        const s = startMs + i * 1000;
        return { leg_id: `jc-${i}`, calling: '+12125550123', called: `+4420794${String(60000 + i).padStart(5, '0')}`, start: new Date(s).toISOString(), answer: new Date(s + 5000).toISOString(), end: new Date(s + 95_000).toISOString() };
      });
      const res = await fetch(new URL('/api/v1/cdrs', first.url), { method: 'POST', headers: { authorization: `Bearer ${seeded.token}`, 'content-type': 'application/json' }, body: JSON.stringify(records) });
      const body = (await res.json()) as { accepted: number };
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.accepted, records.length);
    }
    await kill(first.child);

    // ---- a rate correction, and the re-rating of the period queued as a job ---------------------
    const jobId = await store.read(async (db) => {
      await db('rates').where({ rate_plan_id: seeded.wholesalePlanId }).update({ steps: JSON.stringify([{ from: 0, rate: '0.0400', rate_unit: 60, increment: 1 }]) });
      const payload = reratePayload.parse({
        scope: { kind: 'wholesale' }, actor: { userId: null, email: 'ops@example.com', role: 'wholesale_admin' },
        selection: { fromMs: startMs - 1000, toMs: Date.now() }, batchSize: BATCH,
      });
      return insertJob(db, { resellerId: null, kind: 'rerate', title: `Re-rating ${LEGS} calls`, payload, total: LEGS, returnTo: '/wholesale/calls' });
    });

    // ---- the server that takes it up is killed mid-job ------------------------------------------
    const second = await startServer(store);
    const progress = (s: Server) => s.logged('job progress').filter((l) => l.job === jobId).map((l) => l.done as number);
    await until(`${KILL_AFTER} legs re-rated`, second, () => progress(second).some((d) => d >= KILL_AFTER));
    await kill(second.child);
    const seenBeforeKill = Math.max(...progress(second));
    const atKill = await store.read(async (db) => db('jobs').where({ id: jobId }).first());
    assert.equal(atKill.status, 'running', 'the killed server left the job running, held by its lease');
    assert.equal(atKill.attempts, 1);
    const committed = atKill.checkpoint.outcome.total as number;
    assert.ok(committed >= KILL_AFTER && committed < LEGS, `killed mid-job: ${committed} of ${LEGS} committed`);
    assert.ok(committed >= seenBeforeKill, 'every batch it logged was committed (the checkpoint commits with the batch)');
    assert.equal(committed % BATCH, 0);

    // ---- the next server resumes it ---------------------------------------------------------------
    const third = await startServer(store);
    await until('the job finished', third, () => third.logged('job finished').some((l) => l.job === jobId));
    const resumedAt = Math.min(...progress(third));
    await kill(third.child);
    assert.equal(resumedAt, committed + BATCH, 'the first batch of the second attempt is the one after the last committed: nothing re-rated twice');
    const started = third.logged('job started').find((l) => l.job === jobId);
    assert.equal(started?.attempt, 2);
    assert.equal(started?.resumed, true);

    // ---- exactly once ------------------------------------------------------------------------------
    const after = await store.read(async (db) => {
      const job = await db('jobs').where({ id: jobId }).first();
      const legs = await db('call_legs').where({ platform_id: seeded.platformId }).select('id', 'status');
      const charges = (await db('charges').whereIn('leg_id', legs.map((l) => l.id)).select('leg_id', 'kind', 'amount')) as Array<{ leg_id: number; kind: string; amount: string }>;
      const audits = await db('audit_log').where({ entity_type: 'call_legs', action: 'rerate' }).select('after');
      return { job, legs, charges, audits };
    });
    t.diagnostic(`killed after ${committed} of ${LEGS} legs; resumed at ${resumedAt}`);
    assert.equal(after.job.status, 'done');
    assert.equal(after.job.attempts, 2);
    assert.equal(after.job.done, LEGS);
    assert.equal(after.job.result.total, LEGS, 'the counts add up to the legs: none counted twice');
    assert.equal(after.job.result.rated, LEGS);
    assert.match(after.job.result.message, new RegExp(`^Re-rated ${LEGS} calls: ${LEGS} rated\\.$`));
    assert.equal(after.legs.length, LEGS);
    assert.ok(after.legs.every((l) => l.status === 'rated'));
    assert.equal(after.charges.length, 2 * LEGS, 'one wholesale and one retail charge per leg, never more');
    const wholesale = after.charges.filter((c) => c.kind === 'wholesale');
    assert.equal(wholesale.length, LEGS);
    // 90 s at 0.04 a minute: every leg at the corrected rate, those of the killed attempt included.
    assert.deepEqual([...new Set(wholesale.map((c) => c.amount))], ['0.0600000000']);
    assert.equal(after.audits.length, 1, 'one audit row for the run');
    assert.equal(after.audits[0].after.total, LEGS);
  });
});
