import { Router, type Request, type Response } from 'express';
import type { Db } from '../../db/knex';
import { FieldErrors } from '../../domain/errors';
import { eventsFor, WEBHOOK_EVENTS } from '../../domain/webhooks/standard-webhooks';
import { askConfirmation, isConfirmed } from '../../web/confirm';
import type { OutboundPolicy } from '../../web/outbound';
import { idParam } from '../../web/params';
import { actor, resellerIdOf } from '../../web/principal';
import { flash } from '../../web/render';
import { ROUTER_OPTIONS } from '../../web/router';
import type { SecretBox } from '../auth/secret-box';
import * as service from './webhooks.service';

/** The form's fields as posted: `events` repeated once per box ticked, `all_events` for "all". */
function inputOf(body: Record<string, unknown> | undefined): service.EndpointInput & { active: boolean } {
  const b = body ?? {};
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  const events = Array.isArray(b.events) ? b.events.filter((x): x is string => typeof x === 'string') : typeof b.events === 'string' ? [b.events] : [];
  // "All" and some ticked is a contradiction the person must resolve (the service refuses it).
  const all = b.all_events === 'on';
  return { url: text(b.url), description: text(b.description), events: all && !events.length ? 'all' : events, allToo: all && events.length > 0, active: b.active === 'on' };
}

/** The form's values from an endpoint (or from what was posted, on an error). */
function valuesOf(e: { url: string; description: string; eventTypes: string[] | null; active: boolean }) {
  return { url: e.url, description: e.description, all_events: e.eventTypes === null, events: e.eventTypes ?? [], active: e.active };
}

/**
 * Webhook endpoints in both portals: the operator's (`/wholesale/webhooks`: every reseller's events
 * and the operator's own) and a reseller's (`/reseller/webhooks`: its own). Admins register, change,
 * disable, rotate the secret of an endpoint and send a delivery again; support roles see the
 * endpoints and their deliveries only (the read-only guard refuses their posts and forms).
 */
export function webhookRoutes({ db, box, outbound }: { db: Db; box: SecretBox; outbound: OutboundPolicy }): Router {
  const r = Router(ROUTER_OPTIONS);

  for (const portal of ['wholesale', 'reseller'] as const) {
    const base = `/${portal}/webhooks`;
    const owner = (req: Request): service.Owner => (portal === 'wholesale' ? null : resellerIdOf(req));
    const catalogue = eventsFor(portal === 'wholesale' ? 'operator' : 'reseller');
    const common = { base, portal, catalogue };

    async function showEndpoint(req: Request, res: Response, id: number, newSecret: string | null = null) {
      const endpoint = await service.endpointOrThrow(db, owner(req), id);
      const deliveries = await service.deliveriesOf(db, endpoint.id);
      // Until when the secret before the latest rotation still signs (null: it does not).
      const overlapUntil = service.inOverlap(endpoint) ? endpoint.previousSecretUntil : null;
      res.page('webhooks/show', { title: endpoint.description || endpoint.url, ...common, endpoint, deliveries, newSecret, overlapUntil, overlapHours: service.SECRET_OVERLAP_MS / 3_600_000 });
    }

    r.get(base, async (req, res) => {
      const o = owner(req);
      const [endpoints, counts] = await Promise.all([service.listEndpoints(db, o), service.deliveryCounts(db, o)]);
      res.page('webhooks/list', { title: 'Webhooks', ...common, endpoints, counts, events: WEBHOOK_EVENTS });
    });

    r.get(`${base}/new`, (_req, res) => {
      res.page('webhooks/new', { title: 'New webhook endpoint', ...common, values: { url: '', description: '', all_events: false, events: [], active: true }, errors: {} });
    });

    r.post(base, async (req, res) => {
      const input = inputOf(req.body);
      try {
        const made = await service.createEndpoint(db, box, actor(req), owner(req), input, outbound);
        res.status(201);
        await showEndpoint(req, res, made.id, made.secret);
      } catch (err) {
        if (!(err instanceof FieldErrors)) throw err;
        res.status(422);
        res.page('webhooks/new', { title: 'New webhook endpoint', ...common, values: { ...input, all_events: input.events === 'all' || input.allToo === true, events: input.events === 'all' ? [] : input.events, active: true }, errors: err.fields });
      }
    });

    r.get(`${base}/:webhookEndpointId`, async (req, res) => {
      await showEndpoint(req, res, idParam(req, 'webhookEndpointId'));
    });

    r.get(`${base}/:webhookEndpointId/edit`, async (req, res) => {
      const endpoint = await service.endpointOrThrow(db, owner(req), idParam(req, 'webhookEndpointId'));
      res.page('webhooks/edit', { title: `Edit ${endpoint.description || endpoint.url}`, ...common, endpoint, values: valuesOf(endpoint), errors: {} });
    });

    r.post(`${base}/:webhookEndpointId`, async (req, res) => {
      const endpoint = await service.endpointOrThrow(db, owner(req), idParam(req, 'webhookEndpointId'));
      const input = inputOf(req.body);
      try {
        await service.updateEndpoint(db, actor(req), owner(req), endpoint.id, input, outbound);
      } catch (err) {
        if (!(err instanceof FieldErrors)) throw err;
        res.status(422);
        return res.page('webhooks/edit', {
          title: `Edit ${endpoint.description || endpoint.url}`, ...common, endpoint,
          values: { ...input, all_events: input.events === 'all' || input.allToo === true, events: input.events === 'all' ? [] : input.events }, errors: err.fields,
        });
      }
      flash(req, 'success', input.active ? 'Endpoint saved.' : 'Endpoint saved; it is disabled: nothing is sent to it.');
      res.redirect(303, `${base}/${endpoint.id}`);
    });

    r.post(`${base}/:webhookEndpointId/rotate`, async (req, res) => {
      const endpoint = await service.endpointOrThrow(db, owner(req), idParam(req, 'webhookEndpointId'));
      if (!isConfirmed(req)) {
        return askConfirmation(req, res, {
          title: `A new secret for ${endpoint.url}?`,
          consequences: [
            `For ${service.SECRET_OVERLAP_MS / 3_600_000} hours every message (retries of earlier ones included) is signed with both the new secret and the current one, so the receiver keeps verifying while it is given the new one; then with the new one only. You can end the overlap sooner on the endpoint's page.`,
            ...(service.inOverlap(endpoint) ? ['The secret before the current one, which still signs until the current overlap ends, stops signing now.'] : []),
            'The new secret is shown once, on the next page.',
          ],
          confirmLabel: 'Make a new secret',
          cancelHref: `${base}/${endpoint.id}`,
        });
      }
      const secret = await service.rotateSecret(db, box, actor(req), owner(req), endpoint.id);
      await showEndpoint(req, res, endpoint.id, secret);
    });

    r.post(`${base}/:webhookEndpointId/end-overlap`, async (req, res) => {
      const endpoint = await service.endpointOrThrow(db, owner(req), idParam(req, 'webhookEndpointId'));
      if (service.inOverlap(endpoint) && !isConfirmed(req)) {
        return askConfirmation(req, res, {
          title: `Stop signing with the previous secret of ${endpoint.url}?`,
          consequences: [
            'From now on messages are signed with the new secret only: a receiver still verifying with the previous one refuses them (and they are tried again, for a day).',
            'This cannot be undone: the previous secret is forgotten.',
          ],
          confirmLabel: 'Sign with the new secret only',
          cancelHref: `${base}/${endpoint.id}`,
        });
      }
      const ended = await service.endOverlap(db, actor(req), owner(req), endpoint.id);
      flash(req, 'success', ended ? 'Only the new secret signs from now on.' : 'The previous secret no longer signed: nothing changed.');
      res.redirect(303, `${base}/${endpoint.id}`);
    });

    r.post(`${base}/:webhookEndpointId/deliveries/:webhookDeliveryId/send-again`, async (req, res) => {
      const endpointId = idParam(req, 'webhookEndpointId');
      await service.sendAgain(db, actor(req), owner(req), endpointId, idParam(req, 'webhookDeliveryId'));
      flash(req, 'success', 'The message will be sent again within a minute (the same webhook-id).');
      res.redirect(303, `${base}/${endpointId}`);
    });
  }
  return r;
}
