/**
 * Create forms offer the choices they need (issue 11, portal usability): the rate plan to assign
 * right on the reseller's and the subscriber's create forms (assigned in the creating transaction,
 * never another owner's plan), and currencies, countries and time zones from lists.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from '../support/app';
import { makePlan, makeTenants } from '../support/factories';
import { Client } from '../support/http';

/** The options of a select, as [value, label]. */
function optionsOf(html: string, name: string): string[][] {
  const select = new RegExp(`<select id="f-${name}" name="${name}"[^>]*>([\\s\\S]*?)</select>`).exec(html)?.[1] ?? '';
  return [...select.matchAll(/<option value="([^"]*)"[^>]*>([^<]*)<\/option>/g)].map((m) => [m[1] as string, (m[2] as string).trim()]);
}

/** The codes of a datalist. */
function listOf(html: string, id: string): string[] {
  const list = new RegExp(`<datalist id="${id}">([\\s\\S]*?)</datalist>`).exec(html)?.[1] ?? '';
  return [...list.matchAll(/<option value="([^"]+)"/g)].map((m) => m[1] as string);
}

describe('create forms: the plan to assign, currencies, countries and time zones from lists', () => {
  let t: TestApp;
  let fx: Awaited<ReturnType<typeof makeTenants>>;
  let operator: Client;
  let resellerAdmin: Client;

  before(async () => {
    t = await createTestApp();
    fx = await makeTenants(t.db);
    operator = await Client.login(t.app, fx.wholesaleAdmin.email);
    resellerAdmin = await Client.login(t.app, fx.a.admin.email);
  });
  after(() => t.close());

  const newReseller = (code: string, extra: Record<string, string> = {}) => ({
    name: `Reseller ${code}`, code, currency: 'EUR', billing_service: 'on', admin_name: 'Ann', admin_email: `ann@${code}.example`, admin_password: 'a-long-enough-password', ...extra,
  });

  test('the new reseller form lists the operator’s plans (not a reseller’s), currencies and time zones', async () => {
    const page = await operator.get('/wholesale/resellers/new');
    assert.equal(page.status, 200);
    const plans = optionsOf(page.text, 'wholesale_plan_id');
    assert.equal(plans[0]?.[0], '', 'blank first: a plan can be assigned later');
    assert.ok(plans.some(([v]) => v === String(fx.operatorPlan.id)), 'the operator’s plan is offered');
    assert.ok(!plans.some(([v]) => v === String(fx.a.plan.id)), 'a reseller’s plan is not');
    const currencies = listOf(page.text, 'currency-codes');
    for (const c of ['USD', 'EUR', 'GBP', 'JPY']) assert.ok(currencies.includes(c), `${c} offered`);
    assert.ok(listOf(page.text, 'time-zone-names').includes('America/New_York'));
    assert.match(page.text, /list="currency-codes"/);
  });

  test('a reseller created with a plan has it from the start, in the same audited change', async () => {
    const res = await operator.submit('/wholesale/resellers', newReseller('with-plan', { wholesale_plan_id: String(fx.operatorPlan.id) }), '/wholesale/resellers/new');
    assert.equal(res.status, 303);
    const row = await t.db('resellers').where({ code: 'with-plan' }).first();
    assert.equal(row.wholesale_plan_id, fx.operatorPlan.id);
    const audit = await t.db('audit_log').where({ entity_type: 'reseller', entity_id: row.id }).orderBy('id');
    assert.deepEqual(audit.map((a) => a.action), ['create'], 'one change: created with its plan');
    assert.equal(audit[0].after.wholesale_plan_id, fx.operatorPlan.id);
    const shown = await operator.get(`/wholesale/resellers/${row.id}`);
    assert.match(shown.text, new RegExp(`data-testid="reseller-plan">Wholesale plan: ${fx.operatorPlan.name}<`));

    const none = await operator.submit('/wholesale/resellers', newReseller('without-plan'), '/wholesale/resellers/new');
    assert.equal(none.status, 303);
    assert.equal((await t.db('resellers').where({ code: 'without-plan' }).first()).wholesale_plan_id, null);
  });

  test('a reseller’s plan, or no plan at all, is refused beside the field and nothing is created', async () => {
    for (const bad of [String(fx.a.plan.id), '999999', 'abc']) {
      const res = await operator.submit('/wholesale/resellers', newReseller('refused-plan', { wholesale_plan_id: bad }), '/wholesale/resellers/new');
      assert.equal(res.status, 422, bad);
      assert.match(res.text, /id="f-wholesale_plan_id-error">Choose one of the operator’s rate plans</);
      assert.equal(await t.db('resellers').where({ code: 'refused-plan' }).first(), undefined);
      assert.equal(await t.db('users').where({ email: 'ann@refused-plan.example' }).first(), undefined);
      // The form comes back with its plans to choose from.
      assert.ok(optionsOf(res.text, 'wholesale_plan_id').length >= 2);
    }
  });

  test('the new subscriber form lists the reseller’s own plans and the countries', async () => {
    const page = await resellerAdmin.get('/reseller/subscribers/new');
    assert.equal(page.status, 200);
    const plans = optionsOf(page.text, 'retail_plan_id').map(([v]) => v);
    assert.deepEqual(plans, ['', String(fx.a.plan.id)], 'its own plan only: not the operator’s, not another reseller’s');
    const countries = listOf(page.text, 'country-codes');
    for (const c of ['US', 'CA', 'GB', 'DE', 'JP']) assert.ok(countries.includes(c), `${c} offered`);
    assert.ok(!countries.includes('EU') && !countries.includes('UK'), 'groupings and non-ISO codes are not countries');
    assert.equal(countries.length, 249);
  });

  test('a subscriber created with a plan is rated by it from the start; another reseller’s plan is refused', async () => {
    const ok = await resellerAdmin.submit('/reseller/subscribers', { account_number: 'PLAN-1', name: 'Planned', country: 'US', retail_plan_id: String(fx.a.plan.id) }, '/reseller/subscribers/new');
    assert.equal(ok.status, 303);
    const sub = await t.db('subscribers').where({ reseller_id: fx.a.reseller.id, account_number: 'PLAN-1' }).first();
    assert.equal(sub.retail_plan_id, fx.a.plan.id);
    const audit = await t.db('audit_log').where({ entity_type: 'subscriber', entity_id: sub.id }).orderBy('id');
    assert.deepEqual(audit.map((a) => a.action), ['create']);
    assert.equal(audit[0].after.retail_plan_id, fx.a.plan.id);

    const otherPlan = await makePlan(t.db, fx.b.reseller.id);
    for (const bad of [String(fx.b.plan.id), String(otherPlan.id), String(fx.operatorPlan.id)]) {
      const res = await resellerAdmin.submit('/reseller/subscribers', { account_number: 'PLAN-2', name: 'Refused', country: 'US', retail_plan_id: bad }, '/reseller/subscribers/new');
      assert.equal(res.status, 422, bad);
      assert.match(res.text, /id="f-retail_plan_id-error">Choose one of your rate plans</);
      assert.equal(await t.db('subscribers').where({ account_number: 'PLAN-2' }).first(), undefined);
    }
  });

  test('the subscriber page links to its calls; the reseller page to its subscribers, calls, plan and number ranges', async () => {
    const sub = await resellerAdmin.get(`/reseller/subscribers/${fx.a.subscriber.id}`);
    assert.match(sub.text, new RegExp(`href="/reseller/calls\\?subscriber=${fx.a.subscriber.id}" data-testid="subscriber-calls"`));
    const seen = await operator.get(`/wholesale/resellers/${fx.a.reseller.id}/subscribers/${fx.a.subscriber.id}`);
    assert.match(seen.text, new RegExp(`href="/wholesale/calls\\?subscriber=${fx.a.subscriber.id}"`));
    const r = await operator.get(`/wholesale/resellers/${fx.a.reseller.id}`);
    assert.match(r.text, new RegExp(`href="/wholesale/resellers/${fx.a.reseller.id}/subscribers" data-testid="reseller-subscribers"`));
    assert.match(r.text, new RegExp(`href="/wholesale/calls\\?reseller=${fx.a.reseller.id}" data-testid="reseller-calls"`));
    assert.match(r.text, new RegExp(`href="/wholesale/resellers/${fx.a.reseller.id}/number-ranges" data-testid="reseller-ranges"`));
    const list = await operator.get(`/wholesale/resellers?q=${fx.a.reseller.code}`);
    assert.match(list.text, new RegExp(`href="/wholesale/resellers/${fx.a.reseller.id}/subscribers"`));
  });
});
