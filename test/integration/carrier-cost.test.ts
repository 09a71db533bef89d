/**
 * The expected carrier cost (issue 13, "Carriers"): every outbound leg that left by an LD carrier
 * with a cost deck gets a charge of kind 'carrier_cost' priced with that deck, written by every
 * write path, replaced by re-rating, shown to the operator beside the wholesale and retail charges,
 * and never to a reseller or its people.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { announceReferenceChange } from '../../src/db/change-notices';
import { Decimal } from '../../src/domain/money/decimal';
import type { NormalisedLeg } from '../../src/domain/legs/leg';
import { carrierOf } from '../../src/domain/legs/rated';
import { planCopies, storeInTransaction, type LedgerRecord } from '../../src/modules/ledger/ledger.service';
import { ensurePartitions } from '../../src/modules/ledger/partitions';
import { recordLegsQuery } from '../../src/modules/ledger/record-reads';
import { rateLegs } from '../../src/modules/rating/rating.service';
import { rerateLegs } from '../../src/modules/rating/rerate.service';
import { createTestApp, type TestApp } from '../support/app';
import { makeExchangeRate, makePlan, makeRates, makeReseller, makeSubscriber, makeUser, randomNumber, rateRow, step, stepsJson } from '../support/factories';
import { Client } from '../support/http';
import { makePlatform, postCdrs } from '../support/intake';

// Words that appear only on the carrier's cost: a reseller's page that showed it would show them.
const DECK_NAME = 'Deck of L3 (secret)';
const DECK_DESCRIPTION = 'UK via L3 DECKONLY';
const TRUNKS = { 'gw-l3': 'Level3', 'gw-nd': 'NoDeck', 'gw-eu': 'EuroCarrier' };

describe('expected carrier cost: priced with the carrier’s deck, stored beside the charges, the operator’s only', () => {
  let t: TestApp;
  let caches: Parameters<typeof rateLegs>[1];
  let platform: { id: number; token: string };
  let deck: { id: number };
  let reseller: { id: number };
  let sub: { id: number };
  const num = randomNumber();
  let seq = 0;

  before(async () => {
    t = await createTestApp();
    caches = { plans: t.planCache, refs: t.referenceData, versions: t.cacheVersions };
    const wholesale = await makePlan(t.db, null, { name: 'WS', currency: 'USD', rounding_decimals: 4 });
    deck = await makePlan(t.db, null, { name: DECK_NAME, currency: 'USD', rounding_decimals: 4 });
    reseller = await makeReseller(t.db, { currency: 'USD', wholesale_plan_id: wholesale.id });
    const retail = await makePlan(t.db, reseller.id, { name: 'Retail', currency: 'USD', rounding_decimals: 2 });
    sub = await makeSubscriber(t.db, reseller.id, { retail_plan_id: retail.id }, [num]);
    await makeRates(
      t.db,
      rateRow(wholesale, { prefix: '44', description: 'United Kingdom', rate: '0.0200' }),
      rateRow(wholesale, { prefix: '33', description: 'France', rate: '0.0300' }),
      rateRow(retail, { prefix: '44', description: 'UK', rate: '0.0900', increment: 60 }),
      rateRow(retail, { prefix: '33', description: 'France', rate: '0.1200', increment: 60 }),
      // The deck knows the UK only (a leg to France by the carrier has no expected cost).
      rateRow(deck as { id: number; reseller_id: null }, { prefix: '44', description: DECK_DESCRIPTION, rate: '0.0140' }),
    );
    await makeExchangeRate(t.db, 'USD', 'EUR', '0.9', '2020-01-01T00:00:00Z');
    await t.db('carriers').insert([
      { name: 'Level3', currency: 'USD', cost_plan_id: deck.id },
      { name: 'NoDeck', currency: 'USD' },
      // Its costs are kept in EUR: the USD deck's figure is converted at the rate in force.
      { name: 'EuroCarrier', currency: 'EUR', cost_plan_id: deck.id },
    ]);
    await announceReferenceChange(t.db, 'carriers');
    platform = await makePlatform(t.db, { trunk_carriers: JSON.stringify(TRUNKS) });
  });
  after(() => t.close());

  const post = (id: string, over: Record<string, unknown> = {}) => ({
    leg_id: `${id}-${process.pid}`, calling: num, called: '+442079460000', start: '2026-11-25T12:00:00Z', answer: '2026-11-25T12:00:05Z', end: '2026-11-25T12:01:35Z', trunk: 'gw-l3', ...over,
  });
  const chargesOf = async (legId: number) => (await t.db('charges').where({ leg_id: legId }).orderBy('kind')) as Array<Record<string, any>>;
  const costOf = async (legId: number) => (await chargesOf(legId)).find((c) => c.kind === 'carrier_cost');

  /** 90 s at 0.0140 USD a minute, per second: 0.021 USD. */
  function assertCost(c: Record<string, any> | undefined, billed: { currency: string; rate: string; total: string } = { currency: 'USD', rate: '1', total: '0.021' }) {
    assert.ok(c, 'a carrier_cost charge');
    assert.equal(Number(c.rate_plan_id), deck.id);
    assert.equal(Number(c.reseller_id), reseller.id);
    assert.equal(c.prefix, '44');
    assert.equal(c.description, DECK_DESCRIPTION);
    assert.equal(c.currency.trim(), 'USD');
    assert.equal(c.amount, '0.0210000000');
    assert.equal(c.tax_amount, '0.0000000000');
    assert.deepEqual(c.taxes, []);
    assert.equal(c.total, '0.0210000000');
    assert.equal(c.billed_currency.trim(), billed.currency);
    assert.ok(new Decimal(c.exchange_rate).eq(billed.rate));
    assert.ok(new Decimal(c.billed_total).eq(billed.total), `billed_total ${c.billed_total}`);
    assert.equal(c.billable_seconds, 90);
    // The rate the deck applied, per rate_unit seconds, in the breakdown.
    assert.equal(c.pieces.length, 1);
    assert.ok(new Decimal(c.pieces[0].rate).eq('0.014'));
    assert.equal(c.pieces[0].rate_unit, 60);
  }

  test('the intake prices an outbound leg by a carrier with a deck (one statement); no deck, no rate or inbound: none, and the status is about billing only', async () => {
    const res = await postCdrs(t, platform.token, [
      post('A'),
      post('B', { trunk: 'gw-nd' }),
      post('C', { called: '+33142000000' }),
      post('D', { calling: '+442079460001', called: num }),
      post('E', { trunk: 'gw-eu' }),
    ]);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [a, b, c, d, e] = res.body.records.map((r: any) => r.legs[0]);
    assert.deepEqual([a, b, c, e].map((l) => l.status), ['rated', 'rated', 'rated', 'rated']);
    assert.equal(d.direction, 'inbound');
    assertCost(await costOf(a.id));
    assert.deepEqual((await chargesOf(a.id)).map((x) => x.kind), ['carrier_cost', 'retail', 'wholesale']);
    assert.equal((await t.db('call_legs').where({ id: a.id }).first()).carrier, 'Level3');
    assert.equal(await costOf(b.id), undefined, 'the carrier has no deck');
    assert.equal(await costOf(c.id), undefined, 'the deck has no rate for France');
    const cLeg = await t.db('call_legs').where({ id: c.id }).first();
    assert.deepEqual([cLeg.status, cLeg.unrated_reason], ['rated', null]);
    assert.deepEqual((await chargesOf(c.id)).map((x) => x.kind), ['retail', 'wholesale']);
    assert.equal(await costOf(d.id), undefined, 'an inbound leg left by no carrier');
    assertCost(await costOf(e.id), { currency: 'EUR', rate: '0.9', total: '0.0189' });
  });

  /** Legs rated as the intake rates them (trunk maps and all), for the ledger's other write paths. */
  async function record(n: number): Promise<LedgerRecord> {
    const legs: NormalisedLeg[] = Array.from({ length: n }, () => {
      const key = `cc-${process.pid}-${++seq}`;
      const startMs = Date.parse('2026-11-26T10:00:00Z') + seq * 1000;
      return {
        legKey: key, callId: `call-${key}`, callingNumber: num, calledNumber: '+442079460000', rawCalling: num, rawCalled: '+442079460000',
        startMs, answerMs: startMs, endMs: startMs + 90_000, billableSeconds: 90, answered: true,
        disposition: 'answered', switchCause: null, trunk: 'gw-l3', redirectingNumber: null, accountCode: null,
      };
    });
    await ensurePartitions(t.db, legs.map((l) => l.startMs));
    const { legs: rated } = await rateLegs(t.db, caches, legs, undefined, undefined, legs.map(() => TRUNKS));
    return { platformId: platform.id, contentType: 'application/json', body: JSON.stringify(legs.map((l) => l.legKey)), legs: rated.map((r) => ({ rated: r, carrier: carrierOf(r.leg, r.direction, TRUNKS) })) };
  }

  async function storedCosts(rec: LedgerRecord) {
    const keys = rec.legs.map((l) => l.rated.leg.legKey);
    const ids = (await t.db('call_legs').where({ platform_id: platform.id }).whereIn('leg_key', keys).pluck('id')).map(Number);
    assert.equal(ids.length, keys.length);
    for (const id of ids) assertCost(await costOf(id));
  }

  test('the INSERT write in a transaction stores it', async () => {
    const rec = await record(3);
    await t.db.transaction((tx) => storeInTransaction(tx, [{ records: [rec] }]));
    await storedCosts(rec);
  });

  test('the COPY write stores it (a Postgres server)', async (ctx) => {
    if (t.embedded) return ctx.skip('COPY needs a Postgres server');
    const rec = await record(3);
    const [plan] = await planCopies(t.db, [[rec]]);
    await t.db.transaction((tx) => storeInTransaction(tx, [{ records: [rec], copy: plan }]));
    await storedCosts(rec);
  });

  test('re-rating replaces it with the deck’s new rate, by a reseller’s re-rating too, and a carrier without a deck keeps none', async () => {
    const res = await postCdrs(t, platform.token, [post('R')]);
    const id = res.body.records[0].legs[0].id as number;
    assertCost(await costOf(id));
    // The deck's rate changes (a hand edit moves the plan's revision, as the services do).
    await t.db('rates').where({ rate_plan_id: deck.id, prefix: '44' }).update({ steps: stepsJson(step('0.0200')) });
    await t.db('rate_plans').where({ id: deck.id }).increment('revision', 1);
    // Its version moved with the rows (trigger); this process confirms it now rather than at the next notice.
    await t.cacheVersions.check(t.db);
    await rerateLegs(t.db, caches, { kind: 'reseller', resellerId: reseller.id }, { ids: [id] });
    const costs = (await chargesOf(id)).filter((c) => c.kind === 'carrier_cost');
    assert.equal(costs.length, 1);
    assert.equal(costs[0]?.amount, '0.0300000000');
    assert.ok(new Decimal(costs[0]?.pieces[0].rate).eq('0.02'));
    // The carrier loses its deck: re-rating leaves no carrier cost, and the billed charges as they were.
    await t.db('carriers').where({ name: 'Level3' }).update({ cost_plan_id: null });
    await announceReferenceChange(t.db, 'carriers');
    await t.cacheVersions.check(t.db);
    await rerateLegs(t.db, caches, { kind: 'wholesale' }, { ids: [id] });
    assert.deepEqual((await chargesOf(id)).map((c) => c.kind), ['retail', 'wholesale']);
    assert.equal((await t.db('call_legs').where({ id }).first()).status, 'rated');
    await t.db('carriers').where({ name: 'Level3' }).update({ cost_plan_id: deck.id });
    await t.cacheVersions.check(t.db);
    await rerateLegs(t.db, caches, { kind: 'wholesale' }, { ids: [id] });
    assert.equal((await costOf(id))?.amount, '0.0300000000');
    await t.db('rates').where({ rate_plan_id: deck.id, prefix: '44' }).update({ steps: stepsJson(step('0.0140')) });
    await t.db('rate_plans').where({ id: deck.id }).increment('revision', 1);
    await t.cacheVersions.check(t.db);
  });

  test('a deck set or cleared in the carrier’s form prices the next post at once (the carriers cache follows the change)', async () => {
    const admin = await Client.login(t.app, (await makeUser(t.db, 'wholesale_admin')).email);
    const row = await t.db('carriers').where({ name: 'NoDeck' }).first();
    const form = (costPlanId: string) => ({
      name: 'NoDeck', currency: 'USD', time_zone: 'UTC', cost_plan_id: costPlanId, start_tolerance_seconds: '5', duration_tolerance_seconds: '1',
      cost_tolerance: '0.01', data_format: 'carrier-generic-csv', allowed_sources: '', file_due_at: '', file_due_zone: 'UTC',
    });
    const costOfPost = async (id: string) => costOf((await postCdrs(t, platform.token, [post(id, { trunk: 'gw-nd' })])).body.records[0].legs[0].id);
    assert.equal(await costOfPost('F1'), undefined);
    const set = await admin.submit(`/wholesale/carriers/${row.id}`, form(String(deck.id)), `/wholesale/carriers/${row.id}/edit`);
    assert.equal(set.status, 303, set.text.slice(0, 1500));
    assertCost(await costOfPost('F2'));
    const cleared = await admin.submit(`/wholesale/carriers/${row.id}`, form(''), `/wholesale/carriers/${row.id}/edit`);
    assert.equal(cleared.status, 303, cleared.text.slice(0, 1500));
    assert.equal(await costOfPost('F3'), undefined);
  });

  test('the operator’s call page shows it beside the charges; a reseller’s and a subscriber’s pages, CSVs and record legs never do', async () => {
    const res = await postCdrs(t, platform.token, [post('P')]);
    const id = res.body.records[0].legs[0].id as number;
    assertCost(await costOf(id));
    const operator = await Client.login(t.app, (await makeUser(t.db, 'wholesale_admin')).email);
    const page = await operator.get(`/wholesale/calls/${id}`);
    assert.equal(page.status, 200);
    assert.match(page.text, /Expected carrier cost \(LD carrier Level3/);
    assert.ok(page.text.includes(DECK_NAME) && page.text.includes(DECK_DESCRIPTION));
    assert.match(page.text, /data-testid="billed-carrier_cost">0\.021\d* USD/);
    assert.match(page.text, /data-testid="billed-wholesale">/);

    const range = 'from=2026-11-25&to=2026-11-27';
    const admin = await Client.login(t.app, (await makeUser(t.db, 'reseller_admin', { resellerId: reseller.id })).email);
    const support = await Client.login(t.app, (await makeUser(t.db, 'reseller_support', { resellerId: reseller.id })).email);
    const subscriber = await Client.login(t.app, (await makeUser(t.db, 'subscriber', { resellerId: reseller.id, subscriberId: sub.id })).email);
    const seen: Array<[string, string]> = [];
    const read = async (c: Client, path: string) => {
      const r = await c.get(path);
      assert.equal(r.status, 200, path);
      seen.push([path, r.text]);
    };
    for (const c of [admin, support]) for (const path of [`/reseller/calls/${id}`, `/reseller/calls?${range}`, `/reseller/calls.csv?${range}`]) await read(c, path);
    for (const path of [`/me/calls?${range}`, `/me/calls.csv?${range}`]) await read(subscriber, path);
    const detail = seen.find(([p]) => p === `/reseller/calls/${id}`)?.[1] ?? '';
    assert.match(detail, /data-testid="billed-wholesale">/, 'the reseller does see its own charges');
    for (const [path, text] of seen) if (path.includes('.csv')) assert.ok(text.includes(`P-${process.pid}`), `${path} lists the call`);
    for (const [path, text] of seen) {
      for (const secret of [DECK_NAME, DECK_DESCRIPTION, 'carrier_cost', 'Expected carrier cost', '0.021']) assert.ok(!text.includes(secret), `${path} shows ${secret}`);
    }
    // The record files' legs join the billed charges by kind: every stored carrier cost stays out.
    const rows = (await recordLegsQuery(t.db, reseller.id)) as Array<Record<string, any>>;
    assert.ok(rows.some((r) => Number(r.id) === id));
    for (const r of rows) for (const [k, v] of Object.entries(r)) assert.ok(!String(v).includes('DECKONLY') && !(k.endsWith('rate_plan_id') && Number(v) === deck.id), `record leg ${r.id} ${k}`);
  });
});
