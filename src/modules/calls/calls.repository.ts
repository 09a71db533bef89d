import type { Queryable } from '../../db/knex';
import type { Scope } from '../../domain/tenancy/roles';

/** The resellers and platforms the calls pages filter by. */
export interface Option {
  value: string;
  label: string;
}

/** Resellers for the operator's filters. */
export async function resellerOptions(db: Queryable, scope: Scope): Promise<Option[]> {
  if (scope.kind !== 'wholesale') return [];
  const rows = await db('resellers').select('id', 'name', 'code').orderByRaw('lower(name), id');
  return rows.map((r) => ({ value: String(r.id), label: `${r.name} (${r.code})` }));
}

/** Platforms for the filters (names only). */
export async function platformOptions(db: Queryable): Promise<Option[]> {
  const rows = await db('platforms').select('id', 'name').orderByRaw('lower(name), id');
  return rows.map((r) => ({ value: String(r.id), label: r.name }));
}

/** The LD carriers the platforms' trunk maps name (what a leg's carrier is set from). */
export async function carrierOptions(db: Queryable): Promise<Option[]> {
  const rows = (await db.raw(`SELECT DISTINCT c.value AS name FROM platforms p, jsonb_each_text(p.trunk_carriers) AS c ORDER BY 1`)) as { rows: Array<{ name: string }> };
  return rows.rows.map((r) => ({ value: r.name, label: r.name }));
}
