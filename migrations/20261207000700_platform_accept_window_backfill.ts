import type { Knex } from 'knex';

/** Platforms that exist already accept what they have sent so far: from a year before their creation, or their oldest call. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    UPDATE platforms p
       SET accept_calls_from = least(date_trunc('day', p.created_at - interval '1 year'),
                                     coalesce((SELECT date_trunc('day', min(l.start_at)) FROM call_legs l WHERE l.platform_id = p.id), 'infinity'))`);
}

export async function down(): Promise<void> {
  // Nothing to undo: the schema migration's down drops the column.
}
