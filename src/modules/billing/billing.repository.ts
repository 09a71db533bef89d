import type { Queryable } from '../../db/knex';
import type { BillingSide, PostedLine, RecurringItem } from '../../domain/billing/recurring';
import { parseScaled, SCALE, type Fixed } from '../../domain/money/fixed';
import { partyTimeZoneSql } from '../settings/settings.repository';


/** A party's billing terms: its cycle, its zone, its billed currency, whether it is taxed and where. */
export interface BillingParty {
  side: BillingSide;
  resellerId: number;
  resellerName: string;
  /** Null for the reseller's own (wholesale) account. */
  subscriberId: number | null;
  name: string;
  accountNumber: string | null;
  cycleDay: number;
  /** The subscriber follows its reseller's cycle day (billing_cycle_day null). */
  cycleDayInherited: boolean;
  timeZone: string;
  billedCurrency: string;
  taxExempt: boolean;
  /** Where taxes are levied: the subscriber's service address (a reseller has none). */
  address: { country: string; region: string | null } | null;
  /** The reseller has the operator rate and bill its subscribers (resellers.billing_service). */
  billingService: boolean;
  createdAt: Date;
}

/** Both parties of a subscriber's assignment, read in one row. */
const PARTY_COLUMNS = `
  r.id AS r_id, r.name AS r_name, r.billing_cycle_day AS r_day, ${partyTimeZoneSql('r.time_zone')} AS r_zone,
  r.currency AS r_currency, r.tax_exempt AS r_exempt, r.billing_service AS r_billing_service, r.created_at AS r_created_at,
  s.id AS s_id, s.name AS s_name, s.account_number AS s_account, s.billing_cycle_day AS s_day,
  ${partyTimeZoneSql('s.time_zone', 'r.time_zone')} AS s_zone, coalesce(s.billing_currency, r.currency) AS s_currency,
  s.tax_exempt AS s_exempt, s.country AS s_country, s.region AS s_region, s.created_at AS s_created_at`;

function partyOf(r: Record<string, any>, side: BillingSide): BillingParty {
  const address = r.s_id == null ? null : { country: String(r.s_country).trim(), region: r.s_region ?? null };
  if (side === 'wholesale') {
    return {
      side, resellerId: Number(r.r_id), resellerName: r.r_name, subscriberId: null, name: r.r_name, accountNumber: null,
      cycleDay: Number(r.r_day), cycleDayInherited: false, timeZone: r.r_zone, billedCurrency: String(r.r_currency).trim(),
      taxExempt: r.r_exempt === true, address, billingService: r.r_billing_service === true, createdAt: new Date(r.r_created_at),
    };
  }
  return {
    side, resellerId: Number(r.r_id), resellerName: r.r_name, subscriberId: Number(r.s_id), name: r.s_name, accountNumber: r.s_account,
    cycleDay: Number(r.s_day ?? r.r_day), cycleDayInherited: r.s_day == null, timeZone: r.s_zone, billedCurrency: String(r.s_currency).trim(),
    taxExempt: r.s_exempt === true, address, billingService: r.r_billing_service === true, createdAt: new Date(r.s_created_at),
  };
}

/** A reseller's wholesale account terms (its own cycle, zone and currency). */
export async function resellerParty(db: Queryable, resellerId: number): Promise<BillingParty | undefined> {
  const { rows } = await db.raw(`SELECT ${PARTY_COLUMNS} FROM resellers r LEFT JOIN subscribers s ON false WHERE r.id = ?`, [resellerId]);
  return rows[0] ? partyOf(rows[0], 'wholesale') : undefined;
}

/** A subscriber's retail account terms (its cycle day and zone, or its reseller's). */
export async function subscriberParty(db: Queryable, resellerId: number, subscriberId: number): Promise<BillingParty | undefined> {
  const { rows } = await db.raw(`SELECT ${PARTY_COLUMNS} FROM subscribers s JOIN resellers r ON r.id = s.reseller_id WHERE s.id = ? AND s.reseller_id = ?`, [subscriberId, resellerId]);
  return rows[0] ? partyOf(rows[0], 'retail') : undefined;
}

/** One package price: the package a line is charged for and its fees. */
export interface PackagePrice {
  kind: 'feature' | 'toll';
  packageId: number;
  name: string;
  currency: string;
  setupFee: Fixed;
  monthlyFee: Fixed;
}

/** An assignment as the bill run sees it: its span, and the price and party of each side it is charged on. */
export interface BillableAssignment {
  id: number;
  /** Null: the reseller holds it. */
  subscriberId: number | null;
  startsAtMs: number;
  endsAtMs: number | null;
  wholesale: { price: PackagePrice; party: BillingParty } | null;
  retail: { price: PackagePrice; party: BillingParty } | null;
}

function money(v: unknown): Fixed {
  const f = parseScaled(String(v));
  if (!f) throw new Error(`not an amount: ${String(v)}`);
  return f;
}

function priceOf(r: Record<string, any>, prefix: string, kind: 'feature' | 'toll'): PackagePrice {
  return {
    kind, packageId: Number(r[`${prefix}_id`]), name: r[`${prefix}_name`], currency: String(r[`${prefix}_currency`]).trim(),
    setupFee: money(r[`${prefix}_setup`]), monthlyFee: money(r[`${prefix}_monthly`]),
  };
}

/**
 * Assignments that may owe a line at `nowMs`: begun by then, and not ended more than `horizonDays`
 * before (a credit for a month posted before an end is owed until the run after the end).
 *
 * Sides: a reseller's feature package held by its subscriber is charged retail at its price and
 * wholesale at its base's; an operator's package (feature or toll) is charged wholesale to the
 * reseller at its own price; a reseller's toll package is charged retail only. Retail lines are
 * posted only for a reseller that uses the billing service (as retail usage is rated only then).
 */
export async function billableAssignments(db: Queryable, nowMs: number, horizonDays = 100): Promise<BillableAssignment[]> {
  const now = new Date(nowMs).toISOString();
  const { rows } = (await db.raw(
    `SELECT a.id, a.starts_at, a.ends_at, a.subscriber_id IS NOT NULL AS held_by_subscriber,
            CASE WHEN a.feature_package_id IS NOT NULL THEN 'feature' ELSE 'toll' END AS kind,
            coalesce(fp.id, tp.id) AS p_id, coalesce(fp.name, tp.name) AS p_name, coalesce(fp.currency, tp.currency) AS p_currency,
            coalesce(fp.setup_fee, tp.setup_fee)::text AS p_setup, coalesce(fp.monthly_fee, tp.monthly_fee)::text AS p_monthly,
            coalesce(fp.reseller_id, tp.reseller_id) AS p_owner,
            b.id AS b_id, b.name AS b_name, b.currency AS b_currency, b.setup_fee::text AS b_setup, b.monthly_fee::text AS b_monthly,
            ${PARTY_COLUMNS}
       FROM package_assignments a
       JOIN resellers r ON r.id = a.reseller_id
       LEFT JOIN subscribers s ON s.id = a.subscriber_id
       LEFT JOIN feature_packages fp ON fp.id = a.feature_package_id
       LEFT JOIN feature_packages b ON b.id = fp.base_package_id
       LEFT JOIN toll_packages tp ON tp.id = a.toll_package_id
      WHERE a.starts_at <= ?::timestamptz
        AND (a.ends_at IS NULL OR a.ends_at > ?::timestamptz - make_interval(days => ?))
      ORDER BY a.id`,
    [now, now, horizonDays],
  )) as { rows: Array<Record<string, any>> };
  return rows.map((r) => {
    const kind = r.kind as 'feature' | 'toll';
    const own = priceOf(r, 'p', kind);
    const resellers = r.p_owner != null;
    const wholesalePrice = !resellers ? own : kind === 'feature' && r.b_id != null ? priceOf(r, 'b', 'feature') : null;
    const retail = resellers && r.held_by_subscriber && r.r_billing_service === true;
    return {
      id: Number(r.id),
      subscriberId: r.s_id == null ? null : Number(r.s_id),
      startsAtMs: new Date(r.starts_at).getTime(),
      endsAtMs: r.ends_at ? new Date(r.ends_at).getTime() : null,
      wholesale: wholesalePrice ? { price: wholesalePrice, party: partyOf(r, 'wholesale') } : null,
      retail: retail ? { price: own, party: partyOf(r, 'retail') } : null,
    };
  });
}

/** The lines already posted for assignments on one side, of cycles that ended after `sinceMs`, by assignment. */
export async function postedLines(db: Queryable, side: BillingSide, assignmentIds: number[], sinceMs: number): Promise<Map<number, PostedLine[]>> {
  const out = new Map<number, PostedLine[]>();
  if (assignmentIds.length === 0) return out;
  const rows = (await db('recurring_charges')
    .where('side', side)
    .whereIn('assignment_id', assignmentIds)
    .where('cycle_end', '>', new Date(sinceMs).toISOString())
    .select('assignment_id', 'item', 'cycle_start', 'cycle_end', 'days', db.raw('amount::text as amount'), 'charged_at')) as Array<Record<string, any>>;
  for (const r of rows) {
    const list = out.get(Number(r.assignment_id)) ?? [];
    const a = money(r.amount);
    list.push({
      item: r.item, cycleStartMs: new Date(r.cycle_start).getTime(), cycleEndMs: new Date(r.cycle_end).getTime(), days: Number(r.days),
      amount: a.coef * 10n ** BigInt(SCALE - a.scale), chargedAtMs: new Date(r.charged_at).getTime(),
    });
    out.set(Number(r.assignment_id), list);
  }
  return out;
}

export interface NewLine {
  assignmentId: number;
  side: BillingSide;
  item: RecurringItem;
  resellerId: number;
  subscriberId: number | null;
  packageKind: 'feature' | 'toll';
  packageId: number;
  packageName: string;
  cycleStartMs: number;
  cycleEndMs: number;
  cycleStartDate: string;
  cycleEndDate: string;
  days: number;
  cycleDays: number;
  fee: string;
  currency: string;
  amount: string;
  taxes: Array<{ tax_id: number; name: string; basis: string; rate: string; taxable: string; amount: string }>;
  taxAmount: string;
  total: string;
  billedCurrency: string;
  exchangeRate: string;
  billedTotal: string;
  chargedAtMs: number;
}

/** Stores a line unless its (assignment, side, item, cycle) is there already: true when this call stored it. */
export async function insertLine(db: Queryable, l: NewLine): Promise<boolean> {
  const { rows } = await db.raw(
    `INSERT INTO recurring_charges (assignment_id, side, item, reseller_id, subscriber_id, package_kind, package_id, package_name,
        cycle_start, cycle_end, cycle_start_date, cycle_end_date, days, cycle_days, fee, currency, amount, taxes, tax_amount, total,
        billed_currency, exchange_rate, billed_total, charged_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (assignment_id, side, item, cycle_start) DO NOTHING
     RETURNING id`,
    [
      l.assignmentId, l.side, l.item, l.resellerId, l.subscriberId, l.packageKind, l.packageId, l.packageName,
      new Date(l.cycleStartMs).toISOString(), new Date(l.cycleEndMs).toISOString(), l.cycleStartDate, l.cycleEndDate, l.days, l.cycleDays,
      l.fee, l.currency, l.amount, JSON.stringify(l.taxes), l.taxAmount, l.total, l.billedCurrency, l.exchangeRate, l.billedTotal,
      new Date(l.chargedAtMs).toISOString(),
    ],
  );
  return rows.length > 0;
}

/** A posted line as the account pages show it. */
export interface RecurringLine {
  id: number;
  side: BillingSide;
  item: RecurringItem;
  packageKind: 'feature' | 'toll';
  packageName: string;
  subscriberId: number | null;
  accountNumber: string | null;
  cycleStartDate: string;
  cycleEndDate: string;
  days: number;
  cycleDays: number;
  fee: string;
  currency: string;
  amount: string;
  taxAmount: string;
  total: string;
  billedCurrency: string;
  exchangeRate: string;
  billedTotal: string;
  chargedAt: Date;
  postedAt: Date;
}

/** One party's lines: a reseller's wholesale lines, or a subscriber's retail lines. */
function partyLines(db: Queryable, party: BillingParty) {
  const q = db('recurring_charges as rc').where('rc.reseller_id', party.resellerId).where('rc.side', party.side);
  if (party.side === 'retail') q.where('rc.subscriber_id', party.subscriberId as number);
  return q;
}

/** The party's lines of cycles that began in [fromMs, toMs), oldest first. */
export async function linesIn(db: Queryable, party: BillingParty, fromMs: number, toMs: number): Promise<RecurringLine[]> {
  const rows = (await partyLines(db, party)
    .leftJoin('subscribers as s', 's.id', 'rc.subscriber_id')
    .where('rc.cycle_start', '>=', new Date(fromMs).toISOString())
    .where('rc.cycle_start', '<', new Date(toMs).toISOString())
    .orderBy([{ column: 'rc.cycle_start' }, { column: 'rc.assignment_id' }, { column: 'rc.id' }])
    .select(
      'rc.*', 's.account_number',
      db.raw('rc.cycle_start_date::text as start_date'), db.raw('rc.cycle_end_date::text as end_date'),
      db.raw('rc.fee::text as fee_text'), db.raw('rc.amount::text as amount_text'), db.raw('rc.tax_amount::text as tax_text'),
      db.raw('rc.total::text as total_text'), db.raw('rc.exchange_rate::text as rate_text'), db.raw('rc.billed_total::text as billed_text'),
    )) as Array<Record<string, any>>;
  return rows.map((r) => ({
    id: Number(r.id), side: r.side, item: r.item, packageKind: r.package_kind, packageName: r.package_name,
    subscriberId: r.subscriber_id == null ? null : Number(r.subscriber_id), accountNumber: r.account_number ?? null,
    cycleStartDate: r.start_date, cycleEndDate: r.end_date, days: Number(r.days), cycleDays: Number(r.cycle_days),
    fee: r.fee_text, currency: String(r.currency).trim(), amount: r.amount_text, taxAmount: r.tax_text, total: r.total_text,
    billedCurrency: String(r.billed_currency).trim(), exchangeRate: r.rate_text, billedTotal: r.billed_text,
    chargedAt: r.charged_at, postedAt: r.posted_at,
  }));
}

/** Sums of the party's lines per period (by cycle start) and currency pair. */
export interface RecurringTotal {
  currency: string;
  billedCurrency: string;
  lines: number;
  amount: string;
  taxAmount: string;
  total: string;
  billedTotal: string;
}

export async function recurringByPeriod(db: Queryable, party: BillingParty, periods: ReadonlyArray<{ fromMs: number; toMs: number }>): Promise<RecurringTotal[][]> {
  const out: RecurringTotal[][] = periods.map(() => []);
  if (periods.length === 0) return out;
  const values = periods.map(() => '(?::int, ?::timestamptz, ?::timestamptz)').join(', ');
  const bind: Array<string | number> = [];
  periods.forEach((p, i) => bind.push(i, new Date(p.fromMs).toISOString(), new Date(p.toMs).toISOString()));
  const sub = party.side === 'retail' ? 'AND rc.subscriber_id = ?' : '';
  const { rows } = (await db.raw(
    `SELECT p.i, rc.currency, rc.billed_currency, count(*)::bigint AS n, sum(rc.amount)::text AS amount, sum(rc.tax_amount)::text AS tax_amount,
            sum(rc.total)::text AS total, sum(rc.billed_total)::text AS billed_total
       FROM (VALUES ${values}) AS p(i, f, t)
       JOIN recurring_charges rc ON rc.reseller_id = ? AND rc.side = ? ${sub} AND rc.cycle_start >= p.f AND rc.cycle_start < p.t
      GROUP BY p.i, rc.currency, rc.billed_currency ORDER BY p.i, rc.billed_currency, rc.currency`,
    [...bind, party.resellerId, party.side, ...(party.side === 'retail' ? [party.subscriberId as number] : [])],
  )) as { rows: Array<Record<string, any>> };
  for (const r of rows) {
    (out[Number(r.i)] as RecurringTotal[]).push({
      currency: String(r.currency).trim(), billedCurrency: String(r.billed_currency).trim(), lines: Number(r.n),
      amount: r.amount, taxAmount: r.tax_amount, total: r.total, billedTotal: r.billed_total,
    });
  }
  return out;
}
