/**
 * Account codes (migration 20261210006100_account_codes) and the recurring charges as the
 * accounting exports read them. A reseller's row is read and written by the id the caller took
 * from its scope; the operator's row is the one of no reseller.
 */
import type { Queryable } from '../../db/knex';
import { DEFAULT_ACCOUNT_CODES, type AccountCodes } from '../../domain/accounting/journal';

const iso = (ms: number) => new Date(ms).toISOString();

const COLUMNS: Record<keyof AccountCodes, string> = {
  revenue: 'revenue', costOfSales: 'cost_of_sales', taxPayable: 'tax_payable', receivable: 'receivable', payable: 'payable', taxPaid: 'tax_paid',
};

/** The owner's codes, or the defaults when it set none (`saved` says which). */
export async function accountCodes(db: Queryable, resellerId: number | null): Promise<{ codes: AccountCodes; saved: boolean }> {
  const q = db('account_codes');
  const row = await (resellerId === null ? q.whereNull('reseller_id') : q.where('reseller_id', resellerId)).first();
  if (!row) return { codes: { ...DEFAULT_ACCOUNT_CODES }, saved: false };
  const codes = Object.fromEntries(Object.entries(COLUMNS).map(([k, col]) => [k, row[col] as string])) as unknown as AccountCodes;
  return { codes, saved: true };
}

export async function saveAccountCodes(db: Queryable, resellerId: number | null, codes: AccountCodes): Promise<void> {
  // The owner's one row: the unique index on coalesce(reseller_id, 0) is the conflict target.
  await db.raw(
    `INSERT INTO account_codes (reseller_id, revenue, cost_of_sales, tax_payable, receivable, payable, tax_paid)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT ((coalesce(reseller_id, 0))) DO UPDATE
       SET revenue = excluded.revenue, cost_of_sales = excluded.cost_of_sales, tax_payable = excluded.tax_payable,
           receivable = excluded.receivable, payable = excluded.payable, tax_paid = excluded.tax_paid, updated_at = now()`,
    [resellerId, codes.revenue, codes.costOfSales, codes.taxPayable, codes.receivable, codes.payable, codes.taxPaid],
  );
}

/** Recurring charges of one side, reseller, subscriber, local day, package and item, with taxes by name. */
export interface RecurringBookTotal {
  resellerId: number;
  subscriberId: number | null;
  day: string;
  packageName: string;
  item: string;
  currency: string;
  lines: number;
  amount: string;
  taxes: Array<{ code: string; amount: string }>;
}

/**
 * Recurring charges whose cycle began in the period (as the reports count them), in the charge's
 * currency (the reports' "Amount" and "Tax amount"). `resellerId` null: every reseller's.
 */
export async function recurringBookTotals(
  db: Queryable,
  q: { side: 'wholesale' | 'retail'; resellerId: number | null; fromMs: number; toMs: number; timeZone: string },
): Promise<RecurringBookTotal[]> {
  const own = q.resellerId === null ? '' : 'AND rc.reseller_id = ?';
  const where = `rc.side = ? AND rc.cycle_start >= ? AND rc.cycle_start < ? ${own}`;
  const bind: Array<string | number> = [q.side, iso(q.fromMs), iso(q.toMs), ...(q.resellerId === null ? [] : [q.resellerId])];
  const keys = `rc.reseller_id, rc.subscriber_id, to_char(rc.cycle_start AT TIME ZONE ?, 'YYYY-MM-DD') AS day, rc.package_name, rc.item, btrim(rc.currency) AS currency`;
  const [amounts, taxes] = await Promise.all([
    db.raw(`SELECT ${keys}, count(*)::text AS lines, sum(rc.amount)::text AS amount FROM recurring_charges rc WHERE ${where} GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6`, [q.timeZone, ...bind]) as Promise<{ rows: Array<Record<string, any>> }>,
    db.raw(
      `SELECT ${keys}, t->>'name' AS code, sum((t->>'amount')::numeric)::text AS amount
         FROM recurring_charges rc CROSS JOIN LATERAL jsonb_array_elements(rc.taxes) t
        WHERE ${where} GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7`,
      [q.timeZone, ...bind],
    ) as Promise<{ rows: Array<Record<string, any>> }>,
  ]);
  const key = (r: Record<string, any>) => [r.reseller_id, r.subscriber_id ?? '', r.day, r.package_name, r.item, r.currency].join('\u0000');
  const out = new Map<string, RecurringBookTotal>();
  for (const r of amounts.rows) {
    out.set(key(r), {
      resellerId: Number(r.reseller_id), subscriberId: r.subscriber_id == null ? null : Number(r.subscriber_id), day: r.day, packageName: r.package_name,
      item: r.item, currency: r.currency, lines: Number(r.lines), amount: r.amount, taxes: [],
    });
  }
  for (const r of taxes.rows) out.get(key(r))?.taxes.push({ code: r.code ?? '', amount: r.amount });
  return [...out.values()];
}

/** Names of resellers (customers of the operator's invoices). */
export async function resellerParties(db: Queryable, resellerId: number | null): Promise<Map<number, { name: string; code: string; email: string }>> {
  const q = db('resellers').select('id', 'name', 'code', 'contact_email');
  const rows = (await (resellerId === null ? q : q.where('id', resellerId))) as Array<Record<string, any>>;
  return new Map(rows.map((r) => [Number(r.id), { name: r.name, code: r.code, email: r.contact_email ?? '' }]));
}

/** One reseller's subscribers (customers of its invoices): another reseller's are never read. */
export async function subscriberParties(db: Queryable, resellerId: number): Promise<Map<number, { name: string; accountNumber: string; email: string }>> {
  const rows = (await db('subscribers').where('reseller_id', resellerId).select('id', 'name', 'account_number', 'email')) as Array<Record<string, any>>;
  return new Map(rows.map((r) => [Number(r.id), { name: r.name, accountNumber: r.account_number, email: r.email ?? '' }]));
}
