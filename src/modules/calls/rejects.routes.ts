import { Router } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import type { Db } from '../../db/knex';
import { z } from 'zod';
import { flash } from '../../web/render';
import { actor, scope } from '../../web/principal';
import { idParam } from '../../web/params';
import { listParams } from '../../domain/fields';
import { listView, sendListCsv, type Column } from '../../web/lists';
import * as service from './rejects.service';

const BASE = '/wholesale/rejects';

const rejectsQuery = z.object({
  platform: z.string().regex(/^[1-9]\d{0,15}$/).optional().catch(undefined),
  q: z.string().trim().max(100).optional().catch(undefined),
  ...listParams,
});

function toFilter(f: z.infer<typeof rejectsQuery>): service.RejectFilter {
  return { ...f, platformId: f.platform ? Number(f.platform) : undefined };
}

/** The rejects list's columns: the page's table and its CSV. */
const REJECT_COLUMNS: Array<Column<service.CdrReject>> = [
  { label: 'Received', sort: 'received', text: (x, h) => h.dateTime(x.receivedAt), href: (x) => `${BASE}/${x.id}` },
  { label: 'Platform', sort: 'platform', text: (x) => x.platformName || '—', href: (x) => (x.platformId ? `/wholesale/platforms/${x.platformId}` : undefined) },
  { label: 'Source address', sort: 'source', text: (x) => x.sourceIp || '' },
  { label: 'Error', sort: 'error', text: (x) => x.error },
  { label: 'Record', sort: 'record', num: true, text: (x) => (x.recordIndex === null ? 'whole body' : `#${x.recordIndex}`) },
  { label: 'Size', sort: 'size', num: true, text: (x) => `${x.bodyLength} chars` },
];

/** The operator's browser of what the intake refused: read only. */
export function rejectRoutes({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);

  r.get(BASE, async (req, res) => {
    const filter = rejectsQuery.parse(req.query);
    const { page, platforms, retentionDays } = await service.rejectsPage(db, scope(req), toFilter(filter));
    const list = listView({ columns: REJECT_COLUMNS, ...page, filter, path: BASE, rowKey: 'reject', noun: ['rejected record', 'rejected records'], totalLines: [`${page.totals.chars ?? '0'} chars in all`] });
    res.page('rejects/list', { title: 'Rejected records', base: BASE, list, filter, platforms, retentionDays });
  });

  r.get(`${BASE}.csv`, async (req, res) => {
    const filter = rejectsQuery.parse(req.query);
    await sendListCsv(req, res, 'rejects', REJECT_COLUMNS, service.allRejects(db, scope(req), toFilter(filter)));
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
