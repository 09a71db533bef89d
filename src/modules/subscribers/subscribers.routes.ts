import { Router, type Request, type Response } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import type { Db } from '../../db/knex';
import { NotFoundError } from '../../domain/errors';
import { submitForm } from '../../web/forms';
import { idParam } from '../../web/params';
import { actor, resellerIdOf, scope } from '../../web/principal';
import { askConfirmation, countOf, isConfirmed } from '../../web/confirm';
import { flash } from '../../web/render';
import { listView, sendListCsv, type Column } from '../../web/lists';
import { getOrThrow as getReseller } from '../resellers/resellers.service';
import { listPlans } from '../rate-plans/rate-plans.service';
import { currentCycleOf } from '../billing/billing.service';
import { partySection as tollPackageSection } from '../toll-packages/toll-packages.service';
import { subscriberFeatures } from '../feature-packages/feature-packages.service';
import { addNumberSchema, newSubscriberSchema, subscriberFields, subscriberListQuery, subscriberLoginSchema } from './subscribers.schemas';
import * as service from './subscribers.service';
import { credentialTimes, identityOrThrow, removeSipCredential, setSipPassword } from '../switch/switch.service';
import { sipPasswordSchema } from '../switch/switch.schemas';

const BASE = '/reseller/subscribers';

/** The subscribers list's columns (the page and its CSV); `base` is where each subscriber's page is. */
function subscriberColumns(base: string): Array<Column<service.SubscriberSummary>> {
  return [
    { label: 'Account', sort: 'account', text: (s) => s.accountNumber, href: (s) => `${base}/${s.id}` },
    { label: 'Name', sort: 'name', text: (s) => s.name },
    { label: 'Numbers', sort: 'numbers', text: (s) => s.numbers.join(', ') },
    { label: 'Status', sort: 'status', style: 'status', text: (s) => (s.status === 'active' && s.resellerStatus !== 'active' ? 'suspended' : s.status) },
    { label: 'Location', sort: 'location', text: (s) => [s.city, s.region, s.country].filter(Boolean).join(', ') },
    { label: 'Email', sort: 'email', text: (s) => s.email ?? '' },
    { label: 'Created', sort: 'created', text: (s, h) => h.dateTime(s.createdAt) },
  ];
}

/** Reseller portal: its subscribers. Wholesale portal: a read view of any reseller's subscribers. */
export function subscriberRoutes({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);

  /** The subscribers list of the reseller's people (base BASE) or of one reseller for the operator's. */
  async function listPage(req: Request, res: Response, base: string, reseller: { id: number; name: string; status: string } | null) {
    const filter = subscriberListQuery.parse(req.query);
    const page = await service.listSubscribers(db, scope(req), { ...filter, ...(reseller ? { resellerId: reseller.id } : {}) });
    const list = listView({
      columns: subscriberColumns(base), ...page, filter, path: base, noun: ['subscriber', 'subscribers'],
      totalLines: [`${page.totals.active ?? '0'} active`, `${page.totals.numbers ?? '0'} numbers`],
    });
    res.page('subscribers/list', { title: reseller ? `${reseller.name}: subscribers` : 'Subscribers', list, filter, base, reseller });
  }

  async function listCsv(req: Request, res: Response, base: string, resellerId?: number) {
    const filter = subscriberListQuery.parse(req.query);
    await sendListCsv(req, res, 'subscribers', subscriberColumns(base), service.allSubscribers(db, scope(req), { ...filter, ...(resellerId ? { resellerId } : {}) }));
  }

  r.get(BASE, (req, res) => listPage(req, res, BASE, null));
  r.get(`${BASE}.csv`, (req, res) => listCsv(req, res, BASE));

  /** The reseller's plans to pick from on the create form (blank: assign one later). */
  const planOptions = async (req: Request) => [
    { value: '', label: '(none yet: its calls are not charged retail until one is assigned)' },
    ...(await listPlans(db, { kind: 'reseller', resellerId: resellerIdOf(req) })).map((p) => ({ value: String(p.id), label: `${p.name} (${p.currency})` })),
  ];

  r.get(`${BASE}/new`, async (req, res) => {
    const resellerCycle = await currentCycleOf(db, { resellerId: resellerIdOf(req) });
    res.page('subscribers/new', { title: 'New subscriber', resellerCycle, planOptions: await planOptions(req), values: { country: 'US' } });
  });

  r.post(BASE, async (req, res) => {
    await submitForm(
      req, res, newSubscriberSchema,
      async (data) => {
        const sub = await service.createSubscriber(db, actor(req), resellerIdOf(req), data);
        flash(req, 'success', `Subscriber ${sub.accountNumber} (${sub.name}) created.`);
        res.redirect(303, `${BASE}/${sub.id}`);
      },
      async (errors) => res.page('subscribers/new', { title: 'New subscriber', resellerCycle: await currentCycleOf(db, { resellerId: resellerIdOf(req) }), planOptions: await planOptions(req), errors, values: { ...req.body, login_password: '' } }),
    );
  });

  async function showPage(req: Request, res: Response, base: string, extra: Record<string, unknown> = {}) {
    const data = await service.details(db, scope(req), idParam(req, 'subscriberId'));
    const plans = await listPlans(db, { kind: 'reseller', resellerId: data.subscriber.resellerId });
    const billing = await currentCycleOf(db, { resellerId: data.subscriber.resellerId, subscriberId: data.subscriber.id });
    // The full toll-package page is the reseller's (operator staff see the section only).
    const tollPackages = await tollPackageSection(db, scope(req), { kind: 'subscriber', subscriberId: data.subscriber.id }, base === BASE ? `${BASE}/${data.subscriber.id}/toll-packages` : null);
    const featureSection = await subscriberFeatures(db, scope(req), data.subscriber.id);
    const sipCredentials = await credentialTimes(db, scope(req), data.subscriber.id);
    res.page('subscribers/show', {
      sipCredentials,
      plans,
      billing,
      tollPackages,
      featureSection,
      title: `${data.subscriber.accountNumber} ${data.subscriber.name}`,
      base,
      ...data,
      values: { login_email: data.login?.email ?? data.subscriber.email ?? '' },
      ...extra,
    });
  }

  r.get(`${BASE}/:subscriberId`, (req, res) => showPage(req, res, BASE));

  r.get(`${BASE}/:subscriberId/edit`, async (req, res) => {
    const sub = await service.getOrThrow(db, scope(req), idParam(req, 'subscriberId'));
    const [billing, resellerCycle] = await Promise.all([currentCycleOf(db, { resellerId: sub.resellerId, subscriberId: sub.id }), currentCycleOf(db, { resellerId: sub.resellerId })]);
    res.page('subscribers/edit', { title: `Edit ${sub.accountNumber}`, subscriber: sub, billing, resellerCycle, values: formValues(sub) });
  });

  r.post(`${BASE}/:subscriberId`, async (req, res) => {
    const id = idParam(req, 'subscriberId');
    const sub = await service.getOrThrow(db, scope(req), id);
    const [billing, resellerCycle] = await Promise.all([currentCycleOf(db, { resellerId: sub.resellerId, subscriberId: sub.id }), currentCycleOf(db, { resellerId: sub.resellerId })]);
    await submitForm(
      req, res, subscriberFields,
      async (data) => {
        await service.updateSubscriber(db, actor(req), scope(req), id, data);
        flash(req, 'success', 'Subscriber saved.');
        res.redirect(303, `${BASE}/${id}`);
      },
      (errors) => res.page('subscribers/edit', { title: `Edit ${sub.accountNumber}`, subscriber: sub, billing, resellerCycle, errors, values: req.body }),
    );
  });

  for (const [action, status] of [['deactivate', 'inactive'], ['activate', 'active']] as const) {
    r.post(`${BASE}/:subscriberId/${action}`, async (req, res) => {
      const id = idParam(req, 'subscriberId');
      if (status === 'inactive' && !isConfirmed(req)) {
        const { subscriber: s, activeNumbers, login } = await service.details(db, scope(req), id);
        if (s.status === 'active') {
          const numbers = activeNumbers.map((n) => n.number);
          return askConfirmation(req, res, {
            title: `Deactivate ${s.accountNumber} ${s.name}?`,
            consequences: [
              login ? `Deactivating ${s.name} stops its portal login (${login.email}) at once.` : `Deactivating ${s.name}: it has no portal login to stop.`,
              numbers.length
                ? `New calls of its ${countOf(numbers.length, 'number')} (${numbers.slice(0, 5).join(', ')}${numbers.length > 5 ? ', …' : ''}) will be stored as blocked: kept and visible, but not charged.`
                : 'It has no active numbers, so no calls will be blocked.',
              'Reactivating restores the login; calls stored as blocked meanwhile can then be re-rated.',
            ],
            confirmLabel: `Deactivate ${s.name}`,
            cancelHref: `${BASE}/${id}`,
          });
        }
      }
      const sub = await service.setStatus(db, actor(req), scope(req), id, status);
      flash(req, 'success', status === 'inactive' ? `${sub.name} is deactivated: the portal login is blocked and new calls are rated as blocked.` : `${sub.name} is active again.`);
      res.redirect(303, `${BASE}/${id}`);
    });
  }

  r.post(`${BASE}/:subscriberId/numbers`, async (req, res) => {
    const id = idParam(req, 'subscriberId');
    await service.getOrThrow(db, scope(req), id);
    await submitForm(
      req, res, addNumberSchema,
      async (data) => {
        const n = await service.addNumber(db, actor(req), scope(req), id, data.number, data.label);
        flash(req, 'success', `${n.number} assigned.`);
        res.redirect(303, `${BASE}/${id}`);
      },
      (errors) => showPage(req, res, BASE, { errors, numberValues: req.body }),
    );
  });

  r.post(`${BASE}/:subscriberId/numbers/:numberId/release`, async (req, res) => {
    const id = idParam(req, 'subscriberId');
    const numberId = idParam(req, 'numberId');
    if (!isConfirmed(req)) {
      const { subscriber: s, activeNumbers, releasedNumbers } = await service.details(db, scope(req), id);
      const active = activeNumbers.find((x) => x.id === numberId);
      if (!active && !releasedNumbers.some((x) => x.id === numberId)) throw new NotFoundError();
      if (active) {
        return askConfirmation(req, res, {
          title: `Release ${active.number}?`,
          consequences: [
            `Releasing ${active.number} takes it from ${s.accountNumber} ${s.name} now: calls to or from it after this moment are no longer ${s.name}'s (with no other holder they are stored as unrated).`,
            'Its calls so far stay on the account. The number can then be assigned to any subscriber, this one included.',
          ],
          confirmLabel: `Release ${active.number}`,
          cancelHref: `${BASE}/${id}`,
        });
      }
    }
    const n = await service.releaseNumber(db, actor(req), scope(req), id, numberId);
    flash(req, 'success', `${n.number} released; it can now be assigned again.`);
    res.redirect(303, `${BASE}/${id}`);
  });

  r.post(`${BASE}/:subscriberId/identities/:identityId/release`, async (req, res) => {
    const id = idParam(req, 'subscriberId');
    const i = await service.releaseIdentity(db, actor(req), scope(req), id, idParam(req, 'identityId'));
    flash(req, 'success', `${i.identity}@${i.domain} released; it can now be assigned again.`);
    res.redirect(303, `${BASE}/${id}`);
  });

  // SIP credentials of an identity (switch.service): typed, or generated and shown once on the
  // answer. By the reseller's admins, and by the operator's admins on their view of the subscriber
  // (running the platform, they set up a phone for a reseller); support roles only see them.
  const sipBases = [
    { path: BASE, base: async (_req: Request) => BASE, extra: {} },
    {
      path: '/wholesale/resellers/:resellerId/subscribers',
      // The subscriber must be the reseller's of the address (as on its page).
      base: async (req: Request) => {
        const reseller = await getReseller(db, scope(req), idParam(req, 'resellerId'));
        const sub = await service.getOrThrow(db, scope(req), idParam(req, 'subscriberId'));
        if (sub.resellerId !== reseller.id) throw new NotFoundError();
        return `/wholesale/resellers/${reseller.id}/subscribers`;
      },
      extra: { operatorView: true },
    },
  ];
  for (const sip of sipBases) {
    r.post(`${sip.path}/:subscriberId/identities/:identityId/sip-password`, async (req, res) => {
      const base = await sip.base(req);
      const id = idParam(req, 'subscriberId');
      const identityId = idParam(req, 'identityId');
      // Another subscriber's (or tenant's) identity is not found, whatever the form says.
      await identityOrThrow(db, scope(req), id, identityId);
      await submitForm(
        req, res, sipPasswordSchema,
        async (data) => {
          const out = await setSipPassword(db, actor(req), scope(req), id, identityId, data.generate ? { generate: true } : { generate: false, password: data.sip_password ?? '' });
          if (out.password) return res.page('subscribers/sip-password', { title: out.sipUser, sipUser: out.sipUser, password: out.password, back: `${base}/${id}` });
          flash(req, 'success', `SIP password of ${out.sipUser} set: the switch accepts it from its next registration.`);
          res.redirect(303, `${base}/${id}`);
        },
        (errors) => showPage(req, res, base, { ...sip.extra, errors, sipIdentityId: identityId }),
      );
    });

    r.post(`${sip.path}/:subscriberId/identities/:identityId/sip-password/remove`, async (req, res) => {
      const base = await sip.base(req);
      const id = idParam(req, 'subscriberId');
      const out = await removeSipCredential(db, actor(req), scope(req), id, idParam(req, 'identityId'));
      flash(req, 'success', `SIP credential of ${out.sipUser} removed: the switch refuses it from its next request.`);
      res.redirect(303, `${base}/${id}`);
    });
  }

  r.post(`${BASE}/:subscriberId/login`, async (req, res) => {
    const id = idParam(req, 'subscriberId');
    await service.getOrThrow(db, scope(req), id);
    await submitForm(
      req, res, subscriberLoginSchema,
      async (data) => {
        const outcome = await service.setLogin(db, actor(req), scope(req), id, data.login_email, data.login_password);
        flash(req, 'success', outcome === 'created' ? `Portal login ${data.login_email} created.` : 'Portal login updated with the new password.');
        res.redirect(303, `${BASE}/${id}`);
      },
      (errors) => showPage(req, res, BASE, { errors, values: { login_email: req.body?.login_email ?? '' } }),
    );
  });

  // Operator staff: any reseller's subscribers, read only (changes are the reseller's to make).
  r.get('/wholesale/resellers/:resellerId/subscribers', async (req, res) => {
    const reseller = await getReseller(db, scope(req), idParam(req, 'resellerId'));
    await listPage(req, res, `/wholesale/resellers/${reseller.id}/subscribers`, reseller);
  });

  r.get('/wholesale/resellers/:resellerId/subscribers.csv', async (req, res) => {
    const reseller = await getReseller(db, scope(req), idParam(req, 'resellerId'));
    await listCsv(req, res, `/wholesale/resellers/${reseller.id}/subscribers`, reseller.id);
  });

  r.get('/wholesale/resellers/:resellerId/subscribers/:subscriberId', async (req, res) => {
    const reseller = await getReseller(db, scope(req), idParam(req, 'resellerId'));
    const sub = await service.getOrThrow(db, scope(req), idParam(req, 'subscriberId'));
    if (sub.resellerId !== reseller.id) throw new NotFoundError();
    await showPage(req, res, `/wholesale/resellers/${reseller.id}/subscribers`, { operatorView: true });
  });

  return r;
}

function formValues(s: service.Subscriber): Record<string, unknown> {
  return {
    account_number: s.accountNumber,
    name: s.name,
    contact_name: s.contactName ?? '',
    email: s.email ?? '',
    phone: s.phone ?? '',
    address_line1: s.addressLine1 ?? '',
    address_line2: s.addressLine2 ?? '',
    city: s.city ?? '',
    region: s.region ?? '',
    postal_code: s.postalCode ?? '',
    country: s.country,
    time_zone: s.timeZone ?? '',
    billing_cycle_day: s.billingCycleDay === null ? '' : String(s.billingCycleDay),
  };
}
