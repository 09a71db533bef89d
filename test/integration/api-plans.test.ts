/**
 * The JSON API's plan and package operations (issue 14): what a key may assign, a reseller's
 * wholesale plan (operator keys), a subscriber's retail plan, feature and toll package assignments
 * given and ended with the portal's rules (its services), every answer held to the served OpenAPI
 * document; another tenant's ids answer 404, If-Match conflicts 412.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { SYSTEM_ACTOR } from '../../src/domain/tenancy/actor';
import { OPERATOR } from '../../src/domain/tenancy/owner';
import { createKey } from '../../src/modules/api-keys/api-keys.service';
import { createTestApp, type TestApp } from '../support/app';
import { makePlan, makeTenants, makeTollPackage } from '../support/factories';
import { OpenApiChecker } from '../support/openapi';

describe('the JSON API: plans and packages', () => {
  let t: TestApp;
  let fx: Awaited<ReturnType<typeof makeTenants>>;
  let oa: OpenApiChecker;
  const keys: Record<'operator' | 'operatorRead' | 'resellerA' | 'resellerReadA', string> = {} as never;
  let ownPackage: { id: number };
  let operatorToll: { id: number };
  let ownToll: { id: number };

  const as = (key: string) => oa.caller(t.app, key);
  const pointers = (res: request.Response) => res.body.errors.map((e: { pointer: string }) => e.pointer);

  before(async () => {
    t = await createTestApp();
    fx = await makeTenants(t.db);
    oa = new OpenApiChecker((await request(t.app).get('/api/v1/openapi.json')).body);
    const make = async (owner: Parameters<typeof createKey>[2], access: 'read' | 'write') => (await createKey(t.db, SYSTEM_ACTOR, owner, { name: `plans ${access}`, access })).token;
    keys.operator = await make(OPERATOR, 'write');
    keys.operatorRead = await make(OPERATOR, 'read');
    keys.resellerA = await make({ kind: 'reseller', resellerId: fx.a.reseller.id }, 'write');
    keys.resellerReadA = await make({ kind: 'reseller', resellerId: fx.a.reseller.id }, 'read');
    // Feature packages: one of the operator's offered to A, and A's own built on it.
    const u = crypto.randomBytes(4).toString('hex');
    const [feature] = await t.db('features').insert({ code: `pl${u}`, name: `Feature ${u}` }).returning('*');
    const [base] = await t.db('feature_packages').insert({ name: `Operator ${u}`, currency: 'USD', monthly_fee: '2' }).returning('*');
    await t.db('feature_package_features').insert({ package_id: base.id, feature_id: feature.id });
    await t.db('feature_package_offers').insert({ package_id: base.id, reseller_id: fx.a.reseller.id });
    [ownPackage] = await t.db('feature_packages').insert({ reseller_id: fx.a.reseller.id, base_package_id: base.id, name: `Voicemail ${u}`, currency: 'USD', setup_fee: '1.25', monthly_fee: '7.125' }).returning('*');
    await t.db('feature_package_features').insert({ package_id: ownPackage.id, feature_id: feature.id });
    operatorToll = (await makeTollPackage(t.db, null)).tollPackage;
    ownToll = (await makeTollPackage(t.db, fx.a.reseller.id)).tollPackage;
  });
  after(() => t.close());

  test('GET /rate-plans: the key’s own plans; an operator key may name a reseller; a reseller key naming another is 404', async () => {
    const op = await as(keys.operatorRead).get('/rate-plans', '/rate-plans');
    const opIds = op.body.data.map((p: { id: number }) => p.id);
    assert.ok(opIds.includes(fx.operatorPlan.id));
    assert.ok(!opIds.includes(fx.a.plan.id));
    assert.ok(op.body.data.every((p: { owner: string }) => p.owner === 'operator'));
    const ra = await as(keys.resellerReadA).get('/rate-plans', '/rate-plans');
    assert.deepEqual(ra.body.data.map((p: { id: number }) => p.id), [fx.a.plan.id]);
    const ofA = await as(keys.operatorRead).get('/rate-plans', `/rate-plans?reseller_id=${fx.a.reseller.id}`);
    assert.deepEqual(ofA.body.data.map((p: { id: number }) => p.id), [fx.a.plan.id]);
    assert.equal((await as(keys.resellerA).get('/rate-plans', `/rate-plans?reseller_id=${fx.b.reseller.id}`)).status, 404);
    assert.equal((await as(keys.resellerA).get('/rate-plans', '/rate-plans?reseller_id=x')).status, 422);
  });

  test('wholesale plan: the operator assigns it (audited, ETag, If-Match 412), a reseller reads its own; bad plans are 422 naming the field', async () => {
    const path = `/resellers/${fx.a.reseller.id}/wholesale-plan`;
    const tpl = '/resellers/{resellerId}/wholesale-plan';
    const before = await as(keys.operator).get(tpl, path);
    assert.equal(before.status, 200);
    const set = await as(keys.operator).put(tpl, path, { wholesale_plan_id: fx.operatorPlan.id }, { 'If-Match': String(before.headers.etag) });
    assert.equal(set.status, 200);
    assert.equal(set.body.wholesale_plan.id, fx.operatorPlan.id);
    assert.ok(set.headers.etag);
    assert.equal((await t.db('resellers').where({ id: fx.a.reseller.id }).first()).wholesale_plan_id, fx.operatorPlan.id);
    const audit = await t.db('audit_log').where({ entity_type: 'reseller', entity_id: fx.a.reseller.id, action: 'assign_plan' }).orderBy('id', 'desc').first();
    assert.ok(Number(audit.actor_api_key_id) > 0);
    // The tag read before the change is stale now.
    const stale = await as(keys.operator).put(tpl, path, { wholesale_plan_id: null }, { 'If-Match': String(before.headers.etag) });
    assert.equal(stale.status, 412);
    const own = await as(keys.resellerReadA).get(tpl, path);
    assert.equal(own.body.wholesale_plan.id, fx.operatorPlan.id);
    assert.equal(own.headers.etag, set.headers.etag);
    assert.equal((await as(keys.resellerReadA).get(tpl, `/resellers/${fx.b.reseller.id}/wholesale-plan`)).status, 404);
    const theirs = await as(keys.operator).put(tpl, path, { wholesale_plan_id: fx.a.plan.id });
    assert.equal(theirs.status, 422);
    assert.deepEqual(pointers(theirs), ['#/wholesale_plan_id']);
    const retired = await makePlan(t.db, null, { retired_at: new Date() });
    const r = await as(keys.operator).put(tpl, path, { wholesale_plan_id: retired.id });
    assert.equal(r.status, 422);
    assert.match(r.body.errors[0].detail, /retired/);
    assert.equal((await as(keys.operator).put(tpl, path, { wholesale_plan_id: '1' })).status, 422);
    assert.equal((await as(keys.resellerA).put(tpl, path, { wholesale_plan_id: fx.operatorPlan.id })).status, 403);
    assert.equal((await as(keys.operatorRead).put(tpl, path, { wholesale_plan_id: fx.operatorPlan.id })).status, 403);
    const cleared = await as(keys.operator).put(tpl, path, { wholesale_plan_id: null });
    assert.equal(cleared.body.wholesale_plan, null);
  });

  test('retail plan: a reseller key for its own subscribers, an operator key for any; another tenant’s subscriber is 404 whatever the body', async () => {
    const tpl = '/subscribers/{subscriberId}/retail-plan';
    const path = `/subscribers/${fx.a.subscriber.id}/retail-plan`;
    const set = await as(keys.resellerA).put(tpl, path, { retail_plan_id: fx.a.plan.id });
    assert.equal(set.status, 200);
    assert.deepEqual({ ...set.body, retail_plan: set.body.retail_plan.id }, { subscriber_id: fx.a.subscriber.id, reseller_id: fx.a.reseller.id, retail_plan: fx.a.plan.id });
    const read = await as(keys.resellerReadA).get(tpl, path);
    assert.equal(read.headers.etag, set.headers.etag);
    assert.equal((await as(keys.resellerA).put(tpl, path, { retail_plan_id: fx.b.plan.id })).status, 422, 'another reseller’s plan');
    assert.equal((await as(keys.resellerA).put(tpl, path, { retail_plan_id: fx.operatorPlan.id })).status, 422, 'the operator’s plan');
    assert.equal((await as(keys.resellerA).put(tpl, `/subscribers/${fx.b.subscriber.id}/retail-plan`, { retail_plan_id: fx.b.plan.id })).status, 404);
    assert.equal((await as(keys.resellerA).put(tpl, `/subscribers/${fx.b.subscriber.id}/retail-plan`, { nonsense: true })).status, 404);
    assert.equal((await as(keys.resellerA).get(tpl, `/subscribers/${fx.b.subscriber.id}/retail-plan`)).status, 404);
    assert.equal((await as(keys.resellerReadA).put(tpl, path, { retail_plan_id: null })).status, 403);
    const stale = await as(keys.resellerA).put(tpl, path, { retail_plan_id: null }, { 'If-Match': '"not-the-tag"' });
    assert.equal(stale.status, 412);
    const byOperator = await as(keys.operator).put(tpl, `/subscribers/${fx.b.subscriber.id}/retail-plan`, { retail_plan_id: fx.b.plan.id }, { 'If-Match': '*' });
    assert.equal(byOperator.status, 200);
    assert.equal(byOperator.body.retail_plan.id, fx.b.plan.id);
    const cleared = await as(keys.resellerA).put(tpl, path, { retail_plan_id: null }, { 'If-Match': String(set.headers.etag) });
    assert.equal(cleared.status, 200);
    assert.equal(cleared.body.retail_plan, null);
  });

  test('feature packages: listed for the key, given and ended by the reseller’s keys with the portal’s rules; the operator’s keys read', async () => {
    const list = await as(keys.resellerReadA).get('/feature-packages', '/feature-packages');
    const pkg = list.body.data.find((p: { id: number }) => p.id === ownPackage.id);
    assert.equal(pkg.assignable, true);
    assert.equal(pkg.monthly_fee, '7.125');
    assert.equal(pkg.setup_fee, '1.25');
    const offered = await as(keys.resellerReadA).get('/resellers/{resellerId}/feature-packages', `/resellers/${fx.a.reseller.id}/feature-packages`);
    assert.deepEqual(offered.body.data.map((p: { id: number }) => p.id), [pkg.base_package_id]);
    assert.equal((await as(keys.resellerReadA).get('/resellers/{resellerId}/feature-packages', `/resellers/${fx.b.reseller.id}/feature-packages`)).status, 404);

    const tpl = '/subscribers/{subscriberId}/feature-packages';
    const path = `/subscribers/${fx.a.subscriber.id}/feature-packages`;
    const made = await as(keys.resellerA).post(tpl, path, { feature_package_id: ownPackage.id, starts_at: '2026-01-01T01:00:00+01:00' }, { 'Idempotency-Key': crypto.randomUUID() });
    assert.equal(made.status, 201);
    assert.equal(made.body.starts_at, '2026-01-01T00:00:00.000Z', 'the instant, whatever the offset');
    assert.equal(made.body.ends_at, null);
    assert.equal(made.body.state, 'current');
    const overlap = await as(keys.resellerA).post(tpl, path, { feature_package_id: ownPackage.id, starts_at: '2026-02-01T00:00:00Z' });
    assert.equal(overlap.status, 422);
    assert.deepEqual(pointers(overlap), ['#/starts_at']);
    const notOurs = await as(keys.resellerA).post(tpl, path, { feature_package_id: pkg.base_package_id });
    assert.equal(notOurs.status, 422);
    assert.deepEqual(pointers(notOurs), ['#/feature_package_id']);
    assert.equal((await as(keys.resellerA).post(tpl, path, { feature_package_id: ownPackage.id, starts_at: 'tomorrow' })).status, 422);
    assert.equal((await as(keys.operator).post(tpl, path, { feature_package_id: ownPackage.id })).status, 403, 'only the reseller’s people give its packages');
    assert.equal((await as(keys.resellerA).post(tpl, `/subscribers/${fx.b.subscriber.id}/feature-packages`, { feature_package_id: ownPackage.id })).status, 404);
    const listed = await as(keys.operatorRead).get(tpl, path);
    assert.deepEqual(listed.body.data.map((a: { id: number }) => a.id), [made.body.id]);

    const endTpl = '/subscribers/{subscriberId}/feature-packages/{featureAssignmentId}/end';
    const endPath = `${path}/${made.body.id}/end`;
    const early = await as(keys.resellerA).post(endTpl, endPath, { ends_at: '2025-12-31T00:00:00Z' });
    assert.equal(early.status, 422);
    assert.deepEqual(pointers(early), ['#/ends_at']);
    assert.equal((await as(keys.resellerA).post(endTpl, `/subscribers/${fx.b.subscriber.id}/feature-packages/${made.body.id}/end`, {})).status, 404);
    const ended = await as(keys.resellerA).post(endTpl, endPath, {});
    assert.equal(ended.status, 200);
    assert.ok(ended.body.ends_at);
    const twice = await as(keys.resellerA).post(endTpl, endPath, {});
    assert.equal(twice.status, 409);
    const audit = await t.db('audit_log').where({ entity_type: 'package_assignment', entity_id: made.body.id }).orderBy('id');
    assert.deepEqual(audit.map((a) => a.action), ['assign', 'end']);
  });

  test('feature package offers: the operator offers and withdraws its packages; a second offer is 422, a withdrawn one 404', async () => {
    const [pkg] = await t.db('feature_packages').insert({ name: `Offer ${crypto.randomBytes(3).toString('hex')}`, currency: 'USD', monthly_fee: '4.5' }).returning('*');
    const tpl = '/resellers/{resellerId}/feature-packages';
    const path = `/resellers/${fx.b.reseller.id}/feature-packages`;
    const made = await as(keys.operator).post(tpl, path, { feature_package_id: pkg.id }, { 'Idempotency-Key': crypto.randomUUID() });
    assert.equal(made.status, 201);
    assert.equal(made.body.id, pkg.id);
    assert.equal(made.body.monthly_fee, '4.5');
    const twice = await as(keys.operator).post(tpl, path, { feature_package_id: pkg.id });
    assert.equal(twice.status, 422);
    assert.deepEqual(pointers(twice), ['#/feature_package_id']);
    const notOperators = await as(keys.operator).post(tpl, path, { feature_package_id: ownPackage.id });
    assert.equal(notOperators.status, 422);
    assert.equal((await as(keys.resellerA).post(tpl, `/resellers/${fx.a.reseller.id}/feature-packages`, { feature_package_id: pkg.id })).status, 403);
    const seen = await as(keys.operatorRead).get(tpl, path);
    assert.ok(seen.body.data.some((p: { id: number }) => p.id === pkg.id));
    const del = async (key: string) => oa.check('delete', '/resellers/{resellerId}/feature-packages/{featurePackageId}', await request(t.app).delete(`/api/v1${path}/${pkg.id}`).set('Authorization', `Bearer ${key}`));
    assert.equal((await del(keys.resellerA)).status, 403);
    assert.equal((await del(keys.operator)).status, 204);
    assert.equal((await del(keys.operator)).status, 404);
    const actions = await t.db('audit_log').where({ entity_type: 'feature_package', entity_id: pkg.id }).orderBy('id').pluck('action');
    assert.deepEqual(actions, ['offer', 'withdraw']);
  });

  test('toll packages: a subscriber’s by the reseller’s keys, a reseller’s by the operator’s; the lists with allowances; another tenant is 404', async () => {
    const ra = await as(keys.resellerReadA).get('/toll-packages', '/toll-packages');
    assert.deepEqual(ra.body.data.map((p: { id: number }) => p.id), [ownToll.id]);
    assert.equal(ra.body.data[0].monthly_fee, '5');
    assert.equal(ra.body.data[0].groups[0].included_seconds, 6000);
    const op = await as(keys.operatorRead).get('/toll-packages', '/toll-packages');
    assert.ok(op.body.data.some((p: { id: number }) => p.id === operatorToll.id));
    assert.ok(!op.body.data.some((p: { id: number }) => p.id === ownToll.id));

    const tpl = '/subscribers/{subscriberId}/toll-packages';
    const path = `/subscribers/${fx.a.subscriber.id}/toll-packages`;
    const made = await as(keys.resellerA).post(tpl, path, { toll_package_id: ownToll.id });
    assert.equal(made.status, 201);
    assert.equal(made.body.state, 'current');
    const listed = await as(keys.resellerReadA).get(tpl, path);
    assert.deepEqual(listed.body.data.map((a: { id: number }) => a.id), [made.body.id]);
    assert.equal(listed.body.allowances[0].included_seconds, 6000);
    assert.equal(listed.body.allowances[0].used_seconds, 0);
    const again = await as(keys.resellerA).post(tpl, path, { toll_package_id: ownToll.id });
    assert.equal(again.status, 422);
    assert.deepEqual(pointers(again), ['#/starts_at']);
    assert.equal((await as(keys.resellerA).post(tpl, path, { toll_package_id: operatorToll.id })).status, 422, 'the operator’s package is not the subscriber’s to hold');
    assert.equal((await as(keys.operator).post(tpl, path, { toll_package_id: ownToll.id })).status, 403);
    assert.equal((await as(keys.resellerA).get(tpl, `/subscribers/${fx.b.subscriber.id}/toll-packages`)).status, 404);
    const endTpl = '/subscribers/{subscriberId}/toll-packages/{tollAssignmentId}/end';
    const ended = await as(keys.resellerA).post(endTpl, `${path}/${made.body.id}/end`, {});
    assert.equal(ended.status, 200);
    assert.ok(ended.body.ends_at);
    assert.equal((await as(keys.resellerA).post(endTpl, `${path}/${made.body.id}/end`, {})).status, 409);

    // The reseller's own: the operator's packages, given by the operator's keys.
    const rtpl = '/resellers/{resellerId}/toll-packages';
    const rpath = `/resellers/${fx.a.reseller.id}/toll-packages`;
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const given = await as(keys.operator).post(rtpl, rpath, { toll_package_id: operatorToll.id, starts_at: future });
    assert.equal(given.status, 201);
    assert.equal(given.body.state, 'scheduled');
    assert.equal(given.body.subscriber_id, null);
    assert.equal((await as(keys.resellerA).post(rtpl, rpath, { toll_package_id: operatorToll.id })).status, 403);
    const own = await as(keys.resellerReadA).get(rtpl, rpath);
    assert.deepEqual(own.body.data.map((a: { id: number }) => a.id), [given.body.id]);
    assert.equal((await as(keys.resellerReadA).get(rtpl, `/resellers/${fx.b.reseller.id}/toll-packages`)).status, 404);
    const endR = await as(keys.operator).post('/resellers/{resellerId}/toll-packages/{tollAssignmentId}/end', `${rpath}/${given.body.id}/end`, { ends_at: new Date(Date.now() + 2 * 86_400_000).toISOString() });
    assert.equal(endR.status, 200);
    const past = await as(keys.operator).post('/resellers/{resellerId}/toll-packages/{tollAssignmentId}/end', `${rpath}/${given.body.id}/end`, { ends_at: new Date(Date.now() + 3 * 86_400_000).toISOString() });
    assert.equal(past.status, 422, 'never later than the end it has');
  });
});
