import { Router } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import { z } from 'zod';
import type { Db } from '../../db/knex';
import { scope } from '../../web/principal';
import { listAudit } from './audit.service';

const auditQuery = z.object({
  entityType: z.enum(['reseller', 'subscriber', 'user', 'phone_number', 'setting']).optional().catch(undefined),
  action: z.string().trim().max(40).regex(/^[a-z_]+$/).optional().catch(undefined),
  resellerId: z.coerce.number().int().positive().optional().catch(undefined),
  cursor: z.string().max(200).optional().catch(undefined),
});

/** The audit log: wholesale sees every change, a reseller the changes to its own rows. */
export function auditRoutes({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);
  for (const portal of ['wholesale', 'reseller'] as const) {
    r.get(`/${portal}/audit`, async (req, res) => {
      const filter = auditQuery.parse(req.query);
      if (portal === 'reseller') delete filter.resellerId;
      const page = await listAudit(db, scope(req), filter);
      res.page('audit/list', { title: 'Audit log', page, filter, portal });
    });
  }
  return r;
}
