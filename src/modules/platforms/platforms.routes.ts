import { Router } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import type { ReferenceInvalidator } from '../../db/change-notices';
import type { Db } from '../../db/knex';
import { FORMAT_NAMES } from '../../domain/mediation';
import { submitForm } from '../../web/forms';
import { idParam } from '../../web/params';
import { actor } from '../../web/principal';
import { askConfirmation, isConfirmed } from '../../web/confirm';
import { flash } from '../../web/render';
import { z } from 'zod';
import { listParams } from '../../domain/fields';
import { listInMemory, sendListCsv, type Column } from '../../web/lists';
import { platformFields } from './platforms.schemas';
import * as service from './platforms.service';

const BASE = '/wholesale/platforms';
const FORMAT_OPTIONS = FORMAT_NAMES.map((f) => ({ value: f, label: f }));

const platformListQuery = z.object({
  q: z.string().trim().max(100).optional().catch(undefined),
  status: z.enum(['active', 'inactive']).optional().catch(undefined),
  ...listParams,
});

type PlatformRow = Awaited<ReturnType<typeof service.listPlatforms>>[number];

/** The platforms list's columns: the page's table and its CSV. */
const PLATFORM_COLUMNS: Array<Column<PlatformRow>> = [
  { label: 'Name', sort: 'name', text: (p) => p.name, href: (p) => `${BASE}/${p.id}` },
  { label: 'Format', sort: 'format', style: 'code', text: (p) => p.format },
  { label: 'Time zone', sort: 'zone', text: (p) => p.timeZone },
  { label: 'Country code', sort: 'country', text: (p) => `+${p.countryCode}` },
  { label: 'Status', sort: 'status', style: 'status', text: (p) => (p.active ? 'active' : 'inactive') },
  { label: 'Records in 24 h', sort: 'legs', num: true, text: (p) => String(p.legsToday), href: (p) => `/wholesale/calls?platform=${p.id}` },
  { label: 'Credential since', sort: 'credential', text: (p, h) => h.dateTime(p.credentialRotatedAt) },
];

/** Wholesale portal: the switches that send call records, and their machine credentials. */
export function platformRoutes({ db, refs }: { db: Db; refs: ReferenceInvalidator }): Router {
  const r = Router(ROUTER_OPTIONS);
  const common = { base: BASE, formatOptions: FORMAT_OPTIONS };

  /** The platforms the filter matches, sorted as asked: the page and its CSV. */
  async function platformList(query: unknown) {
    const filter = platformListQuery.parse(query);
    const q = filter.q?.toLowerCase();
    const rows = (await service.listPlatforms(db)).filter(
      (p) => (!q || p.name.toLowerCase().includes(q) || p.format.includes(q)) && (!filter.status || (filter.status === 'active') === p.active),
    );
    const legs = rows.reduce((n, p) => n + p.legsToday, 0);
    return listInMemory(rows, {
      columns: PLATFORM_COLUMNS, filter, path: BASE, noun: ['platform', 'platforms'], totalLines: [`${legs} records in 24 h`],
      sorts: { name: (p) => p.name, format: (p) => p.format, zone: (p) => p.timeZone, country: (p) => p.countryCode, status: (p) => (p.active ? 'active' : 'inactive'), legs: (p) => p.legsToday, credential: (p) => p.credentialRotatedAt.getTime() },
      defaultSort: 'name', defaultDir: 'asc',
    });
  }

  r.get(BASE, async (req, res) => {
    const list = await platformList(req.query);
    res.page('platforms/list', { title: 'Platforms', ...common, list, filter: list.filter });
  });

  r.get(`${BASE}.csv`, async (req, res) => {
    const list = await platformList(req.query);
    await sendListCsv(req, res, 'platforms', list.columns, list.rows);
  });

  r.get(`${BASE}/new`, (_req, res) => {
    res.page('platforms/new', { title: 'New platform', ...common, values: { format: 'generic-json', time_zone: 'UTC', country_code: '1', short_numbers: 'national', active: 'on' } });
  });

  r.post(BASE, async (req, res) => {
    await submitForm(
      req, res, platformFields,
      async (data) => {
        const { platform, token } = await service.createPlatform(db, refs, actor(req), data);
        res.status(201);
        res.page('platforms/credential', { title: platform.name, platform, token, created: true });
      },
      (errors) => res.page('platforms/new', { title: 'New platform', ...common, errors, values: req.body }),
    );
  });

  const load = (id: number) => service.getOrThrow(db, id);

  r.get(`${BASE}/:platformId`, async (req, res) => {
    const platform = await load(idParam(req, 'platformId'));
    res.page('platforms/show', { title: platform.name, ...common, platform });
  });

  r.get(`${BASE}/:platformId/edit`, async (req, res) => {
    const p = await load(idParam(req, 'platformId'));
    res.page('platforms/edit', {
      title: `Edit ${p.name}`, ...common, platform: p,
      values: {
        name: p.name, format: p.format, time_zone: p.timeZone, country_code: p.countryCode, active: p.active ? 'on' : '',
        accept_calls_from: new Date(p.acceptCallsFrom).toISOString().slice(0, 10),
        short_numbers: p.shortNumbers, sip_domain: p.sipDomain ?? '',
        allowed_sources: (p.allowedSources ?? []).join('\n'),
        trunk_carriers: Object.entries(p.trunkCarriers).map(([k, v]) => `${k} = ${v}`).join('\n'),
      },
    });
  });

  r.post(`${BASE}/:platformId`, async (req, res) => {
    const id = idParam(req, 'platformId');
    const platform = await load(id);
    await submitForm(
      req, res, platformFields,
      async (data) => {
        if (platform.active && !data.active && !isConfirmed(req)) {
          return askConfirmation(req, res, {
            title: `Deactivate ${platform.name}?`,
            consequences: [
              `Every record ${platform.name} posts from now on is refused (403) and not stored, until it is made active again.`,
              'The switch has to post the refused records again once it is reactivated; calls already stored are kept.',
            ],
            confirmLabel: `Deactivate ${platform.name}`,
            cancelHref: `${BASE}/${id}`,
            fields: req.body as Record<string, string>,
          });
        }
        await service.updatePlatform(db, refs, actor(req), id, data);
        flash(req, 'success', 'Platform saved.');
        res.redirect(303, `${BASE}/${id}`);
      },
      (errors) => res.page('platforms/edit', { title: `Edit ${platform.name}`, ...common, platform, errors, values: req.body }),
    );
  });

  r.post(`${BASE}/:platformId/rotate`, async (req, res) => {
    if (!isConfirmed(req)) {
      const platform = await load(idParam(req, 'platformId'));
      return askConfirmation(req, res, {
        title: `Issue a new credential for ${platform.name}?`,
        consequences: [
          `The credential ${platform.name} posts with now stops working at once: its posts are refused (401) until the switch is set up with the new one.`,
          'Records refused meanwhile are not stored; the switch has to post them again.',
          'The new credential is shown once, on the next page: copy it to the switch straight away.',
        ],
        confirmLabel: 'Issue a new credential',
        cancelHref: `${BASE}/${platform.id}`,
      });
    }
    const { platform, token } = await service.rotateCredential(db, refs, actor(req), idParam(req, 'platformId'));
    res.page('platforms/credential', { title: platform.name, platform, token, created: false });
  });

  return r;
}
