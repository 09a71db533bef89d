import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isUnratable, rateLeg } from '../../src/domain/rating/engine';
import type { PlanCache } from '../../src/modules/rate-plans/plan-cache';
import { createPeerApp, createTestApp, type TestApp } from '../support/app';
import { makePlan, makeReseller, makeSubscriber, makeUser } from '../support/factories';
import { Client } from '../support/http';
import { decimalCharge, DECK_HEADER } from '../support/rating';

const BANDS = 'band,days,start\npeak,mon-fri,08:00\noffpeak,mon-fri,18:00\noffpeak,sat-sun,00:00\n';
const DECK = `${DECK_HEADER}
1,US,outbound,peak,0,0.10,60,30,0.01,,,2026-01-01
1,US,outbound,peak,30,0.10,60,6,,,,2026-01-01
1,US,outbound,offpeak,0,0.04,60,1,,,,2026-01-01
44,UK,outbound,,0,0.05,60,60,,0.02,3.00,2026-01-01
1800,US toll-free,inbound,,0,0.03,60,6,,,,2026-01-01
`;

async function upload(c: Client, path: string, csv: string, fields: Record<string, string> = {}) {
  let req = c.agent.post(path).field('_csrf', c.csrf);
  for (const [k, v] of Object.entries(fields)) req = req.field(k, v);
  return req.attach('file', Buffer.from(csv), 'upload.csv');
}

describe('rate plans: create, import, export, assign, cache', () => {
  let t: TestApp;
  let admin: Client;

  before(async () => {
    t = await createTestApp();
    admin = await Client.login(t.app, (await makeUser(t.db, 'wholesale_admin')).email);
  });
  after(() => t.close());

  async function newPlan(name: string, extra: Record<string, string> = {}) {
    const res = await admin.submit('/wholesale/rate-plans', { name, currency: 'usd', rounding_decimals: '4', rounding_method: 'half_up', time_zone: 'America/New_York', band_mode: 'split', ...extra });
    assert.equal(res.status, 303, res.text.slice(0, 300));
    return Number(/\/(\d+)$/.exec(res.headers.location as string)?.[1]);
  }

  test('a plan is created with its pricing rules; bad settings are refused beside their fields', async () => {
    const bad = await admin.submit('/wholesale/rate-plans', { name: 'Bad', currency: 'dollars', rounding_decimals: '12', rounding_method: 'sideways', time_zone: 'Mars/Olympus', band_mode: 'split' });
    assert.equal(bad.status, 422);
    assert.match(bad.text, /Currency must be a three-letter/);
    assert.match(bad.text, /Decimals must be a whole number from 0 to 10/);
    assert.match(bad.text, /Choose a rounding method/);
    assert.match(bad.text, /Unknown time zone/);
    const id = await newPlan('Wholesale A');
    const row = await t.db('rate_plans').where({ id }).first();
    assert.equal(row.currency, 'USD');
    assert.equal(row.reseller_id, null);
    const dup = await admin.submit('/wholesale/rate-plans', { name: 'wholesale a', currency: 'USD', rounding_decimals: '4', rounding_method: 'half_up', time_zone: 'UTC', band_mode: 'split' });
    assert.equal(dup.status, 422);
    assert.match(dup.text, /You already have a plan with this name/);
  });

  test('deck import is all or nothing and lists every bad row by line', async () => {
    const id = await newPlan('Strict');
    await admin.refreshCsrf(`/wholesale/rate-plans/${id}`);
    const bad = await upload(admin, `/wholesale/rate-plans/${id}/deck`, `${DECK_HEADER}\n1,US,outbound,,0,0.10,60,1,,,,\n2,X,sideways,,0,0.1,60,1,,,,\n3,Y,outbound,peak,0,abc,60,0,,,,\n`, { mode: 'merge' });
    assert.equal(bad.status, 422);
    assert.match(bad.text, /Line 3: direction &#34;sideways&#34;/);
    assert.match(bad.text, /Line 4: band &#34;peak&#34; is not defined for this plan; rate &#34;abc&#34;/);
    assert.equal(Number((await t.db('rates').where({ rate_plan_id: id }).count('* as n').first())?.n), 0, 'the good row was not kept either');
    const missingColumn = await upload(admin, `/wholesale/rate-plans/${id}/deck`, 'prefix,rate\n1,0.1\n', { mode: 'merge' });
    assert.match(missingColumn.text, /Line 1: missing columns: description, direction/);
  });

  test('the rate look-up prices one call on the plan with the intake\'s engine: prefix, band, steps, connect fee, caps; an unmatched number says so; bad fields are named', async () => {
    const id = await newPlan('Look-up');
    await admin.refreshCsrf(`/wholesale/rate-plans/${id}`);
    assert.equal((await upload(admin, `/wholesale/rate-plans/${id}/bands`, BANDS)).status, 303);
    assert.equal((await upload(admin, `/wholesale/rate-plans/${id}/deck`, DECK, { mode: 'replace' })).status, 303);
    const page = (q: Record<string, string>) => admin.get(`/wholesale/rate-plans/${id}?${new URLSearchParams(q)}`);
    const zone = /Start \(([^,]+),/.exec((await admin.get(`/wholesale/rate-plans/${id}`)).text)?.[1];
    assert.equal(zone, 'UTC', 'the operator sees its own time zone');

    // Wednesday 15:00 UTC is 10:00 in New York (the plan's zone): peak. 95 s: a 30 s first block
    // (0.10 a minute: 0.05), then 6 s blocks for 65 s (66 s: 0.11), and the 0.01 connect fee.
    const us = await page({ lookup_number: '+1 212 555 0100', lookup_at: '2026-11-25 15:00', lookup_seconds: '95', lookup_direction: 'outbound' });
    assert.equal(us.status, 200);
    assert.match(us.text, /data-testid="lookup-prefix">1</);
    assert.match(us.text, /data-testid="lookup-amount">0\.1700 USD</);
    assert.match(us.text, /95 s answered, 96 s charged/);
    const pieces = /data-testid="lookup-pieces">([\s\S]*?)<\/table>/.exec(us.text)?.[1] ?? '';
    assert.match(pieces, /<td>peak<\/td><td>1<\/td><td class="num">0<\/td><td class="num">30<\/td>/);
    assert.match(pieces, /<td>peak<\/td><td>2<\/td><td class="num">30<\/td><td class="num">66<\/td>/);
    // The same call at 23:30 UTC (18:30 in New York) is off-peak: 95 s at 0.04 a minute, no fee.
    const evening = await page({ lookup_number: '+12125550100', lookup_at: '2026-11-25 23:30', lookup_seconds: '95' });
    assert.match(evening.text, /<td>offpeak<\/td>/);
    assert.match(evening.text, /data-testid="lookup-amount">0\.0633 USD</);
    // Two hours to the UK: 6.00 at 0.05 a minute, capped at the 3.00 maximum cost.
    const uk = await page({ lookup_number: '+442079460000', lookup_at: '2026-11-25 15:00', lookup_seconds: '7200' });
    assert.match(uk.text, /Replaced by the maximum cost/);
    assert.match(uk.text, /data-testid="lookup-amount">3\.0000 USD</);
    // Nothing matches France: said, never priced at zero.
    const fr = await page({ lookup_number: '+33142000000', lookup_at: '2026-11-25 15:00', lookup_seconds: '60' });
    assert.match(fr.text, /data-testid="lookup-unratable">No outbound rate matches \+33142000000/);
    // Bad fields, each beside its own.
    const bad = await page({ lookup_number: 'abc', lookup_at: '2026-13-01 10:00', lookup_seconds: '-5' });
    assert.equal(bad.status, 200);
    assert.match(bad.text, /The number /);
    assert.match(bad.text, /The time /);
    assert.match(bad.text, /Seconds must be a whole number from 0/);
    assert.doesNotMatch(bad.text, /data-testid="lookup-result"/);
  });

  test('a deck prefix written with 00 is refused at import (it could never match an E.164 number), with an impossible effective date and a row too wide, each by its line', async () => {
    const id = await newPlan('Access codes');
    await admin.refreshCsrf(`/wholesale/rate-plans/${id}`);
    const bad = await upload(admin, `/wholesale/rate-plans/${id}/deck`, `${DECK_HEADER}\n0044,UK,outbound,,0,0.05,60,60,,,,\n+44,UK,outbound,,0,0.05,60,60,,,,2026-02-30T00:00:00Z\n\n1,US,outbound,,0,0.01,60,60,,,,,extra\n`, { mode: 'merge' });
    assert.equal(bad.status, 422);
    assert.match(bad.text, /Line 2: prefix &#34;0044&#34; starts with 0: write the country code without 00 or another access code \(write 44\)/);
    assert.match(bad.text, /Line 3: effective_from &#34;2026-02-30T00:00:00Z&#34; is not a real date: February 2026 has 28 days/);
    assert.match(bad.text, /Line 5: 13 fields where the header has 12/, 'a row of the wrong width is listed with the others, by its own line');
    assert.equal(Number((await t.db('rates').where({ rate_plan_id: id }).count('* as n').first())?.n), 0);
    const good = await upload(admin, `/wholesale/rate-plans/${id}/deck`, `${DECK_HEADER}\n+44,UK,outbound,,0,0.05,60,60,,,,\n`, { mode: 'merge' });
    assert.equal(good.status, 303);
    assert.deepEqual(await t.db('rates').where({ rate_plan_id: id }).pluck('prefix'), ['44']);
  });

  test('a deck with a connect fee above its max_cost is refused, the line named', async () => {
    const id = await newPlan('Capped');
    await admin.refreshCsrf(`/wholesale/rate-plans/${id}`);
    const res = await upload(admin, `/wholesale/rate-plans/${id}/deck`, `${DECK_HEADER}\n1,US,outbound,,0,0.10,60,1,0.05,,1.00,\n44,UK,outbound,,0,0.05,60,60,0.75,,0.50,\n`, { mode: 'merge' });
    assert.equal(res.status, 422);
    assert.match(res.text, /Line 3: connect_fee is above max_cost/);
    assert.equal(Number((await t.db('rates').where({ rate_plan_id: id }).count('* as n').first())?.n), 0);
  });

  test('bands then a deck import; merge adds a version; replace swaps the deck; export round-trips', async () => {
    const id = await newPlan('Banded');
    await admin.refreshCsrf(`/wholesale/rate-plans/${id}`);
    assert.equal((await upload(admin, `/wholesale/rate-plans/${id}/bands`, BANDS)).status, 303);
    const imported = await upload(admin, `/wholesale/rate-plans/${id}/deck`, DECK, { mode: 'merge' });
    assert.equal(imported.status, 303);
    const page = await admin.get(`/wholesale/rate-plans/${id}`);
    assert.match(page.text, /Deck imported \(merge\): 4 rates, 4 new, 0 replaced/);
    assert.match(page.text, /data-testid="rate-count">4</);

    // A later version of one prefix, and a changed row of the same version.
    const v2 = `${DECK_HEADER}\n44,UK,outbound,,0,0.07,60,60,,0.02,3.00,2026-06-01\n1800,US toll-free,inbound,,0,0.02,60,6,,,,2026-01-01\n`;
    assert.equal((await upload(admin, `/wholesale/rate-plans/${id}/deck`, v2, { mode: 'merge' })).status, 303);
    assert.match((await admin.get(`/wholesale/rate-plans/${id}`)).text, /2 rates, 1 new, 1 replaced/);
    assert.equal(Number((await t.db('rates').where({ rate_plan_id: id }).count('* as n').first())?.n), 5);

    // Dropping a band the rates use is refused.
    const dropped = await upload(admin, `/wholesale/rate-plans/${id}/bands`, 'band,days,start\npeak,mon-sun,00:00\n');
    assert.equal(dropped.status, 422);
    assert.match(dropped.text, /rates of this plan use band offpeak/);

    // Export, import into a fresh plan with replace, export again: the same file.
    const exported = await admin.get(`/wholesale/rate-plans/${id}/deck.csv`);
    assert.equal(exported.status, 200);
    assert.match(exported.headers['content-type'] as string, /text\/csv/);
    assert.equal(exported.text.split('\n')[0], DECK_HEADER);
    assert.equal(exported.text.trim().split('\n').length, 1 + 6, 'one row per step');
    const bandsCsv = (await admin.get(`/wholesale/rate-plans/${id}/bands.csv`)).text;
    assert.match(bandsCsv, /offpeak,"sun,sat",00:00|offpeak,"sat,sun",00:00|offpeak,"sun,sat"/);
    const copy = await newPlan('Copy');
    await admin.refreshCsrf(`/wholesale/rate-plans/${copy}`);
    assert.equal((await upload(admin, `/wholesale/rate-plans/${copy}/bands`, bandsCsv)).status, 303);
    assert.equal((await upload(admin, `/wholesale/rate-plans/${copy}/deck`, DECK.replace('0.10', '9.99'), { mode: 'merge' })).status, 303);
    assert.equal((await upload(admin, `/wholesale/rate-plans/${copy}/deck`, exported.text, { mode: 'replace' })).status, 303);
    assert.equal((await admin.get(`/wholesale/rate-plans/${copy}/deck.csv`)).text, exported.text);

    const audit = await t.db('audit_log').where({ entity_type: 'rate_plan', entity_id: id }).orderBy('id').pluck('action');
    assert.deepEqual(audit, ['create', 'import_bands', 'import_deck', 'import_deck']);
  });

  const leg = { direction: 'outbound' as const, number: '+12125550100', startMs: Date.parse('2026-11-25T12:00:00Z'), answerMs: Date.parse('2026-11-25T12:00:00Z'), billableSeconds: 60 };
  const amountWith = (plan: Awaited<ReturnType<PlanCache['get']>>) => {
    assert.ok(plan);
    const r = rateLeg(leg, plan);
    assert.ok(!isUnratable(r));
    return decimalCharge(r).amount.toFixed(4);
  };

  test('the compiled plan is cached, and a change made through the portal invalidates it', async () => {
    const id = await newPlan('Cached here', { time_zone: 'UTC' });
    await admin.refreshCsrf(`/wholesale/rate-plans/${id}`);
    assert.equal((await upload(admin, `/wholesale/rate-plans/${id}/deck`, `${DECK_HEADER}\n1,US,outbound,,0,0.06,60,60,,,,\n`, { mode: 'replace' })).status, 303);
    const first = await t.planCache.get(t.db, id);
    assert.equal(amountWith(first), '0.0600');
    assert.equal(await t.planCache.get(t.db, id), first, 'served from memory');
    assert.equal((await upload(admin, `/wholesale/rate-plans/${id}/deck`, `${DECK_HEADER}\n1,US,outbound,,0,0.09,60,60,,,,\n`, { mode: 'replace' })).status, 303);
    assert.equal(amountWith(await t.planCache.get(t.db, id)), '0.0900');
    await admin.submit(`/wholesale/rate-plans/${id}`, { name: 'Cached here', currency: 'USD', rounding_decimals: '2', rounding_method: 'up', time_zone: 'UTC', band_mode: 'split' });
    assert.equal(amountWith(await t.planCache.get(t.db, id)), '0.0900');
    assert.equal((await t.planCache.get(t.db, id))?.rounding.decimals, 2, 'settings changes invalidate too');
  });

  test(
    'another process hears of a change through Postgres NOTIFY and drops that compiled plan, well before its check would come, and keeps the others',
    { skip: process.env.TEST_DATABASE_URL ? false : 'embedded Postgres serves one process only (PGlite does not pass NOTIFY between its socket connections)' },
    async () => {
      const id = await newPlan('Cached there', { time_zone: 'UTC' });
      const otherId = await newPlan('Cached there too', { time_zone: 'UTC' });
      await admin.refreshCsrf(`/wholesale/rate-plans/${id}`);
      assert.equal((await upload(admin, `/wholesale/rate-plans/${id}/deck`, `${DECK_HEADER}\n1,US,outbound,,0,0.06,60,60,,,,\n`, { mode: 'replace' })).status, 303);
      // A check of the versions only every minute: what makes the peer look sooner is the notice.
      const peer = await createPeerApp(t, { CACHE_CHECK_SECONDS: '60' });
      try {
        for (let i = 0; i < 100 && !peer.cacheVersions.isListening; i++) await new Promise((r) => setTimeout(r, 20));
        assert.ok(peer.cacheVersions.isListening, 'the peer listens');
        const first = await peer.planCache.get(peer.db, id);
        const untouched = await peer.planCache.get(peer.db, otherId);
        assert.equal(amountWith(first), '0.0600');
        assert.equal((await upload(admin, `/wholesale/rate-plans/${id}/deck`, `${DECK_HEADER}\n1,US,outbound,,0,0.09,60,60,,,,\n`, { mode: 'replace' })).status, 303);
        let fresh = await peer.planCache.get(peer.db, id);
        for (let i = 0; i < 100 && fresh === first; i++) {
          await new Promise((r) => setTimeout(r, 20));
          fresh = await peer.planCache.get(peer.db, id);
        }
        assert.notEqual(fresh, first, 'the other process dropped its compiled plan');
        assert.equal(amountWith(fresh), '0.0900');
        assert.equal(await peer.planCache.get(peer.db, otherId), untouched, 'a plan whose revision did not move is not compiled again');
      } finally {
        await peer.close();
      }
    },
  );

  test('wholesale plan per reseller and retail plan per subscriber; another owner\'s plan is refused', async () => {
    const r = await makeReseller(t.db);
    const other = await makeReseller(t.db);
    const sub = await makeSubscriber(t.db, r.id);
    const operatorPlan = await makePlan(t.db, null, { name: 'Op plan' });
    const retail = await makePlan(t.db, r.id, { name: 'Retail basic', currency: 'EUR' });
    const foreignRetail = await makePlan(t.db, other.id, { name: 'Not yours' });

    assert.equal((await admin.submit(`/wholesale/resellers/${r.id}/plan`, { wholesale_plan_id: String(retail.id) })).status, 303);
    assert.equal((await t.db('resellers').where({ id: r.id }).first()).wholesale_plan_id, null, "a reseller's own plan is not a wholesale plan");
    assert.equal((await admin.submit(`/wholesale/resellers/${r.id}/plan`, { wholesale_plan_id: String(operatorPlan.id) })).status, 303);
    assert.equal((await t.db('resellers').where({ id: r.id }).first()).wholesale_plan_id, operatorPlan.id);
    assert.match((await admin.get(`/wholesale/resellers/${r.id}`)).text, /data-testid="wholesale-plan">[^<]*<a href="\/wholesale\/rate-plans\/\d+">Op plan</);

    const resellerAdmin = await Client.login(t.app, (await makeUser(t.db, 'reseller_admin', { resellerId: r.id })).email);
    assert.equal((await resellerAdmin.submit(`/reseller/subscribers/${sub.id}/plan`, { retail_plan_id: String(foreignRetail.id) })).status, 303);
    assert.equal((await t.db('subscribers').where({ id: sub.id }).first()).retail_plan_id, null);
    assert.equal((await resellerAdmin.submit(`/reseller/subscribers/${sub.id}/plan`, { retail_plan_id: String(retail.id) })).status, 303);
    assert.equal((await t.db('subscribers').where({ id: sub.id }).first()).retail_plan_id, retail.id);
    const page = await resellerAdmin.get(`/reseller/subscribers/${sub.id}`);
    assert.match(page.text, /Retail rate plan assigned/);
    assert.match(page.text, /Retail basic<\/a> \(EUR\)/);
    assert.equal((await resellerAdmin.get(`/reseller/rate-plans/${operatorPlan.id}`)).status, 404);
    assert.equal((await resellerAdmin.get(`/reseller/rate-plans/${foreignRetail.id}`)).status, 404);
    const actions = await t.db('audit_log').where({ action: 'assign_plan' }).whereIn('entity_id', [r.id, sub.id]).pluck('entity_type');
    assert.deepEqual(actions.sort(), ['reseller', 'subscriber']);
  });
});
