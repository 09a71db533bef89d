import type { Queryable } from '../../db/knex';
import { Decimal } from '../../domain/money/decimal';
import type { CarrierFormat, CarrierMapping } from '../../domain/reconciliation';
import type { CarrierInput } from './carriers.schemas';

/** An LD carrier: operator-level, reached only by wholesale staff and its own posting credential. */
export interface Carrier {
  id: number;
  name: string;
  currency: string;
  /** The zone of the times in its files (formats whose times carry no offset). */
  timeZone: string;
  /** Its cost deck: one of the operator's rate plans (what it should charge us per destination). */
  costPlanId: number | null;
  costPlanName: string | null;
  startToleranceSeconds: number;
  durationToleranceSeconds: number;
  costTolerance: Decimal;
  dataFormat: CarrierFormat;
  /** A mapped CSV's mapping (src/domain/reconciliation/mapped.ts), as parseCarrierFile takes it. */
  csvMapping: CarrierMapping | null;
  /** SHA-256 of its posting credential; null: none issued yet. */
  credentialHash: string | null;
  credentialRotatedAt: Date | null;
  allowedSources: string[] | null;
  /** "HH:MM" in fileDueZone; null: no deadline. */
  fileDueAt: string | null;
  fileDueZone: string;
  active: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** A carrier with the trunks that point at it (platform and trunk, from the platforms' trunk maps). */
export interface CarrierSummary extends Carrier {
  trunks: Array<{ platformId: number; platformName: string; trunk: string }>;
}

function parseCidrArray(v: unknown): string[] | null {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v as string[];
  const s = String(v);
  return s === '{}' ? [] : s.slice(1, -1).split(',');
}

function toCarrier(r: Record<string, any>): Carrier {
  return {
    id: Number(r.id),
    name: r.name,
    currency: r.currency,
    timeZone: r.time_zone,
    costPlanId: r.cost_plan_id === null ? null : Number(r.cost_plan_id),
    costPlanName: r.cost_plan_name ?? null,
    startToleranceSeconds: r.start_tolerance_seconds,
    durationToleranceSeconds: r.duration_tolerance_seconds,
    costTolerance: new Decimal(r.cost_tolerance),
    dataFormat: r.data_format,
    csvMapping: r.csv_mapping ?? null,
    credentialHash: r.credential_hash ?? null,
    credentialRotatedAt: r.credential_rotated_at ?? null,
    allowedSources: parseCidrArray(r.allowed_sources),
    fileDueAt: r.file_due_at ? String(r.file_due_at).slice(0, 5) : null,
    fileDueZone: r.file_due_zone,
    active: r.active,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

const withPlan = (db: Queryable) =>
  db('carriers').leftJoin('rate_plans', 'rate_plans.id', 'carriers.cost_plan_id').select('carriers.*', 'rate_plans.name as cost_plan_name');

/** Every carrier with the trunks pointing at it: the list page (a few dozen rows, held whole). */
export async function listCarriers(db: Queryable): Promise<CarrierSummary[]> {
  const [rows, trunks] = await Promise.all([withPlan(db).orderByRaw('lower(carriers.name), carriers.id') as Promise<Array<Record<string, any>>>, trunksByCarrier(db)]);
  return rows.map((r) => {
    const c = toCarrier(r);
    return { ...c, trunks: trunks.get(c.name.toLowerCase()) ?? [] };
  });
}

export async function getCarrier(db: Queryable, id: number, opts: { forUpdate?: boolean } = {}): Promise<Carrier | undefined> {
  const q = withPlan(db).where('carriers.id', id).first();
  if (opts.forUpdate) q.forUpdate('carriers');
  const row = await q;
  return row ? toCarrier(row) : undefined;
}

/** A carrier by its name, whatever its case. */
export async function carrierByName(db: Queryable, name: string): Promise<Carrier | undefined> {
  const row = await withPlan(db).whereRaw('lower(carriers.name) = lower(?)', [name.trim()]).first();
  return row ? toCarrier(row) : undefined;
}

/** The carriers of these names (whatever their case), by lower-case name. */
export async function carriersByNames(db: Queryable, names: string[]): Promise<Map<string, Carrier>> {
  const out = new Map<string, Carrier>();
  const lower = [...new Set(names.map((n) => n.trim().toLowerCase()))];
  if (lower.length === 0) return out;
  const rows = (await withPlan(db).whereRaw('lower(carriers.name) = ANY(?::text[])', [lower])) as Array<Record<string, any>>;
  for (const r of rows) out.set(String(r.name).toLowerCase(), toCarrier(r));
  return out;
}

/** The platforms' trunks, by the lower-case carrier name their map points at. */
export async function trunksByCarrier(db: Queryable, name?: string): Promise<Map<string, CarrierSummary['trunks']>> {
  const res = (await db.raw(
    `SELECT p.id, p.name, c.key AS trunk, lower(c.value) AS carrier
       FROM platforms p CROSS JOIN LATERAL jsonb_each_text(p.trunk_carriers) AS c
      ${name === undefined ? '' : 'WHERE lower(c.value) = lower(?)'}
      ORDER BY lower(p.name), p.id, c.key`,
    name === undefined ? [] : [name],
  )) as { rows: Array<{ id: string | number; name: string; trunk: string; carrier: string }> };
  const out = new Map<string, CarrierSummary['trunks']>();
  for (const r of res.rows) {
    const list = out.get(r.carrier) ?? [];
    list.push({ platformId: Number(r.id), platformName: r.name, trunk: r.trunk });
    out.set(r.carrier, list);
  }
  return out;
}

function columns(db: Queryable, input: CarrierInput) {
  return {
    name: input.name,
    currency: input.currency,
    time_zone: input.time_zone,
    cost_plan_id: input.cost_plan_id,
    start_tolerance_seconds: input.start_tolerance_seconds,
    duration_tolerance_seconds: input.duration_tolerance_seconds,
    cost_tolerance: input.cost_tolerance,
    data_format: input.data_format,
    csv_mapping: input.csv_mapping === null ? null : JSON.stringify(input.csv_mapping),
    allowed_sources: input.allowed_sources ? db.raw('?::cidr[]', [`{${input.allowed_sources.join(',')}}`]) : null,
    file_due_at: input.file_due_at,
    file_due_zone: input.file_due_zone,
  };
}

export async function insertCarrier(db: Queryable, input: CarrierInput): Promise<number> {
  const [row] = await db('carriers').insert(columns(db, input)).returning('id');
  return Number((row as { id: number }).id);
}

export async function updateCarrier(db: Queryable, id: number, input: CarrierInput): Promise<void> {
  await db('carriers').where('id', id).update({ ...columns(db, input), updated_at: db.fn.now() });
}

export async function setActive(db: Queryable, id: number, active: boolean): Promise<void> {
  await db('carriers').where('id', id).update({ active, updated_at: db.fn.now() });
}

export async function setCredential(db: Queryable, id: number, credentialHash: string): Promise<void> {
  await db('carriers').where('id', id).update({ credential_hash: credentialHash, credential_rotated_at: db.fn.now(), updated_at: db.fn.now() });
}
