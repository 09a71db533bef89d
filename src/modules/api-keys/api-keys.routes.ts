import { Router, type Request, type Response } from 'express';
import type { Db } from '../../db/knex';
import { FieldErrors } from '../../domain/errors';
import { OPERATOR, type Owner } from '../../domain/tenancy/owner';
import { askConfirmation, isConfirmed } from '../../web/confirm';
import { idParam } from '../../web/params';
import { actor, resellerIdOf, scope } from '../../web/principal';
import { flash } from '../../web/render';
import { ROUTER_OPTIONS } from '../../web/router';
import { getOrThrow as getReseller } from '../resellers/resellers.service';
import * as service from './api-keys.service';

/**
 * API keys in the portals (issue 14): the operator's at /wholesale/api-keys, a reseller's at
 * /reseller/api-keys, and the operator's staff see and may revoke (or issue) a reseller's at
 * /wholesale/resellers/:resellerId/api-keys. A key is shown once, on the page its creation answers;
 * support roles see the list and change nothing (the read-only guard refuses their posts).
 */
export function apiKeyRoutes({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);

  const places = [
    { base: '/wholesale/api-keys', keyParam: 'apiKeyId', owner: async (_req: Request) => ({ owner: OPERATOR as Owner, party: 'the operator', path: '/wholesale/api-keys', reseller: null }) },
    {
      base: '/wholesale/resellers/:resellerId/api-keys',
      // Its own name: a reseller's key, beside its reseller's id (the route matrix fills it so).
      keyParam: 'resellerApiKeyId',
      owner: async (req: Request) => {
        const reseller = await getReseller(db, scope(req), idParam(req, 'resellerId'));
        return { owner: { kind: 'reseller', resellerId: reseller.id } as Owner, party: reseller.name, path: `/wholesale/resellers/${reseller.id}/api-keys`, reseller };
      },
    },
    {
      base: '/reseller/api-keys',
      keyParam: 'apiKeyId',
      owner: async (req: Request) => ({ owner: { kind: 'reseller', resellerId: resellerIdOf(req) } as Owner, party: req.user?.resellerName ?? 'your company', path: '/reseller/api-keys', reseller: null }),
    },
  ];

  for (const place of places) {
    async function page(req: Request, res: Response, extra: { newKey?: { token: string; key: service.ApiKey }; errors?: Record<string, string>; values?: Record<string, unknown> } = {}) {
      const o = await place.owner(req);
      const keys = await service.listKeys(db, o.owner);
      const live = keys.filter((k) => !k.revokedAt).length;
      res.page('api-keys/list', {
        title: o.reseller ? `${o.reseller.name}: API keys` : 'API keys', ...o, keys, live, newKey: extra.newKey ?? null,
        errors: extra.errors ?? {}, values: extra.values ?? { access: 'read' }, origin: `${req.protocol}://${req.get('host') ?? 'localhost'}`,
      });
    }

    r.get(place.base, (req, res) => page(req, res));

    // The key is in this answer only: a page, not a redirect (it is never stored but as its hash).
    r.post(place.base, async (req, res) => {
      const o = await place.owner(req);
      try {
        const made = await service.createKey(db, actor(req), o.owner, { name: String(req.body?.name ?? ''), access: String(req.body?.access ?? '') });
        res.status(201).set('Cache-Control', 'no-store');
        await page(req, res, { newKey: made });
      } catch (err) {
        if (!(err instanceof FieldErrors)) throw err;
        res.status(422);
        await page(req, res, { errors: err.fields, values: req.body });
      }
    });

    r.post(`${place.base}/:${place.keyParam}/revoke`, async (req, res) => {
      const o = await place.owner(req);
      const id = idParam(req, place.keyParam);
      const key = (await service.listKeys(db, o.owner)).find((k) => k.id === id);
      if (key && !key.revokedAt && !isConfirmed(req)) {
        return askConfirmation(req, res, {
          title: `Revoke the API key “${key.name}”?`,
          consequences: [
            `Every request with this key (…${key.hint}) is refused from now on, with 401.`,
            'A revoked key cannot be brought back: the system that used it needs a new key.',
          ],
          confirmLabel: `Revoke “${key.name}”`,
          cancelHref: o.path,
        });
      }
      const revoked = await service.revokeKey(db, actor(req), o.owner, id);
      flash(req, revoked ? 'success' : 'error', revoked ? `The key “${key?.name ?? id}” is revoked.` : 'That key was revoked already.');
      res.redirect(303, o.path);
    });
  }
  return r;
}
