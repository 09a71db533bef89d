import { Router, type Request, type Response } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import type { Db } from '../../db/knex';
import { ConflictError } from '../../domain/errors';
import type { Owner } from '../../domain/tenancy/owner';
import { formatDateTime } from '../../domain/time/zones';
import { submitForm } from '../../web/forms';
import { idParam } from '../../web/params';
import { actor, principal, resellerIdOf, scope, timeZoneOf } from '../../web/principal';
import { askConfirmation, countOf, isConfirmed } from '../../web/confirm';
import { flash } from '../../web/render';
import { listInMemory, moneyTotalLines, sendListCsv, type Column } from '../../web/lists';
import { getOrThrow as getReseller } from '../resellers/resellers.service';
import { getOrThrow as getSubscriber } from '../subscribers/subscribers.service';
import { assignFields, endFields, groupFields, packageFields, tollListQuery } from './toll-packages.schemas';
import * as service from './toll-packages.service';

/** Helpers every toll-package view uses: seconds as minutes, fees as money. */
const viewHelpers = { minutes: service.minutesAndSeconds, money: service.moneyText };

/** The destination groups list's columns (the page and its CSV); a reseller's also says whose each is. */
function groupColumns(portal: 'wholesale' | 'reseller', gbase: string): Array<Column<service.DestinationGroup>> {
  return [
    { label: 'Name', sort: 'name', text: (g) => g.name, href: (g) => `${gbase}/${g.id}` },
    ...(portal === 'reseller' ? [{ label: 'Kept by', sort: 'owner', text: (g: service.DestinationGroup) => (g.resellerId === null ? 'your operator' : 'you') }] : []),
    { label: 'Description', text: (g) => g.description },
    { label: 'Prefixes', style: 'code', text: (g) => `${g.prefixes.join(' ')}${g.prefixCount > g.prefixes.length ? ' …' : ''}` },
    { label: 'Count', sort: 'prefixes', num: true, text: (g) => String(g.prefixCount) },
    { label: 'In packages', sort: 'packages', num: true, text: (g) => String(g.packageCount) },
  ];
}

/** The toll packages list's columns: the page and its CSV. */
function packageColumns(pbase: string): Array<Column<service.TollPackage>> {
  return [
    { label: 'Name', sort: 'name', text: (p) => p.name, href: (p) => `${pbase}/${p.id}` },
    { label: 'Status', sort: 'status', style: 'status', text: (p) => (p.retiredAt ? 'retired' : 'active') },
    { label: 'Allowances', text: (p) => p.groups.map((g) => `${g.groupName}: ${g.includedSeconds === null ? 'unlimited' : service.minutesAndSeconds(g.includedSeconds)}${g.overageRate === null ? '' : `, then ${service.moneyText(g.overageRate)} ${p.currency}/min`}`).join('; ') },
    { label: 'Setup fee', sort: 'setup', num: true, text: (p) => `${service.moneyText(p.setupFee)} ${p.currency}` },
    { label: 'Monthly fee', sort: 'monthly', num: true, text: (p) => `${service.moneyText(p.monthlyFee)} ${p.currency}` },
    { label: 'Holders now', sort: 'holders', num: true, text: (p) => String(p.holders) },
    { label: 'Starting later', sort: 'scheduled', num: true, text: (p) => String(p.scheduled) },
  ];
}

const nameHas = (q: string | undefined, name: string) => !q || name.toLowerCase().includes(q.toLowerCase());

/**
 * Destination groups and toll packages for both owners (the operator's in the wholesale portal,
 * each reseller's in its own), the assignment pages of a reseller (the operator's packages) and
 * of a subscriber (its reseller's), and the subscriber's own page.
 */
export function tollPackageRoutes({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);

  for (const portal of ['wholesale', 'reseller'] as const) {
    const gbase = `/${portal}/destination-groups`;
    const pbase = `/${portal}/toll-packages`;
    const ownerOf = (req: Request): Owner => (portal === 'wholesale' ? { kind: 'operator' } : { kind: 'reseller', resellerId: resellerIdOf(req) });
    const common = { portal, gbase, pbase, ...viewHelpers };

    // -- Destination groups --------------------------------------------------------------------

    /** The groups the owner keeps or may use that the filter keeps, sorted as asked: the page and its CSV. */
    async function groupList(req: Request) {
      const filter = tollListQuery.omit({ status: true }).parse(req.query);
      const rows = (await service.usableGroups(db, ownerOf(req))).filter((g) => nameHas(filter.q, g.name));
      return listInMemory(rows, {
        columns: groupColumns(portal, gbase), filter, path: gbase, rowKey: 'group', noun: ['destination group', 'destination groups'],
        totalLines: [`${rows.reduce((n, g) => n + g.prefixCount, 0)} prefixes`],
        sorts: { name: (g) => g.name, owner: (g) => (g.resellerId === null ? 1 : 0), prefixes: (g) => g.prefixCount, packages: (g) => g.packageCount },
        defaultSort: 'name', defaultDir: 'asc',
      });
    }

    r.get(gbase, async (req, res) => {
      const list = await groupList(req);
      res.page('toll-packages/groups', { title: 'Destination groups', ...common, list, filter: list.filter });
    });

    r.get(`${gbase}.csv`, async (req, res) => {
      const list = await groupList(req);
      await sendListCsv(req, res, 'destination-groups', list.columns, list.rows);
    });

    const groupForm = (res: Response, locals: Record<string, unknown>) => res.page('toll-packages/group-form', { ...common, ...locals });

    r.get(`${gbase}/new`, (_req, res) => groupForm(res, { title: 'New destination group', group: null, values: {} }));

    r.post(gbase, async (req, res) => {
      await submitForm(
        req, res, groupFields,
        async (data) => {
          const group = await service.createGroup(db, actor(req), ownerOf(req), data);
          flash(req, 'success', `Destination group ${group.name} created with ${countOf(group.prefixCount, 'prefix', 'prefixes')}${data.prefixes.duplicates ? ` (${countOf(data.prefixes.duplicates, 'duplicate')} left out)` : ''}.`);
          res.redirect(303, `${gbase}/${group.id}`);
        },
        (errors) => groupForm(res, { title: 'New destination group', group: null, errors, values: req.body }),
      );
    });

    r.get(`${gbase}/:destinationGroupId`, async (req, res) => {
      const group = await service.getGroupOrThrow(db, ownerOf(req), idParam(req, 'destinationGroupId'), { readable: true });
      // A reseller reads the operator's groups (it may use them) but does not keep them.
      const own = portal === 'wholesale' ? group.resellerId === null : group.resellerId !== null;
      res.page('toll-packages/group', { title: group.name, ...common, group, own });
    });

    r.get(`${gbase}/:destinationGroupId/edit`, async (req, res) => {
      const group = await service.getGroupOrThrow(db, ownerOf(req), idParam(req, 'destinationGroupId'));
      groupForm(res, { title: `Edit ${group.name}`, group, values: { name: group.name, description: group.description, prefixes: group.prefixes.join('\n') } });
    });

    r.post(`${gbase}/:destinationGroupId`, async (req, res) => {
      const id = idParam(req, 'destinationGroupId');
      const group = await service.getGroupOrThrow(db, ownerOf(req), id);
      await submitForm(
        req, res, groupFields,
        async (data) => {
          const after = await service.updateGroup(db, actor(req), ownerOf(req), id, data);
          flash(req, 'success', `Destination group ${after.name} saved: ${countOf(after.prefixCount, 'prefix', 'prefixes')}${data.prefixes.duplicates ? ` (${countOf(data.prefixes.duplicates, 'duplicate')} left out)` : ''}.`);
          res.redirect(303, `${gbase}/${id}`);
        },
        (errors) => groupForm(res, { title: `Edit ${group.name}`, group, errors, values: req.body }),
      );
    });

    r.post(`${gbase}/:destinationGroupId/delete`, async (req, res) => {
      const id = idParam(req, 'destinationGroupId');
      const { group, reason } = await service.groupInUse(db, ownerOf(req), id);
      if (reason) {
        flash(req, 'error', `${group.name} cannot be deleted. ${reason}`);
        return res.redirect(303, `${gbase}/${id}`);
      }
      if (!isConfirmed(req)) {
        return askConfirmation(req, res, {
          title: `Delete ${group.name}?`,
          consequences: [`The group and its ${countOf(group.prefixCount, 'prefix', 'prefixes')} are deleted for good. No toll package uses it.`],
          confirmLabel: `Delete ${group.name}`,
          cancelHref: `${gbase}/${id}`,
        });
      }
      try {
        await service.deleteGroup(db, actor(req), ownerOf(req), id);
        flash(req, 'success', `Destination group ${group.name} deleted.`);
        res.redirect(303, gbase);
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
        flash(req, 'error', err.message);
        res.redirect(303, `${gbase}/${id}`);
      }
    });

    // -- Toll packages -------------------------------------------------------------------------

    /** The owner's packages the filter keeps, sorted as asked: the page and its CSV. */
    async function packageList(req: Request) {
      const filter = tollListQuery.parse(req.query);
      const rows = (await service.listPackages(db, ownerOf(req))).filter((p) => nameHas(filter.q, p.name) && (!filter.status || (filter.status === 'retired') === (p.retiredAt !== null)));
      const holders = rows.reduce((n, p) => n + p.holders, 0);
      return listInMemory(rows, {
        columns: packageColumns(pbase), filter, path: pbase, rowKey: 'package', noun: ['toll package', 'toll packages'],
        totalLines: [`${holders} holder${holders === 1 ? '' : 's'} now`, `${rows.reduce((n, p) => n + p.scheduled, 0)} starting later`, ...moneyTotalLines(rows, (p) => p.currency, [['Setup fees', (p) => p.setupFee], ['Monthly fees', (p) => p.monthlyFee]])],
        sorts: {
          name: (p) => p.name, status: (p) => (p.retiredAt ? 'retired' : 'active'), setup: (p) => p.setupFee.toFixed(), monthly: (p) => p.monthlyFee.toFixed(),
          holders: (p) => p.holders, scheduled: (p) => p.scheduled,
        },
        defaultSort: 'name', defaultDir: 'asc',
      });
    }

    r.get(pbase, async (req, res) => {
      const list = await packageList(req);
      // A reseller also sees the operator's packages it holds (on its wholesale charges).
      const wholesale = portal === 'reseller' ? await service.partyView(db, scope(req), { kind: 'reseller', resellerId: resellerIdOf(req) }) : null;
      res.page('toll-packages/packages', { title: 'Toll packages', ...common, list, filter: list.filter, wholesale });
    });

    r.get(`${pbase}.csv`, async (req, res) => {
      const list = await packageList(req);
      await sendListCsv(req, res, 'toll-packages', list.columns, list.rows);
    });

    /** The package form: the groups to choose from, the currencies of the owner's plans and, editing, who holds it on a plan in another. */
    async function packageForm(req: Request, res: Response, locals: { pkg: service.TollPackage | null } & Record<string, unknown>) {
      const [groups, planCurrencies, holders] = await Promise.all([
        service.usableGroups(db, ownerOf(req)), service.planCurrencies(db, ownerOf(req)),
        locals.pkg ? service.packageHolders(db, ownerOf(req), locals.pkg.id) : Promise.resolve([]),
      ]);
      const otherCurrency = locals.pkg ? holders.filter((x) => x.planCurrency !== null && x.planCurrency !== locals.pkg?.currency).length : 0;
      res.page('toll-packages/package-form', { ...common, groups, planCurrencies, otherCurrency, ...locals });
    }

    r.get(`${pbase}/new`, async (req, res) => {
      const currency = portal === 'reseller' ? (await getReseller(db, scope(req), resellerIdOf(req))).currency : 'USD';
      await packageForm(req, res, { title: 'New toll package', pkg: null, values: { currency, setup_fee: '0', monthly_fee: '0' } });
    });

    r.post(pbase, async (req, res) => {
      await submitForm(
        req, res, packageFields,
        async (data) => {
          const p = await service.createPackage(db, actor(req), ownerOf(req), data);
          flash(req, 'success', `Toll package ${p.name} created.`);
          res.redirect(303, `${pbase}/${p.id}`);
        },
        (errors) => packageForm(req, res, { title: 'New toll package', pkg: null, errors, values: req.body }),
      );
    });

    r.get(`${pbase}/:tollPackageId`, async (req, res) => {
      const id = idParam(req, 'tollPackageId');
      const pkg = await service.getPackageOrThrow(db, ownerOf(req), id);
      const holders = await service.packageHolders(db, ownerOf(req), id);
      res.page('toll-packages/package', { title: pkg.name, ...common, pkg, holders });
    });

    r.get(`${pbase}/:tollPackageId/edit`, async (req, res) => {
      const pkg = await service.getPackageOrThrow(db, ownerOf(req), idParam(req, 'tollPackageId'));
      await packageForm(req, res, { title: `Edit ${pkg.name}`, pkg, values: service.packageFormValues(pkg) });
    });

    r.post(`${pbase}/:tollPackageId`, async (req, res) => {
      const id = idParam(req, 'tollPackageId');
      const pkg = await service.getPackageOrThrow(db, ownerOf(req), id);
      await submitForm(
        req, res, packageFields,
        async (data) => {
          await service.updatePackage(db, actor(req), ownerOf(req), id, data);
          flash(req, 'success', `Toll package ${data.name} saved.`);
          res.redirect(303, `${pbase}/${id}`);
        },
        (errors) => packageForm(req, res, { title: `Edit ${pkg.name}`, pkg, errors, values: req.body }),
      );
    });

    r.post(`${pbase}/:tollPackageId/retire`, async (req, res) => {
      const id = idParam(req, 'tollPackageId');
      const pkg = await service.getPackageOrThrow(db, ownerOf(req), id);
      if (pkg.retiredAt) {
        flash(req, 'error', `${pkg.name} is retired already.`);
        return res.redirect(303, `${pbase}/${id}`);
      }
      if (!isConfirmed(req)) {
        const who = portal === 'wholesale' ? 'reseller' : 'subscriber';
        return askConfirmation(req, res, {
          title: `Retire ${pkg.name}?`,
          consequences: [
            `${pkg.name} can no longer be given to any ${who}.`,
            pkg.holders || pkg.scheduled
              ? `Its ${countOf(pkg.holders + pkg.scheduled, 'assignment')} (${pkg.holders} now, ${pkg.scheduled} starting later) stay in force until each is ended.`
              : `No ${who} holds it.`,
            'Retiring cannot be undone; the package and its history stay visible.',
          ],
          confirmLabel: `Retire ${pkg.name}`,
          cancelHref: `${pbase}/${id}`,
        });
      }
      try {
        await service.retirePackage(db, actor(req), ownerOf(req), id);
        flash(req, 'success', `${pkg.name} is retired: it can no longer be assigned.`);
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
        flash(req, 'error', err.message);
      }
      res.redirect(303, `${pbase}/${id}`);
    });
  }

  // -- Assignments: a reseller (the operator's packages), a subscriber (its reseller's) ---------

  interface PartyPage {
    party: service.Party;
    /** The page's own URL; assignments post to it. */
    base: string;
    name: string;
    back: { href: string; label: string };
    packagesHref: string;
  }

  async function partyPage(req: Request, res: Response, p: PartyPage, extra: { errors?: Record<string, string>; values?: unknown } = {}) {
    const view = await service.partyView(db, scope(req), p.party);
    const packages = await service.assignablePackages(db, view.info);
    res.page('toll-packages/party', {
      title: `${p.name}: toll packages`, ...viewHelpers, ...p, ...view, packages,
      values: extra.values ?? { starts_at: '', ends_at: '' }, errors: extra.errors ?? {},
    });
  }

  async function resellerParty(req: Request): Promise<PartyPage> {
    const reseller = await getReseller(db, scope(req), idParam(req, 'resellerId'));
    const base = `/wholesale/resellers/${reseller.id}/toll-packages`;
    return { party: { kind: 'reseller', resellerId: reseller.id }, base, name: reseller.name, back: { href: `/wholesale/resellers/${reseller.id}`, label: reseller.name }, packagesHref: '/wholesale/toll-packages' };
  }

  async function subscriberParty(req: Request): Promise<PartyPage> {
    const sub = await getSubscriber(db, scope(req), idParam(req, 'subscriberId'));
    const base = `/reseller/subscribers/${sub.id}/toll-packages`;
    return { party: { kind: 'subscriber', subscriberId: sub.id }, base, name: `${sub.accountNumber} ${sub.name}`, back: { href: `/reseller/subscribers/${sub.id}`, label: `${sub.accountNumber} ${sub.name}` }, packagesHref: '/reseller/toll-packages' };
  }

  for (const [path, partyOf] of [
    ['/wholesale/resellers/:resellerId/toll-packages', resellerParty],
    ['/reseller/subscribers/:subscriberId/toll-packages', subscriberParty],
  ] as const) {
    r.get(path, async (req, res) => partyPage(req, res, await partyOf(req)));

    r.post(path, async (req, res) => {
      const p = await partyOf(req);
      await submitForm(
        req, res, assignFields,
        async (data) => {
          const a = await service.assign(db, actor(req), scope(req), p.party, data, timeZoneOf(req));
          flash(req, 'success', `${a.packageName} given to ${p.name} from ${formatDateTime(a.startsAt, timeZoneOf(req))}${a.endsAt ? ` until ${formatDateTime(a.endsAt, timeZoneOf(req))}` : ''}.`);
          res.redirect(303, p.base);
        },
        (errors) => partyPage(req, res, p, { errors, values: req.body }),
      );
    });

    r.post(`${path}/:tollAssignmentId/end`, async (req, res) => {
      const p = await partyOf(req);
      const id = idParam(req, 'tollAssignmentId');
      const a = await service.getAssignmentOrThrow(db, scope(req), p.party, id);
      const zone = timeZoneOf(req);
      if (!isConfirmed(req)) {
        const when = typeof req.body?.ends_at === 'string' && req.body.ends_at.trim() ? `at ${req.body.ends_at.trim()} (${zone})` : 'now';
        return askConfirmation(req, res, {
          title: `End ${a.packageName} for ${p.name}?`,
          consequences: [
            `${p.name} stops holding ${a.packageName} ${when}: calls after that are priced by the rate plan, without its allowances.`,
            'The assignment stays in the history, with what was used.',
          ],
          confirmLabel: `End ${a.packageName}`,
          cancelHref: p.base,
          fields: { ends_at: typeof req.body?.ends_at === 'string' ? req.body.ends_at : undefined },
        });
      }
      try {
        await submitForm(
          req, res, endFields,
          async (data) => {
            const ended = await service.endAssignment(db, actor(req), scope(req), p.party, id, data, zone);
            flash(req, 'success', `${ended.packageName} ends for ${p.name} at ${formatDateTime(ended.endsAt, zone)}.`);
            res.redirect(303, p.base);
          },
          (errors) => {
            // The end field lives on the assignment's row: its message goes to the top of the page.
            flash(req, 'error', Object.values(errors).join(' '));
            res.redirect(303, p.base);
          },
        );
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
        flash(req, 'error', err.message);
        res.redirect(303, p.base);
      }
    });
  }

  // -- The subscriber's own page ----------------------------------------------------------------

  r.get('/me/toll-packages', async (req, res) => {
    const view = await service.partyView(db, scope(req), { kind: 'subscriber', subscriberId: principal(req).subscriberId as number });
    res.page('toll-packages/mine', { title: 'My toll packages', ...viewHelpers, ...view });
  });

  return r;
}
