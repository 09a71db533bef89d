import { Router, type Request, type Response } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import type { Db } from '../../db/knex';
import { ConflictError } from '../../domain/errors';
import { submitForm } from '../../web/forms';
import { idParam } from '../../web/params';
import { actor, resellerIdOf, scope } from '../../web/principal';
import { askConfirmation, isConfirmed } from '../../web/confirm';
import { flash } from '../../web/render';
import { getOrThrow as getReseller } from '../resellers/resellers.service';
import { numberRangeSchema } from './number-ranges.schemas';
import * as service from './number-ranges.service';

/** Wholesale portal: the ranges the operator gives a reseller. Reseller portal: its own, read only. */
export function numberRangeRoutes({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);

  async function showRanges(req: Request, res: Response, opts: { errors?: Record<string, string>; values?: unknown } = {}) {
    const reseller = await getReseller(db, scope(req), idParam(req, 'resellerId'));
    const ranges = await service.listRanges(db, scope(req), reseller.id);
    if (opts.errors) res.status(422);
    res.page('number-ranges/list', {
      title: `${reseller.name}: number ranges`, reseller, ranges, rangeName: service.rangeName, rangeSize: service.rangeSize,
      base: `/wholesale/resellers/${reseller.id}/number-ranges`, errors: opts.errors ?? {}, values: opts.values ?? {},
    });
  }

  r.get('/wholesale/resellers/:resellerId/number-ranges', (req, res) => showRanges(req, res));

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
    const ranges = await service.listRanges(db, scope(req), reseller.id);
    res.page('number-ranges/list', { title: 'Number ranges', reseller, ranges, rangeName: service.rangeName, rangeSize: service.rangeSize, base: null, errors: {}, values: {} });
  });

  return r;
}
