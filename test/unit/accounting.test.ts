/**
 * The accounting exports' pure parts (domain/accounting): journal entries per day or period and
 * currency, balanced, credits on the other side, nothing across currencies; the invoice layouts'
 * rows, dates and tax columns.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { quickbooksRows, QUICKBOOKS_COLUMNS, xeroRows, XERO_COLUMNS, type Invoice } from '../../src/domain/accounting/invoices';
import { DEFAULT_ACCOUNT_CODES as C, entryBalances, exactAmount, journalLines, type BookFigure } from '../../src/domain/accounting/journal';

const figures: BookFigure[] = [
  { day: '2026-11-01', currency: 'USD', flow: 'sale', label: 'Calls', net: '0.1234567891', taxes: [{ code: 'State', amount: '0.0123456789' }, { code: 'City', amount: '0.0010000001' }] },
  { day: '2026-11-01', currency: 'EUR', flow: 'sale', label: 'Calls', net: '1.5', taxes: [] },
  { day: '2026-11-02', currency: 'USD', flow: 'sale', label: 'Calls', net: '0.2', taxes: [{ code: 'State', amount: '0.02' }] },
  { day: '2026-11-02', currency: 'USD', flow: 'purchase', label: 'Calls from the operator', net: '0.05', taxes: [{ code: 'Op', amount: '0.005' }] },
  // A credit (a package ended early): a negative net goes to the other side.
  { day: '2026-11-02', currency: 'USD', flow: 'sale', label: 'Recurring charges', net: '-3', taxes: [{ code: 'State', amount: '-0.3' }] },
  // Nothing at all: no lines.
  { day: '2026-11-03', currency: 'USD', flow: 'sale', label: 'Calls', net: '0', taxes: [{ code: 'State', amount: '0' }] },
];

describe('the general-ledger journal', () => {
  test('one entry per day and currency, each balanced, amounts exact', () => {
    const lines = journalLines(figures, C, { grouping: 'day', periodEnd: '2026-11-30' });
    assert.deepEqual([...new Set(lines.map((l) => l.entry))], ['2026-11-01-EUR', '2026-11-01-USD', '2026-11-02-USD']);
    for (const [k, b] of entryBalances(lines)) assert.ok(b.debit.eq(b.credit), `${k}: ${b.debit} = ${b.credit}`);
    const first = lines.filter((l) => l.entry === '2026-11-01-USD');
    assert.deepEqual(first.map((l) => [l.account, l.debit, l.credit, l.taxCode]), [
      [C.receivable, '0.1368024681', '', ''], [C.revenue, '', '0.1234567891', ''], [C.taxPayable, '', '0.0010000001', 'City'], [C.taxPayable, '', '0.0123456789', 'State'],
    ]);
    assert.ok(lines.every((l) => l.entry.endsWith(l.currency)));
    const credit = lines.filter((l) => l.description.startsWith('Recurring charges'));
    assert.deepEqual(credit.map((l) => [l.account, l.debit, l.credit]), [[C.receivable, '', '3.30'], [C.revenue, '3.00', ''], [C.taxPayable, '0.30', '']]);
    const purchase = lines.filter((l) => l.description.startsWith('Calls from the operator'));
    assert.deepEqual(purchase.map((l) => [l.account, l.debit, l.credit]), [[C.costOfSales, '0.05', ''], [C.taxPaid, '0.005', ''], [C.payable, '', '0.055']]);
  });

  test('one entry per currency for the period, dated its last day, the days added', () => {
    const lines = journalLines(figures, C, { grouping: 'period', periodEnd: '2026-11-30' });
    assert.deepEqual([...new Set(lines.map((l) => l.entry))], ['2026-11-30-EUR', '2026-11-30-USD']);
    for (const b of entryBalances(lines).values()) assert.ok(b.debit.eq(b.credit));
    const revenue = lines.find((l) => l.entry === '2026-11-30-USD' && l.account === C.revenue && l.description === 'Calls: revenue');
    assert.equal(revenue?.credit, '0.3234567891');
  });

  test('exact amounts keep every digit and at least two decimals', () => {
    assert.equal(exactAmount('5.0000000000'), '5.00');
    assert.equal(exactAmount('0.0040000000'), '0.004');
    assert.equal(exactAmount('123456789012.1234567891'), '123456789012.1234567891');
  });
});

describe('invoice-import layouts', () => {
  const inv: Invoice = {
    number: 'INV-20261130-1001-USD', customer: 'Smith, "Jo" (1001)', email: 'jo@example.com', date: '2026-11-30', dueDate: '2026-12-30',
    periodFrom: '2026-11-01', periodTo: '2026-11-30', currency: 'USD',
    lines: [
      { item: 'Calls', description: 'Calls', amount: '1.2345', taxes: [{ code: 'State', amount: '0.1' }, { code: 'City', amount: '0.02' }] },
      { item: 'Recurring charges', description: 'Basic (monthly)', amount: '5', taxes: [] },
    ],
  };

  test('QuickBooks Online: a row per line, US dates, the line tax code and amount', () => {
    const rows = quickbooksRows([inv]);
    assert.equal(rows[0]?.length, QUICKBOOKS_COLUMNS.length);
    const by = (r: string[]) => Object.fromEntries(QUICKBOOKS_COLUMNS.map((c, i) => [c, r[i]]));
    assert.deepEqual(by(rows[0]!), {
      InvoiceNo: 'INV-20261130-1001-USD', Customer: 'Smith, "Jo" (1001)', InvoiceDate: '11/30/2026', DueDate: '12/30/2026', Terms: 'Net 30', Memo: 'Period 2026-11-01 to 2026-11-30',
      'Item(Product/Service)': 'Calls', ItemDescription: 'Calls', ItemQuantity: '1', ItemRate: '1.2345', ItemAmount: '1.2345', ItemTaxCode: 'City + State', ItemTaxAmount: '0.12', Currency: 'USD', 'Service Date': '11/30/2026',
    });
    assert.equal(by(rows[1]!).ItemTaxCode, '');
  });

  test('Xero: a row per line, day-first dates, the revenue account, No Tax for an untaxed line', () => {
    const rows = xeroRows([inv], '4000');
    assert.equal(rows[0]?.length, XERO_COLUMNS.length);
    const by = (r: string[]) => Object.fromEntries(XERO_COLUMNS.map((c, i) => [c, r[i]]));
    const [a, b] = rows.map(by);
    assert.deepEqual([a!.ContactName, a!.InvoiceNumber, a!.InvoiceDate, a!.DueDate, a!.UnitAmount, a!.AccountCode, a!.TaxType, a!.TaxAmount, a!.Currency],
      ['Smith, "Jo" (1001)', 'INV-20261130-1001-USD', '30/11/2026', '30/12/2026', '1.2345', '4000', 'City + State', '0.12', 'USD']);
    assert.deepEqual([b!.TaxType, b!.TaxAmount, b!.UnitAmount], ['No Tax', '0.00', '5.00']);
  });
});
