import { Router } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import type { Db } from '../../db/knex';
import { submitForm } from '../../web/forms';
import { idParam } from '../../web/params';
import { actor, scope } from '../../web/principal';
import { askConfirmation, countOf, isConfirmed } from '../../web/confirm';
import { flash } from '../../web/render';
import { listView, sendListCsv, type Column } from '../../web/lists';
import { listPlans } from '../rate-plans/rate-plans.service';
import { currentCycleOf } from '../billing/billing.service';
import { partySection as tollPackageSection } from '../toll-packages/toll-packages.service';
import { offeredTo } from '../feature-packages/feature-packages.service';
import { newResellerSchema, resellerFields, resellerListQuery } from './resellers.schemas';
import * as service from './resellers.service';

/** The resellers list's columns: the page's table and its CSV. */
const RESELLER_COLUMNS: Array<Column<service.ResellerSummary>> = [
  { label: 'Name', sort: 'name', text: (r) => r.name, href: (r) => `/wholesale/resellers/${r.id}` },
  { label: 'Code', sort: 'code', style: 'code', text: (r) => r.code },
  { label: 'Status', sort: 'status', style: 'status', text: (r) => r.status },
  { label: 'Subscribers (active / all)', sort: 'subscribers', num: true, text: (r) => `${r.subscribersActive} / ${r.subscribersTotal}`, href: (r) => `/wholesale/resellers/${r.id}/subscribers` },
  { label: 'Currency', sort: 'currency', text: (r) => r.currency },
  { label: 'Billing service', text: (r) => (r.billingService ? 'yes' : 'no') },
  { label: 'Contact', sort: 'contact', text: (r) => r.contactEmail ?? '' },
  { label: 'Created', sort: 'created', text: (r, h) => h.dateTime(r.createdAt) },
];

/** Wholesale portal: the operator's resellers. */
export function resellerRoutes({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);

  r.get('/wholesale/resellers', async (req, res) => {
    const filter = resellerListQuery.parse(req.query);
    const page = await service.listResellers(db, scope(req), filter);
    const list = listView({
      columns: RESELLER_COLUMNS, ...page, filter, path: '/wholesale/resellers', noun: ['reseller', 'resellers'],
      totalLines: [`Subscribers: ${page.totals.subscribersActive ?? '0'} active of ${page.totals.subscribersTotal ?? '0'}`],
    });
    res.page('wholesale/resellers/list', { title: 'Resellers', list, filter });
  });

  r.get('/wholesale/resellers.csv', async (req, res) => {
    const filter = resellerListQuery.parse(req.query);
    await sendListCsv(req, res, 'resellers', RESELLER_COLUMNS, service.allResellers(db, scope(req), filter));
  });

  /** The operator's plans to pick from on the create form (blank: assign one later). */
  const planOptions = async () => [
    { value: '', label: '(none yet: its calls stay unrated until one is assigned)' },
    ...(await listPlans(db, { kind: 'operator' })).map((p) => ({ value: String(p.id), label: `${p.name} (${p.currency})` })),
  ];

  r.get('/wholesale/resellers/new', async (_req, res) => {
    res.page('wholesale/resellers/new', { title: 'New reseller', planOptions: await planOptions(), values: { currency: 'USD', billing_service: 'on', billing_cycle_day: '1' } });
  });

  r.post('/wholesale/resellers', async (req, res) => {
    await submitForm(
      req, res, newResellerSchema,
      async (data) => {
        const reseller = await service.createReseller(db, actor(req), data);
        flash(req, 'success', `Reseller ${reseller.name} created with admin ${data.admin_email}.`);
        res.redirect(303, `/wholesale/resellers/${reseller.id}`);
      },
      async (errors) => res.page('wholesale/resellers/new', { title: 'New reseller', planOptions: await planOptions(), errors, values: { ...req.body, admin_password: '' } }),
    );
  });

  r.get('/wholesale/resellers/:resellerId', async (req, res) => {
    const data = await service.monitor(db, scope(req), idParam(req, 'resellerId'));
    const plans = await listPlans(db, { kind: 'operator' });
    const billing = await currentCycleOf(db, { resellerId: data.reseller.id });
    const tollPackages = await tollPackageSection(db, scope(req), { kind: 'reseller', resellerId: data.reseller.id }, `/wholesale/resellers/${data.reseller.id}/toll-packages`);
    const offeredPackages = await offeredTo(db, scope(req), data.reseller.id);
    res.page('wholesale/resellers/show', { title: data.reseller.name, ...data, plans, billing, tollPackages, offeredPackages });
  });

  r.get('/wholesale/resellers/:resellerId/edit', async (req, res) => {
    const reseller = await service.getOrThrow(db, scope(req), idParam(req, 'resellerId'));
    const billing = await currentCycleOf(db, { resellerId: reseller.id });
    res.page('wholesale/resellers/edit', { title: `Edit ${reseller.name}`, reseller, billing, values: formValues(reseller) });
  });

  r.post('/wholesale/resellers/:resellerId', async (req, res) => {
    const id = idParam(req, 'resellerId');
    const reseller = await service.getOrThrow(db, scope(req), id);
    const billing = await currentCycleOf(db, { resellerId: id });
    await submitForm(
      req, res, resellerFields,
      async (data) => {
        await service.updateReseller(db, actor(req), id, data);
        flash(req, 'success', 'Reseller saved.');
        res.redirect(303, `/wholesale/resellers/${id}`);
      },
      (errors) => res.page('wholesale/resellers/edit', { title: `Edit ${reseller.name}`, reseller, billing, errors, values: req.body }),
    );
  });

  for (const [action, status] of [['deactivate', 'inactive'], ['activate', 'active']] as const) {
    r.post(`/wholesale/resellers/:resellerId/${action}`, async (req, res) => {
      const id = idParam(req, 'resellerId');
      const current = await service.getOrThrow(db, scope(req), id);
      if (status === 'inactive' && current.status === 'active' && !isConfirmed(req)) {
        const impact = await service.statusImpact(db, id);
        return askConfirmation(req, res, {
          title: `Deactivate ${current.name}?`,
          consequences: [
            `Deactivating ${current.name} suspends its ${countOf(impact.subscribersAffected, 'active subscriber')} and stops ${countOf(impact.usersAffected, 'login')} (its staff and its subscribers' portal logins) at once; open sessions end on their next click.`,
            'Their new calls will be stored as blocked: kept and visible, but not charged.',
            'Reactivating restores their logins; calls stored as blocked meanwhile can then be re-rated.',
          ],
          confirmLabel: `Deactivate ${current.name}`,
          cancelHref: `/wholesale/resellers/${id}`,
        });
      }
      const { reseller, impact } = await service.setStatus(db, actor(req), id, status);
      const who = `${impact.subscribersAffected} subscriber${impact.subscribersAffected === 1 ? '' : 's'} and ${impact.usersAffected} login${impact.usersAffected === 1 ? '' : 's'}`;
      flash(
        req,
        'success',
        status === 'inactive'
          ? `${reseller.name} is deactivated: ${who} are suspended; new calls will be rated as blocked.`
          : `${reseller.name} is active again: ${who} have their access back.`,
      );
      res.redirect(303, `/wholesale/resellers/${id}`);
    });
  }

  return r;
}

function formValues(r: service.Reseller): Record<string, unknown> {
  return {
    name: r.name,
    code: r.code,
    currency: r.currency,
    billing_service: r.billingService ? 'on' : '',
    billing_cycle_day: String(r.billingCycleDay),
    contact_name: r.contactName ?? '',
    contact_email: r.contactEmail ?? '',
    contact_phone: r.contactPhone ?? '',
    notes: r.notes ?? '',
    sip_domain: r.sipDomain ?? '',
    time_zone: r.timeZone ?? '',
  };
}
