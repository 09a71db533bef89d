import { Router } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import type { ReferenceInvalidator } from '../../db/change-notices';
import type { Db } from '../../db/knex';
import { FieldErrors, NotFoundError } from '../../domain/errors';
import { FORMAT_NAMES } from '../../domain/mediation';
import { parseForm } from '../../web/forms';
import { idParam } from '../../web/params';
import { actor } from '../../web/principal';
import { flash } from '../../web/render';
import * as repo from './platforms.repository';
import { platformFields } from './platforms.schemas';
import * as service from './platforms.service';

const BASE = '/wholesale/platforms';
const FORMAT_OPTIONS = FORMAT_NAMES.map((f) => ({ value: f, label: f }));

/** Wholesale portal: the switches that send call records, and their machine credentials. */
export function platformRoutes({ db, refs }: { db: Db; refs: ReferenceInvalidator }): Router {
  const r = Router(ROUTER_OPTIONS);
  const common = { base: BASE, formatOptions: FORMAT_OPTIONS };

  r.get(BASE, async (_req, res) => {
    res.page('platforms/list', { title: 'Platforms', ...common, platforms: await repo.listPlatforms(db) });
  });

  r.get(`${BASE}/new`, (_req, res) => {
    res.page('platforms/new', { title: 'New platform', ...common, values: { format: 'generic-json', time_zone: 'UTC', country_code: '1', active: 'on' } });
  });

  r.post(BASE, async (req, res) => {
    const form = parseForm(platformFields, req.body);
    const again = (errors: Record<string, string>) => {
      res.status(422);
      res.page('platforms/new', { title: 'New platform', ...common, errors, values: req.body });
    };
    if (!form.ok) return again(form.errors);
    try {
      const { platform, token } = await service.createPlatform(db, refs, actor(req), form.data);
      res.status(201);
      res.page('platforms/credential', { title: platform.name, platform, token, created: true });
    } catch (err) {
      if (err instanceof FieldErrors) return again(err.fields);
      throw err;
    }
  });

  const load = async (id: number) => {
    const p = await repo.getPlatform(db, id);
    if (!p) throw new NotFoundError();
    return p;
  };

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
        allowed_sources: (p.allowedSources ?? []).join('\n'),
        trunk_carriers: Object.entries(p.trunkCarriers).map(([k, v]) => `${k} = ${v}`).join('\n'),
      },
    });
  });

  r.post(`${BASE}/:platformId`, async (req, res) => {
    const id = idParam(req, 'platformId');
    const platform = await load(id);
    const form = parseForm(platformFields, req.body);
    const again = (errors: Record<string, string>) => {
      res.status(422);
      res.page('platforms/edit', { title: `Edit ${platform.name}`, ...common, platform, errors, values: req.body });
    };
    if (!form.ok) return again(form.errors);
    try {
      await service.updatePlatform(db, refs, actor(req), id, form.data);
    } catch (err) {
      if (err instanceof FieldErrors) return again(err.fields);
      throw err;
    }
    flash(req, 'success', 'Platform saved.');
    res.redirect(303, `${BASE}/${id}`);
  });

  r.post(`${BASE}/:platformId/rotate`, async (req, res) => {
    const { platform, token } = await service.rotateCredential(db, refs, actor(req), idParam(req, 'platformId'));
    res.page('platforms/credential', { title: platform.name, platform, token, created: false });
  });

  return r;
}
