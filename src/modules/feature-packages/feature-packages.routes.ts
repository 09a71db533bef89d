import { Router, type Request, type Response } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import type { Db } from '../../db/knex';
import { ConflictError } from '../../domain/errors';
import { formatDateTime } from '../../domain/time/zones';
import { submitForm } from '../../web/forms';
import { idParam } from '../../web/params';
import { actor, principal, resellerIdOf, scope, timeZoneOf } from '../../web/principal';
import { askConfirmation, countOf, isConfirmed } from '../../web/confirm';
import { flash } from '../../web/render';
import { listInMemory, moneyTotalLines, sendListCsv, type Column } from '../../web/lists';
import { moneyText } from '../../domain/packages/feature-packages';
import { assignFields, catalogueListQuery, endFields, featureFields, offerFields, packageFields, resellerPackageFields } from './feature-packages.schemas';
import * as service from './feature-packages.service';

const FEATURES = '/wholesale/features';
const OPERATOR = '/wholesale/feature-packages';
const RESELLER = '/reseller/feature-packages';

/** "2026-12-07 09:30" now in the zone: what a start or end field offers by default. */
const nowText = (timeZone: string) => formatDateTime(Date.now(), timeZone).slice(0, 16);

/** A form's values from a package, as typed. */
function packageValues(p: service.PackageView) {
  return { name: p.name, description: p.description, currency: p.currency, setup_fee: p.setupFee, monthly_fee: p.monthlyFee, feature_ids: p.features.map((f) => String(f.id)), base_package_id: String(p.basePackageId ?? '') };
}

/** The ticked ids of a form posted back (one, several or none). */
function ticked(body: unknown): string[] {
  const v = (body as Record<string, unknown> | undefined)?.feature_ids;
  return v === undefined ? [] : (Array.isArray(v) ? v : [v]).map(String);
}

/** A package's features as one line of text (the list's cell and its CSV). */
const featuresText = (list: service.FeatureRef[]) => (list.length ? list.map((f) => `${f.code} ${f.name}${f.retired ? ' (retired)' : ''}`).join(', ') : 'no features');

/** Whether a row is kept by the list's filter (a word of its name or code; in use or retired). */
function kept(f: { q?: string; status?: 'active' | 'retired' }, words: string, retiredAt: Date | null): boolean {
  return (!f.q || words.toLowerCase().includes(f.q.toLowerCase())) && (!f.status || (f.status === 'retired') === (retiredAt !== null));
}

type FeatureRow = Awaited<ReturnType<typeof service.listFeatures>>[number];

/** The feature catalogue's columns: the page's table and its CSV. */
const FEATURE_COLUMNS: Array<Column<FeatureRow>> = [
  { label: 'Code', sort: 'code', style: 'code', text: (f) => f.code },
  { label: 'Name', sort: 'name', text: (f) => f.name },
  { label: 'Description', text: (f) => f.description },
  { label: 'In packages', sort: 'packages', num: true, text: (f) => `${f.use.operator} operator, ${f.use.reseller} reseller` },
  { label: 'Status', sort: 'status', style: 'status', text: (f) => (f.retiredAt ? 'retired' : 'active') },
  { label: 'Retired', sort: 'retired', text: (f, h) => (f.retiredAt ? h.dateTime(f.retiredAt) : '') },
];

/** The money of a package in its currency, as the lists show it. */
const fee = (amount: string, currency: string) => `${moneyText(amount)} ${currency}`;

const OPERATOR_COLUMNS: Array<Column<service.OperatorPackageView>> = [
  { label: 'Name', sort: 'name', text: (p) => p.name, href: (p) => `${OPERATOR}/${p.id}` },
  { label: 'Status', sort: 'status', style: 'status', text: (p) => (p.retiredAt ? 'retired' : 'active') },
  { label: 'Features', text: (p) => featuresText(p.features) },
  { label: 'Setup', sort: 'setup', num: true, text: (p) => fee(p.setupFee, p.currency) },
  { label: 'Monthly', sort: 'monthly', num: true, text: (p) => fee(p.monthlyFee, p.currency) },
  { label: 'Offered to', text: (p) => (p.offers.length ? p.offers.map((o) => o.resellerName).join(', ') : 'nobody') },
  { label: 'Reseller packages', sort: 'dependents', num: true, text: (p) => String(p.dependents) },
  { label: 'Subscribers', sort: 'subscribers', num: true, text: (p) => String(p.subscribers) },
];

const RESELLER_COLUMNS: Array<Column<service.ResellerPackageView>> = [
  { label: 'Name', sort: 'name', text: (p) => p.name, href: (p) => `${RESELLER}/${p.id}` },
  { label: 'Status', sort: 'status', text: (p) => resellerStatus(p) },
  { label: 'Features', text: (p) => featuresText(p.features) },
  { label: 'Built on', sort: 'base', text: (p) => (p.base ? `${p.base.name}${p.base.offered ? '' : ' (withdrawn)'}` : '') },
  { label: 'Setup', sort: 'setup', num: true, text: (p) => fee(p.setupFee, p.currency) },
  { label: 'Monthly', sort: 'monthly', num: true, text: (p) => fee(p.monthlyFee, p.currency) },
  { label: 'Monthly margin', sort: 'margin', num: true, text: (p) => (p.margin.monthly === null ? 'other currency' : fee(p.margin.monthly, p.currency)) },
  { label: 'Subscribers', sort: 'subscribers', num: true, text: (p) => String(p.subscribers) },
];

/** A reseller's package as its status cell says it: retired, active, or why it cannot be given to anyone now. */
function resellerStatus(p: service.ResellerPackageView): string {
  return p.retiredAt ? 'retired' : p.assignable ? 'active' : `not assignable: ${p.notAssignableWhy ?? ''}`;
}

/** Totals of a package list: subscribers, and the fees summed per currency. */
function packageTotals(rows: ReadonlyArray<service.PackageView>): string[] {
  const subscribers = rows.reduce((n, p) => n + p.subscribers, 0);
  return [`${subscribers} subscriber${subscribers === 1 ? '' : 's'} now`, ...moneyTotalLines(rows, (p) => p.currency, [['Setup fees', (p) => p.setupFee], ['Monthly fees', (p) => p.monthlyFee]])];
}

/**
 * Feature packages: the operator's feature catalogue and packages (offered to resellers), a
 * reseller's own packages built on them, and their assignment to subscribers.
 */
export function featurePackageRoutes({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);

  // ---- The feature catalogue ----

  /** The catalogue the filter keeps, sorted as asked: the page and its CSV. */
  async function features(req: Request) {
    const filter = catalogueListQuery.parse(req.query);
    const rows = (await service.listFeatures(db, scope(req))).filter((f) => kept(filter, `${f.code} ${f.name}`, f.retiredAt));
    const retired = rows.filter((f) => f.retiredAt).length;
    return listInMemory(rows, {
      columns: FEATURE_COLUMNS, filter, path: FEATURES, rowKey: 'feature', noun: ['feature', 'features'],
      totalLines: [`${rows.length - retired} in use`, `${retired} retired`],
      sorts: { code: (f) => f.code, name: (f) => f.name, packages: (f) => f.use.operator + f.use.reseller, status: (f) => (f.retiredAt ? 'retired' : 'active'), retired: (f) => f.retiredAt?.getTime() ?? null },
      defaultSort: 'code', defaultDir: 'asc',
    });
  }

  async function featureList(req: Request, res: Response, opts: { errors?: Record<string, string>; values?: unknown } = {}) {
    const list = await features(req);
    res.page('feature-packages/features', { title: 'Features', list, filter: list.filter, errors: opts.errors ?? {}, values: opts.values ?? {} });
  }

  r.get(FEATURES, (req, res) => featureList(req, res));

  r.get(`${FEATURES}.csv`, async (req, res) => {
    const list = await features(req);
    await sendListCsv(req, res, 'features', list.columns, list.rows);
  });

  r.post(FEATURES, async (req, res) => {
    await submitForm(req, res, featureFields,
      async (data) => {
        const f = await service.createFeature(db, actor(req), data);
        flash(req, 'success', `Feature ${f.name} (${f.code}) added.`);
        res.redirect(303, FEATURES);
      },
      (errors) => featureList(req, res, { errors, values: req.body }));
  });

  r.get(`${FEATURES}/:featureId/edit`, async (req, res) => {
    const feature = await service.getFeature(db, scope(req), idParam(req, 'featureId'));
    res.page('feature-packages/feature-edit', { title: `Edit ${feature.name}`, feature, values: { code: feature.code, name: feature.name, description: feature.description } });
  });

  r.post(`${FEATURES}/:featureId`, async (req, res) => {
    const feature = await service.getFeature(db, scope(req), idParam(req, 'featureId'));
    await submitForm(req, res, featureFields,
      async (data) => {
        const f = await service.updateFeature(db, actor(req), feature.id, data);
        flash(req, 'success', `Feature ${f.name} (${f.code}) saved.`);
        res.redirect(303, FEATURES);
      },
      (errors) => res.page('feature-packages/feature-edit', { title: `Edit ${feature.name}`, feature, errors, values: req.body }));
  });

  r.post(`${FEATURES}/:featureId/retire`, async (req, res) => {
    const f = await service.getFeature(db, scope(req), idParam(req, 'featureId'));
    if (!f.retiredAt && !isConfirmed(req)) {
      return askConfirmation(req, res, {
        title: `Retire ${f.name} (${f.code})?`,
        consequences: [
          'It can no longer be put in any package, the operator’s or a reseller’s.',
          f.use.operator + f.use.reseller
            ? `${countOf(f.use.operator, 'package')} of yours and ${countOf(f.use.reseller, 'reseller package')} hold it and keep it until they are edited; subscribers who have them keep the feature.`
            : 'No package holds it now.',
          'Retiring cannot be undone; its code stays taken.',
        ],
        confirmLabel: `Retire ${f.name}`,
        cancelHref: FEATURES,
      });
    }
    try {
      await service.retireFeature(db, actor(req), f.id);
      flash(req, 'success', `${f.name} (${f.code}) retired.`);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      flash(req, 'error', err.message);
    }
    res.redirect(303, FEATURES);
  });

  // ---- The operator's packages ----

  /** The operator's packages the filter keeps, sorted as asked: the page and its CSV. */
  async function operatorPackages(req: Request) {
    const filter = catalogueListQuery.parse(req.query);
    const rows = (await service.listOperatorPackages(db, scope(req))).filter((p) => kept(filter, p.name, p.retiredAt));
    return listInMemory(rows, {
      columns: OPERATOR_COLUMNS, filter, path: OPERATOR, rowKey: 'package', noun: ['package', 'packages'], totalLines: packageTotals(rows),
      sorts: { name: (p) => p.name, status: (p) => (p.retiredAt ? 'retired' : 'active'), setup: (p) => p.setupFee, monthly: (p) => p.monthlyFee, dependents: (p) => p.dependents, subscribers: (p) => p.subscribers },
      defaultSort: 'name', defaultDir: 'asc',
    });
  }

  r.get(OPERATOR, async (req, res) => {
    const list = await operatorPackages(req);
    res.page('feature-packages/operator-list', { title: 'Feature packages', list, filter: list.filter });
  });

  r.get(`${OPERATOR}.csv`, async (req, res) => {
    const list = await operatorPackages(req);
    await sendListCsv(req, res, 'feature-packages', list.columns, list.rows);
  });

  async function operatorForm(req: Request, res: Response, view: { title: string; action: string; pkg?: service.PackageView; values: Record<string, unknown>; errors?: Record<string, string> }) {
    const features = await service.catalogueChoices(db, scope(req));
    const held = new Set(view.pkg?.features.map((f) => f.id) ?? []);
    // Retired features are offered only where the package holds them already.
    const choices = features.filter((f) => !f.retiredAt || held.has(f.id)).map((f) => ({ id: f.id, code: f.code, name: f.name, retired: f.retiredAt !== null }));
    res.page('feature-packages/package-form', { ...view, choices, base: null, portal: 'wholesale', cancel: view.pkg ? `${OPERATOR}/${view.pkg.id}` : OPERATOR, errors: view.errors ?? {} });
  }

  r.get(`${OPERATOR}/new`, (req, res) => operatorForm(req, res, { title: 'New feature package', action: OPERATOR, values: { currency: 'USD', setup_fee: '0', monthly_fee: '0', feature_ids: [] } }));

  r.post(OPERATOR, async (req, res) => {
    await submitForm(req, res, packageFields,
      async (data) => {
        const p = await service.createOperatorPackage(db, actor(req), data);
        flash(req, 'success', `Package ${p.name} created. Offer it to resellers below.`);
        res.redirect(303, `${OPERATOR}/${p.id}`);
      },
      (errors) => operatorForm(req, res, { title: 'New feature package', action: OPERATOR, values: { ...req.body, feature_ids: ticked(req.body) }, errors }));
  });

  r.get(`${OPERATOR}/:featurePackageId`, async (req, res) => {
    const data = await service.operatorPackage(db, scope(req), idParam(req, 'featurePackageId'));
    res.page('feature-packages/operator-show', { title: data.pkg.name, ...data, errors: {}, values: {} });
  });

  r.get(`${OPERATOR}/:featurePackageId/edit`, async (req, res) => {
    const { pkg } = await service.operatorPackage(db, scope(req), idParam(req, 'featurePackageId'));
    await operatorForm(req, res, { title: `Edit ${pkg.name}`, action: `${OPERATOR}/${pkg.id}`, pkg, values: packageValues(pkg) });
  });

  r.post(`${OPERATOR}/:featurePackageId`, async (req, res) => {
    const { pkg } = await service.operatorPackage(db, scope(req), idParam(req, 'featurePackageId'));
    await submitForm(req, res, packageFields,
      async (data) => {
        try {
          await service.updateOperatorPackage(db, actor(req), pkg.id, data);
          flash(req, 'success', `${data.name} saved.`);
        } catch (err) {
          if (!(err instanceof ConflictError)) throw err;
          flash(req, 'error', err.message);
        }
        res.redirect(303, `${OPERATOR}/${pkg.id}`);
      },
      (errors) => operatorForm(req, res, { title: `Edit ${pkg.name}`, action: `${OPERATOR}/${pkg.id}`, pkg, values: { ...req.body, feature_ids: ticked(req.body) }, errors }));
  });

  r.post(`${OPERATOR}/:featurePackageId/retire`, async (req, res) => {
    const { pkg, built } = await service.operatorPackage(db, scope(req), idParam(req, 'featurePackageId'));
    if (!pkg.retiredAt && !isConfirmed(req)) {
      return askConfirmation(req, res, {
        title: `Retire ${pkg.name}?`,
        consequences: [
          'It is offered to no new reseller, and resellers build no new packages on it and give the packages built on it to no new subscriber.',
          `What exists goes on: ${countOf(pkg.offers.length, 'offer')}, ${countOf(built.length, 'reseller package')} built on it and ${countOf(pkg.subscribers, 'subscriber')} holding them now, charged as before until their assignments end.`,
          'Retiring cannot be undone.',
        ],
        confirmLabel: `Retire ${pkg.name}`,
        cancelHref: `${OPERATOR}/${pkg.id}`,
      });
    }
    try {
      await service.retireOperatorPackage(db, actor(req), pkg.id);
      flash(req, 'success', `${pkg.name} retired.`);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      flash(req, 'error', err.message);
    }
    res.redirect(303, `${OPERATOR}/${pkg.id}`);
  });

  r.post(`${OPERATOR}/:featurePackageId/offers`, async (req, res) => {
    const id = idParam(req, 'featurePackageId');
    await service.operatorPackage(db, scope(req), id);
    await submitForm(req, res, offerFields,
      async (data) => {
        const { pkg, resellerName } = await service.offerPackage(db, actor(req), id, data.reseller_id);
        flash(req, 'success', `${pkg.name} is offered to ${resellerName}.`);
        res.redirect(303, `${OPERATOR}/${id}`);
      },
      async (errors) => {
        const data = await service.operatorPackage(db, scope(req), id);
        res.page('feature-packages/operator-show', { title: data.pkg.name, ...data, errors, values: req.body });
      });
  });

  r.post(`${OPERATOR}/:featurePackageId/withdraw`, async (req, res) => {
    const { pkg } = await service.operatorPackage(db, scope(req), idParam(req, 'featurePackageId'));
    const back = `${OPERATOR}/${pkg.id}`;
    const offer = pkg.offers.find((o) => String(o.resellerId) === String((req.body as Record<string, unknown>)?.reseller_id));
    if (!offer) {
      flash(req, 'error', `Choose a reseller ${pkg.name} is offered to.`);
      return res.redirect(303, back);
    }
    if (!isConfirmed(req)) {
      const impact = await service.withdrawImpact(db, scope(req), pkg.id, offer.resellerId);
      return askConfirmation(req, res, {
        title: `Withdraw ${pkg.name} from ${offer.resellerName}?`,
        consequences: [
          `${offer.resellerName} can no longer build packages on it, nor give its ${countOf(impact.packages, 'package')} built on it to new subscribers.`,
          `Existing assignments are not ended: ${countOf(impact.subscribers, 'subscriber')} keep their packages (and ${offer.resellerName} is charged for them) until ${offer.resellerName} ends them.`,
          'You can offer it again later.',
        ],
        confirmLabel: `Withdraw from ${offer.resellerName}`,
        cancelHref: back,
        fields: { reseller_id: String(offer.resellerId) },
      });
    }
    await service.withdrawOffer(db, actor(req), pkg.id, offer.resellerId);
    flash(req, 'success', `${pkg.name} withdrawn from ${offer.resellerName}; its existing assignments go on.`);
    res.redirect(303, back);
  });

  // ---- A reseller's packages ----

  /** The reseller's own packages the filter keeps, sorted as asked: the page and its CSV. */
  async function resellerPackages(req: Request) {
    const filter = catalogueListQuery.parse(req.query);
    const rows = (await service.listResellerPackages(db, scope(req), resellerIdOf(req))).filter((p) => kept(filter, p.name, p.retiredAt));
    return listInMemory(rows, {
      columns: RESELLER_COLUMNS, filter, path: RESELLER, rowKey: 'package', noun: ['package', 'packages'], totalLines: packageTotals(rows),
      sorts: {
        name: (p) => p.name, status: resellerStatus, base: (p) => p.base?.name ?? null, setup: (p) => p.setupFee, monthly: (p) => p.monthlyFee,
        margin: (p) => p.margin.monthly, subscribers: (p) => p.subscribers,
      },
      defaultSort: 'name', defaultDir: 'asc',
    });
  }

  r.get(RESELLER, async (req, res) => {
    const [offered, list] = await Promise.all([service.offeredTo(db, scope(req), resellerIdOf(req)), resellerPackages(req)]);
    res.page('feature-packages/reseller-list', { title: 'Feature packages', offered, list, filter: list.filter });
  });

  r.get(`${RESELLER}.csv`, async (req, res) => {
    const list = await resellerPackages(req);
    await sendListCsv(req, res, 'feature-packages', list.columns, list.rows);
  });

  async function resellerForm(req: Request, res: Response, view: { title: string; action: string; pkg?: service.ResellerPackageView; baseId?: number; values: Record<string, unknown>; errors?: Record<string, string> }) {
    const offered = await service.offeredTo(db, scope(req), resellerIdOf(req));
    const baseId = view.baseId;
    // Editing: the base it was built on, offered still or not; new: an offered one not retired.
    const base = view.pkg ? view.pkg.base : offered.find((o) => o.id === baseId && !o.retiredAt);
    const held = new Set(view.pkg?.features.map((f) => f.id) ?? []);
    const choices = (base?.features ?? []).filter((f) => !f.retired || held.has(f.id));
    res.page('feature-packages/package-form', {
      ...view, choices, base: base ?? null, offered: offered.filter((o) => !o.retiredAt), portal: 'reseller',
      cancel: view.pkg ? `${RESELLER}/${view.pkg.id}` : RESELLER, errors: view.errors ?? {},
    });
  }

  r.get(`${RESELLER}/new`, async (req, res) => {
    const raw = typeof req.query.base === 'string' && /^[1-9]\d{0,15}$/.test(req.query.base) ? Number(req.query.base) : undefined;
    const offered = await service.offeredTo(db, scope(req), resellerIdOf(req));
    const base = offered.find((o) => o.id === raw && !o.retiredAt);
    await resellerForm(req, res, {
      title: 'New feature package', action: RESELLER, baseId: base?.id,
      values: base ? { base_package_id: String(base.id), currency: base.currency, setup_fee: base.setupFee, monthly_fee: base.monthlyFee, feature_ids: base.features.filter((f) => !f.retired).map((f) => String(f.id)) } : { feature_ids: [] },
    });
  });

  r.post(RESELLER, async (req, res) => {
    await submitForm(req, res, resellerPackageFields,
      async (data) => {
        const p = await service.createResellerPackage(db, actor(req), data);
        flash(req, 'success', `Package ${p.name} created. Assign it on a subscriber’s page.`);
        res.redirect(303, `${RESELLER}/${p.id}`);
      },
      (errors) => {
        const b = String((req.body as Record<string, unknown>)?.base_package_id ?? '');
        return resellerForm(req, res, { title: 'New feature package', action: RESELLER, baseId: /^\d+$/.test(b) ? Number(b) : undefined, values: { ...req.body, feature_ids: ticked(req.body) }, errors });
      });
  });

  r.get(`${RESELLER}/:featurePackageId`, async (req, res) => {
    const pkg = await service.resellerPackage(db, scope(req), idParam(req, 'featurePackageId'));
    res.page('feature-packages/reseller-show', { title: pkg.name, pkg });
  });

  r.get(`${RESELLER}/:featurePackageId/edit`, async (req, res) => {
    const pkg = await service.resellerPackage(db, scope(req), idParam(req, 'featurePackageId'));
    await resellerForm(req, res, { title: `Edit ${pkg.name}`, action: `${RESELLER}/${pkg.id}`, pkg, values: packageValues(pkg) });
  });

  r.post(`${RESELLER}/:featurePackageId`, async (req, res) => {
    const pkg = await service.resellerPackage(db, scope(req), idParam(req, 'featurePackageId'));
    await submitForm(req, res, packageFields,
      async (data) => {
        try {
          await service.updateResellerPackage(db, actor(req), pkg.id, data);
          flash(req, 'success', `${data.name} saved.`);
        } catch (err) {
          if (!(err instanceof ConflictError)) throw err;
          flash(req, 'error', err.message);
        }
        res.redirect(303, `${RESELLER}/${pkg.id}`);
      },
      (errors) => resellerForm(req, res, { title: `Edit ${pkg.name}`, action: `${RESELLER}/${pkg.id}`, pkg, values: { ...req.body, feature_ids: ticked(req.body) }, errors }));
  });

  r.post(`${RESELLER}/:featurePackageId/retire`, async (req, res) => {
    const pkg = await service.resellerPackage(db, scope(req), idParam(req, 'featurePackageId'));
    if (!pkg.retiredAt && !isConfirmed(req)) {
      return askConfirmation(req, res, {
        title: `Retire ${pkg.name}?`,
        consequences: [
          'It can no longer be given to subscribers.',
          `${countOf(pkg.subscribers, 'subscriber')} holding it now keep it, and are charged for it, until you end their assignments.`,
          'Retiring cannot be undone.',
        ],
        confirmLabel: `Retire ${pkg.name}`,
        cancelHref: `${RESELLER}/${pkg.id}`,
      });
    }
    try {
      await service.retireResellerPackage(db, actor(req), pkg.id);
      flash(req, 'success', `${pkg.name} retired: it is given to no new subscriber.`);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      flash(req, 'error', err.message);
    }
    res.redirect(303, `${RESELLER}/${pkg.id}`);
  });

  // ---- Subscribers ----

  /** The subscriber's features page (the section of its page, with the forms' errors). */
  async function subscriberPage(req: Request, res: Response, subscriberId: number, opts: { errors?: Record<string, string>; values?: Record<string, unknown>; endErrors?: { id: number; errors: Record<string, string>; values: Record<string, unknown> } } = {}) {
    const features = await service.subscriberFeatures(db, scope(req), subscriberId);
    res.page('feature-packages/subscriber', {
      title: 'Features', features, canWrite: principal(req).role === 'reseller_admin', subscriberId,
      errors: opts.errors ?? {}, values: opts.values ?? { starts_at: nowText(timeZoneOf(req)) }, endErrors: opts.endErrors, nowText: nowText(timeZoneOf(req)),
    });
  }

  r.get('/reseller/subscribers/:subscriberId/feature-packages', (req, res) => subscriberPage(req, res, idParam(req, 'subscriberId')));

  r.post('/reseller/subscribers/:subscriberId/feature-packages', async (req, res) => {
    const id = idParam(req, 'subscriberId');
    await service.featureAssignmentsOf(db, scope(req), id);
    await submitForm(req, res, assignFields,
      async (data) => {
        const a = await service.assignPackage(db, actor(req), id, data, timeZoneOf(req));
        flash(req, 'success', `${a.packageName} assigned.`);
        res.redirect(303, `/reseller/subscribers/${id}`);
      },
      (errors) => subscriberPage(req, res, id, { errors, values: req.body }));
  });

  r.post('/reseller/subscribers/:subscriberId/feature-packages/:featureAssignmentId/end', async (req, res) => {
    const id = idParam(req, 'subscriberId');
    const a = await service.getAssignment(db, scope(req), id, idParam(req, 'featureAssignmentId'));
    const zone = timeZoneOf(req);
    const body = (req.body ?? {}) as Record<string, string | undefined>;
    if (a.state === 'ended') {
      flash(req, 'error', `${a.packageName} already ended ${formatDateTime(a.endsAt, zone)}.`);
      return res.redirect(303, `/reseller/subscribers/${id}`);
    }
    if (!isConfirmed(req)) {
      const at = body.ends_at?.trim() || nowText(zone);
      return askConfirmation(req, res, {
        title: `End ${a.packageName}?`,
        consequences: [
          a.state === 'scheduled'
            ? `It has not started yet (from ${formatDateTime(a.startsAt, zone)}); it will now end at ${at} (${zone}).`
            : `The subscriber loses its features at ${at} (${zone}) unless another package gives them; charges stop from then.`,
          'The assignment stays in the history; the package can be assigned again later.',
        ],
        confirmLabel: `End ${a.packageName}`,
        cancelHref: `/reseller/subscribers/${id}`,
        fields: { ends_at: at },
      });
    }
    await submitForm(req, res, endFields,
      async (data) => {
        try {
          await service.endAssignment(db, actor(req), id, a.id, data.ends_at, zone);
          flash(req, 'success', `${a.packageName} ends ${data.ends_at} (${zone}).`);
        } catch (err) {
          if (!(err instanceof ConflictError)) throw err;
          flash(req, 'error', err.message);
        }
        res.redirect(303, `/reseller/subscribers/${id}`);
      },
      (errors) => subscriberPage(req, res, id, { endErrors: { id: a.id, errors, values: req.body } }));
  });

  r.get('/me/features', async (req, res) => {
    await subscriberPage(req, res, principal(req).subscriberId as number);
  });

  return r;
}
