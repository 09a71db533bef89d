import type { Knex } from 'knex';

/**
 * Real-time provisioning of the switch (issue 14).
 *
 * - `sip_credentials`: the SIP digest credential of one SIP identity (subscriber_identities row:
 *   its identity is the SIP user name, its domain the realm). Only the HA1 hashes are kept, never
 *   the password: ha1 = md5(user:realm:password), ha1b = md5(user@domain:realm:password). A
 *   released identity keeps its row, but nothing reads it (the views below want released_at null);
 *   the identity assigned again is a new row, without a credential.
 * - Schema `kamailio`: read-only views in the layout Kamailio's auth_db (`subscriber`, version 7)
 *   and alias_db (`dbaliases`, version 1) modules read, and the `version` rows Kamailio checks at
 *   start-up. Only active subscribers of active resellers are in them, so a deactivation (of the
 *   subscriber, or of its reseller: status.ts) refuses the next REGISTER or INVITE: Kamailio asks
 *   the database on every challenge answer, with no cache.
 * - Role `kamailio_ro`: may read those views and nothing else; NOLOGIN here (no password in a
 *   migration): the operator gives it one (README, "Kamailio"). Its search_path is `kamailio`, as
 *   Kamailio names its tables without a schema. A role is the whole server's, not one database's:
 *   it is made only when missing (other databases of the server may already have it) and dropped
 *   on the way down only when nothing else on the server refers to it. A database user that may
 *   not create roles (a managed server) migrates all the same, without the role: the README says
 *   how to make it by hand.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE sip_credentials (
      identity_id bigint PRIMARY KEY REFERENCES subscriber_identities(id) ON DELETE CASCADE,
      reseller_id bigint NOT NULL,
      ha1 text NOT NULL CONSTRAINT sip_credentials_ha1_check CHECK (ha1 ~ '^[0-9a-f]{32}$'),
      ha1b text NOT NULL CONSTRAINT sip_credentials_ha1b_check CHECK (ha1b ~ '^[0-9a-f]{32}$'),
      set_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw('CREATE INDEX sip_credentials_reseller_idx ON sip_credentials (reseller_id)');
  // Kamailio asks by user name and domain apart (WHERE username = $1 AND domain = $2).
  await knex.raw('CREATE INDEX subscriber_identities_sip_user_idx ON subscriber_identities (identity, domain) WHERE released_at IS NULL');

  await knex.raw('CREATE SCHEMA kamailio');
  await knex.raw(`
    CREATE VIEW kamailio.subscriber AS
      SELECT i.id::integer AS id, i.identity::varchar AS username, i.domain::varchar AS domain,
             ''::varchar AS password, c.ha1::varchar AS ha1, c.ha1b::varchar AS ha1b
        FROM subscriber_identities i
        JOIN sip_credentials c ON c.identity_id = i.id
        JOIN subscribers s ON s.reseller_id = i.reseller_id AND s.id = i.subscriber_id
        JOIN resellers r ON r.id = s.reseller_id
       WHERE i.released_at IS NULL AND s.status = 'active' AND r.status = 'active'`);
  // Each current number of a subscriber with a credential, to its first such identity; as stored
  // (+E.164) and without the plus, as switches and phones write it either way. Two branches, so
  // that Kamailio's "WHERE alias_username = $1" finds a number by an index either way.
  await knex.raw(`CREATE INDEX phone_numbers_unplussed_idx ON phone_numbers ((ltrim(number, '+'))) WHERE released_at IS NULL`);
  await knex.raw(`
    CREATE VIEW kamailio.dbaliases AS
      SELECT (n.id * 2 + 1)::integer AS id, n.number::varchar AS alias_username, u.domain::varchar AS alias_domain,
             u.username::varchar AS username, u.domain::varchar AS domain
        FROM phone_numbers n
        JOIN subscribers s ON s.reseller_id = n.reseller_id AND s.id = n.subscriber_id
        JOIN resellers r ON r.id = s.reseller_id
        JOIN LATERAL (
          SELECT i.identity AS username, i.domain
            FROM subscriber_identities i
            JOIN sip_credentials c ON c.identity_id = i.id
           WHERE i.reseller_id = n.reseller_id AND i.subscriber_id = n.subscriber_id AND i.released_at IS NULL
           ORDER BY i.id LIMIT 1
        ) u ON true
       WHERE n.released_at IS NULL AND s.status = 'active' AND r.status = 'active'
      UNION ALL
      SELECT (n.id * 2)::integer, ltrim(n.number, '+')::varchar, u.domain::varchar, u.username::varchar, u.domain::varchar
        FROM phone_numbers n
        JOIN subscribers s ON s.reseller_id = n.reseller_id AND s.id = n.subscriber_id
        JOIN resellers r ON r.id = s.reseller_id
        JOIN LATERAL (
          SELECT i.identity AS username, i.domain
            FROM subscriber_identities i
            JOIN sip_credentials c ON c.identity_id = i.id
           WHERE i.reseller_id = n.reseller_id AND i.subscriber_id = n.subscriber_id AND i.released_at IS NULL
           ORDER BY i.id LIMIT 1
        ) u ON true
       WHERE n.released_at IS NULL AND s.status = 'active' AND r.status = 'active'`);
  await knex.raw(`
    CREATE VIEW kamailio.version (table_name, table_version) AS
      VALUES ('subscriber'::varchar(32), 7), ('dbaliases'::varchar(32), 1)`);

  await knex.raw(`
    DO $$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kamailio_ro') THEN
        IF (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) THEN
          BEGIN
            CREATE ROLE kamailio_ro NOLOGIN;
          EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- made meanwhile by a migration of another database of the server
          END;
        ELSE
          RAISE NOTICE 'kamailio_ro not created: % may not create roles (README, "Kamailio", says how to make it by hand)', current_user;
        END IF;
      END IF;
      IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kamailio_ro') THEN
        BEGIN
          ALTER ROLE kamailio_ro SET search_path = kamailio;
        EXCEPTION WHEN insufficient_privilege THEN
          RAISE NOTICE 'search_path of kamailio_ro not set: % may not alter it', current_user;
        END;
        GRANT USAGE ON SCHEMA kamailio TO kamailio_ro;
        GRANT SELECT ON kamailio.subscriber, kamailio.dbaliases, kamailio.version TO kamailio_ro;
      END IF;
    END
    $$`);
}

export async function down(knex: Knex): Promise<void> {
  // Dropping the views and the schema drops what was granted on them.
  await knex.raw('DROP VIEW kamailio.version');
  await knex.raw('DROP VIEW kamailio.dbaliases');
  await knex.raw('DROP VIEW kamailio.subscriber');
  await knex.raw('DROP SCHEMA kamailio');
  await knex.raw(`
    DO $$
    BEGIN
      IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kamailio_ro')
         AND NOT EXISTS (SELECT 1 FROM pg_shdepend d JOIN pg_roles r ON d.refobjid = r.oid WHERE r.rolname = 'kamailio_ro')
         AND (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) THEN
        DROP ROLE kamailio_ro;
      END IF;
    EXCEPTION WHEN dependent_objects_still_exist OR insufficient_privilege THEN
      NULL; -- another database of the server took it up meanwhile, or it is not ours to drop
    END
    $$`);
  await knex.raw('DROP INDEX phone_numbers_unplussed_idx');
  await knex.raw('DROP INDEX subscriber_identities_sip_user_idx');
  await knex.raw('DROP TABLE sip_credentials');
}
