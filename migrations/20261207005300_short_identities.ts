import type { Knex } from 'knex';

/**
 * Hosted PBX: subscribers hold short identities (extension digits or SIP user names) besides
 * E.164 numbers, each within a SIP domain, with the same history as phone_numbers (a call is
 * matched to the holder at its start). Unique among current holders within a domain. A reseller
 * may have a SIP domain (the default for the extensions its staff type); a platform says how it
 * writes short numbers ('national': a national number of its country code, as before;
 * 'extension': an extension) and which domain applies when a record names none.
 * The party_version trigger makes the intake's holders cache see every change (see 20261126000700).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE resellers ADD COLUMN sip_domain text`);
  // ({0,1}, not ?: knex.raw reads ? as a binding.)
  await knex.raw(`ALTER TABLE resellers ADD CONSTRAINT resellers_sip_domain_check CHECK (sip_domain = lower(sip_domain) AND sip_domain ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9]){0,1}(\\.[a-z0-9]([a-z0-9-]*[a-z0-9]){0,1})*$')`);
  await knex.raw(`CREATE UNIQUE INDEX resellers_sip_domain_key ON resellers (sip_domain) WHERE sip_domain IS NOT NULL`);

  await knex.raw(`ALTER TABLE platforms ADD COLUMN short_numbers text NOT NULL DEFAULT 'national', ADD COLUMN sip_domain text`);
  await knex.raw(`ALTER TABLE platforms ADD CONSTRAINT platforms_short_numbers_check CHECK (short_numbers IN ('national', 'extension'))`);
  await knex.raw(`ALTER TABLE platforms ADD CONSTRAINT platforms_sip_domain_check CHECK (sip_domain = lower(sip_domain))`);

  // The SIP domain a record named, so that re-rating finds the same short identities.
  await knex.raw(`ALTER TABLE call_legs ADD COLUMN sip_domain text`);

  await knex.schema.createTable('subscriber_identities', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('reseller_id').notNullable();
    t.bigInteger('subscriber_id').notNullable();
    t.text('domain').notNullable();
    // Extension digits, or a SIP user name in lower case.
    t.text('identity').notNullable();
    t.text('label');
    t.timestamp('assigned_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('released_at', { useTz: true });
    t.foreign(['reseller_id', 'subscriber_id']).references(['reseller_id', 'id']).inTable('subscribers').onDelete('RESTRICT');
  });
  await knex.raw(`ALTER TABLE subscriber_identities ADD CONSTRAINT subscriber_identities_identity_check CHECK (identity = lower(identity) AND identity ~ '^[a-z0-9][a-z0-9._-]{0,63}$' AND domain = lower(domain) AND domain <> '')`);
  // How the intake looks them up: "identity@domain", as classification names them.
  await knex.raw(`CREATE UNIQUE INDEX subscriber_identities_active_key ON subscriber_identities ((identity || '@' || domain)) WHERE released_at IS NULL`);
  await knex.raw(`CREATE INDEX subscriber_identities_key_idx ON subscriber_identities ((identity || '@' || domain))`);
  await knex.raw(`CREATE INDEX subscriber_identities_subscriber_idx ON subscriber_identities (reseller_id, subscriber_id)`);
  await knex.raw(`
    CREATE TRIGGER subscriber_identities_party_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON subscriber_identities
      FOR EACH STATEMENT EXECUTE FUNCTION bump_party_version()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('subscriber_identities');
  await knex.raw('ALTER TABLE call_legs DROP COLUMN sip_domain');
  await knex.raw('ALTER TABLE platforms DROP COLUMN sip_domain, DROP COLUMN short_numbers');
  await knex.raw('DROP INDEX resellers_sip_domain_key');
  await knex.raw('ALTER TABLE resellers DROP COLUMN sip_domain');
}
