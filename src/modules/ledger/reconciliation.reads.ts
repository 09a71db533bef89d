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
