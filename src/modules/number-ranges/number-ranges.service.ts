import type { Db } from '../../db/knex';
import { ConflictError, FieldErrors, NotFoundError } from '../../domain/errors';
import { normaliseE164 } from '../../domain/numbers/e164';
import type { Actor } from '../../domain/tenancy/actor';
import type { Scope } from '../../domain/tenancy/roles';
import { recordAudit } from '../audit/audit.repository';
import { getReseller } from '../resellers/resellers.repository';
import * as repo from './number-ranges.repository';
import type { NumberRangeInput } from './number-ranges.schemas';

export type { NumberRange, NumberRangeInUse } from './number-ranges.repository';

/** "+12125550000 to +12125559999", or the one number of a range of one. */
export const rangeName = (r: { firstNumber: string; lastNumber: string }): string => (r.firstNumber === r.lastNumber ? r.firstNumber : `${r.firstNumber} to ${r.lastNumber}`);

/** How many numbers a range holds (a count, not money: up to 10^15 fits a JS number exactly). */
export const rangeSize = (r: { firstNumber: string; lastNumber: string }): number => Number(r.lastNumber.slice(1)) - Number(r.firstNumber.slice(1)) + 1;

/** The reseller's ranges with how many of their numbers are in use; a reseller's people see only their own. */
export async function listRanges(db: Db, scope: Scope, resellerId: number): Promise<repo.NumberRangeInUse[]> {
  if (!(await getReseller(db, scope, resellerId))) throw new NotFoundError();
  return repo.listRanges(db, resellerId);
}

export async function getRange(db: Db, resellerId: number, id: number): Promise<repo.NumberRangeInUse> {
  const range = await repo.getRange(db, resellerId, id);
  if (!range) throw new NotFoundError();
  return range;
}

function parseBound(typed: string, field: string): string {
  // International form only: a range is the operator's, in no subscriber's country.
  const r = normaliseE164(typed);
  if (!r.ok) throw new FieldErrors({ [field]: `${r.reason} (type it in international form, e.g. +12125550000)` });
  return r.number;
}

/**
 * Gives a reseller a range (operator admins only: the routes are the wholesale portal's). The
 * operator may be told everything, so an overlap names the other range and its reseller, and
 * numbers of the range active on another reseller's subscribers are named too: they would
 * otherwise sit in a range that is not their holder's.
 */
export async function addRange(db: Db, actor: Actor, resellerId: number, input: NumberRangeInput): Promise<repo.NumberRange> {
  const first = parseBound(input.first_number, 'first_number');
  const last = parseBound(input.last_number, 'last_number');
  if (first.length !== last.length) throw new FieldErrors({ last_number: `${last} has ${last.length - 1} digits and ${first} ${first.length - 1}: a range's first and last number have the same length` });
  if (last < first) throw new FieldErrors({ last_number: `${last} comes before ${first}` });
  return db.transaction(async (tx) => {
    const reseller = await getReseller(tx, { kind: 'wholesale' }, resellerId);
    if (!reseller) throw new NotFoundError();
    // One range added at a time, so the checks below cannot pass for two overlapping ranges at once
    // (the exclusion constraint would still refuse the second, with a less helpful message).
    await tx.raw('LOCK TABLE number_ranges IN SHARE ROW EXCLUSIVE MODE');
    const [clash] = await repo.overlapping(tx, first, last);
    if (clash) {
      const whose = clash.resellerId === resellerId ? `${reseller.name}’s own range` : `the range of ${clash.resellerName}`;
      throw new FieldErrors({ first_number: `${rangeName({ firstNumber: first, lastNumber: last })} overlaps ${whose} ${rangeName(clash)}` });
    }
    const held = await repo.heldByOthers(tx, resellerId, first, last);
    if (held.length) {
      const list = held.slice(0, 5).map((h) => `${h.number} (${h.resellerName})`).join(', ');
      throw new FieldErrors({ first_number: `Numbers of this range are assigned to subscribers of other resellers: ${list}${held.length > 5 ? ', …' : ''}` });
    }
    const range = await repo.insertRange(tx, resellerId, first, last);
    await recordAudit(tx, actor, { resellerId, entityType: 'number_range', entityId: range.id, action: 'create', after: { first_number: first, last_number: last } });
    return range;
  });
}

/** Takes a range back; refused while any of its numbers is assigned (release them first). */
export async function removeRange(db: Db, actor: Actor, resellerId: number, id: number): Promise<repo.NumberRange> {
  return db.transaction(async (tx) => {
    // FOR UPDATE waits for an assignment in progress (it holds the range FOR SHARE), then counts.
    const range = await repo.getRange(tx, resellerId, id, { forUpdate: true });
    if (!range) throw new NotFoundError();
    const again = await repo.getRange(tx, resellerId, id);
    const inUse = again?.inUse ?? range.inUse;
    if (inUse > 0) throw new ConflictError(`${rangeName(range)} cannot be removed: ${inUse} of its numbers ${inUse === 1 ? 'is' : 'are'} assigned. Release them first.`);
    await repo.deleteRange(tx, resellerId, id);
    await recordAudit(tx, actor, { resellerId, entityType: 'number_range', entityId: id, action: 'delete', before: { first_number: range.firstNumber, last_number: range.lastNumber } });
    return range;
  });
}
