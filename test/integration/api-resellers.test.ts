/**
 * The JSON API's conventions (issue 14), shown on its reseller operations: every answer held to
 * the served OpenAPI document, validation errors naming each field, Idempotency-Key, ETag and
 * If-Match, cursor paging, tenancy of reseller keys, and the audit naming the key.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { createTestApp, type TestApp } from '../support/app';
import { makeTenants } from '../support/factories';
import { Client } from '../support/http';
import { OpenApiChecker } from '../support/openapi';

const keyOf = (html: string) => /data-testid="key"[^>]*>([^<]+)</.exec(html)?.[1] as string;

describe('the JSON API: resellers, and the conventions every operation follows', () => {
  let t: TestApp;
  let fx: Awaited<ReturnType<typeof makeTenants>>;
  let oa: OpenApiChecker;
  const keys: Record<'write' | 'read' | 'resellerA' | 'resellerReadA', string> = {} as never;
  let n = 0;

  const call = (key: string) => oa.caller(t.app, key);
  const newReseller = (over: Record<string, unknown> = {}) => {
    const code = `api-${++n}-${crypto.randomBytes(3).toString('hex')}`;
    return { name: `Api Reseller ${n}`, code, currency: 'USD', admin_name: 'First Admin', admin_email: `${code}@example.com`, admin_password: 'correct horse battery', ...over };
  };

  before(async () => {
    t = await createTestApp();
    fx = await makeTenants(t.db);
    oa = new OpenApiChecker((await request(t.app).get('/api/v1/openapi.json')).body);
    const admin = await Client.login(t.app, fx.wholesaleAdmin.email);
    keys.write = keyOf((await admin.submit('/wholesale/api-keys', { name: 'Provisioning', access: 'write' }, '/wholesale/api-keys')).text);
    keys.read = keyOf((await admin.submit('/wholesale/api-keys', { name: 'Reports', access: 'read' }, '/wholesale/api-keys')).text);
    const ra = await Client.login(t.app, fx.a.admin.email);
    keys.resellerA = keyOf((await ra.submit('/reseller/api-keys', { name: 'A sync', access: 'write' }, '/reseller/api-keys')).text);
    keys.resellerReadA = keyOf((await ra.submit('/reseller/api-keys', { name: 'A read', access: 'read' }, '/reseller/api-keys')).text);
  });
  after(() => t.close());

  test('the OpenAPI 3.1 document and the reference page are served without a key; the page runs under the strict CSP', async () => {
    const doc = await request(t.app).get('/api/v1/openapi.json');
    assert.equal(doc.status, 200);
    assert.equal(doc.body.openapi, '3.1.0');
    for (const [path, method] of [['/resellers', 'get'], ['/resellers', 'post'], ['/resellers/{resellerId}', 'get'], ['/resellers/{resellerId}', 'patch'], ['/resellers/{resellerId}/deactivate', 'post'], ['/cdrs', 'post']]) {
      assert.ok(doc.body.paths[path as string]?.[method as string], `${method} ${path} documented`);
    }
    assert.ok(doc.body.components.schemas.Reseller && doc.body.components.schemas.Problem);
    const page = await request(t.app).get('/api/v1/docs');
    assert.equal(page.status, 200);
    assert.match(page.text, /src="\/api\/v1\/docs\/swagger-ui-bundle\.js"/);
    assert.doesNotMatch(page.text, /<script>[^<]/, 'no inline script');
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
    for (const asset of ['/api/v1/docs/swagger-ui-bundle.js', '/api/v1/docs/swagger-ui.css', '/public/js/api-docs.js']) assert.equal((await request(t.app).get(asset)).status, 200, asset);
    // Anything else still needs a key.
    assert.equal((await request(t.app).get('/api/v1/resellers')).status, 401);
  });

  test('create: 201 with Location and ETag, audited as the key, and the first admin can log in', async () => {
    const body = newReseller({ billing_service: true, time_zone: 'Europe/Berlin', wholesale_plan_id: fx.operatorPlan.id });
    const res = await call(keys.write).post('/resellers', '/resellers', body);
    assert.equal(res.status, 201);
    assert.equal(res.headers.location, `/api/v1/resellers/${res.body.id}`);
    assert.match(String(res.headers.etag), /^"[A-Za-z0-9_-]{27}"$/);
    assert.equal(res.body.code, body.code);
    assert.equal(res.body.time_zone, 'Europe/Berlin');
    assert.equal(res.body.wholesale_plan_id, fx.operatorPlan.id);
    assert.equal(res.body.billing_service, true);
    assert.match(res.body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const audit = await t.db('audit_log').where({ entity_type: 'reseller', entity_id: res.body.id, action: 'create' }).first();
    assert.equal(audit.actor_user_id, null);
    assert.ok(Number(audit.actor_api_key_id) > 0);
    assert.equal(audit.actor_email, 'API key “Provisioning” (#' + audit.actor_api_key_id + ')');
    assert.equal(audit.actor_role, 'wholesale_admin');
    await Client.login(t.app, body.admin_email, body.admin_password);
  });

  test('bad input: 422 problem details naming each field with a JSON pointer; unknown members refused; a non-JSON body is 415', async () => {
    const res = await call(keys.write).post('/resellers', '/resellers', { ...newReseller(), code: 'Not A Code!', currency: 'dollars', admin_email: 'nope', colour: 'red' });
    assert.equal(res.status, 422);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    const pointers = res.body.errors.map((e: { pointer: string }) => e.pointer).sort();
    for (const p of ['#/code', '#/currency', '#/admin_email']) assert.ok(pointers.includes(p), `${p} in ${pointers}`);
    assert.ok(res.body.errors.some((e: { detail: string }) => /colour/.test(e.detail)), 'the unknown member is named');
    const form = await call(keys.write).post('/resellers', '/resellers', 'name=x&code=y', { 'Content-Type': 'application/x-www-form-urlencoded' });
    assert.equal(form.status, 415);
    const empty = await call(keys.write).post('/resellers', '/resellers');
    assert.equal(empty.status, 422);
  });

  test('Idempotency-Key: a retried create answers the first answer again and makes no second reseller; the same key with another body is refused', async () => {
    const body = newReseller();
    const key = crypto.randomUUID();
    const first = await call(keys.write).post('/resellers', '/resellers', body, { 'Idempotency-Key': key });
    assert.equal(first.status, 201);
    assert.equal(first.headers['idempotent-replayed'], undefined);
    const again = await call(keys.write).post('/resellers', '/resellers', body, { 'Idempotency-Key': key });
    assert.equal(again.status, 201);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.deepEqual(again.body, first.body);
    assert.equal(again.headers.location, first.headers.location);
    assert.equal((await t.db('resellers').where({ code: body.code })).length, 1);
    const other = await call(keys.write).post('/resellers', '/resellers', newReseller(), { 'Idempotency-Key': key });
    assert.equal(other.status, 422);
    assert.match(other.body.detail, /another request/);
    // Concurrent retries of one create: one reseller, both answers the same.
    const body2 = newReseller();
    const key2 = crypto.randomUUID();
    const both = await Promise.all([0, 1, 2].map(() => call(keys.write).post('/resellers', '/resellers', body2, { 'Idempotency-Key': key2 })));
    assert.deepEqual(both.map((r) => r.status), [201, 201, 201]);
    assert.equal(new Set(both.map((r) => r.body.id)).size, 1);
    assert.equal((await t.db('resellers').where({ code: body2.code })).length, 1);
    // A failed request keeps nothing: after fixing it, the same key makes the object.
    const key3 = crypto.randomUUID();
    const bad = await call(keys.write).post('/resellers', '/resellers', { ...newReseller(), currency: 'x' }, { 'Idempotency-Key': key3 });
    assert.equal(bad.status, 422);
    // A key is the caller's own: another API key's use of the same text is a new request.
    const otherKey = await call(keys.resellerA).post('/resellers', '/resellers', body, { 'Idempotency-Key': key });
    assert.equal(otherKey.status, 403);
  });

  test('ETag and If-Match: 304 on If-None-Match; a PATCH with a stale ETag is 412 and changes nothing; with the current one it applies', async () => {
    const made = await call(keys.write).post('/resellers', '/resellers', newReseller());
    const path = `/resellers/${made.body.id}`;
    const got = await call(keys.write).get('/resellers/{resellerId}', path);
    const etag = String(got.headers.etag);
    assert.equal(etag, made.headers.etag);
    assert.equal((await call(keys.write).get('/resellers/{resellerId}', path, { 'If-None-Match': etag })).status, 304);
    const changed = await call(keys.write).patch('/resellers/{resellerId}', path, { notes: 'first change', contact_phone: '+1 212 555 0100' }, { 'If-Match': etag });
    assert.equal(changed.status, 200);
    assert.equal(changed.body.notes, 'first change');
    assert.equal(changed.body.name, made.body.name, 'members not sent are unchanged');
    assert.notEqual(changed.headers.etag, etag);
    const stale = await call(keys.write).patch('/resellers/{resellerId}', path, { notes: 'lost update' }, { 'If-Match': etag });
    assert.equal(stale.status, 412);
    assert.equal((await t.db('resellers').where({ id: made.body.id }).first()).notes, 'first change');
    // null clears an optional member; a bad value names the field.
    const cleared = await call(keys.write).patch('/resellers/{resellerId}', path, { notes: null }, { 'If-Match': String(changed.headers.etag) });
    assert.equal(cleared.body.notes, null);
    const bad = await call(keys.write).patch('/resellers/{resellerId}', path, { currency: 'euro' });
    assert.equal(bad.status, 422);
    assert.deepEqual(bad.body.errors.map((e: { pointer: string }) => e.pointer), ['#/currency']);
    const audit = await t.db('audit_log').where({ entity_type: 'reseller', entity_id: made.body.id, action: 'update' });
    assert.equal(audit.length, 2);
  });

  test('lists page by cursor: every reseller once, with the count on each page', async () => {
    const all: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await call(keys.read).get('/resellers', `/resellers?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(res.status, 200);
      assert.ok(res.body.data.length <= 2);
      all.push(...res.body.data.map((r: { id: number }) => r.id));
      cursor = res.body.next_cursor;
      pages++;
      assert.equal(res.body.count, Number((await t.db('resellers').count('* as c'))[0]!.c));
    } while (cursor && pages < 100);
    const ids = (await t.db('resellers').pluck('id')).map(Number).sort((a, b) => a - b);
    assert.deepEqual([...all].sort((a, b) => a - b), ids);
    assert.equal(new Set(all).size, all.length);
    assert.equal((await call(keys.read).get('/resellers', '/resellers?limit=0')).status, 422);
    const inactive = await call(keys.read).get('/resellers', '/resellers?status=inactive');
    assert.ok(inactive.body.data.every((r: { status: string }) => r.status === 'inactive'));
  });

  test('deactivate and activate: counts of what the change reaches; twice is a 409; the reseller’s own keys stop, then work again', async () => {
    const path = `/resellers/${fx.a.reseller.id}`;
    const off = await call(keys.write).post('/resellers/{resellerId}/deactivate', `${path}/deactivate`);
    assert.equal(off.status, 200);
    assert.equal(off.body.reseller.status, 'inactive');
    assert.ok(off.body.subscribers_affected >= 1);
    assert.equal((await call(keys.write).post('/resellers/{resellerId}/deactivate', `${path}/deactivate`)).status, 409);
    assert.equal((await request(t.app).get(`/api/v1${path}`).set('Authorization', `Bearer ${keys.resellerA}`)).status, 401);
    const on = await call(keys.write).post('/resellers/{resellerId}/activate', `${path}/activate`);
    assert.equal(on.body.reseller.status, 'active');
    assert.equal((await call(keys.resellerA).get('/resellers/{resellerId}', path)).status, 200);
  });

  test('tenancy: a reseller’s key reads its own reseller only (another’s id is 404), and none of the operator’s operations (403); a read-only key writes nothing', async () => {
    const ra = call(keys.resellerA);
    assert.equal((await ra.get('/resellers/{resellerId}', `/resellers/${fx.a.reseller.id}`)).body.id, fx.a.reseller.id);
    assert.equal((await ra.get('/resellers/{resellerId}', `/resellers/${fx.b.reseller.id}`)).status, 404);
    assert.equal((await ra.get('/resellers/{resellerId}', '/resellers/999999999')).status, 404);
    assert.equal((await ra.get('/resellers/{resellerId}', '/resellers/abc')).status, 404);
    assert.equal((await ra.get('/resellers', '/resellers')).status, 403);
    assert.equal((await ra.patch('/resellers/{resellerId}', `/resellers/${fx.a.reseller.id}`, { notes: 'mine' })).status, 403);
    assert.equal((await ra.post('/resellers/{resellerId}/deactivate', `/resellers/${fx.a.reseller.id}/deactivate`)).status, 403);
    const readOnly = call(keys.read);
    assert.equal((await readOnly.post('/resellers', '/resellers', newReseller())).status, 403);
    assert.equal((await readOnly.patch('/resellers/{resellerId}', `/resellers/${fx.b.reseller.id}`, { notes: 'x' })).status, 403);
    assert.equal((await call(keys.resellerReadA).get('/resellers/{resellerId}', `/resellers/${fx.a.reseller.id}`)).status, 200);
  });
});
