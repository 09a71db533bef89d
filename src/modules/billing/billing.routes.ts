import { Router, type Request, type Response } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import type { Db } from '../../db/knex';
import { idParam } from '../../web/params';
import { principal, resellerIdOf, scope } from '../../web/principal';
import { displayAmount, minutesSeconds } from '../calls/format';
import { accountQuery } from './billing.schemas';
import * as service from './billing.service';

/**
 * Account status pages: a subscriber's retail account (its own, its reseller's staff, the
 * operator's staff) and a reseller's wholesale account with the operator (its staff, the
 * operator's). Read only for everyone: support roles see the same page.
 */
export function billingRoutes({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);

  async function show(req: Request, res: Response, target: service.AccountTarget, base: string, back: { href: string; label: string } | null) {
    const { cycle } = accountQuery.parse(req.query);
    const status = await service.accountStatus(db, scope(req), target, { cycleDate: cycle });
    const p = status.party;
    const title = p.side === 'wholesale' ? `${p.name}: wholesale account` : `${p.accountNumber} ${p.name}: account status`;
    res.page('billing/account', { title, ...status, base, back, fmt: { amount: displayAmount, minutes: minutesSeconds } });
  }

  r.get('/me/account', (req, res) => show(req, res, { kind: 'subscriber', subscriberId: principal(req).subscriberId as number }, '/me/account', null));

  r.get('/reseller/subscribers/:subscriberId/account', (req, res) => {
    const id = idParam(req, 'subscriberId');
    return show(req, res, { kind: 'subscriber', subscriberId: id, resellerId: resellerIdOf(req) }, `/reseller/subscribers/${id}/account`, { href: `/reseller/subscribers/${id}`, label: 'Subscriber' });
  });

  r.get('/wholesale/resellers/:resellerId/subscribers/:subscriberId/account', (req, res) => {
    const resellerId = idParam(req, 'resellerId');
    const id = idParam(req, 'subscriberId');
    const base = `/wholesale/resellers/${resellerId}/subscribers/${id}`;
    return show(req, res, { kind: 'subscriber', subscriberId: id, resellerId }, `${base}/account`, { href: base, label: 'Subscriber' });
  });

  r.get('/reseller/account', (req, res) => show(req, res, { kind: 'reseller', resellerId: resellerIdOf(req) }, '/reseller/account', null));

  r.get('/wholesale/resellers/:resellerId/account', (req, res) => {
    const id = idParam(req, 'resellerId');
    return show(req, res, { kind: 'reseller', resellerId: id }, `/wholesale/resellers/${id}/account`, { href: `/wholesale/resellers/${id}`, label: 'Reseller' });
  });

  return r;
}
