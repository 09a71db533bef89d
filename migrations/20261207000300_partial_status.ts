import type { Knex } from 'knex';

/**
 * A leg whose one charge could be priced and whose other could not (the wholesale side rated, the
 * retail side missing its rate) was stored as 'unrated' beside a wholesale charge: in two states
 * at once. 'partial' says what it is; its reason names the side that is missing.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE call_legs DROP CONSTRAINT call_legs_status_check');
  await knex.raw(`ALTER TABLE call_legs ADD CONSTRAINT call_legs_status_check CHECK (status IN ('rated','partial','unrated','blocked'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`UPDATE call_legs SET status = 'unrated' WHERE status = 'partial'`);
  await knex.raw('ALTER TABLE call_legs DROP CONSTRAINT call_legs_status_check');
  await knex.raw(`ALTER TABLE call_legs ADD CONSTRAINT call_legs_status_check CHECK (status IN ('rated','unrated','blocked'))`);
}
