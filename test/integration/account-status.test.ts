import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Db } from '../../src/db/knex';
import { cycleAt, previousCycle, type Cycle } from '../../src/domain/billing/cycles';
import { Decimal } from '../../src/domain/money/decimal';
import { addDays } from '../../src/domain/time/zones';
import { postRecurringCharges } from '../../src/modules/billing/billing.service';
import { createTestApp, type TestApp } from '../support/app';
import { makeCallLeg, makeTenants } from '../support/factories';
import { Client } from '../support/http';

/**
 * Account status (issue 11): a subscriber's retail account and a reseller's wholesale account show
 * the cycle in the party's zone, the usage and recurring lines of that cycle, their taxes and the
 * total, which is the sum of the cycle's charges and lines; past cycles link to their own view.
 */
type Fx = Awaited<ReturnType<typeof makeTenants>>;

/** A charge of a leg with its tax and billed total given. */
async function charge(db: Db, leg: { id: number; start_at: Date }, o: { kind: 'wholesale' | 'retail'; resellerId: number; subscriberId: number; planId: number; amount: string; tax: string; billed: string; billedCurrency?: string }) {
  const total = new Decimal(o.amount).plus(o.tax).toFixed();
  await db('charges').insert({
    leg_id: leg.id, start_at: leg.start_at, kind: o.kind, reseller_id: o.resellerId, subscriber_id: o.subscriberId, rate_plan_id: o.planId,
    plan_revision: 1, direction: 'outbound', prefix: '1', description: 'test', rate_effective_from: '2020-01-01T00:00:00Z',
    billable_seconds: 60, charged_seconds: 60, pieces: '[]', currency: 'USD', connect_fee: '0', usage: o.amount, amount: o.amount,
    taxes: '[]', tax_amount: o.tax, total, billed_currency: o.billedCurrency ?? 'USD', exchange_rate: '1', billed_total: o.billed,
  });
}

/** The text of an element by its data-testid. */
function byTestId(html: string, id: string): string | undefined {
  const m = new RegExp(`data-testid="${id}"[^>]*>([^<]*)<`).exec(html);
  return m?.[1]?.trim();
}

const range = (c: Cycle) => `${c.startDate} to ${addDays(c.endDate, -1)}`;

describe('account status', () => {
  let t: TestApp;
  let fx: Fx;
  /** Tokyo, day 5: the subscriber's own cycle, not its reseller's (New York, day 1). */
  const rule = { day: 5, timeZone: 'Asia/Tokyo' };
  let current: Cycle;
  let previous: Cycle;
  let recurringBilled: Decimal;

  before(async () => {
    t = await createTestApp();
    fx = await makeTenants(t.db);
    const a = fx.a;
    await t.db('resellers').where('id', a.reseller.id).update({ time_zone: 'America/New_York', billing_cycle_day: 1 });
    // Created long ago, so that past cycles are listed.
    await t.db('subscribers').where('id', a.subscriber.id).update({ time_zone: rule.timeZone, billing_cycle_day: rule.day, created_at: '2026-01-01T00:00:00Z' });
    current = cycleAt(Date.now(), rule);
    previous = previousCycle(current, rule);
    const s = { resellerId: a.reseller.id, subscriberId: a.subscriber.id, planId: a.plan.id };
    // The first second of the cycle (midnight in Tokyo) and the last second before it.
    const first = await makeCallLeg(t.db, { platformId: fx.platform.id, resellerId: a.reseller.id, subscriberId: a.subscriber.id, startAt: new Date(current.startMs) });
    const second = await makeCallLeg(t.db, { platformId: fx.platform.id, resellerId: a.reseller.id, subscriberId: a.subscriber.id, startAt: new Date(current.startMs + 1000) });
    const before = await makeCallLeg(t.db, { platformId: fx.platform.id, resellerId: a.reseller.id, subscriberId: a.subscriber.id, startAt: new Date(current.startMs - 1000) });
    await charge(t.db, first, { kind: 'retail', ...s, amount: '1.25', tax: '0.10', billed: '1.35' });
    await charge(t.db, second, { kind: 'retail', ...s, amount: '0.5', tax: '0', billed: '0.5' });
    await charge(t.db, before, { kind: 'retail', ...s, amount: '9.99', tax: '0', billed: '9.99' });
    for (const leg of [first, second, before]) await charge(t.db, leg, { kind: 'wholesale', ...s, planId: fx.operatorPlan.id, amount: '0.2', tax: '0.01', billed: '0.21' });
    // A package for the whole cycle, posted by the bill run: its lines are the cycle's recurring charges.
    const [base] = await t.db('feature_packages').insert({ name: 'Operator basic', currency: 'USD', monthly_fee: '3' }).returning('id');
    const [own] = await t.db('feature_packages').insert({ reseller_id: a.reseller.id, base_package_id: base.id, name: 'Voicemail plus', currency: 'USD', setup_fee: '2', monthly_fee: '7.5' }).returning('id');
    await t.db('package_assignments').insert({ reseller_id: a.reseller.id, subscriber_id: a.subscriber.id, feature_package_id: own.id, starts_at: new Date(current.startMs).toISOString() });
    await postRecurringCharges(t.db, { nowMs: Date.now() });
    const r = await t.db('recurring_charges').where({ subscriber_id: a.subscriber.id, side: 'retail' }).where('cycle_start', new Date(current.startMs).toISOString()).sum('billed_total as s').first();
    recurringBilled = new Decimal(String(r?.s ?? 0));
  });
  after(() => t.close());

  test("the subscriber's page: the current cycle in its zone, usage and recurring lines, and a total that is their sum", async () => {
    const c = await Client.login(t.app, fx.a.subscriberUser.email);
    const res = await c.get('/me/account');
    assert.equal(res.status, 200);
    assert.equal(byTestId(res.text, 'cycle-dates'), range(current));
    assert.equal(byTestId(res.text, 'usage-calls'), '2', 'the legs at and after midnight in Tokyo, not the one a second before');
    assert.equal(byTestId(res.text, 'usage-minutes'), '2:00');
    assert.match(res.text, /Voicemail plus/);
    assert.equal(recurringBilled.toFixed(2), '9.50', 'setup 2 + the whole month 7.50');
    const expected = new Decimal('1.35').plus('0.5').plus(recurringBilled);
    assert.equal(byTestId(res.text, 'total-USD'), expected.toFixed(2));
    // The previous cycle: one call, its own total, linked from the table of past cycles.
    assert.match(res.text, new RegExp(`href="/me/account\\?cycle=${previous.startDate}"`));
    const past = await c.get(`/me/account?cycle=${previous.startDate}`);
    assert.equal(past.status, 200);
    assert.equal(byTestId(past.text, 'cycle-dates'), range(previous));
    assert.equal(byTestId(past.text, 'usage-calls'), '1');
    assert.equal(byTestId(past.text, 'total-USD'), '9.99');
    // Not a cycle start, or a cycle still to come: not found.
    assert.equal((await c.get(`/me/account?cycle=${addDays(previous.startDate, 1)}`)).status, 404);
    assert.equal((await c.get(`/me/account?cycle=${current.endDate}`)).status, 404);
  });

  test("the same view for the reseller's staff and the operator's, support roles included (nothing to write)", async () => {
    const paths: Array<[string, string]> = [
      [fx.a.admin.email, `/reseller/subscribers/${fx.a.subscriber.id}/account`],
      [fx.a.support.email, `/reseller/subscribers/${fx.a.subscriber.id}/account`],
      [fx.wholesaleAdmin.email, `/wholesale/resellers/${fx.a.reseller.id}/subscribers/${fx.a.subscriber.id}/account`],
      [fx.wholesaleSupport.email, `/wholesale/resellers/${fx.a.reseller.id}/subscribers/${fx.a.subscriber.id}/account`],
    ];
    const expected = new Decimal('1.85').plus(recurringBilled).toFixed(2);
    for (const [email, path] of paths) {
      const res = await (await Client.login(t.app, email)).get(path);
      assert.equal(res.status, 200, `${email} ${path}`);
      assert.equal(byTestId(res.text, 'total-USD'), expected, `${email} ${path}`);
      assert.doesNotMatch(res.text, /<form[^>]*method="post"[^>]*action="\/(reseller|wholesale)\//, 'no write control on the page');
    }
    // Another tenant's subscriber, and a subscriber under the wrong reseller: not found.
    const a = await Client.login(t.app, fx.a.admin.email);
    assert.equal((await a.get(`/reseller/subscribers/${fx.b.subscriber.id}/account`)).status, 404);
    const op = await Client.login(t.app, fx.wholesaleAdmin.email);
    assert.equal((await op.get(`/wholesale/resellers/${fx.b.reseller.id}/subscribers/${fx.a.subscriber.id}/account`)).status, 404);
  });

  test("the reseller's wholesale account: its wholesale charges and lines in its own cycle (New York, day 1), for its staff and the operator's", async () => {
    const cycle = cycleAt(Date.now(), { day: 1, timeZone: 'America/New_York' });
    const from = cycle.startMs;
    const to = cycle.endMs;
    const usage = await t.db('charges').where({ reseller_id: fx.a.reseller.id, kind: 'wholesale' }).where('start_at', '>=', new Date(from).toISOString()).where('start_at', '<', new Date(to).toISOString()).sum('billed_total as s').first();
    const lines = await t.db('recurring_charges').where({ reseller_id: fx.a.reseller.id, side: 'wholesale' }).where('cycle_start', '>=', new Date(from).toISOString()).where('cycle_start', '<', new Date(to).toISOString()).sum('billed_total as s').first();
    const expected = new Decimal(String(usage?.s ?? 0)).plus(String(lines?.s ?? 0));
    assert.ok(expected.gt(0));
    for (const [email, path] of [[fx.a.admin.email, '/reseller/account'], [fx.a.support.email, '/reseller/account'], [fx.wholesaleSupport.email, `/wholesale/resellers/${fx.a.reseller.id}/account`]] as const) {
      const res = await (await Client.login(t.app, email)).get(path);
      assert.equal(res.status, 200, path);
      assert.equal(byTestId(res.text, 'cycle-dates'), range(cycle));
      assert.equal(byTestId(res.text, 'total-USD'), expected.toFixed(2), `${email} ${path}`);
      assert.match(res.text, /Operator basic/, 'the base package is what the reseller pays for');
    }
    const other = await Client.login(t.app, fx.b.admin.email);
    assert.doesNotMatch((await other.get('/reseller/account')).text, /Operator basic/);
  });

  test('a reseller that does its own billing: the page says so and shows usage only', async () => {
    await t.db('resellers').where('id', fx.a.reseller.id).update({ billing_service: false });
    try {
      const res = await (await Client.login(t.app, fx.a.subscriberUser.email)).get('/me/account');
      assert.equal(res.status, 200);
      assert.match(byTestId(res.text, 'own-billing') ?? '', /does its own billing/);
      assert.equal(byTestId(res.text, 'usage-calls'), '2');
      assert.equal(byTestId(res.text, 'total-USD'), undefined);
      assert.doesNotMatch(res.text, /Voicemail plus/);
    } finally {
      await t.db('resellers').where('id', fx.a.reseller.id).update({ billing_service: true });
    }
  });

  test('the billing cycle day on the reseller and subscriber forms: saved, checked, and a subscriber follows its reseller when blank', async () => {
    const op = await Client.login(t.app, fx.wholesaleAdmin.email);
    const r = fx.b.reseller;
    const form = { name: r.name, code: r.code, currency: 'USD', billing_service: 'on', time_zone: 'Europe/London' };
    const edit = await op.get(`/wholesale/resellers/${r.id}/edit`);
    assert.match(edit.text, /Billing cycle day/);
    const bad = await op.submit(`/wholesale/resellers/${r.id}`, { ...form, billing_cycle_day: '31' }, `/wholesale/resellers/${r.id}/edit`);
    assert.equal(bad.status, 422);
    assert.match(bad.text, /from 1 to 28/);
    assert.equal((await op.submit(`/wholesale/resellers/${r.id}`, { ...form, billing_cycle_day: '15' }, `/wholesale/resellers/${r.id}/edit`)).status, 303);
    assert.equal((await t.db('resellers').where('id', r.id).first()).billing_cycle_day, 15);
    const audit = await t.db('audit_log').where({ entity_type: 'reseller', entity_id: r.id, action: 'update' }).orderBy('id', 'desc').first();
    const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v) as Record<string, unknown>;
    assert.deepEqual([json(audit.before).billing_cycle_day, json(audit.after).billing_cycle_day], [1, 15], 'the change is audited');
    const shown = await op.get(`/wholesale/resellers/${r.id}`);
    const c = cycleAt(Date.now(), { day: 15, timeZone: 'Europe/London' });
    assert.match(byTestId(shown.text, 'reseller-cycle') ?? '', new RegExp(`Day 15; current ${c.startDate} to ${addDays(c.endDate, -1)} \\(Europe/London\\)`));

    const admin = await Client.login(t.app, fx.b.admin.email);
    const s = fx.b.subscriber;
    const sub = { account_number: s.account_number, name: s.name, country: 'US' };
    assert.equal((await admin.submit(`/reseller/subscribers/${s.id}`, { ...sub, billing_cycle_day: '20' }, `/reseller/subscribers/${s.id}/edit`)).status, 303);
    assert.equal((await t.db('subscribers').where('id', s.id).first()).billing_cycle_day, 20);
    assert.equal((await admin.submit(`/reseller/subscribers/${s.id}`, { ...sub, billing_cycle_day: '' }, `/reseller/subscribers/${s.id}/edit`)).status, 303);
    assert.equal((await t.db('subscribers').where('id', s.id).first()).billing_cycle_day, null);
    const page = await admin.get(`/reseller/subscribers/${s.id}`);
    assert.match(byTestId(page.text, 'subscriber-cycle') ?? '', /Day 15 \(the reseller’s\)/);
  });
});
