import type { Knex } from 'knex';

/** Legs stored as unrated that carry a charge: one side was rated, so they are partial. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    UPDATE call_legs l SET status = 'partial', rated_at = coalesce(l.rated_at, c.rated_at)
      FROM (SELECT leg_id, start_at, max(rated_at) AS rated_at FROM charges GROUP BY leg_id, start_at) c
     WHERE l.status = 'unrated' AND c.leg_id = l.id AND c.start_at = l.start_at`);
}

export async function down(): Promise<void> {
  // The schema migration's down turns partial legs back into unrated ones.
}
