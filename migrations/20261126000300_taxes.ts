import type { Knex } from 'knex';

/**
 * Taxes (DOMAIN.md, "Around the rate": Taxes).
 *
 * tax_jurisdictions: the operator's list of places that tax calls, a whole country (region null)
 * or one region of it; operator-level, managed by wholesale admins, picked by resellers for their
 * own taxes. A region is matched case-insensitively, so it is unique that way too.
 *
 * taxes: reseller_id null is the operator's tax on its WHOLESALE charges (to resellers); a
 * reseller's own row is that reseller's tax on its RETAIL charges (to its subscribers). A tax is in
 * force from effective_from (inclusive) to effective_to (exclusive; null: open-ended).
 *
 * tax_exempt flags: the operator does not tax an exempt reseller's wholesale charges; a reseller
 * does not tax an exempt subscriber's retail charges.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('tax_jurisdictions', (t) => {
    t.bigIncrements('id').primary();
    t.specificType('country', 'char(2)').notNullable();
    t.text('region');
    t.text('name').notNullable();
    t.timestamps(true, true);
  });
  await knex.raw(`ALTER TABLE tax_jurisdictions ADD CONSTRAINT tax_jurisdictions_country_check CHECK (country ~ '^[A-Z]{2}$')`);
  await knex.raw(`ALTER TABLE tax_jurisdictions ADD CONSTRAINT tax_jurisdictions_region_check CHECK (region IS NULL OR (region = btrim(region) AND region <> ''))`);
  await knex.raw(`CREATE UNIQUE INDEX tax_jurisdictions_place_key ON tax_jurisdictions (country, lower(coalesce(region, '')))`);

  await knex.schema.createTable('taxes', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('reseller_id').references('resellers.id').onDelete('RESTRICT');
    t.bigInteger('jurisdiction_id').notNullable().references('tax_jurisdictions.id').onDelete('RESTRICT');
    t.text('name').notNullable();
    t.text('kind').notNullable();
    t.text('basis').notNullable();
    t.decimal('rate', 20, 10).notNullable();
    t.integer('priority').notNullable().defaultTo(0);
    t.boolean('compounding').notNullable().defaultTo(false);
    t.timestamp('effective_from', { useTz: true }).notNullable();
    t.timestamp('effective_to', { useTz: true });
    t.timestamps(true, true);
  });
  await knex.raw(`ALTER TABLE taxes ADD CONSTRAINT taxes_kind_check CHECK (kind IN ('usage','recurring'))`);
  await knex.raw(`ALTER TABLE taxes ADD CONSTRAINT taxes_basis_check CHECK (basis IN ('percent','fixed'))`);
  await knex.raw(`ALTER TABLE taxes ADD CONSTRAINT taxes_rate_check CHECK (rate >= 0 AND (basis <> 'percent' OR rate <= 100))`);
  await knex.raw(`ALTER TABLE taxes ADD CONSTRAINT taxes_priority_check CHECK (priority >= 0)`);
  await knex.raw(`ALTER TABLE taxes ADD CONSTRAINT taxes_effective_check CHECK (effective_to IS NULL OR effective_to > effective_from)`);
  // The intake's lookup: one owner's taxes of one kind in a few jurisdictions.
  await knex.raw(`CREATE INDEX taxes_owner_kind_idx ON taxes (coalesce(reseller_id, 0), kind, jurisdiction_id)`);
  await knex.raw(`CREATE INDEX taxes_jurisdiction_idx ON taxes (jurisdiction_id)`);

  await knex.schema.alterTable('resellers', (t) => {
    t.boolean('tax_exempt').notNullable().defaultTo(false);
  });
  await knex.schema.alterTable('subscribers', (t) => {
    t.boolean('tax_exempt').notNullable().defaultTo(false);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('subscribers', (t) => t.dropColumn('tax_exempt'));
  await knex.schema.alterTable('resellers', (t) => t.dropColumn('tax_exempt'));
  await knex.schema.dropTable('taxes');
  await knex.schema.dropTable('tax_jurisdictions');
}
