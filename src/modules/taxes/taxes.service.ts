import { changeReferenceData, type ReferenceInvalidator } from '../../db/change-notices';
import type { Db, Queryable } from '../../db/knex';
import { rethrowDuplicate } from '../../db/knex';
import { FieldErrors, NotFoundError } from '../../domain/errors';
import type { Actor } from '../../domain/tenancy/actor';
import { recordAudit } from '../audit/audit.repository';
import * as jurisdictions from './jurisdictions.repository';
import * as repo from './taxes.repository';
import type { JurisdictionInput, TaxInput } from './taxes.schemas';

const tenantOf = (owner: repo.TaxOwner) => (owner.kind === 'reseller' ? owner.resellerId : null);

// Every write below goes through changeReferenceData('taxes'): the intake reads usage taxes, and
// the jurisdictions they match on, from memory (tax-cache.ts), in this process and every other.

// ---- jurisdictions (operator-level, wholesale admins) ------------------------------------------

const JURISDICTION_UNIQUE = { tax_jurisdictions_place_key: ['region', 'This country and region is already a jurisdiction'] as [string, string] };

export async function getJurisdictionOrThrow(db: Queryable, id: number): Promise<jurisdictions.Jurisdiction> {
  const j = await jurisdictions.getJurisdiction(db, id);
  if (!j) throw new NotFoundError();
  return j;
}

export async function createJurisdiction(db: Db, refs: ReferenceInvalidator, actor: Actor, input: JurisdictionInput): Promise<jurisdictions.Jurisdiction> {
  try {
    return await changeReferenceData(db, refs, 'taxes', async (tx) => {
      const j = await jurisdictions.insertJurisdiction(tx, input);
      await recordAudit(tx, actor, { resellerId: null, entityType: 'tax_jurisdiction', entityId: j.id, action: 'create', after: { ...input } });
      return j;
    });
  } catch (err) {
    return rethrowDuplicate(err, JURISDICTION_UNIQUE);
  }
}

export async function updateJurisdiction(db: Db, refs: ReferenceInvalidator, actor: Actor, id: number, input: JurisdictionInput): Promise<jurisdictions.Jurisdiction> {
  try {
    return await changeReferenceData(db, refs, 'taxes', async (tx) => {
      const before = await jurisdictions.getJurisdiction(tx, id, { forUpdate: true });
      if (!before) throw new NotFoundError();
      const after = await jurisdictions.updateJurisdiction(tx, id, input);
      await recordAudit(tx, actor, { resellerId: null, entityType: 'tax_jurisdiction', entityId: id, action: 'update', before: placeOf(before), after: placeOf(after) });
      return after;
    });
  } catch (err) {
    if (err instanceof NotFoundError) throw err;
    return rethrowDuplicate(err, JURISDICTION_UNIQUE);
  }
}

const placeOf = (j: jurisdictions.Jurisdiction) => ({ country: j.country, region: j.region, name: j.name });

// ---- taxes (the operator's on wholesale charges, a reseller's on its retail charges) -----------

export async function getOrThrow(db: Queryable, owner: repo.TaxOwner, id: number): Promise<repo.Tax> {
  const tax = await repo.getTax(db, owner, id);
  if (!tax) throw new NotFoundError();
  return tax;
}

async function checkJurisdiction(db: Queryable, id: number): Promise<void> {
  if (!(await jurisdictions.getJurisdiction(db, id))) throw new FieldErrors({ jurisdiction_id: 'Choose a jurisdiction from the list' });
}

export async function createTax(db: Db, refs: ReferenceInvalidator, actor: Actor, owner: repo.TaxOwner, input: TaxInput): Promise<repo.Tax> {
  return changeReferenceData(db, refs, 'taxes', async (tx) => {
    await checkJurisdiction(tx, input.jurisdiction_id);
    const id = await repo.insertTax(tx, owner, input);
    const tax = (await repo.getTax(tx, owner, id)) as repo.Tax;
    await recordAudit(tx, actor, { resellerId: tenantOf(owner), entityType: 'tax', entityId: id, action: 'create', after: settingsOf(tax) });
    return tax;
  });
}

export async function updateTax(db: Db, refs: ReferenceInvalidator, actor: Actor, owner: repo.TaxOwner, id: number, input: TaxInput): Promise<repo.Tax> {
  return changeReferenceData(db, refs, 'taxes', async (tx) => {
    const before = await repo.getTax(tx, owner, id, { forUpdate: true });
    if (!before) throw new NotFoundError();
    await checkJurisdiction(tx, input.jurisdiction_id);
    await repo.updateTax(tx, owner, id, input);
    const after = (await repo.getTax(tx, owner, id)) as repo.Tax;
    await recordAudit(tx, actor, { resellerId: tenantOf(owner), entityType: 'tax', entityId: id, action: 'update', before: settingsOf(before), after: settingsOf(after) });
    return after;
  });
}

/** Ends a tax: it stops applying from `effectiveToMs` on (calls before keep it). */
export async function endTax(db: Db, refs: ReferenceInvalidator, actor: Actor, owner: repo.TaxOwner, id: number, effectiveToMs: number): Promise<repo.Tax> {
  return changeReferenceData(db, refs, 'taxes', async (tx) => {
    const before = await repo.getTax(tx, owner, id, { forUpdate: true });
    if (!before) throw new NotFoundError();
    if (effectiveToMs <= before.effectiveFrom.getTime()) throw new FieldErrors({ effective_to: 'The end must be after the tax’s start' });
    await repo.setEffectiveTo(tx, owner, id, effectiveToMs);
    const after = (await repo.getTax(tx, owner, id)) as repo.Tax;
    await recordAudit(tx, actor, { resellerId: tenantOf(owner), entityType: 'tax', entityId: id, action: 'end', before: { effective_to: before.effectiveTo }, after: { effective_to: after.effectiveTo } });
    return after;
  });
}

function settingsOf(t: repo.Tax) {
  return {
    name: t.name,
    jurisdiction_id: t.jurisdictionId,
    jurisdiction: t.jurisdiction.name,
    kind: t.kind,
    basis: t.basis,
    rate: t.rate.toString(),
    priority: t.priority,
    compounding: t.compounding,
    effective_from: t.effectiveFrom,
    effective_to: t.effectiveTo,
  };
}

// ---- Reads: what the portal's pages show, and the API will share (routes never read a repository) ----

export type { Tax, TaxOwner } from './taxes.repository';
export type { Jurisdiction, JurisdictionSummary } from './jurisdictions.repository';

export async function listTaxes(db: Queryable, owner: repo.TaxOwner): Promise<repo.Tax[]> {
  return repo.listTaxes(db, owner);
}

/** The operator's list of jurisdictions, which every owner's taxes pick from. */
export async function listJurisdictions(db: Queryable): Promise<jurisdictions.JurisdictionSummary[]> {
  return jurisdictions.listJurisdictions(db);
}
