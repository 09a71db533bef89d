/**
 * The subscriber's self-care views and the same views for staff (issue 11): the calls filters
 * (dates in the viewer's zone, a number in any usual form, direction, answered, and the staff's
 * subscriber, reseller, platform and carrier), keyset paging while new legs arrive, totals of the
 * filter equal to the sum of its rows, the CSV equal to the filtered rows, the rates search, the
 * numbers page, and who may open which subscriber's views.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import Decimal from 'decimal.js';
import { createTestApp, type TestApp } from '../support/app';
import { makeCallLeg, makeCharge, makePlan, makeRates, makeReseller, makeSubscriber, makeUser, rateRow, step } from '../support/factories';
import { Client } from '../support/http';
import { makePlatform } from '../support/intake';
import { listCalls as listCallRows } from '../../src/modules/ledger/ledger.reads';

type Leg = { id: number; start_at: Date };

/** Leg ids of a calls page, in page order. */
const idsOf = (html: string) => [...html.matchAll(/data-leg="(\d+)"/g)].map((m) => Number(m[1]));
/** The next page's link of a page, if any. */
const nextOf = (html: string, path: string) => {
  const href = /<a href="([^"]+)" rel="next">/.exec(html)?.[1]?.replace(/&amp;/g, '&');
  // The pager's links are queries relative to the page.
  return href === undefined ? undefined : href.startsWith('?') ? `${path.split('?')[0]}${href}` : href;
};
const totalOf = (html: string, id: string) => new RegExp(`data-testid="${id}"[^>]*>([^<]*)<`).exec(html)?.[1]?.trim();

describe('self-care: calls, rates and numbers, for the subscriber and for staff', () => {
  let t: TestApp;
  let platform: { id: number; token: string };
  let otherPlatform: { id: number; token: string };
  let resA: { id: number; name: string; code: string };
  let resB: { id: number; name: string; code: string };
  let retailA: { id: number; name: string; reseller_id: number | null };
  let subA: { id: number; account_number: string; name: string };
  let subA2: { id: number; account_number: string; name: string };
  let subB: { id: number; account_number: string; name: string };
  const numA = '+14155550100';
  const numA2 = '+14155550177';
  const numB = '+12125550199';
  let subscriberA: Client;
  let adminA: Client;
  let supportA: Client;
  let adminB: Client;
  let wholesaleSupport: Client;

  /** A leg of subscriber A (paid by it), with a retail charge of `amount` in `currency` when given. */
  async function legA(o: { startAt: Date; called?: string; calling?: string; direction?: string; amount?: string; currency?: string; answered?: boolean; carrier?: string; platformId?: number; sub?: { id: number } }): Promise<Leg> {
    const sub = o.sub ?? subA;
    const leg = await makeCallLeg(t.db, { platformId: o.platformId ?? platform.id, resellerId: resA.id, subscriberId: sub.id, calling: o.calling ?? numA, called: o.called ?? '+442079460000', startAt: o.startAt, direction: o.direction ?? 'outbound' });
    const patch: Record<string, unknown> = {};
    if (o.answered === false) Object.assign(patch, { answered: false, billable_seconds: 0, disposition: 'no_answer', answer_at: null });
    if (o.carrier) patch.carrier = o.carrier;
    if (Object.keys(patch).length) await t.db('call_legs').where({ id: leg.id }).update(patch);
    if (o.amount) {
      await makeCharge(t.db, leg, { kind: 'retail', resellerId: resA.id, subscriberId: sub.id, ratePlanId: retailA.id, amount: o.amount });
      if (o.currency) await t.db('charges').where({ leg_id: leg.id, kind: 'retail' }).update({ currency: o.currency, billed_currency: o.currency });
    }
    return leg;
  }

  before(async () => {
    t = await createTestApp();
    platform = await makePlatform(t.db, { name: `pbx-selfcare-${Date.now()}` });
    otherPlatform = await makePlatform(t.db, { name: `pbx-selfcare-2-${Date.now()}` });
    resA = await makeReseller(t.db, { currency: 'USD', time_zone: 'America/New_York' });
    resB = await makeReseller(t.db, { currency: 'USD' });
    retailA = await makePlan(t.db, resA.id, { name: 'Retail A', currency: 'USD', rounding_decimals: 2, time_zone: 'Europe/London' });
    // Subscriber A reads its pages in New York time, and types national numbers as a US subscriber.
    subA = await makeSubscriber(t.db, resA.id, { retail_plan_id: retailA.id, country: 'US', time_zone: 'America/New_York' }, [numA]);
    subA2 = await makeSubscriber(t.db, resA.id, { retail_plan_id: retailA.id }, [numA2]);
    subB = await makeSubscriber(t.db, resB.id, {}, [numB]);
    await t.db('subscriber_identities').insert({ reseller_id: resA.id, subscriber_id: subA.id, identity: '1001', domain: 'a.pbx.example', label: 'Front desk' });
    const login = async (role: Parameters<typeof makeUser>[1], o: Parameters<typeof makeUser>[2] = {}) => Client.login(t.app, (await makeUser(t.db, role, o)).email);
    subscriberA = await login('subscriber', { resellerId: resA.id, subscriberId: subA.id });
    adminA = await login('reseller_admin', { resellerId: resA.id });
    supportA = await login('reseller_support', { resellerId: resA.id });
    adminB = await login('reseller_admin', { resellerId: resB.id });
    wholesaleSupport = await login('wholesale_support');
    // The rates before any page compiles the plan (the plan cache would hold the empty plan until its next check).
    // Retail A: UK prefixes, France with an old and a future version, one inbound rate, 120 others for paging.
    await makeRates(
      t.db,
      rateRow(retailA, { prefix: '44', description: 'United Kingdom', rate: '0.0500' }),
      rateRow(retailA, { prefix: '4420', description: 'United Kingdom - London', rate: '0.0300', connectFee: '0.0100' }),
      rateRow(retailA, { prefix: '447', description: 'United Kingdom - Mobile', steps: [step('0.2000', 30), step('0.1500', 6, 60, 30)] }),
      rateRow(retailA, { prefix: '33', description: 'France', rate: '0.0900', effectiveFrom: '2019-01-01T00:00:00Z' }),
      rateRow(retailA, { prefix: '33', description: 'France', rate: '0.0700', effectiveFrom: '2024-01-01T00:00:00Z' }),
      rateRow(retailA, { prefix: '33', description: 'France', rate: '0.0100', effectiveFrom: '2099-01-01T00:00:00Z' }),
      rateRow(retailA, { prefix: '1800', description: 'Toll free in', rate: '0.0200', direction: 'inbound' }),
      ...Array.from({ length: 120 }, (_, i) => rateRow(retailA, { prefix: `8${String(i).padStart(3, '0')}`, description: `Zone ${i}`, rate: '1.0000' })),
    );
    await t.db('rate_plan_bands').insert([
      { rate_plan_id: retailA.id, reseller_id: resA.id, band: 'peak', weekdays: [1, 2, 3, 4, 5], start_ms: 8 * 3_600_000 },
      { rate_plan_id: retailA.id, reseller_id: resA.id, band: 'offpeak', weekdays: [1, 2, 3, 4, 5], start_ms: 18 * 3_600_000 },
    ]);
    await t.db('rate_plans').where({ id: retailA.id }).increment('revision', 1);
  });
  after(() => t.close());

  test('dates are local days of the viewer\'s zone (New York): a call at 23:30 EST is on the 9th, one at 00:30 on the 10th', async () => {
    const late = await legA({ startAt: new Date('2026-11-10T04:30:00Z'), called: '+442071110001' });
    const early = await legA({ startAt: new Date('2026-11-10T05:30:00Z'), called: '+442071110002' });
    const day = async (d: string) => idsOf((await subscriberA.get(`/me/calls?from=${d}&to=${d}`)).text);
    assert.deepEqual(await day('2026-11-09'), [late.id]);
    assert.deepEqual(await day('2026-11-10'), [early.id]);
    // The reseller's people read in the reseller's zone (New York too): the same split on its list.
    const res = await adminA.get(`/reseller/calls?from=2026-11-10&to=2026-11-10&subscriber=${subA.id}`);
    assert.deepEqual(idsOf(res.text), [early.id]);
  });

  test('the number filter reads a number in any usual form, national ones by the subscriber\'s country, and parts of one', async () => {
    const start = new Date('2026-11-12T15:00:00Z');
    const us = await legA({ startAt: start, called: '+14155550123' });
    const uk = await legA({ startAt: new Date(start.getTime() + 60_000), called: '+442079460000' });
    const q = async (text: string) => idsOf((await subscriberA.get(`/me/calls?from=2026-11-12&to=2026-11-12&q=${encodeURIComponent(text)}`)).text);
    assert.deepEqual(await q('+1 (415) 555-0123'), [us.id]);
    assert.deepEqual(await q('415-555-0123'), [us.id], 'national, for a US subscriber');
    assert.deepEqual(await q('1-415-555-0123'), [us.id]);
    assert.deepEqual(await q('0044 20 7946 0000'), [uk.id]);
    assert.deepEqual(await q('+44 (0)20 7946 0000'.replace('(0)', '')), [uk.id]);
    assert.deepEqual(await q('555-0123'), [us.id], 'a part of a number');
    // The subscriber's own number is on both legs (the calling side).
    assert.deepEqual(await q('(415) 555-0100'), [uk.id, us.id]);
  });

  test('text that is no number answers with a message beside the field and no calls, never all of them; its CSV is refused', async () => {
    await legA({ startAt: new Date('2026-11-13T15:00:00Z') });
    for (const text of ['abc', 'call me', '12']) {
      const page = await subscriberA.get(`/me/calls?from=2026-11-13&to=2026-11-13&q=${encodeURIComponent(text)}`);
      assert.equal(page.status, 200);
      assert.match(page.text, /data-testid="q-error"[^>]*>[^<]+</, text);
      assert.deepEqual(idsOf(page.text), [], `no calls for ${text}`);
      assert.doesNotMatch(page.text, /data-testid="totals"/);
      const csv = await subscriberA.get(`/me/calls.csv?from=2026-11-13&to=2026-11-13&q=${encodeURIComponent(text)}`);
      assert.equal(csv.status, 400, text);
      assert.doesNotMatch(String(csv.headers['content-type']), /csv/);
    }
    const staff = await adminA.get('/reseller/calls?q=hello');
    assert.match(staff.text, /data-testid="q-error"/);
    assert.deepEqual(idsOf(staff.text), []);
    assert.equal((await adminA.get('/reseller/calls.csv?q=hello')).status, 400);
  });

  test('direction and answered / unanswered filters', async () => {
    const s = new Date('2026-11-14T15:00:00Z');
    const out = await legA({ startAt: s });
    const inb = await legA({ startAt: new Date(s.getTime() + 1000), direction: 'inbound', calling: '+33123456789', called: numA });
    const missed = await legA({ startAt: new Date(s.getTime() + 2000), answered: false });
    const ids = async (qs: string) => idsOf((await subscriberA.get(`/me/calls?from=2026-11-14&to=2026-11-14&${qs}`)).text).sort((a, b) => a - b);
    assert.deepEqual(await ids('direction=inbound'), [inb.id]);
    assert.deepEqual(await ids('direction=outbound'), [out.id, missed.id].sort((a, b) => a - b));
    assert.deepEqual(await ids('answered=no'), [missed.id]);
    assert.deepEqual(await ids('answered=yes'), [out.id, inb.id].sort((a, b) => a - b));
    assert.deepEqual(await ids('answered=no&direction=inbound'), []);
  });

  test('staff filters: subscriber (reseller and operator), reseller, platform and carrier (operator only)', async () => {
    const s = new Date('2026-11-15T15:00:00Z');
    const a1 = await legA({ startAt: s, carrier: 'Level3' });
    const a2 = await legA({ startAt: new Date(s.getTime() + 1000), sub: subA2, calling: numA2, platformId: otherPlatform.id, carrier: 'Sprint' });
    const b1 = await makeCallLeg(t.db, { platformId: platform.id, resellerId: resB.id, subscriberId: subB.id, calling: numB, startAt: new Date(s.getTime() + 2000) });
    const day = 'from=2026-11-15&to=2026-11-15';
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    assert.deepEqual(idsOf((await adminA.get(`/reseller/calls?${day}&subscriber=${subA2.id}`)).text), [a2.id]);
    assert.deepEqual(sorted(idsOf((await adminA.get(`/reseller/calls?${day}`)).text)), sorted([a1.id, a2.id]));
    // Another tenant's subscriber: nothing of it, and not named.
    const foreign = await adminA.get(`/reseller/calls?${day}&subscriber=${subB.id}`);
    assert.deepEqual(idsOf(foreign.text), []);
    assert.ok(!foreign.text.includes(subB.account_number));
    // A reseller cannot filter by platform or carrier (the operator's), nor by another reseller.
    assert.deepEqual(sorted(idsOf((await adminA.get(`/reseller/calls?${day}&platform=${otherPlatform.id}&carrier=Sprint&reseller=${resB.id}`)).text)), sorted([a1.id, a2.id]));
    const ws = (qs: string) => wholesaleSupport.get(`/wholesale/calls?${day}&${qs}`).then((r) => sorted(idsOf(r.text)));
    assert.deepEqual(await ws(`reseller=${resB.id}`), [b1.id]);
    assert.deepEqual(await ws(`platform=${otherPlatform.id}`), [a2.id]);
    assert.deepEqual(await ws('carrier=Level3'), [a1.id]);
    assert.deepEqual(await ws(`subscriber=${subA.id}`), [a1.id]);
    assert.deepEqual(await ws(`reseller=${resA.id}&subscriber=${subA2.id}`), [a2.id]);
  });

  test('keyset paging: no duplicate and no gap across pages while new legs arrive, newest first and oldest first', async () => {
    // 60 legs of one day, five of them at the very same instant (ties broken by id).
    const base = Date.parse('2026-11-16T12:00:00Z');
    const legs: Leg[] = [];
    for (let i = 0; i < 60; i++) legs.push(await legA({ startAt: new Date(base + (i < 5 ? 0 : i * 1000)), amount: '0.10' }));
    const expected = new Set(legs.map((l) => l.id));
    for (const sort of ['', 'start']) {
      const seen: number[] = [];
      let url: string | undefined = `/me/calls?from=2026-11-16&to=2026-11-16${sort ? `&sort=${sort}` : ''}`;
      let pages = 0;
      while (url) {
        const page = await subscriberA.get(url);
        assert.equal(page.status, 200);
        seen.push(...idsOf(page.text));
        // A new call arrives between pages: newer than any (newest first: it belongs on a page already read), or within the day.
        await legA({ startAt: new Date(base + 3_600_000 + pages * 1000), amount: '0.10' });
        url = nextOf(page.text, url);
        pages++;
      }
      assert.equal(pages, 3);
      const fromBefore = seen.filter((id) => expected.has(id));
      assert.equal(new Set(seen).size, seen.length, `no duplicates (${sort || '-start'})`);
      assert.equal(fromBefore.length, 60, `every leg there at the start is read once (${sort || '-start'})`);
      // The order holds across pages: start time, then id, both in the direction asked.
      const order = legs.filter((l) => seen.includes(l.id)).map((l) => l.id);
      const byStart = [...legs].sort((a, b) => a.start_at.getTime() - b.start_at.getTime() || a.id - b.id).map((l) => l.id);
      const want = sort === 'start' ? byStart : [...byStart].reverse();
      assert.deepEqual(fromBefore, want.filter((id) => order.includes(id)));
    }
    // The reseller's list pages the same legs (its paid and received sides merged) without duplicates.
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await listCallRows(t.db, { kind: 'reseller', resellerId: resA.id }, { fromMs: base - 1, toMs: base + 86_400_000, cursor, limit: 7, order: 'asc' });
      seen.push(...page.rows.map((r) => r.id));
      cursor = page.nextCursor;
    } while (cursor);
    assert.equal(new Set(seen).size, seen.length);
    for (const id of expected) assert.ok(seen.includes(id));
  });

  test('the totals of a filter are the sum of its rows (calls, minutes, money per currency), and the CSV holds exactly the filtered rows', async () => {
    const s = Date.parse('2026-11-17T14:00:00Z');
    await legA({ startAt: new Date(s), amount: '0.1234', currency: 'USD' });
    await legA({ startAt: new Date(s + 1000), amount: '1.50', currency: 'EUR' });
    await legA({ startAt: new Date(s + 2000), amount: '0.0066', currency: 'USD', called: '+33123456789' });
    await legA({ startAt: new Date(s + 3000), answered: false });
    for (let i = 0; i < 30; i++) await legA({ startAt: new Date(s + 10_000 + i * 1000), amount: '0.01', currency: 'USD' });
    // An inbound call received from B's subscriber is on A's page (no charge of A's) and counts as a call.
    const received = await makeCallLeg(t.db, { platformId: platform.id, resellerId: resB.id, subscriberId: subB.id, calling: numB, called: numA, direction: 'onnet', startAt: new Date(s + 5000), calleeResellerId: resA.id, calleeSubscriberId: subA.id });
    await makeCharge(t.db, received, { kind: 'retail', resellerId: resB.id, subscriberId: subB.id, ratePlanId: retailA.id, amount: '9.99' });

    const filter = 'from=2026-11-17&to=2026-11-17';
    const first = await subscriberA.get(`/me/calls?${filter}`);
    // Walk every page: the rows' costs, summed per currency.
    const rows: Array<{ id: number; cost: string }> = [];
    let html: string | undefined = first.text;
    while (html) {
      for (const m of html.matchAll(/data-leg="(\d+)"[\s\S]*?data-testid="cost">([^<]*)</g)) rows.push({ id: Number(m[1]), cost: (m[2] as string).trim() });
      const next = nextOf(html, '/me/calls');
      html = next ? (await subscriberA.get(next)).text : undefined;
    }
    const sums = new Map<string, Decimal>();
    for (const r of rows) {
      const m = /^(\d+\.\d+) ([A-Z]{3})$/.exec(r.cost);
      if (m) sums.set(m[2] as string, (sums.get(m[2] as string) ?? new Decimal(0)).plus(m[1] as string));
    }
    assert.equal(rows.length, 35);
    assert.equal(totalOf(first.text, 'total-calls'), '35');
    // 34 answered legs of 60 s and one unanswered: 34 minutes; the received call's 60 s count too.
    assert.equal(totalOf(first.text, 'total-minutes'), '34.0');
    assert.equal(totalOf(first.text, 'total-retail-USD'), `${sums.get('USD')!.toFixed(2)} USD`);
    assert.equal(sums.get('USD')!.toString(), '0.43');
    assert.equal(totalOf(first.text, 'total-retail-EUR'), '1.50 EUR');
    assert.ok(!first.text.includes('9.99'), "the payer's charge of a received call is never the subscriber's total");

    const csv = await subscriberA.get(`/me/calls.csv?${filter}`);
    assert.equal(csv.status, 200);
    assert.match(String(csv.headers['content-disposition']), new RegExp(`calls-${subA.account_number}-2026-11-17-to-2026-11-17\\.csv`));
    const records = parse(csv.text, { columns: true }) as Array<Record<string, string>>;
    assert.deepEqual(records.map((r) => Number(r.leg_id)), rows.map((r) => r.id), 'the same rows in the same order');
    const csvUsd = records.filter((r) => r.retail_billed_currency === 'USD').reduce((a, r) => a.plus(r.retail_billed_total as string), new Decimal(0));
    assert.equal(csvUsd.toFixed(2), '0.43');
    // A narrower filter: the CSV narrows with it, sorted as asked.
    const narrow = parse((await subscriberA.get(`/me/calls.csv?${filter}&q=${encodeURIComponent('+33 1 23 45 67 89')}&sort=start`)).text, { columns: true }) as Array<Record<string, string>>;
    assert.equal(narrow.length, 1);
    assert.equal(narrow[0]!.retail_billed_total, '0.0066000000');

    // Staff's totals of the same subscriber's calls: the same figures, from its page.
    const staff = await supportA.get(`/reseller/subscribers/${subA.id}/calls?${filter}`);
    assert.equal(totalOf(staff.text, 'total-calls'), '35');
    assert.equal(totalOf(staff.text, 'total-retail-USD'), '0.43 USD');
  });

  test('staff open the subscriber\'s views from its page, read only; another tenant\'s subscriber is not found', async () => {
    const leg = await legA({ startAt: new Date('2026-11-18T15:00:00Z'), amount: '0.25' });
    const show = await adminA.get(`/reseller/subscribers/${subA.id}`);
    for (const v of ['calls', 'rates', 'numbers']) assert.match(show.text, new RegExp(`href="/reseller/subscribers/${subA.id}/${v}"`), v);
    assert.match(show.text, new RegExp(`href="/reseller/calls\\?subscriber=${subA.id}"`));
    for (const who of [adminA, supportA]) {
      const page = await who.get(`/reseller/subscribers/${subA.id}/calls?from=2026-11-18&to=2026-11-18`);
      assert.equal(page.status, 200);
      assert.deepEqual(idsOf(page.text), [leg.id]);
      assert.match(page.text, new RegExp(`href="/reseller/calls/${leg.id}"`), 'a row opens the staff call page');
      assert.match(page.text, /0\.25 USD/);
      assert.doesNotMatch(page.text, /method="post"[^>]*action="\/reseller/, 'no forms that write');
    }
    for (const v of ['calls', 'calls.csv', 'rates', 'numbers']) {
      assert.equal((await adminB.get(`/reseller/subscribers/${subA.id}/${v}`)).status, 404, `b's admin, ${v}`);
      assert.equal((await wholesaleSupport.get(`/wholesale/resellers/${resB.id}/subscribers/${subA.id}/${v}`)).status, 404, `wrong reseller in the path, ${v}`);
      assert.equal((await wholesaleSupport.get(`/wholesale/resellers/${resA.id}/subscribers/${subA.id}/${v}`)).status, 200, `operator support, ${v}`);
    }
    const ops = await wholesaleSupport.get(`/wholesale/resellers/${resA.id}/subscribers/${subA.id}`);
    assert.match(ops.text, new RegExp(`href="/wholesale/resellers/${resA.id}/subscribers/${subA.id}/calls"`));
    const opsCalls = await wholesaleSupport.get(`/wholesale/resellers/${resA.id}/subscribers/${subA.id}/calls?from=2026-11-18&to=2026-11-18`);
    assert.match(opsCalls.text, new RegExp(`href="/wholesale/calls/${leg.id}"`));
    // The reseller's page on the operator's side links to its subscribers, calls and plan.
    const reseller = await wholesaleSupport.get(`/wholesale/resellers/${resA.id}`);
    assert.match(reseller.text, new RegExp(`href="/wholesale/calls\\?reseller=${resA.id}"`));
    assert.match(reseller.text, new RegExp(`href="/wholesale/resellers/${resA.id}/subscribers"`));
  });

  test('calls sort by duration, number called and cost, both ways, keyset-paged with ties broken by id; the CSV in the same order', async () => {
    // 32 legs of one day with many equal durations, numbers and costs (ties across page ends), some
    // without a charge, and one received from another account (a subscriber sees no charge of it).
    const s = Date.parse('2026-11-26T15:00:00Z');
    const legs: Array<{ id: number; duration: number; to: string; retail: number; wholesale: number }> = [];
    for (let i = 0; i < 32; i++) {
      const to = `+4420794${String(i % 7).padStart(5, '0')}`;
      const amount = i % 5 === 0 ? undefined : `0.${(i % 4) + 1}0`;
      const leg = await legA({ startAt: new Date(s + i * 1000), called: to, amount });
      await t.db('call_legs').where({ id: leg.id }).update({ billable_seconds: (i % 6) * 30 });
      const wholesale = i % 3 === 0 ? undefined : `0.0${(i % 5) + 1}`;
      if (wholesale) await makeCharge(t.db, leg, { kind: 'wholesale', resellerId: resA.id, subscriberId: subA.id, ratePlanId: retailA.id, amount: wholesale });
      legs.push({ id: leg.id, duration: (i % 6) * 30, to, retail: amount ? Number(amount) : -1, wholesale: wholesale ? Number(wholesale) : -1 });
    }
    const received = await makeCallLeg(t.db, { platformId: platform.id, resellerId: resA.id, subscriberId: subA2.id, calling: numA2, called: numA, startAt: new Date(s + 40_000), direction: 'outbound', calleeResellerId: resA.id, calleeSubscriberId: subA.id });
    await makeCharge(t.db, received, { kind: 'retail', resellerId: resA.id, subscriberId: subA2.id, ratePlanId: retailA.id, amount: '9.00' });
    const day = 'from=2026-11-26&to=2026-11-26';

    /** Every row of the list in one order, page by page; the CSV's leg ids beside them. */
    async function walk(c: Client, path: string, qs: string): Promise<{ ids: number[]; csv: number[] }> {
      const ids: number[] = [];
      let url: string | undefined = `${path}?${qs}`;
      for (let guard = 0; url && guard < 10; guard++) {
        const page = await c.get(url);
        assert.equal(page.status, 200, url);
        ids.push(...idsOf(page.text));
        url = nextOf(page.text, url);
      }
      const csv = parse((await c.get(`${path}.csv?${qs}`)).text, { columns: true }) as Array<Record<string, string>>;
      return { ids, csv: csv.map((r) => Number(r.leg_id)) };
    }
    type Row = (typeof legs)[number];
    const expected = (rows: Row[], key: (r: Row) => number | string, dir: 'asc' | 'desc') => {
      const sign = dir === 'asc' ? 1 : -1;
      return [...rows].sort((a, b) => {
        const x = key(a);
        const y = key(b);
        return sign * (x < y ? -1 : x > y ? 1 : a.id - b.id);
      }).map((r) => r.id);
    };
    // The subscriber: its own legs and the received one (no charge of its own: below every cost).
    const mine = [...legs, { id: received.id, duration: 60, to: numA, retail: -1, wholesale: -1 }];
    const dur = await t.db('call_legs').where({ id: received.id }).first('billable_seconds');
    mine[mine.length - 1]!.duration = Number(dur.billable_seconds);
    for (const [sort, key] of [['duration', (r: Row) => r.duration], ['to', (r: Row) => r.to], ['retail', (r: Row) => r.retail]] as const) {
      for (const dir of ['asc', 'desc'] as const) {
        const qs = `${day}&sort=${dir === 'desc' ? '-' : ''}${sort}`;
        const got = await walk(subscriberA, '/me/calls', qs);
        assert.deepEqual(got.ids, expected(mine, key, dir), `${qs}: the pages in order, every leg once`);
        assert.deepEqual(got.csv, got.ids, `${qs}: the CSV in the same order`);
      }
    }
    // A subscriber never orders by the wholesale charge: the default order (newest first) instead.
    const fallback = await walk(subscriberA, '/me/calls', `${day}&sort=-wholesale`);
    assert.deepEqual(fallback.ids, (await walk(subscriberA, '/me/calls', day)).ids);
    // Staff sort by either charge; the reseller's list holds the same legs (the received one is its own subscriber's, paid).
    const staffRows = [...legs, { id: received.id, duration: mine[mine.length - 1]!.duration, to: numA, retail: 9, wholesale: -1 }];
    for (const [sort, key] of [['wholesale', (r: Row) => r.wholesale], ['retail', (r: Row) => r.retail]] as const) {
      for (const dir of ['asc', 'desc'] as const) {
        const qs = `${day}&sort=${dir === 'desc' ? '-' : ''}${sort}`;
        const got = await walk(adminA, '/reseller/calls', qs);
        assert.deepEqual(got.ids, expected(staffRows, key, dir), `${qs} (reseller)`);
        assert.deepEqual(got.csv, got.ids, `${qs} (reseller): the CSV in the same order`);
      }
    }
    // The headers link to the sorts, and the sorted one says which way.
    const page = await adminA.get(`/reseller/calls?${day}&sort=-duration`);
    for (const k of ['start', 'to', 'duration', 'wholesale', 'retail']) assert.match(page.text, new RegExp(`data-testid="sort-${k}"`));
    assert.match(page.text, /aria-sort="descending"><a href="[^"]*sort=duration[^"]*" class="sort" data-testid="sort-duration"/);
    // A cursor of one order is refused by another.
    const first = await adminA.get(`/reseller/calls?${day}&sort=-duration`);
    const cursor = /[?&]cursor=([^&"]+)/.exec(/<a href="([^"]+)" rel="next">/.exec(first.text)?.[1]?.replace(/&amp;/g, '&') ?? '')?.[1];
    assert.ok(cursor);
    assert.equal((await adminA.get(`/reseller/calls?${day}&sort=to&cursor=${cursor}`)).status, 400);
  });

  test("staff's CSV holds exactly the rows of its filtered list (subscriber, answered, sorted oldest first)", async () => {
    const s = Date.parse('2026-11-19T15:00:00Z');
    for (let i = 0; i < 30; i++) await legA({ startAt: new Date(s + i * 1000), answered: i % 3 !== 0, sub: i % 2 ? subA : subA2, calling: i % 2 ? numA : numA2 });
    const filter = `from=2026-11-19&to=2026-11-19&subscriber=${subA.id}&answered=yes&sort=start`;
    const ids: number[] = [];
    let url: string | undefined = `/reseller/calls?${filter}`;
    while (url) {
      const page = await supportA.get(url);
      ids.push(...idsOf(page.text));
      url = nextOf(page.text, url);
    }
    assert.equal(ids.length, 10);
    const csv = parse((await supportA.get(`/reseller/calls.csv?${filter}`)).text, { columns: true }) as Array<Record<string, string>>;
    assert.deepEqual(csv.map((r) => Number(r.leg_id)), ids);
    assert.ok(csv.every((r) => r.subscriber_account === subA.account_number && r.disposition === 'answered'));
  });

  test('the account page has the tabs of the subscriber\'s views', async () => {
    const home = await subscriberA.get('/me');
    for (const v of ['/me/calls', '/me/rates', '/me/numbers']) assert.match(home.text, new RegExp(`data-testid="subscriber-tabs"[\\s\\S]*href="${v}"`), v);
  });

  test('the numbers page lists numbers, extensions and SIP identities', async () => {
    const page = await subscriberA.get('/me/numbers');
    assert.equal(page.status, 200);
    assert.match(page.text, /data-number="\+14155550100"/);
    assert.match(page.text, /1001@a\.pbx\.example/);
    assert.match(page.text, /Front desk/);
    assert.ok(!page.text.includes(numA2), "another account's number");
    const staff = await supportA.get(`/reseller/subscribers/${subA.id}/numbers`);
    assert.match(staff.text, /data-number="\+14155550100"/);
  });

  describe('rates', () => {
    const prefixes = (html: string) => [...new Set([...html.matchAll(/data-prefix="(\d+)"/g)].map((m) => m[1] as string))];

    test('search by destination name, with the plan\'s currency and time bands', async () => {
      const page = await subscriberA.get('/me/rates?q=kingdom');
      assert.equal(page.status, 200);
      assert.deepEqual(prefixes(page.text), ['44', '4420', '447']);
      assert.match(page.text, /data-testid="rates-matched"><strong>3</);
      assert.match(page.text, /data-testid="plan-currency">USD</);
      assert.match(page.text, /data-testid="plan-zone">Europe\/London</);
      assert.match(page.text, /Mon, Tue, Wed, Thu, Fri<\/td><td data-label="From">08:00<\/td><td data-label="Band">peak/);
      assert.match(page.text, /0\.20 per min, billed per 30 s; after 30 s: 0\.15 per min, billed per 6 s/);
    });

    test('search by number: the longest prefix in force now, national numbers by the subscriber\'s country', async () => {
      const london = await subscriberA.get(`/me/rates?q=${encodeURIComponent('011 44 20 7946 0000')}`);
      assert.deepEqual(prefixes(london.text), ['4420']);
      const mobile = await subscriberA.get(`/me/rates?q=${encodeURIComponent('+44 7700 900123')}`);
      assert.deepEqual(prefixes(mobile.text), ['447']);
      // France: the version in force now (0.07), neither the old one nor the one of 2099.
      const france = await subscriberA.get(`/me/rates?q=${encodeURIComponent('+33 1 23 45 67 89')}`);
      assert.deepEqual(prefixes(france.text), ['33']);
      assert.match(france.text, /0\.07 per min/);
      assert.doesNotMatch(france.text, /0\.09 per min|0\.01 per min/);
      const none = await subscriberA.get(`/me/rates?q=${encodeURIComponent('+49 30 123456')}`);
      assert.deepEqual(prefixes(none.text), []);
      assert.match(none.text, /No rate prices \+4930123456/);
      const inbound = await subscriberA.get(`/me/rates?direction=inbound&q=${encodeURIComponent('1-800-555-0100')}`);
      assert.deepEqual(prefixes(inbound.text), ['1800']);
      const bad = await subscriberA.get(`/me/rates?q=${encodeURIComponent('0')}`);
      assert.match(bad.text, /data-testid="q-error"/);
      assert.deepEqual(prefixes(bad.text), []);
    });

    test('paged by prefix, without duplicates; staff see the same rates', async () => {
      const seen: string[] = [];
      let url: string | undefined = '/me/rates';
      let pages = 0;
      while (url) {
        const page = await subscriberA.get(url);
        seen.push(...prefixes(page.text));
        url = nextOf(page.text, url);
        pages++;
      }
      assert.equal(pages, 3);
      assert.equal(seen.length, 124, '120 zones, France and three UK prefixes (the inbound rate is on its own list)');
      assert.equal(new Set(seen).size, seen.length);
      assert.deepEqual(seen, [...seen].sort());
      const staff = await supportA.get(`/reseller/subscribers/${subA.id}/rates?q=france`);
      assert.deepEqual(prefixes(staff.text), ['33']);
      const ops = await wholesaleSupport.get(`/wholesale/resellers/${resA.id}/subscribers/${subA.id}/rates?q=france`);
      assert.deepEqual(prefixes(ops.text), ['33']);
    });

    test('no plan: the page says why', async () => {
      const c = await Client.login(t.app, (await makeUser(t.db, 'subscriber', { resellerId: resB.id, subscriberId: subB.id })).email);
      const page = await c.get('/me/rates');
      assert.match(page.text, /data-testid="no-plan"/);
    });
  });
});
