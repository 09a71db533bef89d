import type { Queryable } from '../../db/knex';
import type { RecordPeriod } from '../../domain/records';

/** A stored specification; `spec` is the JSON as stored (checked on write; read it with parseRecordSpec). */
export interface RecordSpecRow {
  id: number;
  resellerId: number;
  name: string;
  spec: unknown;
  period: RecordPeriod;
  /** A date of the reseller's zone (YYYY-MM-DD): its files begin there; null: from the period it was created in, with every earlier call. */
  postsFrom: string | null;
  active: boolean;
  retiredAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

const toRow = (r: Record<string, any>): RecordSpecRow => ({
  id: Number(r.id), resellerId: Number(r.reseller_id), name: r.name, spec: r.spec, period: r.period, postsFrom: r.posts_from ?? null, active: r.active, retiredAt: r.retired_at, createdAt: r.created_at, updatedAt: r.updated_at,
});

export async function listSpecs(db: Queryable, resellerId: number): Promise<RecordSpecRow[]> {
  return ((await db('record_specifications').where({ reseller_id: resellerId }).orderBy('id')) as Array<Record<string, any>>).map(toRow);
}

/** Only the reseller's own: another reseller's id reads as none. */
export async function getSpec(db: Queryable, resellerId: number, id: number): Promise<RecordSpecRow | undefined> {
  const r = await db('record_specifications').where({ reseller_id: resellerId, id }).first();
  return r ? toRow(r) : undefined;
}

export async function nameTaken(db: Queryable, resellerId: number, name: string, exceptId?: number): Promise<boolean> {
  const q = db('record_specifications').where({ reseller_id: resellerId }).whereRaw('lower(name) = lower(?)', [name]);
  if (exceptId !== undefined) q.whereNot('id', exceptId);
  return !!(await q.first('id'));
}

export async function insertSpec(db: Queryable, resellerId: number, v: { name: string; period: RecordPeriod; postsFrom: string | null; spec: unknown }): Promise<number> {
  const [row] = await db('record_specifications').insert({ reseller_id: resellerId, name: v.name, period: v.period, posts_from: v.postsFrom, spec: JSON.stringify(v.spec) }).returning('id');
  return Number((row as { id: number }).id);
}

export async function updateSpec(db: Queryable, resellerId: number, id: number, v: { name: string; period: RecordPeriod; postsFrom: string | null; spec: unknown }): Promise<void> {
  await db('record_specifications').where({ reseller_id: resellerId, id }).update({ name: v.name, period: v.period, posts_from: v.postsFrom, spec: JSON.stringify(v.spec), updated_at: db.fn.now() });
}

/** Whether any file of the spec has been begun (where its files begin is then fixed). */
export async function hasFiles(db: Queryable, resellerId: number, id: number): Promise<boolean> {
  return !!(await db('record_files').where({ reseller_id: resellerId, spec_id: id }).first('id'));
}

export async function retireSpec(db: Queryable, resellerId: number, id: number): Promise<boolean> {
  const n = await db('record_specifications').where({ reseller_id: resellerId, id, active: true }).update({ active: false, retired_at: db.fn.now(), updated_at: db.fn.now() });
  return Number(n) === 1;
}
