import type { Queryable } from '../../db/knex';
import type { JurisdictionInput } from './taxes.schemas';

/** A place that taxes calls: a whole country (region null) or one region of it. Operator-level. */
export interface Jurisdiction {
  id: number;
  country: string;
  region: string | null;
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface JurisdictionSummary extends Jurisdiction {
  /** Taxes of every owner that use it (operator's and resellers'). */
  taxCount: number;
}

function toJurisdiction(r: Record<string, any>): Jurisdiction {
  return { id: r.id, country: r.country, region: r.region, name: r.name, createdAt: r.created_at, updatedAt: r.updated_at };
}

export async function listJurisdictions(db: Queryable): Promise<JurisdictionSummary[]> {
  const rows = (await db('tax_jurisdictions')
    .select('tax_jurisdictions.*', db.raw('(select count(*) from taxes t where t.jurisdiction_id = tax_jurisdictions.id) as tax_count'))
    .orderByRaw(`country, region nulls first, lower(name), id`)) as Array<Record<string, any>>;
  return rows.map((r) => ({ ...toJurisdiction(r), taxCount: Number(r.tax_count) }));
}

export async function getJurisdiction(db: Queryable, id: number, opts: { forUpdate?: boolean } = {}): Promise<Jurisdiction | undefined> {
  const q = db('tax_jurisdictions').where('id', id).first();
  if (opts.forUpdate) q.forUpdate();
  const row = await q;
  return row ? toJurisdiction(row) : undefined;
}

function columns(input: JurisdictionInput) {
  return { country: input.country, region: input.region, name: input.name };
}

export async function insertJurisdiction(db: Queryable, input: JurisdictionInput): Promise<Jurisdiction> {
  const [row] = await db('tax_jurisdictions').insert(columns(input)).returning('*');
  return toJurisdiction(row);
}

export async function updateJurisdiction(db: Queryable, id: number, input: JurisdictionInput): Promise<Jurisdiction> {
  const [row] = await db('tax_jurisdictions').where('id', id).update({ ...columns(input), updated_at: db.fn.now() }).returning('*');
  return toJurisdiction(row);
}
