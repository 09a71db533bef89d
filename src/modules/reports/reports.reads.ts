/**
 * The reports' reads of the pre-aggregated usage (usage_figures: usage_totals and the deltas not
 * folded yet, docs/DASHBOARDS.md) and of the recurring charges. Every figure is per currency pair
 * as stored; nothing here adds across currencies. A month of 10 million legs reads the totals'
 * rows of the period (hundreds to a few hundred thousand), never the legs: the figures that need
 * legs or charges are read by the ledger (ledger/report.reads.ts).
 */
import type { Queryable } from '../../db/knex';
import type { Scope } from '../../domain/tenancy/roles';

const iso = (ms: number) => new Date(ms).toISOString();
const DAY = 86_400_000;

/** What a usage table is grouped by. */
export type UsageGrouping = 'day' | 'reseller' | 'destination' | 'subscriber';

/** One key's figures in one pair of currencies ('' where a leg had no charge of that side). */
export interface UsageRow {
  /** The local date, the reseller's or subscriber's id (0: legs of no subscriber), or the destination. */
  key: string;
  wholesaleCurrency: string;
  retailCurrency: string;
  calls: number;
  answered: number;
  seconds: number;
  /** Amounts before tax, exact numeric text. */
  wholesale: string;
  retail: string;
}

export interface ReportPeriod {
  fromMs: number;
  toMs: number;
  timeZone: string;
}

const SUMS = 'sum(calls) AS calls, sum(answered) AS answered, sum(seconds) AS seconds, sum(wholesale) AS wholesale, sum(retail) AS retail';

/**
 * The scope's usage in the period per day (local days of the period's zone: the UTC hours that
 * start in each), reseller (operator staff), subscriber (a reseller's people) or destination.
 * Operator staff read every reseller's legs together; a reseller's people their own only.
 */
export async function usageRows(db: Queryable, scope: Scope, by: UsageGrouping, period: ReportPeriod): Promise<UsageRow[]> {
  if (scope.kind === 'subscriber') return [];
  if (by === 'reseller' && scope.kind !== 'wholesale') return [];
  if (by === 'subscriber' && scope.kind !== 'reseller') return [];
  const wholesale = scope.kind === 'wholesale';
  const level =
    by === 'day' ? (wholesale ? 'all' : 'reseller')
    : by === 'reseller' ? 'reseller'
    : by === 'subscriber' ? 'subscriber'
    : wholesale ? 'destination' : 'reseller_destination';
  const own = wholesale ? '' : 'AND reseller_id = ?';
  const ownBind = wholesale ? [] : [scope.resellerId];
  const from = iso(period.fromMs);
  const to = iso(period.toMs);

  let sql: string;
  let bind: Array<string | number>;
  if (by === 'day') {
    // Hours first, then each hour's local day: the zone conversion once per hour, not per row.
    sql = `SELECT to_char(bucket AT TIME ZONE ?, 'YYYY-MM-DD') AS key, wholesale_currency, retail_currency, ${SUMS}
             FROM (SELECT bucket, wholesale_currency, retail_currency, ${SUMS}
                     FROM usage_figures
                    WHERE level = ? AND grain = 'hour' AND bucket >= ? AND bucket < ? ${own}
                    GROUP BY 1, 2, 3) h
            GROUP BY 1, 2, 3`;
    bind = [period.timeZone, level, from, to, ...ownBind];
  } else {
    const key = by === 'destination' ? 'destination' : by === 'reseller' ? 'reseller_id::text' : 'subscriber_id::text';
    const select = `SELECT ${key} AS key, wholesale_currency, retail_currency, calls, answered, seconds, wholesale, retail FROM usage_figures WHERE level = '${level}' ${own}`;
    // Whole UTC days inside the period from the day grain, the hours at its two ends from the hour
    // grain (as the dashboards' top lists); the subscriber level keeps hours only.
    const d0 = Math.ceil(period.fromMs / DAY) * DAY;
    const d1 = Math.floor(period.toMs / DAY) * DAY;
    if (level !== 'subscriber' && d0 < d1) {
      sql = `${select} AND grain = 'day' AND bucket >= ? AND bucket < ?
             UNION ALL
             ${select} AND grain = 'hour' AND ((bucket >= ? AND bucket < ?) OR (bucket >= ? AND bucket < ?))`;
      bind = [...ownBind, iso(d0), iso(d1), ...ownBind, from, iso(d0), iso(d1), to];
    } else {
      sql = `${select} AND grain = 'hour' AND bucket >= ? AND bucket < ?`;
      bind = [...ownBind, from, to];
    }
    sql = `SELECT key, wholesale_currency, retail_currency, ${SUMS} FROM (${sql}) s GROUP BY 1, 2, 3`;
  }
  const { rows } = (await db.raw(
    `SELECT key, wholesale_currency, retail_currency, calls::text, answered::text, seconds::text, wholesale::text, retail::text
       FROM (${sql}) g
      WHERE calls <> 0 OR seconds <> 0 OR wholesale <> 0 OR retail <> 0
      ORDER BY 1, 2, 3`,
    bind,
  )) as { rows: Array<Record<string, string>> };
  return rows.map((r) => ({
    key: r.key as string, wholesaleCurrency: r.wholesale_currency as string, retailCurrency: r.retail_currency as string,
    calls: Number(r.calls), answered: Number(r.answered), seconds: Number(r.seconds), wholesale: r.wholesale as string, retail: r.retail as string,
  }));
}

/** Names of resellers by id (operator staff's reports). */
export async function resellerNames(db: Queryable, ids: number[]): Promise<Map<number, { name: string; code: string }>> {
  if (ids.length === 0) return new Map();
  const rows = (await db('resellers').whereIn('id', ids).select('id', 'name', 'code')) as Array<{ id: number | string; name: string; code: string }>;
  return new Map(rows.map((r) => [Number(r.id), { name: r.name, code: r.code }]));
}

/** Names of one reseller's subscribers by id: another reseller's ids find nothing. */
export async function subscriberNames(db: Queryable, resellerId: number, ids: number[]): Promise<Map<number, { name: string; accountNumber: string }>> {
  if (ids.length === 0) return new Map();
  const rows = (await db('subscribers').where('reseller_id', resellerId).whereIn('id', ids).select('id', 'name', 'account_number')) as Array<{ id: number | string; name: string; account_number: string }>;
  return new Map(rows.map((r) => [Number(r.id), { name: r.name, accountNumber: r.account_number }]));
}

/** Recurring charges of one group: lines, amounts in the charge's currency, the total as billed. */
export interface RecurringRow {
  side: 'wholesale' | 'retail';
  resellerId: number;
  resellerName: string;
  subscriberId: number | null;
  accountNumber: string | null;
  packageKind: 'feature' | 'toll';
  packageName: string;
  item: 'setup' | 'monthly' | 'credit';
  currency: string;
  billedCurrency: string;
  lines: number;
  amount: string;
  taxAmount: string;
  total: string;
  billedTotal: string;
}

/**
 * Recurring charges of cycles that began in the period (as the account pages count them): operator
 * staff the wholesale side (what resellers pay it), a reseller's people both sides of their own
 * (what it bills its subscribers, what the operator bills it).
 */
export async function recurringRows(db: Queryable, scope: Scope, period: ReportPeriod): Promise<RecurringRow[]> {
  if (scope.kind === 'subscriber') return [];
  const own = scope.kind === 'reseller' ? 'AND rc.reseller_id = ?' : `AND rc.side = 'wholesale'`;
  const bind: Array<string | number> = [iso(period.fromMs), iso(period.toMs)];
  if (scope.kind === 'reseller') bind.push(scope.resellerId);
  const { rows } = (await db.raw(
    `SELECT rc.side, rc.reseller_id, r.name AS reseller_name, rc.subscriber_id, s.account_number, rc.package_kind, rc.package_name, rc.item,
            btrim(rc.currency) AS currency, btrim(rc.billed_currency) AS billed_currency, count(*)::text AS lines,
            sum(rc.amount)::text AS amount, sum(rc.tax_amount)::text AS tax_amount, sum(rc.total)::text AS total, sum(rc.billed_total)::text AS billed_total
       FROM recurring_charges rc
       JOIN resellers r ON r.id = rc.reseller_id
       LEFT JOIN subscribers s ON s.id = rc.subscriber_id AND s.reseller_id = rc.reseller_id
      WHERE rc.cycle_start >= ? AND rc.cycle_start < ? ${own}
      GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
      ORDER BY rc.side DESC, r.name, rc.reseller_id, s.account_number NULLS FIRST, rc.package_name, rc.item, 9, 10`,
    bind,
  )) as { rows: Array<Record<string, any>> };
  return rows.map((r) => ({
    side: r.side, resellerId: Number(r.reseller_id), resellerName: r.reseller_name, subscriberId: r.subscriber_id == null ? null : Number(r.subscriber_id),
    accountNumber: r.account_number ?? null, packageKind: r.package_kind, packageName: r.package_name, item: r.item, currency: r.currency,
    billedCurrency: r.billed_currency, lines: Number(r.lines), amount: r.amount, taxAmount: r.tax_amount, total: r.total, billedTotal: r.billed_total,
  }));
}

/** Taxes on recurring charges by tax and currency (the same sides as recurringRows). */
export interface RecurringTaxRow {
  side: 'wholesale' | 'retail';
  taxId: number;
  taxName: string;
  jurisdictionName: string | null;
  country: string | null;
  region: string | null;
  currency: string;
  lines: number;
  taxable: string;
  amount: string;
}

export async function recurringTaxRows(db: Queryable, scope: Scope, period: ReportPeriod): Promise<RecurringTaxRow[]> {
  if (scope.kind === 'subscriber') return [];
  const own = scope.kind === 'reseller' ? 'AND rc.reseller_id = ?' : `AND rc.side = 'wholesale'`;
  const bind: Array<string | number> = [iso(period.fromMs), iso(period.toMs)];
  if (scope.kind === 'reseller') bind.push(scope.resellerId);
  const { rows } = (await db.raw(
    `SELECT g.side, g.tax_id, coalesce(x.name, g.tax_name) AS tax_name, j.name AS jurisdiction_name, j.country, j.region, g.currency,
            g.lines::text, g.taxable::text, g.amount::text
       FROM (SELECT rc.side, (t->>'tax_id')::bigint AS tax_id, min(t->>'name') AS tax_name, btrim(rc.currency) AS currency,
                    count(*) AS lines, sum((t->>'taxable')::numeric) AS taxable, sum((t->>'amount')::numeric) AS amount
               FROM recurring_charges rc CROSS JOIN LATERAL jsonb_array_elements(rc.taxes) t
              WHERE rc.cycle_start >= ? AND rc.cycle_start < ? ${own}
              GROUP BY 1, 2, 4) g
       LEFT JOIN taxes x ON x.id = g.tax_id
       LEFT JOIN tax_jurisdictions j ON j.id = x.jurisdiction_id
      ORDER BY g.side DESC, j.country NULLS LAST, j.region NULLS FIRST, tax_name, g.tax_id, g.currency`,
    bind,
  )) as { rows: Array<Record<string, any>> };
  return rows.map((r) => ({
    side: r.side, taxId: Number(r.tax_id), taxName: r.tax_name ?? '', jurisdictionName: r.jurisdiction_name ?? null,
    country: r.country == null ? null : String(r.country).trim(), region: r.region ?? null, currency: r.currency,
    lines: Number(r.lines), taxable: r.taxable, amount: r.amount,
  }));
}
