import type { Knex } from 'knex';

/**
 * Keys of the legs stored before leg_keys existed. Where one key was stored more than once (a
 * re-post with another start, before the fix), the first stored leg keeps the key; the later ones
 * stay as they are, never deleted, and can be found with
 *   SELECT * FROM call_legs l WHERE NOT EXISTS (SELECT 1 FROM leg_keys k WHERE k.leg_id = l.id)
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    INSERT INTO leg_keys (platform_id, leg_key, leg_id, start_at)
    SELECT DISTINCT ON (platform_id, leg_key) platform_id, leg_key, id, start_at
      FROM call_legs
     ORDER BY platform_id, leg_key, id`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DELETE FROM leg_keys');
}
