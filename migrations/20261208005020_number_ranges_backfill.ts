import type { Knex } from 'knex';

/**
 * Ranges for the numbers active before ranges existed, so existing data stays valid: each
 * reseller's runs of consecutive numbers of one length become one range. Numbers are active on one
 * subscriber at most, so no run of one reseller holds another's number and no two runs overlap.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    INSERT INTO number_ranges (reseller_id, first_number, last_number)
    SELECT reseller_id, min(number), max(number)
      FROM (SELECT reseller_id, number,
                   e164_key(number) - row_number() OVER (PARTITION BY reseller_id, length(number) ORDER BY e164_key(number)) AS run
              FROM phone_numbers WHERE released_at IS NULL) AS x
     GROUP BY reseller_id, length(number), run`);
}

export async function down(): Promise<void> {
  // The table goes with the schema migration's down; nothing to undo here.
}
