import { Router, type Request, type Response } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import type { Db } from '../../db/knex';
import { BadRequestError, NotFoundError } from '../../domain/errors';
import { idParam } from '../../web/params';
import { actor, scope, timeZoneOf } from '../../web/principal';
import { askConfirmation, countOf, isConfirmed } from '../../web/confirm';
import { flash, viewHelpers } from '../../web/render';
import type { JobKinds } from '../jobs/jobs.service';
import type { RatingCaches } from '../reference-data/reference-data';
import { callListQuery, callsRerateForm, unratedListQuery, unratedRerateForm } from './calls.schemas';
import * as service from './calls.service';

const withoutCursor = (f: service.FilterView) => ({ ...f, cursor: undefined });

/** The re-rate forms' schemas let every field fall back to "not given", so parsing never fails. */
const bodyOf = (req: Request): unknown => (req.body && typeof req.body === 'object' ? req.body : {});

/**
 * Call pages of the three portals: a subscriber's own calls, a reseller's calls with both charges,
 * the operator's view of all of them; the unrated calls and re-rating; CSV exports.
 */
export function callRoutes({ db, caches, jobs }: { db: Db; caches: RatingCaches; jobs: JobKinds }): Router {
  const r = Router(ROUTER_OPTIONS);

  /** The calls of a filter as a CSV download, streamed (the reseller's and operator's; the subscriber's views are selfcare's). */
  const csvExport = async (req: Request, res: Response) => {
    const q = callListQuery.parse(req.query);
    const { view, errors } = service.callSelection(scope(req), q, timeZoneOf(req));
    // A number that is no number: say so, never export every call.
    if (errors.q) throw new BadRequestError(errors.q);
    res.type('text/csv').attachment(`calls-${view.from}-to-${view.to}.csv`);
    try {
      await service.exportCallsCsv(db, scope(req), q, res, { timeZone: timeZoneOf(req) });
    } catch (err) {
      // Headers (and perhaps rows) are out: all that is left is to cut the download short.
      req.log?.error({ err }, 'calls CSV export failed');
      res.destroy(err as Error);
    }
  };

  for (const portal of ['reseller', 'wholesale'] as const) {
    const base = `/${portal}/calls`;
    const unratedBase = `/${portal}/unrated`;
    const jobsBase = `/${portal}/jobs`;
    const operator = portal === 'wholesale';

    r.get(base, async (req, res) => {
      const q = callListQuery.parse(req.query);
      const [data, options] = await Promise.all([service.listCalls(db, scope(req), q, timeZoneOf(req)), service.filterOptions(db, scope(req), q.subscriber)]);
      res.page('calls/list', {
        title: 'Calls', base, portal, operator, ...data, options,
        csvHref: `${base}.csv${viewHelpers.query(withoutCursor(data.filter))}`,
      });
    });

    r.get(`${base}.csv`, csvExport);

    r.get(`${base}/:legId`, async (req, res) => {
      const data = await service.callDetails(db, scope(req), idParam(req, 'legId'));
      res.page('calls/show', { title: `Call ${data.leg.id}`, base, portal, operator, ...data });
    });

    r.get(unratedBase, async (req, res) => {
      const q = unratedListQuery.parse(req.query);
      const [data, options] = await Promise.all([service.unratedPage(db, scope(req), q, timeZoneOf(req)), service.filterOptions(db, scope(req))]);
      res.page('calls/unrated', { title: 'Unrated calls', base: unratedBase, callsBase: base, portal, operator, ...data, options });
    });

    r.post(`${unratedBase}/rerate`, async (req: Request, res: Response) => {
      const form = unratedRerateForm.parse(bodyOf(req));
      const { selection, view } = service.unratedSelection(scope(req), form, timeZoneOf(req));
      const back = `${unratedBase}${viewHelpers.query(withoutCursor(view))}`;
      let target: { ids: number[] } | { filter: typeof selection };
      if (form.mode === 'selected') {
        if (form.ids.length === 0) {
          flash(req, 'error', 'Tick the calls to re-rate first.');
          return res.redirect(303, back);
        }
        if (!form.ids.every((s) => /^[1-9]\d{0,15}$/.test(s))) throw new NotFoundError();
        target = { ids: form.ids.map(Number) };
      } else if (form.mode === 'filter') {
        target = { filter: selection };
        const n = isConfirmed(req) ? 0 : await service.countSelection(db, scope(req), selection);
        if (n > 0) {
          return askConfirmation(req, res, {
            title: `Re-rate ${countOf(n, 'call')}?`,
            consequences: [
              `Re-rating prices again the ${countOf(n, 'unrated or blocked call')} matching ${await service.describeFilter(db, scope(req), view, timeZoneOf(req))}, with the plans, rates, taxes and exchange rates in force now.`,
              'Each call that can be priced becomes rated and gets its charges; the others stay unrated or blocked, with the reason.',
              ...(n > service.INLINE_RERATE_MAX ? [`More than ${service.INLINE_RERATE_MAX.toLocaleString('en-US')} calls: it runs as a job, whose page shows the progress.`] : []),
            ],
            confirmLabel: `Re-rate ${countOf(n, 'call')}`,
            cancelHref: back,
            fields: { ...withoutCursor(view), mode: 'filter' },
          });
        }
      } else {
        flash(req, 'error', 'Choose what to re-rate: the ticked calls, or every call matching the filter.');
        return res.redirect(303, back);
      }
      const started = await service.rerateOrStart(db, caches, jobs, actor(req), scope(req), target, back);
      if ('jobId' in started) return res.redirect(303, `${jobsBase}/${started.jobId}`);
      flash(req, started.outcome.total > 0 && started.outcome.rated === started.outcome.total ? 'success' : 'info', service.outcomeMessage(started.outcome));
      res.redirect(303, back);
    });
  }

  // After a rate correction: re-rate every call of a period (or narrower filter), rated ones included.
  r.post('/wholesale/calls/rerate', async (req, res) => {
    const form = callsRerateForm.parse(bodyOf(req));
    const { selection, view, errors } = service.callSelection(scope(req), form, timeZoneOf(req));
    const back = `/wholesale/calls${viewHelpers.query(withoutCursor(view))}`;
    if (errors.q) {
      flash(req, 'error', `Nothing re-rated: ${errors.q}.`);
      return res.redirect(303, back);
    }
    const n = form.confirm === 'yes' ? 0 : await service.countSelection(db, scope(req), selection);
    if (n > 0) {
      return askConfirmation(req, res, {
        title: `Re-rate ${countOf(n, 'call')}?`,
        consequences: [
          `Re-rating prices again every one of the ${countOf(n, 'call')} matching ${await service.describeFilter(db, scope(req), view, timeZoneOf(req))}, rated ones included, with the plans, rates, taxes and exchange rates in force now.`,
          "Each call's wholesale and retail charges are replaced by the new ones (never added to): what resellers and subscribers are charged for these calls changes, and the old amounts are not kept.",
          ...(n > service.INLINE_RERATE_MAX ? [`More than ${service.INLINE_RERATE_MAX.toLocaleString('en-US')} calls: it runs as a job, whose page shows the progress.`] : []),
        ],
        confirmLabel: `Re-rate ${countOf(n, 'call')}`,
        cancelHref: back,
        fields: withoutCursor(view),
      });
    }
    const started = await service.rerateOrStart(db, caches, jobs, actor(req), scope(req), { filter: selection }, back);
    if ('jobId' in started) return res.redirect(303, `/wholesale/jobs/${started.jobId}`);
    flash(req, started.outcome.total > 0 && started.outcome.rated === started.outcome.total ? 'success' : 'info', service.outcomeMessage(started.outcome));
    res.redirect(303, back);
  });

  return r;
}
