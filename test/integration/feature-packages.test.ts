/**
 * Feature packages (issue 11, DOMAIN.md "Feature packages"): the operator's catalogue and packages
 * offered to resellers; a reseller's packages built on an offered one, from its features only;
 * assignments to subscribers with history; the feature set as the union at an instant.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FieldErrors } from '../../src/domain/errors';
import type { Actor } from '../../src/domain/tenancy/actor';
import * as service from '../../src/modules/feature-packages/feature-packages.service';
import { createTestApp, type TestApp } from '../support/app';
import { makeReseller, makeSubscriber, makeUser } from '../support/factories';
import { Client } from '../support/http';

/** Page text with the HTML entities EJS writes turned back into characters. */
function text(html: string): string {
  return html.replace(/&#34;|&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** A form post with repeated fields (ticked checkboxes), as a browser sends it. */
function post(c: Client, path: string, fields: Array<[string, string]>) {
  return c.agent.post(path).type('form').send(new URLSearchParams([...fields, ['_csrf', c.csrf]]).toString());
}

const ZONE = 'America/New_York';

/** Presses the confirmation page's button: its form's action and hidden fields, as a browser posts them. */
function pressConfirm(c: Client, html: string) {
  const section = /<section class="card confirm"[\s\S]*?<\/section>/.exec(html)?.[0] ?? '';
  const action = text(/<form method="post" action="([^"]+)"/.exec(section)?.[1] ?? '');
  const fields = [...section.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1], text(m[2] as string)] as [string, string]);
  assert.ok(fields.some(([k, v]) => k === 'confirm' && v === 'yes'), 'no confirmation form');
  return c.agent.post(action).type('form').send(new URLSearchParams(fields).toString());
}

describe('feature packages', () => {
  let t: TestApp;
  let ops: Client;
  let opsUser: { id: number; email: string };
  const feature: Record<string, number> = {};

  before(async () => {
    t = await createTestApp();
    opsUser = await makeUser(t.db, 'wholesale_admin');
    ops = await Client.login(t.app, opsUser.email);
    await ops.refreshCsrf('/wholesale/features');
    for (const [code, name] of [['VM', 'Voicemail'], ['CFWD', 'Call forwarding'], ['CLIP', 'Caller ID'], ['CW', 'Call waiting'], ['3WAY', 'Three-way calling'], ['HUNT', 'Hunt group']]) {
      const res = await post(ops, '/wholesale/features', [['code', code as string], ['name', name as string]]);
      assert.equal(res.status, 303, text(res.text));
      feature[code as string] = (await t.db('features').where({ code }).first()).id;
    }
  });
  after(() => t.close());

  async function tenant(name?: string) {
    const reseller = await makeReseller(t.db, { ...(name ? { name } : {}), time_zone: ZONE });
    const adminUser = await makeUser(t.db, 'reseller_admin', { resellerId: reseller.id });
    const admin = await Client.login(t.app, adminUser.email);
    const support = await Client.login(t.app, (await makeUser(t.db, 'reseller_support', { resellerId: reseller.id })).email);
    const subscriber = await makeSubscriber(t.db, reseller.id);
    await admin.refreshCsrf('/reseller/feature-packages');
    await support.refreshCsrf('/reseller/feature-packages');
    const actor: Actor = { userId: adminUser.id, email: adminUser.email, role: 'reseller_admin', scope: { kind: 'reseller', resellerId: reseller.id } };
    return { reseller, admin, support, subscriber, actor };
  }

  async function operatorPackage(name: string, codes: string[], prices: [string, string] = ['10', '5'], currency = 'USD') {
    const res = await post(ops, '/wholesale/feature-packages', [['name', name], ['currency', currency], ['setup_fee', prices[0]], ['monthly_fee', prices[1]], ...codes.map((c) => ['feature_ids', String(feature[c])] as [string, string])]);
    assert.equal(res.status, 303, text(res.text));
    return Number(/\/(\d+)$/.exec(res.headers.location as string)?.[1]);
  }
  const offer = async (pkgId: number, resellerId: number) => {
    const res = await post(ops, `/wholesale/feature-packages/${pkgId}/offers`, [['reseller_id', String(resellerId)]]);
    assert.equal(res.status, 303, text(res.text));
  };
  async function resellerPackage(c: Client, base: number, name: string, codes: string[], prices: [string, string] = ['20', '9.99'], currency = 'USD') {
    return post(c, '/reseller/feature-packages', [['base_package_id', String(base)], ['name', name], ['currency', currency], ['setup_fee', prices[0]], ['monthly_fee', prices[1]], ...codes.map((x) => ['feature_ids', String(feature[x])] as [string, string])]);
  }
  const idOf = (res: { headers: Record<string, unknown> }) => Number(/\/(\d+)$/.exec(res.headers.location as string)?.[1]);
  const assign = (c: Client, subscriberId: number, pkgId: number, startsAt: string, endsAt = '') =>
    post(c, `/reseller/subscribers/${subscriberId}/feature-packages`, [['feature_package_id', String(pkgId)], ['starts_at', startsAt], ['ends_at', endsAt]]);

  test('the catalogue: codes unique whatever their case, checked; edit; retire asks first, and a retired feature goes into no new package', async () => {
    const dup = await post(ops, '/wholesale/features', [['code', 'vm'], ['name', 'Voicemail again']]);
    assert.equal(dup.status, 422);
    assert.match(text(dup.text), /Another feature has this code/);
    const bad = await post(ops, '/wholesale/features', [['code', 'voice mail!'], ['name', 'Bad']]);
    assert.equal(bad.status, 422);
    assert.match(text(bad.text), /A code has at most 64 letters/);

    const added = await post(ops, '/wholesale/features', [['code', 'DND'], ['name', 'Do not disturb']]);
    assert.equal(added.status, 303);
    const dnd = (await t.db('features').where({ code: 'DND' }).first()).id as number;
    assert.equal((await post(ops, `/wholesale/features/${dnd}`, [['code', 'DND.v2'], ['name', 'Do not disturb'], ['description', 'Silences the phone']])).status, 303);
    assert.equal((await t.db('features').where({ id: dnd }).first()).code, 'DND.v2');

    const ask = await post(ops, `/wholesale/features/${dnd}/retire`, []);
    assert.equal(ask.status, 200);
    assert.match(text(ask.text), /Retire Do not disturb \(DND\.v2\)\?/);
    assert.equal((await t.db('features').where({ id: dnd }).first()).retired_at, null);
    assert.equal((await post(ops, `/wholesale/features/${dnd}/retire`, [['confirm', 'yes']])).status, 303);
    assert.notEqual((await t.db('features').where({ id: dnd }).first()).retired_at, null);

    const withRetired = await post(ops, '/wholesale/feature-packages', [['name', 'Retired inside'], ['currency', 'USD'], ['setup_fee', '0'], ['monthly_fee', '1'], ['feature_ids', String(dnd)]]);
    assert.equal(withRetired.status, 422);
    assert.match(text(withRetired.text), /Retired features go into no package: DND\.v2/);
    // Still unique after retirement: the code stays taken.
    assert.equal((await post(ops, '/wholesale/features', [['code', 'dnd.V2'], ['name', 'x']])).status, 422);

    const audit = await t.db('audit_log').where({ entity_type: 'feature', entity_id: dnd }).orderBy('id').pluck('action');
    assert.deepEqual(audit, ['create', 'update', 'retire']);
  });

  test('money is exact: numeric text in and out, decimal.js validation, the margin exact', async () => {
    const a = await tenant();
    const bad = async (fee: string, message: RegExp) => {
      const res = await post(ops, '/wholesale/feature-packages', [['name', `Bad ${fee}`], ['currency', 'USD'], ['setup_fee', fee], ['monthly_fee', '1']]);
      assert.equal(res.status, 422, fee);
      assert.match(text(res.text), message);
    };
    await bad('1e3', /must be a decimal number/);
    await bad('-1', /cannot be negative/);
    await bad('0.12345678901', /at most 10 decimals/);
    await bad('12345678901', /too large/);
    await bad('1,5', /must be a decimal number/);

    const base = await operatorPackage('Exact base', ['VM'], ['0.1', '1234567890.1234567891']);
    const row = await t.db('feature_packages').where({ id: base }).select(t.db.raw('setup_fee::text as s, monthly_fee::text as m')).first();
    assert.deepEqual([row.s, row.m], ['0.1000000000', '1234567890.1234567891']);
    await offer(base, a.reseller.id);
    const res = await resellerPackage(a.admin, base, 'Exact retail', ['VM'], ['0.3', '1234567890.2234567892']);
    assert.equal(res.status, 303, text(res.text));
    const view = await service.resellerPackage(t.db, { kind: 'reseller', resellerId: a.reseller.id }, idOf(res));
    // 0.3 - 0.1 in floating point is 0.19999999999999998.
    assert.equal(view.margin.setup, '0.2');
    assert.equal(view.margin.monthly, '0.1000000001');
    const page = text((await a.admin.get(`/reseller/feature-packages/${idOf(res)}`)).text);
    assert.match(page, /0\.20 on setup, 0\.1000000001 a month \(USD\)/);
    assert.match(page, /wholesale 0\.10 setup, 1234567890\.1234567891 a month/);

    // Another currency: no margin shown.
    const eur = await resellerPackage(a.admin, base, 'Euro retail', ['VM'], ['1', '2'], 'EUR');
    assert.equal(eur.status, 303, text(eur.text));
    assert.match(text((await a.admin.get(`/reseller/feature-packages/${idOf(eur)}`)).text), /Not shown: your price is in EUR, the wholesale price in USD/);
  });

  test('a reseller packages only features of a package offered to it: tampered forms and direct calls refused', async () => {
    const a = await tenant();
    const b = await tenant('Other Feature Telecom');
    const basic = await operatorPackage('Basic line', ['VM', 'CLIP']);
    const pro = await operatorPackage('Pro line', ['VM', 'CLIP', 'HUNT']);
    await offer(basic, a.reseller.id);
    await offer(pro, b.reseller.id);

    // The page offers Basic line's features only.
    const form = text((await a.admin.get(`/reseller/feature-packages/new?base=${basic}`)).text);
    assert.match(form, /Built on <strong>Basic line<\/strong>/);
    assert.match(form, new RegExp(`value="${feature.VM}"`));
    assert.doesNotMatch(form, new RegExp(`name="feature_ids" value="${feature.HUNT}"`));
    // A base not offered to it is not offered on the page either.
    assert.doesNotMatch(text((await a.admin.get(`/reseller/feature-packages/new?base=${pro}`)).text), /Pro line/);

    // A tampered form: a feature not in the base.
    const tampered = await resellerPackage(a.admin, basic, 'Sneaky', ['VM', 'HUNT']);
    assert.equal(tampered.status, 422);
    assert.match(text(tampered.text), /Choose features of Basic line only/);
    // A feature id that is no feature at all.
    const unknown = await post(a.admin, '/reseller/feature-packages', [['base_package_id', String(basic)], ['name', 'Ghost'], ['currency', 'USD'], ['setup_fee', '0'], ['monthly_fee', '0'], ['feature_ids', '999999']]);
    assert.equal(unknown.status, 422);
    // A base offered to another reseller only, and one that does not exist: the same answer.
    const notOffered = await resellerPackage(a.admin, pro, 'Not mine', ['VM']);
    assert.equal(notOffered.status, 422);
    assert.match(text(notOffered.text), /Choose a package the operator offers you/);
    assert.doesNotMatch(text(notOffered.text), /Pro line/);

    // The same as a program would post it (JSON, problem details), and through the service directly.
    const json = await a.admin.agent.post('/reseller/feature-packages').set('Accept', 'application/json').set('X-CSRF-Token', a.admin.csrf)
      .send({ base_package_id: String(basic), name: 'Json sneaky', currency: 'USD', setup_fee: '1', monthly_fee: '2', feature_ids: [feature.VM, feature.HUNT] });
    assert.equal(json.status, 422);
    assert.match(String(json.headers['content-type']), /problem\+json/);
    assert.match(JSON.stringify(json.body), /Choose features of Basic line only/);
    const input = { base_package_id: basic, name: 'Direct', description: null, currency: 'USD', setup_fee: new (await import('../../src/domain/money/decimal')).Decimal(1), monthly_fee: new (await import('../../src/domain/money/decimal')).Decimal(2) };
    await assert.rejects(service.createResellerPackage(t.db, a.actor, { ...input, feature_ids: [feature.CW as number] }), (e: unknown) => e instanceof FieldErrors && /Basic line only/.test(e.message));
    await assert.rejects(service.createResellerPackage(t.db, a.actor, { ...input, base_package_id: pro, feature_ids: [feature.VM as number] }), (e: unknown) => e instanceof FieldErrors && /offers you/.test(e.message));
    assert.equal(await t.db('feature_packages').where({ reseller_id: a.reseller.id }).count('* as n').first().then((r) => Number(r?.n)), 0);

    // Editing keeps to the base too.
    const ok = await resellerPackage(a.admin, basic, 'Home', ['VM']);
    assert.equal(ok.status, 303, text(ok.text));
    const edit = await post(a.admin, `/reseller/feature-packages/${idOf(ok)}`, [['name', 'Home'], ['currency', 'USD'], ['setup_fee', '1'], ['monthly_fee', '2'], ['feature_ids', String(feature.VM)], ['feature_ids', String(feature.HUNT)]]);
    assert.equal(edit.status, 422);
    assert.deepEqual(await t.db('feature_package_features').where({ package_id: idOf(ok) }).pluck('feature_id'), [feature.VM]);

    // Withdrawn: nothing new is built on it.
    const ask = await post(ops, `/wholesale/feature-packages/${basic}/withdraw`, [['reseller_id', String(a.reseller.id)]]);
    assert.match(text(ask.text), /Existing assignments are not ended/);
    assert.equal((await pressConfirm(ops, ask.text)).status, 303);
    assert.equal(await t.db('feature_package_offers').where({ package_id: basic, reseller_id: a.reseller.id }).first(), undefined);
    const afterWithdraw = await resellerPackage(a.admin, basic, 'Too late', ['VM']);
    assert.equal(afterWithdraw.status, 422);
    assert.match(text(afterWithdraw.text), /Choose a package the operator offers you/);

    // Retired: offered to no one and built on by no one.
    await offer(pro, a.reseller.id);
    assert.equal((await post(ops, `/wholesale/feature-packages/${pro}/retire`, [['confirm', 'yes']])).status, 303);
    const onRetired = await resellerPackage(a.admin, pro, 'On retired', ['VM']);
    assert.equal(onRetired.status, 422);
    assert.match(text(onRetired.text), /The operator retired Pro line/);
    const offerRetired = await post(ops, `/wholesale/feature-packages/${pro}/offers`, [['reseller_id', String(a.reseller.id)]]);
    assert.equal(offerRetired.status, 422);

    // The operator cannot take a feature out of its package while a reseller's package holds it.
    const basic2 = await operatorPackage('Basic two', ['VM', 'CLIP']);
    await offer(basic2, a.reseller.id);
    assert.equal((await resellerPackage(a.admin, basic2, 'Caller', ['CLIP'])).status, 303);
    const shrink = await post(ops, `/wholesale/feature-packages/${basic2}`, [['name', 'Basic two'], ['currency', 'USD'], ['setup_fee', '10'], ['monthly_fee', '5'], ['feature_ids', String(feature.VM)]]);
    assert.equal(shrink.status, 422);
    assert.match(text(shrink.text), /CLIP in .*’s Caller/);
  });

  test('assignment history: assign, end, assign again; overlaps refused (by the service and the database); a future start; times in the viewer’s zone', async () => {
    const a = await tenant();
    const base = await operatorPackage('History base', ['VM', 'CW']);
    await offer(base, a.reseller.id);
    const pkg = idOf(await resellerPackage(a.admin, base, 'History home', ['VM']));
    const sub = a.subscriber.id;

    // 2026-01-10 09:00 in New York is 14:00 UTC.
    const first = await assign(a.admin, sub, pkg, '2026-01-10 09:00');
    assert.equal(first.status, 303, text(first.text));
    const [row] = await t.db('package_assignments').where({ subscriber_id: sub });
    assert.equal(row.starts_at.toISOString(), '2026-01-10T14:00:00.000Z');
    assert.equal(row.ends_at, null);

    const overlap = await assign(a.admin, sub, pkg, '2026-02-01 00:00', '2026-03-01 00:00');
    assert.equal(overlap.status, 422);
    assert.match(text(overlap.text), /already has History home from 2026-01-10 09:00:00 EST with no end/);
    const badEnd = await assign(a.admin, sub, pkg, '2026-05-01 00:00', '2026-04-01 00:00');
    assert.match(text(badEnd.text), /End must be after the start/);
    const badDate = await assign(a.admin, sub, pkg, '2026-02-30 10:00');
    assert.match(text(badDate.text), /Start is not a real date/);

    // End it (asked first), then assign again from later: three rows in the end, none deleted.
    const ask = await post(a.admin, `/reseller/subscribers/${sub}/feature-packages/${row.id}/end`, [['ends_at', '2026-02-01 00:00']]);
    assert.equal(ask.status, 200);
    assert.match(text(ask.text), /End History home\?/);
    assert.equal((await t.db('package_assignments').where({ id: row.id }).first()).ends_at, null);
    // The confirmation carries the end typed on the subscriber's page.
    const ended = await pressConfirm(a.admin, ask.text);
    assert.equal(ended.status, 303, text(ended.text));
    const endedRow = await t.db('package_assignments').where({ id: row.id }).first();
    assert.equal(endedRow.ends_at.toISOString(), '2026-02-01T05:00:00.000Z');
    assert.notEqual(endedRow.ended_recorded_at, null);

    assert.equal((await assign(a.admin, sub, pkg, '2026-01-31 23:00')).status, 422, 'an hour before the first one ended');
    // Right at the end: [start, end) spans touch, they do not overlap.
    assert.equal((await assign(a.admin, sub, pkg, '2026-02-01 00:00', '2026-03-01 00:00')).status, 303);
    // A future start (next year), open-ended.
    const future = await assign(a.admin, sub, pkg, '2099-01-01 00:00');
    assert.equal(future.status, 303, text(future.text));

    // The database refuses an overlap on its own (two admins at once).
    await assert.rejects(
      t.db('package_assignments').insert({ reseller_id: a.reseller.id, subscriber_id: sub, feature_package_id: pkg, starts_at: '2026-02-15T00:00:00Z', ends_at: '2026-02-16T00:00:00Z' }),
      /package_assignments_feature_no_overlap/,
    );

    const history = await service.featureAssignmentsOf(t.db, { kind: 'reseller', resellerId: a.reseller.id }, sub, new Date('2026-06-01T00:00:00Z'));
    assert.deepEqual(history.map((h) => [h.startsAt.toISOString(), h.endsAt?.toISOString() ?? null, h.state]), [
      ['2099-01-01T05:00:00.000Z', null, 'scheduled'],
      ['2026-02-01T05:00:00.000Z', '2026-03-01T05:00:00.000Z', 'ended'],
      ['2026-01-10T14:00:00.000Z', '2026-02-01T05:00:00.000Z', 'ended'],
    ]);
    // Ending an ended one again is refused; the page shows the history in the viewer's zone.
    const again = await post(a.admin, `/reseller/subscribers/${sub}/feature-packages/${row.id}/end`, [['ends_at', '2026-01-20 00:00'], ['confirm', 'yes']]);
    assert.equal(again.status, 303);
    assert.equal((await t.db('package_assignments').where({ id: row.id }).first()).ends_at.toISOString(), '2026-02-01T05:00:00.000Z');
    const page = text((await a.admin.get(`/reseller/subscribers/${sub}`)).text);
    assert.match(page, /History \(3 assignments\)/);
    assert.match(page, /2026-01-10 09:00:00 EST/);

    const events = await t.db('outbox_events').where({ reseller_id: a.reseller.id }).orderBy('position').pluck('type');
    assert.deepEqual(events.filter((e: string) => e.startsWith('package_assignment') || e.startsWith('feature_package')), [
      'feature_package.offered', 'feature_package.created', 'package_assignment.assigned', 'package_assignment.ended', 'package_assignment.assigned', 'package_assignment.assigned',
    ]);
  });

  test('the feature set is the union of the packages in force at an instant, seen by the subscriber, its reseller and the operator', async () => {
    const a = await tenant();
    const base = await operatorPackage('Union base', ['VM', 'CFWD', 'CLIP', 'CW']);
    await offer(base, a.reseller.id);
    const p1 = idOf(await resellerPackage(a.admin, base, 'Union one', ['VM', 'CLIP']));
    const p2 = idOf(await resellerPackage(a.admin, base, 'Union two', ['CLIP', 'CW']));
    const sub = a.subscriber.id;
    assert.equal((await assign(a.admin, sub, p1, '2026-01-01 00:00', '2026-03-01 00:00')).status, 303);
    assert.equal((await assign(a.admin, sub, p2, '2026-02-01 00:00')).status, 303);
    const scope = { kind: 'reseller' as const, resellerId: a.reseller.id };
    const at = async (iso: string) => (await service.featureSetOf(t.db, scope, sub, new Date(iso))).map((f) => `${f.code}:${f.packages.join('+')}`);
    assert.deepEqual(await at('2025-12-31T12:00:00Z'), []);
    assert.deepEqual(await at('2026-01-15T12:00:00Z'), ['CLIP:Union one', 'VM:Union one']);
    assert.deepEqual(await at('2026-02-15T12:00:00Z'), ['CLIP:Union one+Union two', 'CW:Union two', 'VM:Union one']);
    // The end is exclusive: at 2026-03-01 00:00 New York, Union one is over.
    assert.deepEqual(await at('2026-03-01T05:00:00Z'), ['CLIP:Union two', 'CW:Union two']);
    assert.deepEqual(await at('2026-03-01T04:59:59Z'), ['CLIP:Union one+Union two', 'CW:Union two', 'VM:Union one']);

    // The subscriber sees its own, now, with codes; other scopes are not found.
    const me = await Client.login(t.app, (await makeUser(t.db, 'subscriber', { resellerId: a.reseller.id, subscriberId: sub })).email);
    const mine = text((await me.get('/me/features')).text);
    assert.match(mine, /<code>CW<\/code>/);
    assert.match(mine, /<code>CLIP<\/code>/);
    assert.doesNotMatch(mine, /<code>VM<\/code>/);
    assert.doesNotMatch(mine, /Assign package/);
    assert.match(text((await me.get('/me')).text), /data-code="CW"/);
    const other = await tenant();
    await assert.rejects(service.featureSetOf(t.db, { kind: 'reseller', resellerId: other.reseller.id }, sub), /Not found/);
    await assert.rejects(service.featureSetOf(t.db, { kind: 'subscriber', resellerId: a.reseller.id, subscriberId: other.subscriber.id }, sub), /Not found/);
    assert.equal((await service.featureSetOf(t.db, { kind: 'wholesale' }, sub)).length, 2);
    const opsView = text((await ops.get(`/wholesale/resellers/${a.reseller.id}/subscribers/${sub}`)).text);
    assert.match(opsView, /data-code="CW"/);
    assert.doesNotMatch(opsView, /assign-form/);
  });

  test('retired packages and withdrawn offers: no new assignment, existing ones go on (and the page says so); support roles read only; tenants apart', async () => {
    const a = await tenant();
    const b = await tenant('Far Away Voice');
    const base = await operatorPackage('Rules base', ['VM', 'HUNT']);
    const secret = await operatorPackage('Only for b', ['CW']);
    await offer(base, a.reseller.id);
    await offer(base, b.reseller.id);
    await offer(secret, b.reseller.id);
    const pkg = idOf(await resellerPackage(a.admin, base, 'Rules pkg', ['VM']));
    const other = idOf(await resellerPackage(a.admin, base, 'Rules other', ['HUNT']));
    const bPkg = idOf(await resellerPackage(b.admin, secret, 'B private', ['CW']));
    const sub = a.subscriber.id;
    assert.equal((await assign(a.admin, sub, pkg, '2026-01-01 00:00')).status, 303);

    // Retire a reseller package: asked first; then not assignable, its assignment still current.
    assert.equal((await post(a.admin, `/reseller/feature-packages/${pkg}/retire`, [])).status, 200);
    assert.equal((await post(a.admin, `/reseller/feature-packages/${pkg}/retire`, [['confirm', 'yes']])).status, 303);
    const sub2 = await makeSubscriber(t.db, a.reseller.id);
    const refused = await assign(a.admin, sub2.id, pkg, '2026-01-01 00:00');
    assert.equal(refused.status, 422);
    assert.match(text(refused.text), /Rules pkg is retired/);
    assert.deepEqual((await service.featureSetOf(t.db, { kind: 'wholesale' }, sub)).map((f) => f.code), ['VM']);

    // Withdraw the base: existing assignments go on; nothing new assigned; both pages say so.
    assert.equal((await assign(a.admin, sub, other, '2026-01-01 00:00')).status, 303);
    assert.equal((await post(ops, `/wholesale/feature-packages/${base}/withdraw`, [['reseller_id', String(a.reseller.id)], ['confirm', 'yes']])).status, 303);
    const blocked = await assign(a.admin, sub2.id, other, '2026-01-01 00:00');
    assert.equal(blocked.status, 422);
    assert.match(text(blocked.text), /The operator no longer offers Rules base/);
    assert.deepEqual((await service.featureSetOf(t.db, { kind: 'wholesale' }, sub)).map((f) => f.code), ['HUNT', 'VM']);
    assert.match(text((await a.admin.get(`/reseller/feature-packages/${other}`)).text), /the operator no longer offers Rules base\. Existing assignments are not ended/);
    assert.match(text((await a.admin.get('/reseller/feature-packages')).text), /If the operator withdraws an offer, your existing assignments go on/);
    // b still has the offer and its assignments are b's.
    assert.equal((await assign(b.admin, b.subscriber.id, bPkg, '2026-01-01 00:00')).status, 303);

    // Tenancy: a never sees b's packages or offers, nor b's subscriber; b's package id is not found.
    const list = text((await a.admin.get('/reseller/feature-packages')).text);
    assert.doesNotMatch(list, /Only for b|B private|Far Away Voice/);
    assert.equal((await a.admin.get(`/reseller/feature-packages/${bPkg}`)).status, 404);
    assert.equal((await a.admin.get(`/reseller/feature-packages/${base}`)).status, 404, "the operator's package has no reseller page");
    assert.equal((await assign(a.admin, sub, bPkg, '2026-06-01 00:00')).status, 422, "b's package cannot be assigned by a");
    assert.equal((await assign(a.admin, b.subscriber.id, other, '2026-06-01 00:00')).status, 404);
    assert.equal((await a.admin.get('/wholesale/feature-packages')).status, 403);

    // Support roles: every page, no write.
    assert.equal((await a.support.get(`/reseller/subscribers/${sub}`)).status, 200);
    assert.doesNotMatch(text((await a.support.get(`/reseller/subscribers/${sub}`)).text), /assign-form/);
    assert.equal((await assign(a.support, sub, other, '2026-06-01 00:00')).status, 403);
    assert.equal((await a.support.get('/reseller/feature-packages/new')).status, 403);
    const wsupport = await Client.login(t.app, (await makeUser(t.db, 'wholesale_support')).email);
    assert.equal((await wsupport.get(`/wholesale/feature-packages/${base}`)).status, 200);
    assert.doesNotMatch(text((await wsupport.get(`/wholesale/feature-packages/${base}`)).text), />Withdraw<|Retire package|Offer<\/button>/);

    // The operator's pages: offers and subscriber counts on the list; the reseller's page lists its offers.
    const opsList = text((await ops.get('/wholesale/feature-packages')).text);
    assert.match(opsList, new RegExp(`data-package="${base}"[\\s\\S]*?${b.reseller.name}[\\s\\S]*?data-label="Subscribers">1<`));
    assert.match(text((await ops.get(`/wholesale/resellers/${b.reseller.id}`)).text), /Feature packages offered[\s\S]*Only for b/);
  });
});
