/**
 * The general-ledger journal of the accounting exports (issue 12): figures of a period (sales and
 * purchases of calls and recurring charges, each with its taxes) posted as double-entry lines to a
 * party's account codes. Pure: the figures come from the reports' reads, the codes from the party's
 * settings.
 *
 * - One entry per local day (or one for the whole period) per currency: money is never added
 *   across currencies, so each entry balances in its own currency.
 * - A sale debits receivable with the gross and credits revenue with the net and tax payable with
 *   each tax; a purchase (what a reseller pays the operator) debits cost of sales with the net and
 *   tax paid with each tax, and credits payable with the gross. The gross is the net plus the taxes
 *   as listed, so every entry balances by construction (and a test holds it to it).
 * - Amounts are exact: the stored numerics, added with decimal.js, written without rounding.
 */
import { Decimal } from '../money/decimal';

export interface AccountCodes {
  revenue: string;
  costOfSales: string;
  taxPayable: string;
  receivable: string;
  payable: string;
  taxPaid: string;
}

/** Codes of a common small-business chart of accounts, for a party that set none. */
export const DEFAULT_ACCOUNT_CODES: Readonly<AccountCodes> = Object.freeze({
  receivable: '1200', payable: '2000', taxPayable: '2200', revenue: '4000', costOfSales: '5000', taxPaid: '5100',
});

export const ACCOUNT_CODE_LABELS: Record<keyof AccountCodes, string> = {
  revenue: 'Revenue',
  costOfSales: 'Cost of sales',
  taxPayable: 'Tax payable',
  receivable: 'Accounts receivable',
  payable: 'Accounts payable',
  taxPaid: 'Taxes paid to the operator',
};

/** One group of money of one local day and currency, as the reads give it. */
export interface BookFigure {
  day: string;
  currency: string;
  /** sale: the party bills it; purchase: the party is billed it. */
  flow: 'sale' | 'purchase';
  /** What it is, for the line's description: "Calls", "Recurring charges", with the counterparty. */
  label: string;
  /** Before tax, exact numeric text. */
  net: string;
  /** Each tax by its code (the tax's name), exact numeric text. */
  taxes: Array<{ code: string; amount: string }>;
}

export interface JournalLine {
  entry: string;
  date: string;
  account: string;
  description: string;
  debit: string;
  credit: string;
  currency: string;
  taxCode: string;
}

export const JOURNAL_COLUMNS = ['Entry', 'Date', 'Account', 'Description', 'Debit', 'Credit', 'Currency', 'Tax code'] as const;

/** Exact money text: every stored digit, at least two decimals. */
export function exactAmount(value: Decimal | string): string {
  const d = new Decimal(value);
  return d.decimalPlaces() < 2 ? d.toFixed(2) : d.toFixed();
}

export type JournalGrouping = 'day' | 'period';

/**
 * The journal's lines: entries in date then currency order, lines of an entry in the order of its
 * figures (debits and credits of each figure together). Figures of the same label, flow, currency
 * and entry are added first; lines of nothing are left out, and so are entries of nothing.
 */
export function journalLines(figures: readonly BookFigure[], codes: AccountCodes, o: { grouping: JournalGrouping; periodEnd: string }): JournalLine[] {
  // Fold the figures per entry, label and flow (a period's entry adds every day's).
  const entries = new Map<string, { date: string; currency: string; groups: Map<string, { flow: BookFigure['flow']; label: string; net: Decimal; taxes: Map<string, Decimal> }> }>();
  for (const f of figures) {
    const date = o.grouping === 'day' ? f.day : o.periodEnd;
    const key = `${date}\u0000${f.currency}`;
    const e = entries.get(key) ?? entries.set(key, { date, currency: f.currency, groups: new Map() }).get(key)!;
    const gk = `${f.flow}\u0000${f.label}`;
    const g = e.groups.get(gk) ?? e.groups.set(gk, { flow: f.flow, label: f.label, net: new Decimal(0), taxes: new Map() }).get(gk)!;
    g.net = g.net.plus(f.net);
    for (const t of f.taxes) g.taxes.set(t.code, (g.taxes.get(t.code) ?? new Decimal(0)).plus(t.amount));
  }
  const out: JournalLine[] = [];
  const keys = [...entries.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const k of keys) {
    const e = entries.get(k)!;
    const entry = `${e.date}-${e.currency}`;
    const lines: JournalLine[] = [];
    const line = (account: string, description: string, amount: Decimal, side: 'debit' | 'credit', taxCode = '') => {
      if (amount.isZero()) return;
      // A negative amount (a credit note's line) goes to the other side, so both columns stay positive.
      const s = amount.isNegative() ? (side === 'debit' ? 'credit' : 'debit') : side;
      const text = exactAmount(amount.abs());
      lines.push({ entry, date: e.date, account, description, debit: s === 'debit' ? text : '', credit: s === 'credit' ? text : '', currency: e.currency, taxCode });
    };
    for (const g of e.groups.values()) {
      const taxes = [...g.taxes.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const gross = taxes.reduce((s, [, a]) => s.plus(a), g.net);
      if (g.flow === 'sale') {
        line(codes.receivable, `${g.label}: billed`, gross, 'debit');
        line(codes.revenue, `${g.label}: revenue`, g.net, 'credit');
        for (const [code, amount] of taxes) line(codes.taxPayable, `${g.label}: ${code}`, amount, 'credit', code);
      } else {
        line(codes.costOfSales, `${g.label}: cost`, g.net, 'debit');
        for (const [code, amount] of taxes) line(codes.taxPaid, `${g.label}: ${code}`, amount, 'debit', code);
        line(codes.payable, `${g.label}: owed`, gross, 'credit');
      }
    }
    out.push(...lines);
  }
  return out;
}

/** Debits and credits of each entry (per currency by construction): what a balanced journal shows equal. */
export function entryBalances(lines: readonly JournalLine[]): Map<string, { currency: string; debit: Decimal; credit: Decimal }> {
  const out = new Map<string, { currency: string; debit: Decimal; credit: Decimal }>();
  for (const l of lines) {
    const key = `${l.entry}\u0000${l.currency}`;
    const b = out.get(key) ?? out.set(key, { currency: l.currency, debit: new Decimal(0), credit: new Decimal(0) }).get(key)!;
    b.debit = b.debit.plus(l.debit || '0');
    b.credit = b.credit.plus(l.credit || '0');
  }
  return out;
}
