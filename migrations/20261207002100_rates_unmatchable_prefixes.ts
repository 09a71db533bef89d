import type { Knex } from 'knex';

/**
 * Data: rates whose prefix starts with 0 (written with an access code, "0044") never priced a call,
 * since every number is matched in E.164 and no country code starts with 0. The deck import now
 * refuses them; the ones already stored are removed here so the next migration can forbid them,
 * each plan's removed rows kept whole in its audit log, and the plan's revision moved on.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    WITH gone AS (DELETE FROM rates WHERE prefix LIKE '0%' RETURNING *),
    plans AS (
      UPDATE rate_plans SET revision = revision + 1, updated_at = now()
      WHERE id IN (SELECT rate_plan_id FROM gone) RETURNING id, revision
    )
    INSERT INTO audit_log (reseller_id, actor_email, entity_type, entity_id, action, before, after)
    SELECT g.reseller_id, 'migration 20261207002100', 'rate_plan', g.rate_plan_id, 'remove_unmatchable_rates',
           jsonb_build_object('rates', jsonb_agg(to_jsonb(g) ORDER BY g.id)),
           jsonb_build_object('reason', 'prefix starts with 0: no E.164 number can match it', 'revision', min(p.revision))
    FROM gone g JOIN plans p ON p.id = g.rate_plan_id
    GROUP BY g.reseller_id, g.rate_plan_id
  `);
}

// The removed rows are in the audit log; they matched nothing, so nothing is put back.
export async function down(): Promise<void> {}
