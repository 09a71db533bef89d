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
import { platformFields } from './platforms.schemas';
import * as service from './platforms.service';

const BASE = '/wholesale/platforms';
const FORMAT_OPTIONS = FORMAT_NAMES.map((f) => ({ value: f, label: f }));

/** Wholesale portal: the switches that send call records, and their machine credentials. */
export function platformRoutes({ db, refs }: { db: Db; refs: ReferenceInvalidator }): Router {
  const r = Router(ROUTER_OPTIONS);
  const common = { base: BASE, formatOptions: FORMAT_OPTIONS };

  r.get(BASE, async (_req, res) => {
    res.page('platforms/list', { title: 'Platforms', ...common, platforms: await service.listPlatforms(db) });
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
