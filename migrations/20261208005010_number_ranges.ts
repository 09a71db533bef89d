import type { Knex } from 'knex';

/**
 * The operator gives each reseller ranges of E.164 numbers (first and last of the same length); a
 * reseller assigns only numbers of its own ranges (DOMAIN.md: "Number ranges"). Ranges never
 * overlap, so a number in a reseller's range can be held only by that reseller's subscribers, and
 * nothing said about it discloses another tenant.
 *
 * e164_key orders numbers of one length and keeps lengths apart (+1212555 is not inside
 * +12125550000..+12125559999): length * 10^15 + digits, which fits a bigint. The exclusion
 * constraint on int8range needs only core GiST (no btree_gist), so it runs on PGlite as well.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION e164_key(n text) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
      AS $$ SELECT length(n)::bigint * 1000000000000000 + substr(n, 2)::bigint $$`);
  await knex.schema.createTable('number_ranges', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('reseller_id').notNullable().references('resellers.id').onDelete('RESTRICT');
    t.text('first_number').notNullable();
    t.text('last_number').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE number_ranges ADD COLUMN span int8range GENERATED ALWAYS AS (int8range(e164_key(first_number), e164_key(last_number), '[]')) STORED`);
  await knex.raw(`ALTER TABLE number_ranges ADD CONSTRAINT number_ranges_e164_check CHECK (
    first_number ~ '^\\+[1-9][0-9]{1,14}$' AND last_number ~ '^\\+[1-9][0-9]{1,14}$'
    AND length(first_number) = length(last_number) AND first_number <= last_number)`);
  await knex.raw('ALTER TABLE number_ranges ADD CONSTRAINT number_ranges_no_overlap EXCLUDE USING gist (span WITH &&)');
  await knex.raw('CREATE INDEX number_ranges_reseller_idx ON number_ranges (reseller_id, first_number)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('number_ranges');
  await knex.raw('DROP FUNCTION e164_key(text)');
}
