import { Router } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import type { Db } from '../../db/knex';
import { NotFoundError } from '../../domain/errors';
import { idParam } from '../../web/params';
import { scope } from '../../web/principal';
import { platformOptions } from './calls.repository';
import { rejectListQuery } from './calls.schemas';
import * as repo from './rejects.repository';

const BASE = '/wholesale/rejects';

/** The operator's browser of what the intake refused: read only. */
export function rejectRoutes({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);

  r.get(BASE, async (req, res) => {
    const filter = rejectListQuery.parse(req.query);
    const [page, platforms] = await Promise.all([
      repo.listRejects(db, scope(req), { platformId: filter.platform ? Number(filter.platform) : undefined, cursor: filter.cursor }),
      platformOptions(db),
    ]);
    res.page('rejects/list', { title: 'Rejected records', base: BASE, page, filter, platforms });
  });

  r.get(`${BASE}/:rejectId`, async (req, res) => {
    const reject = await repo.getReject(db, scope(req), idParam(req, 'rejectId'));
    if (!reject) throw new NotFoundError();
    res.page('rejects/show', { title: `Reject ${reject.id}`, base: BASE, reject });
  });

  return r;
}
