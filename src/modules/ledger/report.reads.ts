/**
 * The reports' carrier and tax figures (issue 12; modules/reports), from the ledger's pre-aggregated
 * figures (usage_figures level 'carrier', tax_figures), and the accounting exports' charges
 * (chargeBookTotals, which reads charges and says why). Usage per reseller, subscriber,
 * destination and day is read by modules/reports/reports.reads.ts.
 */
import type { Queryable } from '../../db/knex';
import type { Scope } from '../../domain/tenancy/roles';

const iso = (ms: number) => new Date(ms).toISOString();

/** Taxes of one tax, side and currency in a period: the charges it was levied on, their taxable base and the tax. */
export interface ChargeTaxTotal {
  /** wholesale: the operator's tax on what a reseller pays; retail: a reseller's tax on what its subscriber pays. */
  side: 'wholesale' | 'retail';
  taxId: number;
  taxName: string;
  jurisdictionId: number | null;
  jurisdictionName: string | null;
  country: string | null;
  region: string | null;
  /** The charge's currency (the plan's), which its taxes are in. */
  currency: string;
  charges: number;
  taxable: string;
  amount: string;
}

/**
 * Usage taxes by tax and currency of the charges of legs started in [fromMs, toMs): the operator's
 * staff the wholesale side of every reseller, a reseller's people both sides of their own charges
 * (what it levies on its subscribers and what the operator levies on it).
 *
 * From tax_figures (tax_totals and the deltas not folded yet; migrations/20261210000300): whole UTC
 * days from the day grain, the hours at the period's ends from the hour grain (periodGrid), so a
 * month reads thousands of rows, not its charges.
 */
export async function chargeTaxTotals(db: Queryable, scope: Scope, period: { fromMs: number; toMs: number }): Promise<ChargeTaxTotal[]> {
  if (scope.kind === 'subscriber') return [];
  const grid = periodGrid(period);
  const own = scope.kind === 'reseller' ? `AND f.reseller_id = ${Number(scope.resellerId)}` : `AND f.side = 'wholesale'`;
  const { rows } = (await db.raw(
    `SELECT g.side, g.tax_id, coalesce(x.name, g.tax_name) AS tax_name, j.id AS jurisdiction_id, j.name AS jurisdiction_name, j.country, j.region,
            g.currency, g.charges::text, g.taxable::text, g.amount::text
       FROM (SELECT f.side, f.tax_id, min(f.tax_name) AS tax_name, btrim(f.currency) AS currency,
                    sum(f.charges) AS charges, sum(f.taxable) AS taxable, sum(f.amount) AS amount
               FROM tax_figures f
              WHERE (${grid.sql}) ${own}
              GROUP BY 1, 2, 4
             HAVING sum(f.charges) <> 0) g
       LEFT JOIN taxes x ON x.id = g.tax_id
       LEFT JOIN tax_jurisdictions j ON j.id = x.jurisdiction_id
      ORDER BY g.side DESC, j.country NULLS LAST, j.region NULLS FIRST, tax_name, g.tax_id, g.currency`,
    grid.bindings,
  )) as { rows: Array<Record<string, any>> };
  return rows.map((r) => ({
    side: r.side, taxId: Number(r.tax_id), taxName: r.tax_name ?? '', jurisdictionId: r.jurisdiction_id == null ? null : Number(r.jurisdiction_id),
    jurisdictionName: r.jurisdiction_name ?? null, country: r.country == null ? null : String(r.country).trim(), region: r.region ?? null,
    currency: r.currency, charges: Number(r.charges), taxable: r.taxable, amount: r.amount,
  }));
}

/** Legs that left by one LD carrier, and their wholesale charges in one currency. */
export interface CarrierTotal {
  /** As the platform's trunk map named it; '' when the leg's trunk was not in the map. */
  carrier: string;
  /** The wholesale charge's currency; '' for legs without one (unrated, blocked). */
  currency: string;
  calls: number;
  answered: number;
  seconds: number;
  amount: string;
}

/**
 * Outbound (and forwarded) legs attributed to a reseller, started in [fromMs, toMs), per LD carrier
 * and wholesale currency: operator staff only. From usage_figures' level 'carrier' (every reseller
 * per carrier; migrations/20261210000300), whole UTC days and the end hours as periodGrid says.
 */
export async function carrierTotals(db: Queryable, scope: Scope, period: { fromMs: number; toMs: number }): Promise<CarrierTotal[]> {
  if (scope.kind !== 'wholesale') return [];
  const grid = periodGrid(period);
  const { rows } = (await db.raw(
    `SELECT f.carrier, btrim(f.wholesale_currency) AS currency, sum(f.calls)::text AS calls, sum(f.answered)::text AS answered,
            sum(f.seconds)::text AS seconds, sum(f.wholesale)::text AS amount
       FROM usage_figures f
      WHERE f.level = 'carrier' AND (${grid.sql})
      GROUP BY 1, 2
     HAVING sum(f.calls) <> 0
      ORDER BY 1, 2`,
    grid.bindings,
  )) as { rows: Array<Record<string, any>> };
  return rows.map((r) => ({ carrier: r.carrier, currency: r.currency, calls: Number(r.calls), answered: Number(r.answered), seconds: Number(r.seconds), amount: r.amount }));
}

const DAY = 86_400_000;

/**
 * The buckets of pre-aggregated figures (alias f, columns grain and bucket) that make up the period
 * [fromMs, toMs): whole UTC days inside it from the day grain, the hours at its two ends from the hour
 * grain. Exact for periods that start and end on whole hours (local days of every whole-hour zone;
 * docs/DASHBOARDS.md).
 */
export function periodGrid(period: { fromMs: number; toMs: number }): { sql: string; bindings: string[] } {
  const d0 = Math.ceil(period.fromMs / DAY) * DAY;
  const d1 = Math.floor(period.toMs / DAY) * DAY;
  if (d0 >= d1) return { sql: `f.grain = 'hour' AND f.bucket >= ? AND f.bucket < ?`, bindings: [iso(period.fromMs), iso(period.toMs)] };
  return {
    sql: `(f.grain = 'day' AND f.bucket >= ? AND f.bucket < ?) OR (f.grain = 'hour' AND ((f.bucket >= ? AND f.bucket < ?) OR (f.bucket >= ? AND f.bucket < ?)))`,
    bindings: [iso(d0), iso(d1), iso(period.fromMs), iso(d0), iso(d1), iso(period.toMs)],
  };
}

/** Charges of one side, reseller, subscriber, local day, destination and currency, with their taxes. */
export interface ChargeBookTotal {
  resellerId: number;
  /** 0: a leg of no subscriber. */
  subscriberId: number;
  day: string;
  /** As the usage totals name it: the charge's destination description, else its prefix. */
  destination: string;
  currency: string;
  charges: number;
  seconds: number;
  /** Before tax, exact numeric text. */
  amount: string;
  /** Each tax by name (its code in the accounting exports), exact numeric text. */
  taxes: Array<{ code: string; amount: string }>;
}

/**
 * The accounting exports' reads of charges (modules/accounting): one side's charges of legs
 * started in [fromMs, toMs) per reseller, local day of `timeZone` and currency, and per
 * subscriber and destination when asked (0 and '' otherwise), each group with its taxes by name. `resellerId` null: every reseller (operator staff);
 * otherwise that reseller's only, which the caller takes from the scope.
 *
 * Reads charges rather than usage_figures: an invoice line carries its own taxes, and the totals
 * keep amounts before tax only. Two passes over the period's partitions (amounts, then taxes).
 */
export async function chargeBookTotals(
  db: Queryable,
  q: { side: 'wholesale' | 'retail'; resellerId: number | null; fromMs: number; toMs: number; timeZone: string; bySubscriber: boolean; byDestination: boolean },
): Promise<ChargeBookTotal[]> {
  const own = q.resellerId === null ? '' : 'AND c.reseller_id = ?';
  const where = `c.kind = ? AND c.start_at >= ? AND c.start_at < ? ${own}`;
  const bind: Array<string | number> = [q.side, iso(q.fromMs), iso(q.toMs), ...(q.resellerId === null ? [] : [q.resellerId])];
  // Keys a caller does not need are constants, so the groups are as few as its figures allow.
  const keys = `c.reseller_id, ${q.bySubscriber ? 'coalesce(c.subscriber_id, 0)' : '0'} AS subscriber_id, to_char(c.start_at AT TIME ZONE ?, 'YYYY-MM-DD') AS day,
                ${q.byDestination ? "coalesce(nullif(c.description, ''), c.prefix)" : "''"} AS destination, btrim(c.currency) AS currency`;
  const [amounts, taxes] = await Promise.all([
    db.raw(
      `SELECT ${keys}, count(*)::text AS charges, sum(c.billable_seconds)::text AS seconds, sum(c.amount)::text AS amount
         FROM charges c WHERE ${where} GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`,
      [q.timeZone, ...bind],
    ) as Promise<{ rows: Array<Record<string, any>> }>,
    db.raw(
      `SELECT ${keys}, t->>'name' AS code, sum((t->>'amount')::numeric)::text AS amount
         FROM charges c CROSS JOIN LATERAL jsonb_array_elements(c.taxes) t
        WHERE ${where} AND c.taxes <> '[]'::jsonb GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6`,
      [q.timeZone, ...bind],
    ) as Promise<{ rows: Array<Record<string, any>> }>,
  ]);
  const key = (r: Record<string, any>) => [r.reseller_id, r.subscriber_id, r.day, r.destination, r.currency].join('\u0000');
  const out = new Map<string, ChargeBookTotal>();
  for (const r of amounts.rows) {
    out.set(key(r), {
      resellerId: Number(r.reseller_id), subscriberId: Number(r.subscriber_id), day: r.day, destination: r.destination, currency: r.currency,
      charges: Number(r.charges), seconds: Number(r.seconds), amount: r.amount, taxes: [],
    });
  }
  for (const r of taxes.rows) out.get(key(r))?.taxes.push({ code: r.code ?? '', amount: r.amount });
  return [...out.values()];
}
