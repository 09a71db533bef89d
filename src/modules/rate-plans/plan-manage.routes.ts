import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { ROUTER_OPTIONS } from '../../web/router';
import type { Db } from '../../db/knex';
import { FieldErrors } from '../../domain/errors';
import type { Rate } from '../../domain/rating/plan';
import { perMinute } from '../../domain/rating/versions';
import { formatDateTime } from '../../domain/time/zones';
import { askConfirmation, countOf, isConfirmed } from '../../web/confirm';
import { submitForm } from '../../web/forms';
import { idParam } from '../../web/params';
import { actor, resellerIdOf, timeZoneOf } from '../../web/principal';
import { flash } from '../../web/render';
import { csvWriter } from '../csv/csv-writer';
import * as margins from './margins.service';
import type { PlanCache } from './plan-cache';
import * as edits from './plan-edits.service';
import * as service from './rate-plans.service';

const text = (max = 200) => z.string({ error: 'Must be text' }).max(max, `At most ${max} characters`).optional().transform((v) => v ?? '');

/** The rate form: the deck's columns, the steps as numbered rows (blank rows are dropped). */
const rateFormSchema = z
  .object({
    prefix: text(20), description: text(200), direction: text(20), band: text(40), connect_fee: text(40), min_charge: text(40), max_cost: text(40), effective_at: text(40),
    ...Object.fromEntries(
      Array.from({ length: edits.MAX_FORM_STEPS }, (_, i) => ['interval_start', 'rate', 'rate_unit', 'increment'].map((f) => [`step_${i}_${f}`, text(40)])).flat(),
    ),
  })
  .transform((v): edits.RateForm => {
    const o = v as Record<string, string>;
    return {
      prefix: o.prefix!, description: o.description!, direction: o.direction!, band: o.band!, connect_fee: o.connect_fee!, min_charge: o.min_charge!, max_cost: o.max_cost!,
      effective_at: o.effective_at!,
      steps: Array.from({ length: edits.MAX_FORM_STEPS }, (_, i) => ({ interval_start: o[`step_${i}_interval_start`]!, rate: o[`step_${i}_rate`]!, rate_unit: o[`step_${i}_rate_unit`]!, increment: o[`step_${i}_increment`]! })),
    };
  });

const cloneSchema = z.object({ clone_name: text(200) });

const compareQuery = z.object({
  from: z.string().trim().max(40).optional().catch(undefined),
  to: z.string().trim().max(40).optional().catch(undefined),
});

const marginQuery = z.object({ below: z.enum(['1']).optional().catch(undefined), prefix: z.string().trim().regex(/^\+?\d{0,15}$/).optional().catch(undefined) });

/** Rows a margins page shows at most (a deck may have 100,000 destinations: the counts cover all, a prefix narrows). */
const MARGIN_ROWS_SHOWN = 1000;

/** The form's values for a stored rate (its start in the viewer's zone, blank for "always"). */
function rateValues(r: Rate, zone: string, opts: { keepStart: boolean }): Record<string, string> {
  const v: Record<string, string> = {
    prefix: r.prefix, description: r.description, direction: r.direction, band: r.band ?? '', connect_fee: r.connectFee.toString(),
    min_charge: r.minCharge?.toString() ?? '', max_cost: r.maxCost?.toString() ?? '',
    effective_at: opts.keepStart && r.effectiveFrom !== 0 ? formatDateTime(r.effectiveFrom, zone).slice(0, 19) : '',
  };
  r.steps.forEach((s, i) => {
    v[`step_${i}_interval_start`] = String(s.from);
    v[`step_${i}_rate`] = s.rate.toString();
    v[`step_${i}_rate_unit`] = String(s.rateUnit);
    v[`step_${i}_increment`] = String(s.increment);
  });
  return v;
}

/** The two instants a comparison is between: typed (viewer's zone), or now and the next scheduled version. */
function comparePoints(q: z.infer<typeof compareQuery>, zone: string, versions: Array<{ effectiveFrom: number; state: string }>) {
  const errors: Record<string, string> = {};
  const now = Date.now();
  const next = versions.find((v) => v.state === 'scheduled')?.effectiveFrom;
  const read = (name: 'from' | 'to', fallback: number): number => {
    const t = q[name];
    if (!t) return fallback;
    const at = edits.readZonedTime(t, zone);
    if (at.ok) return at.ms;
    errors[name] = `The ${name === 'from' ? 'first' : 'second'} time ${at.reason}`;
    return fallback;
  };
  const fromMs = read('from', now);
  const toMs = read('to', next ?? now);
  const fmt = (ms: number) => formatDateTime(ms, zone).slice(0, 19);
  return { fromMs, toMs, errors, values: { from: q.from ?? fmt(fromMs), to: q.to ?? fmt(toMs) } };
}

const stepsText = (r: Rate) => r.steps.map((s) => `${s.from}s: ${s.rate.toString()} / ${s.rateUnit}s, ${s.increment}s`).join('; ');

/**
 * The plan pages that manage a plan beyond its settings (issue 11), for both owners: clone,
 * retire, one rate added, changed, scheduled or removed in the page, the deck's versions and a
 * comparison of two instants; and for a reseller, its wholesale costs and margins.
 */
export function ratePlanManageRoutes({ db, cache }: { db: Db; cache: PlanCache }): Router {
  const r = Router(ROUTER_OPTIONS);

  for (const portal of ['wholesale', 'reseller'] as const) {
    const base = `/${portal}/rate-plans`;
    const ownerOf = (req: Request): service.PlanOwner => (portal === 'wholesale' ? { kind: 'operator' } : { kind: 'reseller', resellerId: resellerIdOf(req) });
    const common = { base, portal };
    const plan = (req: Request) => service.getOrThrow(db, ownerOf(req), idParam(req, 'planId'));

    r.post(`${base}/:planId/clone`, async (req, res) => {
      const source = await plan(req);
      await submitForm(
        req, res, cloneSchema,
        async (data) => {
          const copy = await edits.clonePlan(db, actor(req), ownerOf(req), source.id, data.clone_name);
          flash(req, 'success', `${copy.name} created as a copy of ${source.name}: its settings, rates and bands.`);
          res.redirect(303, `${base}/${copy.id}`);
        },
        (errors) => {
          flash(req, 'error', Object.values(errors).join(' '));
          res.redirect(303, `${base}/${source.id}#clone`);
        },
      );
    });

    r.post(`${base}/:planId/retire`, async (req, res) => {
      const p = await plan(req);
      if (!isConfirmed(req)) {
        const list = await service.listPlans(db, ownerOf(req));
        const assigned = list.find((x) => x.id === p.id)?.assignedCount ?? 0;
        return askConfirmation(req, res, {
          title: `Retire ${p.name}?`,
          consequences: [
            `It can no longer be assigned to ${portal === 'wholesale' ? 'a reseller' : 'a subscriber'}.`,
            `The ${countOf(assigned, portal === 'wholesale' ? 'reseller' : 'subscriber')} that hold it keep it: their calls are still rated by it, unchanged, until you assign them another plan.`,
            'You can bring it back at any time.',
          ],
          confirmLabel: `Retire ${p.name}`,
          cancelHref: `${base}/${p.id}`,
        });
      }
      await edits.setRetired(db, actor(req), ownerOf(req), p.id, true);
      flash(req, 'success', `${p.name} is retired: it is offered for no new assignment and still rates what holds it.`);
      res.redirect(303, `${base}/${p.id}`);
    });

    r.post(`${base}/:planId/unretire`, async (req, res) => {
      const p = await plan(req);
      await edits.setRetired(db, actor(req), ownerOf(req), p.id, false);
      flash(req, 'success', `${p.name} is active again: it can be assigned.`);
      res.redirect(303, `${base}/${p.id}`);
    });

    // ---- one rate ----

    async function rateFormPage(req: Request, res: Response, p: service.RatePlan, extra: { values: Record<string, unknown>; errors?: Record<string, string>; rate?: edits.RateForm | Rate; rateId?: number; scheduling?: boolean }) {
      const bands = [...new Set((await service.bands(db, p.id)).map((b) => b.band))];
      const editing = extra.rateId !== undefined;
      const title = editing ? `Change rate ${String(extra.values.prefix ?? '')}` : extra.scheduling ? `Schedule a new version of ${String(extra.values.prefix ?? '')}` : 'Add a rate';
      res.page('rate-plans/rate-form', {
        title, ...common, plan: p, bands, maxSteps: edits.MAX_FORM_STEPS, editing, scheduling: extra.scheduling ?? false, zone: timeZoneOf(req),
        action: editing ? `${base}/${p.id}/rates/${extra.rateId}` : `${base}/${p.id}/rates`, values: extra.values, errors: extra.errors ?? {},
      });
    }

    r.get(`${base}/:planId/rates/new`, async (req, res) => {
      const p = await plan(req);
      // ?from=<rate id>: a new version of that destination, its prices to change and a start to give.
      const from = typeof req.query.from === 'string' && /^[1-9]\d{0,15}$/.test(req.query.from) ? Number(req.query.from) : undefined;
      const source = from ? await edits.rateOf(db, p.id, from).catch(() => undefined) : undefined;
      const values = source ? rateValues(source, timeZoneOf(req), { keepStart: false }) : { direction: 'outbound', step_0_interval_start: '0', step_0_rate_unit: '60', step_0_increment: '60' };
      await rateFormPage(req, res, p, { values, scheduling: Boolean(source) });
    });

    r.post(`${base}/:planId/rates`, async (req, res) => {
      const p = await plan(req);
      await submitForm(
        req, res, rateFormSchema,
        async (form) => {
          if (req.body?.scheduling === '1' && !form.effective_at.trim()) throw new FieldErrors({ effective_at: 'Give the date and time the new version takes effect from' });
          const saved = await edits.saveRate(db, cache, actor(req), ownerOf(req), p.id, null, form, timeZoneOf(req));
          flash(req, 'success', `Rate ${saved.prefix} (${saved.direction}${saved.band ? `, ${saved.band}` : ''}) added${saved.effectiveFrom ? `, in force from ${formatDateTime(saved.effectiveFrom, timeZoneOf(req))}` : ''}.`);
          res.redirect(303, `${base}/${p.id}?prefix=${saved.prefix}`);
        },
        (errors) => rateFormPage(req, res, p, { values: req.body, errors, scheduling: req.body?.scheduling === '1' }),
      );
    });

    r.get(`${base}/:planId/rates/:rateId/edit`, async (req, res) => {
      const p = await plan(req);
      const rate = await edits.rateOf(db, p.id, idParam(req, 'rateId'));
      await rateFormPage(req, res, p, { values: rateValues(rate, timeZoneOf(req), { keepStart: true }), rateId: rate.id });
    });

    r.post(`${base}/:planId/rates/:rateId`, async (req, res) => {
      const p = await plan(req);
      const rate = await edits.rateOf(db, p.id, idParam(req, 'rateId'));
      await submitForm(
        req, res, rateFormSchema,
        async (form) => {
          const saved = await edits.saveRate(db, cache, actor(req), ownerOf(req), p.id, rate.id, form, timeZoneOf(req));
          flash(req, 'success', `Rate ${saved.prefix} (${saved.direction}${saved.band ? `, ${saved.band}` : ''}) changed.`);
          res.redirect(303, `${base}/${p.id}?prefix=${saved.prefix}`);
        },
        (errors) => rateFormPage(req, res, p, { values: req.body, errors, rateId: rate.id }),
      );
    });

    r.post(`${base}/:planId/rates/:rateId/delete`, async (req, res) => {
      const p = await plan(req);
      const rate = await edits.rateOf(db, p.id, idParam(req, 'rateId'));
      const what = `${rate.prefix}${rate.description ? ` ${rate.description}` : ''} (${rate.direction}${rate.band ? `, band ${rate.band}` : ''})`;
      if (!isConfirmed(req)) {
        return askConfirmation(req, res, {
          title: `Remove the rate of ${what}?`,
          consequences: [
            rate.effectiveFrom ? `The version from ${formatDateTime(rate.effectiveFrom, timeZoneOf(req))} goes; an older version of this destination, if any, stays in force instead.` : 'This version goes; a version scheduled later, if any, still takes effect.',
            'Calls to it are then priced by a shorter prefix that covers them, or kept unrated if none does.',
            'Calls already rated keep their charges.',
          ],
          confirmLabel: 'Remove the rate',
          cancelHref: `${base}/${p.id}?prefix=${rate.prefix}`,
        });
      }
      await edits.removeRate(db, cache, actor(req), ownerOf(req), p.id, rate.id);
      flash(req, 'success', `Rate ${what} removed.`);
      res.redirect(303, `${base}/${p.id}`);
    });

    // ---- versions and comparison ----

    r.get(`${base}/:planId/versions`, async (req, res) => {
      const p = await plan(req);
      const versions = await edits.versionsOf(db, p.id, Date.now());
      res.page('rate-plans/versions', { title: `${p.name}: versions`, ...common, plan: p, versions, zone: timeZoneOf(req), fmt: (ms: number) => formatDateTime(ms, timeZoneOf(req)).slice(0, 19) });
    });

    async function comparison(req: Request) {
      const p = await plan(req);
      const zone = timeZoneOf(req);
      const versions = await edits.versionsOf(db, p.id, Date.now());
      const points = comparePoints(compareQuery.parse(req.query), zone, versions);
      const diff = await edits.compareAt(db, p.id, points.fromMs, points.toMs);
      return { p, zone, points, diff };
    }

    r.get(`${base}/:planId/compare`, async (req, res) => {
      const { p, zone, points, diff } = await comparison(req);
      res.page('rate-plans/compare', {
        title: `${p.name}: compare`, ...common, plan: p, diff, zone, fromMs: points.fromMs, toMs: points.toMs, compareErrors: points.errors, compareValues: points.values,
        stepsText, perMinute, csvHref: `${base}/${p.id}/compare.csv?${new URLSearchParams(points.values)}`,
      });
    });

    r.get(`${base}/:planId/compare.csv`, async (req, res) => {
      const { p, diff } = await comparison(req);
      res.type('text/csv').attachment(`${p.name.toLowerCase().replace(/[^a-z0-9]+/g, '-') || 'plan'}-compare.csv`);
      const cols = ['change', 'prefix', 'description', 'direction', 'band', 'old_effective_from', 'old_steps', 'old_connect_fee', 'old_min_charge', 'old_max_cost', 'new_effective_from', 'new_steps', 'new_connect_fee', 'new_min_charge', 'new_max_cost'] as const;
      const out = csvWriter(cols);
      out.pipe(res);
      const side = (prefix: 'old' | 'new', x: Rate | undefined) =>
        x
          ? { [`${prefix}_effective_from`]: new Date(x.effectiveFrom).toISOString(), [`${prefix}_steps`]: stepsText(x), [`${prefix}_connect_fee`]: x.connectFee.toString(), [`${prefix}_min_charge`]: x.minCharge?.toString() ?? '', [`${prefix}_max_cost`]: x.maxCost?.toString() ?? '' }
          : {};
      const row = (change: string, before: Rate | undefined, after: Rate | undefined) => {
        const x = (after ?? before)!;
        out.write({ change, prefix: x.prefix, description: x.description, direction: x.direction, band: x.band ?? '', ...side('old', before), ...side('new', after) });
      };
      for (const x of diff.added) row('added', undefined, x);
      for (const x of diff.removed) row('removed', x, undefined);
      for (const x of diff.changed) row('changed', x.before, x.after);
      out.end();
    });
  }

  // ---- a reseller's costs and margins ----

  r.get('/reseller/wholesale-plan', async (req, res) => {
    const resellerId = resellerIdOf(req);
    const plan = await margins.wholesalePlanOf(db, resellerId);
    const q = z.object({ prefix: z.string().trim().regex(/^\+?\d{0,15}$/).optional().catch(undefined), cursor: z.string().max(300).optional().catch(undefined) }).parse(req.query);
    const rates = plan ? await service.searchRates(db, plan.id, { prefix: q.prefix, cursor: q.cursor }) : undefined;
    res.page('rate-plans/wholesale-plan', { title: 'Your wholesale costs', plan, rates, filter: q });
  });

  r.get('/reseller/rate-plans/:planId/margins', async (req, res) => {
    const q = marginQuery.parse(req.query);
    const m = await margins.planMargins(db, resellerIdOf(req), idParam(req, 'planId'), Date.now());
    const prefix = q.prefix?.replace(/^\+/, '');
    const rows = m.rows.filter((x) => (!q.below || x.belowCost) && (!prefix || x.retail.prefix.startsWith(prefix)));
    res.page('rate-plans/margins', {
      title: `${m.plan.name}: margins`, base: '/reseller/rate-plans', portal: 'reseller', plan: m.plan, m, rows: rows.slice(0, MARGIN_ROWS_SHOWN), matched: rows.length, below: Boolean(q.below), prefix: q.prefix ?? '',
    });
  });

  r.get('/reseller/below-cost', async (req, res) => {
    const all = await margins.belowCost(db, resellerIdOf(req), Date.now());
    const total = all.plans.reduce((n, p) => n + p.rows.length, 0);
    res.page('rate-plans/below-cost', { title: 'Sold below cost', all, total });
  });

  return r;
}
