import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Db } from '../../src/db/knex';
import { SYSTEM_ACTOR } from '../../src/domain/tenancy/actor';
import { RECURRING_CHARGES_JOB } from '../../src/modules/billing/billing.jobs';
import { postRecurringCharges, type RunPosition } from '../../src/modules/billing/billing.service';
import { enqueueJob } from '../../src/modules/jobs/jobs.service';
import { createTestApp, type TestApp } from '../support/app';
import { makeExchangeRate, makeJurisdiction, makeReseller, makeSubscriber, makeTax } from '../support/factories';
import { until } from '../support/wait';

/**
 * Recurring charges of packages (issue 11): setup fees and monthly fees posted at the cycle's start
 * for both sides, prorated by local days, taxed and converted as usage is, each exactly once.
 * Cycles are in America/New_York (the reseller's zone): December's starts 2026-12-01T05:00Z.
 */
const NY = 'America/New_York';

interface Line {
  assignment_id: number; side: string; item: string; days: number; cycle_days: number; cycle_start_date: string;
  amount: string; tax_amount: string; total: string; billed_currency: string; exchange_rate: string; billed_total: string; package_name: string;
}

async function lines(db: Db, assignmentId?: number): Promise<Line[]> {
  const q = db('recurring_charges').select(
    'assignment_id', 'side', 'item', 'days', 'cycle_days', 'package_name', 'billed_currency',
    db.raw('cycle_start_date::text as cycle_start_date'), db.raw('amount::text as amount'), db.raw('tax_amount::text as tax_amount'),
    db.raw('total::text as total'), db.raw('exchange_rate::text as exchange_rate'), db.raw('billed_total::text as billed_total'),
  ).orderBy(['assignment_id', 'side', 'cycle_start', 'item']);
  if (assignmentId !== undefined) q.where('assignment_id', assignmentId);
  const rows = (await q) as Line[];
  // numeric text keeps its ten decimals: compare the values as written below.
  const n = (v: string) => (v.includes('.') ? v.replace(/0+$/, '').replace(/\.$/, '') : v);
  return rows.map((r) => ({ ...r, billed_currency: r.billed_currency.trim(), amount: n(r.amount), tax_amount: n(r.tax_amount), total: n(r.total), exchange_rate: n(r.exchange_rate), billed_total: n(r.billed_total) }));
}

/** The figures of a line that the tests compare: side, item, days of cycle days, amount, tax, billed total. */
const brief = (l: Line) => `${l.side} ${l.item} ${l.cycle_start_date} ${l.days}/${l.cycle_days} ${l.amount} tax ${l.tax_amount} = ${l.billed_total} ${l.billed_currency}`;

async function tenant(db: Db, opts: { wholesaleMonthly: string; retailMonthly: string; wholesaleSetup?: string; retailSetup?: string; subscriber?: Record<string, unknown>; reseller?: Record<string, unknown> }) {
  const reseller = await makeReseller(db, { time_zone: NY, billing_cycle_day: 1, ...opts.reseller });
  const subscriber = await makeSubscriber(db, reseller.id, { region: 'NY', ...opts.subscriber });
  const [base] = await db('feature_packages').insert({ name: `Operator pack ${reseller.id}`, currency: 'USD', setup_fee: opts.wholesaleSetup ?? '0', monthly_fee: opts.wholesaleMonthly }).returning('*');
  const [own] = await db('feature_packages').insert({ reseller_id: reseller.id, base_package_id: base.id, name: 'Office pack', currency: 'USD', setup_fee: opts.retailSetup ?? '0', monthly_fee: opts.retailMonthly }).returning('*');
  // One subscriber may not hold one package twice at a time: each assignment gets a package of its
  // own at the same prices (the first one is `own`).
  let copies = 0;
  const assign = async (startsAt: string, endsAt: string | null = null) => {
    const pkg = copies++ === 0 ? own : (await db('feature_packages').insert({ ...own, id: undefined, name: `Office pack ${copies}` }).returning('*'))[0];
    const [a] = await db('package_assignments').insert({ reseller_id: reseller.id, subscriber_id: subscriber.id, feature_package_id: pkg.id, starts_at: startsAt, ends_at: endsAt }).returning('id');
    return Number(a.id);
  };
  return { reseller, subscriber, base, own, assign };
}

const at = (iso: string) => Date.parse(iso);

describe('recurring charges', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  test('proration is exact: a start mid-cycle, an end mid-cycle, both, in a 31-day and a 28-day cycle; setup fees once', async () => {
    const x = await tenant(t.db, { wholesaleMonthly: '31', retailMonthly: '10', wholesaleSetup: '5', retailSetup: '12.5' });
    // 15:00 on 10 December in New York: charged from the 10th, 22 of December's 31 days.
    const startMid = await x.assign('2026-12-10T20:00:00Z');
    // Held from before the cycle until 09:00 on 20 December: the 1st to the 19th, 19 days.
    const endMid = await x.assign('2026-11-01T05:00:00Z', '2026-12-20T14:00:00Z');
    // From the 5th to the 12th (12th not charged): 7 days.
    const both = await x.assign('2026-12-05T05:00:00Z', '2026-12-12T05:00:00Z');
    // February 2027: a 28-day cycle, from the 15th, 14 days.
    const feb = await x.assign('2027-02-15T17:00:00Z');

    await postRecurringCharges(t.db, { nowMs: at('2026-12-31T12:00:00Z') });
    assert.deepEqual((await lines(t.db, startMid)).map(brief), [
      'retail monthly 2026-12-01 22/31 7.1 tax 0 = 7.1 USD', // 10 x 22 / 31 = 7.0967..., to the cent once
      'retail setup 2026-12-01 0/31 12.5 tax 0 = 12.5 USD',
      'wholesale monthly 2026-12-01 22/31 22 tax 0 = 22 USD', // the base's fee: 31 x 22 / 31
      'wholesale setup 2026-12-01 0/31 5 tax 0 = 5 USD',
    ]);
    // November was owed too (held from 1 November): a run catches up on cycles it missed.
    assert.deepEqual((await lines(t.db, endMid)).map(brief), [
      'retail monthly 2026-11-01 30/30 10 tax 0 = 10 USD',
      'retail setup 2026-11-01 0/30 12.5 tax 0 = 12.5 USD',
      'retail monthly 2026-12-01 19/31 6.13 tax 0 = 6.13 USD', // 10 x 19 / 31 = 6.129...
      'wholesale monthly 2026-11-01 30/30 31 tax 0 = 31 USD',
      'wholesale setup 2026-11-01 0/30 5 tax 0 = 5 USD',
      'wholesale monthly 2026-12-01 19/31 19 tax 0 = 19 USD',
    ]);
    assert.deepEqual((await lines(t.db, both)).filter((l) => l.item === 'monthly').map(brief), [
      'retail monthly 2026-12-01 7/31 2.26 tax 0 = 2.26 USD', // 10 x 7 / 31 = 2.258...
      'wholesale monthly 2026-12-01 7/31 7 tax 0 = 7 USD',
    ]);
    assert.deepEqual(await lines(t.db, feb), [], 'a package that has not started owes nothing yet');

    await postRecurringCharges(t.db, { nowMs: at('2027-02-20T12:00:00Z') });
    assert.deepEqual((await lines(t.db, feb)).filter((l) => l.item === 'monthly').map(brief), [
      'retail monthly 2027-02-01 14/28 5 tax 0 = 5 USD',
      'wholesale monthly 2027-02-01 14/28 15.5 tax 0 = 15.5 USD',
    ]);
    // The December starter's January and February months, whole.
    assert.deepEqual((await lines(t.db, startMid)).filter((l) => l.item === 'monthly' && l.side === 'retail').map((l) => `${l.cycle_start_date} ${l.days}/${l.cycle_days} ${l.amount}`), [
      '2026-12-01 22/31 7.1', '2027-01-01 31/31 10', '2027-02-01 28/28 10',
    ]);
  });

  test('a month is posted at the cycle start in the party zone, not before; an assignment begun mid-cycle is posted prorated on the next run', async () => {
    const x = await tenant(t.db, { wholesaleMonthly: '30', retailMonthly: '60' });
    const a = await x.assign('2026-10-01T04:00:00Z');
    // 23:59 on 30 November in New York (04:59Z on 1 December): still November there.
    await postRecurringCharges(t.db, { nowMs: at('2026-12-01T04:59:00Z') });
    assert.deepEqual((await lines(t.db, a)).filter((l) => l.side === 'retail').map((l) => l.cycle_start_date), ['2026-10-01', '2026-11-01']);
    await postRecurringCharges(t.db, { nowMs: at('2026-12-01T05:00:00Z') });
    assert.deepEqual((await lines(t.db, a)).filter((l) => l.side === 'retail').map((l) => l.cycle_start_date), ['2026-10-01', '2026-11-01', '2026-12-01']);
    // Taken at 08:00 on 16 December: the next hourly run posts the 16 days it covers.
    const later = await x.assign('2026-12-16T13:00:00Z');
    await postRecurringCharges(t.db, { nowMs: at('2026-12-16T14:00:00Z') });
    assert.deepEqual((await lines(t.db, later)).map(brief), ['retail monthly 2026-12-01 16/31 30.97 tax 0 = 30.97 USD', 'wholesale monthly 2026-12-01 16/31 15.48 tax 0 = 15.48 USD']);
  });

  test('an assignment ended after its month was posted gets one credit for the days not used', async () => {
    const x = await tenant(t.db, { wholesaleMonthly: '31', retailMonthly: '62' });
    const a = await x.assign('2026-11-20T05:00:00Z');
    await postRecurringCharges(t.db, { nowMs: at('2026-12-01T06:00:00Z') });
    // Ended at 10:00 on 21 December: used the 1st to the 20th, 20 days.
    await t.db('package_assignments').where('id', a).update({ ends_at: '2026-12-21T15:00:00Z' });
    await postRecurringCharges(t.db, { nowMs: at('2026-12-21T16:00:00Z') });
    await postRecurringCharges(t.db, { nowMs: at('2026-12-21T17:00:00Z') });
    await postRecurringCharges(t.db, { nowMs: at('2027-01-05T17:00:00Z') });
    const dec = (await lines(t.db, a)).filter((l) => l.cycle_start_date === '2026-12-01').map(brief);
    assert.deepEqual(dec, [
      'retail credit 2026-12-01 -11/31 -22 tax 0 = -22 USD', // 62 x 20 / 31 - 62
      'retail monthly 2026-12-01 31/31 62 tax 0 = 62 USD',
      'wholesale credit 2026-12-01 -11/31 -11 tax 0 = -11 USD',
      'wholesale monthly 2026-12-01 31/31 31 tax 0 = 31 USD',
    ]);
    assert.equal((await lines(t.db, a)).filter((l) => l.cycle_start_date === '2027-01-01').length, 0, 'nothing after the end');
  });

  test('taxes and currency: recurring taxes of each side at the service address, a subscriber billed in EUR at the rate in force', async () => {
    const j = await makeJurisdiction(t.db, { country: 'US', region: 'NJ' });
    const x = await tenant(t.db, { wholesaleMonthly: '31', retailMonthly: '62', retailSetup: '20', subscriber: { region: 'NJ', billing_currency: 'EUR' } });
    // The reseller's tax on its subscribers' packages, the operator's on the reseller's wholesale lines;
    // a usage tax of the reseller is not levied on packages.
    await makeTax(t.db, x.reseller.id, j.id, { kind: 'recurring', rate: '10' });
    await makeTax(t.db, x.reseller.id, j.id, { kind: 'usage', rate: '50' });
    await makeTax(t.db, null, j.id, { kind: 'recurring', rate: '5' });
    await makeExchangeRate(t.db, 'USD', 'EUR', '0.9', '2026-01-01T00:00:00Z');
    await makeExchangeRate(t.db, 'USD', 'EUR', '0.85', '2027-01-01T00:00:00Z');
    const a = await x.assign('2026-11-01T05:00:00Z');
    await postRecurringCharges(t.db, { nowMs: at('2026-12-01T05:00:00Z') });
    await postRecurringCharges(t.db, { nowMs: at('2027-01-01T05:00:00Z') });
    assert.deepEqual((await lines(t.db, a)).map(brief), [
      'retail monthly 2026-11-01 30/30 62 tax 6.2 = 61.38 EUR', // 68.20 x 0.9
      'retail setup 2026-11-01 0/30 20 tax 2 = 19.8 EUR',
      'retail monthly 2026-12-01 31/31 62 tax 6.2 = 61.38 EUR',
      'retail monthly 2027-01-01 31/31 62 tax 6.2 = 57.97 EUR', // 68.20 x 0.85 = 57.97
      'wholesale monthly 2026-11-01 30/30 31 tax 1.55 = 32.55 USD',
      'wholesale monthly 2026-12-01 31/31 31 tax 1.55 = 32.55 USD',
      'wholesale monthly 2027-01-01 31/31 31 tax 1.55 = 32.55 USD',
    ]);
    assert.deepEqual([...new Set((await lines(t.db, a)).filter((l) => l.side === 'retail').map((l) => l.exchange_rate))].sort(), ['0.85', '0.9']);

    // An exempt subscriber is charged no retail tax; no exchange rate in force: nothing posted, tried again later.
    const y = await tenant(t.db, { wholesaleMonthly: '31', retailMonthly: '62', subscriber: { region: 'NJ', billing_currency: 'GBP', tax_exempt: true } });
    const b = await y.assign('2026-12-01T05:00:00Z');
    const r = await postRecurringCharges(t.db, { nowMs: at('2026-12-02T05:00:00Z') });
    assert.ok(r.notPosted.some((s) => s.includes(`assignment ${b} retail monthly 2026-12-01`) && s.includes('USD to GBP')), r.notPosted.join('; '));
    // The operator's tax still applies to the wholesale side (the reseller is not exempt).
    assert.deepEqual((await lines(t.db, b)).map(brief), ['wholesale monthly 2026-12-01 31/31 31 tax 1.55 = 32.55 USD']);
    await makeExchangeRate(t.db, 'USD', 'GBP', '0.8', '2026-01-01T00:00:00Z');
    await postRecurringCharges(t.db, { nowMs: at('2026-12-02T06:00:00Z') });
    assert.deepEqual((await lines(t.db, b)).filter((l) => l.side === 'retail').map(brief), ['retail monthly 2026-12-01 31/31 62 tax 0 = 49.6 GBP']);
  });

  test('a reseller that does its own billing is charged wholesale only; an operator toll package held by the reseller is charged wholesale', async () => {
    const x = await tenant(t.db, { wholesaleMonthly: '31', retailMonthly: '62', reseller: { billing_service: false } });
    const a = await x.assign('2026-12-01T05:00:00Z');
    const [toll] = await t.db('toll_packages').insert({ name: `Operator minutes ${x.reseller.id}`, currency: 'USD', monthly_fee: '100' }).returning('id');
    const [held] = await t.db('package_assignments').insert({ reseller_id: x.reseller.id, toll_package_id: toll.id, starts_at: '2026-12-01T05:00:00Z' }).returning('id');
    await postRecurringCharges(t.db, { nowMs: at('2026-12-01T06:00:00Z') });
    assert.deepEqual((await lines(t.db, a)).map(brief), ['wholesale monthly 2026-12-01 31/31 31 tax 0 = 31 USD']);
    assert.deepEqual((await lines(t.db, Number(held.id))).map(brief), ['wholesale monthly 2026-12-01 31/31 100 tax 0 = 100 USD']);
  });

  test('posted exactly once: a second run, a run cut between parties and resumed, and two runs at once', async () => {
    const parties = [];
    for (let i = 0; i < 3; i++) {
      const x = await tenant(t.db, { wholesaleMonthly: '31', retailMonthly: '62', retailSetup: '9' });
      await x.assign('2026-12-03T05:00:00Z');
      parties.push(x);
    }
    const ids = new Set(parties.map((p) => p.reseller.id));
    const count = async () => (await t.db('recurring_charges').whereIn('reseller_id', [...ids]).count('* as n').first())?.n;
    const now = at('2027-03-01T06:00:00Z');
    // Cut after the first party's lines committed: the second party's transaction fails.
    let seen = 0;
    let committed: RunPosition | undefined;
    await assert.rejects(postRecurringCharges(t.db, { nowMs: now, afterParty: async (_tx, p) => {
      if (p.side === 'wholesale' && ids.has(p.partyId) && ++seen === 2) throw new Error('killed');
      committed = p;
    } }), /killed/);
    const cut = Number(await count());
    assert.ok(cut > 0, 'the first party was stored');
    // Resumed after the last party committed (the job's checkpoint): the rest is posted.
    const resumed = await postRecurringCharges(t.db, { nowMs: now, after: committed });
    assert.equal(Number(await count()), 27);
    assert.ok(resumed.posted >= 27 - cut);
    // And a run from scratch (no checkpoint) finds nothing missing.
    const first = await postRecurringCharges(t.db, { nowMs: now });
    assert.equal(first.posted, 0);
    const total = Number(await count());
    // Each of 3 parties: retail setup + Dec..Mar (4 months), wholesale Dec..Mar: 9 lines.
    assert.equal(total, 27);
    const again = await postRecurringCharges(t.db, { nowMs: now });
    assert.equal(again.posted, 0);
    // Two runs at once, at the next cycle: every line once between them.
    const next = at('2027-04-01T06:00:00Z');
    const everyLine = async () => Number((await t.db('recurring_charges').count('* as n').first())?.n);
    const beforeBoth = await everyLine();
    const both = await Promise.all([postRecurringCharges(t.db, { nowMs: next }), postRecurringCharges(t.db, { nowMs: next })]);
    assert.equal(Number(await count()), 33);
    // What the two say they posted is what was stored (other tests' parties are due too).
    assert.equal(both[0].posted + both[1].posted, (await everyLine()) - beforeBoth);
    const dupes = await t.db('recurring_charges').select('assignment_id', 'side', 'item', 'cycle_start').count('* as n').groupBy('assignment_id', 'side', 'item', 'cycle_start').having(t.db.raw('count(*) > 1'));
    assert.deepEqual(dupes, []);
  });

  test('the scheduled job posts what is due now, and a second run of it posts nothing', async () => {
    const x = await tenant(t.db, { wholesaleMonthly: '31', retailMonthly: '62' });
    const a = await x.assign(new Date(Date.now() - 40 * 86_400_000).toISOString());
    const run = async () => {
      const id = await enqueueJob(t.db, t.jobs, SYSTEM_ACTOR, { kind: RECURRING_CHARGES_JOB, payload: {}, title: 'Recurring charges', returnTo: '/wholesale/jobs' });
      return until('the job done', async () => {
        const j = await t.db('jobs').where({ id }).first();
        return j.status === 'done' ? j : j.status === 'failed' ? Promise.reject(new Error(j.error)) : undefined;
      });
    };
    const j1 = await run();
    const after1 = (await lines(t.db, a)).map(brief);
    assert.ok(after1.length >= 3, after1.join('\n'));
    assert.equal(after1.length, new Set(after1).size);
    const j2 = await run();
    assert.deepEqual((await lines(t.db, a)).map(brief), after1);
    assert.equal((typeof j2.result === 'string' ? JSON.parse(j2.result) : j2.result).posted, 0);
    assert.ok((typeof j1.result === 'string' ? JSON.parse(j1.result) : j1.result).posted >= after1.length);
  });
});
