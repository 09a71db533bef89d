import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { createTestApp, type TestApp } from '../support/app';
import { makePlan, makeReseller, makeSubscriber, makeRates, rateRow } from '../support/factories';
import { makePlatform, postCdrs } from '../support/intake';

// The pool closes a connection after it has been idle this long (30 s by default); the test waits longer.
const IDLE_MS = 150;

describe('the intake after the pool has dropped its idle connection', () => {
  let t: TestApp;
  let token: string;

  before(async () => {
    // No job worker: its poll every second would keep the pool's connection from ever idling out.
    t = await createTestApp({}, { idleTimeoutMs: IDLE_MS }, { worker: false });
    token = (await makePlatform(t.db)).token;
    const plan = await makePlan(t.db, null, { name: 'WS' });
    const reseller = await makeReseller(t.db, { wholesale_plan_id: plan.id, billing_service: false });
    await makeSubscriber(t.db, reseller.id, {}, ['+12125550100']);
    await makeRates(t.db, rateRow(plan, { rate: '0.02' }));
  });
  after(() => t.close());

  const leg = (id: string) => ({ leg_id: id, calling: '+12125550100', called: '+442079460000', start: '2026-11-25T12:00:00Z', answer: '2026-11-25T12:00:05Z', end: '2026-11-25T12:01:35Z' });
  const idle = async () => {
    // Longer than the idle timeout and the pool's reaping interval (1 s): the connection is closed.
    await sleep(IDLE_MS + 1_300);
  };

  test('post, post, wait past the idle timeout, post: every post is stored (named statements, session state survive a new connection)', async () => {
    for (const id of ['IDLE-1', 'IDLE-2']) assert.equal((await postCdrs(t, token, leg(id))).status, 200);
    await idle();
    // The health check runs the intake's own statement on the new connection: it would have said so.
    const health = await request(t.app).get('/healthz');
    assert.deepEqual([health.status, health.body], [200, { status: 'ok', database: 'ok', intake: 'ok' }]);
    const res = await postCdrs(t, token, leg('IDLE-3'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.records[0].legs[0].status, 'rated');
    await idle();
    assert.equal((await postCdrs(t, token, leg('IDLE-4'))).status, 200);
    const n = await t.db('call_legs').whereIn('leg_key', ['IDLE-1', 'IDLE-2', 'IDLE-3', 'IDLE-4']).count('* as n').first();
    assert.equal(Number(n?.n), 4);
  });

  test('/healthz fails while the intake cannot store a post (the database still answers), and recovers with it', async () => {
    // A column the intake's write statement names is gone: the database answers, the intake cannot store.
    await t.db.raw('ALTER TABLE cdrs RENAME COLUMN body_sha256 TO body_sha256_away');
    try {
      const down = await request(t.app).get('/healthz');
      assert.equal(down.status, 503);
      assert.deepEqual(down.body, { status: 'error', database: 'ok', intake: 'failing' });
      assert.equal((await postCdrs(t, token, leg('IDLE-5'))).status, 503);
    } finally {
      await t.db.raw('ALTER TABLE cdrs RENAME COLUMN body_sha256_away TO body_sha256');
    }
    const up = await request(t.app).get('/healthz');
    assert.deepEqual([up.status, up.body], [200, { status: 'ok', database: 'ok', intake: 'ok' }]);
    assert.equal((await postCdrs(t, token, leg('IDLE-5'))).status, 200);
  });

  test('a new connection starts a clean session: no setting, temporary table or advisory lock of the one before it', async () => {
    await t.db.raw(`SET statement_timeout = '1234s'`);
    await t.db.raw('CREATE TEMP TABLE left_behind (x int)');
    await t.db.raw('SELECT pg_advisory_lock(4242)');
    await idle();
    const timeout = (await t.db.raw('SHOW statement_timeout')) as { rows: Array<{ statement_timeout: string }> };
    assert.notEqual(timeout.rows[0]?.statement_timeout, '1234s');
    const temp = (await t.db.raw(`SELECT to_regclass('pg_temp.left_behind') AS t`)) as { rows: Array<{ t: string | null }> };
    assert.equal(temp.rows[0]?.t, null);
    const locks = (await t.db.raw(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242`)) as { rows: Array<{ n: number }> };
    assert.equal(locks.rows[0]?.n, 0);
  });
});
