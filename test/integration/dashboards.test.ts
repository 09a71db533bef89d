/**
 * Dashboards (issue 11): the usage figures the ledger keeps (usage_figures: usage_totals and the
 * deltas not folded yet; and usage_totals alone after a fold) against a plain GROUP BY
 * of the legs and charges, after writes through each of the ledger's paths and after re-rating; the
 * dashboards' tables against the legs by local day of a zone that is not UTC; each reseller seeing
 * only its own figures; the chart library served by the app with the CSP intact; the audit feed
 * naming what changed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Decimal } from '../../src/domain/money/decimal';
import { SYSTEM_ACTOR } from '../../src/domain/tenancy/actor';
import { recordAudit } from '../../src/modules/audit/audit.repository';
import type { NormalisedLeg } from '../../src/domain/legs/leg';
import { localDate } from '../../src/domain/time/zones';
import { planCopies, storeInTransaction, writeLedger, type LedgerRecord } from '../../src/modules/ledger/ledger.service';
import { ensurePartitions } from '../../src/modules/ledger/partitions';
import { foldUsage } from '../../src/modules/ledger/ledger.repository';
import { rateLegs } from '../../src/modules/rating/rating.service';
import { rerateLegs } from '../../src/modules/rating/rerate.service';
import { createTestApp, type TestApp } from '../support/app';
import { makeExchangeRate, makeJurisdiction, makePlan, makeTax, makeRates, makeReseller, makeSubscriber, makeUser, randomNumber, rateRow } from '../support/factories';
import { Client } from '../support/http';
import { makePlatform } from '../support/intake';

const HOUR = 3_600_000;
/** Around local midnight in New York (05:00 UTC in November): legs on both sides of it. */
const BASE = Date.parse('2026-11-10T05:00:00Z');
const NY = 'America/New_York';
const TOKYO = 'Asia/Tokyo';
let seq = 0;

function leg(calling: string, called: string, startMs: number, seconds: number): NormalisedLeg {
  const key = `dash-${process.pid}-${++seq}`;
  const answered = seconds > 0;
  return {
    legKey: key, callId: `call-${key}`, callingNumber: calling, calledNumber: called, rawCalling: calling, rawCalled: called,
    startMs, answerMs: answered ? startMs : null, endMs: startMs + seconds * 1000, billableSeconds: seconds, answered,
    disposition: answered ? 'answered' : 'no_answer', switchCause: null, trunk: null, redirectingNumber: null, accountCode: null,
  };
}

type Row = Record<string, string>;

/**
 * What usage_totals must hold, from the legs and charges as stored, computed here in code (not by
 * the ledger's SQL): each level's key, per UTC hour and day, rows whose figures are all zero left out.
 */
async function expectedTotals(t: TestApp): Promise<Map<string, Row>> {
  const { rows } = (await t.db.raw(
    `SELECT l.start_at, l.reseller_id::text, coalesce(l.subscriber_id, 0)::text AS subscriber_id, l.answered, l.billable_seconds, l.direction, l.carrier,
            w.currency AS wc, w.amount::text AS wa, w.description AS wd, w.prefix AS wp, r.currency AS rc, r.amount::text AS ra, r.description AS rd, r.prefix AS rp
       FROM call_legs l
       LEFT JOIN charges w ON w.leg_id = l.id AND w.start_at = l.start_at AND w.kind = 'wholesale'
       LEFT JOIN charges r ON r.leg_id = l.id AND r.start_at = l.start_at AND r.kind = 'retail'
      WHERE l.reseller_id IS NOT NULL`,
  )) as { rows: Array<Record<string, any>> };
  const out = new Map<string, Row>();
  for (const l of rows) {
    const start = new Date(l.start_at).getTime();
    const dest = (l.wd || l.rd || l.wp || l.rp || '') as string;
    const hour = new Date(Math.floor(start / HOUR) * HOUR).toISOString();
    const day = new Date(Math.floor(start / (24 * HOUR)) * 24 * HOUR).toISOString();
    const keys: string[][] = [];
    // [level, grain, reseller, subscriber, destination, carrier, bucket]
    for (const [grain, bucket] of [['hour', hour], ['day', day]] as const) {
      keys.push(['reseller', grain, l.reseller_id, '0', '', '', bucket]);
      keys.push(['destination', grain, '0', '0', dest, '', bucket]);
      keys.push(['reseller_destination', grain, l.reseller_id, '0', dest, '', bucket]);
      // A destination called is on a carrier's bill ('' when its trunk was in no map).
      if (l.direction === 'outbound' || l.direction === 'forwarded') keys.push(['carrier', grain, '0', '0', '', l.carrier ?? '', bucket]);
    }
    keys.push(['subscriber', 'hour', l.reseller_id, l.subscriber_id, '', '', hour]);
    keys.push(['all', 'hour', '0', '0', '', '', hour]);
    for (const k of keys) {
      const key = [...k.slice(0, 6), l.wc ?? '', l.rc ?? '', k[6]].join('|');
      const row = out.get(key) ?? { calls: '0', answered: '0', seconds: '0', wholesale: '0', retail: '0' };
      row.calls = String(Number(row.calls) + 1);
      row.answered = String(Number(row.answered) + (l.answered ? 1 : 0));
      row.seconds = String(Number(row.seconds) + Number(l.billable_seconds));
      row.wholesale = new Decimal(row.wholesale as string).plus(l.wa ?? '0').toFixed(10);
      row.retail = new Decimal(row.retail as string).plus(l.ra ?? '0').toFixed(10);
      out.set(key, row);
    }
  }
  return out;
}

/**
 * The figures as readers see them (usage_figures: the totals and the deltas not folded yet), or
 * with `from: 'usage_totals'` the totals alone (what a fold must leave them equal to).
 */
async function storedTotals(t: TestApp, from: 'usage_figures' | 'usage_totals' = 'usage_figures'): Promise<Map<string, Row>> {
  const { rows } = (await t.db.raw(
    `SELECT level, grain, reseller_id::text, subscriber_id::text, destination, carrier, wholesale_currency, retail_currency, bucket,
            sum(calls)::text AS calls, sum(answered)::text AS answered, sum(seconds)::text AS seconds, sum(wholesale)::text AS wholesale, sum(retail)::text AS retail
       FROM ${from}
      GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
     HAVING sum(calls) <> 0 OR sum(answered) <> 0 OR sum(seconds) <> 0 OR sum(wholesale) <> 0 OR sum(retail) <> 0`,
  )) as { rows: Array<Record<string, any>> };
  return new Map(
    rows.map((r) => [
      [r.level, r.grain, r.reseller_id, r.subscriber_id, r.destination, r.carrier, r.wholesale_currency, r.retail_currency, new Date(r.bucket).toISOString()].join('|'),
      { calls: r.calls, answered: r.answered, seconds: r.seconds, wholesale: new Decimal(r.wholesale).toFixed(10), retail: new Decimal(r.retail).toFixed(10) },
    ]),
  );
}

/** Per side, reseller, tax, currency, grain and bucket: the charges taxed, taxable base and tax, from the charges' tax lines in code. */
async function expectedTaxes(t: TestApp): Promise<Map<string, Row>> {
  const { rows } = (await t.db.raw(
    `SELECT c.kind, c.reseller_id::text, c.currency, c.start_at, c.taxes FROM charges c JOIN call_legs l ON l.id = c.leg_id AND l.start_at = c.start_at WHERE l.reseller_id IS NOT NULL`,
  )) as { rows: Array<Record<string, any>> };
  const out = new Map<string, Row>();
  for (const c of rows) {
    const start = new Date(c.start_at).getTime();
    for (const tax of c.taxes as Array<{ tax_id: number; taxable: string; amount: string }>) {
      for (const [grain, size] of [['hour', HOUR], ['day', 24 * HOUR]] as const) {
        const key = [c.kind, grain, c.reseller_id, String(tax.tax_id), c.currency, new Date(Math.floor(start / size) * size).toISOString()].join('|');
        const row = out.get(key) ?? { charges: '0', taxable: '0', amount: '0' };
        row.charges = String(Number(row.charges) + 1);
        row.taxable = new Decimal(row.taxable as string).plus(tax.taxable).toFixed(10);
        row.amount = new Decimal(row.amount as string).plus(tax.amount).toFixed(10);
        out.set(key, row);
      }
    }
  }
  return out;
}

async function storedTaxes(t: TestApp, from: 'tax_figures' | 'tax_totals'): Promise<Map<string, Row>> {
  const { rows } = (await t.db.raw(
    `SELECT side, grain, reseller_id::text, tax_id::text, currency, bucket, sum(charges)::text AS charges, sum(taxable)::text AS taxable, sum(amount)::text AS amount
       FROM ${from} GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(charges) <> 0 OR sum(taxable) <> 0 OR sum(amount) <> 0`,
  )) as { rows: Array<Record<string, any>> };
  return new Map(rows.map((r) => [
    [r.side, r.grain, r.reseller_id, r.tax_id, r.currency, new Date(r.bucket).toISOString()].join('|'),
    { charges: r.charges, taxable: new Decimal(r.taxable).toFixed(10), amount: new Decimal(r.amount).toFixed(10) },
  ]));
}

async function assertTotalsMatchLegs(t: TestApp, when: string, from: 'usage_figures' | 'usage_totals' = 'usage_figures') {
  const taxes = await expectedTaxes(t);
  assert.ok(taxes.size > 0, 'there are taxed charges to compare');
  assert.deepEqual(Object.fromEntries([...(await storedTaxes(t, from === 'usage_figures' ? 'tax_figures' : 'tax_totals'))].sort()), Object.fromEntries([...taxes].sort()), `taxes after ${when}`);
  const expected = await expectedTotals(t);
  const stored = await storedTotals(t, from);
  assert.ok(expected.size > 0, 'there are legs to compare');
  assert.deepEqual(Object.fromEntries([...stored].sort()), Object.fromEntries([...expected].sort()), `usage_totals after ${when}`);
}

describe('dashboards: usage totals kept by every write path, shown per local day, per tenant', () => {
  let t: TestApp;
  let platformId: number;
  let caches: Parameters<typeof rateLegs>[1];
  const numA1 = randomNumber();
  const numA2 = randomNumber();
  const numB = randomNumber();
  let resA: { id: number; name: string };
  let resB: { id: number; name: string };
  let subA1: { id: number; name: string };
  let subA2: { id: number; name: string };
  let subB: { id: number; name: string };
  let retailA: { id: number; reseller_id: number | null };
  let wholesalePlan: { id: number; reseller_id: number | null };
  let adminA: Client;
  let adminB: Client;
  let operator: Client;
  let subscriberA1: Client;

  /** Rates legs as the intake would, into a record for the ledger. */
  async function record(legs: NormalisedLeg[]): Promise<LedgerRecord> {
    await ensurePartitions(t.db, legs.map((l) => l.startMs));
    const { legs: rated } = await rateLegs(t.db, caches, legs);
    return { platformId, contentType: 'application/json', body: JSON.stringify(legs.map((l) => l.legKey)), legs: rated.map((r) => ({ rated: r, carrier: null })) };
  }

  /** A day's worth of calls of every subscriber around New York's midnight: answered, unanswered, to a destination nobody rates. */
  const batch = (shift: number) => [
    leg(numA1, '+442071234567', BASE - 2 * HOUR + shift, 61),
    leg(numA1, '+33142345678', BASE - 30_000 + shift, 125),
    leg(numA2, '+442071234568', BASE + 30_000 + shift, 0),
    leg(numA2, '+819012345678', BASE + HOUR + shift, 33),
    leg(numB, '+442071234569', BASE + 3 * HOUR + shift, 240),
    leg(numB, '+33142345679', BASE - 5 * HOUR + shift, 7),
  ];

  before(async () => {
    t = await createTestApp();
    caches = { plans: t.planCache, refs: t.referenceData, versions: t.cacheVersions };
    platformId = (await makePlatform(t.db)).id;
    wholesalePlan = await makePlan(t.db, null, { name: 'WS', currency: 'USD', rounding_decimals: 4 });
    resA = await makeReseller(t.db, { name: 'Alpha Telecom', currency: 'USD', wholesale_plan_id: wholesalePlan.id, time_zone: NY });
    resB = await makeReseller(t.db, { name: 'Beta Voice', currency: 'EUR', wholesale_plan_id: wholesalePlan.id, time_zone: TOKYO });
    retailA = await makePlan(t.db, resA.id, { name: 'Retail A', currency: 'USD', rounding_decimals: 2 });
    const retailB = await makePlan(t.db, resB.id, { name: 'Retail B', currency: 'EUR', rounding_decimals: 2 });
    await makeExchangeRate(t.db, 'USD', 'EUR', '0.9', '2020-01-01T00:00:00Z');
    // Taxes on both sides (the operator's on wholesale, A's on retail), for the tax totals.
    const ny = await makeJurisdiction(t.db, { country: 'US', region: 'NY', name: 'New York' });
    await makeTax(t.db, null, ny.id, { name: 'NY telecom tax', rate: '10' });
    await makeTax(t.db, resA.id, ny.id, { name: 'Sales tax', rate: '8.875' });
    subA1 = await makeSubscriber(t.db, resA.id, { name: 'Ada Lovelace', retail_plan_id: retailA.id }, [numA1]);
    subA2 = await makeSubscriber(t.db, resA.id, { name: 'Alan Turing', retail_plan_id: retailA.id }, [numA2]);
    subB = await makeSubscriber(t.db, resB.id, { name: 'Grace Hopper', retail_plan_id: retailB.id }, [numB]);
    await makeRates(
      t.db,
      rateRow(wholesalePlan, { prefix: '44', description: 'United Kingdom', rate: '0.0200' }),
      rateRow(wholesalePlan, { prefix: '33', description: 'France', rate: '0.0300' }),
      rateRow(retailA, { prefix: '44', description: 'UK', rate: '0.0900', increment: 60 }),
      rateRow(retailA, { prefix: '33', description: 'France', rate: '0.1200', increment: 60 }),
      rateRow(retailB as { id: number; reseller_id: number | null }, { prefix: '44', description: 'UK', rate: '0.0500', increment: 60 }),
      rateRow(retailB as { id: number; reseller_id: number | null }, { prefix: '33', description: 'France', rate: '0.0800', increment: 60 }),
    );
    adminA = await Client.login(t.app, (await makeUser(t.db, 'reseller_admin', { resellerId: resA.id })).email);
    adminB = await Client.login(t.app, (await makeUser(t.db, 'reseller_admin', { resellerId: resB.id })).email);
    operator = await Client.login(t.app, (await makeUser(t.db, 'wholesale_admin')).email);
    subscriberA1 = await Client.login(t.app, (await makeUser(t.db, 'subscriber', { resellerId: resA.id, subscriberId: subA1.id })).email);
  });
  after(() => t.close());

  test('the one-statement write keeps the totals', async () => {
    await writeLedger(t.db, [{ records: [await record(batch(0))] }], { then: async () => undefined });
    await assertTotalsMatchLegs(t, 'the one-statement write');
  });

  test('the INSERT write in a transaction keeps the totals', async () => {
    const rec = await record(batch(1000));
    await t.db.transaction(async (tx) => {
      await storeInTransaction(tx, [{ records: [rec] }]);
    });
    await assertTotalsMatchLegs(t, 'the INSERT write');
  });

  test('the COPY write keeps the totals (a Postgres server)', async (ctx) => {
    if (t.embedded) return ctx.skip('COPY needs a Postgres server');
    const rec = await record(batch(2000));
    const [plan] = await planCopies(t.db, [[rec]]);
    await t.db.transaction(async (tx) => {
      await storeInTransaction(tx, [{ records: [rec], copy: plan }]);
    });
    await assertTotalsMatchLegs(t, 'the COPY write');
  });

  test('a re-post stores nothing and adds nothing', async () => {
    const before = await storedTotals(t);
    const rec = await record(batch(0).map((l, i) => ({ ...l, legKey: `dash-${process.pid}-${i + 1}`, callId: `call-dash-${process.pid}-${i + 1}` })));
    await writeLedger(t.db, [{ records: [rec] }], { then: async () => undefined });
    assert.deepEqual(await storedTotals(t), before);
  });

  test('re-rating takes the old figures away and adds the new ones', async () => {
    // A retail rate changes and Japan gets a rate: the unrated call to Japan becomes rated.
    await t.db('rates').where({ rate_plan_id: retailA.id, prefix: '44' }).update({ steps: JSON.stringify([{ interval_start: 0, rate: '0.1500', rate_unit: 60, increment: 60 }]) });
    await makeRates(t.db, rateRow(wholesalePlan, { prefix: '81', description: 'Japan', rate: '0.0400' }), rateRow(retailA, { prefix: '81', description: 'Japan', rate: '0.2000', increment: 60 }));
    await t.db('rate_plans').whereIn('id', [retailA.id, wholesalePlan.id]).increment('revision', 1);
    t.planCache.invalidate(retailA.id);
    t.planCache.invalidate(wholesalePlan.id);
    const beforeRerate = await storedTotals(t);
    const outcome = await rerateLegs(t.db, caches, { kind: 'wholesale' }, { filter: {} }, { batchSize: 4 });
    assert.ok(outcome.total >= 12, `re-rated ${outcome.total}`);
    await assertTotalsMatchLegs(t, 're-rating');
    assert.notDeepEqual(await storedTotals(t), beforeRerate, 're-rating changed the figures');
    const japan = await t.db('usage_figures').where({ level: 'destination', grain: 'day', destination: 'Japan' }).sum('calls as n').first();
    assert.ok(Number(japan?.n) > 0, 'the call to Japan counts under its destination once rated');
  });

  test('folding moves every delta into the totals exactly once, also while writes go on', async () => {
    await foldUsage(t.db);
    const { rows: left } = (await t.db.raw('SELECT count(*)::int AS n FROM usage_deltas')) as { rows: Array<{ n: number }> };
    assert.equal(left[0]?.n, 0, 'no delta left after a fold');
    await assertTotalsMatchLegs(t, 'a fold', 'usage_totals');

    // Writes and folds at the same time (folds of a few rows each, so that many run): nothing
    // lost, nothing counted twice, whatever a fold saw of a write that had not committed yet.
    let writing = true;
    const folds: number[] = [];
    const folder = (async () => {
      while (writing) folds.push(await foldUsage(t.db, 3));
    })();
    for (let i = 0; i < 6; i++) {
      await writeLedger(t.db, [{ records: [await record(batch(10_000 + i * 1000))] }], { then: async () => undefined });
    }
    writing = false;
    await folder;
    assert.ok(folds.some((n) => n > 0), 'folds ran beside the writes and took deltas');
    await assertTotalsMatchLegs(t, 'writes beside folds');
    while ((await foldUsage(t.db, 3)) > 0);
    await assertTotalsMatchLegs(t, 'writes beside folds, all folded', 'usage_totals');
  });

  test('a second folder finds the lock taken and folds nothing', async () => {
    const deltas = async () => ((await t.db.raw('SELECT count(*)::int AS n FROM usage_deltas')) as { rows: Array<{ n: number }> }).rows[0]?.n;
    await writeLedger(t.db, [{ records: [await record(batch(20_000))] }], { then: async () => undefined });
    const waiting = await deltas();
    assert.ok(waiting && waiting > 0);
    if (t.embedded) {
      // One connection: two transactions never overlap; the lock is exercised on a server only.
      assert.ok((await foldUsage(t.db)) > 0);
      return;
    }
    let release!: () => void;
    const holding = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holder = t.db.transaction(async (tx) => {
      await tx.raw('SELECT pg_advisory_xact_lock(7311001)');
      locked();
      await holding;
    });
    await isLocked;
    assert.equal(await foldUsage(t.db), 0, 'the lock is taken: nothing folded');
    assert.equal(await deltas(), waiting, 'every delta still waits');
    release();
    await holder;
    assert.ok((await foldUsage(t.db)) > 0, 'folded once the lock is free');
    await assertTotalsMatchLegs(t, 'a fold after the lock', 'usage_totals');
  });

  /** The page's per-day table: day -> [calls, answered, minutes, money cells...]. */
  function dayTable(html: string): Map<string, string[]> {
    const table = /data-testid="usage-days">([\s\S]*?)<\/table>/.exec(html)?.[1] ?? '';
    const out = new Map<string, string[]>();
    for (const m of table.matchAll(/<tr data-day="([^"]+)">([\s\S]*?)<\/tr>/g)) {
      const cells = [...(m[2] as string).matchAll(/<t[dh][^>]*>([\s\S]*?)<\/t[dh]>/g)].map((c) => (c[1] as string).replace(/<br>/g, ' + ').replace(/<[^>]+>/g, '').trim());
      out.set(m[1] as string, cells.slice(1));
    }
    return out;
  }

  /** Per local day of `zone`, from the legs and charges as stored: calls, answered, minutes, and amounts per currency of each kind. */
  async function expectedDays(zone: string, where: { resellerId?: number; subscriberId?: number }) {
    const q = t.db('call_legs as l')
      .leftJoin('charges as w', (j) => j.on('w.leg_id', 'l.id').andOn('w.start_at', 'l.start_at').andOn('w.kind', t.db.raw('?', ['wholesale'])))
      .leftJoin('charges as r', (j) => j.on('r.leg_id', 'l.id').andOn('r.start_at', 'l.start_at').andOn('r.kind', t.db.raw('?', ['retail'])))
      .whereNotNull('l.reseller_id')
      .select('l.start_at', 'l.answered', 'l.billable_seconds', 'w.currency as wc', 'w.amount as wa', 'r.currency as rc', 'r.amount as ra');
    if (where.resellerId) q.where('l.reseller_id', where.resellerId);
    if (where.subscriberId) q.where('l.subscriber_id', where.subscriberId);
    const days = new Map<string, { calls: number; answered: number; seconds: number; w: Map<string, Decimal>; r: Map<string, Decimal> }>();
    for (const l of (await q) as Array<Record<string, any>>) {
      const day = localDate(new Date(l.start_at).getTime(), zone);
      const d = days.get(day) ?? { calls: 0, answered: 0, seconds: 0, w: new Map(), r: new Map() };
      d.calls++;
      d.answered += l.answered ? 1 : 0;
      d.seconds += Number(l.billable_seconds);
      if (l.wc) d.w.set(l.wc, (d.w.get(l.wc) ?? new Decimal(0)).plus(l.wa));
      if (l.rc) d.r.set(l.rc, (d.r.get(l.rc) ?? new Decimal(0)).plus(l.ra));
      days.set(day, d);
    }
    return days;
  }

  const moneyText = (m: Map<string, Decimal>) =>
    m.size ? [...m].sort(([a], [b]) => a.localeCompare(b)).map(([c, v]) => `${v.toFixed(10).replace(/0+$/, '').replace(/\.(\d?)$/, (_x, d: string) => `.${d.padEnd(2, '0')}`)} ${c}`).join(' + ') : '—';

  test("a reseller's table in its own zone (New York) matches its legs by local day, with cost and margin", async () => {
    const page = await adminA.get('/reseller?from=2026-11-08&to=2026-11-11');
    assert.equal(page.status, 200);
    const table = dayTable(page.text);
    const expected = await expectedDays(NY, { resellerId: resA.id });
    assert.ok(expected.size >= 2, 'the legs fall on two New York days');
    for (const day of ['2026-11-08', '2026-11-09', '2026-11-10', '2026-11-11']) {
      const e = expected.get(day);
      const cells = table.get(day);
      assert.ok(cells, `a row for ${day}`);
      if (!e) {
        assert.deepEqual(cells.slice(0, 3), ['0', '0', '0.0'], day);
        continue;
      }
      const margin = new Map([...e.r].map(([c, v]) => [c, v.minus(e.w.get(c) ?? 0)]));
      for (const [c, v] of e.w) if (!e.r.has(c)) margin.set(c, new Decimal(0).minus(v));
      assert.deepEqual(cells, [String(e.calls), String(e.answered), (e.seconds / 60).toFixed(1), moneyText(e.r), moneyText(e.w), moneyText(margin)], day);
    }
    // Never B's subscribers, nor its destinations' figures.
    assert.ok(page.text.includes('Ada Lovelace') && page.text.includes('Alan Turing'), 'top subscribers by name');
    assert.ok(!page.text.includes('Grace Hopper'));
    assert.match(page.text, /data-testid="top-destinations"[\s\S]*United Kingdom/);
  });

  test('the operator sees every reseller in its zone; reseller B (Tokyo, EUR) sees only its own, money per currency', async () => {
    await t.db('settings').insert({ key: 'operator_time_zone', value: 'Europe/London' }).onConflict('key').merge();
    const wpage = await operator.get('/wholesale?from=2026-11-09&to=2026-11-10');
    assert.equal(wpage.status, 200);
    const zone = /Days are local days in ([^.<]+)\./.exec(wpage.text)?.[1] as string;
    const all = await expectedDays(zone, {});
    const wt = dayTable(wpage.text);
    for (const day of ['2026-11-09', '2026-11-10']) {
      const e = all.get(day);
      assert.deepEqual(wt.get(day), e ? [String(e.calls), String(e.answered), (e.seconds / 60).toFixed(1), moneyText(e.w)] : ['0', '0', '0.0', '—'], `${zone} ${day}`);
    }
    assert.match(wpage.text, /data-testid="top-resellers"[\s\S]*Alpha Telecom[\s\S]*<\/table>/);
    assert.match(wpage.text, /data-testid="top-resellers"[\s\S]*Beta Voice[\s\S]*<\/table>/);

    const bpage = await adminB.get('/reseller?from=2026-11-09&to=2026-11-11');
    const bt = dayTable(bpage.text);
    const eb = await expectedDays(TOKYO, { resellerId: resB.id });
    const total = [...eb.values()].reduce((n, d) => n + d.calls, 0);
    assert.equal(bt.get('total')?.[0], String(total), "B's total is its own calls only");
    assert.ok(!bpage.text.includes('Ada Lovelace') && !bpage.text.includes('Alan Turing'), "no subscriber of A's");
    // Retail in EUR, wholesale in USD: never added together.
    assert.match(bt.get('total')?.[3] ?? '', /EUR$/);
    assert.match(bt.get('total')?.[4] ?? '', /USD$/);
    assert.match(bt.get('total')?.[5] ?? '', /^[\d.]+ EUR \+ -[\d.]+ USD$/);
  });

  test("a subscriber's home shows its own usage per day, its cost and never the wholesale cost", async () => {
    const page = await subscriberA1.get('/me?from=2026-11-08&to=2026-11-11');
    assert.equal(page.status, 200);
    const table = dayTable(page.text);
    const zone = /Days are local days in ([^.<]+)\./.exec(page.text)?.[1] as string;
    assert.equal(zone, NY, "the subscriber's zone follows its reseller's");
    const mine = await expectedDays(NY, { resellerId: resA.id, subscriberId: subA1.id });
    for (const [day, d] of mine) assert.deepEqual(table.get(day), [String(d.calls), String(d.answered), (d.seconds / 60).toFixed(1), moneyText(d.r)], day);
    assert.ok(!/Wholesale/i.test(/data-testid="usage"[\s\S]*<\/section>/.exec(page.text)?.[0] ?? ''), 'no wholesale figures');
    const json = JSON.parse(/<script type="application\/json" id="usage-data">([\s\S]*?)<\/script>/.exec(page.text)?.[1] ?? '{}');
    assert.ok(json.money.every((m: { label: string }) => !/wholesale/i.test(m.label)));
  });

  test('a bad period is said, and the last 30 days shown', async () => {
    const page = await adminA.get('/reseller?from=2026-02-30&to=2026-03-01');
    assert.equal(page.status, 200);
    assert.match(page.text, /data-testid="period-problem">The start date must be a real date/);
    assert.equal(dayTable(page.text).size, 31, '30 days and the total');
  });

  test('the chart library and the chart script are served by the app; the page has no inline script and a strict CSP', async () => {
    const page = await operator.get('/wholesale');
    const csp = page.headers['content-security-policy'] as string;
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.ok(!/unsafe-inline/.test(/script-src[^;]*/.exec(csp)?.[0] ?? ''), csp);
    const scripts = [...page.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.ok(scripts.length >= 3);
    for (const s of scripts) {
      const attrs = s[1] as string;
      if (/type="application\/json"/.test(attrs)) continue;
      assert.match(attrs, /src="\/public\//, 'every script is a file of the app');
      assert.equal((s[2] as string).trim(), '', 'no inline code');
    }
    assert.ok(!/ on[a-z]+="/i.test(page.text), 'no inline event handlers');
    const lib = await operator.get('/public/vendor/chart.umd.min.js');
    assert.equal(lib.status, 200);
    assert.match(String(lib.headers['content-type']), /javascript/);
    assert.match(lib.text, /Chart\.js v4/);
    const boot = await operator.get('/public/dashboard-chart.js');
    assert.equal(boot.status, 200);
    assert.match(boot.text, /usage-data/);
  });

  test('the audit feed on the dashboards names resellers, subscribers and users', async () => {
    await recordAudit(t.db, SYSTEM_ACTOR, { resellerId: resA.id, entityType: 'subscriber', entityId: subA2.id, action: 'update', before: { city: 'Paris' }, after: { city: 'Lyon' } });
    const page = await adminA.get('/reseller');
    const feed = /Recent changes[\s\S]*$/.exec(page.text)?.[0] ?? '';
    assert.match(feed, /data-testid="audit-entity">Alan Turing</);
    const wpage = await operator.get('/wholesale');
    assert.match(/Recent changes[\s\S]*$/.exec(wpage.text)?.[0] ?? '', /Alan Turing/);
    void subB;
  });
});
