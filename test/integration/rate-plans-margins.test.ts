import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from '../support/app';
import { makeExchangeRate, makePlan, makeRates, makeReseller, makeUser, rateRow, step } from '../support/factories';
import { Client } from '../support/http';
import { DECK_HEADER } from '../support/rating';

async function upload(c: Client, path: string, csv: string, fields: Record<string, string> = {}) {
  let req = c.agent.post(path).field('_csrf', c.csrf);
  for (const [k, v] of Object.entries(fields)) req = req.field(k, v);
  return req.attach('file', Buffer.from(csv), 'deck.csv');
}

const PLAN = { rounding_decimals: '4', rounding_method: 'half_up', time_zone: 'UTC', band_mode: 'split' };
/** Retail: 44 below its cost (0.04 < 0.05), 4420 above the 44 cost, 1 at 0.02 a minute in 30 s units (0.04 a minute, above 0.01), 86 with no cost. */
const RETAIL = `${DECK_HEADER}
44,UK,outbound,,0,0.04,60,60,,,,
4420,London,outbound,,0,0.10,60,60,,,,
1,US,outbound,,0,0.02,30,30,,,,
86,China,outbound,,0,0.20,60,60,,,,
`;

const rowsOf = (html: string) => [...html.matchAll(/<tr class="(below)?" data-prefix="(\d+)">[\s\S]*?data-testid="margin">([^<]*)<\/td>/g)].map((m) => `${m[2]} ${m[3]}`);

describe("a reseller's costs and margins", () => {
  let t: TestApp;
  let reseller: Awaited<ReturnType<typeof makeReseller>>;
  let other: Awaited<ReturnType<typeof makeReseller>>;
  let wholesale: Awaited<ReturnType<typeof makePlan>>;
  let otherWholesale: Awaited<ReturnType<typeof makePlan>>;
  let unassigned: Awaited<ReturnType<typeof makePlan>>;
  let radmin: Client;
  let rsupport: Client;
  let oadmin: Client;

  before(async () => {
    t = await createTestApp();
    reseller = await makeReseller(t.db);
    other = await makeReseller(t.db);
    wholesale = await makePlan(t.db, null, { name: 'Wholesale for A' });
    otherWholesale = await makePlan(t.db, null, { name: 'Wholesale for B' });
    unassigned = await makePlan(t.db, null, { name: 'Operator private plan' });
    await makeRates(
      t.db,
      rateRow(wholesale, { prefix: '44', rate: '0.05', description: 'UK cost' }),
      rateRow(wholesale, { prefix: '1', steps: [step('0.01', 60, 60)] }),
      // A later wholesale price is not today's cost.
      rateRow(wholesale, { prefix: '4420', rate: '0.50', effectiveFrom: '2099-01-01T00:00:00Z' }),
      rateRow(otherWholesale, { prefix: '999', rate: '0.77', description: 'B only destination' }),
      rateRow(unassigned, { prefix: '888', rate: '0.66', description: 'Private destination' }),
    );
    await t.db('resellers').where({ id: reseller.id }).update({ wholesale_plan_id: wholesale.id });
    await t.db('resellers').where({ id: other.id }).update({ wholesale_plan_id: otherWholesale.id });
    radmin = await Client.login(t.app, (await makeUser(t.db, 'reseller_admin', { resellerId: reseller.id })).email);
    rsupport = await Client.login(t.app, (await makeUser(t.db, 'reseller_support', { resellerId: reseller.id })).email);
    oadmin = await Client.login(t.app, (await makeUser(t.db, 'reseller_admin', { resellerId: other.id })).email);
  });
  after(() => t.close());

  async function retailPlan(c: Client, name: string, currency = 'USD') {
    const res = await c.submit('/reseller/rate-plans', { name, currency, ...PLAN }, '/reseller/rate-plans/new');
    assert.equal(res.status, 303);
    const id = Number(/\/(\d+)$/.exec(res.headers.location as string)?.[1]);
    await c.refreshCsrf(`/reseller/rate-plans/${id}`);
    return id;
  }

  test('importing a retail deck warns of destinations below cost, and imports all the same', async () => {
    const id = await retailPlan(radmin, 'Retail USD');
    const res = await upload(radmin, `/reseller/rate-plans/${id}/deck`, RETAIL, { mode: 'replace' });
    assert.equal(res.status, 303);
    const page = await radmin.get(`/reseller/rate-plans/${id}`);
    assert.match(page.text, /Deck imported \(replace\): 4 rates/);
    assert.match(page.text, /Warning: 1 destination is sold below your cost: 44 UK \(outbound\): 0\.04 &lt; 0\.05 USD\/min\./);
    assert.equal(Number((await t.db('rates').where({ rate_plan_id: id }).count('* as n').first())?.n), 4);
    // A deck with nothing below cost says nothing of it.
    const fine = await retailPlan(radmin, 'Retail fine');
    assert.equal((await upload(radmin, `/reseller/rate-plans/${fine}/deck`, `${DECK_HEADER}\n44,UK,outbound,,0,0.06,60,60,,,,\n`, { mode: 'replace' })).status, 303);
    assert.doesNotMatch((await radmin.get(`/reseller/rate-plans/${fine}`)).text, /below your cost/);
  });

  test('the margins page: each destination, its price beside its cost per minute and the margin; the rule stated; only below cost on request', async () => {
    const id = Number((await t.db('rate_plans').where({ reseller_id: reseller.id, name: 'Retail USD' }).first()).id);
    const page = await rsupport.get(`/reseller/rate-plans/${id}/margins`);
    assert.equal(page.status, 200, 'support reads it');
    assert.match(page.text, /data-testid="margin-rule">How costs are compared/);
    assert.match(page.text, /<strong>4<\/strong> destinations in force, <strong data-testid="below-count">1<\/strong> sold below cost/);
    // 1: 0.02 per 30 s is 0.04 a minute against 0.01; 4420 is covered by the 44 cost (its own wholesale price starts in 2099).
    assert.deepEqual(rowsOf(page.text), ['1 0.03', '44 -0.01 (below cost)', '4420 0.05', '86 ']);
    assert.match(page.text, /<td>no cost found<\/td>/);
    const below = await radmin.get(`/reseller/rate-plans/${id}/margins?below=1`);
    assert.deepEqual(rowsOf(below.text), ['44 -0.01 (below cost)']);
    const uk = await radmin.get(`/reseller/rate-plans/${id}/margins?prefix=%2B44`);
    assert.deepEqual(rowsOf(uk.text), ['44 -0.01 (below cost)', '4420 0.05'], 'narrowed by prefix; the counts still cover the plan');
    assert.match(uk.text, /<strong>4<\/strong> destinations in force, <strong data-testid="below-count">1<\/strong> sold below cost; 2 match/);

    const list = await radmin.get('/reseller/below-cost');
    assert.equal(list.status, 200);
    assert.match(list.text, /data-testid="below-total"><strong>1<\/strong> destination sold below cost across 2 plans/);
    assert.match(list.text, /<tr class="below" data-prefix="44">/);
    assert.match(list.text, /Retail fine<\/a> \(USD\)<\/h2>\s*<p class="empty">None below cost/);
  });

  test('another currency compares through the exchange rate in force, or says it cannot', async () => {
    const id = await retailPlan(radmin, 'Retail EUR', 'EUR');
    assert.equal((await upload(radmin, `/reseller/rate-plans/${id}/deck`, `${DECK_HEADER}\n44,UK,outbound,,0,0.03,60,60,,,,\n`, { mode: 'replace' })).status, 303);
    const none = await radmin.get(`/reseller/rate-plans/${id}/margins`);
    assert.match(none.text, /data-testid="cannot-compare">No exchange rate from USD to EUR is in force/);
    assert.match(none.text, /<strong data-testid="below-count">0<\/strong>/, 'nothing is called below cost when it cannot be compared');
    await makeExchangeRate(t.db, 'USD', 'EUR', '0.5', '2020-01-01T00:00:00Z');
    const half = await radmin.get(`/reseller/rate-plans/${id}/margins`);
    assert.deepEqual(rowsOf(half.text), ['44 0.005'], '0.05 USD is 0.025 EUR: 0.03 is above it');
    await makeExchangeRate(t.db, 'USD', 'EUR', '0.8', '2021-01-01T00:00:00Z');
    assert.deepEqual(rowsOf((await radmin.get(`/reseller/rate-plans/${id}/margins`)).text), ['44 -0.01 (below cost)'], 'the rate in force now: 0.04 EUR');
  });

  test('tenancy: a reseller sees its own wholesale plan, rates only, and no other plan of the operator or of another reseller', async () => {
    const mine = await radmin.get('/reseller/wholesale-plan');
    assert.equal(mine.status, 200);
    assert.match(mine.text, /data-testid="wholesale-plan-name">Wholesale for A</);
    assert.match(mine.text, /UK cost/);
    for (const leak of ['Wholesale for B', 'B only destination', 'Private destination', 'Operator private plan', other.name, 'Assigned to']) assert.ok(!mine.text.includes(leak), leak);
    const theirs = await oadmin.get('/reseller/wholesale-plan');
    assert.match(theirs.text, /Wholesale for B/);
    assert.ok(!theirs.text.includes('UK cost'));
    assert.ok(!theirs.text.includes(reseller.name));

    const retailA = Number((await t.db('rate_plans').where({ reseller_id: reseller.id, name: 'Retail USD' }).first()).id);
    const retailB = await retailPlan(oadmin, 'B retail');
    for (const path of [`/reseller/rate-plans/${wholesale.id}`, `/reseller/rate-plans/${unassigned.id}`, `/reseller/rate-plans/${wholesale.id}/margins`, `/reseller/rate-plans/${wholesale.id}/deck.csv`, `/reseller/rate-plans/${wholesale.id}/versions`, `/reseller/rate-plans/${wholesale.id}/compare`]) {
      assert.equal((await radmin.get(path)).status, 404, path);
    }
    for (const path of [`/reseller/rate-plans/${retailB}`, `/reseller/rate-plans/${retailB}/margins`, `/reseller/rate-plans/${retailB}/versions`, `/reseller/rate-plans/${retailB}/compare.csv`]) {
      assert.equal((await radmin.get(path)).status, 404, path);
    }
    assert.equal((await oadmin.get(`/reseller/rate-plans/${retailA}/margins`)).status, 404);
    assert.equal((await radmin.submit(`/reseller/rate-plans/${retailB}/clone`, { clone_name: 'Stolen' })).status, 404);
    const list = await radmin.get('/reseller/rate-plans');
    assert.ok(!list.text.includes('B retail') && !list.text.includes('Wholesale for A'), 'the list holds its own retail plans only');
    // No wholesale plan assigned: the page says so.
    const lone = await makeReseller(t.db);
    const loneAdmin = await Client.login(t.app, (await makeUser(t.db, 'reseller_admin', { resellerId: lone.id })).email);
    assert.match((await loneAdmin.get('/reseller/wholesale-plan')).text, /data-testid="no-wholesale-plan"/);
  });
});
