/**
 * The JSON API's subscriber operations (issue 14): list, create, read, patch, activate and
 * deactivate, numbers, and bulk; every answer held to the served OpenAPI document; idempotent
 * retries, If-Match, tenancy of reseller keys, and the audit naming the key.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { SYSTEM_ACTOR } from '../../src/domain/tenancy/actor';
import { OPERATOR } from '../../src/domain/tenancy/owner';
import { createKey } from '../../src/modules/api-keys/api-keys.service';
import { createTestApp, type TestApp } from '../support/app';
import { makeNumberRange, makeTenants } from '../support/factories';
import { OpenApiChecker } from '../support/openapi';

describe('the JSON API: subscribers and their numbers', () => {
  let t: TestApp;
  let fx: Awaited<ReturnType<typeof makeTenants>>;
  let oa: OpenApiChecker;
  const keys: Record<'write' | 'read' | 'resellerA' | 'resellerReadA', string> = {} as never;
  let n = 0;
  // A block of 1,000 numbers in reseller a's ranges, and one in b's.
  let blockA = '';
  let blockB = '';
  const numA = () => `${blockA}${String(++n).padStart(3, '0')}`;

  const call = (key: string) => {
    const auth = (r: request.Test) => r.set('Authorization', `Bearer ${key}`);
    return {
      get: async (template: string, path: string, headers: Record<string, string> = {}) => oa.check('get', template, await auth(request(t.app).get(`/api/v1${path}`)).set(headers)),
      post: async (template: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
        oa.check('post', template, await auth(request(t.app).post(`/api/v1${path}`)).set(headers).send(body as object)),
      patch: async (template: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
        oa.check('patch', template, await auth(request(t.app).patch(`/api/v1${path}`)).set(headers).send(body as object)),
      delete: async (template: string, path: string) => oa.check('delete', template, await auth(request(t.app).delete(`/api/v1${path}`))),
    };
  };
  const newSub = (over: Record<string, unknown> = {}) => ({ account_number: `API-${++n}-${crypto.randomBytes(2).toString('hex')}`, name: `Api Subscriber ${n}`, country: 'US', ...over });

  before(async () => {
    t = await createTestApp({ API_MAX_REQUESTS_PER_SECOND_PER_KEY: '100000' });
    fx = await makeTenants(t.db);
    oa = new OpenApiChecker((await request(t.app).get('/api/v1/openapi.json')).body);
    const make = async (name: string, owner: Parameters<typeof createKey>[2], access: 'read' | 'write') => {
      return (await createKey(t.db, SYSTEM_ACTOR, owner, { name, access })).token;
    };
    const a = { kind: 'reseller' as const, resellerId: fx.a.reseller.id };
    keys.write = await make('Provisioning', OPERATOR, 'write');
    keys.read = await make('Reports', OPERATOR, 'read');
    keys.resellerA = await make('A sync', a, 'write');
    keys.resellerReadA = await make('A read', a, 'read');
    const block = () => `+1646${String(crypto.randomInt(1000, 10_000))}`;
    blockA = block();
    do blockB = block();
    while (blockB === blockA);
    await makeNumberRange(t.db, fx.a.reseller.id, `${blockA}000`, `${blockA}999`);
    await makeNumberRange(t.db, fx.b.reseller.id, `${blockB}000`, `${blockB}999`);
  });
  after(() => t.close());

  test('create with a reseller key: 201 with Location and ETag, numbers in E.164, the plan, audited as the key', async () => {
    const national = numA();
    const body = newSub({ numbers: [national.replace('+1', '')], retail_plan_id: fx.a.plan.id, time_zone: 'America/New_York', email: 'Someone@Example.com', billing_cycle_day: 15 });
    const res = await call(keys.resellerA).post('/subscribers', '/subscribers', body);
    assert.equal(res.status, 201, res.text);
    assert.equal(res.headers.location, `/api/v1/subscribers/${res.body.id}`);
    assert.match(String(res.headers.etag), /^"[A-Za-z0-9_-]{27}"$/);
    assert.equal(res.body.reseller_id, fx.a.reseller.id);
    assert.deepEqual(res.body.numbers, [national]);
    assert.equal(res.body.retail_plan_id, fx.a.plan.id);
    assert.equal(res.body.time_zone, 'America/New_York');
    assert.equal(res.body.email, 'someone@example.com');
    assert.equal(res.body.billing_cycle_day, 15);
    assert.equal(res.body.status, 'active');
    assert.equal(res.body.effective_status, 'active');
    assert.match(res.body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const audit = await t.db('audit_log').where({ entity_type: 'subscriber', entity_id: res.body.id, action: 'create' }).first();
    assert.equal(audit.actor_user_id, null);
    assert.ok(Number(audit.actor_api_key_id) > 0);
    assert.match(audit.actor_email, /^API key “A sync” \(#\d+\)$/);
    assert.equal(audit.actor_role, 'reseller_admin');
    const numberAudit = await t.db('audit_log').where({ entity_type: 'phone_number', action: 'assign' }).whereRaw("after->>'number' = ?", [national]).first();
    assert.equal(String(numberAudit.actor_api_key_id), String(audit.actor_api_key_id));
  });

  test('create: an operator key names the reseller; without it, or with an unknown one, 422 naming reseller_id; a reseller key cannot name another', async () => {
    const res = await call(keys.write).post('/subscribers', '/subscribers', newSub({ reseller_id: fx.b.reseller.id, numbers: [`${blockB}001`] }));
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.reseller_id, fx.b.reseller.id);
    const none = await call(keys.write).post('/subscribers', '/subscribers', newSub());
    assert.equal(none.status, 422);
    assert.deepEqual(none.body.errors.map((e: { pointer: string }) => e.pointer), ['#/reseller_id']);
    assert.equal((await call(keys.write).post('/subscribers', '/subscribers', newSub({ reseller_id: 999999999 }))).status, 422);
    const foreign = await call(keys.resellerA).post('/subscribers', '/subscribers', newSub({ reseller_id: fx.b.reseller.id }));
    assert.equal(foreign.status, 422);
    assert.equal(foreign.body.errors[0].pointer, '#/reseller_id');
    const own = await call(keys.resellerA).post('/subscribers', '/subscribers', newSub({ reseller_id: fx.a.reseller.id }));
    assert.equal(own.status, 201);
  });

  test('create: bad fields are a 422 naming each; a number outside the ranges, a taken account number; nothing is left behind', async () => {
    const bad = await call(keys.resellerA).post('/subscribers', '/subscribers', { ...newSub(), account_number: 'no spaces!', country: 'USA', time_zone: 'Mars/Base', colour: 'red', numbers: '+12125550100' });
    assert.equal(bad.status, 422);
    const pointers = bad.body.errors.map((e: { pointer?: string }) => e.pointer);
    for (const p of ['#/account_number', '#/country', '#/time_zone', '#/numbers']) assert.ok(pointers.includes(p), `${p} in ${pointers}`);
    assert.ok(bad.body.errors.some((e: { detail: string }) => /colour/.test(e.detail)));
    const body = newSub({ numbers: [`${blockB}002`] });
    const outside = await call(keys.resellerA).post('/subscribers', '/subscribers', body);
    assert.equal(outside.status, 422);
    assert.equal(outside.body.errors[0].pointer, '#/numbers');
    assert.equal(await t.db('subscribers').where({ account_number: body.account_number }).first(), undefined);
    const taken = await call(keys.resellerA).post('/subscribers', '/subscribers', newSub({ account_number: fx.a.subscriber.account_number }));
    assert.equal(taken.status, 422);
    assert.equal(taken.body.errors[0].pointer, '#/account_number');
    const held = await call(keys.resellerA).post('/subscribers', '/subscribers', newSub({ numbers: [fx.a.number.number] }));
    assert.equal(held.status, 422);
    assert.match(held.body.errors[0].detail, /already assigned/);
  });

  test('Idempotency-Key: a retried create answers the first answer and makes no second subscriber; another body with the key is refused', async () => {
    const body = newSub({ numbers: [numA()] });
    const key = crypto.randomUUID();
    const first = await call(keys.resellerA).post('/subscribers', '/subscribers', body, { 'Idempotency-Key': key });
    assert.equal(first.status, 201);
    const again = await call(keys.resellerA).post('/subscribers', '/subscribers', body, { 'Idempotency-Key': key });
    assert.equal(again.status, 201);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.deepEqual(again.body, first.body);
    assert.equal((await t.db('subscribers').where({ account_number: body.account_number })).length, 1);
    const other = await call(keys.resellerA).post('/subscribers', '/subscribers', newSub(), { 'Idempotency-Key': key });
    assert.equal(other.status, 422);
    // The same for a deactivation: the retry is the first answer, not a 409.
    const path = `/subscribers/${first.body.id}/deactivate`;
    const k2 = crypto.randomUUID();
    const off = await call(keys.resellerA).post('/subscribers/{subscriberId}/deactivate', path, undefined, { 'Idempotency-Key': k2 });
    assert.equal(off.status, 200);
    const offAgain = await call(keys.resellerA).post('/subscribers/{subscriberId}/deactivate', path, undefined, { 'Idempotency-Key': k2 });
    assert.equal(offAgain.status, 200);
    assert.equal(offAgain.headers['idempotent-replayed'], 'true');
    assert.equal((await call(keys.resellerA).post('/subscribers/{subscriberId}/deactivate', path)).status, 409);
  });

  test('read and PATCH: ETag, 304, If-Match 412 changes nothing; members not sent are unchanged; null clears; bad values name the field', async () => {
    const made = await call(keys.resellerA).post('/subscribers', '/subscribers', newSub({ city: 'Boston', numbers: [numA()] }));
    const path = `/subscribers/${made.body.id}`;
    const got = await call(keys.resellerA).get('/subscribers/{subscriberId}', path);
    assert.equal(got.status, 200);
    const etag = String(got.headers.etag);
    assert.equal(etag, made.headers.etag);
    assert.deepEqual(got.body, made.body);
    assert.equal((await call(keys.resellerA).get('/subscribers/{subscriberId}', path, { 'If-None-Match': etag })).status, 304);
    const changed = await call(keys.resellerA).patch('/subscribers/{subscriberId}', path, { name: 'Renamed', phone: '+1 212 555 0199' }, { 'If-Match': etag });
    assert.equal(changed.status, 200, changed.text);
    assert.equal(changed.body.name, 'Renamed');
    assert.equal(changed.body.city, 'Boston');
    assert.deepEqual(changed.body.numbers, made.body.numbers);
    assert.notEqual(changed.headers.etag, etag);
    const stale = await call(keys.resellerA).patch('/subscribers/{subscriberId}', path, { name: 'Lost update' }, { 'If-Match': etag });
    assert.equal(stale.status, 412);
    assert.equal((await t.db('subscribers').where({ id: made.body.id }).first()).name, 'Renamed');
    const cleared = await call(keys.resellerA).patch('/subscribers/{subscriberId}', path, { city: null }, { 'If-Match': String(changed.headers.etag) });
    assert.equal(cleared.body.city, null);
    const bad = await call(keys.resellerA).patch('/subscribers/{subscriberId}', path, { country: 'Narnia', status: 'inactive' });
    assert.equal(bad.status, 422);
    const pointers = bad.body.errors.map((e: { pointer?: string }) => e.pointer);
    assert.ok(pointers.includes('#/country'));
    assert.equal((await call(keys.resellerA).patch('/subscribers/{subscriberId}', path, { name: '' })).status, 422);
    const dup = await call(keys.resellerA).patch('/subscribers/{subscriberId}', path, { account_number: fx.a.subscriber.account_number });
    assert.equal(dup.status, 422);
    assert.equal(dup.body.errors[0].pointer, '#/account_number');
    const audit = await t.db('audit_log').where({ entity_type: 'subscriber', entity_id: made.body.id, action: 'update' });
    assert.equal(audit.length, 2);
    assert.ok(audit.every((a: { actor_api_key_id: unknown }) => Number(a.actor_api_key_id) > 0));
  });

  test('activate and deactivate: the status, twice a 409; a deactivated reseller shows its active subscribers suspended', async () => {
    const made = await call(keys.resellerA).post('/subscribers', '/subscribers', newSub());
    const path = `/subscribers/${made.body.id}`;
    const off = await call(keys.resellerA).post('/subscribers/{subscriberId}/deactivate', `${path}/deactivate`);
    assert.equal(off.status, 200);
    assert.equal(off.body.status, 'inactive');
    assert.equal(off.body.effective_status, 'inactive');
    assert.equal((await call(keys.resellerA).post('/subscribers/{subscriberId}/deactivate', `${path}/deactivate`)).status, 409);
    const on = await call(keys.write).post('/subscribers/{subscriberId}/activate', `${path}/activate`);
    assert.equal(on.body.status, 'active');
    assert.equal((await t.db('audit_log').where({ entity_type: 'subscriber', entity_id: made.body.id }).whereIn('action', ['activate', 'deactivate'])).length, 2);
    // Suspended through its reseller: the operator deactivates reseller b.
    const sub = await call(keys.write).post('/subscribers', '/subscribers', newSub({ reseller_id: fx.b.reseller.id }));
    await call(keys.write).post('/resellers/{resellerId}/deactivate', `/resellers/${fx.b.reseller.id}/deactivate`);
    const seen = await call(keys.read).get('/subscribers/{subscriberId}', `/subscribers/${sub.body.id}`);
    assert.equal(seen.body.status, 'active');
    assert.equal(seen.body.effective_status, 'suspended');
    await call(keys.write).post('/resellers/{resellerId}/activate', `/resellers/${fx.b.reseller.id}/activate`);
  });

  test('numbers: list, assign (E.164, 201), refuse bad and foreign ones, release (then 409), and the history', async () => {
    const made = await call(keys.resellerA).post('/subscribers', '/subscribers', newSub());
    const base = `/subscribers/${made.body.id}/numbers`;
    const number = numA();
    const added = await call(keys.resellerA).post('/subscribers/{subscriberId}/numbers', base, { number: number.replace('+1', '1 ').replace(/(\d{3})(\d{4})$/, '$1-$2'), label: 'Main' });
    assert.equal(added.status, 201, added.text);
    assert.equal(added.body.number, number);
    assert.equal(added.body.label, 'Main');
    assert.equal(added.body.released_at, null);
    assert.equal(added.headers.location, `/api/v1${base}/${added.body.id}`);
    const list = await call(keys.read).get('/subscribers/{subscriberId}/numbers', base);
    assert.deepEqual(list.body.data.map((x: { number: string }) => x.number), [number]);
    assert.equal((await call(keys.resellerA).post('/subscribers/{subscriberId}/numbers', base, { number: 'not a number' })).status, 422);
    assert.equal((await call(keys.resellerA).post('/subscribers/{subscriberId}/numbers', base, { number: '1001' })).status, 422, 'an extension is not a phone number');
    const outside = await call(keys.resellerA).post('/subscribers/{subscriberId}/numbers', base, { number: `${blockB}003` });
    assert.equal(outside.status, 422);
    assert.equal(outside.body.errors[0].pointer, '#/number');
    assert.equal((await call(keys.resellerA).post('/subscribers/{subscriberId}/numbers', base, {})).status, 422);
    const gone = await call(keys.resellerA).delete('/subscribers/{subscriberId}/numbers/{numberId}', `${base}/${added.body.id}`);
    assert.equal(gone.status, 200);
    assert.ok(gone.body.released_at);
    assert.equal((await call(keys.resellerA).delete('/subscribers/{subscriberId}/numbers/{numberId}', `${base}/${added.body.id}`)).status, 409);
    assert.equal((await call(keys.resellerA).delete('/subscribers/{subscriberId}/numbers/{numberId}', `${base}/${fx.a.number.id}`)).status, 404, 'another subscriber’s number');
    const after = await call(keys.resellerA).get('/subscribers/{subscriberId}', `/subscribers/${made.body.id}`);
    assert.deepEqual(after.body.numbers, []);
    assert.equal((await call(keys.resellerA).get('/subscribers/{subscriberId}/numbers', base)).body.data[0].released_at, gone.body.released_at);
  });

  test('list: cursor pages, every subscriber once; filters; operator keys see every reseller’s or one’s; reseller keys their own', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await call(keys.read).get('/subscribers', `/subscribers?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(res.status, 200);
      seen.push(...res.body.data.map((s: { id: number }) => s.id));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor && pages < 200);
    const all = (await t.db('subscribers').pluck('id')).map(Number).sort((a, b) => a - b);
    assert.deepEqual([...seen].sort((a, b) => a - b), all);
    const mine = await call(keys.resellerReadA).get('/subscribers', '/subscribers?limit=500');
    assert.ok(mine.body.data.every((s: { reseller_id: number }) => s.reseller_id === fx.a.reseller.id));
    assert.equal(mine.body.count, Number((await t.db('subscribers').where({ reseller_id: fx.a.reseller.id }).count('* as c'))[0]!.c));
    const theirs = await call(keys.resellerReadA).get('/subscribers', `/subscribers?reseller_id=${fx.b.reseller.id}`);
    assert.equal(theirs.body.count, 0, 'a reseller key naming another reseller sees nothing');
    const b = await call(keys.read).get('/subscribers', `/subscribers?reseller_id=${fx.b.reseller.id}&limit=500`);
    assert.ok(b.body.count >= 1);
    assert.ok(b.body.data.every((s: { reseller_id: number }) => s.reseller_id === fx.b.reseller.id));
    const byNumber = await call(keys.read).get('/subscribers', `/subscribers?q=${encodeURIComponent(fx.a.number.number.slice(-7))}`);
    assert.ok(byNumber.body.data.some((s: { id: number }) => s.id === fx.a.subscriber.id));
    assert.ok((await call(keys.read).get('/subscribers', '/subscribers?status=inactive&limit=500')).body.data.every((s: { status: string }) => s.status === 'inactive'));
    assert.equal((await call(keys.read).get('/subscribers', '/subscribers?limit=0')).status, 422);
    assert.equal((await call(keys.read).get('/subscribers', '/subscribers?status=gone')).status, 422);
  });

  test('tenancy: a reseller’s key gets 404 for another tenant’s subscriber on every route, and changes nothing; a read-only key writes nothing', async () => {
    const ra = call(keys.resellerA);
    const foreign = `/subscribers/${fx.b.subscriber.id}`;
    const before = await t.db('audit_log').max('id as m').first();
    assert.equal((await ra.get('/subscribers/{subscriberId}', foreign)).status, 404);
    assert.equal((await ra.patch('/subscribers/{subscriberId}', foreign, { name: 'x' })).status, 404);
    assert.equal((await ra.post('/subscribers/{subscriberId}/deactivate', `${foreign}/deactivate`)).status, 404);
    assert.equal((await ra.post('/subscribers/{subscriberId}/activate', `${foreign}/activate`)).status, 404);
    assert.equal((await ra.get('/subscribers/{subscriberId}/numbers', `${foreign}/numbers`)).status, 404);
    assert.equal((await ra.post('/subscribers/{subscriberId}/numbers', `${foreign}/numbers`, { number: `${blockB}004` })).status, 404);
    assert.equal((await ra.delete('/subscribers/{subscriberId}/numbers/{numberId}', `${foreign}/numbers/${fx.b.number.id}`)).status, 404);
    // Whatever is sent with it: the id is refused before the body is read.
    assert.equal((await ra.patch('/subscribers/{subscriberId}', foreign, { country: 'Narnia' })).status, 404);
    assert.equal((await ra.post('/subscribers/{subscriberId}/numbers', `${foreign}/numbers`, {})).status, 404);
    assert.equal((await ra.get('/subscribers/{subscriberId}', '/subscribers/abc')).status, 404);
    assert.equal((await ra.get('/subscribers/{subscriberId}', '/subscribers/999999999')).status, 404);
    const now = await t.db('audit_log').max('id as m').first();
    assert.equal(String(now?.m), String(before?.m));
    assert.equal((await t.db('subscribers').where({ id: fx.b.subscriber.id }).first()).status, 'active');
    assert.equal((await call(keys.resellerReadA).post('/subscribers', '/subscribers', newSub())).status, 403);
    assert.equal((await call(keys.read).post('/subscribers/bulk', '/subscribers/bulk', { items: [newSub({ reseller_id: fx.a.reseller.id })] })).status, 403);
  });

  test('bulk: creates and updates in one request, each item’s outcome; a bad item fails alone with its fields; the retry with its key does nothing twice', async () => {
    const existing = await call(keys.resellerA).post('/subscribers', '/subscribers', newSub({ city: 'Albany' }));
    const good1 = newSub({ numbers: [numA()] }) as ReturnType<typeof newSub> & { numbers: string[] };
    const good2 = newSub({ numbers: [numA(), numA()], retail_plan_id: fx.a.plan.id }) as ReturnType<typeof newSub> & { numbers: string[] };
    const items = [
      good1,
      { ...newSub(), country: 'XX1' }, // bad field
      { id: existing.body.id, name: 'Bulk renamed' },
      good2,
      newSub({ numbers: [`${blockB}005`] }), // outside the ranges: fails in the service, rolled back alone
      { id: fx.b.subscriber.id, name: 'Not yours' },
      { ...good1, account_number: good1.account_number }, // the same account number as item 0: a duplicate
      { id: existing.body.id, colour: 'red' },
    ];
    const key = crypto.randomUUID();
    const res = await call(keys.resellerA).post('/subscribers/bulk', '/subscribers/bulk', { items }, { 'Idempotency-Key': key });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.items.map((i: { status: string }) => i.status), ['created', 'failed', 'updated', 'created', 'failed', 'failed', 'failed', 'failed']);
    assert.deepEqual([res.body.created, res.body.updated, res.body.failed], [2, 1, 5]);
    assert.deepEqual(res.body.items.map((i: { index: number }) => i.index), [0, 1, 2, 3, 4, 5, 6, 7]);
    const [c0, f1, u2, c3, f4, f5, f6, f7] = res.body.items;
    assert.equal(c0.subscriber.account_number, good1.account_number);
    assert.deepEqual(c0.subscriber.numbers, good1.numbers);
    assert.equal(c3.subscriber.retail_plan_id, fx.a.plan.id);
    assert.deepEqual(c3.subscriber.numbers, [...good2.numbers].sort());
    assert.equal(u2.subscriber.name, 'Bulk renamed');
    assert.equal(u2.subscriber.city, 'Albany');
    assert.equal(f1.problem.status, 422);
    assert.deepEqual(f1.problem.errors.map((e: { pointer: string }) => e.pointer), ['#/items/1/country']);
    assert.equal(f4.problem.errors[0].pointer, '#/items/4/numbers');
    assert.equal(f5.problem.status, 404);
    assert.equal(f6.problem.errors[0].pointer, '#/items/6/account_number');
    assert.equal(f7.problem.status, 422);
    assert.equal(await t.db('subscribers').where({ account_number: items[4] && (items[4] as { account_number: string }).account_number }).first(), undefined, 'the failed create left nothing');
    assert.equal((await t.db('subscribers').where({ id: fx.b.subscriber.id }).first()).name, fx.b.subscriber.name);
    // Audited as the key, one row per change.
    const audit = await t.db('audit_log').whereIn('entity_id', [c0.subscriber.id, c3.subscriber.id, u2.subscriber.id]).where({ entity_type: 'subscriber' }).whereIn('action', ['create', 'update']);
    assert.equal(audit.length, 4, 'two creates and an update, beside the existing one’s create');
    assert.ok(audit.every((a: { actor_email: string }) => /^API key “A sync”/.test(a.actor_email)));
    // The retry: the first answer, nothing done again.
    const count = async () => Number((await t.db('subscribers').count('* as c'))[0]!.c);
    const before = await count();
    const again = await call(keys.resellerA).post('/subscribers/bulk', '/subscribers/bulk', { items }, { 'Idempotency-Key': key });
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.deepEqual(again.body, res.body);
    assert.equal(await count(), before);
    // Without the key the same items are new requests: the creates now fail as duplicates.
    const twice = await call(keys.resellerA).post('/subscribers/bulk', '/subscribers/bulk', { items: [good1] });
    assert.equal(twice.body.items[0].status, 'failed');
    // The request itself: a list of 1 to 1,000 items.
    assert.equal((await call(keys.resellerA).post('/subscribers/bulk', '/subscribers/bulk', { items: [] })).status, 422);
    assert.equal((await call(keys.resellerA).post('/subscribers/bulk', '/subscribers/bulk', { items: 'x' })).status, 422);
    const notObject = await call(keys.resellerA).post('/subscribers/bulk', '/subscribers/bulk', { items: [newSub(), 'not an object'] });
    assert.equal(notObject.status, 422, 'an item that is not an object is the request’s fault');
    assert.equal(notObject.body.errors[0].pointer, '#/items/1');
    assert.equal((await call(keys.resellerA).post('/subscribers/bulk', '/subscribers/bulk', { items: Array.from({ length: 1001 }, () => ({})) })).status, 422);
  });

  test('bulk: party_version moves on with the creates (its bump put off to the end of the batch), and the deferral ends with it', async () => {
    const version = async () => BigInt((await t.db('party_version').first('version'))!.version);
    const v0 = await version();
    const made = await call(keys.resellerA).post('/subscribers/bulk', '/subscribers/bulk', { items: [newSub({ numbers: [numA()] }), newSub({ numbers: [numA()] })] });
    assert.equal(made.status, 200);
    assert.deepEqual(made.body.items.map((o: { status: string }) => o.status), ['created', 'created']);
    const v1 = await version();
    assert.ok(v1 > v0, `party_version moved on (${v0} -> ${v1})`);
    // In one transaction: after createMany the per-statement bump works again for the transaction's later writes.
    await t.db.transaction(async (tx) => {
      const { createMany } = await import('../../src/modules/subscribers/subscribers.service');
      const { newSubscriberApiJson } = await import('../../src/modules/subscribers/subscribers.schemas');
      const { reseller_id: _r, ...input } = newSubscriberApiJson.parse(newSub({ numbers: [numA()] }));
      const out = await createMany(tx as never, SYSTEM_ACTOR, fx.a.reseller.id, [input]);
      assert.ok(!(out[0] instanceof Error), 'created');
      const v2 = BigInt((await tx('party_version').first('version'))!.version);
      assert.ok(v2 > v1, 'createMany bumped once itself');
      await tx('subscribers').where({ id: fx.a.subscriber.id }).update({ region: 'NY-later' });
      assert.ok(BigInt((await tx('party_version').first('version'))!.version) > v2, 'a later write in the same transaction bumps as before');
      throw new Error('rollback');
    }).catch((err: Error) => assert.equal(err.message, 'rollback'));
  });

  test('bulk: every check of a single create, item by item (plan, numbers held before or earlier in the request, ranges); logins and extensions too', async () => {
    const shared = numA();
    const items0Login = `LOGIN-${crypto.randomBytes(3).toString('hex')}`;
    const items = [
      newSub({ numbers: [shared] }),
      newSub({ numbers: [shared] }), // held by item 0 now
      newSub({ numbers: [fx.a.number.number] }), // held by the fixture's subscriber
      newSub({ retail_plan_id: fx.b.plan.id }), // another reseller's plan
      newSub({ account_number: items0Login, numbers: [numA()], login_email: `bulk-${n}@example.com`, login_password: 'correct horse battery' }), // with a login: made one by one
      newSub({ account_number: fx.a.subscriber.account_number.toLowerCase() }), // taken, whatever its case
      newSub({ numbers: ['12'] }), // an extension without a SIP domain
      newSub({ account_number: items0Login }), // the login item's account number: the earlier item wins
    ];
    const res = await call(keys.resellerA).post('/subscribers/bulk', '/subscribers/bulk', { items });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.items.map((i: { status: string }) => i.status), ['created', 'failed', 'failed', 'failed', 'created', 'failed', 'failed', 'failed']);
    const detail = (k: number) => res.body.items[k].problem.errors[0];
    assert.deepEqual(detail(1), { detail: `${shared} is already assigned to ${items[0]!.account_number} (${items[0]!.name})`, pointer: '#/items/1/numbers' });
    assert.match(detail(2).detail, new RegExp(`already assigned to ${fx.a.subscriber.account_number}`));
    assert.equal(detail(3).pointer, '#/items/3/retail_plan_id');
    assert.equal(detail(5).pointer, '#/items/5/account_number');
    assert.equal(detail(6).pointer, '#/items/6/numbers');
    assert.equal(detail(7).pointer, '#/items/7/account_number');
    assert.ok(await t.db('users').where({ subscriber_id: res.body.items[4].subscriber.id }).first(), 'its portal login');
    // The same answers as one create at a time would give.
    const single = await call(keys.resellerA).post('/subscribers', '/subscribers', newSub({ numbers: [shared] }));
    assert.equal(single.body.errors[0].detail, detail(1).detail);
    const outbox = await t.db('outbox_events').where({ entity_type: 'subscriber', entity_id: res.body.items[0].subscriber.id });
    assert.deepEqual(outbox.map((e: { type: string }) => e.type), ['subscriber.created']);
    const numberEvent = await t.db('outbox_events').where({ entity_type: 'phone_number', type: 'number.assigned' }).whereRaw("payload->'after'->>'number' = ?", [shared]);
    assert.equal(numberEvent.length, 1);
  });

  test('bulk with an operator key: each create names its reseller', async () => {
    const res = await call(keys.write).post('/subscribers/bulk', '/subscribers/bulk', { items: [newSub({ reseller_id: fx.a.reseller.id }), newSub({ reseller_id: fx.b.reseller.id }), newSub()] });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.items.map((i: { status: string }) => i.status), ['created', 'created', 'failed']);
    assert.equal(res.body.items[1].subscriber.reseller_id, fx.b.reseller.id);
    assert.equal(res.body.items[2].problem.errors[0].pointer, '#/items/2/reseller_id');
  });
});
