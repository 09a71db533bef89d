import type { Knex } from 'knex';

/**
 * Data: a carrier record for every carrier name already in use, in any platform's trunk map or on
 * any stored leg, each with an audit row: one per name whatever its case, spelt as the trunk maps
 * spell it most often (ties: the first platform's spelling), a name on legs alone as the legs do.
 * Trunk maps that spell a name in another case are rewritten to the record's spelling, so that new
 * legs carry exactly the record's name. The records have no
 * credential and no cost deck yet: a wholesale admin issues and chooses them on the carrier's page.
 * Legs are scanned once (a DISTINCT over call_legs.carrier); their names are not changed.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    WITH names AS (
      SELECT btrim(c.value) AS name, 0 AS pref, p.id AS ord FROM platforms p, jsonb_each_text(p.trunk_carriers) AS c
      UNION ALL
      SELECT DISTINCT btrim(carrier), 1, 0 FROM call_legs WHERE carrier IS NOT NULL
    ),
    spellings AS (
      SELECT name, min(pref) AS pref, count(*) AS uses, min(ord) AS ord FROM names
       WHERE length(name) BETWEEN 1 AND 200 GROUP BY name
    ),
    -- One per name whatever its case: the trunk maps' spelling before the legs', the most used, then the first platform's.
    chosen AS (
      SELECT DISTINCT ON (lower(name)) name FROM spellings
       WHERE NOT EXISTS (SELECT 1 FROM carriers k WHERE lower(k.name) = lower(spellings.name))
       ORDER BY lower(name), pref, uses DESC, ord, name
    ),
    made AS (INSERT INTO carriers (name) SELECT name FROM chosen ORDER BY name RETURNING *)
    INSERT INTO audit_log (reseller_id, actor_email, entity_type, entity_id, action, after)
    SELECT NULL, 'migration 20261213001100', 'carrier', m.id, 'create',
           jsonb_build_object('name', m.name, 'currency', m.currency, 'time_zone', m.time_zone, 'data_format', m.data_format,
                              'reason', 'the carrier was named in a trunk map or on stored legs before carriers were records')
      FROM made m`);
  await knex.raw(`
    UPDATE platforms p SET trunk_carriers = fixed.map, updated_at = now()
      FROM (
        SELECT p2.id, jsonb_object_agg(c.key, coalesce(k.name, c.value)) AS map
          FROM platforms p2 CROSS JOIN LATERAL jsonb_each_text(p2.trunk_carriers) AS c
          LEFT JOIN carriers k ON lower(k.name) = lower(btrim(c.value))
         GROUP BY p2.id
      ) fixed
     WHERE fixed.id = p.id AND fixed.map IS DISTINCT FROM p.trunk_carriers`);
}

// The records made here are kept (they may have been edited, given decks and credentials since).
export async function down(): Promise<void> {}
