import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { outcomeMessage } from '../../src/modules/calls/calls.service';
import { isOutcome, parsePost, ratePosts, writePosts, type ParsedPost } from '../../src/modules/intake/intake.service';
import { getPlatform } from '../../src/modules/platforms/platforms.repository';
import { currentPartyVersion, holdersOf } from '../../src/modules/rating/holders';
import { rerateLegs, type RerateCheckpoint } from '../../src/modules/rating/rerate.service';
import { createTestApp, type TestApp } from '../support/app';
import { makePlan, makeRates, makeReseller, makeSubscriber, randomNumber, rateRow, step } from '../support/factories';
import { makePlatform, postCdrs } from '../support/intake';

/**
 * Toll package allowances consumed by rating (issue 11), through the intake on every write path
 * and through re-rating, with exact figures. Rows of packages are written straight into the
 * tables (the pages are another part's). Plans: wholesale 0.01 a minute per second; retail 0.10 a
 * minute in 60/60 blocks to 44 (UK), 0.20 a minute per second to 33 (France).
 */
describe('toll package allowances', () => {
  let t: TestApp;
  let resellerId: number;
  let retailPlanId: number;
  let ukGroup: number;
  let platform: { id: number; token: string };

  before(async () => {
    t = await createTestApp();
    const wholesale = await makePlan(t.db, null, { name: 'WS' });
    const reseller = await makeReseller(t.db, { wholesale_plan_id: wholesale.id });
    resellerId = reseller.id;
    const retail = await makePlan(t.db, reseller.id, { name: 'Retail' });
    retailPlanId = retail.id;
    await makeRates(
      t.db,
      rateRow(wholesale, { prefix: '44', rate: '0.0100' }),
      rateRow(wholesale, { prefix: '33', rate: '0.0100' }),
      rateRow(retail, { prefix: '44', steps: [step('0.1000', 60)] }),
      rateRow(retail, { prefix: '33', rate: '0.2000' }),
    );
    [{ id: ukGroup }] = await t.db('destination_groups').insert({ reseller_id: resellerId, name: 'UK' }).returning('id');
    await t.db('destination_group_prefixes').insert({ group_id: ukGroup, prefix: '44' });
    platform = await makePlatform(t.db);
  });
  after(() => t.close());

  let pkgs = 0;
  /** A subscriber of the reseller holding a new toll package of the UK group (included: seconds, null unlimited). */
  async function holder(included: number | null, o: { overage?: string; sub?: Record<string, unknown> } = {}) {
    const h = await unassigned(o.sub);
    return { ...h, assignmentId: await h.assign(included, o.overage) };
  }
  /** A subscriber of the reseller, and how to give it a toll package of the UK group later (in force since January). */
  async function unassigned(subRow: Record<string, unknown> = {}) {
    const number = randomNumber();
    const sub = await makeSubscriber(t.db, resellerId, { retail_plan_id: retailPlanId, ...subRow }, [number]);
    const assign = async (included: number | null, overage?: string) => {
      const [{ id: pkg }] = await t.db('toll_packages').insert({ reseller_id: resellerId, name: `UK ${++pkgs}`, currency: 'USD' }).returning('id');
      await t.db('toll_package_groups').insert({ package_id: pkg, group_id: ukGroup, included_seconds: included, overage_rate: overage ?? null });
      const [{ id: assignmentId }] = await t.db('package_assignments').insert({ reseller_id: resellerId, subscriber_id: sub.id, toll_package_id: pkg, starts_at: '2026-01-01T00:00:00Z' }).returning('id');
      return Number(assignmentId);
    };
    return { sub, number, assign };
  }

  let seq = 0;
  const leg = (calling: string, start: string, seconds: number, called = '+442079460000', id = `L-${++seq}`) => {
    const s = new Date(start).getTime();
    return { leg_id: id, calling, called, start, answer: start, end: new Date(s + seconds * 1000).toISOString() };
  };

  /** Each charge of the subscriber's legs, in call order. */
  async function charges(subscriberId: number, kind: 'retail' | 'wholesale' = 'retail') {
    const rows = await t.db('charges as c')
      .join('call_legs as l', (j) => j.on('l.id', 'c.leg_id').andOn('l.start_at', 'c.start_at'))
      .where({ 'c.subscriber_id': subscriberId, 'c.kind': kind })
      .orderBy([{ column: 'l.start_at' }, { column: 'l.leg_key' }])
      .select('l.leg_key', 'c.charged_seconds', 'c.covered_seconds', db().raw('c.amount::text as amount'), 'c.allowances');
    return rows as Array<{ leg_key: string; charged_seconds: number; covered_seconds: number; amount: string; allowances: Array<{ assignment_id: number; group_id: number; cycle_start: string; seconds: number }> }>;
  }
  const db = () => t.db;
  async function balances(assignmentId: number) {
    return (await t.db('allowance_usage').where({ assignment_id: assignmentId }).orderBy('cycle_start').select('*')).map((r) => ({
      cycle_start: new Date(r.cycle_start).toISOString(), cycle_end: new Date(r.cycle_end).toISOString(), used: Number(r.seconds_used),
    }));
  }
  /** Every balance equals the sum of what the charges say they took from it. */
  async function assertBalancesAgree(assignmentId: number) {
    const { rows } = await t.db.raw(
      `SELECT u.cycle_start, u.seconds_used::int AS used,
              coalesce((SELECT sum(a.seconds) FROM charges c, jsonb_to_recordset(c.allowances) a(assignment_id bigint, cycle_start timestamptz, seconds int)
                         WHERE a.assignment_id = u.assignment_id AND a.cycle_start = u.cycle_start), 0)::int AS taken
         FROM allowance_usage u WHERE u.assignment_id = ?`,
      [assignmentId],
    );
    for (const r of rows) assert.equal(r.used, r.taken, `balance of cycle ${r.cycle_start}`);
  }

  test('the allowance used up in the middle of a call: the call is split between the package and the plan', async () => {
    const h = await holder(600);
    for (const [start, seconds] of [['2026-11-10T10:00:00Z', 540], ['2026-11-10T10:30:00Z', 150], ['2026-11-10T11:00:00Z', 60]] as const) {
      const res = await postCdrs(t, platform.token, leg(h.number, start, seconds));
      assert.equal(res.body.records[0].status, 'accepted', JSON.stringify(res.body));
    }
    const c = await charges(h.sub.id);
    // 540 s: all covered. 150 s is charged 180 s (60/60): its first 60 s end the allowance, the
    // other two minutes at 0.10. Then nothing is left.
    assert.deepEqual(c.map((x) => [x.charged_seconds, x.covered_seconds, x.amount]), [[540, 540, '0.0000000000'], [180, 60, '0.2000000000'], [60, 0, '0.1000000000']]);
    assert.deepEqual(c[1]!.allowances, [{ assignment_id: h.assignmentId, group_id: ukGroup, cycle_start: '2026-11-01T00:00:00.000Z', seconds: 60 }]);
    assert.deepEqual(c[2]!.allowances, []);
    assert.deepEqual(await balances(h.assignmentId), [{ cycle_start: '2026-11-01T00:00:00.000Z', cycle_end: '2026-12-01T00:00:00.000Z', used: 600 }]);
    // The wholesale side has no package: 150 s at 0.01 a minute per second.
    assert.deepEqual((await charges(h.sub.id, 'wholesale')).map((x) => [x.covered_seconds, x.amount]), [[0, '0.0900000000'], [0, '0.0250000000'], [0, '0.0100000000']]);
  });

  test('the holders say who holds toll packages (so others cost no query), and an assignment moves party_version (so the cache and its write check follow)', async () => {
    const number = randomNumber();
    const sub = await makeSubscriber(t.db, resellerId, { retail_plan_id: retailPlanId }, [number]);
    const before = await holdersOf(t.db, [number]);
    assert.deepEqual([before.parties.get(sub.id)?.subscriberTolls, before.parties.get(sub.id)?.resellerTolls], [false, false]);
    const [{ id: pkg }] = await t.db('toll_packages').insert({ reseller_id: resellerId, name: `Flag ${++pkgs}`, currency: 'USD' }).returning('id');
    await t.db('package_assignments').insert({ reseller_id: resellerId, subscriber_id: sub.id, toll_package_id: pkg, starts_at: '2026-01-01T00:00:00Z' });
    assert.ok(BigInt(await currentPartyVersion(t.db)) > BigInt(before.version));
    const after = await holdersOf(t.db, [number]);
    assert.deepEqual([after.parties.get(sub.id)?.subscriberTolls, after.parties.get(sub.id)?.resellerTolls], [true, false]);
    // A leg of it to a number in no group: priced by the plan, no balance made.
    await postCdrs(t, platform.token, leg(number, '2026-11-11T12:00:00Z', 60, '+33142000000'));
    assert.deepEqual((await charges(sub.id)).map((x) => [x.covered_seconds, x.amount]), [[0, '0.2000000000']]);
    assert.equal(Number((await t.db('allowance_usage').join('package_assignments as pa', 'pa.id', 'allowance_usage.assignment_id').where('pa.subscriber_id', sub.id).count('* as n').first())?.n), 0);
  });

  test("the intake remembers a holder's packages; a group's new prefix, a package's new allowance are seen by the next post", async () => {
    const number = randomNumber();
    const sub = await makeSubscriber(t.db, resellerId, { retail_plan_id: retailPlanId }, [number]);
    const [{ id: group }] = await t.db('destination_groups').insert({ reseller_id: resellerId, name: `Cached ${++pkgs}` }).returning('id');
    await t.db('destination_group_prefixes').insert({ group_id: group, prefix: '44' });
    const [{ id: pkg }] = await t.db('toll_packages').insert({ reseller_id: resellerId, name: `Cached ${pkgs}`, currency: 'USD' }).returning('id');
    await t.db('toll_package_groups').insert({ package_id: pkg, group_id: group, included_seconds: 60 });
    await t.db('package_assignments').insert({ reseller_id: resellerId, subscriber_id: sub.id, toll_package_id: pkg, starts_at: '2026-01-01T00:00:00Z' });
    // Twice, so that the second is rated from what the first left in memory.
    await postCdrs(t, platform.token, leg(number, '2026-11-12T09:00:00Z', 30));
    await postCdrs(t, platform.token, leg(number, '2026-11-12T09:10:00Z', 30, '+33142000001'));
    await t.db('destination_group_prefixes').insert({ group_id: group, prefix: '33' });
    await t.db('toll_package_groups').where({ package_id: pkg, group_id: group }).update({ included_seconds: 600 });
    await postCdrs(t, platform.token, leg(number, '2026-11-12T09:20:00Z', 120, '+33142000002'));
    // 30 s (charged 60 on the 60/60 UK plan) took the 60 s; France was in no group; then France is, with 600 s.
    const c = await charges(sub.id);
    assert.deepEqual(c.map((x) => [x.charged_seconds, x.covered_seconds]), [[60, 60], [30, 0], [120, 120]]);
  });

  test('an unlimited package covers every second; a number in no group is priced by the plan and touches no balance', async () => {
    const h = await holder(null);
    await postCdrs(t, platform.token, [leg(h.number, '2026-11-11T09:00:00Z', 3600), leg(h.number, '2026-11-11T10:00:00Z', 90, '+33142000000')]);
    const c = await charges(h.sub.id);
    assert.deepEqual(c.map((x) => [x.charged_seconds, x.covered_seconds, x.amount, x.allowances.length]), [[3600, 3600, '0.0000000000', 1], [90, 0, '0.3000000000', 0]]);
    assert.deepEqual(await balances(h.assignmentId), [{ cycle_start: '2026-11-01T00:00:00.000Z', cycle_end: '2026-12-01T00:00:00.000Z', used: 3600 }]);
  });

  test('an overage rate prices the seconds after the allowance, in the plan\'s blocks: 150 s with 60 s left at 0.05 a minute is 0.10', async () => {
    const h = await holder(60, { overage: '0.0500' });
    await postCdrs(t, platform.token, leg(h.number, '2026-11-12T09:00:00Z', 150));
    await postCdrs(t, platform.token, leg(h.number, '2026-11-12T10:00:00Z', 30));
    const c = await charges(h.sub.id);
    // 180 charged, 60 covered, 120 s at 0.05 a minute; then a 30 s call charged a whole minute at 0.05.
    assert.deepEqual(c.map((x) => [x.charged_seconds, x.covered_seconds, x.amount]), [[180, 60, '0.1000000000'], [60, 0, '0.0500000000']]);
  });

  test('a new cycle starts fresh at the party\'s local midnight of its cycle day (New York, the 5th)', async () => {
    const h = await holder(60, { sub: { time_zone: 'America/New_York', billing_cycle_day: 5 } });
    // Midnight of 5 December in New York is 05:00 UTC.
    await postCdrs(t, platform.token, [
      leg(h.number, '2026-12-05T04:58:00Z', 60),
      leg(h.number, '2026-12-05T04:59:00Z', 60),
      leg(h.number, '2026-12-05T05:00:00Z', 60),
    ]);
    const c = await charges(h.sub.id);
    assert.deepEqual(c.map((x) => [x.covered_seconds, x.amount, x.allowances[0]?.cycle_start ?? null]), [
      [60, '0.0000000000', '2026-11-05T05:00:00.000Z'],
      [0, '0.1000000000', null],
      [60, '0.0000000000', '2026-12-05T05:00:00.000Z'],
    ]);
    assert.deepEqual(await balances(h.assignmentId), [
      { cycle_start: '2026-11-05T05:00:00.000Z', cycle_end: '2026-12-05T05:00:00.000Z', used: 60 },
      { cycle_start: '2026-12-05T05:00:00.000Z', cycle_end: '2027-01-05T05:00:00.000Z', used: 60 },
    ]);
  });

  test('wholesale: an operator toll package held by the reseller covers its wholesale charges', async () => {
    const wholesale = await makePlan(t.db, null, { name: 'WS2' });
    await makeRates(t.db, rateRow(wholesale, { prefix: '44', rate: '0.0100' }));
    const reseller = await makeReseller(t.db, { wholesale_plan_id: wholesale.id });
    const retail = await makePlan(t.db, reseller.id, { name: 'R2' });
    await makeRates(t.db, rateRow(retail, { prefix: '44', rate: '0.0500' }));
    const number = randomNumber();
    const sub = await makeSubscriber(t.db, reseller.id, { retail_plan_id: retail.id }, [number]);
    const [{ id: group }] = await t.db('destination_groups').insert({ reseller_id: null, name: 'UK wholesale' }).returning('id');
    await t.db('destination_group_prefixes').insert([{ group_id: group, prefix: '44' }, { group_id: group, prefix: '4420' }]);
    const [{ id: pkg }] = await t.db('toll_packages').insert({ reseller_id: null, name: 'Operator UK', currency: 'USD' }).returning('id');
    await t.db('toll_package_groups').insert({ package_id: pkg, group_id: group, included_seconds: 120 });
    const [{ id: a }] = await t.db('package_assignments').insert({ reseller_id: reseller.id, subscriber_id: null, toll_package_id: pkg, starts_at: '2026-01-01T00:00:00Z' }).returning('id');
    await postCdrs(t, platform.token, leg(number, '2026-11-13T09:00:00Z', 150));
    // 150 s per second: 120 covered, 30 s at 0.01 a minute. The retail charge is the plan's alone.
    assert.deepEqual((await charges(sub.id, 'wholesale')).map((x) => [x.covered_seconds, x.amount]), [[120, '0.0050000000']]);
    assert.deepEqual((await charges(sub.id, 'retail')).map((x) => [x.covered_seconds, x.amount]), [[0, '0.1250000000']]);
    assert.deepEqual(await balances(Number(a)), [{ cycle_start: '2026-11-01T00:00:00.000Z', cycle_end: '2026-12-01T00:00:00.000Z', used: 120 }]);
  });

  test('50 concurrent posts of one subscriber never take more than the allowance', async () => {
    const h = await holder(600);
    const posts = Array.from({ length: 50 }, (_, i) => postCdrs(t, platform.token, leg(h.number, new Date(Date.UTC(2026, 10, 14, 9, i)).toISOString(), 60)));
    for (const res of await Promise.all(posts)) assert.equal(res.body.records[0].status, 'accepted');
    const c = await charges(h.sub.id);
    assert.equal(c.length, 50);
    assert.equal(c.reduce((n, x) => n + x.covered_seconds, 0), 600); // min(600, 50 x 60)
    assert.equal(c.filter((x) => x.covered_seconds === 60).length, 10);
    assert.equal(c.filter((x) => x.covered_seconds === 0 && x.amount === '0.1000000000').length, 40);
    assert.deepEqual((await balances(h.assignmentId)).map((b) => b.used), [600]);
    await assertBalancesAgree(h.assignmentId);
  });

  test('50 legs rated before any is written (stale balances), written in 50 concurrent transactions: never over the allowance', async () => {
    const h = await holder(900);
    const p = (await getPlatform(t.db, platform.id))!;
    const parsed: ParsedPost[] = [];
    for (let i = 0; i < 50; i++) {
      const x = await parsePost(t.db, { platform: p, body: JSON.stringify(leg(h.number, new Date(Date.UTC(2026, 10, 15, 9, i)).toISOString(), 60)), contentType: 'application/json', sourceIp: undefined });
      assert.ok(!isOutcome(x));
      parsed.push(x);
    }
    const caches = { plans: t.planCache, refs: t.referenceData };
    const prepared = await Promise.all(parsed.map(async (x) => (await ratePosts(t.db, caches, [x]))[0]!));
    await Promise.all(prepared.map((x) => t.db.transaction((tx) => writePosts(tx, [x]))));
    const c = await charges(h.sub.id);
    assert.equal(c.length, 50);
    assert.equal(c.reduce((n, x) => n + x.covered_seconds, 0), 900);
    assert.deepEqual((await balances(h.assignmentId)).map((b) => b.used), [900]);
    await assertBalancesAgree(h.assignmentId);
  });

  test('a large post (COPY on a Postgres server) draws in call order; legs of no group in it are stored as usual', async () => {
    const h = await holder(6000);
    // 250 legs, posted latest first: 200 to the UK (one minute each), 50 to France.
    const body = Array.from({ length: 250 }, (_, i) => leg(h.number, new Date(Date.UTC(2026, 10, 16, 8, 0, 0) + i * 60_000).toISOString(), 60, i % 5 === 4 ? '+33142000000' : '+442079460000')).reverse();
    const res = await postCdrs(t, platform.token, body);
    assert.equal(res.body.accepted, 250, JSON.stringify(res.body).slice(0, 300));
    const c = await charges(h.sub.id);
    assert.equal(c.length, 250);
    const uk = c.filter((_, i) => i % 5 !== 4);
    // The first 100 UK calls in call order are covered, the other 100 are not.
    assert.deepEqual(uk.map((x) => x.covered_seconds), [...Array(100).fill(60), ...Array(100).fill(0)]);
    assert.ok(c.filter((_, i) => i % 5 === 4).every((x) => x.covered_seconds === 0 && x.amount === '0.2000000000' && x.allowances.length === 0));
    assert.deepEqual((await balances(h.assignmentId)).map((b) => b.used), [6000]);
    await assertBalancesAgree(h.assignmentId);
    // Posted again: duplicates, nothing taken twice.
    const again = await postCdrs(t, platform.token, body);
    assert.equal(again.body.duplicates ?? again.body.records.filter((r: { status: string }) => r.status === 'duplicate').length, 250);
    assert.deepEqual((await balances(h.assignmentId)).map((b) => b.used), [6000]);
  });

  test('a post with a refused record (the INSERT-in-a-transaction path) draws too; its re-post takes nothing', async () => {
    const h = await holder(120);
    const good = leg(h.number, '2026-11-17T09:00:00Z', 90);
    const res = await postCdrs(t, platform.token, [good, { leg_id: 'bad' }]);
    assert.equal(res.body.records[0].status, 'accepted', JSON.stringify(res.body));
    assert.equal(res.body.records[1].status, 'rejected');
    await postCdrs(t, platform.token, good);
    const c = await charges(h.sub.id);
    assert.deepEqual(c.map((x) => [x.charged_seconds, x.covered_seconds, x.amount]), [[120, 120, '0.0000000000']]);
    assert.deepEqual((await balances(h.assignmentId)).map((b) => b.used), [120]);
  });

  test('re-rating a period gives back what its charges took and draws again in call order', async () => {
    const h = await holder(120);
    const starts = ['2026-11-18T09:00:00Z', '2026-11-18T10:00:00Z', '2026-11-18T11:00:00Z'];
    // Posted latest first: the last two calls take the allowance.
    for (const s of [...starts].reverse()) await postCdrs(t, platform.token, leg(h.number, s, 60));
    assert.deepEqual((await charges(h.sub.id)).map((x) => x.covered_seconds), [0, 60, 60]);
    const caches = { plans: t.planCache, refs: t.referenceData };
    const period = { filter: { fromMs: Date.parse('2026-11-18T00:00:00Z'), toMs: Date.parse('2026-11-19T00:00:00Z'), resellerId } };
    await rerateLegs(t.db, caches, { kind: 'wholesale' }, period);
    let c = await charges(h.sub.id);
    assert.deepEqual(c.map((x) => [x.covered_seconds, x.amount]), [[60, '0.0000000000'], [60, '0.0000000000'], [0, '0.1000000000']]);
    assert.deepEqual((await balances(h.assignmentId)).map((b) => b.used), [120]);
    await assertBalancesAgree(h.assignmentId);
    // Again: the same, nothing taken twice.
    await rerateLegs(t.db, caches, { kind: 'wholesale' }, period);
    c = await charges(h.sub.id);
    assert.deepEqual(c.map((x) => x.covered_seconds), [60, 60, 0]);
    assert.deepEqual((await balances(h.assignmentId)).map((b) => b.used), [120]);
    // With a larger allowance the third call is covered by a re-rating of it alone.
    await t.db('toll_package_groups').where({ group_id: ukGroup }).whereIn('package_id', t.db('package_assignments').select('toll_package_id').where({ id: h.assignmentId })).update({ included_seconds: 180 });
    const third = await t.db('call_legs').where({ subscriber_id: h.sub.id }).orderBy('start_at', 'desc').first();
    await rerateLegs(t.db, caches, { kind: 'wholesale' }, { ids: [third.id] });
    assert.deepEqual((await charges(h.sub.id)).map((x) => x.covered_seconds), [60, 60, 60]);
    assert.deepEqual((await balances(h.assignmentId)).map((b) => b.used), [180]);
    await assertBalancesAgree(h.assignmentId);
    // Re-rated to no charge at all (the subscriber now inactive: blocked): everything given back.
    await t.db('subscribers').where({ id: h.sub.id }).update({ status: 'inactive' });
    await rerateLegs(t.db, caches, { kind: 'wholesale' }, period);
    assert.deepEqual(await charges(h.sub.id), []);
    assert.deepEqual((await balances(h.assignmentId)).map((b) => b.used), [0]);
  });

  // Re-rating in call order across batches (the issue: "re-rating a period gives back and
  // re-consumes allowances exactly, in call order"). Every holder below has 300 s and makes UK
  // calls of 90 s, charged 120 s in 60/60 blocks: 0.00 covered, 0.10 with 60 s covered, 0.20
  // uncovered. Whatever the batch, the calls of a cycle end as rating them afresh in call order
  // gives: 120, 120, 60, then nothing.
  const caches = () => ({ plans: t.planCache, refs: t.referenceData });
  const day = (d: string) => ({ fromMs: Date.parse(`${d}T00:00:00Z`), toMs: Date.parse(`${d}T00:00:00Z`) + 86_400_000, resellerId });
  const figures = async (subscriberId: number) => (await charges(subscriberId)).map((x) => [x.covered_seconds, x.amount]);
  const CALL_ORDER = [[120, '0.0000000000'], [120, '0.0000000000'], [60, '0.1000000000']];
  const none = (n: number) => Array.from({ length: n }, () => [0, '0.2000000000']);
  /** Posts calls of 90 s at these times, one post each, in the order given. */
  async function calls(number: string, starts: string[]) {
    for (const s of starts) {
      const res = await postCdrs(t, platform.token, leg(number, s, 90));
      assert.equal(res.body.records[0].status, 'accepted', JSON.stringify(res.body));
    }
  }
  const hours = (d: string, ...h: number[]) => h.map((x) => `${d}T${String(x).padStart(2, '0')}:00:00Z`);

  for (const batchSize of [2, 3]) {
    test(`re-rating a period in batches of ${batchSize} gives the allowance to the first calls, though later batches held it`, async () => {
      const h = await holder(300);
      const d = `2026-11-2${batchSize === 2 ? 0 : 1}`;
      // Posted latest first: the last calls took the allowance.
      await calls(h.number, hours(d, 9, 10, 11, 12, 13, 14).reverse());
      assert.deepEqual(await figures(h.sub.id), [...none(3), [60, '0.1000000000'], [120, '0.0000000000'], [120, '0.0000000000']]);
      const out = await rerateLegs(t.db, caches(), { kind: 'wholesale' }, { filter: day(d) }, { batchSize });
      assert.deepEqual(await figures(h.sub.id), [...CALL_ORDER, ...none(3)]);
      assert.deepEqual([out.total, out.extended], [6, 0]);
      assert.deepEqual((await balances(h.assignmentId)).map((b) => b.used), [300]);
      await assertBalancesAgree(h.assignmentId);
      // Again, in batches of one: the same.
      await rerateLegs(t.db, caches(), { kind: 'wholesale' }, { filter: day(d) }, { batchSize: 1 });
      assert.deepEqual(await figures(h.sub.id), [...CALL_ORDER, ...none(3)]);
      assert.deepEqual((await balances(h.assignmentId)).map((b) => b.used), [300]);
    });
  }

  test('re-rating a period that ends mid-cycle re-allocates the later calls of the cycle too, and says so in the outcome and the audit', async () => {
    const h = await holder(300);
    // The 23rd's calls were posted first and took the allowance; the 22nd's got nothing.
    await calls(h.number, hours('2026-11-23', 9, 10, 11));
    await calls(h.number, hours('2026-11-22', 9, 10, 11));
    assert.deepEqual(await figures(h.sub.id), [...none(3), ...CALL_ORDER]);
    const out = await rerateLegs(t.db, caches(), { kind: 'wholesale' }, { filter: day('2026-11-22') }, { batchSize: 2 });
    assert.deepEqual(await figures(h.sub.id), [...CALL_ORDER, ...none(3)]);
    // The 22nd's three calls, and the 23rd's three that drew on the same balance after them.
    assert.deepEqual([out.total, out.rated, out.extended], [6, 6, 3]);
    assert.equal(outcomeMessage(out), 'Re-rated 6 calls: 6 rated. 3 of them were outside the selection: later calls of the same billing cycle, re-rated so that toll package allowances stay in call order.');
    assert.deepEqual((await balances(h.assignmentId)).map((b) => b.used), [300]);
    await assertBalancesAgree(h.assignmentId);
    const audit = await t.db('audit_log').where({ action: 'rerate' }).orderBy('id', 'desc').first();
    const a = typeof audit.after === 'string' ? JSON.parse(audit.after) : audit.after;
    assert.deepEqual([a.total, a.extended, a.filter.from], [6, 3, '2026-11-22T00:00:00.000Z']);
  });

  test('calls rated before the package was assigned draw on it once re-rated, ahead of the calls after them (by id, one at a time)', async () => {
    const h = await unassigned();
    await calls(h.number, hours('2026-11-24', 9, 10));
    assert.deepEqual(await figures(h.sub.id), none(2));
    const assignmentId = await h.assign(300);
    await calls(h.number, hours('2026-11-24', 11, 12, 13));
    assert.deepEqual(await figures(h.sub.id), [...none(2), ...CALL_ORDER]);
    const early = (await t.db('call_legs').where({ subscriber_id: h.sub.id }).orderBy('start_at').limit(2).select('id')).map((r) => Number(r.id));
    const out = await rerateLegs(t.db, caches(), { kind: 'wholesale' }, { ids: early }, { batchSize: 1 });
    assert.deepEqual(await figures(h.sub.id), [...CALL_ORDER, ...none(2)]);
    // 11:00, 12:00 and 13:00 drew on the balance after them: walked too (12:00 and 13:00 end with nothing).
    assert.deepEqual([out.total, out.extended], [5, 3]);
    assert.deepEqual((await balances(assignmentId)).map((b) => b.used), [300]);
    await assertBalancesAgree(assignmentId);
  });

  test('a call short of the allowance between two re-allocated calls gets what the later one gave back', async () => {
    const h = await holder(300);
    // 10:00 came last and found 300 s taken by 09:00 (120) and 11:00 and 12:00 (120, 60).
    await calls(h.number, hours('2026-11-25', 9, 11, 12, 10));
    assert.deepEqual(await figures(h.sub.id), [[120, '0.0000000000'], [0, '0.2000000000'], [120, '0.0000000000'], [60, '0.1000000000']]);
    const first = await t.db('call_legs').where({ subscriber_id: h.sub.id }).orderBy('start_at').first();
    const out = await rerateLegs(t.db, caches(), { kind: 'wholesale' }, { ids: [first.id] });
    assert.deepEqual(await figures(h.sub.id), [...CALL_ORDER, ...none(1)]);
    assert.deepEqual([out.total, out.extended], [4, 3]);
    assert.deepEqual((await balances(h.assignmentId)).map((b) => b.used), [300]);
    await assertBalancesAgree(h.assignmentId);
  });

  test('calls the intake stores while a re-rating runs are re-allocated in their place, and cannot take seconds of earlier calls', async () => {
    const h = await holder(300);
    await calls(h.number, hours('2026-11-26', 9, 10, 11, 12).reverse());
    assert.deepEqual(await figures(h.sub.id), [...none(1), [60, '0.1000000000'], [120, '0.0000000000'], [120, '0.0000000000']]);
    let posted = false;
    const out = await rerateLegs(t.db, caches(), { kind: 'wholesale' }, { filter: day('2026-11-26') }, {
      batchSize: 1,
      onProgress: async () => {
        if (posted) return;
        posted = true;
        // After the first batch: a call at 10:30 (in the period, after the walk's place) and one on
        // the 27th (after it, same cycle). Both find the 300 s held and take nothing for now.
        await calls(h.number, ['2026-11-26T10:30:00Z', '2026-11-27T09:00:00Z']);
        const c = await charges(h.sub.id);
        assert.deepEqual([c[2]!.covered_seconds, c[5]!.covered_seconds], [0, 0]);
      },
    });
    assert.deepEqual(await figures(h.sub.id), [...CALL_ORDER, ...none(3)]);
    // 09:00, 10:00, 10:30 (walked as part of the period), 11:00, 12:00, and the 27th's call (it may draw).
    assert.deepEqual([out.total, out.extended], [6, 1]);
    assert.deepEqual((await balances(h.assignmentId)).map((b) => b.used), [300]);
    await assertBalancesAgree(h.assignmentId);
  });

  test('a selection with calls of the same balance between its own (a number filter) re-allocates those in their place', async () => {
    const h = await holder(300);
    const [a, b] = ['+442079460000', '+442071110000'];
    // 09:00 and 11:00 to a, 10:00 and 12:00 to b; posted latest first.
    for (const [hour, to] of [[12, b], [11, a], [10, b], [9, a]] as const) await postCdrs(t, platform.token, leg(h.number, hours('2026-11-09', hour)[0]!, 90, to));
    assert.deepEqual(await figures(h.sub.id), [...none(1), [60, '0.1000000000'], [120, '0.0000000000'], [120, '0.0000000000']]);
    // One batch would hold both calls to a: it ends after 09:00, before 10:00 (which the walk did not know yet).
    const out = await rerateLegs(t.db, caches(), { kind: 'wholesale' }, { filter: { ...day('2026-11-09'), number: '2079460000' } }, { batchSize: 3 });
    assert.deepEqual(await figures(h.sub.id), [...CALL_ORDER, ...none(1)]);
    assert.deepEqual([out.total, out.extended], [4, 2]);
    assert.deepEqual((await balances(h.assignmentId)).map((x) => x.used), [300]);
    await assertBalancesAgree(h.assignmentId);
  });

  test('20 posts of later calls, two at a time, beside a re-rating in batches of one: the period\'s calls end with the allowance in call order, the later ones with none, no deadlock', async () => {
    const h = await holder(300);
    await calls(h.number, hours('2026-11-19', 9, 10, 11, 12, 13, 14).reverse());
    const later = Array.from({ length: 20 }, (_, i) => leg(h.number, new Date(Date.UTC(2026, 10, 19, 15, i)).toISOString(), 90));
    // Two posts at a time, one after another, so that they come in all through the run.
    const posting = async (mine: typeof later) => {
      for (const l of mine) assert.equal((await postCdrs(t, platform.token, l)).body.records[0].status, 'accepted');
    };
    const [out] = await Promise.all([
      rerateLegs(t.db, caches(), { kind: 'wholesale' }, { filter: { ...day('2026-11-19'), toMs: Date.parse('2026-11-19T15:00:00Z') } }, { batchSize: 1 }),
      posting(later.filter((_, i) => i % 2 === 0)),
      posting(later.filter((_, i) => i % 2 === 1)),
    ]);
    assert.deepEqual(await figures(h.sub.id), [...CALL_ORDER, ...none(3), ...none(20)]);
    // The later calls the walk found stored were re-rated too (how many depends on when they came).
    assert.ok(out.extended <= 20 && out.total === 6 + out.extended, JSON.stringify(out));
    assert.deepEqual((await balances(h.assignmentId)).map((b) => b.used), [300]);
    await assertBalancesAgree(h.assignmentId);
  });

  test('a run cut after a batch and resumed from its checkpoint ends as one run does, with the later calls of the cycle', async () => {
    const h = await holder(300);
    await calls(h.number, hours('2026-11-30', 9, 10, 11, 12));
    await calls(h.number, hours('2026-11-29', 20, 21));
    assert.deepEqual(await figures(h.sub.id), [...none(2), [120, '0.0000000000'], [120, '0.0000000000'], [60, '0.1000000000'], [0, '0.2000000000']]);
    const saved: RerateCheckpoint[] = [];
    const cut = new Error('killed');
    const opts = { batchSize: 2, checkpoint: async (_tx: unknown, at: RerateCheckpoint) => void saved.push(at) };
    await assert.rejects(rerateLegs(t.db, caches(), { kind: 'wholesale' }, { filter: day('2026-11-29') }, { ...opts, onProgress: async () => { throw cut; } }), cut);
    // The first batch (the 29th's two calls) is stored.
    assert.equal(saved.length, 1);
    const out = await rerateLegs(t.db, caches(), { kind: 'wholesale' }, { filter: day('2026-11-29') }, { ...opts, resume: saved[0] });
    assert.deepEqual(await figures(h.sub.id), [...CALL_ORDER, ...none(3)]);
    // The checkpoint named the balance the first batch touched: the resumed run walked the 30th's calls after it.
    assert.deepEqual(saved[0]!.touched?.map(([a]) => a), [h.assignmentId]);
    assert.deepEqual([out.total, out.extended], [6, 4]);
    assert.deepEqual((await balances(h.assignmentId)).map((b) => b.used), [300]);
    await assertBalancesAgree(h.assignmentId);
  });
});
