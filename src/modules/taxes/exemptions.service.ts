import type { Db } from '../../db/knex';
import { NotFoundError } from '../../domain/errors';
import type { Actor } from '../../domain/tenancy/actor';
import type { Scope } from '../../domain/tenancy/roles';
import { recordAudit } from '../audit/audit.repository';
import * as resellers from '../resellers/resellers.repository';
import * as subscribers from '../subscribers/subscribers.repository';

/**
 * Tax exemption (DOMAIN.md, "Around the rate": Taxes): the operator exempts a reseller from its
 * taxes on wholesale charges; a reseller exempts one of its subscribers from its taxes on retail
 * charges. The rating reads the flag and passes an empty rule list to computeTaxes.
 */
export async function setResellerExempt(db: Db, actor: Actor, resellerId: number, exempt: boolean) {
  return db.transaction(async (tx) => {
    const before = await resellers.getResellerForUpdate(tx, resellerId);
    if (!before) throw new NotFoundError();
    const after = await resellers.setTaxExempt(tx, resellerId, exempt);
    await recordAudit(tx, actor, { resellerId, entityType: 'reseller', entityId: resellerId, action: 'tax_exempt', before: { tax_exempt: before.taxExempt }, after: { tax_exempt: after.taxExempt } });
    return after;
  });
}

export async function setSubscriberExempt(db: Db, actor: Actor, scope: Scope, subscriberId: number, exempt: boolean) {
  return db.transaction(async (tx) => {
    const before = await subscribers.getSubscriber(tx, scope, subscriberId, { forUpdate: true });
    if (!before) throw new NotFoundError();
    const after = await subscribers.setTaxExempt(tx, before.resellerId, subscriberId, exempt);
    await recordAudit(tx, actor, { resellerId: before.resellerId, entityType: 'subscriber', entityId: subscriberId, action: 'tax_exempt', before: { tax_exempt: before.taxExempt }, after: { tax_exempt: after.taxExempt } });
    return after;
  });
}
