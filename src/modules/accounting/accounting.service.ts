/**
 * Accounting exports (issue 12): a party's books for a period of local days, as a general-ledger
 * journal (domain/accounting/journal.ts) and as invoice-import files (domain/accounting/invoices.ts).
 *
 * - A reseller's books: what it bills its subscribers (retail charges and recurring charges, with
 *   its taxes) and what the operator bills it (wholesale charges and recurring charges, with the
 *   operator's taxes), to its own account codes; its invoices are one per subscriber.
 * - The operator's books: what it bills resellers (wholesale charges and recurring charges, with
 *   its taxes), every reseller's or one's, to the operator's codes; its invoices one per reseller.
 *
 * The figures are the reports' own (charges of legs started in the period, recurring charges of
 * cycles that began in it), so the journal's totals equal the reports' (test/integration/accounting.test.ts).
 */
import type { Db } from '../../db/knex';
import { BadRequestError, FieldErrors } from '../../domain/errors';
import { dueDateOf, type Invoice, type InvoiceLine } from '../../domain/accounting/invoices';
import { ACCOUNT_CODE_LABELS, journalLines, type AccountCodes, type BookFigure, type JournalGrouping, type JournalLine } from '../../domain/accounting/journal';
import { Decimal } from '../../domain/money/decimal';
import type { Scope } from '../../domain/tenancy/roles';
import { dayPeriod, type DayPeriod } from '../../domain/time/day-period';
import type { Actor } from '../../domain/tenancy/actor';
import { recordAudit } from '../audit/audit.repository';
import { chargeBookTotals } from '../ledger/report.reads';
import { getOrThrow as getReseller } from '../resellers/resellers.service';
import * as repo from './accounting.repository';

/** Whose books: the operator's (every reseller, or one), or one reseller's own. */
export type Book = { kind: 'operator'; resellerId: number | null } | { kind: 'reseller'; resellerId: number };

/** The book a scope may read: a reseller's people their own; operator staff the operator's. */
export function bookOf(scope: Scope, onlyReseller?: number): Book {
  if (scope.kind === 'reseller') return { kind: 'reseller', resellerId: scope.resellerId };
  if (scope.kind === 'wholesale') return { kind: 'operator', resellerId: onlyReseller ?? null };
  throw new BadRequestError('Accounting exports are for the operator\'s staff and resellers\' people.');
}

interface Figures {
  period: DayPeriod;
  problem?: string;
  codes: AccountCodes;
  figures: BookFigure[];
  invoices: Invoice[];
}

const sumTaxes = (taxes: Array<{ code: string; amount: string }>) => taxes.reduce((s, t) => s.plus(t.amount), new Decimal(0));

/** Adds the taxes of several groups by code. */
function mergeTaxes(into: Map<string, Decimal>, taxes: Array<{ code: string; amount: string }>): void {
  for (const t of taxes) into.set(t.code, (into.get(t.code) ?? new Decimal(0)).plus(t.amount));
}
const taxList = (m: Map<string, Decimal>) => [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([code, amount]) => ({ code, amount: amount.toFixed() }));

/** Invoices of one customer key and currency, their lines kept in order of first appearance. */
class InvoiceBook {
  private readonly byKey = new Map<string, { customer: number; currency: string; lines: Map<string, { item: string; description: string; amount: Decimal; taxes: Map<string, Decimal> }> }>();

  add(customer: number, currency: string, item: string, description: string, amount: string, taxes: Array<{ code: string; amount: string }>): void {
    const k = `${customer}\u0000${currency}`;
    const inv = this.byKey.get(k) ?? this.byKey.set(k, { customer, currency, lines: new Map() }).get(k)!;
    const lk = `${item}\u0000${description}`;
    const line = inv.lines.get(lk) ?? inv.lines.set(lk, { item, description, amount: new Decimal(0), taxes: new Map() }).get(lk)!;
    line.amount = line.amount.plus(amount);
    mergeTaxes(line.taxes, taxes);
  }

  invoices(period: DayPeriod, prefix: string, party: (id: number) => { name: string; ref: string; email: string } | undefined): Invoice[] {
    const out: Invoice[] = [];
    for (const inv of this.byKey.values()) {
      const p = party(inv.customer);
      if (!p) continue;
      const lines: InvoiceLine[] = [...inv.lines.values()]
        .filter((l) => !l.amount.isZero() || [...l.taxes.values()].some((t) => !t.isZero()))
        .map((l) => ({ item: l.item, description: l.description, amount: l.amount.toFixed(), taxes: taxList(l.taxes) }));
      if (lines.length === 0) continue;
      out.push({
        number: `${prefix}-${period.to.replace(/-/g, '')}-${p.ref}-${inv.currency}`, customer: p.name, email: p.email,
        date: period.to, dueDate: dueDateOf(period.to), periodFrom: period.from, periodTo: period.to, currency: inv.currency, lines,
      });
    }
    return out.sort((a, b) => (a.number < b.number ? -1 : 1));
  }
}

const minutes = (seconds: number) => new Decimal(seconds).div(60).toFixed(2);

/** The book's figures, journal figures and invoices of a period (local dates of `timeZone`). */
export async function bookFigures(db: Db, book: Book, asked: { from?: string; to?: string }, timeZone: string, nowMs = Date.now()): Promise<Figures> {
  const { period, problem } = dayPeriod(asked, timeZone, nowMs);
  const q = { resellerId: book.resellerId, fromMs: period.fromMs, toMs: period.toMs, timeZone };
  const { codes } = await repo.accountCodes(db, book.kind === 'reseller' ? book.resellerId : null);
  const figures: BookFigure[] = [];
  const invoices = new InvoiceBook();

  if (book.kind === 'operator') {
    const [usage, recurring, resellers] = await Promise.all([
      chargeBookTotals(db, { side: 'wholesale', ...q, bySubscriber: false, byDestination: true }),
      repo.recurringBookTotals(db, { side: 'wholesale', ...q }),
      repo.resellerParties(db, book.resellerId),
    ]);
    const name = (id: number) => resellers.get(id)?.name ?? `#${id}`;
    // Destinations per reseller over the period: one invoice line each.
    const perDestination = new Map<string, { calls: number; seconds: number }>();
    for (const u of usage) {
      figures.push({ day: u.day, currency: u.currency, flow: 'sale', label: `Calls: ${name(u.resellerId)}`, net: u.amount, taxes: u.taxes });
      const k = `${u.resellerId}\u0000${u.currency}\u0000${u.destination}`;
      const c = perDestination.get(k) ?? perDestination.set(k, { calls: 0, seconds: 0 }).get(k)!;
      c.calls += u.charges;
      c.seconds += u.seconds;
    }
    for (const u of usage) {
      const c = perDestination.get(`${u.resellerId}\u0000${u.currency}\u0000${u.destination}`)!;
      invoices.add(u.resellerId, u.currency, 'Calls', `Calls to ${u.destination}: ${c.calls} ${c.calls === 1 ? 'call' : 'calls'}, ${minutes(c.seconds)} min`, u.amount, u.taxes);
    }
    for (const r of recurring) {
      figures.push({ day: r.day, currency: r.currency, flow: 'sale', label: `Recurring charges: ${name(r.resellerId)}`, net: r.amount, taxes: r.taxes });
      invoices.add(r.resellerId, r.currency, 'Recurring charges', `${r.packageName} (${r.item})`, r.amount, r.taxes);
    }
    return {
      period, ...(problem ? { problem } : {}), codes, figures,
      invoices: invoices.invoices(period, 'OP', (id) => {
        const r = resellers.get(id);
        return r && { name: r.name, ref: r.code, email: r.email };
      }),
    };
  }

  const [sales, purchases, recurringSales, recurringPurchases, subscribers] = await Promise.all([
    chargeBookTotals(db, { side: 'retail', ...q, bySubscriber: true, byDestination: false }),
    chargeBookTotals(db, { side: 'wholesale', ...q, bySubscriber: false, byDestination: false }),
    repo.recurringBookTotals(db, { side: 'retail', ...q }),
    repo.recurringBookTotals(db, { side: 'wholesale', ...q }),
    repo.subscriberParties(db, book.resellerId),
  ]);
  for (const u of sales) {
    figures.push({ day: u.day, currency: u.currency, flow: 'sale', label: 'Calls', net: u.amount, taxes: u.taxes });
    invoices.add(u.subscriberId, u.currency, 'Calls', 'Calls', u.amount, u.taxes);
  }
  for (const u of purchases) figures.push({ day: u.day, currency: u.currency, flow: 'purchase', label: 'Calls from the operator', net: u.amount, taxes: u.taxes });
  for (const r of recurringSales) {
    figures.push({ day: r.day, currency: r.currency, flow: 'sale', label: 'Recurring charges', net: r.amount, taxes: r.taxes });
    if (r.subscriberId !== null) invoices.add(r.subscriberId, r.currency, 'Recurring charges', `${r.packageName} (${r.item})`, r.amount, r.taxes);
  }
  for (const r of recurringPurchases) figures.push({ day: r.day, currency: r.currency, flow: 'purchase', label: 'Recurring charges from the operator', net: r.amount, taxes: r.taxes });
  return {
    period, ...(problem ? { problem } : {}), codes, figures,
    invoices: invoices.invoices(period, 'INV', (id) => {
      const s = subscribers.get(id);
      return s && { name: `${s.name} (${s.accountNumber})`, ref: s.accountNumber, email: s.email };
    }),
  };
}

export async function journal(db: Db, book: Book, asked: { from?: string; to?: string }, timeZone: string, grouping: JournalGrouping, nowMs = Date.now()): Promise<{ period: DayPeriod; problem?: string; lines: JournalLine[] }> {
  const f = await bookFigures(db, book, asked, timeZone, nowMs);
  return { period: f.period, ...(f.problem ? { problem: f.problem } : {}), lines: journalLines(f.figures, f.codes, { grouping, periodEnd: f.period.to }) };
}

/** A summary for the page: per currency, what was billed and what is owed, before and after tax. */
export function summary(f: Figures): Array<{ currency: string; flow: 'sale' | 'purchase'; net: string; tax: string }> {
  const m = new Map<string, { currency: string; flow: 'sale' | 'purchase'; net: Decimal; tax: Decimal }>();
  for (const x of f.figures) {
    const k = `${x.currency}\u0000${x.flow}`;
    const s = m.get(k) ?? m.set(k, { currency: x.currency, flow: x.flow, net: new Decimal(0), tax: new Decimal(0) }).get(k)!;
    s.net = s.net.plus(x.net);
    s.tax = s.tax.plus(sumTaxes(x.taxes));
  }
  return [...m.values()].sort((a, b) => (a.currency + a.flow < b.currency + b.flow ? -1 : 1)).map((s) => ({ currency: s.currency, flow: s.flow, net: s.net.toFixed(), tax: s.tax.toFixed() }));
}

// ---- account codes ----

export async function codesOf(db: Db, scope: Scope, owner: 'operator' | number): Promise<{ codes: AccountCodes; saved: boolean; reseller?: { id: number; name: string } }> {
  if (owner === 'operator') {
    if (scope.kind !== 'wholesale') throw new BadRequestError('The operator\'s account codes are for its staff.');
    return repo.accountCodes(db, null);
  }
  // getReseller checks the scope: a reseller's people reach their own only (404 otherwise).
  const reseller = await getReseller(db, scope, owner);
  return { ...(await repo.accountCodes(db, reseller.id)), reseller: { id: reseller.id, name: reseller.name } };
}

export async function saveCodes(db: Db, scope: Scope, actor: Actor, owner: 'operator' | number, codes: AccountCodes): Promise<void> {
  const before = await codesOf(db, scope, owner);
  const resellerId = owner === 'operator' ? null : (before.reseller?.id as number);
  const errors: Record<string, string> = {};
  for (const k of Object.keys(ACCOUNT_CODE_LABELS) as Array<keyof AccountCodes>) {
    if (!codes[k] || codes[k].trim().length === 0 || codes[k].length > 40) errors[k] = 'Give a code of 1 to 40 characters.';
  }
  if (Object.keys(errors).length) throw new FieldErrors(errors);
  await db.transaction(async (trx) => {
    await repo.saveAccountCodes(trx, resellerId, codes);
    await recordAudit(trx, actor, { resellerId, entityType: 'account_codes', entityId: resellerId, action: 'update', before: { ...before.codes }, after: { ...codes } });
  });
}
