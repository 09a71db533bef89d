import { Router, type Request, type Response } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import { z } from 'zod';
import type { ReferenceInvalidator } from '../../db/change-notices';
import type { Db } from '../../db/knex';
import { versionState } from '../../domain/time/in-force';
import { parseForm, submitForm } from '../../web/forms';
import { idParam } from '../../web/params';
import { actor, resellerIdOf, scope } from '../../web/principal';
import { flash } from '../../web/render';
import { listParams } from '../../domain/fields';
import { listInMemory, sendListCsv, type Column } from '../../web/lists';
import { getOrThrow as getReseller } from '../resellers/resellers.service';
import { getOrThrow as getSubscriber } from '../subscribers/subscribers.service';
import * as exemptions from './exemptions.service';
import { momentText } from './form-fields';
import { endTaxFields, jurisdictionFields, taxFields } from './taxes.schemas';
import * as service from './taxes.service';

const KIND_OPTIONS = [
  { value: 'usage', label: 'Usage: on each call charge' },
  { value: 'recurring', label: 'Recurring: on monthly charges (packages)' },
];
const BASIS_OPTIONS = [
  { value: 'percent', label: 'Percent of the charge' },
  { value: 'fixed', label: 'Fixed amount per charge' },
];

/** "US", "US / NY": how a jurisdiction's place is shown. */
const placeOf = (j: { country: string; region: string | null }) => (j.region ? `${j.country} / ${j.region}` : j.country);

function jurisdictionOptions(list: service.Jurisdiction[]) {
  return [{ value: '', label: '(choose)' }, ...list.map((j) => ({ value: String(j.id), label: `${placeOf(j)}: ${j.name}` }))];
}

/** Whether a tax applies now, ended, or is still to come (the one in-force rule): worked out here, not in the template. */
function stateOf(t: service.Tax, nowMs: number): 'in force' | 'ended' | 'scheduled' {
  return versionState(t.effectiveFrom.getTime(), t.effectiveTo ? t.effectiveTo.getTime() : null, nowMs);
}

const taxListQuery = z.object({
  q: z.string().trim().max(100).optional().catch(undefined),
  state: z.enum(['in force', 'ended', 'scheduled']).optional().catch(undefined),
  kind: z.enum(['usage', 'recurring']).optional().catch(undefined),
  ...listParams,
});

const jurisdictionListQuery = z.object({ q: z.string().trim().max(100).optional().catch(undefined), ...listParams });

type TaxView = ReturnType<typeof view>;

/** The taxes list's columns (the page's table and its CSV); `base` is where each tax's page is. */
const TAX_COLUMNS = (base: string): Array<Column<TaxView>> => [
  { label: 'Name', sort: 'name', text: (t) => t.name, href: (t) => `${base}/${t.id}` },
  { label: 'Jurisdiction', sort: 'jurisdiction', text: (t) => `${t.place} (${t.jurisdictionName})` },
  { label: 'Kind', sort: 'kind', text: (t) => t.kind },
  { label: 'Rate', sort: 'rate', num: true, text: (t) => t.rate },
  { label: 'Priority', sort: 'priority', num: true, text: (t) => String(t.priority) },
  { label: 'Compounding', text: (t) => (t.compounding ? 'yes' : '') },
  { label: 'From', sort: 'from', text: (t, h) => h.dateTime(t.effectiveFrom) },
  { label: 'To', sort: 'to', text: (t, h) => (t.effectiveTo ? h.dateTime(t.effectiveTo) : '') },
  { label: 'State', sort: 'state', text: (t) => t.state },
];

type JurisdictionRow = Awaited<ReturnType<typeof service.listJurisdictions>>[number];

/** The jurisdictions list's columns: the page's table and its CSV. */
const JURISDICTION_COLUMNS: Array<Column<JurisdictionRow>> = [
  { label: 'Country', sort: 'country', text: (j) => j.country },
  { label: 'Region', sort: 'region', text: (j) => j.region || '(whole country)' },
  { label: 'Name', sort: 'name', text: (j) => j.name },
  { label: 'Taxes using it', sort: 'taxes', num: true, text: (j) => String(j.taxCount) },
];

/** A tax as the pages show it: text only. */
function view(t: service.Tax, nowMs: number) {
  return {
    id: t.id,
    name: t.name,
    place: placeOf(t.jurisdiction),
    jurisdictionName: t.jurisdiction.name,
    kind: t.kind,
    basis: t.basis,
    rate: t.basis === 'percent' ? `${t.rate.toString()} %` : `${t.rate.toString()} per charge`,
    rateValue: t.rate.toString(),
    priority: t.priority,
    compounding: t.compounding,
    effectiveFrom: t.effectiveFrom,
    effectiveTo: t.effectiveTo,
    state: stateOf(t, nowMs),
    updatedAt: t.updatedAt,
  };
}

function formValues(t: service.Tax): Record<string, unknown> {
  return {
    jurisdiction_id: String(t.jurisdictionId),
    name: t.name,
    kind: t.kind,
    basis: t.basis,
    rate: t.rate.toString(),
    priority: String(t.priority),
    compounding: t.compounding ? 'on' : '',
    effective_from: momentText(t.effectiveFrom),
    effective_to: momentText(t.effectiveTo),
  };
}

/**
 * Taxes for both owners, like rate plans: the operator's on its wholesale charges (wholesale
 * portal) and each reseller's on its retail charges (reseller portal). Same pages, different owner.
 */
export function taxRoutes({ db, refs }: { db: Db; refs: ReferenceInvalidator }): Router {
  const r = Router(ROUTER_OPTIONS);

  for (const portal of ['wholesale', 'reseller'] as const) {
    const base = `/${portal}/taxes`;
    const ownerOf = (req: Request): service.TaxOwner => (portal === 'wholesale' ? { kind: 'operator' } : { kind: 'reseller', resellerId: resellerIdOf(req) });

    async function common() {
      const places = await service.listJurisdictions(db);
      return { base, portal, kindOptions: KIND_OPTIONS, basisOptions: BASIS_OPTIONS, jurisdictionOptions: jurisdictionOptions(places), hasJurisdictions: places.length > 0 };
    }

    /** The owner's taxes the filter matches, sorted as asked: the page and its CSV. */
    async function taxList(req: Request) {
      const filter = taxListQuery.parse(req.query);
      const now = Date.now();
      const q = filter.q?.toLowerCase();
      const taxes = (await service.listTaxes(db, ownerOf(req)))
        .map((t) => view(t, now))
        .filter((t) => (!q || `${t.name} ${t.place} ${t.jurisdictionName}`.toLowerCase().includes(q)) && (!filter.state || t.state === filter.state) && (!filter.kind || t.kind === filter.kind));
      return listInMemory(taxes, {
        columns: TAX_COLUMNS(base), filter, path: base, rowKey: 'tax', noun: ['tax', 'taxes'],
        sorts: {
          name: (t) => t.name, jurisdiction: (t) => t.place, kind: (t) => t.kind, rate: (t) => t.rateValue, priority: (t) => t.priority,
          from: (t) => t.effectiveFrom.getTime(), to: (t) => t.effectiveTo?.getTime() ?? null, state: (t) => t.state,
        },
        defaultSort: 'priority', defaultDir: 'asc',
      });
    }

    r.get(base, async (req, res) => {
      const list = await taxList(req);
      res.page('taxes/list', { title: 'Taxes', ...(await common()), list, filter: list.filter });
    });

    r.get(`${base}.csv`, async (req, res) => {
      const list = await taxList(req);
      await sendListCsv(req, res, 'taxes', list.columns, list.rows);
    });

    r.get(`${base}/new`, async (_req, res) => {
      res.page('taxes/new', {
        title: 'New tax', ...(await common()),
        values: { kind: 'usage', basis: 'percent', priority: '1', effective_from: new Date().toISOString().slice(0, 10) },
      });
    });

    r.post(base, async (req, res) => {
      await submitForm(
        req, res, taxFields,
        async (data) => {
          const tax = await service.createTax(db, refs, actor(req), ownerOf(req), data);
          flash(req, 'success', `Tax ${tax.name} created.`);
          res.redirect(303, `${base}/${tax.id}`);
        },
        async (errors) => res.page('taxes/new', { title: 'New tax', ...(await common()), errors, values: req.body }),
      );
    });

    async function showPage(req: Request, res: Response, extra: Record<string, unknown> = {}) {
      const tax = await service.getOrThrow(db, ownerOf(req), idParam(req, 'taxId'));
      res.page('taxes/show', {
        title: tax.name, base, portal, tax: view(tax, Date.now()),
        values: { effective_to: momentText(tax.effectiveTo ?? Date.now()) },
        ...extra,
      });
    }

    r.get(`${base}/:taxId`, (req, res) => showPage(req, res));

    r.get(`${base}/:taxId/edit`, async (req, res) => {
      const tax = await service.getOrThrow(db, ownerOf(req), idParam(req, 'taxId'));
      res.page('taxes/edit', { title: `Edit ${tax.name}`, ...(await common()), tax, values: formValues(tax) });
    });

    r.post(`${base}/:taxId`, async (req, res) => {
      const id = idParam(req, 'taxId');
      const tax = await service.getOrThrow(db, ownerOf(req), id);
      await submitForm(
        req, res, taxFields,
        async (data) => {
          await service.updateTax(db, refs, actor(req), ownerOf(req), id, data);
          flash(req, 'success', 'Tax saved.');
          res.redirect(303, `${base}/${id}`);
        },
        async (errors) => res.page('taxes/edit', { title: `Edit ${tax.name}`, ...(await common()), tax, errors, values: req.body }),
      );
    });

    r.post(`${base}/:taxId/end`, async (req, res) => {
      const id = idParam(req, 'taxId');
      await service.getOrThrow(db, ownerOf(req), id);
      await submitForm(
        req, res, endTaxFields,
        async (data) => {
          const tax = await service.endTax(db, refs, actor(req), ownerOf(req), id, data.effective_to);
          flash(req, 'success', `${tax.name} ends at ${momentText(tax.effectiveTo)} UTC: calls from then on are not taxed by it.`);
          res.redirect(303, `${base}/${id}`);
        },
        (errors) => showPage(req, res, { errors, values: req.body }),
      );
    });
  }

  return r;
}

/** The operator's list of jurisdictions: wholesale admins keep it; every reseller picks from it. */
export function jurisdictionRoutes({ db, refs }: { db: Db; refs: ReferenceInvalidator }): Router {
  const r = Router(ROUTER_OPTIONS);
  const base = '/wholesale/tax-jurisdictions';

  /** The jurisdictions the filter matches, sorted as asked: the page and its CSV. */
  async function jurisdictionList(req: Request) {
    const filter = jurisdictionListQuery.parse(req.query);
    const q = filter.q?.toLowerCase();
    const rows = (await service.listJurisdictions(db)).filter((j) => !q || `${j.country} ${j.region ?? ''} ${j.name}`.toLowerCase().includes(q));
    return listInMemory(rows, {
      columns: JURISDICTION_COLUMNS, filter, path: base, noun: ['jurisdiction', 'jurisdictions'],
      totalLines: [`${rows.reduce((n, j) => n + j.taxCount, 0)} taxes use them`],
      sorts: { country: (j) => j.country, region: (j) => j.region ?? '', name: (j) => j.name, taxes: (j) => j.taxCount },
      defaultSort: 'country', defaultDir: 'asc',
    });
  }

  r.get(base, async (req, res) => {
    const list = await jurisdictionList(req);
    res.page('taxes/jurisdictions', { title: 'Tax jurisdictions', base, list, filter: list.filter });
  });

  r.get(`${base}.csv`, async (req, res) => {
    const list = await jurisdictionList(req);
    await sendListCsv(req, res, 'tax-jurisdictions', list.columns, list.rows);
  });

  r.get(`${base}/new`, (_req, res) => {
    res.page('taxes/jurisdiction-new', { title: 'New tax jurisdiction', base, values: { country: 'US' } });
  });

  r.post(base, async (req, res) => {
    await submitForm(
      req, res, jurisdictionFields,
      async (data) => {
        const j = await service.createJurisdiction(db, refs, actor(req), data);
        flash(req, 'success', `Jurisdiction ${j.name} (${placeOf(j)}) created.`);
        res.redirect(303, base);
      },
      (errors) => res.page('taxes/jurisdiction-new', { title: 'New tax jurisdiction', base, errors, values: req.body }),
    );
  });

  r.get(`${base}/:jurisdictionId/edit`, async (req, res) => {
    const j = await service.getJurisdictionOrThrow(db, idParam(req, 'jurisdictionId'));
    res.page('taxes/jurisdiction-edit', { title: `Edit ${j.name}`, base, jurisdiction: j, values: { country: j.country, region: j.region ?? '', name: j.name } });
  });

  r.post(`${base}/:jurisdictionId`, async (req, res) => {
    const id = idParam(req, 'jurisdictionId');
    const j = await service.getJurisdictionOrThrow(db, id);
    await submitForm(
      req, res, jurisdictionFields,
      async (data) => {
        await service.updateJurisdiction(db, refs, actor(req), id, data);
        flash(req, 'success', 'Jurisdiction saved.');
        res.redirect(303, base);
      },
      (errors) => res.page('taxes/jurisdiction-edit', { title: `Edit ${j.name}`, base, jurisdiction: j, errors, values: req.body }),
    );
  });

  return r;
}

/** The button's value: "true" to exempt, "false" to tax again. Nothing else is a choice. */
const exemptChoice = z.object({ tax_exempt: z.enum(['true', 'false'], { error: 'Choose whether to exempt' }).transform((v) => v === 'true') });

/** Tax exemption: the operator's of a reseller, a reseller's of a subscriber. */
export function taxExemptionRoutes({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);

  r.post('/wholesale/resellers/:resellerId/tax-exempt', async (req, res) => {
    const id = idParam(req, 'resellerId');
    await getReseller(db, scope(req), id);
    const form = parseForm(exemptChoice, req.body);
    if (!form.ok) {
      flash(req, 'error', Object.values(form.errors).join(' '));
    } else {
      const reseller = await exemptions.setResellerExempt(db, actor(req), id, form.data.tax_exempt);
      flash(req, 'success', reseller.taxExempt ? `${reseller.name} is tax exempt: the operator’s taxes are not added to its wholesale charges.` : `${reseller.name} is taxed again on its wholesale charges.`);
    }
    res.redirect(303, `/wholesale/resellers/${id}`);
  });

  r.post('/reseller/subscribers/:subscriberId/tax-exempt', async (req, res) => {
    const id = idParam(req, 'subscriberId');
    await getSubscriber(db, scope(req), id);
    const form = parseForm(exemptChoice, req.body);
    if (!form.ok) {
      flash(req, 'error', Object.values(form.errors).join(' '));
    } else {
      const sub = await exemptions.setSubscriberExempt(db, actor(req), scope(req), id, form.data.tax_exempt);
      flash(req, 'success', sub.taxExempt ? `${sub.name} is tax exempt: your taxes are not added to its charges.` : `${sub.name} is taxed again.`);
    }
    res.redirect(303, `/reseller/subscribers/${id}`);
  });

  return r;
}
