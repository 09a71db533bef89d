import { readFile } from 'node:fs/promises';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { ROUTER_OPTIONS } from '../../web/router';
import type { Db } from '../../db/knex';
import { FieldErrors } from '../../domain/errors';
import { DECK_COLUMNS } from '../../domain/rating/deck';
import { ROUNDING_METHODS } from '../../domain/money/decimal';
import { submitForm } from '../../web/forms';
import { idParam } from '../../web/params';
import { actor, resellerIdOf, scope, timeZoneOf } from '../../web/principal';
import { formatDateTime } from '../../domain/time/zones';
import { flash } from '../../web/render';
import { csvWriter } from '../csv/csv-writer';
import type { JobKinds } from '../jobs/jobs.service';
import * as assignments from './assignments.service';
import { belowCostWarning } from './margins.service';
import { readZonedTime } from './plan-edits.service';
import type { PlanCache } from './plan-cache';
import { deckImportSchema, planFields, rateLookupQuery, rateSearchQuery } from './rate-plans.schemas';
import * as service from './rate-plans.service';

/** A band import has no fields but its file (or pasted text), which the route reads itself. */
const BAND_IMPORT_FIELDS = z.object({});
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const ROUNDING_OPTIONS = ROUNDING_METHODS.map((m) => ({ value: m, label: m.replace('_', ' ') }));

/** The file field of a multipart import (streamed to a temporary file, see web/uploads.ts), or the pasted text. */
async function uploadedCsv(req: Request): Promise<string> {
  if (req.file?.path) return readFile(req.file.path, 'utf8');
  return typeof req.body?.csv === 'string' ? req.body.csv : '';
}

/**
 * Rate plans for both owners: the operator's (wholesale portal, sold to resellers) and each
 * reseller's (reseller portal, sold to its subscribers). Same pages, different owner.
 */
export function ratePlanRoutes({ db, cache, jobs }: { db: Db; cache: PlanCache; jobs: JobKinds }): Router {
  const r = Router(ROUTER_OPTIONS);

  for (const portal of ['wholesale', 'reseller'] as const) {
    const base = `/${portal}/rate-plans`;
    const ownerOf = (req: Request): service.PlanOwner => (portal === 'wholesale' ? { kind: 'operator' } : { kind: 'reseller', resellerId: resellerIdOf(req) });
    const common = { base, roundingOptions: ROUNDING_OPTIONS, portal };

    r.get(base, async (req, res) => {
      const plans = await service.listPlans(db, ownerOf(req));
      const retired = plans.filter((p) => p.retiredAt).length;
      res.page('rate-plans/list', { title: 'Rate plans', ...common, plans, counts: { all: plans.length, active: plans.length - retired, retired } });
    });

    // A template to start a deck from: the header and two example rows (the columns are explained on the plan's page).
    r.get(`${base}/deck-template.csv`, (_req, res) => {
      res.type('text/csv').attachment('deck-template.csv');
      const out = csvWriter(DECK_COLUMNS);
      out.pipe(res);
      out.write({ prefix: '44', description: 'United Kingdom', direction: 'outbound', band: '', interval_start: 0, rate: '0.0500', rate_unit: 60, increment: 60, connect_fee: '0.01', min_charge: '', max_cost: '3.00', effective_from: '2027-01-01' });
      out.write({ prefix: '44', description: 'United Kingdom', direction: 'outbound', band: '', interval_start: 60, rate: '0.0400', rate_unit: 60, increment: 6, connect_fee: '', min_charge: '', max_cost: '', effective_from: '2027-01-01' });
      out.end();
    });

    r.get(`${base}/new`, (_req, res) => {
      res.page('rate-plans/new', {
        title: 'New rate plan', ...common,
        values: { currency: 'USD', rounding_decimals: '4', rounding_method: 'half_up', time_zone: 'UTC', band_mode: 'split' },
      });
    });

    r.post(base, async (req, res) => {
      await submitForm(
        req, res, planFields,
        async (data) => {
          const plan = await service.createPlan(db, actor(req), ownerOf(req), data);
          flash(req, 'success', `Rate plan ${plan.name} created. Import its time bands (if any) and its rate deck.`);
          res.redirect(303, `${base}/${plan.id}`);
        },
        (errors) => res.page('rate-plans/new', { title: 'New rate plan', ...common, errors, values: req.body }),
      );
    });

    /** An import's bad rows, each by line, shown on the plan's page (422); undefined when it was refused. */
    async function importing<T>(req: Request, res: Response, key: 'deckErrors' | 'bandErrors', run: () => Promise<T>): Promise<T | undefined> {
      try {
        return await run();
      } catch (err) {
        if (!(err instanceof service.ImportErrors)) throw err;
        res.status(422);
        // The start typed for a new version stays in its field for the next attempt.
        await showPage(req, res, { [key]: err.rows, values: { effective_at: typeof req.body?.effective_at === 'string' ? req.body.effective_at : '' } });
        return undefined;
      }
    }

    /** The look-up form's values (now, a minute, outbound unless asked) and, when a number is given, its answer. */
    async function lookUp(req: Request, plan: service.RatePlan) {
      const q = rateLookupQuery.parse(req.query);
      const zone = timeZoneOf(req);
      const values = {
        lookup_number: q.lookup_number ?? '',
        lookup_at: q.lookup_at ?? formatDateTime(Date.now(), zone).slice(0, 16),
        lookup_seconds: q.lookup_seconds ?? '60',
        lookup_direction: q.lookup_direction ?? 'outbound',
      };
      if (!q.lookup_number) return { lookupValues: values, lookupErrors: {}, lookup: undefined, lookupZone: zone };
      try {
        const lookup = await service.lookUpRate(db, cache, plan, { number: values.lookup_number, at: values.lookup_at, seconds: values.lookup_seconds, direction: values.lookup_direction }, zone);
        return { lookupValues: values, lookupErrors: {}, lookup, lookupZone: zone };
      } catch (err) {
        if (!(err instanceof FieldErrors)) throw err;
        return { lookupValues: values, lookupErrors: err.fields, lookup: undefined, lookupZone: zone };
      }
    }

    async function showPage(req: Request, res: Response, extra: Record<string, unknown> = {}) {
      const plan = await service.getOrThrow(db, ownerOf(req), idParam(req, 'planId'));
      const filter = rateSearchQuery.parse(req.query);
      const [rates, bands, summary, lookup, imports] = await Promise.all([
        service.searchRates(db, plan.id, filter),
        service.bands(db, plan.id),
        service.listPlans(db, ownerOf(req)).then((all) => all.find((p) => p.id === plan.id)),
        lookUp(req, plan),
        service.openImports(db, scope(req), plan.id),
      ]);
      res.page('rate-plans/show', {
        title: plan.name, ...common, plan, rates, filter, summary, imports,
        bands: bands.map((b) => ({ ...b, days: b.dates.length ? b.dates.join(' ') : b.weekdays.map((w) => WEEKDAYS[w]).join(','), start: hhmm(b.startMs) })),
        ...lookup,
        ...extra,
      });
    }

    r.get(`${base}/:planId`, (req, res) => showPage(req, res));

    r.get(`${base}/:planId/edit`, async (req, res) => {
      const plan = await service.getOrThrow(db, ownerOf(req), idParam(req, 'planId'));
      res.page('rate-plans/edit', { title: `Edit ${plan.name}`, ...common, plan, values: formValues(plan) });
    });

    r.post(`${base}/:planId`, async (req, res) => {
      const id = idParam(req, 'planId');
      const plan = await service.getOrThrow(db, ownerOf(req), id);
      await submitForm(
        req, res, planFields,
        async (data) => {
          await service.updatePlan(db, cache, actor(req), ownerOf(req), id, data);
          flash(req, 'success', 'Rate plan saved.');
          res.redirect(303, `${base}/${id}`);
        },
        (errors) => res.page('rate-plans/edit', { title: `Edit ${plan.name}`, ...common, plan, errors, values: req.body }),
      );
    });

    r.post(`${base}/:planId/deck`, async (req, res) => {
      const id = idParam(req, 'planId');
      await service.getOrThrow(db, ownerOf(req), id);
      const csv = await uploadedCsv(req);
      await submitForm(
        req, res, deckImportSchema,
        async (data) => {
          if (!csv.trim()) throw new FieldErrors({ file: 'Choose a deck CSV file (or paste its text)' });
          let effectiveFrom: number | null = null;
          if (data.effective_at?.trim()) {
            const at = readZonedTime(data.effective_at, timeZoneOf(req));
            if (!at.ok) throw new FieldErrors({ effective_at: `The start ${at.reason}` });
            effectiveFrom = at.ms;
          }
          if (service.lineCount(csv) > service.INLINE_IMPORT_MAX_LINES) {
            const jobId = await service.startDeckImport(db, jobs, actor(req), ownerOf(req), id, csv, { mode: data.mode, effectiveFrom }, `${base}/${id}`);
            flash(req, 'info', 'A large deck is imported in the background: this page shows its progress, and at the end what was imported or every refused row.');
            return res.redirect(303, `/${portal}/jobs/${jobId}`);
          }
          const result = await importing(req, res, 'deckErrors', () => service.importDeck(db, cache, actor(req), ownerOf(req), id, csv, { mode: data.mode, effectiveFrom }));
          if (!result) return;
          flash(req, 'success', `Deck imported (${data.mode}): ${result.rates} rates, ${result.inserted} new, ${result.replaced} replaced${result.removed ? `, ${result.removed} removed` : ''}.`);
          // A retail deck is checked against the reseller's costs: imported all the same, with a warning.
          const warning = portal === 'reseller' ? await belowCostWarning(db, resellerIdOf(req), id) : undefined;
          if (warning) flash(req, 'error', warning);
          res.redirect(303, `${base}/${id}`);
        },
        (errors) => showPage(req, res, { errors }),
      );
    });

    r.post(`${base}/:planId/bands`, async (req, res) => {
      const id = idParam(req, 'planId');
      await service.getOrThrow(db, ownerOf(req), id);
      const csv = await uploadedCsv(req);
      await submitForm(
        req, res, BAND_IMPORT_FIELDS,
        async () => {
          if (!csv.trim()) throw new FieldErrors({ bands_file: 'Choose a band CSV file (or paste its text)' });
          const result = await importing(req, res, 'bandErrors', () => service.importBands(db, cache, actor(req), ownerOf(req), id, csv));
          if (!result) return;
          flash(req, 'success', `Time bands replaced: ${result.bands} band starts.`);
          res.redirect(303, `${base}/${id}`);
        },
        (errors) => showPage(req, res, { errors }),
      );
    });

    // Exports in the import formats, so a deck can be edited in a spreadsheet and imported back.
    r.get(`${base}/:planId/deck.csv`, async (req, res) => {
      const plan = await service.getOrThrow(db, ownerOf(req), idParam(req, 'planId'));
      res.type('text/csv').attachment(`${slug(plan.name)}-deck.csv`);
      const out = csvWriter(DECK_COLUMNS);
      out.pipe(res);
      let cursor: string | undefined;
      do {
        const page = await service.searchRates(db, plan.id, { cursor, limit: 5000 });
        for (const rate of page.rows) {
          rate.steps.forEach((s, i) => {
            out.write({
              prefix: rate.prefix, description: rate.description, direction: rate.direction, band: rate.band ?? '',
              interval_start: s.from, rate: s.rate.toString(), rate_unit: s.rateUnit, increment: s.increment,
              connect_fee: i === 0 ? rate.connectFee.toString() : '', min_charge: i === 0 ? (rate.minCharge?.toString() ?? '') : '',
              max_cost: i === 0 ? (rate.maxCost?.toString() ?? '') : '', effective_from: new Date(rate.effectiveFrom).toISOString(),
            });
          });
        }
        cursor = page.nextCursor;
      } while (cursor);
      out.end();
    });

    r.get(`${base}/:planId/bands.csv`, async (req, res) => {
      const plan = await service.getOrThrow(db, ownerOf(req), idParam(req, 'planId'));
      const bands = await service.bands(db, plan.id);
      res.type('text/csv').attachment(`${slug(plan.name)}-bands.csv`);
      const out = csvWriter(['band', 'days', 'start']);
      out.pipe(res);
      for (const b of bands) out.write({ band: b.band, days: b.dates.length ? b.dates.join(' ') : b.weekdays.map((w) => WEEKDAYS[w]).join(','), start: hhmm(b.startMs) });
      out.end();
    });
  }

  return r;
}

function hhmm(ms: number): string {
  const m = Math.floor(ms / 60000);
  const s = Math.floor((ms % 60000) / 1000);
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}${s ? `:${String(s).padStart(2, '0')}` : ''}`;
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'plan';
}

function formValues(p: service.RatePlan): Record<string, unknown> {
  return {
    name: p.name, description: p.description ?? '', currency: p.currency, rounding_decimals: String(p.rounding.decimals),
    rounding_method: p.rounding.method, time_zone: p.timeZone, band_mode: p.bandMode, connect_fee_on_unanswered: p.connectFeeOnUnanswered ? 'on' : '',
  };
}

const planChoice = (v: unknown): number | null | undefined => {
  if (v === '' || v === undefined) return null;
  return typeof v === 'string' && /^[1-9]\d{0,15}$/.test(v) ? Number(v) : undefined;
};

/** Assigning plans: the operator's to a reseller, a reseller's to its subscriber. */
export function planAssignmentRoutes({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);

  r.post('/wholesale/resellers/:resellerId/plan', async (req, res) => {
    const id = idParam(req, 'resellerId');
    const planId = planChoice(req.body?.wholesale_plan_id);
    try {
      if (planId === undefined) throw new FieldErrors({ wholesale_plan_id: 'Choose one of the operator’s rate plans' });
      const reseller = await assignments.assignWholesalePlan(db, actor(req), id, planId);
      flash(req, 'success', planId ? `Wholesale rate plan assigned to ${reseller.name}.` : `${reseller.name} has no wholesale rate plan now: its calls will be unrated until one is assigned.`);
    } catch (err) {
      if (!(err instanceof FieldErrors)) throw err;
      flash(req, 'error', Object.values(err.fields).join(' '));
    }
    res.redirect(303, `/wholesale/resellers/${id}`);
  });

  r.post('/reseller/subscribers/:subscriberId/plan', async (req, res) => {
    const id = idParam(req, 'subscriberId');
    const planId = planChoice(req.body?.retail_plan_id);
    try {
      if (planId === undefined) throw new FieldErrors({ retail_plan_id: 'Choose one of your rate plans' });
      const sub = await assignments.assignRetailPlan(db, actor(req), scope(req), id, planId);
      flash(req, 'success', planId ? `Retail rate plan assigned to ${sub.name}.` : `${sub.name} has no retail rate plan now.`);
    } catch (err) {
      if (!(err instanceof FieldErrors)) throw err;
      flash(req, 'error', Object.values(err.fields).join(' '));
    }
    res.redirect(303, `/reseller/subscribers/${id}`);
  });

  return r;
}
