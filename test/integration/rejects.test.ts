import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MAX_KEPT_BYTES, PLATFORM_DAILY_BYTES, pruneRejects } from '../../src/modules/intake/rejects.repository';
import { createTestApp, type TestApp } from '../support/app';
import { makeUser } from '../support/factories';
import { Client } from '../support/http';
import { makePlatform, postCdrs } from '../support/intake';

/** Rejects that cannot swamp the database (an attack made 953,283 of them, 223 MB, never pruned). */
describe('rejects: one per refused post, capped, pruned after the operator’s retention', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  const count = async (platformId: number) => Number((await t.db('cdr_rejects').where({ platform_id: platformId }).count('* as n').first())?.n);

  test('a post of 10,000 bad records is one reject, with each record’s error inside it (at most 1,000 listed)', async () => {
    const p = await makePlatform(t.db);
    const res = await postCdrs(t, p.token, JSON.stringify(Array.from({ length: 10_000 }, () => ({}))));
    assert.equal(res.status, 422);
    assert.equal(res.body.rejected, 10_000);
    assert.equal(new Set(res.body.records.map((r: { reject_id: number }) => r.reject_id)).size, 1);
    assert.equal(await count(p.id), 1);
    const row = await t.db('cdr_rejects').where({ platform_id: p.id }).first();
    assert.match(row.error, /^10000 of 10000 records refused: record 0: /);
    assert.equal(row.errors.length, 1000);
    assert.deepEqual(Object.keys(row.errors[0]).sort(), ['error', 'index']);
  });

  test('a post with good and bad records: the good ones stored, the bad ones one reject; the page lists each record’s error', async () => {
    const p = await makePlatform(t.db);
    const good = { leg_id: 'G-1', calling: '+12125550100', called: '+442079460000', start: '2026-11-25T12:00:00Z' };
    const res = await postCdrs(t, p.token, [good, { leg_id: 'B-1' }, { leg_id: 'B-2', called: 'x' }]);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.records.map((r: { status: string }) => r.status), ['accepted', 'rejected', 'rejected']);
    assert.equal(await count(p.id), 1);
    const id = res.body.records[1].reject_id;
    assert.equal(res.body.records[2].reject_id, id);
    const admin = await Client.login(t.app, (await makeUser(t.db, 'wholesale_admin')).email);
    const page = await admin.get(`/wholesale/rejects/${id}`);
    assert.match(page.text, /Refused records \(2\)/);
    assert.match(page.text, /#1<\/td><td>record 1: /);
    assert.match(page.text, /#2<\/td><td>record 2: /);
  });

  test('a refused body larger than the cap is kept up to it, with its size', async () => {
    const p = await makePlatform(t.db);
    const big = `[${'x'.repeat(MAX_KEPT_BYTES + 5000)}`;
    const res = await postCdrs(t, p.token, big);
    assert.equal(res.status, 400);
    const row = await t.db('cdr_rejects').where({ id: res.body.reject_id }).first();
    assert.equal(Buffer.byteLength(row.body), MAX_KEPT_BYTES);
    assert.equal(Number(row.original_bytes), big.length);
  });

  test('past its daily allowance, a platform’s rejects keep only their start; other platforms are not affected', async () => {
    const p = await makePlatform(t.db);
    const other = await makePlatform(t.db);
    await t.db('reject_quota').insert({ platform_id: p.id, day: t.db.raw(`(now() at time zone 'UTC')::date`), bytes: PLATFORM_DAILY_BYTES });
    const body = `[${'y'.repeat(20_000)}`;
    const over = await postCdrs(t, p.token, body);
    assert.equal(over.status, 400);
    const row = await t.db('cdr_rejects').where({ id: over.body.reject_id }).first();
    assert.equal(Buffer.byteLength(row.body), 4096);
    assert.equal(Number(row.original_bytes), body.length);
    const fine = await postCdrs(t, other.token, body);
    assert.equal((await t.db('cdr_rejects').where({ id: fine.body.reject_id }).first()).body, body);
  });

  test('the wholesale admin sets how long rejects are kept; older ones are pruned; support sees the setting and cannot change it', async () => {
    const p = await makePlatform(t.db);
    const old = (await t.db('cdr_rejects').insert({ platform_id: p.id, body: 'old', error: 'e', received_at: new Date(Date.now() - 10 * 86_400_000).toISOString() }).returning('id'))[0].id;
    const recent = (await t.db('cdr_rejects').insert({ platform_id: p.id, body: 'recent', error: 'e', received_at: new Date(Date.now() - 2 * 86_400_000).toISOString() }).returning('id'))[0].id;
    const admin = await Client.login(t.app, (await makeUser(t.db, 'wholesale_admin')).email);
    const list = await admin.get('/wholesale/rejects');
    assert.match(list.text, /Rejects are kept for <input type="number" name="days" min="1" max="3650" value="30"/);
    assert.equal((await admin.submit('/wholesale/rejects/retention', { days: '0' }, '/wholesale/rejects')).status, 303);
    assert.equal((await admin.submit('/wholesale/rejects/retention', { days: '7' }, '/wholesale/rejects')).status, 303);
    assert.ok(await t.db('audit_log').where({ entity_type: 'setting', action: 'update' }).first());
    await pruneRejects(t.db);
    assert.equal(await t.db('cdr_rejects').where({ id: old }).first(), undefined);
    assert.ok(await t.db('cdr_rejects').where({ id: recent }).first());

    const support = await Client.login(t.app, (await makeUser(t.db, 'wholesale_support')).email);
    const seen = await support.get('/wholesale/rejects');
    assert.match(seen.text, /Rejects are kept for 7 days/);
    assert.equal((await support.submit('/wholesale/rejects/retention', { days: '1' })).status, 403);
  });
});
