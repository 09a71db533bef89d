import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rerateLegs } from '../../src/modules/rating/rerate.service';
import { createTestApp, type TestApp } from '../support/app';
import { makePlan, makeReseller, makeSubscriber, makeUser, makeRates, rateRow } from '../support/factories';
import { Client } from '../support/http';
import { makePlatform, postCdrs } from '../support/intake';

/**
 * A leg's status and its charges always agree (issue: after a re-rating where the retail side still
 * failed, a leg stayed 'unrated' beside a wholesale charge). rated: every charge it owes; partial:
 * one of the two, the reason naming the missing side; unrated and blocked: none.
 */
describe('a leg’s status agrees with its charges', () => {
  let t: TestApp;
  let token: string;
  let wholesale: { id: number };
  let retail: { id: number };
  let reseller: { id: number };

  before(async () => {
    t = await createTestApp();
    token = (await makePlatform(t.db)).token;
    wholesale = await makePlan(t.db, null, { name: 'WS' });
    reseller = await makeReseller(t.db, { wholesale_plan_id: wholesale.id, billing_service: true });
    retail = await makePlan(t.db, reseller.id, { name: 'Retail' });
    await makeSubscriber(t.db, reseller.id, { retail_plan_id: retail.id }, ['+12125550100']);
  });
  after(() => t.close());

  const addRate = async (plan: { id: number }, resellerId: number | null, prefix: string) => {
    await makeRates(t.db, rateRow({ id: plan.id, reseller_id: resellerId }, { prefix, rate: '0.06', increment: 60 }));
    // Straight into the table, not through the deck import: the compiled plan is dropped by hand.
    t.planCache.invalidate(plan.id);
  };
  const leg = (id: string, called: string) => ({ leg_id: id, calling: '+12125550100', called, start: '2026-11-25T12:00:00Z', answer: '2026-11-25T12:00:00Z', end: '2026-11-25T12:01:00Z' });
  const stored = async (id: number) => ({
    leg: await t.db('call_legs').where({ id }).first('status', 'unrated_reason', 'rated_at'),
    kinds: (await t.db('charges').where({ leg_id: id }).orderBy('kind').pluck('kind')) as string[],
  });
  const rerate = (ids: number[]) => rerateLegs(t.db, { plans: t.planCache, refs: t.referenceData }, { kind: 'wholesale' }, { ids });

  test('wholesale priced and retail not: partial, with its wholesale charge, the reason naming the retail side; re-rated once the rate is there: rated', async () => {
    await addRate(wholesale, null, '44');
    const res = await postCdrs(t, token, leg('PS-1', '+442079460000'));
    const out = res.body.records[0].legs[0];
    assert.equal(out.status, 'partial');
    let s = await stored(out.id);
    assert.equal(s.leg.status, 'partial');
    assert.match(s.leg.unrated_reason, /^retail: /);
    assert.ok(s.leg.rated_at, 'a partial leg was rated, on one side');
    assert.deepEqual(s.kinds, ['wholesale']);

    await addRate(retail, reseller.id, '44');
    const outcome = await rerate([out.id]);
    assert.deepEqual([outcome.rated, outcome.partial, outcome.unrated], [1, 0, 0]);
    s = await stored(out.id);
    assert.deepEqual([s.leg.status, s.leg.unrated_reason, s.kinds], ['rated', null, ['retail', 'wholesale']]);
  });

  test('neither side priced: unrated with no charge; a re-rating that prices only the wholesale side makes it partial, never unrated beside a charge', async () => {
    const res = await postCdrs(t, token, leg('PS-2', '+33142000000'));
    const id = res.body.records[0].legs[0].id;
    let s = await stored(id);
    assert.deepEqual([s.leg.status, s.kinds], ['unrated', []]);
    assert.match(s.leg.unrated_reason, /wholesale: .*; retail: /);

    await addRate(wholesale, null, '33');
    const outcome = await rerate([id]);
    assert.deepEqual([outcome.rated, outcome.partial, outcome.unrated], [0, 1, 0]);
    s = await stored(id);
    assert.deepEqual([s.leg.status, s.kinds], ['partial', ['wholesale']]);
    assert.match(s.leg.unrated_reason, /^retail: /);
  });

  test('every stored leg: rated has every charge it owes, partial exactly one, unrated and blocked none', async () => {
    const rows = (await t.db.raw(
      `SELECT l.status, count(c.leg_id)::int AS n FROM call_legs l LEFT JOIN charges c ON c.leg_id = l.id AND c.start_at = l.start_at GROUP BY l.id, l.status`,
    )) as { rows: Array<{ status: string; n: number }> };
    assert.ok(rows.rows.length >= 2);
    for (const r of rows.rows) assert.equal(r.n, { rated: 2, partial: 1, unrated: 0, blocked: 0 }[r.status], `${r.status} with ${r.n} charges`);
  });

  test('the unrated page lists partly rated calls and says so; the call page says which charge is missing', async () => {
    const admin = await makeUser(t.db, 'wholesale_admin');
    const agent = await Client.login(t.app, admin.email);
    const page = await agent.get('/wholesale/unrated');
    assert.equal(page.status, 200);
    assert.match(page.text, /partly rated/);
    const partial = await t.db('call_legs').where({ status: 'partial' }).first('id');
    const show = await agent.get(`/wholesale/calls/${partial.id}`);
    assert.match(show.text, /Partly rated \(one charge is missing\): retail: /);
    const only = await agent.get('/wholesale/unrated?status=partial');
    assert.match(only.text, /partly rated/);
  });
});
