import type { Knex } from 'knex';

/*
 * The dashboards' usage totals kept off the intake's hot path (docs/DASHBOARDS.md).
 *
 * Until now every write of legs upserted about 3.5 usage_totals rows a leg in its own statement, and
 * the busiest rows (a reseller's hour, a destination's hour) are shared by both intake lanes: bench
 * (b) measured p50 15 -> 37 ms and p99 79 -> 310 ms at 1,000 posts/s on the same machine. Now a write
 * appends one row per leg to usage_deltas (no key, no index, no lock anyone else waits for: figures
 * to add, or with re-rating to take away), and the ledger's usage folder moves them into
 * usage_totals about once a second in one transaction (delete the rows it takes, upsert their sums).
 * Readers read usage_figures: the totals and the deltas not yet folded, so a figure is exact the
 * moment the write commits, not a second later.
 *
 * Level 'all' (every reseller together, per UTC hour): the operator's per-day chart over 90 days
 * read the reseller level's hours of every reseller (214,000 rows at 2.85 M legs, p95 565 ms); one
 * row per hour and currency pair serves it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE usage_deltas (
      start_at timestamptz NOT NULL,
      reseller_id bigint NOT NULL,
      subscriber_id bigint NOT NULL,
      destination text NOT NULL,
      wholesale_currency text NOT NULL,
      retail_currency text NOT NULL,
      calls integer NOT NULL,
      answered integer NOT NULL,
      seconds bigint NOT NULL,
      wholesale numeric(30,10) NOT NULL,
      retail numeric(30,10) NOT NULL
    ) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 20000, autovacuum_vacuum_insert_scale_factor = 0)`);

  await knex.raw(`ALTER TABLE usage_totals DROP CONSTRAINT usage_totals_level_check`);
  await knex.raw(`ALTER TABLE usage_totals ADD CONSTRAINT usage_totals_level_check CHECK (level IN ('all', 'reseller', 'destination', 'reseller_destination', 'subscriber'))`);
  await knex.raw(`
    INSERT INTO usage_totals (level, grain, bucket, reseller_id, subscriber_id, destination, wholesale_currency, retail_currency, calls, answered, seconds, wholesale, retail)
    SELECT 'all', 'hour', bucket, 0, 0, '', wholesale_currency, retail_currency, sum(calls), sum(answered), sum(seconds), sum(wholesale), sum(retail)
      FROM usage_totals WHERE level = 'reseller' AND grain = 'hour'
     GROUP BY bucket, wholesale_currency, retail_currency`);

  // The same levels as the folder's (ledger.repository.ts USAGE_LEVELS, as it is today).
  await knex.raw(`
    CREATE VIEW usage_figures AS
    SELECT level, grain, bucket, reseller_id, subscriber_id, destination, wholesale_currency, retail_currency, calls, answered, seconds, wholesale, retail
      FROM usage_totals
    UNION ALL
    SELECT v.level, v.grain, date_trunc(v.grain, d.start_at, 'UTC'),
           CASE WHEN v.level IN ('destination', 'all') THEN 0 ELSE d.reseller_id END,
           CASE WHEN v.level = 'subscriber' THEN d.subscriber_id ELSE 0 END,
           CASE WHEN v.level IN ('destination', 'reseller_destination') THEN d.destination ELSE '' END,
           d.wholesale_currency, d.retail_currency, d.calls, d.answered, d.seconds, d.wholesale, d.retail
      FROM usage_deltas d
     CROSS JOIN (VALUES ('all', 'hour'), ('reseller', 'hour'), ('reseller', 'day'), ('destination', 'hour'), ('destination', 'day'),
                        ('reseller_destination', 'hour'), ('reseller_destination', 'day'), ('subscriber', 'hour')) AS v(level, grain)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP VIEW IF EXISTS usage_figures');
  await knex.raw(`DELETE FROM usage_totals WHERE level = 'all'`);
  await knex.raw(`ALTER TABLE usage_totals DROP CONSTRAINT usage_totals_level_check`);
  await knex.raw(`ALTER TABLE usage_totals ADD CONSTRAINT usage_totals_level_check CHECK (level IN ('reseller', 'destination', 'reseller_destination', 'subscriber'))`);
  // Deltas not folded yet would be lost with their table: fold them first (the same sums as the folder's).
  await knex.raw(`
    INSERT INTO usage_totals AS t (level, grain, bucket, reseller_id, subscriber_id, destination, wholesale_currency, retail_currency, calls, answered, seconds, wholesale, retail)
    SELECT level, grain, bucket, reseller_id, subscriber_id, destination, wholesale_currency, retail_currency, sum(calls), sum(answered), sum(seconds), sum(wholesale), sum(retail)
      FROM (SELECT v.level, v.grain, date_trunc(v.grain, d.start_at, 'UTC') AS bucket,
                   CASE WHEN v.level = 'destination' THEN 0 ELSE d.reseller_id END AS reseller_id,
                   CASE WHEN v.level = 'subscriber' THEN d.subscriber_id ELSE 0 END AS subscriber_id,
                   CASE WHEN v.level IN ('destination', 'reseller_destination') THEN d.destination ELSE '' END AS destination,
                   d.wholesale_currency, d.retail_currency, d.calls, d.answered, d.seconds, d.wholesale, d.retail
              FROM usage_deltas d
             CROSS JOIN (VALUES ('reseller', 'hour'), ('reseller', 'day'), ('destination', 'hour'), ('destination', 'day'),
                                ('reseller_destination', 'hour'), ('reseller_destination', 'day'), ('subscriber', 'hour')) AS v(level, grain)) s
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT (level, grain, reseller_id, subscriber_id, destination, wholesale_currency, retail_currency, bucket) DO UPDATE
       SET calls = t.calls + excluded.calls, answered = t.answered + excluded.answered, seconds = t.seconds + excluded.seconds,
           wholesale = t.wholesale + excluded.wholesale, retail = t.retail + excluded.retail`);
  await knex.raw('DROP TABLE IF EXISTS usage_deltas');
}
