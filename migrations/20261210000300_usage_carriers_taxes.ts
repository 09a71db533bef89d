import type { Knex } from 'knex';

/*
 * The reports' carrier and tax tables from pre-aggregated figures (issue 12: "a report over a month
 * of 10 million legs under 2 s"). They read every leg and charge of the period (about 50 s and 20 s
 * at 10 million legs, by the reports' first measurement); now:
 *
 * - usage_deltas carries each leg's carrier (null: not a destination called, so on no carrier's
 *   bill; '' for an outbound leg whose trunk was in no map) and its charges' tax lines (the JSON of
 *   charges.taxes, as stored), so the intake writes nothing more than a wider row;
 * - usage_totals gets a carrier in its key and a level 'carrier' (every reseller, per carrier);
 * - tax_totals keeps each tax's charges, taxable base and amount per side, reseller, currency, UTC
 *   hour and day, folded from the same deltas by the usage folder (ledger.repository.ts foldUsage);
 * - tax_figures reads like usage_figures: the totals and the deltas not folded yet.
 * Both are backfilled from the legs and charges stored so far.
 */
const LEVELS = `(VALUES ('all', 'hour'), ('reseller', 'hour'), ('reseller', 'day'), ('destination', 'hour'), ('destination', 'day'),
  ('reseller_destination', 'hour'), ('reseller_destination', 'day'), ('subscriber', 'hour'), ('carrier', 'hour'), ('carrier', 'day')) AS v(level, grain)`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw('DROP VIEW usage_figures');
  await knex.raw(`ALTER TABLE usage_deltas ADD COLUMN carrier text, ADD COLUMN wholesale_taxes jsonb NOT NULL DEFAULT '[]', ADD COLUMN retail_taxes jsonb NOT NULL DEFAULT '[]'`);
  await knex.raw(`ALTER TABLE usage_totals ADD COLUMN carrier text NOT NULL DEFAULT ''`);
  await knex.raw(`ALTER TABLE usage_totals DROP CONSTRAINT usage_totals_pkey`);
  await knex.raw(`ALTER TABLE usage_totals ADD PRIMARY KEY (level, grain, reseller_id, subscriber_id, destination, carrier, wholesale_currency, retail_currency, bucket)`);
  await knex.raw(`ALTER TABLE usage_totals DROP CONSTRAINT usage_totals_level_check`);
  await knex.raw(`ALTER TABLE usage_totals ADD CONSTRAINT usage_totals_level_check CHECK (level IN ('all', 'reseller', 'destination', 'reseller_destination', 'subscriber', 'carrier'))`);
  // Carriers of the legs stored so far.
  await knex.raw(`
    INSERT INTO usage_totals (level, grain, bucket, reseller_id, subscriber_id, destination, carrier, wholesale_currency, retail_currency, calls, answered, seconds, wholesale, retail)
    SELECT 'carrier', v.grain, date_trunc(v.grain, l.start_at, 'UTC'), 0, 0, '', coalesce(l.carrier, ''), coalesce(w.currency, ''), coalesce(r.currency, ''),
           count(*), count(*) FILTER (WHERE l.answered), coalesce(sum(l.billable_seconds), 0), coalesce(sum(w.amount), 0), coalesce(sum(r.amount), 0)
      FROM call_legs l
      LEFT JOIN charges w ON w.leg_id = l.id AND w.start_at = l.start_at AND w.kind = 'wholesale'
      LEFT JOIN charges r ON r.leg_id = l.id AND r.start_at = l.start_at AND r.kind = 'retail'
      CROSS JOIN (VALUES ('hour'), ('day')) AS v(grain)
     WHERE l.reseller_id IS NOT NULL AND l.direction IN ('outbound', 'forwarded')
     GROUP BY 2, 3, 7, 8, 9`);

  await knex.raw(`
    CREATE TABLE tax_totals (
      side text NOT NULL CONSTRAINT tax_totals_side_check CHECK (side IN ('wholesale', 'retail')),
      grain text NOT NULL CONSTRAINT tax_totals_grain_check CHECK (grain IN ('hour', 'day')),
      bucket timestamptz NOT NULL,
      reseller_id bigint NOT NULL,
      tax_id bigint NOT NULL,
      currency text NOT NULL,
      tax_name text NOT NULL,
      charges bigint NOT NULL,
      taxable numeric(30,10) NOT NULL,
      amount numeric(30,10) NOT NULL,
      PRIMARY KEY (side, grain, reseller_id, tax_id, currency, bucket)
    )`);
  await knex.raw(`CREATE INDEX tax_totals_bucket_idx ON tax_totals (grain, bucket)`);
  // Taxes of the charges stored so far (of legs attributed to a reseller, as the deltas count them).
  await knex.raw(`
    INSERT INTO tax_totals (side, grain, bucket, reseller_id, tax_id, currency, tax_name, charges, taxable, amount)
    SELECT c.kind, v.grain, date_trunc(v.grain, c.start_at, 'UTC'), c.reseller_id, (t->>'tax_id')::bigint, c.currency, min(t->>'name'),
           count(*), sum((t->>'taxable')::numeric), sum((t->>'amount')::numeric)
      FROM charges c CROSS JOIN LATERAL jsonb_array_elements(c.taxes) t CROSS JOIN (VALUES ('hour'), ('day')) AS v(grain)
     WHERE c.taxes <> '[]'::jsonb
     GROUP BY 1, 2, 3, 4, 5, 6`);

  await knex.raw(`
    CREATE VIEW usage_figures AS
    SELECT level, grain, bucket, reseller_id, subscriber_id, destination, carrier, wholesale_currency, retail_currency, calls, answered, seconds, wholesale, retail
      FROM usage_totals
    UNION ALL
    SELECT v.level, v.grain, date_trunc(v.grain, d.start_at, 'UTC'),
           CASE WHEN v.level IN ('destination', 'all', 'carrier') THEN 0 ELSE d.reseller_id END,
           CASE WHEN v.level = 'subscriber' THEN d.subscriber_id ELSE 0 END,
           CASE WHEN v.level IN ('destination', 'reseller_destination') THEN d.destination ELSE '' END,
           CASE WHEN v.level = 'carrier' THEN d.carrier ELSE '' END,
           d.wholesale_currency, d.retail_currency, d.calls, d.answered, d.seconds, d.wholesale, d.retail
      FROM usage_deltas d CROSS JOIN ${LEVELS}
     WHERE v.level <> 'carrier' OR d.carrier IS NOT NULL`);
  await knex.raw(`
    CREATE VIEW tax_figures AS
    SELECT side, grain, bucket, reseller_id, tax_id, currency, tax_name, charges, taxable, amount FROM tax_totals
    UNION ALL
    SELECT t.side, g.grain, date_trunc(g.grain, d.start_at, 'UTC'), d.reseller_id, (x->>'tax_id')::bigint, t.currency, x->>'name',
           sign(d.calls)::bigint, sign(d.calls) * (x->>'taxable')::numeric, sign(d.calls) * (x->>'amount')::numeric
      FROM usage_deltas d
     CROSS JOIN LATERAL (VALUES ('wholesale', d.wholesale_currency, d.wholesale_taxes), ('retail', d.retail_currency, d.retail_taxes)) AS t(side, currency, taxes)
     CROSS JOIN LATERAL jsonb_array_elements(t.taxes) AS x
     CROSS JOIN (VALUES ('hour'), ('day')) AS g(grain)`);
}

export async function down(knex: Knex): Promise<void> {
  // Deltas not folded yet: their carriers and taxes go with the columns (their usage stays for the folder).
  await knex.raw('DROP VIEW tax_figures');
  await knex.raw('DROP VIEW usage_figures');
  await knex.raw('DROP TABLE tax_totals');
  await knex.raw(`DELETE FROM usage_totals WHERE level = 'carrier'`);
  await knex.raw(`ALTER TABLE usage_totals DROP CONSTRAINT usage_totals_level_check`);
  await knex.raw(`ALTER TABLE usage_totals ADD CONSTRAINT usage_totals_level_check CHECK (level IN ('all', 'reseller', 'destination', 'reseller_destination', 'subscriber'))`);
  await knex.raw(`ALTER TABLE usage_totals DROP CONSTRAINT usage_totals_pkey`);
  await knex.raw(`ALTER TABLE usage_totals DROP COLUMN carrier`);
  await knex.raw(`ALTER TABLE usage_totals ADD PRIMARY KEY (level, grain, reseller_id, subscriber_id, destination, wholesale_currency, retail_currency, bucket)`);
  await knex.raw(`ALTER TABLE usage_deltas DROP COLUMN carrier, DROP COLUMN wholesale_taxes, DROP COLUMN retail_taxes`);
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
