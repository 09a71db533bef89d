/**
 * Unrated calls and re-rating: legs posted through the real intake that could not be rated, the
 * cause fixed (a rate added, a number assigned, an account reactivated, a rate corrected), then
 * re-rated from the portals. Re-rating replaces charges, never adds to them, and gives the same
 * charges every time; a reseller re-rates only its own legs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ForbiddenError, NotFoundError } from '../../src/domain/errors';
import { INLINE_RERATE_MAX, rerateOrStart } from '../../src/modules/calls/calls.service';
import { rerateLegs } from '../../src/modules/rating/rerate.service';
import { createTestApp, type TestApp } from '../support/app';
import { makePlan, makeReseller, makeSubscriber, makeUser, NUMBERS_ASSIGNED_AT, randomNumber, makeRates, rateRow, step, stepsJson } from '../support/factories';
import { Client } from '../support/http';
import { makePlatform, postCdrs } from '../support/intake';

const HOUR = 3_600_000;

function leg(id: string, calling: string, called: string, opts: { agoMs?: number; seconds?: number; extra?: Record<string, unknown> } = {}) {
  const start = Date.now() - (opts.agoMs ?? HOUR);
  const seconds = opts.seconds ?? 90;
  return {
    leg_id: id, calling, called,
    start: new Date(start).toISOString(),
    answer: new Date(start + 5000).toISOString(),
    end: new Date(start + 5000 + seconds * 1000).toISOString(),
    ...opts.extra,
  };
}

/** Posts a form whose fields may repeat (ids=1&ids=2), as a browser sends ticked checkboxes. */
function postForm(c: Client, path: string, fields: Array<[string, string]>) {
  const body = new URLSearchParams([...fields, ['_csrf', c.csrf]]).toString();
  return c.agent.post(path).type('form').send(body);
}

/** The flash message shown after a redirect. */
async function flashAfter(c: Client, res: { status: number; headers: Record<string, string> }): Promise<string> {
  assert.equal(res.status, 303);
  const page = await c.get(res.headers.location as string);
  return /<p class="flash flash-\w+"[^>]*>([^<]*)<\/p>/.exec(page.text)?.[1] ?? '';
}

describe('unrated calls and re-rating', () => {
  let t: TestApp;
  let token: string;
  let platformId: number;
  const numA = randomNumber();
  const numA2 = randomNumber();
  const numB = randomNumber();
  const stranger = randomNumber();
  let wholesalePlan: { id: number };
  let retailA: { id: number };
  let retailB: { id: number };
  let resA: { id: number };
  let resB: { id: number };
  let subA: { id: number };
  let subA2: { id: number };
  let adminA: Client;
  let adminB: Client;
  let wholesaleAdmin: Client;
  /** A's call to France, for which no plan has a rate yet. */
  let frId: number;

  const rate = (planId: number, resellerId: number | null, prefix: string, r: string, inc = 1) => rateRow({ id: planId, reseller_id: resellerId }, { prefix, description: prefix, rate: r, increment: inc });
  const legRow = (id: number) => t.db('call_legs').where({ id }).first();
  const chargeRows = async (ids: number[]) =>
    (await t.db('charges').whereIn('leg_id', ids).orderBy(['leg_id', 'kind'])).map(({ rated_at: _ratedAt, ...rest }) => rest);
  const post = async (l: object) => {
    const res = await postCdrs(t, token, l);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.records[0].legs[0] as { id: number; status: string; reason: string | null; direction: string | null };
  };

  before(async () => {
    t = await createTestApp();
    const p = await makePlatform(t.db, { trunk_carriers: JSON.stringify({ 'gw-l3': 'Level3' }) });
    token = p.token;
    platformId = p.id;
    wholesalePlan = await makePlan(t.db, null, { name: 'WS', currency: 'USD', rounding_decimals: 4 });
    resA = await makeReseller(t.db, { currency: 'USD', wholesale_plan_id: wholesalePlan.id });
    resB = await makeReseller(t.db, { currency: 'USD', wholesale_plan_id: wholesalePlan.id });
    retailA = await makePlan(t.db, resA.id, { name: 'Retail A', currency: 'USD', rounding_decimals: 2 });
    retailB = await makePlan(t.db, resB.id, { name: 'Retail B', currency: 'USD', rounding_decimals: 2 });
    subA = await makeSubscriber(t.db, resA.id, { retail_plan_id: retailA.id }, [numA]);
    subA2 = await makeSubscriber(t.db, resA.id, { retail_plan_id: retailA.id }, [numA2]);
    await makeSubscriber(t.db, resB.id, { retail_plan_id: retailB.id }, [numB]);
    await t.db('rates').insert([rate(wholesalePlan.id, null, '44', '0.0200'), rate(retailA.id, resA.id, '44', '0.0900', 60), rate(retailB.id, resB.id, '44', '0.0500', 60)]);
    adminA = await Client.login(t.app, (await makeUser(t.db, 'reseller_admin', { resellerId: resA.id })).email);
    adminB = await Client.login(t.app, (await makeUser(t.db, 'reseller_admin', { resellerId: resB.id })).email);
    wholesaleAdmin = await Client.login(t.app, (await makeUser(t.db, 'wholesale_admin')).email);
  });
  after(() => t.close());

  test('the unrated pages list a leg with no rate, with counts by reason, each to its own reseller', async () => {
    const fr = await post(leg('FR-1', numA, '+33123456789'));
    assert.equal(fr.status, 'unrated');
    assert.match(fr.reason ?? '', /no outbound rate for \+33123456789/);
    frId = fr.id;
    await post(leg('FR-2', numA, '+33123456780'));

    for (const [c, path] of [[wholesaleAdmin, '/wholesale/unrated'], [adminA, '/reseller/unrated']] as const) {
      const page = await c.get(path);
      assert.equal(page.status, 200, path);
      assert.ok(page.text.includes(`data-leg="${frId}"`), `${path} lists the leg`);
      assert.match(page.text, /no outbound rate for \+33123456789/);
      // Both calls to France count as one kind of reason, numbers elided.
      const reasons = /data-testid="reasons">([\s\S]*?)<\/table>/.exec(page.text)?.[1] ?? '';
      assert.match(reasons, /wholesale: no outbound rate for …[^<]*<\/a><\/td>\s*<td class="num">2<\/td>/, reasons);
      assert.match(page.text, /name="ids" value="\d+"/, 'admins get the checkboxes');
      assert.match(page.text, /Re-rate selected/);
    }
    assert.ok(!(await adminB.get('/reseller/unrated')).text.includes(`data-leg="${frId}"`));
    // Filters: reason text (as stored or as counted), platform, period.
    assert.ok((await adminA.get('/reseller/unrated?reason=33123456789')).text.includes(`data-leg="${frId}"`));
    assert.ok((await adminA.get(`/reseller/unrated?reason=${encodeURIComponent('rate for …')}`)).text.includes(`data-leg="${frId}"`));
    assert.ok(!(await adminA.get('/reseller/unrated?reason=no+subscriber')).text.includes(`data-leg="${frId}"`));
    assert.ok((await wholesaleAdmin.get(`/wholesale/unrated?platform=${platformId}`)).text.includes(`data-leg="${frId}"`));
    assert.ok(!(await wholesaleAdmin.get(`/wholesale/unrated?platform=999999`)).text.includes(`data-leg="${frId}"`));
    assert.ok(!(await wholesaleAdmin.get('/wholesale/unrated?from=2020-01-01&to=2020-01-31')).text.includes(`data-leg="${frId}"`));
  });

  test('after the rate is added, re-rating the ticked leg rates it with both charges', async () => {
    await t.db('rates').insert([rate(wholesalePlan.id, null, '33', '0.0300'), rate(retailA.id, resA.id, '33', '0.1200', 60)]);
    t.planCache.invalidate(wholesalePlan.id);
    t.planCache.invalidate(retailA.id);
    await adminA.refreshCsrf('/reseller/unrated');
    const res = await postForm(adminA, '/reseller/unrated/rerate', [['mode', 'selected'], ['ids', String(frId)]]);
    assert.equal(await flashAfter(adminA, res), 'Re-rated 1 call: 1 rated.');
    const l = await legRow(frId);
    assert.equal(l.status, 'rated');
    assert.equal(l.unrated_reason, null);
    assert.ok(l.rated_at);
    const charges = await chargeRows([frId]);
    assert.deepEqual(
      charges.map((c) => [c.kind, c.amount, c.billed_total, c.charged_seconds]),
      [
        ['retail', '0.2400000000', '0.2400000000', 120],
        ['wholesale', '0.0450000000', '0.0450000000', 90],
      ],
    );
    // The other call to France is still unrated: only the ticked leg was re-rated.
    assert.equal((await t.db('call_legs').where({ leg_key: 'FR-2' }).first()).status, 'unrated');
  });

  test('re-rating twice gives identical charges and never duplicates them', async () => {
    const ids = (await t.db('call_legs').where('reseller_id', resA.id).pluck('id')) as number[];
    await adminA.refreshCsrf('/reseller/unrated');
    const first = await postForm(adminA, '/reseller/unrated/rerate', [['mode', 'filter'], ['confirm', 'yes']]);
    assert.match(await flashAfter(adminA, first), /^Re-rated 1 call: 1 rated\.$/, 'the filter holds the one call still unrated');
    const once = await chargeRows(ids);
    const legsOnce = await t.db('call_legs').whereIn('id', ids).orderBy('id').select('id', 'status', 'reseller_id', 'subscriber_id', 'direction', 'unrated_reason');

    // Everything of reseller A, twice more, rated calls included.
    await rerateLegs(t.db, { plans: t.planCache, refs: t.referenceData }, { kind: 'reseller', resellerId: resA.id }, { ids });
    await rerateLegs(t.db, { plans: t.planCache, refs: t.referenceData }, { kind: 'reseller', resellerId: resA.id }, { ids }, { batchSize: 1 });
    assert.deepEqual(await chargeRows(ids), once);
    assert.deepEqual(await t.db('call_legs').whereIn('id', ids).orderBy('id').select('id', 'status', 'reseller_id', 'subscriber_id', 'direction', 'unrated_reason'), legsOnce);
    const perLeg = await t.db('charges').whereIn('leg_id', ids).groupBy('leg_id', 'kind').select('leg_id', 'kind').count('* as n');
    assert.ok(perLeg.every((r) => Number(r.n) === 1), 'one charge of each kind per leg');
    assert.equal(once.length, 2 * ids.length);
  });

  test("a reseller admin cannot re-rate another reseller's legs", async () => {
    const de = await post(leg('DE-1', numA, '+4930123456'));
    assert.equal(de.status, 'unrated');
    await t.db('rates').insert([rate(wholesalePlan.id, null, '49', '0.0100'), rate(retailA.id, resA.id, '49', '0.0600', 60)]);
    t.planCache.invalidate(wholesalePlan.id);
    t.planCache.invalidate(retailA.id);
    const before = await legRow(de.id);

    await adminB.refreshCsrf('/reseller/unrated');
    const byId = await postForm(adminB, '/reseller/unrated/rerate', [['mode', 'selected'], ['ids', String(de.id)]]);
    assert.equal(byId.status, 404);
    const mixed = await postForm(adminB, '/reseller/unrated/rerate', [['mode', 'selected'], ['ids', String(de.id)], ['ids', '999999999']]);
    assert.equal(mixed.status, 404);
    const byFilter = await postForm(adminB, '/reseller/unrated/rerate', [['mode', 'filter'], ['reseller', String(resA.id)], ['confirm', 'yes']]);
    assert.equal(await flashAfter(adminB, byFilter), 'No calls matched: nothing was re-rated.');
    assert.deepEqual(await legRow(de.id), before);
    assert.equal((await chargeRows([de.id])).length, 0);
    await assert.rejects(rerateLegs(t.db, { plans: t.planCache, refs: t.referenceData }, { kind: 'reseller', resellerId: resB.id }, { ids: [de.id] }), NotFoundError);
    await assert.rejects(rerateLegs(t.db, { plans: t.planCache, refs: t.referenceData }, { kind: 'subscriber', resellerId: resA.id, subscriberId: subA.id }, { ids: [de.id] }), ForbiddenError);

    // Its own admin can.
    await adminA.refreshCsrf('/reseller/unrated');
    const own = await postForm(adminA, '/reseller/unrated/rerate', [['mode', 'selected'], ['ids', String(de.id)]]);
    assert.equal(await flashAfter(adminA, own), 'Re-rated 1 call: 1 rated.');
  });

  test('the operator re-rates unmatched legs once the number is assigned; resellers cannot reach them', async () => {
    const lost = await post(leg('U-1', stranger, '+442079460000', { extra: { trunk: 'gw-l3' } }));
    assert.equal(lost.status, 'unrated');
    assert.match(lost.reason ?? '', /no subscriber has/);
    assert.equal((await legRow(lost.id)).reseller_id, null);
    assert.ok((await wholesaleAdmin.get('/wholesale/unrated')).text.includes(`data-leg="${lost.id}"`));
    assert.ok(!(await adminA.get('/reseller/unrated')).text.includes(`data-leg="${lost.id}"`));

    await t.db('phone_numbers').insert({ reseller_id: resA.id, subscriber_id: subA2.id, number: stranger, assigned_at: NUMBERS_ASSIGNED_AT });
    await adminA.refreshCsrf('/reseller/unrated');
    assert.equal((await postForm(adminA, '/reseller/unrated/rerate', [['mode', 'selected'], ['ids', String(lost.id)]])).status, 404);

    await wholesaleAdmin.refreshCsrf('/wholesale/unrated');
    const res = await postForm(wholesaleAdmin, '/wholesale/unrated/rerate', [['mode', 'selected'], ['ids', String(lost.id)]]);
    assert.equal(await flashAfter(wholesaleAdmin, res), 'Re-rated 1 call: 1 rated.');
    const l = await legRow(lost.id);
    assert.deepEqual([l.status, l.reseller_id, l.subscriber_id, l.direction, l.carrier], ['rated', resA.id, subA2.id, 'outbound', 'Level3']);
    assert.deepEqual((await chargeRows([lost.id])).map((c) => [c.kind, c.reseller_id, c.subscriber_id, c.billed_total]), [
      ['retail', resA.id, subA2.id, '0.1800000000'],
      ['wholesale', resA.id, subA2.id, '0.0300000000'],
    ]);
    // Now it is A's, on A's pages.
    assert.equal((await adminA.get(`/reseller/calls/${lost.id}`)).status, 200);
  });

  test('re-rating never bills a call to a holder who got the number after it: it stays unrated, saying when the number was first assigned', async () => {
    const late = randomNumber();
    const early = await post(leg('E-1', late, '+442079460000', { agoMs: 3 * HOUR }));
    assert.match(early.reason ?? '', /no subscriber has/);
    await t.db('phone_numbers').insert({ reseller_id: resA.id, subscriber_id: subA2.id, number: late, assigned_at: new Date(Date.now() - 2 * HOUR).toISOString() });
    await rerateLegs(t.db, { plans: t.planCache, refs: t.referenceData }, { kind: 'wholesale' }, { ids: [early.id] });
    const l = await legRow(early.id);
    assert.deepEqual([l.status, l.subscriber_id, l.reseller_id], ['unrated', null, null]);
    assert.match(l.unrated_reason, new RegExp(`^nobody held \\${late} at the call's time \\(first assigned \\d{4}-`));
  });

  test("a leg re-rated to another reseller (its number's history corrected) is a change for both resellers, in the change log", async () => {
    const moving = randomNumber();
    await t.db('phone_numbers').insert({ reseller_id: resA.id, subscriber_id: subA2.id, number: moving, assigned_at: NUMBERS_ASSIGNED_AT });
    const l = await post(leg('M-1', moving, '+442079460000', { agoMs: 5 * HOUR }));
    assert.equal((await legRow(l.id)).reseller_id, resA.id);
    // The number was entered on the wrong reseller's subscriber: corrected, B's since the start.
    const subB2 = await makeSubscriber(t.db, resB.id, { retail_plan_id: retailB.id });
    await t.db('phone_numbers').where({ number: moving }).update({ reseller_id: resB.id, subscriber_id: subB2.id });
    await rerateLegs(t.db, { plans: t.planCache, refs: t.referenceData }, { kind: 'wholesale' }, { ids: [l.id] });
    const after = await legRow(l.id);
    assert.deepEqual([after.status, after.reseller_id, after.subscriber_id], ['rated', resB.id, subB2.id]);
    const changes = await t.db('leg_changes').where({ leg_id: l.id }).orderBy(['xid', 'position']).select('reseller_id', 'kind');
    assert.deepEqual(changes.map((c) => [Number(c.reseller_id), c.kind]).sort(), [[resA.id, 'rerated'], [resA.id, 'stored'], [resB.id, 'rerated']].sort());
    // A re-rating that keeps the leg with its reseller logs it once.
    await rerateLegs(t.db, { plans: t.planCache, refs: t.referenceData }, { kind: 'wholesale' }, { ids: [l.id] });
    assert.equal(await t.db('leg_changes').where({ leg_id: l.id }).count('* as n').first().then((r) => Number(r?.n)), 4);
  });

  test('re-rating stores who received the call as well as who pays', async () => {
    const onnet = await post(leg('C-1', numA, numA2, { agoMs: 4 * HOUR }));
    assert.equal(onnet.direction, 'onnet');
    assert.deepEqual(Object.values(await t.db('call_legs').where({ id: onnet.id }).first('callee_reseller_id', 'callee_subscriber_id')), [resA.id, subA2.id]);
    // As a leg stored before callees were kept.
    await t.db('call_legs').where({ id: onnet.id }).update({ callee_reseller_id: null, callee_subscriber_id: null });
    await rerateLegs(t.db, { plans: t.planCache, refs: t.referenceData }, { kind: 'reseller', resellerId: resA.id }, { ids: [onnet.id] });
    const l = await legRow(onnet.id);
    assert.deepEqual([l.subscriber_id, l.callee_reseller_id, l.callee_subscriber_id], [subA.id, resA.id, subA2.id]);
  });

  test('a blocked leg (inactive account) is listed as blocked and rated once the account is active again', async () => {
    await t.db('subscribers').where({ id: subA.id }).update({ status: 'inactive' });
    const blocked = await post(leg('BL-1', numA, '+442079460000'));
    await t.db('subscribers').where({ id: subA.id }).update({ status: 'active' });
    assert.equal(blocked.status, 'blocked');
    const page = await adminA.get('/reseller/unrated?status=blocked');
    assert.ok(page.text.includes(`data-leg="${blocked.id}"`));
    await adminA.refreshCsrf('/reseller/unrated');
    const res = await postForm(adminA, '/reseller/unrated/rerate', [['mode', 'filter'], ['status', 'blocked'], ['confirm', 'yes']]);
    assert.equal(await flashAfter(adminA, res), 'Re-rated 1 call: 1 rated.');
    assert.equal((await legRow(blocked.id)).status, 'rated');
  });

  test('after a rate correction the operator re-rates the rated calls of a period from the calls page', async () => {
    const uk = await post(leg('UK-9', numA, '+442079460000'));
    const ids = (await t.db('call_legs').where({ reseller_id: resA.id, status: 'rated' }).where('called_number', '+442079460000').pluck('id')) as number[];
    assert.ok(ids.includes(uk.id));
    const before = await chargeRows(ids);
    assert.ok(before.filter((c) => c.kind === 'wholesale').every((c) => c.amount === '0.0300000000'));

    await t.db('rates').where({ rate_plan_id: wholesalePlan.id, prefix: '44' }).update({ steps: stepsJson(step('0.0400')) });
    t.planCache.invalidate(wholesalePlan.id);

    await wholesaleAdmin.refreshCsrf('/wholesale/calls');
    const today = new Date().toISOString().slice(0, 10);
    const from = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
    const filter: Array<[string, string]> = [['from', from], ['to', today], ['reseller', String(resA.id)], ['q', '4420794600']];
    const unconfirmed = await postForm(wholesaleAdmin, '/wholesale/calls/rerate', filter);
    assert.equal(unconfirmed.status, 200, 'unconfirmed: a page that asks first');
    assert.match(unconfirmed.text, new RegExp(`every one of the ${ids.length} calls matching`));
    assert.deepEqual(await chargeRows(ids), before);

    const res = await postForm(wholesaleAdmin, '/wholesale/calls/rerate', [...filter, ['confirm', 'yes']]);
    assert.equal(res.headers.location, `/wholesale/calls?from=${from}&to=${today}&q=4420794600&reseller=${resA.id}`);
    assert.match(await flashAfter(wholesaleAdmin, res), new RegExp(`^Re-rated ${ids.length} calls: ${ids.length} rated\\.$`));
    const after = await chargeRows(ids);
    assert.equal(after.length, before.length);
    assert.ok(after.filter((c) => c.kind === 'wholesale').every((c) => c.amount === '0.0600000000'), 'the corrected rate: 90 s at 0.04/min');
    assert.deepEqual(after.filter((c) => c.kind === 'retail'), before.filter((c) => c.kind === 'retail'));
  });

  test('each run is audited once, with its counts and what it selected', async () => {
    const rows = await t.db('audit_log').where({ action: 'rerate' }).orderBy('id');
    // The last run: the operator's re-rate from the calls page.
    const last = rows[rows.length - 1];
    assert.equal(last.entity_type, 'call_legs');
    assert.equal(last.actor_role, 'wholesale_admin');
    assert.equal(last.reseller_id, null);
    const a = typeof last.after === 'string' ? JSON.parse(last.after) : last.after;
    assert.equal(a.total, a.rated);
    assert.equal(a.filter.reseller_id, resA.id);
    assert.equal(a.filter.number, '4420794600');
    assert.ok(a.filter.from && a.filter.to);
    const byReseller = rows.filter((r) => r.reseller_id === resA.id);
    assert.ok(byReseller.length >= 4);
    const ticked = byReseller.map((r) => (typeof r.after === 'string' ? JSON.parse(r.after) : r.after)).find((x) => Array.isArray(x.ids));
    assert.deepEqual(ticked.ids, [frId]);
    assert.equal(ticked.rated, 1);
    // A refused run (another reseller's id) leaves no audit row claiming it ran.
    const bRows = rows.filter((r) => r.reseller_id === resB.id).map((r) => (typeof r.after === 'string' ? JSON.parse(r.after) : r.after));
    assert.ok(bRows.every((x) => x.total === 0));
  });

  test('the service walks a whole selection in batches (keyset), each leg once', async () => {
    const posted = [];
    for (let i = 0; i < 5; i++) posted.push(await post(leg(`BATCH-${i}`, numA, `+3398765430${i}`, { agoMs: HOUR + i * 1000 })));
    // Two more with the same start: ties broken by id across batch boundaries.
    const tie = Date.now() - 3 * HOUR;
    const tied = [0, 1].map((i) => ({ leg_id: `TIE-${i}`, calling: numA, called: '+33987654399', start: new Date(tie).toISOString(), answer: new Date(tie + 1000).toISOString(), end: new Date(tie + 61_000).toISOString() }));
    const tres = await postCdrs(t, token, { records: tied });
    const ids = [...posted.map((p) => p.id), ...tres.body.records.map((r: { legs: Array<{ id: number }> }) => r.legs[0]!.id)];
    const before = await chargeRows(ids);
    const outcome = await rerateLegs(t.db, { plans: t.planCache, refs: t.referenceData }, { kind: 'wholesale' }, { filter: { number: '339876543', fromMs: Date.now() - 4 * HOUR } }, { batchSize: 2 });
    assert.equal(outcome.total, 7);
    assert.equal(outcome.rated, 7);
    assert.deepEqual(await chargeRows(ids), before);
  });
});

describe('re-rating a large selection runs as a job with a progress page', () => {
  let t: TestApp;
  let token: string;
  let plan: { id: number; reseller_id: number | null };
  let reseller: { id: number };
  let admin: Client;
  let resellerAdmin: Client;
  let otherAdmin: Client;
  const num = randomNumber();
  const N = INLINE_RERATE_MAX + 50;

  before(async () => {
    t = await createTestApp();
    token = (await makePlatform(t.db)).token;
    plan = await makePlan(t.db, null, { name: 'WS', currency: 'USD', rounding_decimals: 4 });
    reseller = await makeReseller(t.db, { currency: 'USD', wholesale_plan_id: plan.id, billing_service: false });
    await makeSubscriber(t.db, reseller.id, {}, [num]);
    await makeRates(t.db, rateRow(plan, { description: 'UK', rate: '0.0200' }));
    admin = await Client.login(t.app, (await makeUser(t.db, 'wholesale_admin')).email);
    resellerAdmin = await Client.login(t.app, (await makeUser(t.db, 'reseller_admin', { resellerId: reseller.id })).email);
    otherAdmin = await Client.login(t.app, (await makeUser(t.db, 'reseller_admin', { resellerId: (await makeReseller(t.db)).id })).email);
    const records = Array.from({ length: N }, (_, i) => leg(`J-${i}`, num, '+442079460000', { agoMs: HOUR + i * 1000 }));
    const res = await postCdrs(t, token, records);
    assert.equal(res.body.accepted, N);
  });
  after(() => t.close());

  test('the operator re-rates a period of more calls than a request takes: a job page shows progress, then the outcome', async () => {
    await t.db('rates').where({ rate_plan_id: plan.id }).update({ steps: stepsJson(step('0.0400')) });
    t.planCache.invalidate(plan.id);
    await admin.refreshCsrf('/wholesale/calls');
    const today = new Date().toISOString().slice(0, 10);
    const from = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
    const res = await postForm(admin, '/wholesale/calls/rerate', [['from', from], ['to', today], ['reseller', String(reseller.id)], ['confirm', 'yes']]);
    assert.equal(res.status, 303);
    const jobPath = res.headers.location as string;
    assert.match(jobPath, /^\/wholesale\/jobs\/\d+$/);

    let page = await admin.get(jobPath);
    assert.equal(page.status, 200);
    assert.match(page.text, new RegExp(`Re-rating ${N} calls`));
    for (let i = 0; i < 300 && /data-status="(queued|running)"/.test(page.text); i++) {
      assert.match(page.text, /<meta http-equiv="refresh" content="1">/, 'a running job refreshes its page');
      if (/data-status="running"/.test(page.text)) assert.match(page.text, new RegExp(`data-testid="job-progress">\\d+ of ${N}<`));
      await new Promise((r) => setTimeout(r, 100));
      page = await admin.get(jobPath);
    }
    assert.match(page.text, /data-status="done"/);
    assert.match(page.text, new RegExp(`data-testid="job-outcome">Re-rated ${N} calls: ${N} rated\\.<`));
    assert.doesNotMatch(page.text, /http-equiv="refresh"/);
    assert.match(page.text, /href="\/wholesale\/calls\?from=/, 'a link back to the calls page it came from');
    const amounts = await t.db('charges').where({ reseller_id: reseller.id, kind: 'wholesale' }).distinct('amount').pluck('amount');
    assert.deepEqual(amounts, ['0.0600000000'], 'every call at the corrected rate: 90 s at 0.04/min');
    assert.equal(Number((await t.db('charges').where({ reseller_id: reseller.id }).count('* as n').first())?.n), N, 'replaced, not added');
    // The operator's job is the operator's: a reseller's people do not reach it.
    assert.equal((await resellerAdmin.get(jobPath.replace('/wholesale/', '/reseller/'))).status, 404);
  });

  test("a reseller's job is its own; a job whose worker stopped is taken up by another and finishes", async () => {
    const actor = { userId: null, email: null, role: 'reseller_admin' as const, scope: { kind: 'reseller' as const, resellerId: reseller.id } };
    const started = await rerateOrStart(t.db, { plans: t.planCache, refs: t.referenceData }, t.jobs, actor, actor.scope, { filter: {} }, '/reseller/calls', { inlineMax: 10 });
    assert.ok('jobId' in started);
    const path = `/reseller/jobs/${started.jobId}`;
    let page = await resellerAdmin.get(path);
    for (let i = 0; i < 300 && /data-status="(queued|running)"/.test(page.text); i++) page = await new Promise((r) => setTimeout(r, 100)).then(() => resellerAdmin.get(path));
    assert.match(page.text, new RegExp(`Re-rated ${N} calls: ${N} rated\\.`));
    assert.equal((await otherAdmin.get(path)).status, 404);

    // A job left running by a worker that stopped (its process was killed): its lease ran out, so
    // this app's worker claims it, as a worker in any other process would, and runs it to the end.
    const payload = { scope: actor.scope, actor: { userId: null, email: null, role: 'reseller_admin' }, selection: {} };
    const [stale] = await t.db('jobs')
      .insert({
        reseller_id: reseller.id, kind: 'rerate', title: `Re-rating ${N} calls`, total: N, done: 0, return_to: '/reseller/calls', status: 'running',
        payload: JSON.stringify(payload), attempts: 1, locked_by: 'a-killed-worker', locked_until: t.db.raw(`now() - interval '1 second'`), started_at: t.db.fn.now(),
      })
      .returning('id');
    t.worker?.wake();
    let taken = await resellerAdmin.get(`/reseller/jobs/${stale.id}`);
    for (let i = 0; i < 300 && !/data-status="done"/.test(taken.text); i++) taken = await new Promise((r) => setTimeout(r, 100)).then(() => resellerAdmin.get(`/reseller/jobs/${stale.id}`));
    assert.match(taken.text, new RegExp(`data-testid="job-outcome">Re-rated ${N} calls: ${N} rated\\.<`));
    assert.match(taken.text, /data-testid="job-attempts">2 of 5</, 'the second attempt, by another worker');
  });
});
