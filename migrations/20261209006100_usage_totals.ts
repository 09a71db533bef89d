import type { Knex } from 'knex';

/**
 * Pre-aggregated usage for the dashboards (docs/DASHBOARDS.md): calls, answered calls, billable
 * seconds and the wholesale and retail amounts (before tax, in each charge's plan currency) of the
 * legs attributed to a reseller, summed per UTC hour and per UTC day. Written only by the ledger,
 * in the transaction (or the statement) that stores or re-rates the legs
 * (ledger.repository.ts, "Usage totals").
 *
 * One table, four levels, each a grouping of the same figures:
 *   reseller             per reseller                      (hour, day)
 *   destination          per destination, every reseller   (hour, day) reseller_id 0
 *   reseller_destination per reseller and destination     (hour, day)
 *   subscriber           per reseller and subscriber        (hour only) subscriber_id 0: legs of no subscriber
 * A local day of a viewer's zone is the hours that start in it; a period's top lists read whole UTC
 * days from the day grain and the hours at its two ends from the hour grain.
 * Money is never added across currencies: both currencies are in the key ('' for no charge).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE usage_totals (
      level text NOT NULL CONSTRAINT usage_totals_level_check CHECK (level IN ('reseller', 'destination', 'reseller_destination', 'subscriber')),
      grain text NOT NULL CONSTRAINT usage_totals_grain_check CHECK (grain IN ('hour', 'day')),
      bucket timestamptz NOT NULL,
      reseller_id bigint NOT NULL,
      subscriber_id bigint NOT NULL,
      destination text NOT NULL,
      wholesale_currency text NOT NULL,
      retail_currency text NOT NULL,
      calls bigint NOT NULL,
      answered bigint NOT NULL,
      seconds bigint NOT NULL,
      wholesale numeric(30,10) NOT NULL,
      retail numeric(30,10) NOT NULL,
      PRIMARY KEY (level, grain, reseller_id, subscriber_id, destination, wholesale_currency, retail_currency, bucket)
    )`);
  // Reads by period: every reseller's (the operator's lists) or one reseller's.
  await knex.raw(`CREATE INDEX usage_totals_bucket_idx ON usage_totals (level, grain, bucket)`);
  await knex.raw(`CREATE INDEX usage_totals_reseller_bucket_idx ON usage_totals (level, grain, reseller_id, bucket)`);

  // The backfill from the legs stored so far: the same figures the ledger adds per write (kept
  // here as it is today; a migration does not follow later code).
  await knex.raw(`
    INSERT INTO usage_totals (level, grain, bucket, reseller_id, subscriber_id, destination, wholesale_currency, retail_currency, calls, answered, seconds, wholesale, retail)
    SELECT v.level, v.grain, date_trunc(v.grain, s.start_at, 'UTC'),
           CASE WHEN v.level = 'destination' THEN 0 ELSE s.reseller_id END,
           CASE WHEN v.level = 'subscriber' THEN s.subscriber_id ELSE 0 END,
           CASE WHEN v.level IN ('destination', 'reseller_destination') THEN s.destination ELSE '' END,
           s.wholesale_currency, s.retail_currency,
           count(*), count(*) FILTER (WHERE s.answered), coalesce(sum(s.billable_seconds), 0), coalesce(sum(s.wholesale), 0), coalesce(sum(s.retail), 0)
      FROM (SELECT l.start_at, l.reseller_id, coalesce(l.subscriber_id, 0) AS subscriber_id, l.answered, l.billable_seconds,
                   coalesce(w.currency, '') AS wholesale_currency, coalesce(w.amount, 0) AS wholesale,
                   coalesce(r.currency, '') AS retail_currency, coalesce(r.amount, 0) AS retail,
                   coalesce(nullif(w.description, ''), nullif(r.description, ''), w.prefix, r.prefix, '') AS destination
              FROM call_legs l
              LEFT JOIN charges w ON w.leg_id = l.id AND w.start_at = l.start_at AND w.kind = 'wholesale'
              LEFT JOIN charges r ON r.leg_id = l.id AND r.start_at = l.start_at AND r.kind = 'retail'
             WHERE l.reseller_id IS NOT NULL) s
     CROSS JOIN (VALUES ('reseller', 'hour'), ('reseller', 'day'), ('destination', 'hour'), ('destination', 'day'),
                        ('reseller_destination', 'hour'), ('reseller_destination', 'day'), ('subscriber', 'hour')) AS v(level, grain)
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS usage_totals');
}
