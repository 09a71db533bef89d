import type { Knex } from 'knex';

/**
 * Jobs left running by the old in-process runner were closures: nothing in their row can resume
 * them, and no lease will ever be taken over. They are failed with the old runner's own words
 * (repeating a re-rating is safe), so no page waits on them for ever.
 */
export async function up(knex: Knex): Promise<void> {
  await knex('jobs')
    .where({ status: 'running' })
    .whereNull('locked_by')
    .update({ status: 'failed', error: 'the server stopped while this job ran; start it again (repeating it is safe)', finished_at: knex.fn.now() });
  await knex('jobs').update({ created_at: knex.raw('coalesce(started_at, created_at)') });
}

export async function down(): Promise<void> {
  // Nothing to undo: failed jobs stay failed.
}
