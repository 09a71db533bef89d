import { Router } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import type { Db } from '../../db/knex';
import { principal, resellerIdOf, scope } from '../../web/principal';
import * as service from './portal.service';

/** Each portal's home page. */
export function portalRoutes({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);

  r.get('/wholesale', async (req, res) => {
    res.page('wholesale/dashboard', { title: 'Dashboard', ...(await service.wholesaleHome(db, scope(req))) });
  });

  r.get('/reseller', async (req, res) => {
    res.page('reseller/dashboard', { title: 'Dashboard', ...(await service.resellerHome(db, scope(req), resellerIdOf(req))) });
  });

  r.get('/me', async (req, res) => {
    res.page('subscriber/account', { title: 'My account', ...(await service.subscriberHome(db, scope(req), principal(req).subscriberId as number)) });
  });

  return r;
}
