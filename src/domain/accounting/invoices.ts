/**
 * Invoice-import files of two small-business accounting packages (issue 12): one invoice per
 * customer (a reseller on the operator's; a subscriber on a reseller's) per period and currency,
 * one line per destination or kind, the tax of each line beside it. Pure: invoices in, rows out.
 *
 * The column layouts, as the packages' own import templates name them:
 *
 * - QuickBooks Online, "Import invoices" (Settings > Import data > Invoices): the headers QuickBooks
 *   maps by itself, `*` mandatory: *InvoiceNo, *Customer, *InvoiceDate, *DueDate, Terms, Memo,
 *   Item(Product/Service), ItemDescription, ItemQuantity, ItemRate, *ItemAmount, ItemTaxCode,
 *   ItemTaxAmount, Currency, Service Date. Lines of one invoice share its InvoiceNo; the tax code
 *   and tax amount are per line (outside the US version; the US version maps ItemTaxCode to
 *   TAX/NON). Dates as chosen at import; written MM/DD/YYYY, QuickBooks' US default.
 *   Source: Intuit QuickBooks Community, "Do we need to map field everytime when import invoices??"
 *   (https://quickbooks.intuit.com/learn-support/en-ca/sales-and-invoicing/do-we-need-to-map-field-everytime-when-import-invoices/01/394876),
 *   which lists the default headers and links Intuit's "Import invoices in batches" article.
 * - Xero, "Import sales invoices" (Business > Invoices > Import), the columns of its CSV template
 *   in its order: *ContactName, EmailAddress, POAddressLine1-4, POCity, PORegion, POPostalCode,
 *   POCountry, *InvoiceNumber, Reference, *InvoiceDate, *DueDate, InventoryItemCode,
 *   *Description, *Quantity, *UnitAmount, Discount, *AccountCode, *TaxType, TaxAmount,
 *   TrackingName1, TrackingOption1, TrackingName2, TrackingOption2, Currency, BrandingTheme.
 *   Lines of one invoice share its InvoiceNumber; dates DD/MM/YYYY; prices tax exclusive (chosen
 *   at import); TaxType must name a tax rate set up in Xero, TaxAmount overrides Xero's own sum.
 *   Sources: Xero's import guide as reproduced at https://online.flippingbook.com/view/399081/31/
 *   and https://xero-help.caltrix.asia/en/articles/12528333-how-to-import-sales-invoice-into-xero.
 *
 * Amounts are exact (every stored digit): a package that keeps fewer decimals rounds on import.
 */
import { Decimal } from '../money/decimal';
import { addDays } from '../time/zones';
import { exactAmount } from './journal';

export interface InvoiceLine {
  /** The product or service (QuickBooks' item, Xero's inventory code): "Calls", "Recurring charges". */
  item: string;
  description: string;
  /** Before tax, exact numeric text. */
  amount: string;
  taxes: Array<{ code: string; amount: string }>;
}

export interface Invoice {
  number: string;
  customer: string;
  email: string;
  /** Local dates of the issuer's zone: the period's last day, and the due date. */
  date: string;
  dueDate: string;
  periodFrom: string;
  periodTo: string;
  currency: string;
  lines: InvoiceLine[];
}

/** Payment terms written on every invoice: due 30 days after its date. */
export const PAYMENT_DAYS = 30;
export const TERMS = 'Net 30';

export function dueDateOf(date: string): string {
  return addDays(date, PAYMENT_DAYS);
}

/** A line's tax code: the names of its taxes (none: empty), for the package to map to its own. */
export function taxCodeOf(line: InvoiceLine): string {
  return line.taxes.filter((t) => !new Decimal(t.amount).isZero()).map((t) => t.code).sort().join(' + ');
}

export function taxAmountOf(line: InvoiceLine): Decimal {
  return line.taxes.reduce((s, t) => s.plus(t.amount), new Decimal(0));
}

const ymd = (date: string) => date.split('-') as [string, string, string];
const usDate = (date: string) => {
  const [y, m, d] = ymd(date);
  return `${m}/${d}/${y}`;
};
const ukDate = (date: string) => {
  const [y, m, d] = ymd(date);
  return `${d}/${m}/${y}`;
};

export const QUICKBOOKS_COLUMNS = [
  'InvoiceNo', 'Customer', 'InvoiceDate', 'DueDate', 'Terms', 'Memo', 'Item(Product/Service)', 'ItemDescription',
  'ItemQuantity', 'ItemRate', 'ItemAmount', 'ItemTaxCode', 'ItemTaxAmount', 'Currency', 'Service Date',
] as const;

export function quickbooksRows(invoices: readonly Invoice[]): string[][] {
  return invoices.flatMap((inv) =>
    inv.lines.map((l) => [
      inv.number, inv.customer, usDate(inv.date), usDate(inv.dueDate), TERMS, `Period ${inv.periodFrom} to ${inv.periodTo}`, l.item, l.description,
      '1', exactAmount(l.amount), exactAmount(l.amount), taxCodeOf(l), exactAmount(taxAmountOf(l)), inv.currency, usDate(inv.date),
    ]),
  );
}

export const XERO_COLUMNS = [
  'ContactName', 'EmailAddress', 'POAddressLine1', 'POAddressLine2', 'POAddressLine3', 'POAddressLine4', 'POCity', 'PORegion', 'POPostalCode', 'POCountry',
  'InvoiceNumber', 'Reference', 'InvoiceDate', 'DueDate', 'InventoryItemCode', 'Description', 'Quantity', 'UnitAmount', 'Discount', 'AccountCode',
  'TaxType', 'TaxAmount', 'TrackingName1', 'TrackingOption1', 'TrackingName2', 'TrackingOption2', 'Currency', 'BrandingTheme',
] as const;

/** Xero's rows; `accountCode` is the issuer's revenue account (Xero posts each line to it). */
export function xeroRows(invoices: readonly Invoice[], accountCode: string): string[][] {
  return invoices.flatMap((inv) =>
    inv.lines.map((l) => [
      inv.customer, inv.email, '', '', '', '', '', '', '', '',
      inv.number, `${inv.periodFrom} to ${inv.periodTo}`, ukDate(inv.date), ukDate(inv.dueDate), l.item, l.description, '1', exactAmount(l.amount), '', accountCode,
      taxCodeOf(l) || 'No Tax', exactAmount(taxAmountOf(l)), '', '', '', '', inv.currency, '',
    ]),
  );
}
