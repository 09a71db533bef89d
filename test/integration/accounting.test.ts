/**
 * Accounting exports (issue 12): the general-ledger journal and the QuickBooks Online and Xero
 * invoice imports against the scenario of the report tests (test/support/report-scenario.ts: two resellers in USD and EUR, taxes on
 * both sides, recurring charges), computed by hand: every entry balances per currency, the
 * journal's and the invoices' totals equal the reports' own figures (read from the reports' CSVs),
 * account codes come from each party's form, and no tenant sees another's rows.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { Decimal } from '../../src/domain/money/decimal';
import { QUICKBOOKS_COLUMNS, XERO_COLUMNS } from '../../src/domain/accounting/invoices';
import { DEFAULT_ACCOUNT_CODES, JOURNAL_COLUMNS } from '../../src/domain/accounting/journal';
import { createTestApp, type TestApp } from '../support/app';
import { buildReportScenario, PERIOD } from '../support/report-scenario';
import { Client } from '../support/http';

type Row = Record<string, string>;

/** A CSV parsed back: its header and its rows as objects by header. */
function csvOf(text: string): { headers: string[]; rows: Row[] } {
  const [headers, ...rows] = parse(text, { relax_column_count: false }) as string[][];
  return { headers: headers as string[], rows: rows.map((r) => Object.fromEntries((headers as string[]).map((h, i) => [h, r[i] as string]))) };
}

const sum = (rows: Row[], col: string) => rows.reduce((s, r) => s.plus(r[col] || '0'), new Decimal(0));
const same = (a: Decimal | string, b: Decimal | string, what: string) => assert.ok(new Decimal(a).eq(b), `${what}: ${a.toString()} = ${b.toString()}`);

/** Every entry balances in its currency: the sum of debits equals the sum of credits. */
function assertBalanced(rows: Row[]): void {
  const entries = new Map<string, Row[]>();
  for (const r of rows) (entries.get(`${r.Entry}|${r.Currency}`) ?? entries.set(`${r.Entry}|${r.Currency}`, []).get(`${r.Entry}|${r.Currency}`)!).push(r);
  assert.ok(entries.size > 0);
  for (const [k, lines] of entries) {
    assert.ok(lines.every((l) => l.Currency === lines[0]!.Currency), `${k}: one currency`);
    assert.ok(lines.every((l) => (l.Debit === '') !== (l.Credit === '')), `${k}: each line a debit or a credit`);
    same(sum(lines, 'Debit'), sum(lines, 'Credit'), `${k} balances`);
  }
  // Entries are named by their date and currency: never one across currencies.
  for (const r of rows) assert.ok(r.Entry!.endsWith(`-${r.Currency}`), r.Entry);
}

const account = (rows: Row[], code: string, side: 'Debit' | 'Credit', currency?: string) => sum(rows.filter((r) => r.Account === code && (!currency || r.Currency === currency)), side);

describe('accounting exports: journal and invoice imports, against the reports of a scenario computed by hand', () => {
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

  async function csv(c: Client, path: string, query = PERIOD) {
    const res = await c.get(`${path}?${query}`);
    assert.equal(res.status, 200, res.text.slice(0, 300));
    assert.match(String(res.headers['content-type']), /text\/csv/);
    assert.match(String(res.headers['cache-control']), /no-store/);
    return csvOf(res.text);
  }
  /** A report table's total rows (from the report's own CSV), by their first cell. */
  async function reportTotals(c: Client, path: string): Promise<Row[]> {
    return (await csv(c, path)).rows.filter((r) => Object.values(r)[0]?.startsWith('Total') || Object.values(r)[1]?.startsWith('Total'));
  }

  test("a reseller's journal per day: its sales and purchases, balanced, as computed by hand", async () => {
    const j = await csv(adminA, '/reseller/reports/journal.csv');
    assert.deepEqual(j.headers, [...JOURNAL_COLUMNS]);
    assertBalanced(j.rows);
    const c = DEFAULT_ACCOUNT_CODES;
    // New York: the first call (04:30 UTC) is on 9 November: retail 0.18 + 5 % tax, wholesale 0.04 + 10 %.
    const first = j.rows.filter((r) => r.Entry === '2026-11-09-USD').map((r) => [r.Account, r.Debit, r.Credit, r['Tax code']]);
    assert.deepEqual(first, [
      [c.receivable, '0.189', '', ''], [c.revenue, '', '0.18', ''], [c.taxPayable, '', '0.009', 'Alpha sales tax'],
      [c.costOfSales, '0.04', '', ''], [c.taxPaid, '0.004', '', 'NY telecom tax'], [c.payable, '', '0.044', ''],
    ]);
    // 10 November: the call to France and both recurring lines (cycle start 05:00 UTC, midnight in New York).
    const second = j.rows.filter((r) => r.Entry === '2026-11-10-USD');
    // Receivable 0.36 + 0.018 and 2.00 + 0.10; cost 0.09 + 0.009 and 5.00 + 0.50.
    same(sum(second, 'Debit'), '8.077', '10 November debits');
    assert.deepEqual(j.rows.map((r) => r.Entry).filter((e, i, a) => a.indexOf(e) === i), ['2026-11-09-USD', '2026-11-10-USD'], 'no entry of days without money; nothing in EUR');
  });

  test("the journal's totals equal the reseller's report: revenue, cost, taxes both ways, recurring charges", async () => {
    for (const entries of ['day', 'period'] as const) {
      const j = (await csv(adminA, '/reseller/reports/journal.csv', `${PERIOD}&entries=${entries}`)).rows;
      assertBalanced(j);
      if (entries === 'period') assert.deepEqual([...new Set(j.map((r) => r.Entry))], ['2026-11-12-USD'], 'one entry for the period, dated its last day');
      const c = DEFAULT_ACCOUNT_CODES;
      const days = (await reportTotals(adminA, '/reseller/reports/days.csv'))[0]!;
      const recurring = (await csv(adminA, '/reseller/reports/recurring.csv')).rows;
      const recurringOf = (side: string) => sum(recurring.filter((r) => r.Side === side && r.Package), 'Amount');
      const taxes = await reportTotals(adminA, '/reseller/reports/taxes.csv');
      const taxOf = (side: string) => new Decimal(taxes.find((r) => r.Side === side)!['Tax amount'] as string);
      same(account(j, c.revenue, 'Credit'), new Decimal(days['Retail revenue USD']!).plus(recurringOf('Charged to subscribers')), `${entries}: revenue`);
      same(account(j, c.costOfSales, 'Debit'), new Decimal(days['Wholesale cost USD']!).plus(recurringOf('Charged by the operator')), `${entries}: cost of sales`);
      same(account(j, c.taxPayable, 'Credit'), taxOf('Charged to subscribers'), `${entries}: tax payable`);
      same(account(j, c.taxPaid, 'Debit'), taxOf('Charged by the operator'), `${entries}: tax paid to the operator`);
      // By hand: 0.54 + 2.00 revenue, 0.13 + 5.00 cost, 0.027 + 0.10 and 0.013 + 0.50 of tax.
      same(account(j, c.revenue, 'Credit'), '2.54', 'revenue by hand');
      same(account(j, c.costOfSales, 'Debit'), '5.13', 'cost by hand');
      same(account(j, c.receivable, 'Debit'), '2.667', 'receivable: revenue and its taxes');
      same(account(j, c.payable, 'Credit'), '5.643', 'payable: cost and its taxes');
    }
  });

  test("the operator's journal: per reseller, per currency, never across, equal to the wholesale report", async () => {
    const j = (await csv(operator, '/wholesale/reports/journal.csv')).rows;
    assertBalanced(j);
    const c = DEFAULT_ACCOUNT_CODES;
    assert.deepEqual([...new Set(j.map((r) => r.Currency))].sort(), ['EUR', 'USD']);
    assert.ok(j.every((r) => ![c.costOfSales, c.payable, c.taxPaid].includes(r.Account!)), 'the operator sells only');
    assert.ok(j.some((r) => r.Description!.startsWith('Calls: Alpha Telecom')) && j.some((r) => r.Description!.startsWith('Calls: Beta Voice')));
    const resellers = (await reportTotals(operator, '/wholesale/reports/resellers.csv'))[0]!;
    const recurring = (await csv(operator, '/wholesale/reports/recurring.csv')).rows.filter((r) => !r.Reseller!.startsWith('Total'));
    const taxes = await reportTotals(operator, '/wholesale/reports/taxes.csv');
    for (const cur of ['USD', 'EUR']) {
      same(account(j, c.revenue, 'Credit', cur), new Decimal(resellers[`Wholesale revenue ${cur}`]!).plus(sum(recurring.filter((r) => r.Currency === cur), 'Amount')), `${cur} revenue`);
      same(account(j, c.taxPayable, 'Credit', cur), taxes.find((r) => r.Jurisdiction === `Total ${cur}`)!['Tax amount']!, `${cur} tax`);
    }
    // By hand: USD 0.13 + 5.00 and 0.013 + 0.50 of tax; EUR 0.06 and 0.012.
    same(account(j, c.revenue, 'Credit', 'USD'), '5.13', 'USD by hand');
    same(account(j, c.receivable, 'Debit', 'EUR'), '0.072', 'EUR by hand');
    // One reseller's part of the operator's books.
    const onlyB = (await csv(operator, '/wholesale/reports/journal.csv', `${PERIOD}&reseller=${resB.id}`)).rows;
    assertBalanced(onlyB);
    assert.deepEqual([...new Set(onlyB.map((r) => r.Currency))], ['EUR']);
    assert.ok(onlyB.every((r) => !r.Description!.includes('Alpha')));
  });

  test('QuickBooks Online invoices of a reseller: one per subscriber, a line per kind, tax per line, totals equal to the report', async () => {
    const q = await csv(adminA, '/reseller/reports/invoices-quickbooks.csv');
    assert.deepEqual(q.headers, [...QUICKBOOKS_COLUMNS]);
    const numbers = [...new Set(q.rows.map((r) => r.InvoiceNo))];
    assert.deepEqual(numbers, [`INV-20261112-${subA1.account_number}-USD`], 'Ada only: Alan\'s calls cost nothing');
    assert.deepEqual(q.rows.map((r) => [r.Customer, r.InvoiceDate, r.DueDate, r['Item(Product/Service)'], r.ItemAmount, r.ItemTaxCode, r.ItemTaxAmount, r.Currency]), [
      [`Ada Lovelace (${subA1.account_number})`, '11/12/2026', '12/12/2026', 'Calls', '0.54', 'Alpha sales tax', '0.027', 'USD'],
      [`Ada Lovelace (${subA1.account_number})`, '11/12/2026', '12/12/2026', 'Recurring charges', '2.00', 'Alpha sales tax', '0.10', 'USD'],
    ]);
    for (const r of q.rows) same(new Decimal(r.ItemQuantity!).times(r.ItemRate!), r.ItemAmount!, 'quantity × rate = amount');
    const days = (await reportTotals(adminA, '/reseller/reports/days.csv'))[0]!;
    const recurring = (await csv(adminA, '/reseller/reports/recurring.csv')).rows.filter((r) => r.Side === 'Charged to subscribers' && r.Package);
    same(sum(q.rows, 'ItemAmount'), new Decimal(days['Retail revenue USD']!).plus(sum(recurring, 'Amount')), 'invoiced = retail revenue + recurring');
    const taxes = await reportTotals(adminA, '/reseller/reports/taxes.csv');
    same(sum(q.rows, 'ItemTaxAmount'), taxes.find((r) => r.Side === 'Charged to subscribers')!['Tax amount']!, 'tax invoiced = tax charged to subscribers');
  });

  test("Xero invoices of the operator: one per reseller and currency, a line per destination, the operator's revenue account", async () => {
    const x = await csv(operator, '/wholesale/reports/invoices-xero.csv');
    assert.deepEqual(x.headers, [...XERO_COLUMNS]);
    assert.deepEqual([...new Set(x.rows.map((r) => r.InvoiceNumber))].sort(), [`OP-20261112-${resA.code}-USD`, `OP-20261112-${resB.code}-EUR`].sort());
    assert.ok(x.rows.every((r) => r.InvoiceDate === '12/11/2026' && r.DueDate === '12/12/2026' && r.AccountCode === DEFAULT_ACCOUNT_CODES.revenue));
    const alpha = x.rows.filter((r) => r.ContactName === 'Alpha Telecom');
    assert.deepEqual(alpha.map((r) => [r.InventoryItemCode, r.UnitAmount, r.TaxType, r.TaxAmount, r.Currency]).sort(), [
      ['Calls', '0.04', 'NY telecom tax', '0.004', 'USD'],
      ['Calls', '0.09', 'NY telecom tax', '0.009', 'USD'],
      ['Recurring charges', '5.00', 'NY telecom tax', '0.50', 'USD'],
      // The unanswered call to the UK is a charge of nothing: its destination's line is the answered call's.
    ].sort());
    assert.ok(alpha.some((r) => r.Description!.startsWith('Calls to France: 1 call, 3.00 min')));
    const resellers = (await reportTotals(operator, '/wholesale/reports/resellers.csv'))[0]!;
    const recurring = (await csv(operator, '/wholesale/reports/recurring.csv')).rows.filter((r) => !r.Reseller!.startsWith('Total'));
    const taxes = await reportTotals(operator, '/wholesale/reports/taxes.csv');
    for (const cur of ['USD', 'EUR']) {
      const lines = x.rows.filter((r) => r.Currency === cur);
      same(sum(lines, 'UnitAmount'), new Decimal(resellers[`Wholesale revenue ${cur}`]!).plus(sum(recurring.filter((r) => r.Currency === cur), 'Amount')), `${cur} invoiced`);
      same(sum(lines, 'TaxAmount'), taxes.find((r) => r.Jurisdiction === `Total ${cur}`)!['Tax amount']!, `${cur} tax invoiced`);
    }
    // The same invoices in QuickBooks' layout: the same totals.
    const q = await csv(operator, '/wholesale/reports/invoices-quickbooks.csv');
    same(sum(q.rows, 'ItemAmount'), sum(x.rows, 'UnitAmount'), 'both layouts, one total');
  });

  test('account codes: a reseller admin sets its own, operator admins the operator\'s and any reseller\'s; the exports use them', async () => {
    const codes = { revenue: '4100-A', costOfSales: '5100-A', taxPayable: '2300-A', receivable: '1300-A', payable: '2100-A', taxPaid: '5200-A' };
    const saved = await adminA.submit('/reseller/account-codes', codes, '/reseller/account-codes/edit');
    assert.equal(saved.status, 303);
    const j = (await csv(adminA, '/reseller/reports/journal.csv')).rows;
    assert.deepEqual([...new Set(j.map((r) => r.Account))].sort(), Object.values(codes).sort());
    assert.ok((await csv(adminA, '/reseller/reports/invoices-xero.csv')).rows.every((r) => r.AccountCode === '4100-A'));
    // Bad input: the form again, nothing saved.
    const bad = await adminA.submit('/reseller/account-codes', { ...codes, revenue: ' ' }, '/reseller/account-codes/edit');
    assert.equal(bad.status, 422);
    assert.equal((await t.db('account_codes').where({ reseller_id: resA.id }).first()).revenue, '4100-A');
    // The operator's own codes, and Beta's set by an operator admin.
    assert.equal((await operator.submit('/wholesale/account-codes', { ...codes, revenue: '7000' }, '/wholesale/account-codes/edit')).status, 303);
    assert.ok((await csv(operator, '/wholesale/reports/invoices-xero.csv')).rows.every((r) => r.AccountCode === '7000'));
    assert.equal((await operator.submit(`/wholesale/resellers/${resB.id}/account-codes`, { ...codes, revenue: '4000-B' }, `/wholesale/resellers/${resB.id}/account-codes/edit`)).status, 303);
    assert.ok((await csv(adminB, '/reseller/reports/journal.csv')).rows.some((r) => r.Account === '4000-B'));
    // Support roles read the codes on the page, never the form.
    const page = await supportA.get(`/reseller/reports/accounting?${PERIOD}`);
    assert.equal(page.status, 200);
    assert.match(page.text, /data-testid="code-revenue">4100-A</);
    assert.doesNotMatch(page.text, /account-codes\/edit/);
    assert.equal((await supportA.get('/reseller/account-codes/edit')).status, 403);
    assert.equal((await supportA.submit('/reseller/account-codes', codes)).status, 403);
    assert.equal((await operatorSupport.get('/wholesale/account-codes/edit')).status, 403);
    assert.equal((await operatorSupport.get(`/wholesale/reports/accounting?${PERIOD}`)).status, 200);
    // A reseller cannot reach the operator's codes or another reseller's.
    assert.equal((await adminA.get('/wholesale/account-codes/edit')).status, 403);
    assert.equal((await adminA.get(`/wholesale/resellers/${resB.id}/account-codes/edit`)).status, 403);
    assert.equal(Number((await t.db('audit_log').where({ entity_type: 'account_codes' }).count('* as n').first())!.n), 3, 'each save audited');
  });

  test('tenants never see each other: each reseller\'s exports hold only its own rows', async () => {
    for (const file of ['journal', 'invoices-quickbooks', 'invoices-xero']) {
      const b = await adminB.get(`/reseller/reports/${file}.csv?${PERIOD}`);
      assert.equal(b.status, 200);
      for (const marker of ['Alpha', subA1.account_number, subA2.account_number, 'Ada', 'USD', 'NY telecom tax']) assert.ok(!b.text.includes(marker), `Beta's ${file} shows ${marker}`);
      const a = await adminA.get(`/reseller/reports/${file}.csv?${PERIOD}`);
      for (const marker of ['Beta', subB.account_number, 'Grace', 'EUR', 'UK VAT']) assert.ok(!a.text.includes(marker), `Alpha's ${file} shows ${marker}`);
      assert.equal((await adminA.get(`/wholesale/reports/${file}.csv?${PERIOD}`)).status, 403);
      assert.equal((await subscriberA.get(`/reseller/reports/${file}.csv?${PERIOD}`)).status, 403);
    }
    // Beta's own: a retail call of 0.20 EUR without tax, its cost 0.06 + 0.012 VAT.
    const j = (await csv(adminB, '/reseller/reports/journal.csv')).rows;
    assertBalanced(j);
    same(sum(j.filter((r) => r.Description === 'Calls: revenue'), 'Credit'), '0.20', 'Beta revenue');
    same(sum(j.filter((r) => r['Tax code'] === 'UK VAT'), 'Debit'), '0.012', 'Beta tax paid');
    // A reseller's filter in a reseller's portal is ignored: its own books only.
    const own = await csv(adminB, '/reseller/reports/journal.csv', `${PERIOD}&reseller=${resA.id}`);
    assert.deepEqual(own.rows, j);
    assert.equal((await operator.get(`/wholesale/reports/journal.csv?${PERIOD}&reseller=999999`)).status, 404);
    assert.equal((await operator.get('/wholesale/reports/journal.csv?from=2026-11-12&to=2026-11-01')).status, 400);
  });

  test('the report pages link the export of their period; the export page links its files', async () => {
    const r = await adminA.get(`/reseller/reports?${PERIOD}`);
    assert.ok(r.text.includes(`href="/reseller/reports/accounting?${PERIOD.replace('&', '&amp;')}"`));
    const w = await operator.get(`/wholesale/resellers/${resA.id}/reports?${PERIOD}`);
    assert.ok(w.text.includes(`/wholesale/reports/accounting?${PERIOD.replace('&', '&amp;')}&amp;reseller=${resA.id}`));
    const page = await adminA.get(`/reseller/reports/accounting?${PERIOD}`);
    assert.equal(page.status, 200);
    for (const href of ['journal.csv?', 'invoices-quickbooks.csv?', 'invoices-xero.csv?']) assert.ok(page.text.includes(`/reseller/reports/${href}${PERIOD.replace('&', '&amp;')}`), href);
    assert.match(page.text, /entries=period/);
  });
});
