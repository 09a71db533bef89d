/**
 * The API by HTTPS form post (issue 14): every operation at POST /api/v1/form/<operationId>, its
 * fields flat and typed from the operation's own schemas, the key as a header or a field, the
 * answer a line of text with a stable result code (or JSON when asked). Each reseller operation
 * through the form; a bad field; a missing, wrong or misplaced key; a read-only key writing; the
 * idempotency key as a field. Every answer is held to the served OpenAPI document.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import express from 'express';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { z } from 'zod';
import { apiOperations } from '../../src/api';
import { SYSTEM_ACTOR } from '../../src/domain/tenancy/actor';
import { OPERATOR } from '../../src/domain/tenancy/owner';
import { createKey } from '../../src/modules/api-keys/api-keys.service';
import { apiRouter } from '../../src/web/api';
import { ANSWER_FIELDS, FORM_FIELDS } from '../../src/web/api-form';
import { apiOperation } from '../../src/web/api-operations';
import type { Principal } from '../../src/web/principal';
import { createTestApp, type TestApp } from '../support/app';
import { makeTenants } from '../support/factories';
import { OpenApiChecker } from '../support/openapi';

/** A text answer's fields: `result`, `message`, the object's members (a repeated name gives a list). */
function fieldsOf(text: string): Record<string, string> & { all: (name: string) => string[] } {
  assert.match(text, /^result=\d+&message=/, `a form answer: ${text.slice(0, 200)}`);
  const p = new URLSearchParams(text.trim());
  return Object.assign(Object.fromEntries(p), { all: (name: string) => p.getAll(name) });
}

describe('the API by form post: every operation at /api/v1/form/<operationId>', () => {
  let t: TestApp;
  let fx: Awaited<ReturnType<typeof makeTenants>>;
  let oa: OpenApiChecker;
  const keys: Record<'write' | 'read' | 'resellerA' | 'resellerReadA', string> = {} as never;
  let n = 0;

  /** Posts fields (a string is sent as is) to an operation's form URL, checking the answer against the document. */
  const form = async (operationId: string, fields: Record<string, string | string[]> | string, headers: Record<string, string> = {}) => {
    const body = typeof fields === 'string' ? fields : new URLSearchParams(Object.entries(fields).flatMap(([k, v]) => [v].flat().map((x): [string, string] => [k, x]))).toString();
    const res = await request(t.app).post(`/api/v1/form/${operationId}`).set(headers).type('form').send(body);
    return oa.check('post', `/form/${operationId}`, res);
  };
  const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
  const newReseller = (over: Record<string, string> = {}) => {
    const code = `form-${++n}-${crypto.randomBytes(3).toString('hex')}`;
    return { name: `Form Reseller ${n}`, code, currency: 'USD', admin_name: 'First Admin', admin_email: `${code}@example.com`, admin_password: 'correct horse battery', ...over };
  };

  before(async () => {
    t = await createTestApp();
    fx = await makeTenants(t.db);
    oa = new OpenApiChecker((await request(t.app).get('/api/v1/openapi.json')).body);
    const a = { kind: 'reseller' as const, resellerId: fx.a.reseller.id };
    const make = async (owner: Parameters<typeof createKey>[2], access: 'read' | 'write', name: string) => (await createKey(t.db, SYSTEM_ACTOR, owner, { name, access })).token;
    keys.write = await make(OPERATOR, 'write', 'Legacy provisioning');
    keys.read = await make(OPERATOR, 'read', 'Legacy reports');
    keys.resellerA = await make(a, 'write', 'A legacy');
    keys.resellerReadA = await make(a, 'read', 'A legacy read');
  });
  after(() => t.close());

  test('every operation has its form URL in the OpenAPI document, with form-encoded fields; no answer uses the form’s own names', () => {
    for (const op of apiOperations()) {
      const doc = oa.doc.paths[`/form/${op.operationId}`]?.post;
      assert.ok(doc, `/form/${op.operationId} is documented`);
      const schema = doc?.requestBody.content['application/x-www-form-urlencoded'].schema;
      assert.ok(schema.properties.api_key, `${op.operationId}: api_key field`);
      for (const [, param] of op.path.matchAll(/:(\w+)/g)) {
        const snake = (param as string).replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
        assert.ok(schema.properties[snake] || schema.properties[param as string], `${op.operationId}: a field for :${param}`);
      }
      // The answer's object is flattened beside result and message: its members must not take their names.
      const out = op.success.schema ? (z.toJSONSchema(op.success.schema, { io: 'output', unrepresentable: 'any' }) as { properties?: Record<string, unknown> }) : {};
      const clash = Object.keys(out.properties ?? {}).filter((m) => (ANSWER_FIELDS as readonly string[]).includes(m) || (FORM_FIELDS as readonly string[]).includes(m));
      assert.deepEqual(clash, [], `${op.operationId}: answer members named as the form's own fields`);
    }
    const create = oa.doc.paths['/form/createReseller']!.post.requestBody.content['application/x-www-form-urlencoded'].schema;
    assert.equal(create.properties.billing_service.type, 'boolean');
    assert.ok(create.required.includes('admin_email'));
    assert.ok(oa.doc.paths['/form/updateReseller']!.post.requestBody.content['application/x-www-form-urlencoded'].schema.required.includes('reseller_id'));
  });

  test('create: text fields typed by the schema (a boolean, an integer), answered 201 with result=0 and the reseller’s fields; audited as the key', async () => {
    const body = newReseller({ billing_service: 'yes', billing_cycle_day: '15', wholesale_plan_id: String(fx.operatorPlan.id), time_zone: 'Europe/Berlin', notes: '' });
    const res = await form('createReseller', body, bearer(keys.write));
    assert.equal(res.status, 201);
    assert.match(String(res.headers['content-type']), /^text\/plain; charset=utf-8/);
    const f = fieldsOf(res.text);
    assert.equal(f.result, '0');
    assert.equal(f.message, 'Created');
    assert.equal(f.code, body.code);
    assert.equal(f.billing_service, 'true');
    assert.equal(f.billing_cycle_day, '15');
    assert.equal(f.wholesale_plan_id, String(fx.operatorPlan.id));
    assert.equal(f.notes, '', 'null is a blank field');
    assert.equal(f.etag, res.headers.etag);
    assert.equal(res.headers.location, `/api/v1/resellers/${f.id}`);
    const row = await t.db('resellers').where({ id: Number(f.id) }).first();
    assert.equal(row.billing_service, true);
    assert.equal(Number(row.billing_cycle_day), 15);
    assert.equal(Number(row.wholesale_plan_id), fx.operatorPlan.id);
    assert.equal(row.notes, null);
    const audit = await t.db('audit_log').where({ entity_type: 'reseller', entity_id: Number(f.id), action: 'create' }).first();
    assert.match(audit.actor_email, /Legacy provisioning/);
    assert.ok(Number(audit.actor_api_key_id) > 0);
    // The same as JSON, with the key as a field (no header at all), PHP-style bracket names read the same.
    const other = newReseller({ billing_service: 'off', format: 'json' });
    const res2 = await form('createReseller', { ...other, api_key: keys.write });
    assert.equal(res2.status, 201);
    assert.match(String(res2.headers['content-type']), /^application\/json/);
    assert.equal(res2.body.result, 0);
    assert.equal(res2.body.data.code, other.code);
    assert.equal(res2.body.data.billing_service, false);
    const res3 = await form('createReseller', { ...newReseller(), api_key: keys.write }, { Accept: 'application/json' });
    assert.equal(res3.body.result, 0);
  });

  test('a bad field: 422 with result=10, each field named (field=, error.<field>=); nothing is made', async () => {
    const before = await t.db('resellers').count('* as c').first();
    const res = await form('createReseller', { ...newReseller({ code: 'Not A Code!', billing_service: 'maybe' }), colour: 'red' }, bearer(keys.write));
    assert.equal(res.status, 422);
    const f = fieldsOf(res.text);
    assert.equal(f.result, '10');
    assert.deepEqual(f.all('field').sort(), ['colour'], 'an unknown field is refused first, by name');
    const res2 = await form('createReseller', newReseller({ code: 'Not A Code!', billing_service: 'maybe', wholesale_plan_id: 'x' }), bearer(keys.write));
    const f2 = fieldsOf(res2.text);
    assert.equal(f2.result, '10');
    assert.deepEqual(f2.all('field').sort(), ['billing_service', 'code', 'wholesale_plan_id']);
    assert.match(f2['error.code'] as string, /lowercase/);
    assert.match(f2['error.billing_service'] as string, /true or false/);
    assert.match(f2.message as string, /^Invalid fields: /);
    const one = fieldsOf((await form('createReseller', newReseller({ currency: 'dollars' }), bearer(keys.write))).text);
    assert.equal(one.field, 'currency');
    assert.match(one.message as string, /^Invalid field currency: /);
    // As JSON: the fields by name.
    const json = await form('createReseller', newReseller({ admin_email: 'nope', format: 'json' }), bearer(keys.write));
    assert.equal(json.status, 422);
    assert.deepEqual(Object.keys(json.body.fields), ['admin_email']);
    assert.equal(json.body.result, 10);
    // A missing path field is a bad field; one that is no id names nothing (not found, as in the JSON API).
    const missing = await form('getReseller', {}, bearer(keys.write));
    assert.equal(missing.status, 422);
    assert.equal(fieldsOf(missing.text).field, 'reseller_id');
    const notAnId = await form('getReseller', { reseller_id: 'abc' }, bearer(keys.write));
    assert.equal(notAnId.status, 404);
    assert.equal(fieldsOf(notAnId.text).result, '30');
    assert.equal(fieldsOf((await form('createReseller', { ...newReseller(), format: 'xml' }, bearer(keys.write))).text).field, 'format');
    assert.deepEqual(await t.db('resellers').count('* as c').first(), before);
  });

  test('the key: missing, wrong, malformed or revoked is 401 with result=20; in the URL it is refused (result=11) and nothing is done', async () => {
    const body = newReseller();
    for (const [label, headers, extra] of [
      ['no key', {}, {}],
      ['a wrong key', {}, { api_key: 'apk_1_notakey' }],
      ['a wrong bearer key', bearer('apk_1_notakey'), {}],
      ['a malformed header', { Authorization: 'Basic abc' }, { api_key: keys.write }],
    ] as Array<[string, Record<string, string>, Record<string, string>]>) {
      const res = await form('createReseller', { ...body, ...extra }, headers);
      assert.equal(res.status, 401, label);
      assert.equal(fieldsOf(res.text).result, '20', label);
      assert.match(String(res.headers['www-authenticate']), /^Bearer realm="api"/, label);
    }
    const inUrl = await request(t.app).post(`/api/v1/form/createReseller?api_key=${keys.write}`).type('form').send(new URLSearchParams(body).toString());
    oa.check('post', '/form/createReseller', inUrl);
    assert.equal(inUrl.status, 400);
    assert.equal(fieldsOf(inUrl.text).result, '11');
    assert.match(fieldsOf(inUrl.text).message as string, /Never put the API key in the URL/);
    assert.equal(await t.db('resellers').where({ code: body.code }).first(), undefined);
    // An address that is no operation, or not by POST: answered as a form post is.
    const nowhere = await request(t.app).post('/api/v1/form/createWidget').type('form').send(`api_key=${keys.write}`);
    assert.equal(nowhere.status, 404);
    assert.equal(fieldsOf(nowhere.text).result, '30');
    const byGet = await request(t.app).get('/api/v1/form/getReseller').set(bearer(keys.write));
    assert.equal(byGet.status, 405);
    assert.equal(byGet.headers.allow, 'POST');
    assert.equal(fieldsOf(byGet.text).result, '11');
    // JSON sent to the form URL: 415, in the form's answer.
    const json = oa.check('post', '/form/createReseller', await request(t.app).post('/api/v1/form/createReseller').set(bearer(keys.write)).send(body));
    assert.equal(json.status, 415);
    assert.equal(fieldsOf(json.text).result, '11');
  });

  test('roles: a read-only key reads but writes nothing (result=21); a reseller’s key reads its own reseller only (another’s is result=30)', async () => {
    const ro = await form('createReseller', newReseller(), bearer(keys.read));
    assert.equal(ro.status, 403);
    assert.equal(fieldsOf(ro.text).result, '21');
    const roPatch = await form('updateReseller', { reseller_id: String(fx.b.reseller.id), notes: 'x', api_key: keys.read });
    assert.equal(roPatch.status, 403);
    const roRead = await form('getReseller', { reseller_id: String(fx.b.reseller.id) }, bearer(keys.read));
    assert.equal(roRead.status, 200);
    assert.equal(fieldsOf(roRead.text).id, String(fx.b.reseller.id));
    const own = await form('getReseller', { reseller_id: String(fx.a.reseller.id) }, bearer(keys.resellerReadA));
    assert.equal(fieldsOf(own.text).result, '0');
    const foreign = await form('getReseller', { reseller_id: String(fx.b.reseller.id) }, bearer(keys.resellerA));
    assert.equal(foreign.status, 404);
    assert.equal(fieldsOf(foreign.text).result, '30');
    const operatorOnly = await form('deactivateReseller', { reseller_id: String(fx.a.reseller.id) }, bearer(keys.resellerA));
    assert.equal(operatorOnly.status, 403);
    assert.equal(fieldsOf(operatorOnly.text).result, '21');
    assert.equal((await t.db('resellers').where({ id: fx.b.reseller.id }).first()).notes, null);
  });

  test('change (PATCH by form): fields absent are unchanged, a blank clears, if_match refuses a stale change with result=41', async () => {
    const made = fieldsOf((await form('createReseller', newReseller({ contact_phone: '+1 212 555 0100' }), bearer(keys.write))).text);
    const id = made.id as string;
    const changed = await form('updateReseller', { reseller_id: id, notes: 'by form', billing_service: '1', if_match: made.etag as string }, bearer(keys.write));
    assert.equal(changed.status, 200);
    const c = fieldsOf(changed.text);
    assert.equal(c.result, '0');
    assert.equal(c.notes, 'by form');
    assert.equal(c.billing_service, 'true');
    assert.equal(c.name, made.name, 'fields not sent are unchanged');
    assert.equal(c.contact_phone, '+1 212 555 0100');
    const stale = await form('updateReseller', { reseller_id: id, notes: 'lost', if_match: made.etag as string }, bearer(keys.write));
    assert.equal(stale.status, 412);
    assert.equal(fieldsOf(stale.text).result, '41');
    const cleared = fieldsOf((await form('updateReseller', { reseller_id: id, contact_phone: '', if_match: c.etag as string }, bearer(keys.write))).text);
    assert.equal(cleared.contact_phone, '');
    const row = await t.db('resellers').where({ id: Number(id) }).first();
    assert.equal(row.notes, 'by form');
    assert.equal(row.contact_phone, null);
    assert.equal((await t.db('audit_log').where({ entity_type: 'reseller', entity_id: Number(id), action: 'update' })).length, 2);
    const bad = await form('updateReseller', { reseller_id: id, currency: 'euro' }, bearer(keys.write));
    assert.equal(fieldsOf(bad.text).field, 'currency');
  });

  test('deactivate and activate by form: the counts flattened (reseller.status=…); twice is result=40', async () => {
    const r = fieldsOf((await form('createReseller', newReseller(), bearer(keys.write))).text);
    const off = await form('deactivateReseller', { reseller_id: r.id as string }, bearer(keys.write));
    assert.equal(off.status, 200);
    const o = fieldsOf(off.text);
    assert.equal(o.result, '0');
    assert.equal(o['reseller.status'], 'inactive');
    assert.equal(o['reseller.id'], r.id);
    assert.match(o.subscribers_affected as string, /^\d+$/);
    const again = await form('deactivateReseller', { reseller_id: r.id as string }, bearer(keys.write));
    assert.equal(again.status, 409);
    assert.equal(fieldsOf(again.text).result, '40');
    const on = await form('activateReseller', { reseller_id: r.id as string, format: 'json' }, bearer(keys.write));
    assert.equal(on.body.result, 0);
    assert.equal(on.body.data.reseller.status, 'active');
    assert.equal((await t.db('resellers').where({ id: Number(r.id) }).first()).status, 'active');
  });

  test('reads by form: one reseller, and a list paged by the cursor field (data.<n>.<member>)', async () => {
    const got = fieldsOf((await form('getReseller', { reseller_id: String(fx.a.reseller.id) }, bearer(keys.write))).text);
    assert.equal(got.code, fx.a.reseller.code);
    const ids: string[] = [];
    let cursor = '';
    let pages = 0;
    do {
      // Every field sent, blanks included, as an old system's form does: a blank cursor is the first page.
      const res = await form('listResellers', { limit: '2', cursor, q: '', status: '' }, bearer(keys.read));
      assert.equal(res.status, 200);
      const f = fieldsOf(res.text);
      for (let i = 0; f[`data.${i}.id`] !== undefined; i++) ids.push(f[`data.${i}.id`] as string);
      assert.equal(Number(f.count), Number((await t.db('resellers').count('* as c'))[0]!.c));
      cursor = f.next_cursor as string;
      pages++;
    } while (cursor && pages < 100);
    assert.deepEqual(ids.map(Number).sort((a, b) => a - b), (await t.db('resellers').pluck('id')).map(Number).sort((a, b) => a - b));
    const bad = await form('listResellers', { limit: '0' }, bearer(keys.read));
    assert.equal(fieldsOf(bad.text).field, 'limit');
  });

  test('idempotency by the idempotency_key field: a retry answers the first answer and makes nothing more; the JSON API knows the same key; another request with it is result=11', async () => {
    const body = newReseller({ billing_service: 'true' });
    const key = crypto.randomUUID();
    const first = await form('createReseller', { ...body, idempotency_key: key }, bearer(keys.write));
    assert.equal(first.status, 201);
    const again = await form('createReseller', { ...body, idempotency_key: key }, bearer(keys.write));
    assert.equal(again.status, 201);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.text, first.text);
    // The same request as JSON, with the same key as its header: the same reseller, the first answer.
    const asJson = await request(t.app).post('/api/v1/resellers').set(bearer(keys.write)).set('Idempotency-Key', key).send({ ...body, billing_service: true });
    assert.equal(asJson.status, 201);
    assert.equal(asJson.headers['idempotent-replayed'], 'true');
    assert.equal(String(asJson.body.id), fieldsOf(first.text).id);
    assert.equal((await t.db('resellers').where({ code: body.code })).length, 1);
    const other = await form('createReseller', { ...newReseller(), idempotency_key: key }, bearer(keys.write));
    assert.equal(other.status, 422);
    assert.equal(fieldsOf(other.text).result, '11');
    const badKey = await form('createReseller', { ...newReseller(), idempotency_key: 'has spaces' }, bearer(keys.write));
    assert.equal(fieldsOf(badKey.text).field, 'idempotency_key');
  });
});

describe('the form adapter’s reading of fields, on an operation with nested members and lists', () => {
  let t: TestApp;
  let app: express.Express;
  const echo = apiOperation({
    method: 'post', path: '/things/:thingId/echo', operationId: 'echoThing', tags: ['Test'], audience: 'all', summary: 'Echo',
    params: z.object({ thingId: z.string().regex(/^\d+$/).transform(Number) }),
    body: z.strictObject({
      flag: z.boolean().optional(),
      count: z.number().int().optional(),
      price: z.string().regex(/^\d+\.\d{2}$/).optional(),
      choice: z.number().int().nullable().optional(),
      tags: z.array(z.string()).optional(),
      ids: z.array(z.number().int()).optional(),
      address: z.strictObject({ city: z.string(), zip: z.string().optional(), verified: z.boolean().optional() }).optional(),
      items: z.array(z.strictObject({ name: z.string(), qty: z.number().int() })).optional(),
    }),
    success: { status: 200, description: 'What was read.', schema: z.object({ thing: z.number(), got: z.unknown() }) },
    handler: async ({ params, body }) => ({ body: { thing: params.thingId, got: body } }),
  });
  let keyChecks = 0;
  const principal: Principal = { id: 0, apiKeyId: 1, email: 'test key', name: 'test', role: 'wholesale_admin', resellerId: null, resellerName: null, subscriberId: null, totpEnabled: false, timeZone: 'UTC' };

  before(async () => {
    t = await createTestApp();
    app = express();
    app.use('/api/v1', apiRouter({ keys: async (token) => (keyChecks++, token === 'the-key' ? principal : undefined), operations: [echo], db: t.db }));
  });
  after(() => t.close());

  const post = (body: string) => request(app).post('/api/v1/form/echoThing').type('form').send(`api_key=the-key&format=json&${body}`);

  test('nested members by dots or brackets, lists repeated or indexed, booleans, numbers and blanks typed; money stays text', async () => {
    const res = await post('thing_id=7&flag=on&count=12&price=10.50&choice=&tags=a&tags=b%2Cc&ids[]=1&ids[]=2&address.city=Paris&address[verified]=no&items.0.name=x&items.0.qty=2&items[1][name]=y&items[1][qty]=3');
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.data, {
      thing: 7,
      got: { flag: true, count: 12, price: '10.50', choice: null, tags: ['a', 'b,c'], ids: [1, 2], address: { city: 'Paris', verified: false }, items: [{ name: 'x', qty: 2 }, { name: 'y', qty: 3 }] },
    });
    // The text answer flattens the same way.
    const text = await request(app).post('/api/v1/form/echoThing').type('form').send('api_key=the-key&thing_id=7&tags=a&tags=b&items.0.name=x&items.0.qty=2&address.city=Paris');
    const f = new URLSearchParams(text.text.trim());
    assert.deepEqual(f.getAll('got.tags'), ['a', 'b']);
    assert.equal(f.get('got.items.0.qty'), '2');
    assert.equal(f.get('got.address.city'), 'Paris');
    assert.equal(f.get('thing'), '7');
  });

  test('a body read before its key is checked is small: 413 at once for a larger one without a key check; a key in the header allows more', async () => {
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const port = (server.address() as { port: number }).port;
      // Says 10 MB, sends 1 KB: answered without waiting for (or parsing) the rest.
      const checks = keyChecks;
      const early = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/api/v1/form/echoThing?format=json', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(10_000_000) } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.write(`api_key=the-key&thing_id=7&tags=${'a'.repeat(1000)}`);
      });
      assert.equal(early.status, 413);
      const answer = JSON.parse(early.body);
      assert.equal(answer.result, 11);
      assert.match(answer.message, /at most 64 KB and 256 fields.*Authorization: Bearer/);
      assert.equal(keyChecks, checks, 'no key looked up');

      // Sent whole, but over the limits (size, or number of fields): 413, no key looked up.
      const big = `api_key=the-key&format=json&thing_id=7&${Array.from({ length: 3000 }, () => `tags=${'b'.repeat(30)}`).join('&')}`;
      assert.ok(big.length > 64 * 1024);
      const refused = await request(app).post('/api/v1/form/echoThing?format=json').type('form').send(big);
      assert.equal(refused.status, 413);
      assert.match(refused.body.message, /at most 64 KB/);
      const many = await request(app).post('/api/v1/form/echoThing?format=json').type('form').send(`api_key=the-key&format=json&thing_id=7&${Array.from({ length: 300 }, (_, i) => `tags=${i}`).join('&')}`);
      assert.equal(many.status, 413);
      assert.match(many.body.message, /256 fields/);
      assert.equal(keyChecks, checks);

      // The key in the header is checked first: a wrong one is refused before the body is read, a right one may post more.
      const wrong = await request(app).post('/api/v1/form/echoThing').set('Authorization', 'Bearer not-the-key').type('form').send(big);
      assert.equal(wrong.status, 401);
      const taken = await request(app).post('/api/v1/form/echoThing').set('Authorization', 'Bearer the-key').type('form').send(big.replace('api_key=the-key&', ''));
      assert.equal(taken.status, 200, taken.text);
      assert.equal(taken.body.data.got.tags.length, 3000);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  test('what cannot be read is named: a word for a number, an unknown nested member, a gap in a list', async () => {
    const res = await post('thing_id=7&count=many&address.city=Paris&address.planet=Mars&items.1.name=y&items.1.qty=1');
    assert.equal(res.status, 422);
    assert.deepEqual(Object.keys(res.body.fields), ['address.planet']);
    const res2 = await post('thing_id=7&count=many&items.1.name=y&items.1.qty=1&flag=perhaps');
    assert.deepEqual(Object.keys(res2.body.fields).sort(), ['count', 'flag', 'items.0']);
    const res3 = await post('count=1');
    assert.deepEqual(Object.keys(res3.body.fields), ['thing_id']);
  });
});
