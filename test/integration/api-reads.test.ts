/**
 * The JSON API's reads (issue 14): call legs with the charges the key's party may see (a reseller
 * never reads the operator's carrier cost), one leg in detail with its ETag, and account status,
 * every answer held to the served OpenAPI document; another tenant's ids answer 404.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { SYSTEM_ACTOR } from '../../src/domain/tenancy/actor';
import { OPERATOR } from '../../src/domain/tenancy/owner';
import { createKey } from '../../src/modules/api-keys/api-keys.service';
import { createTestApp, type TestApp } from '../support/app';
import { makeCallLeg, makeCharge, makeTenants } from '../support/factories';
import { OpenApiChecker } from '../support/openapi';

describe('the JSON API: calls, charges and accounts', () => {
  let t: TestApp;
  let fx: Awaited<ReturnType<typeof makeTenants>>;
  let oa: OpenApiChecker;
  const keys: Record<'operator' | 'resellerA' | 'resellerReadA' | 'resellerB', string> = {} as never;
  const legs: Record<'a1' | 'a2' | 'b1', { id: number; start_at: Date }> = {} as never;

  const get = (key: string, template: string, path: string, headers: Record<string, string> = {}) => oa.caller(t.app, key).get(template, path, headers);

  before(async () => {
    t = await createTestApp();
    fx = await makeTenants(t.db);
    oa = new OpenApiChecker((await request(t.app).get('/api/v1/openapi.json')).body);
    const make = async (owner: Parameters<typeof createKey>[2], access: 'read' | 'write') => (await createKey(t.db, SYSTEM_ACTOR, owner, { name: `reads ${access}`, access })).token;
    keys.operator = await make(OPERATOR, 'read');
    keys.resellerA = await make({ kind: 'reseller', resellerId: fx.a.reseller.id }, 'write');
    keys.resellerReadA = await make({ kind: 'reseller', resellerId: fx.a.reseller.id }, 'read');
    keys.resellerB = await make({ kind: 'reseller', resellerId: fx.b.reseller.id }, 'read');
    const now = Date.now();
    legs.a1 = await makeCallLeg(t.db, { platformId: fx.platform.id, resellerId: fx.a.reseller.id, subscriberId: fx.a.subscriber.id, startAt: new Date(now - 120_000) });
    legs.a2 = await makeCallLeg(t.db, { platformId: fx.platform.id, resellerId: fx.a.reseller.id, subscriberId: fx.a.subscriber.id, startAt: new Date(now - 60_000), direction: 'inbound' });
    legs.b1 = await makeCallLeg(t.db, { platformId: fx.platform.id, resellerId: fx.b.reseller.id, subscriberId: fx.b.subscriber.id, startAt: new Date(now - 90_000) });
    // Amounts with more digits than cents: they must come back exactly.
    await makeCharge(t.db, legs.a1, { kind: 'wholesale', resellerId: fx.a.reseller.id, subscriberId: fx.a.subscriber.id, ratePlanId: fx.operatorPlan.id, amount: '0.0123456789' });
    await makeCharge(t.db, legs.a1, { kind: 'retail', resellerId: fx.a.reseller.id, subscriberId: fx.a.subscriber.id, ratePlanId: fx.a.plan.id, amount: '0.05' });
    await makeCharge(t.db, legs.b1, { kind: 'wholesale', resellerId: fx.b.reseller.id, subscriberId: fx.b.subscriber.id, ratePlanId: fx.operatorPlan.id, amount: '1.5' });
    // The operator's expected carrier cost of a1: never shown to the reseller.
    await t.db('charges').insert({
      leg_id: legs.a1.id, start_at: legs.a1.start_at, kind: 'carrier_cost', reseller_id: fx.a.reseller.id, subscriber_id: fx.a.subscriber.id, rate_plan_id: fx.operatorPlan.id,
      plan_revision: 1, direction: 'outbound', prefix: '1', description: 'carrier', rate_effective_from: '2020-01-01T00:00:00Z', billable_seconds: 60, charged_seconds: 60,
      pieces: JSON.stringify([]), currency: 'USD', connect_fee: '0', usage: '0.0042', amount: '0.0042', taxes: JSON.stringify([]), tax_amount: '0', total: '0.0042',
      billed_currency: 'USD', exchange_rate: '1', billed_total: '0.0042',
    });
  });
  after(() => t.close());

  test('GET /calls: a reseller key sees its legs with its wholesale and retail charges, exact, never the carrier cost nor another tenant’s legs', async () => {
    const res = await get(keys.resellerReadA, '/calls', '/calls');
    assert.equal(res.status, 200);
    const ids = res.body.data.map((l: { id: number }) => l.id);
    assert.deepEqual(ids, [legs.a2.id, legs.a1.id], 'newest first, own only');
    assert.equal(res.body.count, 2);
    assert.equal(res.body.next_cursor, null);
    const a1 = res.body.data[1];
    assert.deepEqual(a1.charges.map((c: { kind: string }) => c.kind), ['wholesale', 'retail']);
    assert.equal(a1.charges[0].total, '0.0123456789');
    assert.equal(a1.charges[0].billed_total, '0.0123456789');
    assert.equal(a1.charges[0].currency, 'USD');
    assert.equal(a1.charges[1].total, '0.05');
    assert.match(a1.start_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(a1.subscriber_id, fx.a.subscriber.id);
    assert.doesNotMatch(JSON.stringify(res.body), /0\.0042|carrier_cost/);
    // The operator sees every leg.
    const op = await get(keys.operator, '/calls', '/calls');
    const opIds = op.body.data.map((l: { id: number }) => l.id);
    for (const l of [legs.a1, legs.a2, legs.b1]) assert.ok(opIds.includes(l.id));
  });

  test('GET /calls: filters and cursor paging; another tenant’s subscriber is 404; bad filters are 422 naming the field, a bad cursor 400', async () => {
    const first = await get(keys.resellerA, '/calls', '/calls?limit=1');
    assert.equal(first.body.data.length, 1);
    assert.equal(first.body.count, 2);
    assert.ok(first.body.next_cursor);
    const second = await get(keys.resellerA, '/calls', `/calls?limit=1&cursor=${encodeURIComponent(first.body.next_cursor)}`);
    assert.deepEqual(second.body.data.map((l: { id: number }) => l.id), [legs.a1.id]);
    assert.equal(second.body.next_cursor, null);
    const inbound = await get(keys.resellerA, '/calls', '/calls?direction=inbound');
    assert.deepEqual(inbound.body.data.map((l: { id: number }) => l.id), [legs.a2.id]);
    const from = new Date(legs.a1.start_at.getTime() + 1000).toISOString().replace('Z', '+00:00');
    const later = await get(keys.resellerA, '/calls', `/calls?from=${encodeURIComponent(from)}`);
    assert.deepEqual(later.body.data.map((l: { id: number }) => l.id), [legs.a2.id]);
    const bySub = await get(keys.operator, '/calls', `/calls?subscriber_id=${fx.b.subscriber.id}`);
    assert.deepEqual(bySub.body.data.map((l: { id: number }) => l.id), [legs.b1.id]);
    assert.equal((await get(keys.resellerA, '/calls', `/calls?subscriber_id=${fx.b.subscriber.id}`)).status, 404);
    const bad = await get(keys.resellerA, '/calls', '/calls?direction=sideways&from=yesterday');
    assert.equal(bad.status, 422);
    const pointers = bad.body.errors.map((e: { pointer: string }) => e.pointer);
    assert.ok(pointers.includes('#/direction') && pointers.includes('#/from'), pointers.join());
    const backwards = await get(keys.resellerA, '/calls', `/calls?from=${encodeURIComponent(new Date().toISOString())}&to=${encodeURIComponent(new Date(Date.now() - 1000).toISOString())}`);
    assert.equal(backwards.status, 422);
    assert.equal((await get(keys.resellerA, '/calls', '/calls?cursor=nonsense')).status, 400);
    assert.equal((await request(t.app).get('/api/v1/calls')).status, 401);
  });

  test('GET /calls/:legId: charges in detail with an ETag; the carrier cost for the operator only; another tenant’s leg is 404', async () => {
    const res = await get(keys.resellerReadA, '/calls/{legId}', `/calls/${legs.a1.id}`);
    assert.equal(res.status, 200);
    assert.match(String(res.headers.etag), /^"[A-Za-z0-9_-]{27}"$/);
    assert.deepEqual(res.body.charges.map((c: { kind: string }) => c.kind), ['wholesale', 'retail']);
    assert.equal(res.body.charges[0].amount, '0.0123456789');
    assert.equal(res.body.charges[0].rate_plan_id, fx.operatorPlan.id);
    assert.doesNotMatch(JSON.stringify(res.body), /0\.0042|carrier_cost/);
    const again = await request(t.app).get(`/api/v1/calls/${legs.a1.id}`).set('Authorization', `Bearer ${keys.resellerReadA}`).set('If-None-Match', String(res.headers.etag));
    assert.equal(again.status, 304);
    const op = await get(keys.operator, '/calls/{legId}', `/calls/${legs.a1.id}`);
    assert.deepEqual(op.body.charges.map((c: { kind: string }) => c.kind), ['wholesale', 'retail', 'carrier_cost']);
    assert.equal(op.body.charges[2].total, '0.0042');
    assert.equal((await get(keys.resellerA, '/calls/{legId}', `/calls/${legs.b1.id}`)).status, 404);
    assert.equal((await get(keys.resellerB, '/calls/{legId}', `/calls/${legs.a1.id}`)).status, 404);
    assert.equal((await get(keys.resellerA, '/calls/{legId}', '/calls/abc')).status, 404);
    assert.equal((await get(keys.resellerA, '/calls/{legId}', '/calls/999999999')).status, 404);
  });

  test('GET /resellers/:id/account: the wholesale account with its usage charges exact; a reseller reads its own only', async () => {
    const res = await get(keys.resellerReadA, '/resellers/{resellerId}/account', `/resellers/${fx.a.reseller.id}/account`);
    assert.equal(res.status, 200);
    assert.ok(res.headers.etag);
    assert.equal(res.body.side, 'wholesale');
    assert.equal(res.body.reseller_id, fx.a.reseller.id);
    assert.equal(res.body.charged, true);
    assert.equal(res.body.shown.usage.calls, 2);
    assert.deepEqual(res.body.shown.usage.charges.map((c: { billed_total: string }) => c.billed_total), ['0.0123456789']);
    assert.deepEqual(res.body.shown.totals, [{ billed_currency: 'USD', usage: '0.0123456789', recurring: '0.00', total: '0.0123456789' }]);
    assert.match(res.body.current_cycle.starts_at, /Z$/);
    assert.equal((await get(keys.resellerA, '/resellers/{resellerId}/account', `/resellers/${fx.b.reseller.id}/account`)).status, 404);
    const op = await get(keys.operator, '/resellers/{resellerId}/account', `/resellers/${fx.b.reseller.id}/account`);
    assert.equal(op.body.shown.totals[0].total, '1.50');
    assert.equal((await get(keys.operator, '/resellers/{resellerId}/account', `/resellers/${fx.b.reseller.id}/account?cycle=2999-01-01`)).status, 404);
    assert.equal((await get(keys.operator, '/resellers/{resellerId}/account', `/resellers/${fx.b.reseller.id}/account?cycle=soon`)).status, 422);
  });

  test('GET /subscribers/:id/account: the retail account as its page shows it; another tenant’s subscriber is 404', async () => {
    const res = await get(keys.resellerReadA, '/subscribers/{subscriberId}/account', `/subscribers/${fx.a.subscriber.id}/account`);
    assert.equal(res.status, 200);
    assert.equal(res.body.side, 'retail');
    assert.equal(res.body.subscriber_id, fx.a.subscriber.id);
    assert.equal(res.body.shown.usage.calls, 2);
    // Retail money only when the operator bills for the reseller; the usage is there either way.
    if (res.body.charged) assert.equal(res.body.shown.usage.charges[0].billed_total, '0.05');
    else assert.deepEqual(res.body.shown.usage.charges, []);
    assert.doesNotMatch(JSON.stringify(res.body), /0\.0123456789/, 'the wholesale charge is not the subscriber’s account');
    assert.equal((await get(keys.resellerA, '/subscribers/{subscriberId}/account', `/subscribers/${fx.b.subscriber.id}/account`)).status, 404);
    assert.equal((await get(keys.operator, '/subscribers/{subscriberId}/account', `/subscribers/${fx.b.subscriber.id}/account`)).status, 200);
  });
  // Last: its leg and charge would count in the accounts above.
  test('GET /calls/:legId of an on-net leg another reseller paid: the callee’s reseller sees it received, its own side only (no payer’s charges, trunk or reason)', async () => {
    const leg = await makeCallLeg(t.db, { platformId: fx.platform.id, resellerId: fx.a.reseller.id, subscriberId: fx.a.subscriber.id, calleeResellerId: fx.b.reseller.id, calleeSubscriberId: fx.b.subscriber.id, direction: 'onnet', startAt: new Date(Date.now() - 30_000) });
    await makeCharge(t.db, leg, { kind: 'wholesale', resellerId: fx.a.reseller.id, subscriberId: fx.a.subscriber.id, ratePlanId: fx.operatorPlan.id, amount: '0.0000001234' });
    const callee = await get(keys.resellerB, '/calls/{legId}', `/calls/${leg.id}`);
    assert.equal(callee.status, 200);
    assert.deepEqual([callee.body.received, callee.body.reseller_id, callee.body.subscriber_id, callee.body.account_number, callee.body.charges], [true, fx.b.reseller.id, fx.b.subscriber.id, fx.b.subscriber.account_number, []]);
    const payer = await get(keys.resellerA, '/calls/{legId}', `/calls/${leg.id}`);
    assert.deepEqual([payer.body.received, payer.body.subscriber_id, payer.body.charges.map((c: { amount: string }) => c.amount)], [false, fx.a.subscriber.id, ['0.0000001234']]);
    assert.equal(Date.parse(payer.body.charges[0].rated_at), new Date((await t.db('charges').where({ leg_id: leg.id }).first('rated_at')).rated_at).getTime());
  });
});
