/**
 * The intake's periodic work on the job queue (src/modules/intake/intake.jobs.ts): half-call
 * expiry pairs stranded halves before it expires anything, so two halves whose pairing was lost in
 * a crash become one call, not two rejects "got no other half"; and the server's schedules (expiry,
 * reject pruning, partition upkeep) run as jobs.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { until } from '../support/wait';
import { SYSTEM_ACTOR } from '../../src/domain/tenancy/actor';
import { PENDING_EXPIRY_JOB } from '../../src/modules/intake/intake.jobs';
import { enqueueJob } from '../../src/modules/jobs/jobs.service';
import { createTestApp, type TestApp } from '../support/app';
import { makePlatform, postCdrs } from '../support/intake';
import { dumpObjects } from '../fixtures/cdr/sql-dump';

const FIXTURES = path.resolve(__dirname, '../fixtures/cdr');
const rows = dumpObjects(fs.readFileSync(path.join(FIXTURES, 'kamailio/dsiprouter-acc-cdrs-dump.sql'), 'utf8'), 'acc');
const invite = rows.find((r) => r.method === 'INVITE' && r.sip_code === '200') as Record<string, string>;
const bye = rows.find((r) => r.method === 'BYE' && r.callid === invite.callid) as Record<string, string>;

describe('half-call expiry pairs before it expires', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  test('two halves of a call whose pairing was lost in a crash become one call, not two rejects; a lone half is still expired', async () => {
    const p = await makePlatform(t.db, { format: 'kamailio-acc' });
    const elsewhere = await makePlatform(t.db, { format: 'kamailio-acc' });
    // The INVITE here, its BYE on another platform: each is stored waiting for its other half. Then
    // the BYE is moved beside the INVITE, as the intake leaves them when it stops between the
    // commit of the second half and pairing the two (IntakePipeline.pairStranded).
    assert.equal((await postCdrs(t, p.token, JSON.stringify([{ ...invite, callid: 'lost-pairing' }]))).body.pending, 1);
    assert.equal((await postCdrs(t, elsewhere.token, JSON.stringify([{ ...bye, callid: 'lost-pairing' }]))).body.pending, 1);
    await t.db('pending_records').where({ platform_id: elsewhere.id }).update({ platform_id: p.id });
    // And a half that really got no other half.
    assert.equal((await postCdrs(t, p.token, JSON.stringify([{ ...invite, callid: 'never-closed' }]))).body.pending, 1);
    assert.equal(Number((await t.db('pending_records').where({ platform_id: p.id }).count('* as n').first())?.n), 3);
    await t.db('pending_records').where({ platform_id: p.id }).update({ received_at: t.db.raw(`now() - interval '25 hours'`) });

    const id = await enqueueJob(t.db, t.jobs, SYSTEM_ACTOR, { kind: PENDING_EXPIRY_JOB, payload: { maxAgeHours: 24 }, title: 'expiry', returnTo: '/wholesale/jobs' });
    const job = await until('the expiry job done', async () => t.db('jobs').where({ id, status: 'done' }).first());
    assert.equal(job.result.paired, 1);
    assert.equal(job.result.expired, 1);

    const legs = await t.db('call_legs').where({ platform_id: p.id }).pluck('call_id');
    assert.deepEqual(legs, ['lost-pairing'], 'the two halves are one call');
    const rejects = await t.db('cdr_rejects').where({ platform_id: p.id }).pluck('error');
    assert.equal(rejects.length, 1, `one reject, the lone half's: ${JSON.stringify(rejects)}`);
    assert.match(rejects[0] as string, /half of call never-closed got no other half within 24 hours/);
    assert.equal(await t.db('pending_records').where({ platform_id: p.id }).first(), undefined, 'nothing left waiting');

    // Run again: nothing more to pair or expire, and the call is still one.
    const again = await enqueueJob(t.db, t.jobs, SYSTEM_ACTOR, { kind: PENDING_EXPIRY_JOB, payload: { maxAgeHours: 24 }, title: 'expiry', returnTo: '/wholesale/jobs' });
    const second = await until('the second run done', async () => t.db('jobs').where({ id: again, status: 'done' }).first());
    assert.deepEqual([second.result.paired, second.result.expired], [0, 0]);
    assert.equal((await t.db('call_legs').where({ platform_id: p.id })).length, 1);
  });
});

describe("the server's periodic work runs on the scheduler", () => {
  let t: TestApp;
  before(async () => {
    // As the server builds it (src/server.ts): its worker also turns due schedules into jobs.
    t = await createTestApp({}, {}, { schedules: true });
  });
  after(() => t.close());

  test('half-call expiry, reject pruning, partition upkeep, the carrier file watch and reconciliation, recurring charges, record files and their push, webhook fan-out, sending and pruning are schedules, each run once at the first start and then once a period', async () => {
    const schedules = await until('the schedules declared', async () => {
      const s = await t.db('job_schedules').orderBy('name').select('name', 'kind', 'every_seconds', 'next_run_at');
      return s.length === 11 ? s : undefined;
    });
    assert.deepEqual(
      schedules.map((s) => [s.name, s.every_seconds]),
      [['carrier-file-watch', 900], ['carrier-reconcile', 300], ['partition-upkeep', 86_400], ['pending-expiry', 3600], ['record-file-push', 60], ['record-files', 300], ['recurring-charges', 3600], ['reject-pruning', 3600], ['webhook-fanout', 30], ['webhook-pruning', 3600], ['webhook-send', 30]],
    );
    const done = await until('one run of each', async () => {
      const jobs = await t.db('jobs').whereNotNull('schedule').where({ status: 'done' }).orderBy('schedule').select('schedule', 'reseller_id', 'result');
      return jobs.length === 11 ? jobs : undefined;
    });
    assert.deepEqual(done.map((j) => j.schedule), ['carrier-file-watch', 'carrier-reconcile', 'partition-upkeep', 'pending-expiry', 'record-file-push', 'record-files', 'recurring-charges', 'reject-pruning', 'webhook-fanout', 'webhook-pruning', 'webhook-send']);
    assert.ok(done.every((j) => j.reseller_id === null), "the system's work: the operator's, no tenant's");
    for (const s of await t.db('job_schedules').select('next_run_at', 'every_seconds')) {
      const ahead = (new Date(s.next_run_at).getTime() - Date.now()) / 1000;
      assert.ok(ahead > s.every_seconds - 120 && ahead <= s.every_seconds, `next run one period on (${ahead} s)`);
    }
    // Next month's partitions are made ahead of its first call.
    const now = new Date();
    const next = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
    const key = `${next.getUTCFullYear()}_${String(next.getUTCMonth() + 1).padStart(2, '0')}`;
    for (const table of ['call_legs', 'charges']) assert.ok((await t.db.raw(`select to_regclass(?) as r`, [`${table}_p${key}`])).rows[0].r, `${table}_p${key} exists`);
    await sleep(300);
    assert.equal(Number((await t.db('jobs').whereNotNull('schedule').count('* as n').first())?.n), 11, 'no second run within the period');
  });
});
