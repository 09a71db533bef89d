import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { createTestApp, type TestApp } from '../support/app';
import { makePlan, makeReseller, makeSubscriber, makeRates, rateRow, step } from '../support/factories';
import { makePlatform, postCdrs } from '../support/intake';
import { IntakePipeline } from '../../src/modules/intake/pipeline';
import { getPlatform } from '../../src/modules/platforms/platforms.repository';

const DECK = (rows: string[]) => rows.map((r) => ({ r }));

describe('CDR intake: generic JSON, two charges, idempotency, rejects', () => {
  let t: TestApp;
  let token: string;
  let platformId: number;
  let sub: { id: number };
  let reseller: { id: number };

  before(async () => {
    t = await createTestApp();
    const p = await makePlatform(t.db, { trunk_carriers: JSON.stringify({ 'gw-l3': 'Level3' }) });
    token = p.token;
    platformId = p.id;
    // Operator plan in USD sold to a reseller billed in EUR; the reseller's retail plan in EUR.
    const wholesale = await makePlan(t.db, null, { name: 'WS', currency: 'USD', rounding_decimals: 4 });
    reseller = await makeReseller(t.db, { currency: 'EUR', wholesale_plan_id: wholesale.id });
    const retail = await makePlan(t.db, reseller.id, { name: 'Retail', currency: 'EUR', rounding_decimals: 2, rounding_method: 'up' });
    sub = await makeSubscriber(t.db, reseller.id, { retail_plan_id: retail.id }, ['+12125550100']);
    void DECK;
    // Germany has rates from 2019, a year before the first USD->EUR exchange rate.
    const y2019 = { prefix: '49', effectiveFrom: '2019-01-01T00:00:00Z' };
    await makeRates(t.db, rateRow(wholesale, { rate: '0.0200' }), rateRow(retail, { rate: '0.0900', increment: 60 }), rateRow(wholesale, { ...y2019, rate: '0.0300' }), rateRow(retail, { ...y2019, rate: '0.1000', increment: 60 }));
    await t.db('exchange_rates').insert({ from_currency: 'USD', to_currency: 'EUR', rate: '0.92', effective_from: '2020-01-01T00:00:00Z' });
  });
  after(() => t.close());

  const leg = (id: string, over: Record<string, unknown> = {}) => ({
    leg_id: id, calling: '+12125550100', called: '+442079460000', start: '2026-11-25T12:00:00Z', answer: '2026-11-25T12:00:05Z', end: '2026-11-25T12:01:35Z', trunk: 'gw-l3', ...over,
  });

  test('a leg is rated in real time into a wholesale and a retail charge, with currency conversion, and acknowledged after commit', async () => {
    const res = await postCdrs(t, token, leg('L-1'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual([res.body.accepted, res.body.duplicates, res.body.rejected], [1, 0, 0]);
    const [out] = res.body.records[0].legs;
    assert.equal(out.status, 'rated');
    assert.equal(out.direction, 'outbound');
    const stored = await t.db('call_legs').where({ id: out.id }).first();
    assert.equal(stored.subscriber_id, sub.id);
    assert.equal(stored.reseller_id, reseller.id);
    assert.equal(stored.billable_seconds, 90);
    assert.equal(stored.carrier, 'Level3');
    const charges = await t.db('charges').where({ leg_id: out.id }).orderBy('kind');
    assert.deepEqual(
      charges.map((c) => [c.kind, c.currency, c.amount, c.total, c.billed_currency, c.exchange_rate, c.billed_total, c.charged_seconds]),
      [
        // retail: 90 s in 60 s increments = 2 min at 0.09 EUR = 0.18 EUR, no conversion.
        ['retail', 'EUR', '0.1800000000', '0.1800000000', 'EUR', '1.000000000000', '0.1800000000', 120],
        // wholesale: 90 s at 0.02 USD/min = 0.03 USD; billed to the reseller in EUR at 0.92 = 0.0276.
        ['wholesale', 'USD', '0.0300000000', '0.0300000000', 'EUR', '0.920000000000', '0.0276000000', 90],
      ],
    );
    assert.equal(await t.db('cdrs').where({ platform_id: platformId }).count('* as n').first().then((r) => Number(r?.n)), 1);
  });

  test('re-posting the same leg is idempotent and answers as before', async () => {
    const first = await postCdrs(t, token, leg('L-2'));
    const again = await postCdrs(t, token, leg('L-2'));
    assert.equal(again.status, 200);
    assert.equal(again.body.records[0].status, 'duplicate');
    assert.equal(again.body.records[0].legs[0].id, first.body.records[0].legs[0].id);
    assert.equal(again.body.records[0].legs[0].status, 'rated');
    assert.equal(Number((await t.db('call_legs').where({ leg_key: 'L-2' }).count('* as n').first())?.n), 1);
    assert.equal(Number((await t.db('charges').where({ leg_id: first.body.records[0].legs[0].id }).count('* as n').first())?.n), 2);
  });

  test('a batch with good and bad records: one transaction, one response with each outcome, bad ones kept as rejects', async () => {
    const res = await postCdrs(t, token, { records: [leg('B-1'), leg('B-2', { start: 'yesterday' }), leg('B-3', { called: '+33123456789' })] });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.records.map((r: { status: string }) => r.status), ['accepted', 'rejected', 'accepted']);
    assert.match(res.body.records[1].error, /start/);
    const reject = await t.db('cdr_rejects').where({ id: res.body.records[1].reject_id }).first();
    assert.match(reject.body, /yesterday/);
    assert.equal(reject.record_index, 1);
    // No rate for France: stored, unrated, with the reason; never priced at zero.
    const unrated = res.body.records[2].legs[0];
    assert.equal(unrated.status, 'unrated');
    assert.match(unrated.reason, /no outbound rate for \+33123456789/);
    assert.equal(Number((await t.db('charges').where({ leg_id: unrated.id }).count('* as n').first())?.n), 0);
  });

  test('an unreadable body answers 400 with a precise message and is kept for inspection', async () => {
    const res = await postCdrs(t, token, '{"leg_id": "x", ');
    assert.equal(res.status, 400);
    assert.match(res.body.error, /JSON/i);
    const reject = await t.db('cdr_rejects').where({ id: res.body.reject_id }).first();
    assert.equal(reject.body, '{"leg_id": "x", ');
    assert.equal(reject.platform_id, platformId);
  });

  test('who pays: unknown numbers are unrated; a deactivated reseller gives blocked; a missing exchange rate leaves its charge unpriced (partial), a missing rate the leg unrated', async () => {
    const nobody = await postCdrs(t, token, leg('P-1', { calling: '+13055550100' }));
    assert.equal(nobody.body.records[0].legs[0].status, 'unrated');
    assert.match(nobody.body.records[0].legs[0].reason, /no subscriber has/);

    await t.db('resellers').where({ id: reseller.id }).update({ status: 'inactive' });
    const blocked = await postCdrs(t, token, leg('P-2'));
    await t.db('resellers').where({ id: reseller.id }).update({ status: 'active' });
    assert.equal(blocked.body.records[0].legs[0].status, 'blocked');
    assert.match(blocked.body.records[0].legs[0].reason, /inactive/);

    // Rates in force in 2019 but no exchange rate yet: the wholesale charge (USD, billed in EUR)
    // cannot be priced; the retail one (EUR) can. And before the rates, no rate at all.
    const at2019 = { start: '2019-06-01T12:00:00Z', answer: '2019-06-01T12:00:05Z', end: '2019-06-01T12:01:05Z' };
    const noFx = (await postCdrs(t, token, leg('P-3', { ...at2019, called: '+4930901820' }))).body.records[0].legs[0];
    assert.equal(noFx.status, 'partial', JSON.stringify(noFx));
    assert.match(noFx.reason, /no exchange rate/);
    assert.doesNotMatch(noFx.reason, /no outbound rate/);
    const noRate = (await postCdrs(t, token, leg('P-4', at2019))).body.records[0].legs[0];
    assert.equal(noRate.status, 'unrated');
    assert.match(noRate.reason, /no outbound rate/);
  });

  test('holder at the call\'s time: a call from before the number was first assigned is nobody\'s (not today\'s holder\'s), a call between two holders too; the other number still matches', async () => {
    const late = await makeSubscriber(t.db, reseller.id);
    const earlier = await makeSubscriber(t.db, reseller.id);
    await t.db('phone_numbers').insert([
      { reseller_id: reseller.id, subscriber_id: earlier.id, number: '+12125550177', assigned_at: '2026-11-01T00:00:00Z', released_at: '2026-11-10T00:00:00Z' },
      { reseller_id: reseller.id, subscriber_id: late.id, number: '+12125550177', assigned_at: '2026-11-20T00:00:00Z' },
    ]);
    const at = (day: string) => ({ calling: '+12125550177', start: `${day}T12:00:00Z`, answer: `${day}T12:00:05Z`, end: `${day}T12:01:35Z` });
    const res = await postCdrs(t, token, [leg('V-1', at('2026-10-25')), leg('V-2', at('2026-11-15')), leg('V-3', at('2026-11-05')), leg('V-4', at('2026-11-25'))]);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [before, between, first, now] = res.body.records.map((r: { legs: Array<{ id: number; status: string; reason: string | null }> }) => r.legs[0]);
    assert.deepEqual([before.status, before.reason], ['unrated', "nobody held +12125550177 at the call's time (first assigned 2026-11-01T00:00:00.000Z)"]);
    assert.deepEqual([between.status, between.reason], ['unrated', "nobody held +12125550177 at the call's time"]);
    const holder = async (id: number) => (await t.db('call_legs').where({ id }).first()).subscriber_id;
    assert.deepEqual([await holder(before.id), await holder(between.id), await holder(first.id), await holder(now.id)], [null, null, earlier.id, late.id]);

    // Called by someone nobody held then: the callee's number decides (inbound to our subscriber).
    const inbound = await postCdrs(t, token, leg('V-5', { calling: '+12125550177', called: '+12125550100', start: '2026-10-25T12:00:00Z', answer: '2026-10-25T12:00:05Z', end: '2026-10-25T12:01:35Z' }));
    assert.deepEqual([inbound.body.records[0].legs[0].direction, (await t.db('call_legs').where({ id: inbound.body.records[0].legs[0].id }).first()).subscriber_id], ['inbound', sub.id]);
  });

  test('inbound to our subscriber with no inbound rate is unrated (not free by accident); the platform credential is required', async () => {
    const inbound = await postCdrs(t, token, leg('I-1', { calling: '+442079460000', called: '+12125550100' }));
    assert.equal(inbound.body.records[0].legs[0].direction, 'inbound');
    assert.equal(inbound.body.records[0].legs[0].status, 'unrated');

    const none = await request(t.app).post('/api/v1/cdrs').send(leg('X-1'));
    assert.equal(none.status, 401);
    assert.match(none.headers['www-authenticate'] as string, /Bearer/);
    const wrong = await postCdrs(t, `plt_${platformId}_${'A'.repeat(43)}`, leg('X-2'));
    assert.equal(wrong.status, 401);
    await t.db('platforms').where({ id: platformId }).update({ allowed_sources: t.db.raw(`'{192.0.2.0/24}'::cidr[]`) });
    const elsewhere = await postCdrs(t, token, leg('X-3'));
    await t.db('platforms').where({ id: platformId }).update({ allowed_sources: null });
    assert.equal(elsewhere.status, 403);
    assert.match(elsewhere.body.error, /not allowed/);
    assert.equal(await t.db('call_legs').whereIn('leg_key', ['X-1', 'X-2', 'X-3']).first(), undefined);
  });
});

describe('CDR intake: concurrent single posts', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  test('are grouped into few commits, each acknowledged after its commit, every leg stored once', async () => {
    const p = await makePlatform(t.db);
    const N = 60;
    const posts = Array.from({ length: N }, (_, i) =>
      postCdrs(t, p.token, { leg_id: `C-${i}`, calling: '+12125550100', called: '+442079460000', start: '2026-11-25T12:00:00Z', answer: '2026-11-25T12:00:05Z', end: '2026-11-25T12:01:05Z' }),
    );
    // A few re-posts racing their originals.
    posts.push(...[0, 1, 2].map((i) => postCdrs(t, p.token, { leg_id: `C-${i}`, calling: '+12125550100', called: '+442079460000', start: '2026-11-25T12:00:00Z', answer: '2026-11-25T12:00:05Z', end: '2026-11-25T12:01:05Z' })));
    const answers = await Promise.all(posts);
    assert.ok(answers.every((a) => a.status === 200));
    assert.equal(Number((await t.db('call_legs').where({ platform_id: p.id }).count('* as n').first())?.n), N);
    assert.equal(answers.filter((a) => a.body.records[0].status === 'duplicate').length, 3);
    // Rows written by one transaction share its xmin: fewer transactions than posts.
    const commits = await t.db.raw(`select count(distinct xmin::text) as n from call_legs where platform_id = ?`, [p.id]);
    // Posts that arrive while both write lanes are busy form the next group: a handful of commits
    // (3 here on an idle machine), never one per post. A quarter leaves room for a slow machine.
    assert.ok(Number(commits.rows[0].n) <= N / 4, `expected grouped commits, got ${commits.rows[0].n} for ${N} posts`);
  });
});

describe('CDR intake: the same leg more than once in one write', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  const leg = (id: string) => ({ leg_id: id, calling: '+12125550100', called: '+442079460000', start: '2026-11-25T12:00:00Z', answer: '2026-11-25T12:00:05Z', end: '2026-11-25T12:01:05Z' });

  test('a re-posted leg in a batch answers duplicate with the stored id; its record keeps no second body', async () => {
    const p = await makePlatform(t.db);
    const res = await postCdrs(t, p.token, [leg('D-1'), leg('D-2')]);
    assert.deepEqual(res.body.records.map((r: { status: string }) => r.status), ['accepted', 'accepted']);
    const again = await postCdrs(t, p.token, [leg('D-2'), leg('D-3'), leg('D-1')]);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body.records.map((r: { status: string }) => r.status), ['duplicate', 'accepted', 'duplicate']);
    assert.equal(again.body.records[0].legs[0].id, res.body.records[1].legs[0].id);
    assert.equal(again.body.records[2].legs[0].id, res.body.records[0].legs[0].id);
    assert.equal(Number((await t.db('call_legs').where({ platform_id: p.id }).count('* as n').first())?.n), 3);
    assert.equal(Number((await t.db('cdrs').where({ platform_id: p.id }).count('* as n').first())?.n), 3);
  });

  test('a large post is stored in parts, each its own turn in the queues: every record answered once, in order, refused ones kept; a small post sent once its first part is stored is answered before it', async () => {
    const p = await makePlatform(t.db);
    const platform = (await getPlatform(t.db, p.id))!;
    // Ten legs a part: 300 good records make 30 parts (the app uses 1,000).
    const pipeline = new IntakePipeline(t.db, { plans: t.planCache, refs: t.referenceData }, { copy: !t.embedded, partLegs: 10 });
    const records: object[] = Array.from({ length: 300 }, (_, i) => leg(`P-${i}`));
    records.splice(150, 0, { leg_id: 'P-bad' }, { ...leg('P-future'), start: '2099-01-01T00:00:00Z' });
    const order: string[] = [];
    const big = pipeline.submit({ platform, body: JSON.stringify(records), contentType: 'application/json', sourceIp: undefined }).then((r) => (order.push('big'), r));
    // Once the first part is committed, a small post comes.
    while (Number((await t.db('call_legs').where({ platform_id: p.id }).count('* as n').first())?.n) === 0) await new Promise((r) => setTimeout(r, 5));
    const small = pipeline.submit({ platform, body: JSON.stringify(leg('P-small')), contentType: 'application/json', sourceIp: undefined }).then((r) => (order.push('small'), r));
    const [res, one] = await Promise.all([big, small]);
    assert.deepEqual(order, ['small', 'big'], 'the small post does not wait for all of the large one');
    assert.equal(one.httpStatus, 200);
    assert.equal(res.httpStatus, 200);
    assert.equal(res.body.accepted, 300);
    assert.equal(res.body.rejected, 2);
    assert.deepEqual(res.body.records.map((r) => r.index), Array.from({ length: 302 }, (_, i) => i));
    assert.equal(res.body.records[150]?.status, 'rejected');
    assert.equal(res.body.records[151]?.status, 'rejected');
    assert.equal(res.body.records[152]?.legs[0]?.leg_key, 'P-150');
    // One reject for the post's refused records, not one per part.
    assert.equal(Number((await t.db('cdr_rejects').where({ platform_id: p.id }).count('* as n').first())?.n), 1);
    assert.equal(Number((await t.db('call_legs').where({ platform_id: p.id }).count('* as n').first())?.n), 301);
    // Sent again (as after a crash between parts): every good record a duplicate of the one stored.
    const again = await pipeline.submit({ platform, body: JSON.stringify(records), contentType: 'application/json', sourceIp: undefined });
    assert.equal(again.body.duplicates, 300);
    assert.equal(again.body.accepted, 0);
    assert.equal(Number((await t.db('call_legs').where({ platform_id: p.id }).count('* as n').first())?.n), 301);
    await pipeline.close();
  });

  test('a leg that another transaction stores while a post is being written is answered as a duplicate, stored once', async (ctx) => {
    // Needs two connections at once: the embedded database runs on one.
    if (t.embedded) return ctx.skip('the embedded database serves one connection');
    const p = await makePlatform(t.db);
    await postCdrs(t, p.token, leg('R-0')); // the month's partitions exist before the race
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const other = t.db.transaction(async (tx) => {
      // As every write path does: the key claimed, then the leg stored, in one transaction.
      await tx.raw(`insert into leg_keys (platform_id, leg_key, leg_id, start_at) values (?, 'R-1', nextval('call_legs_id_seq'), '2026-11-25T12:00:00Z')`, [p.id]);
      await tx.raw(
        `insert into call_legs (id, start_at, platform_id, cdr_id, leg_key, call_id, billable_seconds, answered, status)
         select leg_id, start_at, platform_id, 0, leg_key, 'R-1', 60, true, 'unrated' from leg_keys where platform_id = ? and leg_key = 'R-1'`,
        [p.id],
      );
      await held;
    });
    await new Promise((r) => setTimeout(r, 100));
    // The pipeline itself, with COPY for every group (the app uses it for large groups only).
    const pipeline = new IntakePipeline(t.db, { plans: t.planCache, refs: t.referenceData }, { copy: true, copyFromLegs: 1 });
    const platform = (await getPlatform(t.db, p.id))!;
    let settled = false;
    const post = pipeline
      .submit({ platform, body: JSON.stringify(leg('R-1')), contentType: 'application/json', sourceIp: undefined })
      .then((r) => ((settled = true), { status: r.httpStatus, body: r.body }));
    // The post's write waits on the other transaction's uncommitted claim of the key (leg_keys).
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(settled, false, 'the post should wait for the other transaction');
    release();
    await other;
    const res = await post;
    assert.equal(res.status, 200);
    assert.equal(res.body.records[0]?.status, 'duplicate');
    assert.equal(Number((await t.db('call_legs').where({ platform_id: p.id, leg_key: 'R-1' }).count('* as n').first())?.n), 1);
  });

  test('text from the platform with tabs, backslashes, newlines and quotes is stored exactly, in large and small posts', async () => {
    const p = await makePlatform(t.db);
    const odd = ['tab\there', 'back\\slash\\N', 'new\nline\r\nend', 'quote"and\'', 'ünïcødé ☎', '\\.'];
    const large = Array.from({ length: 240 }, (_, i) => ({ ...leg(`${odd[i % odd.length]}#${i}`), trunk: odd[(i + 1) % odd.length] }));
    const small = [{ ...leg(`${odd[0]}#small`), trunk: odd[1] }];
    for (const body of [large, small]) {
      const res = await postCdrs(t, p.token, body);
      assert.equal(res.status, 200);
      assert.equal(res.body.accepted, body.length);
    }
    const stored = await t.db('call_legs').where({ platform_id: p.id }).select('leg_key', 'trunk');
    const want = new Map([...large, ...small].map((r) => [r.leg_id, r.trunk]));
    assert.equal(stored.length, want.size);
    for (const r of stored) assert.equal(r.trunk, want.get(r.leg_key), `trunk of ${JSON.stringify(r.leg_key)}`);
  });

  test('a large batch (written with COPY on a Postgres server) posted twice: stored once, the second time every record a duplicate', async () => {
    const p = await makePlatform(t.db);
    const records = Array.from({ length: 300 }, (_, i) => ({ ...leg(`B-${i}`), called: i % 3 ? '+442079460000' : '+33142000000' }));
    const first = await postCdrs(t, p.token, records);
    assert.equal(first.status, 200);
    assert.equal(first.body.accepted, 300);
    const again = await postCdrs(t, p.token, [...records.slice(0, 150), leg('B-new')]);
    assert.equal(again.body.duplicates, 150);
    assert.equal(again.body.accepted, 1);
    const ids = new Map(first.body.records.map((r: { legs: Array<{ leg_key: string; id: number }> }) => [r.legs[0]!.leg_key, r.legs[0]!.id]));
    for (const r of again.body.records.slice(0, 150)) assert.equal(r.legs[0].id, ids.get(r.legs[0].leg_key));
    assert.equal(Number((await t.db('call_legs').where({ platform_id: p.id }).count('* as n').first())?.n), 301);
    assert.equal(Number((await t.db('cdrs').where({ platform_id: p.id }).count('* as n').first())?.n), 301);
    // Every stored leg answers with the status it was stored with.
    const stored = await t.db('call_legs').where({ platform_id: p.id }).select('id', 'status', 'unrated_reason');
    const byId = new Map(stored.map((r) => [r.id, r]));
    for (const r of first.body.records) assert.equal(byId.get(r.legs[0].id)?.status, r.legs[0].status);
  });
});

describe('CDR intake: records that cannot be stored', () => {
  let t: TestApp;
  let token: string;
  let platformId: number;
  before(async () => {
    t = await createTestApp();
    const p = await makePlatform(t.db);
    token = p.token;
    platformId = p.id;
    // An absurd deck rate: a long call at it overflows the charges' amount column.
    const plan = await makePlan(t.db, null, { name: 'Absurd', currency: 'USD', rounding_decimals: 4 });
    const reseller = await makeReseller(t.db, { currency: 'USD', wholesale_plan_id: plan.id, billing_service: false });
    await makeSubscriber(t.db, reseller.id, {}, ['+12125550177']);
    await makeRates(t.db, rateRow(plan, { steps: [step('9999999999', 1, 1)] }));
  });
  after(() => t.close());

  const leg = (id: string, over: Record<string, unknown> = {}) => ({
    leg_id: id, calling: '+12125550177', called: '+442079460000', start: '2026-11-25T12:00:00Z', answer: '2026-11-25T12:00:05Z', end: '2026-11-25T12:01:05Z', ...over,
  });

  test('a leg longer than a week (a clock gone wrong) is refused with the reason and kept; posts beside it are stored', async () => {
    const answers = await Promise.all([
      postCdrs(t, token, leg('L-ok-1')),
      postCdrs(t, token, leg('L-century', { end: '2126-11-25T12:00:00Z' })),
      postCdrs(t, token, leg('L-ok-2')),
    ]);
    assert.deepEqual(answers.map((a) => a.status), [200, 422, 200]);
    assert.match(answers[1]!.body.records[0].error, /leg L-century lasts 3155673595 s, more than a call can \(604800 s, 7 days\)/);
    const reject = await t.db('cdr_rejects').where({ id: answers[1]!.body.records[0].reject_id }).first();
    assert.match(reject.body, /L-century/);
    assert.equal(Number((await t.db('call_legs').where({ platform_id: platformId }).count('* as n').first())?.n), 2);
  });

  test('a post the database refuses (an amount beyond the columns) answers 422 with the reason, kept in the rejects; the others of its group are stored', async () => {
    const week = { answer: '2026-11-25T12:00:00Z', end: '2026-12-02T11:00:00Z' };
    const answers = await Promise.all([postCdrs(t, token, leg('X-ok-1', { called: '+12125550100' })), postCdrs(t, token, leg('X-huge', week)), postCdrs(t, token, leg('X-ok-2', { called: '+12125550100' }))]);
    assert.deepEqual(answers.map((a) => a.status), [200, 422, 200]);
    assert.match(answers[1]!.body.error, /the database refused a value of this post: .*overflow/);
    const reject = await t.db('cdr_rejects').where({ id: answers[1]!.body.reject_id }).first();
    assert.match(reject.body, /X-huge/);
    assert.equal(Number((await t.db('call_legs').where({ platform_id: platformId, leg_key: 'X-huge' }).count('* as n').first())?.n), 0);
    // Sent again, it is refused again, not half stored.
    assert.equal((await postCdrs(t, token, leg('X-huge', week))).status, 422);
  });

  test('a body over the size limit answers 413 in JSON', async () => {
    const res = await postCdrs(t, token, `[${'"x",'.repeat(7_000_000)}"x"]`);
    assert.equal(res.status, 413);
    assert.match(res.body.error, /larger than/);
  });

  test('the intake answers in JSON with the request id it was given; other methods on its path are not the intake\'s', async () => {
    const ok = await postCdrs(t, token, leg('R-1')).set('X-Request-Id', 'switch-42-0001');
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['x-request-id'], 'switch-42-0001');
    assert.equal(ok.headers['x-content-type-options'], 'nosniff');
    assert.match(ok.headers['content-type'] as string, /^application\/json/);
    const odd = await postCdrs(t, token, leg('R-2')).set('X-Request-Id', 'not a token!');
    assert.match(odd.headers['x-request-id'] as string, /^[0-9a-f-]{36}$/);
    // With a query string it is the same endpoint.
    assert.equal((await request(t.app).post('/api/v1/cdrs?src=a').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(leg('R-3')))).status, 200);
    // Other methods are not the intake's (it takes POST only) but the API router's, which asks for an API key.
    const get = await request(t.app).get('/api/v1/cdrs');
    assert.notEqual(get.status, 200);
    assert.equal(get.headers['www-authenticate'], 'Bearer realm="api"');
    assert.match(String(get.headers['content-type']), /^application\/problem\+json/);
  });
});

describe('CDR intake: source allow-list behind a proxy', () => {
  // The intake reads the source address itself (it is served in front of the portal's Express
  // app), with the portal's trust proxy setting: a forwarded address counts only from a trusted hop.
  const body = { leg_id: 'TP-1', calling: '+12125550100', called: '+442079460000', start: '2026-11-25T12:00:00Z', answer: '2026-11-25T12:00:05Z', end: '2026-11-25T12:01:05Z' };
  const post = (t: TestApp, token: string, forwardedFor: string, id: string) =>
    request(t.app).post('/api/v1/cdrs').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').set('X-Forwarded-For', forwardedFor).send(JSON.stringify({ ...body, leg_id: id }));

  test('with TRUST_PROXY=loopback, the forwarded address is checked against the allow-list', async () => {
    const t = await createTestApp({ TRUST_PROXY: 'loopback' });
    try {
      const p = await makePlatform(t.db, { allowed_sources: t.db.raw(`'{192.0.2.0/24}'::cidr[]`) });
      assert.equal((await post(t, p.token, '192.0.2.7', 'TP-1')).status, 200);
      const refused = await post(t, p.token, '198.51.100.9', 'TP-2');
      assert.equal(refused.status, 403);
      assert.match(refused.body.error, /198\.51\.100\.9 is not allowed/);
    } finally {
      await t.close();
    }
  });

  test('without a trusted proxy, X-Forwarded-For is ignored: the connection\'s address is checked', async () => {
    const t = await createTestApp();
    try {
      const p = await makePlatform(t.db, { allowed_sources: t.db.raw(`'{192.0.2.0/24}'::cidr[]`) });
      const refused = await post(t, p.token, '192.0.2.7', 'TP-3');
      assert.equal(refused.status, 403);
      assert.match(refused.body.error, /127\.0\.0\.1|::ffff:127\.0\.0\.1|::1/);
    } finally {
      await t.close();
    }
  });
});
