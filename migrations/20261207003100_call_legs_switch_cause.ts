import type { Knex } from 'knex';

/**
 * One disposition vocabulary (answered, no_answer, busy, failed, cancelled) for every format: the
 * switch's own word for how a leg ended moves beside it, into switch_cause (NORMAL_CLEARING, NO
 * ANSWER, 487, "016", ...), and the switch's own direction (FreeSWITCH inbound/outbound of the
 * channel, BroadWorks originating/terminating of the user) is kept as switch_direction. Both null
 * when the format has none. The backfill of stored legs is the next migration.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE call_legs ADD COLUMN switch_cause text, ADD COLUMN switch_direction text`);
  await knex.raw(
    `ALTER TABLE call_legs ADD CONSTRAINT call_legs_switch_direction_check
       CHECK (switch_direction IS NULL OR switch_direction IN ('inbound','outbound','originating','terminating'))`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE call_legs DROP CONSTRAINT call_legs_switch_direction_check`);
  await knex.raw(`ALTER TABLE call_legs DROP COLUMN switch_direction, DROP COLUMN switch_cause`);
}
