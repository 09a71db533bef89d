import { Router } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import type { Db } from '../../db/knex';
import { listAudit } from '../audit/audit.repository';
import { resellerCounts, subscriberStatusCounts, suspendedSubscriberCount } from '../resellers/resellers.repository';
import * as subscribers from '../subscribers/subscribers.service';
import { recentCalls } from '../calls/calls.service';
import { principal, resellerIdOf, scope } from '../../web/principal';

/** Each portal's home page. */
export function portalRoutes({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);

  r.get('/wholesale', async (req, res) => {
    const [resellers, subs, suspended, recent] = await Promise.all([
      resellerCounts(db),
      subscriberStatusCounts(db),
      suspendedSubscriberCount(db),
      listAudit(db, scope(req), { limit: 10 }),
    ]);
    res.page('wholesale/dashboard', { title: 'Dashboard', resellers, subs, suspended, recent: recent.rows });
  });

  r.get('/reseller', async (req, res) => {
    const resellerId = resellerIdOf(req);
    const [subs, recent] = await Promise.all([subscriberStatusCounts(db, resellerId), listAudit(db, scope(req), { limit: 10 })]);
    res.page('reseller/dashboard', { title: 'Dashboard', subs, recent: recent.rows });
  });

  r.get('/me', async (req, res) => {
    const p = principal(req);
    const [data, recent] = await Promise.all([subscribers.details(db, scope(req), p.subscriberId as number), recentCalls(db, scope(req), 5)]);
    res.page('subscriber/account', { title: 'My account', ...data, recentCalls: recent });
  });

  return r;
}
