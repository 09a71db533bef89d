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
 * subscriber (retail charges). A plan of another owner is simply not found. A retired plan is
 * assigned to no one new; whoever holds it keeps it (assigning it again to its holder is no change).
 */
export async function assignWholesalePlan(db: Db, actor: Actor, resellerId: number, planId: number | null) {
  return db.transaction(async (tx) => {
    const before = await getResellerForUpdate(tx, resellerId);
    if (!before) throw new NotFoundError();
    if (planId !== null && planId !== before.wholesalePlanId) {
      const plan = await getPlan(tx, { kind: 'operator' }, planId);
      if (!plan) throw new FieldErrors({ wholesale_plan_id: 'Choose one of the operator’s rate plans' });
      if (plan.retiredAt) throw new FieldErrors({ wholesale_plan_id: `${plan.name} is retired: it is assigned to no one new (bring it back on its page first)` });
    }
    const after = await setWholesalePlan(tx, resellerId, planId);
    await recordAudit(tx, actor, { resellerId, entityType: 'reseller', entityId: resellerId, action: 'assign_plan', before: { wholesale_plan_id: before.wholesalePlanId }, after: { wholesale_plan_id: after.wholesalePlanId } });
    return after;
  });
}

export async function assignRetailPlan(db: Db, actor: Actor, scope: Scope, subscriberId: number, planId: number | null) {
  return db.transaction(async (tx) => {
    const before = await getSubscriber(tx, scope, subscriberId, { forUpdate: true });
    if (!before) throw new NotFoundError();
    if (planId !== null && planId !== before.retailPlanId) {
      const plan = await getPlan(tx, { kind: 'reseller', resellerId: before.resellerId }, planId);
      if (!plan) throw new FieldErrors({ retail_plan_id: 'Choose one of your rate plans' });
      if (plan.retiredAt) throw new FieldErrors({ retail_plan_id: `${plan.name} is retired: it is assigned to no one new (bring it back on its page first)` });
    }
    const after = await setRetailPlan(tx, before.resellerId, subscriberId, planId);
    await recordAudit(tx, actor, { resellerId: before.resellerId, entityType: 'subscriber', entityId: subscriberId, action: 'assign_plan', before: { retail_plan_id: before.retailPlanId }, after: { retail_plan_id: after.retailPlanId } });
    return after;
  });
}
