import { announceReferenceChange, changeReferenceData, type ReferenceInvalidator } from '../../db/change-notices';
import type { Db, Queryable } from '../../db/knex';
import { rethrowDuplicate } from '../../db/knex';
import { ConflictError, FieldErrors, NotFoundError } from '../../domain/errors';
import { OPERATOR } from '../../domain/tenancy/owner';
import type { Actor } from '../../domain/tenancy/actor';
import { recordAudit } from '../audit/audit.repository';
import { renameTrunkCarrier } from '../platforms/platforms.repository';
import * as plans from '../rate-plans/rate-plans.service';
import { carrierIdOf, credentialMatches, newCarrierCredential, sourceAllowed } from './credentials';
import * as repo from './carriers.repository';
import type { CarrierInput } from './carriers.schemas';

export type { Carrier, CarrierSummary } from './carriers.repository';

const UNIQUE = { carriers_name_key: ['name', 'Another carrier already has this name'] as [string, string] };

/** What the audit log keeps of a carrier: everything but the credential's hash. */
function auditView(c: repo.Carrier) {
  const { credentialHash, costPlanName: _name, ...rest } = c;
  return { ...rest, costTolerance: c.costTolerance.toString(), credentialIssued: credentialHash !== null };
}

/** The cost deck must be one of the operator's plans; a retired one only if the carrier already has it. */
async function checkCostPlan(db: Queryable, planId: number | null, current: number | null): Promise<void> {
  if (planId === null) return;
  const plan = await plans.getOrThrow(db, OPERATOR, planId).catch((err) => {
    if (err instanceof NotFoundError) throw new FieldErrors({ cost_plan_id: 'Choose one of the operator’s rate plans' });
    throw err;
  });
  if (plan.retiredAt && planId !== current) throw new FieldErrors({ cost_plan_id: `${plan.name} is retired: bring it back on its page first` });
}

/** Registers a carrier; its posting credential is returned once, to be shown once, and stored hashed. */
export async function createCarrier(db: Db, actor: Actor, input: CarrierInput, refs?: ReferenceInvalidator): Promise<{ carrier: repo.Carrier; token: string }> {
  try {
    const made = await db.transaction(async (tx) => {
      await checkCostPlan(tx, input.cost_plan_id, null);
      // Rating holds the carriers' decks in memory ('carriers'): other processes look again at commit.
      await announceReferenceChange(tx, 'carriers');
      const id = await repo.insertCarrier(tx, input);
      // The token embeds the id: issued once the row exists.
      const { token, hash } = newCarrierCredential(id);
      await repo.setCredential(tx, id, hash);
      const carrier = (await repo.getCarrier(tx, id)) as repo.Carrier;
      await recordAudit(tx, actor, { resellerId: null, entityType: 'carrier', entityId: id, action: 'create', after: auditView(carrier) });
      return { carrier, token };
    });
    refs?.invalidate('carriers');
    return made;
  } catch (err) {
    return rethrowDuplicate(err, UNIQUE);
  }
}

/**
 * Settings, deck, tolerances, format and mapping, allow-list, time due. A new name is carried into
 * every platform trunk map that named the old one, in the same transaction (the intake reads the
 * maps from memory: the platforms' copies are dropped); legs stored before keep the old name.
 */
export async function updateCarrier(db: Db, refs: ReferenceInvalidator, actor: Actor, id: number, input: CarrierInput): Promise<repo.Carrier> {
  try {
    const updated = await changeReferenceData(db, refs, 'platforms', async (tx) => {
      const before = await repo.getCarrier(tx, id, { forUpdate: true });
      if (!before) throw new NotFoundError();
      // The deck or the name may change: rating's copy of the carriers' decks too.
      await announceReferenceChange(tx, 'carriers');
      await checkCostPlan(tx, input.cost_plan_id, before.costPlanId);
      await repo.updateCarrier(tx, id, input);
      const renamedIn = before.name !== input.name ? await renameTrunkCarrier(tx, before.name, input.name) : [];
      const after = (await repo.getCarrier(tx, id)) as repo.Carrier;
      await recordAudit(tx, actor, { resellerId: null, entityType: 'carrier', entityId: id, action: 'update', before: auditView(before), after: { ...auditView(after), ...(renamedIn.length ? { trunk_maps_renamed_on_platforms: renamedIn } : {}) } });
      return after;
    });
    refs.invalidate('carriers');
    return updated;
  } catch (err) {
    if (err instanceof NotFoundError || err instanceof FieldErrors) throw err;
    return rethrowDuplicate(err, UNIQUE);
  }
}

/** A new posting credential; the old one (if any) stops working at once. */
export async function rotateCredential(db: Db, actor: Actor, id: number): Promise<{ carrier: repo.Carrier; token: string }> {
  return db.transaction(async (tx) => {
    const carrier = await repo.getCarrier(tx, id, { forUpdate: true });
    if (!carrier) throw new NotFoundError();
    const { token, hash } = newCarrierCredential(id);
    await repo.setCredential(tx, id, hash);
    await recordAudit(tx, actor, { resellerId: null, entityType: 'carrier', entityId: id, action: 'rotate_credential', before: { credential_rotated_at: carrier.credentialRotatedAt }, after: { credential_issued: true } });
    return { carrier: (await repo.getCarrier(tx, id)) as repo.Carrier, token };
  });
}

/**
 * Deactivates (or reactivates) a carrier: an inactive carrier's posts are refused and its file is
 * not expected; trunks that point at it stay mapped, and new trunks may not be mapped to it.
 */
export async function setCarrierActive(db: Db, actor: Actor, id: number, active: boolean): Promise<repo.Carrier> {
  return db.transaction(async (tx) => {
    const before = await repo.getCarrier(tx, id, { forUpdate: true });
    if (!before) throw new NotFoundError();
    if (before.active === active) throw new ConflictError(`${before.name} is already ${active ? 'active' : 'inactive'}.`);
    await repo.setActive(tx, id, active);
    await recordAudit(tx, actor, { resellerId: null, entityType: 'carrier', entityId: id, action: active ? 'activate' : 'deactivate', before: { active: before.active }, after: { active } });
    return (await repo.getCarrier(tx, id)) as repo.Carrier;
  });
}

// ---- Trunk maps: each value names a carrier record ----

/**
 * A platform's trunk -> carrier map as typed, checked against the carrier records: every carrier
 * must exist (any case; the record's spelling is stored), and a trunk newly pointed at a carrier
 * (not so in `previous`) needs an active one. Returns the map to store, or throws FieldErrors on
 * `trunk_carriers` naming every unknown or inactive carrier.
 */
export async function checkTrunkCarriers(db: Queryable, map: Record<string, string>, previous: Record<string, string> = {}): Promise<Record<string, string>> {
  const found = await repo.carriersByNames(db, Object.values(map));
  const unknown: string[] = [];
  const inactive: string[] = [];
  const out: Record<string, string> = {};
  for (const [trunk, name] of Object.entries(map)) {
    const carrier = found.get(name.trim().toLowerCase());
    if (!carrier) {
      if (!unknown.includes(name)) unknown.push(name);
      continue;
    }
    const unchanged = previous[trunk] !== undefined && previous[trunk].toLowerCase() === carrier.name.toLowerCase();
    if (!carrier.active && !unchanged && !inactive.includes(carrier.name)) inactive.push(carrier.name);
    out[trunk] = carrier.name;
  }
  const problems: string[] = [];
  if (unknown.length) problems.push(`No carrier is named ${unknown.map((n) => `"${n}"`).join(', ')}: add it under Carriers first, or correct the name`);
  if (inactive.length) problems.push(`${inactive.join(', ')} ${inactive.length === 1 ? 'is' : 'are'} inactive: reactivate ${inactive.length === 1 ? 'it' : 'them'} before mapping a trunk`);
  if (problems.length) throw new FieldErrors({ trunk_carriers: problems.join('. ') });
  return out;
}

// ---- Reads (routes never read a repository) ----

export const listCarriers = (db: Queryable): Promise<repo.CarrierSummary[]> => repo.listCarriers(db);

/** Carriers are the operator's alone: no scope, and no other tenant's to find. */
export async function getOrThrow(db: Queryable, id: number): Promise<repo.CarrierSummary> {
  const carrier = await repo.getCarrier(db, id);
  if (!carrier) throw new NotFoundError();
  return { ...carrier, trunks: (await repo.trunksByCarrier(db, carrier.name)).get(carrier.name.toLowerCase()) ?? [] };
}

/** A carrier by name, whatever its case (a leg's `carrier`, a trunk map's value); undefined: none. */
export const carrierByName = (db: Queryable, name: string): Promise<repo.Carrier | undefined> => repo.carrierByName(db, name);

/** The carriers of these names, by lower-case name. */
export const carriersByNames = (db: Queryable, names: string[]): Promise<Map<string, repo.Carrier>> => repo.carriersByNames(db, names);

export type CarrierAuth = { ok: true; carrier: repo.Carrier } | { ok: false; reason: 'unknown' | 'inactive' | 'source' };

/**
 * The carrier a posting credential belongs to, for the carrier data intake: `unknown` for a
 * malformed, stale or never-issued credential (answer 401), `inactive` for a deactivated carrier
 * and `source` for an address outside its allow-list (403). Compared in constant time.
 */
export async function carrierByCredential(db: Queryable, token: string, sourceAddress: string | undefined): Promise<CarrierAuth> {
  const id = carrierIdOf(token);
  if (id === undefined) return { ok: false, reason: 'unknown' };
  const carrier = await repo.getCarrier(db, id);
  if (!carrier || carrier.credentialHash === null || !credentialMatches(token, carrier.credentialHash)) return { ok: false, reason: 'unknown' };
  if (!carrier.active) return { ok: false, reason: 'inactive' };
  if (!sourceAllowed(carrier.allowedSources, sourceAddress)) return { ok: false, reason: 'source' };
  return { ok: true, carrier };
}

/** The operator's rate plans a carrier's cost deck may be (the form's choices). */
export async function costPlanChoices(db: Queryable, current: number | null): Promise<Array<{ value: string; label: string }>> {
  const all = await plans.listPlans(db, OPERATOR);
  return all
    .filter((p) => !p.retiredAt || p.id === current)
    .map((p) => ({ value: String(p.id), label: `${p.name} (${p.currency}${p.retiredAt ? ', retired' : ''})` }));
}
