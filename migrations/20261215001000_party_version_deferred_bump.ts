import type { Knex } from 'knex';

/**
 * party_version's bump can be put off to the end of a transaction (issue 14, bulk subscribers).
 * The bump locks party_version's one row until commit, so two bulk requests in flight serialised
 * from their first INSERT to commit (their numbers, 2,000 audit rows and outbox events each). A
 * transaction that sets app.party_bump_deferred = 'on' (SET LOCAL) skips the per-statement bump and
 * bumps once itself, last (subscribers.repository bumpPartyVersion): the same commit moves the
 * version, and the row is locked only from there to commit.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE OR REPLACE FUNCTION bump_party_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF current_setting('app.party_bump_deferred', true) = 'on' THEN RETURN NULL; END IF;
      INSERT INTO party_version (one, version) VALUES (true, 1)
        ON CONFLICT (one) DO UPDATE SET version = party_version.version + 1;
      RETURN NULL;
    END $$`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE OR REPLACE FUNCTION bump_party_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO party_version (one, version) VALUES (true, 1)
        ON CONFLICT (one) DO UPDATE SET version = party_version.version + 1;
      RETURN NULL;
    END $$`);
}
