import type { Queryable } from '../../db/knex';
import { Decimal } from '../../domain/money/decimal';
import type { TaxBasis, TaxRule } from '../../domain/tax/tax';
import { ownerKey, type Owner } from '../../domain/tenancy/owner';
import type { TaxInput, TaxKind } from './taxes.schemas';

/**
 * Whose tax it is: the operator's (reseller_id null), levied on its WHOLESALE charges to resellers,
 * or one reseller's, levied on that reseller's RETAIL charges to its subscribers.
 */
export type TaxOwner = Owner;

export interface Tax {
  id: number;
  resellerId: number | null;
  jurisdictionId: number;
  jurisdiction: { country: string; region: string | null; name: string };
  name: string;
  kind: TaxKind;
  basis: TaxBasis;
  rate: Decimal;
  priority: number;
  compounding: boolean;
  effectiveFrom: Date;
  /** Exclusive; null: no end. */
  effectiveTo: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

function toTax(r: Record<string, any>): Tax {
  return {
    id: r.id,
    resellerId: r.reseller_id,
    jurisdictionId: r.jurisdiction_id,
    jurisdiction: { country: r.j_country, region: r.j_region, name: r.j_name },
    name: r.name,
    kind: r.kind,
    basis: r.basis,
    rate: new Decimal(r.rate),
    priority: r.priority,
    compounding: r.compounding,
    effectiveFrom: r.effective_from,
    effectiveTo: r.effective_to,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toRule(r: Record<string, any>): TaxRule {
  return { id: r.id, name: r.name, basis: r.basis, rate: new Decimal(r.rate), priority: r.priority, compounding: r.compounding };
}

/** The owner's key in the (coalesce(reseller_id, 0), kind, jurisdiction_id) index (one rule, domain/tenancy/owner). */
export { ownerKey };

/** Taxes an owner may reach, with their jurisdiction: an owner sees exactly its own taxes, never another's. */
function owned(db: Queryable, owner: TaxOwner) {
  return db('taxes as t')
    .join('tax_jurisdictions as j', 'j.id', 't.jurisdiction_id')
    .whereRaw('coalesce(t.reseller_id, 0) = ?', [ownerKey(owner)])
    .select('t.*', 'j.country as j_country', 'j.region as j_region', 'j.name as j_name');
}

export async function listTaxes(db: Queryable, owner: TaxOwner): Promise<Tax[]> {
  const rows = (await owned(db, owner).orderByRaw(`t.kind desc, j.country, j.region nulls first, t.priority, t.id`)) as Array<Record<string, any>>;
  return rows.map(toTax);
}

export async function getTax(db: Queryable, owner: TaxOwner, id: number, opts: { forUpdate?: boolean } = {}): Promise<Tax | undefined> {
  const q = owned(db, owner).where('t.id', id).first();
  if (opts.forUpdate) q.forUpdate('t');
  const row = await q;
  return row ? toTax(row) : undefined;
}

function columns(input: TaxInput) {
  return {
    jurisdiction_id: input.jurisdiction_id,
    name: input.name,
    kind: input.kind,
    basis: input.basis,
    rate: input.rate.toString(),
    priority: input.priority,
    compounding: input.compounding,
    effective_from: new Date(input.effective_from).toISOString(),
    effective_to: input.effective_to === null ? null : new Date(input.effective_to).toISOString(),
  };
}

export async function insertTax(db: Queryable, owner: TaxOwner, input: TaxInput): Promise<number> {
  const [row] = await db('taxes')
    .insert({ ...columns(input), reseller_id: owner.kind === 'reseller' ? owner.resellerId : null })
    .returning('id');
  return row.id as number;
}

export async function updateTax(db: Queryable, owner: TaxOwner, id: number, input: TaxInput): Promise<void> {
  await db('taxes').where('id', id).whereRaw('coalesce(reseller_id, 0) = ?', [ownerKey(owner)]).update({ ...columns(input), updated_at: db.fn.now() });
}

export async function setEffectiveTo(db: Queryable, owner: TaxOwner, id: number, effectiveToMs: number): Promise<void> {
  await db('taxes')
    .where('id', id)
    .whereRaw('coalesce(reseller_id, 0) = ?', [ownerKey(owner)])
    .update({ effective_to: new Date(effectiveToMs).toISOString(), updated_at: db.fn.now() });
}

/**
 * The usage taxes that `owner` levies on a call at `atMs` to a customer at `address`: those whose
 * jurisdiction is the address's country as a whole or its country and region (region compared
 * case-insensitively, ignoring surrounding spaces; no region on the address matches whole-country
 * jurisdictions only), in force at atMs (effective_from <= atMs < effective_to), in the order
 * computeTaxes applies them (priority, then id).
 *
 * The operator's taxes ({ kind: 'operator' }) are for the wholesale charge, a reseller's for the
 * retail charge. Exemption is not looked at here: the caller skips an exempt reseller or subscriber.
 * The intake answers the same question from memory (UsageTaxTable in tax-cache.ts): changing the
 * rules here must change them there (test/integration/taxes.test.ts compares the two).
 */
export async function usageTaxesFor(
  db: Queryable,
  owner: Owner,
  address: { country: string; region: string | null },
  atMs: number,
): Promise<TaxRule[]> {
  return taxesFor(db, owner, 'usage', address, atMs);
}

/**
 * Every usage tax with what usageTaxesFor matches it on, for the in-memory copy (tax-cache.ts).
 * The instants are epoch milliseconds rounded UP: for a whole-millisecond instant `at` (all the
 * lookup ever compares with), `from <= at` and `to > at` hold exactly when they hold for the
 * stored microsecond values. The region is lowered by Postgres, as the query lowers it.
 */
export async function usageTaxRows(db: Queryable): Promise<UsageTaxRow[]> {
  const rows = (await db.raw(
    `select t.id, coalesce(t.reseller_id, 0) as owner_key, j.country, lower(j.region) as region_key,
            ceil(extract(epoch from t.effective_from) * 1000) as from_ms, ceil(extract(epoch from t.effective_to) * 1000) as to_ms,
            t.name, t.basis, t.rate, t.priority, t.compounding
       from taxes t join tax_jurisdictions j on j.id = t.jurisdiction_id
      where t.kind = 'usage'`,
  )).rows as Array<Record<string, any>>;
  return rows.map((r) => ({
    ownerKey: Number(r.owner_key),
    country: r.country,
    regionKey: r.region_key,
    fromMs: Number(r.from_ms),
    toMs: r.to_ms === null ? null : Number(r.to_ms),
    rule: toRule(r),
  }));
}

/** A usage tax as tax-cache.ts holds it. */
export interface UsageTaxRow {
  /** coalesce(reseller_id, 0): 0 is the operator. */
  ownerKey: number;
  /** The jurisdiction's country and lower(region) (null: the whole country). */
  country: string;
  regionKey: string | null;
  /** effective_from and effective_to (exclusive; null: no end) in epoch ms, rounded up. */
  fromMs: number;
  toMs: number | null;
  rule: TaxRule;
}

/** The same lookup for either kind: 'recurring' is for monthly charges (package invoice lines). */
export async function taxesFor(
  db: Queryable,
  owner: TaxOwner,
  kind: TaxKind,
  address: { country: string; region: string | null },
  atMs: number,
): Promise<TaxRule[]> {
  const country = address.country.trim().toUpperCase();
  const region = address.region?.trim() ? address.region.trim().toLowerCase() : null;
  const at = new Date(atMs).toISOString();
  const rows = (await db('taxes as t')
    .join('tax_jurisdictions as j', 'j.id', 't.jurisdiction_id')
    .whereRaw('coalesce(t.reseller_id, 0) = ?', [ownerKey(owner)])
    .where('t.kind', kind)
    .where('j.country', country)
    .where((w) => {
      w.whereNull('j.region');
      if (region !== null) w.orWhereRaw('lower(j.region) = ?', [region]);
    })
    .where('t.effective_from', '<=', at)
    .where((w) => w.whereNull('t.effective_to').orWhere('t.effective_to', '>', at))
    .orderBy(['t.priority', 't.id'])
    .select('t.id', 't.name', 't.basis', 't.rate', 't.priority', 't.compounding')) as Array<Record<string, any>>;
  return rows.map(toRule);
}
