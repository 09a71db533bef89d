/**
 * Reports (issue 12): the wholesale and reseller reports against a scenario computed by hand (two
 * resellers in two currencies and zones, taxes on both sides, recurring charges, an unrated and a
 * blocked leg, LD carriers), written through rating and the ledger's writer as the intake does;
 * totals equal to the sums of their rows; the same figures in every table of a report and across
 * the two reports; each CSV parsed back equal to its table on the page; no tenant seeing another's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { Decimal } from '../../src/domain/money/decimal';
import { createTestApp, type TestApp } from '../support/app';
import { buildReportScenario, PERIOD } from '../support/report-scenario';
import { Client } from '../support/http';

const decode = (s: string) =>
  s.replace(/<[^>]*>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&#34;/g, '"').replace(/&amp;/g, '&').replace(/\s+/g, ' ').trim();

interface Shown {
  headers: string[];
  rows: string[][];
  totals: string[][];
  csvHref: string;
}

/** A report page's tables as a person sees them: headers, body rows, total rows, the CSV link. */
function readReport(html: string): Map<string, Shown> {
  const out = new Map<string, Shown>();
  for (const m of html.matchAll(/<section class="card" id="([^"]+)" data-report-table="[^"]+">([\s\S]*?)<\/section>/g)) {
    const body = m[2] as string;
    const part = (tag: string) => /<table class="grid">/.test(body) ? (new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(body)?.[1] ?? '') : '';
    const cells = (s: string) => [...s.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((tr) => [...(tr[1] as string).matchAll(/<t[dh][^>]*>([\s\S]*?)<\/t[dh]>/g)].map((c) => decode(c[1] as string)));
    out.set(m[1] as string, {
      headers: (cells(part('thead'))[0] ?? []),
      rows: cells(part('tbody')),
      totals: cells(part('tfoot')),
      csvHref: (/href="([^"]+)" data-testid="report-csv"/.exec(body)?.[1] ?? '').replace(/&amp;/g, '&'),
    });
  }
  return out;
}

/** The cells of a table by its first column (or a column named), as objects by header. */
function byFirst(t: Shown, col = 0): Map<string, Record<string, string>> {
  return new Map(t.rows.map((r) => [r[col] as string, Object.fromEntries(t.headers.map((h, i) => [h, r[i] as string]))]));
}

function totalOf(t: Shown, label = 'Total'): Record<string, string> {
  const row = t.totals.find((r) => r[0] === label);
  assert.ok(row, `a total row ${label} (${JSON.stringify(t.totals)})`);
  return Object.fromEntries(t.headers.map((h, i) => [h, row[i] as string]));
}

/** Sum of a column over rows (optionally of rows whose `where` column has a value), exact. */
function sumOf(t: Shown, header: string, where?: { header: string; value: string }): string {
  const i = t.headers.indexOf(header);
  assert.ok(i >= 0, `a column ${header} in ${t.headers.join(', ')}`);
  const w = where ? t.headers.indexOf(where.header) : -1;
  return t.rows.filter((r) => !where || r[w] === where.value).reduce((s, r) => s.plus(r[i] || '0'), new Decimal(0)).toString();
}

const same = (a: string | undefined, b: string) => assert.ok(a !== undefined && new Decimal(a).eq(b), `${a} = ${b}`);

describe('reports: wholesale and reseller, against a scenario computed by hand', () => {
  let t: TestApp;
  let operator: Client;
  let operatorSupport: Client;
  let adminA: Client;
  let supportA: Client;
  let adminB: Client;
  let subscriberA: Client;
  let resA: { id: number; name: string; code: string };
  let resB: { id: number; name: string; code: string };
  let subA1: { id: number; name: string; account_number: string };
  let subA2: { id: number; name: string; account_number: string };
  let subB: { id: number; name: string; account_number: string };

  before(async () => {
    t = await createTestApp();
    ({ resA, resB, subA1, subA2, subB, operator, operatorSupport, adminA, supportA, adminB, subscriberA } = await buildReportScenario(t));
  });
  after(() => t.close());

  async function report(c: Client, path: string): Promise<Map<string, Shown>> {
    const res = await c.get(`${path}?${PERIOD}`);
    assert.equal(res.status, 200, res.text.slice(0, 500));
    return readReport(res.text);
  }

  test('the wholesale report: per reseller, day, destination, carrier, reason, tax and recurring charge, as computed by hand', async () => {
    const r = await report(operator, '/wholesale/reports');
    assert.deepEqual([...r.keys()], ['days', 'resellers', 'destinations', 'carriers', 'unrated', 'taxes', 'recurring']);

    const resellers = r.get('resellers')!;
    assert.deepEqual(resellers.headers, ['Reseller', 'Code', 'Calls', 'Answered', 'Seconds', 'Minutes', 'Wholesale revenue EUR', 'Wholesale revenue USD']);
    assert.deepEqual(resellers.rows, [
      ['Alpha Telecom', resA.code, '4', '3', '360', '6.00', '0.00', '0.13'],
      ['Beta Voice', resB.code, '2', '2', '300', '5.00', '0.06', '0.00'],
    ]);
    assert.deepEqual(resellers.totals, [['Total', '', '6', '5', '660', '11.00', '0.06', '0.13']]);

    // Operator's zone (UTC): every call on 10 November; the other days are there with zeros.
    const days = r.get('days')!;
    assert.deepEqual(days.rows.map((x) => x[0]), ['2026-11-09', '2026-11-10', '2026-11-11', '2026-11-12']);
    assert.deepEqual(days.rows[1], ['2026-11-10', '6', '5', '660', '11.00', '0.06', '0.13']);
    assert.deepEqual(days.rows[0], ['2026-11-09', '0', '0', '0', '0.00', '0.00', '0.00']);
    assert.deepEqual(days.totals, [['Total', '6', '5', '660', '11.00', '0.06', '0.13']]);

    const destinations = r.get('destinations')!;
    assert.deepEqual(destinations.rows, [
      ['France', '1', '1', '180', '3.00', '0.00', '0.09'],
      ['United Kingdom', '3', '2', '360', '6.00', '0.06', '0.04'],
      ['Not rated', '2', '2', '120', '2.00', '0.00', '0.00'],
    ]);
    assert.deepEqual(destinations.totals, days.totals);

    const carriers = r.get('carriers')!;
    assert.deepEqual(carriers.rows, [
      ['Carrier X', '2', '2', '360', '6.00', '0.06', '0.04'],
      ['No carrier', '4', '3', '300', '5.00', '0.00', '0.09'],
    ]);
    assert.deepEqual(carriers.totals, days.totals, 'every leg of the scenario is outbound');

    const unrated = r.get('unrated')!;
    assert.deepEqual(unrated.headers, ['Status', 'Reason', 'Legs']);
    assert.equal(unrated.rows.length, 2);
    assert.equal(unrated.rows[0]?.[0], 'blocked');
    assert.equal(unrated.rows[0]?.[1], 'the subscriber is inactive');
    assert.equal(unrated.rows[1]?.[0], 'unrated');
    assert.match(unrated.rows[1]?.[1] as string, /…/, 'the number in the reason is elided');
    assert.deepEqual(unrated.totals, [['Total', '', '2']]);

    const taxes = r.get('taxes')!;
    assert.deepEqual(taxes.headers, ['Jurisdiction', 'Country', 'Region', 'Tax', 'On', 'Currency', 'Charges', 'Taxable', 'Tax amount']);
    const tax = (place: string, on: string) => taxes.rows.find((x) => x[0] === place && x[4] === on);
    // New York on Alpha's three wholesale charges (one of nothing) and its recurring line.
    assert.deepEqual(tax('New York', 'Calls')?.slice(5), ['USD', '3', '0.13', '0.013']);
    assert.deepEqual(tax('New York', 'Recurring charges')?.slice(5), ['USD', '1', '5.00', '0.50']);
    assert.deepEqual(tax('Great Britain', 'Calls')?.slice(5), ['EUR', '1', '0.06', '0.012']);
    assert.equal(taxes.rows.length, 3, 'Alpha\'s own retail tax is not the operator\'s');
    assert.deepEqual(taxes.totals.find((x) => x[0] === 'Total USD'), ['Total USD', '', '', '', '', 'USD', '4', '5.13', '0.513']);
    assert.equal(taxes.totals.find((x) => x[0] === 'Total USD')?.[8], '0.513');
    assert.equal(taxes.totals.find((x) => x[0] === 'Total EUR')?.[8], '0.012');

    const recurring = r.get('recurring')!;
    assert.deepEqual(recurring.rows, [['Alpha Telecom', 'Operator features', 'feature', 'monthly', 'USD', '1', '5.00', '0.50', '5.50', 'USD', '5.50']]);
    assert.deepEqual(recurring.totals, [['Total USD', '', '', '', 'USD', '1', '5.00', '0.50', '5.50', 'USD', '5.50']]);
  });

  test("a reseller's report: its subscribers in its own zone, with retail revenue, cost and margin, its taxes and recurring charges", async () => {
    const r = await report(adminA, '/reseller/reports');
    assert.deepEqual([...r.keys()], ['days', 'subscribers', 'destinations', 'taxes', 'recurring']);
    const money = ['Retail revenue USD', 'Wholesale cost USD', 'Margin USD'];

    // New York: the first call (04:30 UTC) is on 9 November.
    const days = r.get('days')!;
    assert.deepEqual(days.headers, ['Day', 'Calls', 'Answered', 'Seconds', 'Minutes', ...money]);
    assert.deepEqual(days.rows.slice(0, 2), [
      ['2026-11-09', '1', '1', '120', '2.00', '0.18', '0.04', '0.14'],
      ['2026-11-10', '3', '2', '240', '4.00', '0.36', '0.09', '0.27'],
    ]);
    assert.deepEqual(days.totals, [['Total', '4', '3', '360', '6.00', '0.54', '0.13', '0.41']]);

    const subs = r.get('subscribers')!;
    assert.deepEqual(subs.rows.sort(), [
      [subA1.account_number, 'Ada Lovelace', '2', '2', '300', '5.00', '0.54', '0.13', '0.41'],
      [subA2.account_number, 'Alan Turing', '2', '1', '60', '1.00', '0.00', '0.00', '0.00'],
    ].sort());
    assert.deepEqual(subs.totals, [['Total', '', '4', '3', '360', '6.00', '0.54', '0.13', '0.41']]);

    const destinations = r.get('destinations')!;
    assert.deepEqual(destinations.rows, [
      ['France', '1', '1', '180', '3.00', '0.36', '0.09', '0.27'],
      ['United Kingdom', '2', '1', '120', '2.00', '0.18', '0.04', '0.14'],
      ['Not rated', '1', '1', '60', '1.00', '0.00', '0.00', '0.00'],
    ]);

    const taxes = r.get('taxes')!;
    assert.equal(taxes.headers[0], 'Side');
    const tax = (side: string, on: string) => taxes.rows.find((x) => x[0] === side && x[5] === on)?.slice(1);
    assert.deepEqual(tax('Charged to subscribers', 'Calls'), ['New York', 'US', 'NY', 'Alpha sales tax', 'Calls', 'USD', '3', '0.54', '0.027']);
    assert.deepEqual(tax('Charged to subscribers', 'Recurring charges'), ['New York', 'US', 'NY', 'Alpha sales tax', 'Recurring charges', 'USD', '1', '2.00', '0.10']);
    assert.deepEqual(tax('Charged by the operator', 'Calls'), ['New York', 'US', 'NY', 'NY telecom tax', 'Calls', 'USD', '3', '0.13', '0.013']);
    assert.deepEqual(tax('Charged by the operator', 'Recurring charges'), ['New York', 'US', 'NY', 'NY telecom tax', 'Recurring charges', 'USD', '1', '5.00', '0.50']);
    assert.equal(taxes.rows.length, 4, 'nothing of the other reseller\'s');
    assert.deepEqual(taxes.totals.map((x) => [x[1], x[0], x[9]]).sort(), [['Total USD', 'Charged by the operator', '0.513'], ['Total USD', 'Charged to subscribers', '0.127']].sort());

    const recurring = r.get('recurring')!;
    assert.deepEqual(recurring.rows.sort(), [
      ['Charged to subscribers', subA1.account_number, 'Alpha features', 'feature', 'monthly', 'USD', '1', '2.00', '0.10', '2.10', 'USD', '2.10'],
      ['Charged by the operator', '', 'Operator features', 'feature', 'monthly', 'USD', '1', '5.00', '0.50', '5.50', 'USD', '5.50'],
    ].sort());
  });

  test('every total is the sum of its rows, per currency where rows have one', async () => {
    for (const [c, path] of [[operator, '/wholesale/reports'], [adminA, '/reseller/reports'], [adminB, '/reseller/reports']] as const) {
      for (const [id, tbl] of await report(c, path)) {
        for (const total of tbl.totals) {
          const currencyCol = tbl.headers.indexOf('Currency');
          const sideCol = tbl.headers.indexOf('Side');
          const members = tbl.rows.filter((row) => (currencyCol < 0 || row[currencyCol] === total[currencyCol]) && (sideCol < 0 || row[sideCol] === total[sideCol]) && (tbl.headers.indexOf('Billed currency') < 0 || row[tbl.headers.indexOf('Billed currency')] === total[tbl.headers.indexOf('Billed currency')]));
          tbl.headers.forEach((h, i) => {
            if (!/^(Calls|Answered|Seconds|Legs|Charges|Lines|Taxable|Tax amount|Amount|Total|Billed total)$|revenue|cost|Margin/.test(h)) return;
            const sum = members.reduce((s, row) => s.plus(row[i] || '0'), new Decimal(0));
            same(total[i], sum.toString());
          });
          if (tbl.headers.includes('Minutes')) same(total[tbl.headers.indexOf('Minutes')], new Decimal(total[tbl.headers.indexOf('Seconds')] as string).div(60).toFixed(2));
        }
      }
    }
  });

  test('the figures agree across tables and across the two reports', async () => {
    const w = await report(operator, '/wholesale/reports');
    const wholesaleTotals = totalOf(w.get('days')!);
    const figures = (x: Record<string, string>) => Object.fromEntries(Object.entries(x).filter(([h]) => /^(Calls|Answered|Seconds|Minutes)$|revenue/.test(h)));
    assert.ok(Object.keys(figures(wholesaleTotals)).length >= 6);
    for (const id of ['resellers', 'destinations']) assert.deepEqual(figures(totalOf(w.get(id)!)), figures(wholesaleTotals), id);
    const perReseller = byFirst(w.get('resellers')!);
    for (const [c, name, currency] of [[adminA, 'Alpha Telecom', 'USD'], [adminB, 'Beta Voice', 'EUR']] as const) {
      const r = await report(c, '/reseller/reports');
      const row = perReseller.get(name)!;
      for (const id of ['days', 'subscribers', 'destinations']) {
        const total = totalOf(r.get(id)!);
        for (const h of ['Calls', 'Answered', 'Seconds', 'Minutes']) assert.equal(total[h], row[h], `${name} ${id} ${h}`);
        same(total[`Wholesale cost ${currency}`], row[`Wholesale revenue ${currency}`] as string);
      }
      // The operator's taxes on the reseller (its side "charged by the operator") are in the operator's report.
      const theirs = r.get('taxes')!;
      const ours = w.get('taxes')!;
      same(sumOf(theirs, 'Tax amount', { header: 'Side', value: 'Charged by the operator' }), sumOf(ours, 'Tax amount', { header: 'Currency', value: currency }));
    }
    // Per-day totals of the wholesale report (UTC days) equal the sum of the resellers' own (New York and Tokyo days) over a period that holds every call in every zone.
    const a = totalOf((await report(adminA, '/reseller/reports')).get('days')!);
    const b = totalOf((await report(adminB, '/reseller/reports')).get('days')!);
    assert.equal(Number(a.Calls) + Number(b.Calls), Number(wholesaleTotals.Calls));
    assert.equal(Number(a.Seconds) + Number(b.Seconds), Number(wholesaleTotals.Seconds));
  });

  test('each CSV parsed back is its table on the page, totals included', async () => {
    for (const [c, path] of [[operator, '/wholesale/reports'], [supportA, '/reseller/reports']] as const) {
      const tables = await report(c, path);
      for (const [id, shown] of tables) {
        assert.equal(shown.csvHref, `${path}/${id}.csv?${PERIOD}`, `${id}: the CSV of the page's period`);
        const res = await c.get(shown.csvHref);
        assert.equal(res.status, 200);
        assert.match(String(res.headers['content-type']), /text\/csv/);
        assert.match(String(res.headers['content-disposition']), new RegExp(`${id}-2026-11-09-to-2026-11-12\\.csv`));
        const [headers, ...rows] = parse(res.text, { relax_column_count: false }) as string[][];
        assert.deepEqual(headers, shown.headers, `${path} ${id} headers`);
        assert.deepEqual(rows, [...shown.rows, ...shown.totals], `${path} ${id} rows`);
      }
    }
  });

  test('a period that cannot be read: the page says so and shows the default; the CSV refuses', async () => {
    const page = await operator.get('/wholesale/reports?from=2026-13-40&to=2026-11-12');
    assert.equal(page.status, 200);
    assert.match(page.text, /data-testid="period-problem"/);
    const csv = await operator.get('/wholesale/reports/days.csv?from=2026-11-12&to=2026-11-01');
    assert.equal(csv.status, 400);
  });

  test('tenants never see each other: a reseller\'s report and CSVs hold only its own rows', async () => {
    const a = await adminA.get(`/reseller/reports?${PERIOD}`);
    const b = await adminB.get(`/reseller/reports?${PERIOD}`);
    for (const marker of ['Beta Voice', resB.code, subB.account_number, 'Grace Hopper', 'EUR', 'UK VAT']) assert.ok(!a.text.includes(marker), `Alpha's page shows ${marker}`);
    for (const marker of ['Alpha Telecom', resA.code, subA1.account_number, subA2.account_number, 'Ada Lovelace', 'USD', 'Alpha sales tax', 'NY telecom tax']) assert.ok(!b.text.includes(marker), `Beta's page shows ${marker}`);
    for (const id of ['days', 'subscribers', 'destinations', 'taxes', 'recurring']) {
      const csv = await adminB.get(`/reseller/reports/${id}.csv?${PERIOD}`);
      assert.equal(csv.status, 200);
      for (const marker of ['Alpha', subA1.account_number, 'USD']) assert.ok(!csv.text.includes(marker), `Beta's ${id} CSV shows ${marker}`);
    }
    // Beta's own figures: 2 calls (one blocked), 0.20 EUR retail, 0.06 EUR wholesale.
    const subs = readReport(b.text).get('subscribers')!;
    assert.deepEqual(subs.totals, [['Total', '', '2', '2', '300', '5.00', '0.20', '0.06', '0.14']]);
    // Subscribers have no reports; operator support reads the wholesale one; resellers cannot open it.
    assert.equal((await subscriberA.get('/reseller/reports')).status, 403);
    assert.equal((await operatorSupport.get(`/wholesale/reports?${PERIOD}`)).status, 200);
    assert.equal((await adminA.get(`/wholesale/reports?${PERIOD}`)).status, 403);
    assert.equal((await adminA.get(`/wholesale/reports/resellers.csv?${PERIOD}`)).status, 403);
  });

  test("operator staff open a reseller's report from the wholesale report: the same figures as its own people see, in the operator's zone", async () => {
    const w = await report(operator, '/wholesale/reports');
    const page = await operator.get(`/wholesale/reports?${PERIOD}`);
    const href = `/wholesale/resellers/${resA.id}/reports?${PERIOD}`;
    assert.ok(page.text.includes(`href="${href.replace('&', '&amp;')}"`), 'the per-reseller row links its report');
    assert.ok((await operator.get(`/wholesale/resellers/${resA.id}`)).text.includes(`href="/wholesale/resellers/${resA.id}/reports"`), "the reseller's page links it");
    const theirs = await report(operatorSupport, `/wholesale/resellers/${resA.id}/reports`);
    const own = await report(adminA, '/reseller/reports');
    // Days are the operator's (UTC), so compare what does not depend on the zone of the days.
    for (const id of ['subscribers', 'destinations', 'taxes', 'recurring']) assert.deepEqual(theirs.get(id), { ...own.get(id)!, csvHref: theirs.get(id)!.csvHref }, id);
    assert.deepEqual(theirs.get('days')!.totals, own.get('days')!.totals);
    const row = byFirst(w.get('resellers')!).get('Alpha Telecom')!;
    assert.equal(totalOf(theirs.get('days')!).Calls, row.Calls);
    const csv = await operator.get(theirs.get('subscribers')!.csvHref);
    assert.equal(csv.status, 200);
    const [headers, ...rows] = parse(csv.text) as string[][];
    assert.deepEqual([headers, ...rows], [own.get('subscribers')!.headers, ...own.get('subscribers')!.rows, ...own.get('subscribers')!.totals]);
    assert.equal((await operator.get(`/wholesale/resellers/999999/reports?${PERIOD}`)).status, 404);
    assert.equal((await adminA.get(`/wholesale/resellers/${resA.id}/reports`)).status, 403);
  });

  test('the navigation links the reports; the chart is drawn from a JSON block under the strict CSP', async () => {
    const home = await operator.get(`/wholesale?${PERIOD}`);
    assert.match(home.text, /href="\/wholesale\/reports"/);
    assert.ok(home.text.includes(`href="/wholesale/reports?${PERIOD.replace('&', '&amp;')}"`), 'the dashboard links the report of its period');
    const res = await adminA.get(`/reseller/reports?${PERIOD}`);
    assert.match(res.text, /href="\/reseller\/reports"/);
    assert.match(res.text, /<script type="application\/json" id="usage-data">/);
    assert.match(res.text, /<script src="\/public\/dashboard-chart.js" defer><\/script>/);
    assert.doesNotMatch(res.text, /<script>(?!<\/script>)/, 'no inline script');
    const chart = JSON.parse(/<script type="application\/json" id="usage-data">([\s\S]*?)<\/script>/.exec(res.text)?.[1] as string);
    assert.deepEqual(chart.labels, ['2026-11-09', '2026-11-10', '2026-11-11', '2026-11-12']);
    assert.deepEqual(chart.minutes, [2, 4, 0, 0]);
    assert.deepEqual(chart.money.map((m: { label: string }) => m.label), ['Retail revenue (USD)', 'Wholesale cost (USD)']);
    assert.match(String(res.headers['content-security-policy']), /script-src 'self'/);
  });
});
