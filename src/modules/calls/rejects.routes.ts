import { Router } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import type { Db } from '../../db/knex';
import { z } from 'zod';
import { flash } from '../../web/render';
import { actor, scope } from '../../web/principal';
import { idParam } from '../../web/params';
import { rejectListQuery } from './calls.schemas';
import * as service from './rejects.service';

const BASE = '/wholesale/rejects';

/** The operator's browser of what the intake refused: read only. */
export function rejectRoutes({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);

  r.get(BASE, async (req, res) => {
    const filter = rejectListQuery.parse(req.query);
    const { page, platforms, retentionDays } = await service.rejectsPage(db, scope(req), { platformId: filter.platform ? Number(filter.platform) : undefined, cursor: filter.cursor });
    res.page('rejects/list', { title: 'Rejected records', base: BASE, page, filter, platforms, retentionDays });
  });

  // How long rejects are kept: the operator's choice, audited; older ones are deleted every hour.
  r.post(`${BASE}/retention`, async (req, res) => {
    const parsed = z.coerce.number().int().min(1).max(3650).safeParse(req.body?.days);
    if (!parsed.success) {
      flash(req, 'error', 'Keep rejects for 1 to 3650 days.');
      return res.redirect(303, BASE);
    }
    await service.setRetentionDays(db, actor(req), parsed.data);
    flash(req, 'success', `Rejects are now kept for ${parsed.data} days.`);
    res.redirect(303, BASE);
  });

  r.get(`${BASE}/:rejectId`, async (req, res) => {
    const reject = await service.getRejectOrThrow(db, scope(req), idParam(req, 'rejectId'));
    res.page('rejects/show', { title: `Reject ${reject.id}`, base: BASE, reject });
  });

  // The body exactly as it arrived, for the switch's people to see what their switch sent.
  r.get(`${BASE}/:rejectId/body`, async (req, res) => {
    const id = idParam(req, 'rejectId');
    const bytes = await service.rejectBytesOrThrow(db, scope(req), id);
    res.set({ 'Content-Type': 'application/octet-stream', 'Content-Disposition': `attachment; filename="reject-${id}.bin"`, 'Cache-Control': 'no-store' });
    res.send(bytes);
  });

  return r;
}
