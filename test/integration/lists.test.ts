/**
 * Every portal list, one way (src/db/list.ts, src/web/lists.ts, views/partials/list.ejs): the
 * number of rows matched, sortable columns, paging that follows the sort, and a CSV of exactly the
 * rows and cells the page shows. Driven by a table of list URLs: a list added to LISTS is held to
 * all of it, in every order its headers offer, both directions.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import Decimal from 'decimal.js';
import { csvCell } from '../../src/domain/csv-cell';
import { createTestApp, type TestApp } from '../support/app';
import { presetSpec, RECORD_PRESETS } from '../../src/domain/records';
import { makeCdrReject, makeExchangeRate, makeJurisdiction, makeReseller, makeSubscriber, makeTax, makeTenants, makeUser, randomNumber } from '../support/factories';
import { Client } from '../support/http';

const PAGE = 25;

function decode(s: string): string {
  return s
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&#34;/g, '"').replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

const attr = (s: string) => s.replace(/&amp;/g, '&').replace(/&#34;/g, '"').replace(/&quot;/g, '"');

interface Shown {
  count: number;
  headers: string[];
  rows: string[][];
  csvHref?: string;
  next?: string;
  /** The sort links of the headers, as the page writes them. */
  sortLinks: string[];
  sorted?: { label: string; dir: string };
}

/** The list as a person sees it: the count line, the table's headers and cells (without row actions), the links. */
function readList(html: string): Shown {
  const count = /data-testid="list-count"><strong>(\d+)<\/strong>/.exec(html);
  assert.ok(count, 'the page states how many rows match');
  const table = /<table class="grid" data-list="[^"]*">([\s\S]*?)<\/table>/.exec(html)?.[1] ?? '';
  const head = /<thead>([\s\S]*?)<\/thead>/.exec(table)?.[1] ?? '';
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(table)?.[1] ?? '';
  const ths = [...head.matchAll(/<th([^>]*)>([\s\S]*?)<\/th>/g)].filter((m) => !(m[1] as string).includes('data-list-extra'));
  const rows = [...body.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((tr) =>
    [...(tr[1] as string).matchAll(/<td([^>]*)>([\s\S]*?)<\/td>/g)].filter((m) => !(m[1] as string).includes('data-list-extra')).map((m) => decode(m[2] as string)),
  );
  const sortedTh = ths.find((m) => /aria-sort="/.test(m[1] as string));
  return {
    count: Number(count[1]),
    headers: ths.map((m) => decode(m[2] as string)),
    rows,
    csvHref: /href="([^"]+)" data-testid="list-csv"/.exec(html)?.[1]?.replace(/&amp;/g, '&'),
    next: /href="([^"]+)" rel="next"/.exec(html)?.[1]?.replace(/&amp;/g, '&'),
    sortLinks: ths.flatMap((m) => [.../<a class="sort" href="([^"]+)"/.exec(m[2] as string) ?? []].slice(1)).map(attr),
    sorted: sortedTh ? { label: decode(sortedTh[2] as string), dir: /aria-sort="(\w+)"/.exec(sortedTh[1] as string)?.[1] as string } : undefined,
  };
}

function withParams(url: string, params: Record<string, string>): string {
  const u = new URL(url, 'http://x');
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return `${u.pathname}${u.search}`;
}

interface ListCase {
  name: string;
  who: 'wholesale' | 'reseller';
  /** The list's URL (a function of the fixture for lists under a tenant's id). */
  url: string | ((fx: Awaited<ReturnType<typeof makeTenants>>) => string);
  /** The least number of rows the fixture gives it (so that the test is not about empty lists). */
  atLeast: number;
}

describe('portal lists: count, sort, paging and CSV agree with what is shown', () => {
  let t: TestApp;
  let clients: Record<ListCase['who'], Client>;
  let fx: Awaited<ReturnType<typeof makeTenants>>;
  /** The carrier whose received files are listed (more than a page of them). */
  let filesCarrierId = 0;

  before(async () => {
    t = await createTestApp();
    fx = await makeTenants(t.db);
    // More resellers than a page, some inactive, with awkward names (a formula, a comma, a quote).
    for (let i = 0; i < 28; i++) {
      await makeReseller(t.db, { name: i === 0 ? '=cmd|calc' : i === 1 ? 'Smith, "Jones" & Co' : `Reseller ${String(i).padStart(2, '0')}`, status: i % 5 === 0 ? 'inactive' : 'active' });
    }
    const a = fx.a.reseller.id;
    for (let i = 0; i < 27; i++) await makeSubscriber(t.db, a, { status: i % 4 === 0 ? 'inactive' : 'active' }, i % 3 === 0 ? [randomNumber()] : []);
    for (let i = 0; i < 3; i++) await makeUser(t.db, 'reseller_support', { resellerId: a });
    for (let i = 0; i < 3; i++) await makeUser(t.db, 'wholesale_support');
    const j = await makeJurisdiction(t.db);
    const whole = await makeJurisdiction(t.db, { country: 'CA', region: null });
    for (const [i, rate] of ['5', '12.5', '0.75'].entries()) {
      await makeTax(t.db, null, i === 1 ? whole.id : j.id, { rate, priority: i + 1 });
      await makeTax(t.db, a, j.id, { rate, priority: 3 - i, ...(i === 2 ? { basis: 'fixed', effective_from: '2030-01-01T00:00:00Z' } : {}) });
    }
    for (const name of ['zeta-pbx', 'alpha-pbx']) await t.db('platforms').insert({ name, format: 'generic-csv', credential_hash: '1'.repeat(64), active: name === 'zeta-pbx', trunk_carriers: JSON.stringify(name === 'zeta-pbx' ? { 'gw-1': 'Zeta LD', 'gw-2': 'Zeta LD', 'gw-3': '=cmd|calc' } : {}) });
    // LD carriers with awkward names, one inactive, one without a deck, some with trunks and a time due.
    for (const [i, name] of ['=cmd|calc', 'Smith, "Jones" LD', 'Zeta LD', 'Alpha LD'].entries()) {
      await t.db('carriers').insert({
        name, currency: i === 1 ? 'EUR' : 'USD', cost_plan_id: i === 3 ? null : fx.operatorPlan.id, active: i !== 1, credential_hash: i === 2 ? null : `${i}`.repeat(64),
        credential_rotated_at: i === 2 ? null : new Date(Date.UTC(2026, 0, i + 1)), file_due_at: i % 2 ? '06:30' : null, data_format: i === 3 ? 'didww-cdr-out' : 'carrier-generic-csv',
      });
    }
    // Files Zeta LD sent: more than a page, posted and uploaded, some refused, with awkward names.
    filesCarrierId = Number((await t.db('carriers').where({ name: 'Zeta LD' }).first('id')).id);
    for (let i = 0; i < 30; i++) {
      const body = Buffer.from(`record_id,called\n${i}\n`.repeat(1 + (i % 4)));
      await t.db('carrier_files').insert({
        carrier_id: filesCarrierId, format: 'carrier-generic-csv', via: i % 3 ? 'post' : 'upload', filename: i % 5 ? `=cmd|calc ${i}.csv` : null, body, byte_size: body.length,
        sha256: crypto.createHash('sha256').update(body).digest('hex'), status: i % 7 ? 'stored' : 'refused', error: i % 7 ? null : 'line 1: "no header", sure', records: (i * 37) % 11, duplicates: i % 3, bad_rows: i % 4, skipped: i % 2,
        received_at: new Date(Date.UTC(2026, 10, 1 + (i % 9), i)), source_ip: i % 3 ? '192.0.2.7' : null,
      });
    }
    await makeExchangeRate(t.db, 'EUR', 'USD', '1.0800000000', '2026-01-01T00:00:00Z');
    await makeExchangeRate(t.db, 'GBP', 'USD', '1.2700000000', '2026-02-01T00:00:00Z');
    for (let i = 0; i < 3; i++) await makeCdrReject(t.db, { platformId: fx.platform.id });
    // Record specifications of reseller a, one retired, with awkward names.
    const specIds: number[] = [];
    for (const [i, name] of ['=cmd|calc', 'Daily, "plain"', 'Zeta'].entries()) {
      const spec = presetSpec(RECORD_PRESETS[i]!);
      const [row] = await t.db('record_specifications').insert({ reseller_id: a, name, spec: JSON.stringify(spec), period: i === 1 ? 'hourly' : 'daily', ...(i === 2 ? { active: false, retired_at: new Date() } : {}) }).returning('id');
      specIds.push(Number((row as { id: number }).id));
    }
    // Closed record files of those specs (more than a page), totals in two currencies, some with
    // corrections and negative differences; the list reads them as the closing leaves them.
    for (let i = 0; i < 29; i++) {
      const bytes = Buffer.from(`leg_id\n${i}\n`);
      const start = Date.parse('2026-11-01T05:00:00Z') + i * 3_600_000 * (i % 3 === 1 ? 1 : 24);
      const totals = i % 4 === 3 ? { wholesale: { EUR: `${i}.1250000000`, USD: '-0.5000000000' }, retail: { EUR: `${2 * i}.5000000000` } } : { wholesale: { USD: `${i % 7}.0100000000` }, retail: { USD: `${i % 5}.2000000000` } };
      await t.db('record_files').insert({
        reseller_id: a, spec_id: specIds[i % 3], period_start: new Date(start), period_end: new Date(start + 3_600_000), status: 'closed', chunks: 0, records: (i * 7) % 11,
        corrections: i % 4 === 3 ? 1 : 0, totals: JSON.stringify(totals), byte_size: bytes.length + (i % 5), sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
        number: i + 1, filename: `file-${String(i).padStart(2, '0')}.csv`, closed_at: new Date(start + 3_900_000 + (i % 6) * 60_000),
      });
    }
    for (const [resellerId, status] of [[a, 'done'], [a, 'failed'], [null, 'queued']] as const) {
      await t.db('jobs').insert({ reseller_id: resellerId, kind: 'lists-test', title: `Re-rating ${status}`, total: 2, done: 1, status, return_to: '/', result: JSON.stringify({ message: 'Done.' }) });
    }
    // The feature catalogue, feature packages (the operator's, offered to A, and A's built on them)
    // and toll packages with destination groups (both owners): fees in two currencies, some retired.
    const features = [];
    for (let i = 0; i < 6; i++) features.push((await t.db('features').insert({ code: `F${i}x`, name: i === 2 ? 'Smith, "Jones"' : `Feature ${i}`, retired_at: i === 4 ? new Date() : null }).returning('*'))[0] as { id: number });
    const opFeature = [];
    for (let i = 0; i < 4; i++) {
      const [p] = await t.db('feature_packages').insert({ name: `Op features ${i}`, currency: i % 2 ? 'EUR' : 'USD', setup_fee: `${i}.5`, monthly_fee: `${10 - i}`, retired_at: i === 3 ? new Date() : null }).returning('*');
      await t.db('feature_package_features').insert(features.slice(0, i + 1).map((f) => ({ package_id: p.id, feature_id: f.id })));
      await t.db('feature_package_offers').insert({ package_id: p.id, reseller_id: a });
      opFeature.push(p as { id: number });
    }
    for (let i = 0; i < 3; i++) {
      const [p] = await t.db('feature_packages').insert({ reseller_id: a, base_package_id: opFeature[i]!.id, name: `Own features ${i}`, currency: i === 1 ? 'EUR' : 'USD', setup_fee: '2', monthly_fee: `${12 + i}.25` }).returning('*');
      await t.db('feature_package_features').insert({ package_id: p.id, feature_id: features[0]!.id });
    }
    for (const [owner, names] of [[null, ['US and Canada', 'UK', 'Mobiles']], [a, ['Own group 1', 'Own group 2']]] as const) {
      const groups = [];
      for (const [i, name] of names.entries()) {
        const [g] = await t.db('destination_groups').insert({ reseller_id: owner, name, description: i === 0 ? 'first, "quoted"' : '' }).returning('*');
        await t.db('destination_group_prefixes').insert(Array.from({ length: i + 1 }, (_, k) => ({ group_id: g.id, prefix: `${owner === null ? 4 : 3}${i}${k}` })));
        groups.push(g as { id: number });
      }
      for (let i = 0; i < 3; i++) {
        const [p] = await t.db('toll_packages').insert({ reseller_id: owner, name: `Toll ${owner === null ? 'op' : 'own'} ${i}`, currency: i === 2 ? 'EUR' : 'USD', setup_fee: `${i}`, monthly_fee: `${5 + i}.75`, retired_at: i === 1 ? new Date() : null }).returning('*');
        await t.db('toll_package_groups').insert({ package_id: p.id, group_id: groups[i % groups.length]!.id, included_seconds: i === 0 ? null : 600 * (i + 1), overage_rate: i === 2 ? '0.0250' : null });
      }
    }
    // Changes made through the portal, so that the audit log has rows (with fields before and after).
    const operator = await Client.login(t.app, fx.wholesaleAdmin.email);
    for (const r of [fx.a.reseller, fx.b.reseller]) {
      assert.equal((await operator.submit(`/wholesale/resellers/${r.id}`, { name: `${r.name} renamed`, code: r.code, currency: 'USD', notes: 'a note, "quoted"' }, `/wholesale/resellers/${r.id}/edit`)).status, 303);
    }
    assert.equal((await operator.submit(`/wholesale/resellers/${a}/deactivate`, { confirm: 'yes' }, `/wholesale/resellers/${a}`)).status, 303);
    assert.equal((await operator.submit(`/wholesale/resellers/${a}/activate`, {}, `/wholesale/resellers/${a}`)).status, 303);
    clients = {
      wholesale: await Client.login(t.app, fx.wholesaleAdmin.email),
      reseller: await Client.login(t.app, fx.a.admin.email),
    };
  });
  after(() => t.close());

  const LISTS: ListCase[] = [
    { name: 'resellers', who: 'wholesale', url: '/wholesale/resellers', atLeast: 30 },
    { name: 'resellers, filtered', who: 'wholesale', url: '/wholesale/resellers?status=inactive&q=Reseller', atLeast: 4 },
    { name: 'subscribers (wholesale, of one reseller)', who: 'wholesale', url: (f) => `/wholesale/resellers/${f.a.reseller.id}/subscribers`, atLeast: 28 },
    { name: 'subscribers (reseller)', who: 'reseller', url: '/reseller/subscribers', atLeast: 28 },
    { name: 'users (wholesale)', who: 'wholesale', url: '/wholesale/users', atLeast: 5 },
    { name: 'users (reseller)', who: 'reseller', url: '/reseller/users', atLeast: 5 },
    { name: 'users (wholesale, of one reseller)', who: 'wholesale', url: (f) => `/wholesale/resellers/${f.a.reseller.id}/users`, atLeast: 5 },
    { name: 'jobs (wholesale)', who: 'wholesale', url: '/wholesale/jobs', atLeast: 3 },
    { name: 'jobs (reseller)', who: 'reseller', url: '/reseller/jobs', atLeast: 2 },
    { name: 'audit log (wholesale)', who: 'wholesale', url: '/wholesale/audit', atLeast: 3 },
    { name: 'audit log (reseller)', who: 'reseller', url: '/reseller/audit', atLeast: 2 },
    { name: 'platforms', who: 'wholesale', url: '/wholesale/platforms', atLeast: 3 },
    { name: 'LD carriers', who: 'wholesale', url: '/wholesale/carriers', atLeast: 4 },
    { name: 'LD carriers, filtered', who: 'wholesale', url: '/wholesale/carriers?status=active&q=ld', atLeast: 2 },
    { name: 'an LD carrier\'s files received', who: 'wholesale', url: () => `/wholesale/carriers/${filesCarrierId}/files`, atLeast: 30 },
    { name: 'an LD carrier\'s files received, refused', who: 'wholesale', url: () => `/wholesale/carriers/${filesCarrierId}/files?status=refused`, atLeast: 5 },
    { name: 'taxes (wholesale)', who: 'wholesale', url: '/wholesale/taxes', atLeast: 3 },
    { name: 'taxes (reseller)', who: 'reseller', url: '/reseller/taxes', atLeast: 3 },
    { name: 'tax jurisdictions', who: 'wholesale', url: '/wholesale/tax-jurisdictions', atLeast: 2 },
    { name: 'exchange rates', who: 'wholesale', url: '/wholesale/exchange-rates', atLeast: 2 },
    { name: 'number ranges (wholesale)', who: 'wholesale', url: (f) => `/wholesale/resellers/${f.a.reseller.id}/number-ranges`, atLeast: 10 },
    { name: 'number ranges (reseller)', who: 'reseller', url: '/reseller/number-ranges', atLeast: 10 },
    { name: 'rejects', who: 'wholesale', url: '/wholesale/rejects', atLeast: 3 },
    { name: 'record specifications (reseller)', who: 'reseller', url: '/reseller/record-specs', atLeast: 3 },
    { name: 'record specifications (wholesale, of one reseller)', who: 'wholesale', url: (f) => `/wholesale/resellers/${f.a.reseller.id}/record-specs`, atLeast: 3 },
    { name: 'record files (reseller)', who: 'reseller', url: '/reseller/record-files', atLeast: 29 },
    { name: 'record files (wholesale, of one reseller)', who: 'wholesale', url: (f) => `/wholesale/resellers/${f.a.reseller.id}/record-files`, atLeast: 29 },
    { name: 'subscribers (reseller), filtered', who: 'reseller', url: '/reseller/subscribers?status=active&q=Subscriber', atLeast: 20 },
    { name: 'features', who: 'wholesale', url: '/wholesale/features', atLeast: 6 },
    { name: 'feature packages (wholesale)', who: 'wholesale', url: '/wholesale/feature-packages', atLeast: 4 },
    { name: 'feature packages (wholesale), filtered', who: 'wholesale', url: '/wholesale/feature-packages?status=active&q=op', atLeast: 3 },
    { name: 'feature packages (reseller)', who: 'reseller', url: '/reseller/feature-packages', atLeast: 3 },
    { name: 'toll packages (wholesale)', who: 'wholesale', url: '/wholesale/toll-packages', atLeast: 3 },
    { name: 'toll packages (reseller)', who: 'reseller', url: '/reseller/toll-packages', atLeast: 3 },
    { name: 'toll packages (reseller), filtered', who: 'reseller', url: '/reseller/toll-packages?status=active', atLeast: 2 },
    { name: 'destination groups (wholesale)', who: 'wholesale', url: '/wholesale/destination-groups', atLeast: 3 },
    { name: 'destination groups (reseller)', who: 'reseller', url: '/reseller/destination-groups', atLeast: 5 },
  ];

  /** The page at url; its links (which may be only a query) made whole against it. */
  async function page(c: Client, url: string): Promise<Shown> {
    const res = await c.get(url);
    assert.equal(res.status, 200, `${url}: ${res.status}`);
    const shown = readList(res.text);
    const whole = (href: string) => {
      const u = new URL(href, `http://x${url}`);
      return `${u.pathname}${u.search}`;
    };
    return { ...shown, next: shown.next && whole(shown.next), csvHref: shown.csvHref && whole(shown.csvHref), sortLinks: shown.sortLinks.map(whole) };
  }

  /** Every row of the list in one order, page after page by its next links. */
  async function walk(c: Client, url: string): Promise<{ first: Shown; rows: string[][] }> {
    const first = await page(c, url);
    const rows = [...first.rows];
    let next = first.next;
    for (let guard = 0; next && guard < 100; guard++) {
      const p = await page(c, next);
      assert.equal(p.count, first.count, `${next}: the count is the filter's on every page`);
      assert.ok(p.rows.length <= PAGE);
      rows.push(...p.rows);
      next = p.next;
    }
    return { first, rows };
  }

  async function csvOf(c: Client, shown: Shown, url: string): Promise<{ headers: string[]; rows: string[][] }> {
    assert.ok(shown.csvHref, `${url}: a CSV link`);
    const res = await c.get(shown.csvHref);
    assert.equal(res.status, 200, `${shown.csvHref}: ${res.status}`);
    assert.match(String(res.headers['content-type']), /text\/csv/);
    const [headers, ...rows] = parse(res.text, { relax_column_count: false }) as string[][];
    return { headers: headers ?? [], rows: rows.map((r) => r.map((v) => v.replace(/\s+/g, ' ').trim())) };
  }

  /** What the CSV must hold for a cell shown as `text`: the same text, neutralised as every CSV cell is. */
  const asCsv = (rows: string[][]) => rows.map((r) => r.map((v) => csvCell(v)));

  for (const list of LISTS) {
    test(`${list.name}: every order, both directions: pages and CSV hold the same rows`, async () => {
      const c = clients[list.who];
      const url = typeof list.url === 'string' ? list.url : list.url(fx);
      const first = await walk(c, url);
      assert.ok(first.first.count >= list.atLeast, `${url}: ${first.first.count} rows, expected at least ${list.atLeast}`);
      assert.equal(first.rows.length, first.first.count, `${url}: the pages hold as many rows as the count says`);
      assert.ok(first.first.sortLinks.length >= 2, `${url}: at least two sortable columns`);
      const orders = [url, ...first.first.sortLinks.flatMap((href) => [withParams(href, { dir: 'asc' }), withParams(href, { dir: 'desc' })])];
      for (const order of orders) {
        const { first: shown, rows } = await walk(c, order);
        assert.equal(rows.length, shown.count, `${order}: count`);
        const csv = await csvOf(c, shown, order);
        assert.deepEqual(csv.headers, shown.headers, `${order}: the CSV has the table's columns`);
        assert.deepEqual(csv.rows, asCsv(rows), `${order}: the CSV holds the shown rows, in the shown order`);
        const sort = new URL(order, 'http://x').searchParams.get('sort');
        if (sort) assert.ok(shown.sorted, `${order}: the sorted column is marked`);
      }
      // Ascending and descending by the same column are each other's reverse wherever keys differ:
      // check the first sortable column whose values are all different.
      for (const href of first.first.sortLinks) {
        const asc = (await walk(c, withParams(href, { dir: 'asc' }))).rows;
        const desc = (await walk(c, withParams(href, { dir: 'desc' }))).rows;
        assert.deepEqual(new Set(asc.map((r) => r.join('|'))), new Set(desc.map((r) => r.join('|'))), `${href}: the same rows either way`);
      }
    });
  }

  test('a sort not on the whitelist falls back to the default order; a cursor from another order is refused', async () => {
    const c = clients.wholesale;
    const plain = await page(c, '/wholesale/resellers');
    const odd = await page(c, '/wholesale/resellers?sort=password_hash&dir=sideways');
    assert.deepEqual(odd.rows, plain.rows);
    assert.ok(plain.next);
    const cursor = new URL(plain.next, 'http://x').searchParams.get('cursor') as string;
    const res = await c.get(`/wholesale/resellers?sort=code&dir=desc&cursor=${encodeURIComponent(cursor)}`);
    assert.equal(res.status, 400);
  });

  test('package lists sort by their fees both ways, count the filter\'s rows and total the fees per currency', async () => {
    const c = clients.wholesale;
    const totals = (html: string) => [...html.matchAll(/data-testid="list-total">([^<]*)</g)].map((m) => m[1] as string);
    const money = (d: Decimal) => d.toFixed(Math.max(2, d.decimalPlaces()));
    /** The expected fee lines of rows: each fee summed per currency, currencies in order. */
    const feeLines = (rows: Array<{ currency: string; setup_fee: string; monthly_fee: string }>) =>
      (['setup_fee', 'monthly_fee'] as const).map((k) => {
        const sums = new Map<string, Decimal>();
        for (const r of rows) sums.set(r.currency.trim(), (sums.get(r.currency.trim()) ?? new Decimal(0)).plus(r[k]));
        return `${k === 'setup_fee' ? 'Setup fees' : 'Monthly fees'}: ${[...sums.keys()].sort().map((cur) => `${money(sums.get(cur) as Decimal)} ${cur}`).join(', ')}`;
      });
    // The operator's feature packages in use: by monthly fee, both ways, as the fees compare (numbers, not text: 10 after 9).
    const active = await t.db('feature_packages').whereNull('reseller_id').whereNull('retired_at').select('*');
    const byMonthly = [...active].sort((x, y) => new Decimal(x.monthly_fee).comparedTo(y.monthly_fee) || x.id - y.id).map((p) => p.name as string);
    for (const dir of ['asc', 'desc'] as const) {
      const url = `/wholesale/feature-packages?status=active&sort=monthly&dir=${dir}`;
      const shown = await page(c, url);
      assert.equal(shown.count, active.length, `${url}: the filter's count`);
      assert.deepEqual(shown.rows.map((r) => r[0]), dir === 'asc' ? byMonthly : [...byMonthly].reverse(), `${url}: by monthly fee`);
      const html = (await c.get(url)).text;
      const subs = totals(html)[0];
      assert.match(subs ?? '', /^\d+ subscribers? now$/);
      assert.deepEqual(totals(html).slice(1), feeLines(active), `${url}: fees per currency, of the filter's rows only`);
    }
    assert.ok(new Set(active.map((p) => p.currency.trim())).size > 1, 'the fixture has fees in two currencies');
    // A reseller's toll packages: the filter's totals, and by setup fee descending.
    const own = await t.db('toll_packages').where({ reseller_id: fx.a.reseller.id }).select('*');
    const html = (await clients.reseller.get('/reseller/toll-packages?sort=setup&dir=desc')).text;
    assert.deepEqual(totals(html).slice(2), feeLines(own));
    const shown = readList(html);
    assert.equal(shown.count, own.length);
    assert.deepEqual(shown.rows.map((r) => r[0]), [...own].sort((x, y) => new Decimal(y.setup_fee).comparedTo(x.setup_fee) || y.id - x.id).map((p) => p.name));
    // The features catalogue: in use and retired, of the filter.
    const feats = await t.db('features').select('*');
    const f = await c.get('/wholesale/features');
    assert.deepEqual(totals(f.text), [`${feats.filter((x) => !x.retired_at).length} in use`, `${feats.filter((x) => x.retired_at).length} retired`]);
    assert.equal(readList((await c.get('/wholesale/features?status=retired')).text).count, feats.filter((x) => x.retired_at).length);
  });

  test('record files: the totals count every file, sum its records and corrections, and each side\'s totals per currency; times in the viewer\'s zone, named', async () => {
    const files = await t.db('record_files').where({ reseller_id: fx.a.reseller.id, status: 'closed' }).select('*');
    const sums = (side: 'wholesale' | 'retail') => {
      const m = new Map<string, Decimal>();
      for (const f of files) for (const [c, v] of Object.entries((f.totals[side] ?? {}) as Record<string, string>)) m.set(c, (m.get(c) ?? new Decimal(0)).plus(v));
      return [...m.keys()].sort().map((c) => { const d = m.get(c) as Decimal; return `${d.toFixed(Math.max(2, d.decimalPlaces()))} ${c}`; }).join(', ');
    };
    const expected = [
      `Records: ${files.reduce((n, f) => n + Number(f.records), 0)}`, `Corrections: ${files.reduce((n, f) => n + Number(f.corrections), 0)}`,
      `Wholesale: ${sums('wholesale')}`, `Retail: ${sums('retail')}`,
    ];
    assert.match(expected[2] as string, /EUR, .* USD/, 'the fixture has two currencies on a side');
    for (const [c, url] of [[clients.reseller, '/reseller/record-files'], [clients.wholesale, `/wholesale/resellers/${fx.a.reseller.id}/record-files`]] as const) {
      for (const order of [url, `${url}?sort=records&dir=asc`]) {
        const html = (await c.get(order)).text;
        assert.equal(readList(html).count, files.length, `${order}: every closed file counted`);
        assert.deepEqual([...html.matchAll(/data-testid="list-total">([^<]*)</g)].map((m) => decode(m[1] as string)), expected, `${order}: totals of every file, not only the page's`);
        const zone = /data-testid="zone-note">Times in <strong>([^<]+)<\/strong>/.exec(html)?.[1];
        const viewer = /data-testid="time-zone"[^>]*>Times in ([^<(]+?)[ <(]/.exec(html)?.[1];
        assert.ok(zone && zone === viewer, `${order}: the viewer's zone named (${zone}, the header's ${viewer})`);
      }
    }
    // A file of another reseller is on neither of a's lists.
    const other = await clients.wholesale.get(`/wholesale/resellers/${fx.b.reseller.id}/record-files`);
    assert.equal(readList(other.text).count, 0);
  });

  test('LD carriers: totals of the filter (active, trunks mapped, without a deck) and by trunks both ways', async () => {
    const c = clients.wholesale;
    const totals = (html: string) => [...html.matchAll(/data-testid="list-total">([^<]*)</g)].map((m) => m[1] as string);
    const all = await t.db('carriers').select('*');
    const html = (await c.get('/wholesale/carriers')).text;
    // Trunks: zeta-pbx maps two to Zeta LD and one to =cmd|calc.
    assert.deepEqual(totals(html), [`${all.filter((x) => x.active).length} active of ${all.length}`, '3 trunks mapped', `${all.filter((x) => x.cost_plan_id === null).length} without a cost deck`, '0 with today’s file missing']);
    const active = (await c.get('/wholesale/carriers?status=active')).text;
    assert.deepEqual(totals(active), [`${all.filter((x) => x.active).length} active of ${all.filter((x) => x.active).length}`, '3 trunks mapped', '1 without a cost deck', '0 with today’s file missing']);
    for (const dir of ['asc', 'desc'] as const) {
      const shown = readList((await c.get(`/wholesale/carriers?sort=trunks&dir=${dir}`)).text);
      const trunks = shown.rows.map((r) => Number(r[4]));
      assert.deepEqual(trunks, [...trunks].sort((x, y) => (dir === 'asc' ? x - y : y - x)));
      assert.equal(shown.rows[dir === 'asc' ? shown.rows.length - 1 : 0]?.[0], 'Zeta LD');
    }
  });

  test('resellers sort by name both ways, and the totals count the filter\'s subscribers', async () => {
    const c = clients.wholesale;
    const asc = (await walk(c, '/wholesale/resellers?sort=name&dir=asc')).rows.map((r) => r[0] as string);
    const desc = (await walk(c, '/wholesale/resellers?sort=name&dir=desc')).rows.map((r) => r[0] as string);
    assert.deepEqual(desc, [...asc].reverse());
    const lower = asc.map((n) => n.toLowerCase());
    assert.equal(lower[0], '=cmd|calc');
    const res = await c.get(`/wholesale/resellers?q=${encodeURIComponent(fx.a.reseller.code)}`);
    const total = /data-testid="list-total">([^<]*)</.exec(res.text)?.[1];
    const active = await t.db('subscribers').where({ reseller_id: fx.a.reseller.id, status: 'active' }).count<{ n: number }[]>('* as n');
    const all = await t.db('subscribers').where({ reseller_id: fx.a.reseller.id }).count<{ n: number }[]>('* as n');
    assert.equal(total, `Subscribers: ${Number(active[0]?.n)} active of ${Number(all[0]?.n)}`);
  });
});
