import type { Db } from '../../db/knex';
import type { Scope } from '../../domain/tenancy/roles';
import { listAudit } from '../audit/audit.service';
import { recentCalls } from '../calls/calls.service';
import { operatorCounts, subscriberStatusCounts } from '../resellers/resellers.service';
import { details } from '../subscribers/subscribers.service';
import { topList, usageDashboard } from './dashboards.service';
import type { DashboardQuery } from './portal.schemas';
import { subscriberFeatures } from '../feature-packages/feature-packages.service';

/** The operator's home: counts of resellers and subscribers, usage of the period, and the last changes. */
export async function wholesaleHome(db: Db, scope: Scope, asked: DashboardQuery = {}, timeZone = 'UTC') {
  const usage = await usageDashboard(db, scope, asked, timeZone);
  const [counts, recent, topResellers, topDestinations] = await Promise.all([
    operatorCounts(db),
    listAudit(db, scope, { limit: 10 }),
    topList(db, scope, 'reseller', usage.period),
    topList(db, scope, 'destination', usage.period),
  ]);
  return { resellers: counts.resellers, subs: counts.subscribers, suspended: counts.suspended, recent: recent.rows, usage, topResellers, topDestinations };
}

/** A reseller's home: its subscribers by status, their usage with cost and margin, and the last changes to its rows. */
export async function resellerHome(db: Db, scope: Scope, resellerId: number, asked: DashboardQuery = {}, timeZone = 'UTC') {
  const usage = await usageDashboard(db, scope, asked, timeZone);
  const [subs, recent, topSubscribers, topDestinations] = await Promise.all([
    subscriberStatusCounts(db, resellerId),
    listAudit(db, scope, { limit: 10 }),
    topList(db, scope, 'subscriber', usage.period),
    topList(db, scope, 'destination', usage.period),
  ]);
  return { subs, recent: recent.rows, usage, topSubscribers, topDestinations };
}

/** A subscriber's account page: the account, its numbers and login, its features, its usage per day and its last calls. */
export async function subscriberHome(db: Db, scope: Scope, subscriberId: number, asked: DashboardQuery = {}, timeZone = 'UTC') {
  const [data, recent, usage, featureSection] = await Promise.all([
    details(db, scope, subscriberId), recentCalls(db, scope, 5), usageDashboard(db, scope, asked, timeZone), subscriberFeatures(db, scope, subscriberId),
  ]);
  return { ...data, recentCalls: recent, usage, featureSection };
}
