import type { Db } from '../../db/knex';
import { FieldErrors, NotFoundError } from '../../domain/errors';
import type { Actor } from '../../domain/tenancy/actor';
import type { Scope } from '../../domain/tenancy/roles';
import { recordAudit } from '../audit/audit.repository';
import { getResellerForUpdate, setWholesalePlan } from '../resellers/resellers.repository';
import { getSubscriber, setRetailPlan } from '../subscribers/subscribers.repository';
import { getPlan } from './rate-plans.repository';

/**
 * Which plan prices what (DOMAIN.md, "Rating: two charges per leg"): the operator assigns one of
 * its plans to each reseller (wholesale charges); a reseller assigns one of its own plans to each
 * subscriber (retail charges). A plan of another owner is simply not found.
 */
export async function assignWholesalePlan(db: Db, actor: Actor, resellerId: number, planId: number | null) {
  return db.transaction(async (tx) => {
    const before = await getResellerForUpdate(tx, resellerId);
    if (!before) throw new NotFoundError();
    if (planId !== null && !(await getPlan(tx, { kind: 'operator' }, planId))) throw new FieldErrors({ wholesale_plan_id: 'Choose one of the operator’s rate plans' });
    const after = await setWholesalePlan(tx, resellerId, planId);
    await recordAudit(tx, actor, { resellerId, entityType: 'reseller', entityId: resellerId, action: 'assign_plan', before: { wholesale_plan_id: before.wholesalePlanId }, after: { wholesale_plan_id: after.wholesalePlanId } });
    return after;
  });
}

export async function assignRetailPlan(db: Db, actor: Actor, scope: Scope, subscriberId: number, planId: number | null) {
  return db.transaction(async (tx) => {
    const before = await getSubscriber(tx, scope, subscriberId, { forUpdate: true });
    if (!before) throw new NotFoundError();
    if (planId !== null && !(await getPlan(tx, { kind: 'reseller', resellerId: before.resellerId }, planId))) {
      throw new FieldErrors({ retail_plan_id: 'Choose one of your rate plans' });
    }
    const after = await setRetailPlan(tx, before.resellerId, subscriberId, planId);
    await recordAudit(tx, actor, { resellerId: before.resellerId, entityType: 'subscriber', entityId: subscriberId, action: 'assign_plan', before: { retail_plan_id: before.retailPlanId }, after: { retail_plan_id: after.retailPlanId } });
    return after;
  });
}
