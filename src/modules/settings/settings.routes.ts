import { Router } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import type { Db } from '../../db/knex';
import { submitForm } from '../../web/forms';
import { actor } from '../../web/principal';
import { flash } from '../../web/render';
import { operatorSettingsFields } from './settings.schemas';
import * as service from './settings.service';

const BASE = '/wholesale/settings';

/** Wholesale portal: the operator's own settings (its time zone). */
export function settingsRoutes({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);

  r.get(BASE, async (_req, res) => {
    const settings = await service.operatorSettings(db);
    res.page('wholesale/settings', { title: 'Settings', settings, values: { time_zone: settings.timeZone } });
  });

  r.post(BASE, async (req, res) => {
    await submitForm(
      req, res, operatorSettingsFields,
      async (data) => {
        const saved = await service.updateOperatorSettings(db, actor(req), data);
        flash(req, 'success', `Settings saved: the operator’s time zone is ${saved.timeZone}.`);
        res.redirect(303, BASE);
      },
      async (errors) => res.page('wholesale/settings', { title: 'Settings', settings: await service.operatorSettings(db), errors, values: req.body }),
    );
  });

  return r;
}
