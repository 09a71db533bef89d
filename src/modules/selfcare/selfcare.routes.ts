import { Router, type Request, type Response } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import type { Db } from '../../db/knex';
import { BadRequestError } from '../../domain/errors';
import { idParam } from '../../web/params';
import { principal, scope, timeZoneOf } from '../../web/principal';
import { viewHelpers } from '../../web/render';
import { callListQuery } from '../calls/calls.schemas';
import type { PlanCache } from '../rate-plans/plan-cache';
import { ratesQuery } from './selfcare.schemas';
import * as service from './selfcare.service';

/**
 * The subscriber's views (calls, rates, numbers) at three places: its own portal (/me), its
 * reseller's subscriber page (/reseller/subscribers/:subscriberId/...) and the operator's
 * (/wholesale/resellers/:resellerId/subscribers/:subscriberId/...). All read only: support roles
 * see the same pages.
 */
export function selfCareRoutes({ db, plans }: { db: Db; plans: PlanCache }): Router {
  const r = Router(ROUTER_OPTIONS);

  const places: Array<{ prefix: string; open: (req: Request) => Promise<service.SubscriberView> }> = [
    { prefix: '/me', open: (req) => service.openSubscriber(db, scope(req), principal(req).subscriberId as number) },
    { prefix: '/reseller/subscribers/:subscriberId', open: (req) => service.openSubscriber(db, scope(req), idParam(req, 'subscriberId')) },
    {
      prefix: '/wholesale/resellers/:resellerId/subscribers/:subscriberId',
      open: (req) => service.openSubscriber(db, scope(req), idParam(req, 'subscriberId'), { resellerId: idParam(req, 'resellerId') }),
    },
  ];

  const titleOf = (sv: service.SubscriberView, what: string) => (sv.staff ? `${sv.subscriber.accountNumber} · ${sv.subscriber.name}: ${what.toLowerCase()}` : `My ${what.toLowerCase()}`);

  for (const { prefix, open } of places) {
    r.get(`${prefix}/calls`, async (req, res) => {
      const sv = await open(req);
      const q = callListQuery.parse(req.query);
      const data = await service.callsSection(db, sv, q, timeZoneOf(req));
      const { cursor: _cursor, ...filter } = data.filter;
      res.page('selfcare/calls', { title: titleOf(sv, 'Calls'), sv, ...data, base: `${sv.base}/calls`, csvHref: `${sv.base}/calls.csv${viewHelpers.query(filter)}` });
    });

    r.get(`${prefix}/calls.csv`, async (req: Request, res: Response) => {
      const sv = await open(req);
      const q = callListQuery.parse(req.query);
      const bad = service.callsCsvError(sv, q, timeZoneOf(req));
      // A number that is no number: say so, never export every call.
      if (bad) throw new BadRequestError(bad);
      res.type('text/csv').attachment(service.callsCsvName(sv, q, timeZoneOf(req)));
      try {
        await service.exportCalls(db, sv, q, res, timeZoneOf(req));
      } catch (err) {
        // Headers (and perhaps rows) are out: all that is left is to cut the download short.
        req.log?.error({ err }, 'subscriber calls CSV export failed');
        res.destroy(err as Error);
      }
    });

    r.get(`${prefix}/rates`, async (req, res) => {
      const sv = await open(req);
      const data = await service.ratesSection(db, plans, sv, ratesQuery.parse(req.query));
      res.page('selfcare/rates', { title: titleOf(sv, 'Rates'), sv, ...data, base: `${sv.base}/rates` });
    });

    r.get(`${prefix}/numbers`, async (req, res) => {
      const sv = await open(req);
      const data = await service.numbersSection(db, scope(req), sv);
      res.page('selfcare/numbers', { title: titleOf(sv, 'Numbers'), sv, ...data });
    });
  }

  return r;
}
