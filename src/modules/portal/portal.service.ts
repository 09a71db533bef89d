import type { Db } from '../../db/knex';
import type { Scope } from '../../domain/tenancy/roles';
import { listAudit } from '../audit/audit.service';
import { recentCalls } from '../calls/calls.service';
import { operatorCounts, subscriberStatusCounts } from '../resellers/resellers.service';
import { details } from '../subscribers/subscribers.service';
import { subscriberFeatures } from '../feature-packages/feature-packages.service';

/** The operator's home: counts of resellers and subscribers, and the last changes. */
export async function wholesaleHome(db: Db, scope: Scope) {
  const [counts, recent] = await Promise.all([operatorCounts(db), listAudit(db, scope, { limit: 10 })]);
  return { resellers: counts.resellers, subs: counts.subscribers, suspended: counts.suspended, recent: recent.rows };
}

/** A reseller's home: its subscribers by status, and the last changes to its rows. */
export async function resellerHome(db: Db, scope: Scope, resellerId: number) {
  const [subs, recent] = await Promise.all([subscriberStatusCounts(db, resellerId), listAudit(db, scope, { limit: 10 })]);
  return { subs, recent: recent.rows };
}

/** A subscriber's account page: the account, its numbers and login, and its last calls. */
export async function subscriberHome(db: Db, scope: Scope, subscriberId: number) {
  const [data, recent, featureSection] = await Promise.all([details(db, scope, subscriberId), recentCalls(db, scope, 5), subscriberFeatures(db, scope, subscriberId)]);
  return { ...data, recentCalls: recent, featureSection };
}
