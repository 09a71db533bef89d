import type { Knex } from 'knex';

/**
 * Data: legs stored before the one vocabulary carry their switch's own word in disposition. It
 * moves to switch_cause, and disposition becomes the vocabulary word, by the platform's format,
 * with the same table as src/domain/mediation/disposition.ts (docs/CDR-FORMATS.md, "Disposition").
 * The generic formats already stored the vocabulary: those legs are left as they are. The
 * direction the switch reported was not stored before, so switch_direction stays null for them.
 */
const VOCABULARY = `('answered','no_answer','busy','failed','cancelled')`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    UPDATE call_legs l
       SET switch_cause = nullif(l.disposition, ''),
           disposition = CASE
             WHEN l.answered THEN 'answered'
             WHEN p.format IN ('freeswitch-json','freeswitch-xml') THEN CASE
               WHEN upper(l.disposition) = 'USER_BUSY' THEN 'busy'
               WHEN upper(l.disposition) IN ('NO_ANSWER','NO_USER_RESPONSE','SUBSCRIBER_ABSENT','RECOVERY_ON_TIMER_EXPIRE','ALLOTTED_TIMEOUT') THEN 'no_answer'
               WHEN upper(l.disposition) IN ('ORIGINATOR_CANCEL','LOSE_RACE','PICKED_OFF','NORMAL_CLEARING','NORMAL_UNSPECIFIED') THEN 'cancelled'
               ELSE 'failed' END
             WHEN p.format = 'asterisk-csv' THEN CASE
               WHEN upper(l.disposition) = 'NO ANSWER' THEN 'no_answer'
               WHEN upper(l.disposition) = 'BUSY' THEN 'busy'
               ELSE 'failed' END
             WHEN p.format IN ('kamailio-acc','kamailio-dialog') THEN CASE
               WHEN l.disposition IN ('486','600') THEN 'busy'
               WHEN l.disposition = '487' THEN 'cancelled'
               WHEN l.disposition IN ('408','480') THEN 'no_answer'
               ELSE 'failed' END
             WHEN p.format = 'broadworks-csv' THEN CASE
               WHEN l.disposition ~ '^[0-9]{1,3}$' AND l.disposition::int = 17 THEN 'busy'
               WHEN l.disposition ~ '^[0-9]{1,3}$' AND l.disposition::int IN (18,19,20) THEN 'no_answer'
               WHEN l.disposition ~ '^[0-9]{1,3}$' AND l.disposition::int IN (16,31) THEN 'cancelled'
               ELSE 'failed' END
             ELSE 'failed' END
      FROM platforms p
     WHERE p.id = l.platform_id
       AND l.disposition NOT IN ${VOCABULARY}`);
}

/** Back to the switch's word in disposition (the vocabulary word where the switch had none). */
export async function down(knex: Knex): Promise<void> {
  await knex.raw(`UPDATE call_legs SET disposition = switch_cause, switch_cause = NULL WHERE switch_cause IS NOT NULL`);
}
