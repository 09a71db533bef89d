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
