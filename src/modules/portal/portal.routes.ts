import { Router } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import type { Db } from '../../db/knex';
import { principal, resellerIdOf, scope, timeZoneOf } from '../../web/principal';
import { dashboardQuery } from './portal.schemas';
import * as service from './portal.service';

/** Each portal's home page, with its usage for the period asked (?from=&to=, local dates). */
export function portalRoutes({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);

  r.get('/wholesale', async (req, res) => {
    const q = dashboardQuery.parse(req.query);
    res.page('wholesale/dashboard', { title: 'Dashboard', ...(await service.wholesaleHome(db, scope(req), q, timeZoneOf(req))) });
  });

  r.get('/reseller', async (req, res) => {
    const q = dashboardQuery.parse(req.query);
    res.page('reseller/dashboard', { title: 'Dashboard', ...(await service.resellerHome(db, scope(req), resellerIdOf(req), q, timeZoneOf(req))) });
  });

  r.get('/me', async (req, res) => {
    const q = dashboardQuery.parse(req.query);
    res.page('subscriber/account', { title: 'My account', ...(await service.subscriberHome(db, scope(req), principal(req).subscriberId as number, q, timeZoneOf(req))) });
  });

  return r;
}
