import { Router, type Request, type Response } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import type { Db } from '../../db/knex';
import { ConflictError } from '../../domain/errors';
import { submitForm } from '../../web/forms';
import { idParam } from '../../web/params';
import { actor, resellerIdOf, scope } from '../../web/principal';
import { askConfirmation, isConfirmed } from '../../web/confirm';
import { flash } from '../../web/render';
import { z } from 'zod';
import { listParams } from '../../domain/fields';
import { listInMemory, sendListCsv, type Column } from '../../web/lists';
import { getOrThrow as getReseller } from '../resellers/resellers.service';
import { numberRangeSchema } from './number-ranges.schemas';
import * as service from './number-ranges.service';

const rangeListQuery = z.object({ q: z.string().trim().max(40).optional().catch(undefined), ...listParams });

/** The number ranges list's columns: the page's table and its CSV. */
const RANGE_COLUMNS: Array<Column<service.NumberRangeInUse>> = [
  { label: 'First', sort: 'first', style: 'code', text: (r) => r.firstNumber },
  { label: 'Last', sort: 'last', style: 'code', text: (r) => r.lastNumber },
  { label: 'Numbers', sort: 'size', num: true, text: (r) => service.rangeSize(r).toLocaleString('en-US') },
  { label: 'Added', sort: 'added', text: (r, h) => h.dateTime(r.createdAt) },
  { label: 'In use', sort: 'in_use', num: true, text: (r) => String(r.inUse) },
];

/** Wholesale portal: the ranges the operator gives a reseller. Reseller portal: its own, read only. */
export function numberRangeRoutes({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);

  /** A reseller's ranges the filter matches, sorted as asked: the page and its CSV. */
  async function rangeList(req: Request, resellerId: number, path: string) {
    const filter = rangeListQuery.parse(req.query);
    const digits = filter.q?.replace(/\D/g, '');
    const rows = (await service.listRanges(db, scope(req), resellerId)).filter((r) => !digits || r.firstNumber.includes(digits) || r.lastNumber.includes(digits));
    const size = rows.reduce((n, r) => n + service.rangeSize(r), 0);
    const inUse = rows.reduce((n, r) => n + r.inUse, 0);
    return listInMemory(rows, {
      columns: RANGE_COLUMNS, filter, path, rowKey: 'range', noun: ['number range', 'number ranges'],
      totalLines: [`${size.toLocaleString('en-US')} numbers, ${inUse.toLocaleString('en-US')} in use`],
      sorts: { first: (r) => r.firstNumber, last: (r) => r.lastNumber, size: (r) => service.rangeSize(r), in_use: (r) => r.inUse, added: (r) => r.createdAt.getTime() },
      defaultSort: 'first', defaultDir: 'asc',
    });
  }

  async function showRanges(req: Request, res: Response, opts: { errors?: Record<string, string>; values?: unknown } = {}) {
    const reseller = await getReseller(db, scope(req), idParam(req, 'resellerId'));
    const base = `/wholesale/resellers/${reseller.id}/number-ranges`;
    const list = await rangeList(req, reseller.id, base);
    if (opts.errors) res.status(422);
    res.page('number-ranges/list', {
      title: `${reseller.name}: number ranges`, reseller, list, filter: list.filter, base, errors: opts.errors ?? {}, values: opts.values ?? {},
    });
  }

  r.get('/wholesale/resellers/:resellerId/number-ranges', (req, res) => showRanges(req, res));

  r.get('/wholesale/resellers/:resellerId/number-ranges.csv', async (req, res) => {
    const reseller = await getReseller(db, scope(req), idParam(req, 'resellerId'));
    const list = await rangeList(req, reseller.id, `/wholesale/resellers/${reseller.id}/number-ranges`);
    await sendListCsv(req, res, 'number-ranges', list.columns, list.rows);
  });

  r.post('/wholesale/resellers/:resellerId/number-ranges', async (req, res) => {
    const id = idParam(req, 'resellerId');
    await getReseller(db, scope(req), id);
    await submitForm(
      req,
      res,
      numberRangeSchema,
      async (data) => {
        const range = await service.addRange(db, actor(req), id, data);
        flash(req, 'success', `${service.rangeName(range)} added.`);
        res.redirect(303, `/wholesale/resellers/${id}/number-ranges`);
      },
      (errors) => showRanges(req, res, { errors, values: req.body }),
    );
  });

  r.post('/wholesale/resellers/:resellerId/number-ranges/:rangeId/remove', async (req, res) => {
    const reseller = await getReseller(db, scope(req), idParam(req, 'resellerId'));
    const range = await service.getRange(db, reseller.id, idParam(req, 'rangeId'));
    const base = `/wholesale/resellers/${reseller.id}/number-ranges`;
    if (!isConfirmed(req)) {
      return askConfirmation(req, res, {
        title: `Remove ${service.rangeName(range)}?`,
        consequences: [
          range.inUse
            ? `${range.inUse} of its numbers ${range.inUse === 1 ? 'is' : 'are'} assigned to ${reseller.name}’s subscribers: it cannot be removed until they are released.`
            : `${reseller.name} can no longer assign its numbers to subscribers; none is assigned now.`,
          'Calls of numbers released from it keep their history.',
        ],
        confirmLabel: `Remove ${service.rangeName(range)}`,
        cancelHref: base,
      });
    }
    try {
      await service.removeRange(db, actor(req), reseller.id, range.id);
      flash(req, 'success', `${service.rangeName(range)} removed from ${reseller.name}.`);
    } catch (err) {
      // Back to the ranges (not to wherever the browser came from), with the reason.
      if (!(err instanceof ConflictError)) throw err;
      flash(req, 'error', err.message);
    }
    res.redirect(303, base);
  });

  r.get('/reseller/number-ranges', async (req, res) => {
    const reseller = await getReseller(db, scope(req), resellerIdOf(req));
    const list = await rangeList(req, reseller.id, '/reseller/number-ranges');
    res.page('number-ranges/list', { title: 'Number ranges', reseller, list, filter: list.filter, base: null, errors: {}, values: {} });
  });

  r.get('/reseller/number-ranges.csv', async (req, res) => {
    const list = await rangeList(req, resellerIdOf(req), '/reseller/number-ranges');
    await sendListCsv(req, res, 'number-ranges', list.columns, list.rows);
  });

  return r;
}
