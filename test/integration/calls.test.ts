/**
 * The call pages of the three portals, on calls posted through the real CDR intake: what each
 * person sees (and never sees), keyset paging, filters, CSV exports with exact amounts, and the
 * operator's browser of rejected records.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { createTestApp, type TestApp } from '../support/app';
import { makeJurisdiction, makePlan, makeReseller, makeSubscriber, makeTax, makeUser, randomNumber, makeRates, rateRow } from '../support/factories';
import { Client } from '../support/http';
import { makePlatform, postCdrs } from '../support/intake';
import { exportCallsCsv } from '../../src/modules/calls/calls.service';
import { listCalls as listCallRows } from '../../src/modules/ledger/ledger.reads';

const HOUR = 3_600_000;

/** A leg of `seconds` answered seconds, starting `agoMs` before now (UTC ISO times, as the generic format wants). */
function leg(id: string, calling: string, called: string, opts: { agoMs?: number; seconds?: number; extra?: Record<string, unknown> } = {}) {
  const start = Date.now() - (opts.agoMs ?? HOUR);
  const seconds = opts.seconds ?? 90;
  return {
    leg_id: id,
    calling,
    called,
    start: new Date(start).toISOString(),
    answer: new Date(start + 5000).toISOString(),
    end: new Date(start + 5000 + seconds * 1000).toISOString(),
    ...opts.extra,
  };
}

describe('call pages', () => {
  let t: TestApp;
  let token: string;
  let platformId: number;
  const numA = randomNumber();
  const numA2 = randomNumber();
  const numB = randomNumber();
  let resA: { id: number; name: string; code: string };
  let resB: { id: number; name: string; code: string };
  let subA: { id: number; account_number: string };
  let subA2: { id: number; account_number: string };
  let subB: { id: number; account_number: string };
  let subscriberA: Client;
  let subscriberA2: Client;
  let adminA: Client;
  let supportA: Client;
  let adminB: Client;
  let wholesaleAdmin: Client;
  let wholesaleSupport: Client;
  /** The first call of subscriber A: 90 s to London. */
  let legId: number;

  before(async () => {
    t = await createTestApp();
    const p = await makePlatform(t.db, { name: 'pbx-calls-test', trunk_carriers: JSON.stringify({ 'gw-l3': 'Level3' }) });
    token = p.token;
    platformId = p.id;
    // The operator sells in USD; reseller A is billed in EUR and sells in EUR, with a 10 % usage tax.
    const wholesale = await makePlan(t.db, null, { name: 'WS Standard', currency: 'USD', rounding_decimals: 4 });
    resA = await makeReseller(t.db, { currency: 'EUR', wholesale_plan_id: wholesale.id });
    resB = await makeReseller(t.db, { currency: 'USD', wholesale_plan_id: wholesale.id });
    const retailA = await makePlan(t.db, resA.id, { name: 'Retail A', currency: 'EUR', rounding_decimals: 2, rounding_method: 'up' });
    const retailB = await makePlan(t.db, resB.id, { name: 'Retail B', currency: 'USD', rounding_decimals: 2 });
    subA = await makeSubscriber(t.db, resA.id, { retail_plan_id: retailA.id }, [numA]);
    subA2 = await makeSubscriber(t.db, resA.id, { retail_plan_id: retailA.id }, [numA2]);
    subB = await makeSubscriber(t.db, resB.id, { retail_plan_id: retailB.id }, [numB]);
    const uk = { description: 'United Kingdom' };
    await makeRates(t.db, rateRow(wholesale, { ...uk, rate: '0.0200' }), rateRow(retailA, { ...uk, rate: '0.0900', increment: 60 }), rateRow(retailB, { ...uk, rate: '0.0500', increment: 60 }));
    await t.db('exchange_rates').insert({ from_currency: 'USD', to_currency: 'EUR', rate: '0.92', effective_from: '2020-01-01T00:00:00Z' });
    const ny = await makeJurisdiction(t.db, { country: 'US', region: 'NY', name: 'New York' });
    await makeTax(t.db, resA.id, ny.id, { name: 'NY usage tax', rate: '10', effective_from: '2020-01-01T00:00:00Z' });

    const login = async (role: Parameters<typeof makeUser>[1], o: Parameters<typeof makeUser>[2] = {}) => Client.login(t.app, (await makeUser(t.db, role, o)).email);
    subscriberA = await login('subscriber', { resellerId: resA.id, subscriberId: subA.id });
    subscriberA2 = await login('subscriber', { resellerId: resA.id, subscriberId: subA2.id });
    adminA = await login('reseller_admin', { resellerId: resA.id });
    supportA = await login('reseller_support', { resellerId: resA.id });
    adminB = await login('reseller_admin', { resellerId: resB.id });
    wholesaleAdmin = await login('wholesale_admin');
    wholesaleSupport = await login('wholesale_support');
  });
  after(() => t.close());

  test('a subscriber sees its new call with the retail cost right after the post, on /me/calls and on /me', async () => {
    const res = await postCdrs(t, token, leg('A-1', numA, '+442079460000', { extra: { trunk: 'gw-l3' } }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.records[0].legs[0].status, 'rated', JSON.stringify(res.body));
    legId = res.body.records[0].legs[0].id;
    const stored = await t.db('charges').where({ leg_id: legId }).orderBy('kind');
    assert.deepEqual(
      stored.map((c) => [c.kind, c.billed_total, c.billed_currency, c.tax_amount]),
      [
        // 90 s in whole minutes = 0.18 EUR, 10 % tax 0.018 rounded up to 0.02 by the plan: 0.20 EUR.
        ['retail', '0.2000000000', 'EUR', '0.0200000000'],
        // 90 s at 0.02 USD/min = 0.03 USD = 0.0276 EUR at 0.92; the operator has no tax here.
        ['wholesale', '0.0276000000', 'EUR', '0.0000000000'],
      ],
    );

    const page = await subscriberA.get('/me/calls');
    assert.equal(page.status, 200);
    assert.match(page.text, new RegExp(`data-leg="${legId}"`));
    assert.match(page.text, /0\.20 EUR/);
    assert.match(page.text, /data-testid="sort-start"[^>]*>Start/, "the start column, sortable");
    assert.match(page.text, /1:30/, 'billable seconds as m:ss');
    assert.match(page.text, /\+442079460000/);

    const home = await subscriberA.get('/me');
    assert.match(home.text, /Recent calls/);
    assert.match(home.text, /0\.20 EUR/);
    assert.match(home.text, /href="\/me\/calls"/, 'a link to the calls page');
  });

  test('a subscriber never sees wholesale amounts, nor another subscriber\'s calls, nor the reseller pages', async () => {
    for (const path of ['/me/calls', '/me', `/me/calls?status=rated`]) {
      const page = await subscriberA.get(path);
      assert.equal(page.status, 200, path);
      assert.doesNotMatch(page.text, /0\.0276/, `${path} shows the wholesale charge`);
      assert.doesNotMatch(page.text, /[Ww]holesale/, `${path} mentions wholesale`);
    }
    const other = await subscriberA2.get('/me/calls');
    assert.doesNotMatch(other.text, new RegExp(`data-leg="${legId}"`));
    assert.match(other.text, /No calls in this period/);
    assert.equal((await subscriberA.get('/reseller/calls')).status, 403);
    assert.equal((await subscriberA.get(`/reseller/calls/${legId}`)).status, 403);
    assert.equal((await subscriberA.get('/wholesale/calls')).status, 403);
  });

  test('the reseller sees both charges with the subscriber account; the detail page has the whole breakdown', async () => {
    const page = await adminA.get('/reseller/calls');
    assert.equal(page.status, 200);
    const row = new RegExp(`<tr data-leg="${legId}">[\\s\\S]*?</tr>`).exec(page.text)?.[0] ?? '';
    assert.ok(row, 'the call is listed');
    assert.match(row, /0\.0276 EUR/, 'wholesale cost to the reseller');
    assert.match(row, /0\.20 EUR/, 'retail price to the subscriber');
    assert.match(row, /incl\. tax 0\.02 EUR/);
    assert.match(row, new RegExp(subA.account_number));

    const detail = await adminA.get(`/reseller/calls/${legId}`);
    assert.equal(detail.status, 200);
    for (const expected of [
      /WS Standard/, /Retail A/, /prefix <code>44<\/code>/, /90 s billable, 90 s charged/, /90 s billable, 120 s charged/, /1 USD = 0\.92 EUR/,
      /NY usage tax/, /10 %/, /data-testid="billed-wholesale">0\.0276 EUR/, /data-testid="billed-retail">0\.20 EUR/, /Level3/,
      /in force from 2020-01-01 00:00:00 UTC/,
    ]) {
      assert.match(detail.text, expected);
    }
    // Pieces: one step, 0.02 USD per 60 s (wholesale) and 0.09 EUR per 60 s (retail).
    assert.match(detail.text, /0\.02 USD<\/td><td class="num">60 s<\/td><td class="num">0\.03<\/td>/);
    assert.match(detail.text, /0\.09 EUR<\/td><td class="num">60 s<\/td><td class="num">0\.18<\/td>/);
    // The raw record is the operator's view only.
    assert.doesNotMatch(detail.text, /The record as received/);
  });

  test("another reseller's leg is not found, and its lists and exports never show it", async () => {
    assert.equal((await adminB.get(`/reseller/calls/${legId}`)).status, 404);
    const list = await adminB.get('/reseller/calls');
    assert.doesNotMatch(list.text, new RegExp(`data-leg="${legId}"`));
    const csv = await adminB.get('/reseller/calls.csv');
    assert.equal(csv.status, 200);
    assert.equal(parse(csv.text, { columns: true }).length, 0);
    const b = await postCdrs(t, token, leg('B-1', numB, '+442079460001'));
    const bId = b.body.records[0].legs[0].id as number;
    assert.equal((await adminA.get(`/reseller/calls/${bId}`)).status, 404);
    assert.doesNotMatch((await adminA.get('/reseller/calls')).text, new RegExp(`data-leg="${bId}"`));
    assert.equal((await wholesaleAdmin.get(`/wholesale/calls/${bId}`)).status, 200);
  });

  test('CSV exports carry the amounts exactly as stored, for the current filter', async () => {
    const res = await adminA.get('/reseller/calls.csv?q=2079460000');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'] as string, /text\/csv/);
    assert.match(res.headers['content-disposition'] as string, /attachment; filename="?calls-\d{4}-\d{2}-\d{2}-to-\d{4}-\d{2}-\d{2}\.csv"?/);
    const rows = parse(res.text, { columns: true }) as Array<Record<string, string>>;
    const row = rows.find((r) => r.leg_id === String(legId));
    assert.ok(row, 'the call is exported');
    assert.equal(row.wholesale_billed_total, '0.0276000000');
    assert.equal(row.wholesale_billed_currency, 'EUR');
    assert.equal(row.wholesale_total, '0.0300000000');
    assert.equal(row.wholesale_currency, 'USD');
    assert.equal(row.wholesale_exchange_rate, '0.920000000000');
    assert.equal(row.retail_billed_total, '0.2000000000');
    assert.equal(row.retail_tax, '0.0200000000');
    assert.equal(row.subscriber_account, subA.account_number);
    assert.equal(row.billable_seconds, '90');
    assert.ok(!('reseller_code' in row), 'a reseller export has no reseller columns');

    const ws = parse((await wholesaleAdmin.get(`/wholesale/calls.csv?reseller=${resA.id}`)).text, { columns: true }) as Array<Record<string, string>>;
    assert.ok(ws.length >= 1);
    assert.ok(ws.every((r) => r.reseller_code === resA.code));
    assert.equal(ws.find((r) => r.leg_id === String(legId))?.wholesale_billed_total, '0.0276000000');
    assert.equal(ws[0]?.platform, 'pbx-calls-test');

    // A filter that matches nothing still gives the header.
    const none = await adminA.get('/reseller/calls.csv?direction=inbound');
    assert.match(none.text.split('\n')[0] ?? '', /^leg_id,call_id,start_utc/);
    assert.equal(parse(none.text, { columns: true }).length, 0);
    assert.equal((await supportA.get('/reseller/calls.csv')).status, 200, 'support roles may export');
  });

  test('lists page by keyset on (start, id) with no row lost or repeated, and the CSV streams every page', async () => {
    // 30 legs of subscriber A2, five of them starting at the very same instant (ties broken by id).
    const at = Date.now() - 2 * HOUR;
    const records = Array.from({ length: 30 }, (_, i) => {
      const l = leg(`P-${i}`, numA2, `+4420794610${String(i).padStart(2, '0')}`, { seconds: 30 });
      const start = i < 5 ? at : at - i * 60_000;
      return { ...l, start: new Date(start).toISOString(), answer: new Date(start + 1000).toISOString(), end: new Date(start + 31_000).toISOString() };
    });
    const res = await postCdrs(t, token, { records });
    assert.equal(res.body.accepted, 30, JSON.stringify(res.body).slice(0, 300));
    const ids = new Set<number>(res.body.records.map((r: { legs: Array<{ id: number }> }) => r.legs[0]!.id));

    const seen: number[] = [];
    let url: string | undefined = '/me/calls';
    let pages = 0;
    while (url) {
      const page = await subscriberA2.get(url);
      assert.equal(page.status, 200);
      pages++;
      seen.push(...[...page.text.matchAll(/data-leg="(\d+)"/g)].map((m) => Number(m[1])));
      const next = /<a href="([^"]+)" rel="next">/.exec(page.text)?.[1];
      url = next ? `/me/calls${next.replace(/&amp;/g, '&')}` : undefined;
    }
    assert.equal(pages, 2);
    assert.equal(seen.length, 30);
    assert.deepEqual(new Set(seen), ids);
    // Newest first: ids of the five simultaneous legs come down in id order.
    const tied = seen.slice(0, 5);
    assert.deepEqual(tied, [...tied].sort((a, b) => b - a));

    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const n = await exportCallsCsv(t.db, { kind: 'reseller', resellerId: resA.id }, { q: numA2.slice(1) }, out, { pageSize: 7 });
    await new Promise((resolve) => out.on('end', resolve));
    const rows = parse(Buffer.concat(chunks).toString('utf8'), { columns: true }) as Array<Record<string, string>>;
    assert.equal(n, 30);
    assert.deepEqual(new Set(rows.map((r) => Number(r.leg_id))), ids);
  });

  test('filters: period (last 7 days by default), number, direction, status, reseller and platform', async () => {
    const old = await postCdrs(t, token, leg('OLD-1', numA, '+442079460099', { agoMs: 10 * 24 * HOUR }));
    const oldId = old.body.records[0].legs[0].id as number;
    const unrated = await postCdrs(t, token, leg('FR-1', numA, '+33123456789'));
    const frId = unrated.body.records[0].legs[0].id as number;
    const has = (text: string, id: number) => text.includes(`data-leg="${id}"`);

    const dflt = await adminA.get('/reseller/calls');
    assert.ok(!has(dflt.text, oldId), 'a call of 10 days ago is outside the default period');
    assert.ok(has(dflt.text, frId));
    const from = new Date(Date.now() - 11 * 24 * HOUR).toISOString().slice(0, 10);
    const to = new Date(Date.now() - 9 * 24 * HOUR).toISOString().slice(0, 10);
    assert.ok(has((await adminA.get(`/reseller/calls?from=${from}&to=${to}`)).text, oldId));
    assert.ok(has((await subscriberA.get(`/me/calls?from=${from}&to=${to}`)).text, oldId));
    assert.ok(!has((await subscriberA.get(`/me/calls?from=${from}&to=${to}`)).text, legId));

    const byNumber = await adminA.get('/reseller/calls?q=33123456789');
    assert.ok(has(byNumber.text, frId));
    assert.ok(!has(byNumber.text, legId));
    const byStatus = await adminA.get('/reseller/calls?status=unrated');
    assert.ok(has(byStatus.text, frId));
    assert.ok(!has(byStatus.text, legId));
    assert.ok(!has((await adminA.get('/reseller/calls?direction=inbound')).text, legId));
    assert.ok(has((await adminA.get('/reseller/calls?direction=outbound')).text, legId));
    // Operator filters: a reseller's people cannot widen their scope with them.
    assert.ok(!has((await wholesaleAdmin.get(`/wholesale/calls?reseller=${resB.id}`)).text, legId));
    assert.ok(has((await wholesaleAdmin.get(`/wholesale/calls?reseller=${resA.id}&platform=${platformId}`)).text, legId));
    assert.ok(!has((await adminB.get(`/reseller/calls?reseller=${resA.id}`)).text, legId));

    const mine = await subscriberA.get('/me/calls?status=unrated');
    assert.match(mine.text, /not rated yet/);
  });

  test('the operator sees every call and, on its detail page, the record as received (escaped)', async () => {
    const res = await postCdrs(t, token, leg('X-1', numA, '+442079460000', { extra: { account_code: '<script>alert(1)</script>' } }));
    const id = res.body.records[0].legs[0].id as number;
    const list = await wholesaleAdmin.get('/wholesale/calls');
    assert.ok(list.text.includes(`data-leg="${id}"`));
    assert.ok(list.text.includes(`data-leg="${legId}"`));
    assert.match(list.text, new RegExp(resA.name));
    const detail = await wholesaleAdmin.get(`/wholesale/calls/${id}`);
    assert.equal(detail.status, 200);
    assert.match(detail.text, /The record as received/);
    assert.match(detail.text, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.doesNotMatch(detail.text, /<script>alert/);
    assert.match(detail.text, /&#34;leg_id&#34;:&#34;X-1&#34;|&quot;leg_id&quot;:&quot;X-1&quot;/);
    assert.equal((await wholesaleAdmin.get('/wholesale/calls/999999999')).status, 404);
    assert.equal((await wholesaleAdmin.get('/wholesale/calls/abc')).status, 404);
  });

  test('support roles see the pages and no re-rate controls', async () => {
    for (const [c, paths] of [
      [wholesaleSupport, ['/wholesale/calls', '/wholesale/unrated', `/wholesale/calls/${legId}`, '/wholesale/rejects']],
      [supportA, ['/reseller/calls', '/reseller/unrated', `/reseller/calls/${legId}`]],
    ] as const) {
      for (const p of paths) {
        const page = await c.get(p);
        assert.equal(page.status, 200, p);
        assert.doesNotMatch(page.text, /Re-rate|name="ids"|\/rerate"/, `${p} shows a re-rate control to a support role`);
      }
    }
    assert.match((await wholesaleAdmin.get('/wholesale/calls')).text, /Re-rate matching calls/);
    assert.equal((await wholesaleSupport.submit('/wholesale/unrated/rerate', { mode: 'filter' }, '/wholesale/unrated')).status, 403);
    assert.equal((await supportA.submit('/reseller/unrated/rerate', { mode: 'filter' }, '/reseller/unrated')).status, 403);
  });

  /** On-net rates, so that on-net calls carry charges whose amounts no other party may see. */
  const onnetRates = async () => {
    if (await t.db('rates').where({ direction: 'onnet' }).first()) return;
    const plans = await t.db('rate_plans').whereIn('name', ['WS Standard', 'Retail A', 'Retail B']).select('id', 'name', 'reseller_id');
    const byName = new Map(plans.map((p) => [p.name as string, p as { id: number; reseller_id: number | null }]));
    const onnet = (name: string, r: string) => rateRow(byName.get(name)!, { prefix: '1', description: 'On-net', direction: 'onnet', rate: r, increment: 60 });
    // Wholesale 0.0777 USD a minute; retail 0.0734 USD (B, 0.07 at two decimals) and 0.0444 EUR (A).
    await makeRates(t.db, onnet('WS Standard', '0.0777'), onnet('Retail B', '0.0734'), onnet('Retail A', '0.0444'));
    t.planCache.clear();
  };

  test('the callee of an on-net call sees it on its calls page and CSV, received, with what it paid (nothing); the caller sees its own cost', async () => {
    await onnetRates();
    const res = await postCdrs(t, token, leg('ON-1', numA, numA2, { agoMs: 2 * HOUR, seconds: 30 }));
    const l = res.body.records[0].legs[0];
    assert.deepEqual([l.direction, l.status], ['onnet', 'rated'], JSON.stringify(res.body));
    const stored = await t.db('call_legs').where({ id: l.id }).first();
    assert.deepEqual([stored.subscriber_id, stored.reseller_id, stored.callee_subscriber_id, stored.callee_reseller_id], [subA.id, resA.id, subA2.id, resA.id]);

    // Found by the caller's number (the callee has many calls of the tests before).
    const calleePage = await subscriberA2.get(`/me/calls?q=${numA.slice(1)}`);
    const row = new RegExp(`<tr data-leg="${l.id}">[\\s\\S]*?</tr>`).exec(calleePage.text)?.[0] ?? '';
    assert.ok(row, 'the received call is on the callee\'s page');
    assert.match(row, /data-testid="received"/);
    assert.match(row, /data-testid="cost">nothing</);
    assert.doesNotMatch(row, /0\.0[456]/, 'never the caller\'s charge');
    const callerRow = new RegExp(`<tr data-leg="${l.id}">[\\s\\S]*?</tr>`).exec((await subscriberA.get(`/me/calls?q=${numA2.slice(1)}`)).text)?.[0] ?? '';
    assert.match(callerRow, /data-testid="cost">0\.06 EUR</, 'the caller pays 0.0444 rounded up to 0.05, plus 10 % tax rounded up');
    assert.doesNotMatch(callerRow, /data-testid="received"/);

    const csv = await subscriberA2.get('/me/calls.csv');
    assert.equal(csv.status, 200);
    assert.match(csv.headers['content-type'] as string, /text\/csv/);
    const rows = parse(csv.text, { columns: true }) as Array<Record<string, string>>;
    assert.ok(!Object.keys(rows[0] ?? {}).some((k) => k.startsWith('wholesale')), 'no wholesale columns for a subscriber');
    const received = rows.find((r) => r.leg_id === String(l.id));
    assert.deepEqual([received?.status, received?.direction, received?.retail_billed_total, received?.billable_seconds], ['received', 'onnet', '', '30']);
    const mine = parse((await subscriberA.get(`/me/calls.csv?q=${numA2.slice(1)}`)).text, { columns: true }) as Array<Record<string, string>>;
    assert.deepEqual(mine.filter((r) => r.leg_id === String(l.id)).map((r) => [r.status, r.retail_billed_total, r.retail_billed_currency]), [['rated', '0.0600000000', 'EUR']]);
    // The same filter as the page: a number neither party has finds nothing.
    assert.equal(parse((await subscriberA2.get('/me/calls.csv?q=999999999')).text, { columns: true }).length, 0);
    assert.match((await subscriberA2.get('/me/calls?q=2125')).text, /href="\/me\/calls\.csv\?[^"]*q=2125/, 'the page links its CSV, with its filter');
  });

  test("a call another reseller's subscriber pays for is on the callee's reseller's pages with its own side only: never the payer's account, charges or reason", async () => {
    await onnetRates();
    const res = await postCdrs(t, token, leg('ON-2', numB, numA, { agoMs: 3 * HOUR, seconds: 60 }));
    const l = res.body.records[0].legs[0];
    assert.deepEqual([l.direction, l.status], ['onnet', 'rated'], JSON.stringify(res.body));
    const charges = await t.db('charges').where({ leg_id: l.id }).orderBy('kind');
    assert.deepEqual(charges.map((c) => [c.kind, c.reseller_id, c.billed_total]), [['retail', resB.id, '0.0700000000'], ['wholesale', resB.id, '0.0777000000']]);

    const secret = [/0\.0777/, /0\.07 USD/, /0\.0734/, new RegExp(subB.account_number), new RegExp(resB.name)];
    // Found by the caller's number (many calls of the tests before fill the first page).
    const list = await adminA.get(`/reseller/calls?q=${numB.slice(1)}`);
    const row = new RegExp(`<tr data-leg="${l.id}">[\\s\\S]*?</tr>`).exec(list.text)?.[0] ?? '';
    assert.ok(row, "listed on the callee's reseller's calls page");
    assert.match(row, /status-received/);
    assert.match(row, new RegExp(subA.account_number), 'its own subscriber, the callee');
    for (const re of secret) assert.doesNotMatch(row, re);
    const detail = await adminA.get(`/reseller/calls/${l.id}`);
    assert.equal(detail.status, 200);
    assert.match(detail.text, /Received by your subscriber/);
    for (const re of secret) assert.doesNotMatch(detail.text, re);
    assert.doesNotMatch(detail.text, /data-kind=/, 'no charge of the other reseller');
    const csv = parse((await adminA.get('/reseller/calls.csv')).text, { columns: true }) as Array<Record<string, string>>;
    const csvRow = csv.find((r) => r.leg_id === String(l.id));
    assert.deepEqual([csvRow?.status, csvRow?.subscriber_account, csvRow?.wholesale_billed_total, csvRow?.retail_billed_total], ['received', subA.account_number, '', '']);
    // Received, not paid: not on the unrated pages, not re-ratable by the callee's reseller.
    await t.db('call_legs').where({ id: l.id }).update({ status: 'unrated', unrated_reason: `reseller ${resB.name} is inactive` });
    assert.doesNotMatch((await adminA.get('/reseller/unrated')).text, new RegExp(`data-leg="${l.id}"`));
    for (const re of secret) assert.doesNotMatch((await adminA.get(`/reseller/calls/${l.id}`)).text, re);
    assert.equal((await adminA.submit('/reseller/unrated/rerate', { mode: 'selected', ids: String(l.id) }, '/reseller/unrated')).status, 404);
    // The callee sees it; the payer's reseller sees its own charges as before.
    assert.match((await subscriberA.get(`/me/calls?q=${numB.slice(1)}`)).text, new RegExp(`data-leg="${l.id}"`));
    assert.match((await adminB.get(`/reseller/calls/${l.id}`)).text, /data-testid="billed-wholesale">0\.0777 USD/);
    assert.doesNotMatch((await subscriberA2.get(`/me/calls?q=${numB.slice(1)}`)).text, new RegExp(`data-leg="${l.id}"`), 'not another account\'s');
  });

  test('a subscriber\'s calls made and received, interleaved in time, page by keyset with none lost or repeated', async () => {
    const base = 30 * HOUR;
    const posted: number[] = [];
    for (let i = 0; i < 7; i++) {
      // Even: A2 calls A (A2 pays); odd: A calls A2 (A2 receives). Newest first is i = 0.
      const [from, to] = i % 2 === 0 ? [numA2, numA] : [numA, numA2];
      const res = await postCdrs(t, token, leg(`KS-${i}`, from, to, { agoMs: base + i * 60_000, seconds: 10 }));
      posted.push(res.body.records[0].legs[0].id);
    }
    const scope = { kind: 'subscriber' as const, resellerId: resA.id, subscriberId: subA2.id };
    const window = { fromMs: Date.now() - base - HOUR, toMs: Date.now() - base + 60_000 };
    const seen: Array<{ id: number; received: boolean }> = [];
    let cursor: string | undefined;
    do {
      const page = await listCallRows(t.db, scope, { ...window, cursor, limit: 3 });
      seen.push(...page.rows.map((r) => ({ id: r.id, received: r.received })));
      cursor = page.nextCursor;
    } while (cursor);
    assert.deepEqual(seen.map((r) => r.id), posted);
    assert.deepEqual(seen.map((r) => r.received), posted.map((_, i) => i % 2 === 1));
  });
});

describe('rejects browser', () => {
  let t: TestApp;
  let wholesaleAdmin: Client;
  before(async () => {
    t = await createTestApp();
    wholesaleAdmin = await Client.login(t.app, (await makeUser(t.db, 'wholesale_admin')).email);
  });
  after(() => t.close());

  test('lists what the intake refused, newest first with keyset paging, and shows each body escaped', async () => {
    const p = await makePlatform(t.db, { name: 'pbx-rejects' });
    const bad = await postCdrs(t, p.token, '{"leg_id": "<b>x</b>", ');
    assert.equal(bad.status, 400);
    const rejectId = bad.body.reject_id as number;
    const batch = await postCdrs(t, p.token, { records: [{ leg_id: 'R-1', called: '+442079460000', start: 'yesterday' }] });
    const recordReject = batch.body.records[0].reject_id as number;

    const list = await wholesaleAdmin.get('/wholesale/rejects');
    assert.equal(list.status, 200);
    const order = [...list.text.matchAll(/data-reject="(\d+)"/g)].map((m) => Number(m[1]));
    assert.deepEqual(order.slice(0, 2), [recordReject, rejectId], 'newest first');
    assert.match(list.text, /pbx-rejects/);
    assert.match(list.text, /#0/);
    assert.match(list.text, /whole body/);

    const detail = await wholesaleAdmin.get(`/wholesale/rejects/${rejectId}`);
    assert.equal(detail.status, 200);
    assert.match(detail.text, /<pre class="pre" data-testid="reject-body">\{&#34;leg_id&#34;: &#34;&lt;b&gt;x&lt;\/b&gt;&#34;, <\/pre>/);
    assert.doesNotMatch(detail.text, /<b>x<\/b>/);
    assert.equal((await wholesaleAdmin.get('/wholesale/rejects/999999999')).status, 404);

    // 30 more: two pages, nothing lost or repeated.
    for (let i = 0; i < 30; i++) await t.db('cdr_rejects').insert({ platform_id: p.id, body: `junk ${i}`, error: 'the body is not JSON', received_at: new Date(Date.now() - i * 1000).toISOString() });
    const seen: number[] = [];
    let url: string | undefined = `/wholesale/rejects?platform=${p.id}`;
    while (url) {
      const page = await wholesaleAdmin.get(url);
      seen.push(...[...page.text.matchAll(/data-reject="(\d+)"/g)].map((m) => Number(m[1])));
      const next = /<a href="([^"]+)" rel="next">/.exec(page.text)?.[1];
      url = next ? `/wholesale/rejects${next.replace(/&amp;/g, '&')}` : undefined;
    }
    assert.equal(seen.length, 32);
    assert.equal(new Set(seen).size, 32);

    const reseller = await makeReseller(t.db);
    const admin = await Client.login(t.app, (await makeUser(t.db, 'reseller_admin', { resellerId: reseller.id })).email);
    assert.equal((await admin.get('/wholesale/rejects')).status, 403);
    assert.equal((await admin.get(`/wholesale/rejects/${rejectId}`)).status, 403);
  });
});
