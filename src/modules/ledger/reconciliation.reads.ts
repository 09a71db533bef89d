import type { Queryable } from '../../db/knex';

/**
 * The legs a carrier reconciliation reads (issue 13; src/modules/reconciliation): a carrier's
 * outgoing legs of a period with what its cost deck says each costs us (the leg's 'carrier_cost'
 * charge), copied into a temporary table of the caller's transaction (dropped at its commit) that
 * the reconciliation's set-based matching then joins. The ledger is the only code that reads
 * call_legs and charges; this is its read for that.
 *
 * Legs: tagged with the carrier's name (any case), direction outbound or forwarded (the ones that
 * leave through an LD carrier), billable seconds > 0 (an unanswered call is not billed), any
 * status (an unrated leg still went out through the carrier). Columns of the table: leg_id,
 * start_at, called, seconds, expected_cost (null: no carrier_cost charge), currency (the charge's,
 * else the carrier's), destination (the deck's description, else its prefix), deck_rate (the rate
 * of the charge's first piece: pieces[0].rate, per the deck step's unit, a minute in carrier
 * decks; null when the charge has none).
 */
export async function stageCarrierLegs(
  tx: Queryable,
  table: 'recon_legs',
  o: { carrierName: string; carrierCurrency: string; from: Date; to: Date },
): Promise<void> {
  await tx.raw(
    `CREATE TEMP TABLE ${table} ON COMMIT DROP AS
       SELECT l.id AS leg_id, l.start_at, l.called_number AS called, l.billable_seconds AS seconds,
              c.amount AS expected_cost, coalesce(c.currency, ?) AS currency,
              coalesce(nullif(c.description, ''), c.prefix) AS destination,
              (c.pieces -> 0 ->> 'rate')::numeric AS deck_rate
         FROM call_legs l
         LEFT JOIN charges c ON c.leg_id = l.id AND c.start_at = l.start_at AND c.kind = 'carrier_cost'
        WHERE l.start_at >= ? AND l.start_at < ?
          AND lower(l.carrier) = lower(?)
          AND l.direction IN ('outbound', 'forwarded')
          AND l.billable_seconds > 0
          AND l.called_number IS NOT NULL`,
    [o.carrierCurrency, o.from, o.to, o.carrierName],
  );
}

/**
 * How many legs a reconciliation of the carrier and period would stage (stageCarrierLegs' filter),
 * counted up to `limit` (a run is large once it passes a threshold; past it the exact number
 * does not matter and is not worth reading).
 */
export async function countCarrierLegs(db: Queryable, o: { carrierName: string; from: Date; to: Date; limit: number }): Promise<number> {
  const { rows } = await db.raw(
    `SELECT count(*)::int AS n FROM (
       SELECT 1 FROM call_legs l
        WHERE l.start_at >= ? AND l.start_at < ?
          AND lower(l.carrier) = lower(?)
          AND l.direction IN ('outbound', 'forwarded')
          AND l.billable_seconds > 0
          AND l.called_number IS NOT NULL
        LIMIT ?) x`,
    [o.from, o.to, o.carrierName, o.limit],
  );
  return Number(rows[0].n);
}

export interface CarrierTrafficRow {
  /** The carrier's name as legs carry it, a day (YYYY-MM-DD in the zone asked) or a destination (the deck's description, else prefix; '' none). */
  key: string;
  carrier: string;
  calls: number;
  seconds: number;
  /** Expected carrier cost (carrier_cost charges), its currency; null: no leg of the group was priced with a cost deck. */
  cost: string | null;
  costCurrency: string | null;
  wholesale: string | null;
  wholesaleCurrency: string | null;
  retail: string | null;
  retailCurrency: string | null;
}

/**
 * Outgoing PSTN traffic per LD carrier (issue 13, "Reports by LD carrier"): legs that left by a
 * carrier (outbound or forwarded, tagged with a carrier) started in [from, to), per carrier and per
 * `by` (the carrier alone, the local day in `zone`, or the destination of its carrier cost), with
 * the expected carrier cost and what was billed (wholesale and retail amounts before tax, in their
 * plans' currencies), one row per group and currencies. `carrier`: one carrier's name (any case).
 */
export async function carrierTraffic(
  db: Queryable,
  o: { from: Date; to: Date; by: 'carrier' | 'day' | 'destination'; zone: string; carrier?: string },
): Promise<CarrierTrafficRow[]> {
  const key = o.by === 'carrier' ? "''" : o.by === 'day' ? `to_char((l.start_at AT TIME ZONE ?)::date, 'YYYY-MM-DD')` : "coalesce(nullif(cc.description, ''), cc.prefix, '')";
  const args: Array<string | Date> = o.by === 'day' ? [o.zone] : [];
  args.push(o.from, o.to);
  if (o.carrier) args.push(o.carrier);
  const { rows } = await db.raw(
    `SELECT ${key} AS key, min(l.carrier) AS carrier, count(*)::int AS calls, sum(l.billable_seconds)::bigint AS seconds,
            sum(cc.amount)::text AS cost, btrim(cc.currency) AS cost_currency, sum(w.amount)::text AS wholesale, btrim(w.currency) AS wholesale_currency,
            sum(r.amount)::text AS retail, btrim(r.currency) AS retail_currency
       FROM call_legs l
       LEFT JOIN charges cc ON cc.leg_id = l.id AND cc.start_at = l.start_at AND cc.kind = 'carrier_cost'
       LEFT JOIN charges w ON w.leg_id = l.id AND w.start_at = l.start_at AND w.kind = 'wholesale'
       LEFT JOIN charges r ON r.leg_id = l.id AND r.start_at = l.start_at AND r.kind = 'retail'
      WHERE l.start_at >= ? AND l.start_at < ? AND l.direction IN ('outbound', 'forwarded') AND l.carrier IS NOT NULL
        ${o.carrier ? 'AND lower(l.carrier) = lower(?)' : ''}
      GROUP BY lower(l.carrier), 1, cc.currency, w.currency, r.currency
      ORDER BY lower(l.carrier), 1, cc.currency NULLS LAST, w.currency NULLS LAST, r.currency NULLS LAST`,
    args,
  );
  return rows.map((r: any) => ({
    key: r.key, carrier: r.carrier, calls: Number(r.calls), seconds: Number(r.seconds), cost: r.cost, costCurrency: r.cost_currency,
    wholesale: r.wholesale, wholesaleCurrency: r.wholesale_currency, retail: r.retail, retailCurrency: r.retail_currency,
  }));
}
