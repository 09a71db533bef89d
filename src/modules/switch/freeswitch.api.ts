import express, { Router, type Request, type Response } from 'express';
import type { Db } from '../../db/knex';
import { directoryDocument, NOT_FOUND_DOCUMENT, readDirectoryQuery } from '../../domain/switch/freeswitch-directory';
import { API_MOUNT } from '../../web/api';
import { errorHandler, notFoundHandler } from '../../web/errors';
import { problem, sendProblem } from '../../web/problems';
import { ROUTER_OPTIONS } from '../../web/router';
import { credentialMatches, platformIdOf, sourceAllowed } from '../platforms/credentials';
import type { RatingCaches } from '../reference-data/reference-data';
import { directoryUser } from './switch.service';

/** Where FreeSWITCH's mod_xml_curl asks for its directory: in front of the general API router, with a platform's credential. */
export const FREESWITCH_API = `${API_MOUNT}/freeswitch`;

const BEARER = /^Bearer +(\S+)$/i;
const BASIC = /^Basic +([A-Za-z0-9+/]+=*)$/i;

/**
 * The platform credential of a request: `Authorization: Bearer plt_…`, or HTTP basic auth with the
 * credential as the password (the user name is not read), which is what mod_xml_curl sends with
 * `gateway-credentials` ("freeswitch:plt_…") and `auth-scheme` basic.
 */
export function credentialOf(req: Request): string | undefined {
  const header = req.get('authorization') ?? '';
  const bearer = BEARER.exec(header)?.[1];
  if (bearer) return bearer;
  const basic = BASIC.exec(header)?.[1];
  if (!basic) return undefined;
  const decoded = Buffer.from(basic, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : undefined;
}

function challenge(res: Response): void {
  res.set('WWW-Authenticate', 'Basic realm="freeswitch", charset="UTF-8"');
}

/**
 * `POST /api/v1/freeswitch/directory`: FreeSWITCH's directory lookups (mod_xml_curl, binding
 * "directory"), form-encoded as it posts them. Authenticated by an active platform's credential
 * from an allowed address. Answers the user's directory XML (a1-hash and channel variables, see
 * switch.service directoryUser), or the "not found" result for an unknown, released, credential-
 * less, deactivated or suspended user and for requests that are not a user lookup (gateways,
 * domain lists), after which FreeSWITCH refuses the registration or call. Read live, with no
 * cache: a change in the portal holds from the switch's next request.
 */
export function freeswitchApi({ db, caches }: { db: Db; caches: RatingCaches }): Router {
  const r = Router(ROUTER_OPTIONS);
  // Its own parser: the API is mounted before the portal's body parsers (app.ts).
  r.use(express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 1000 }));

  r.post('/directory', async (req: Request, res: Response) => {
    const token = credentialOf(req);
    if (!token) {
      challenge(res);
      return sendProblem(res, problem(req, 401, 'Send a platform credential: HTTP basic auth with it as the password (mod_xml_curl gateway-credentials), or Authorization: Bearer plt_…'));
    }
    const platformId = platformIdOf(token);
    // From memory: platforms are cached per process and dropped on every change (reference-data).
    const platform = platformId ? (await caches.refs.platforms.get(db)).get(platformId) : undefined;
    if (!platform || !credentialMatches(token, platform.credentialHash)) {
      challenge(res);
      return sendProblem(res, problem(req, 401, 'This platform credential is not valid.'));
    }
    if (!platform.active) return sendProblem(res, problem(req, 403, `Platform ${platform.name} is not active.`));
    if (!sourceAllowed(platform.allowedSources, req.ip)) return sendProblem(res, problem(req, 403, `Address ${req.ip} is not allowed for platform ${platform.name}.`));

    const q = readDirectoryQuery((req.body ?? {}) as Record<string, unknown>);
    const user = q.section === 'directory' && q.user && q.domain ? await directoryUser(db, q.user, q.domain) : undefined;
    res.status(200).type('text/xml; charset=utf-8').set('Cache-Control', 'no-store');
    res.send(user ? directoryDocument(user) : NOT_FOUND_DOCUMENT);
  });

  r.use(notFoundHandler);
  r.use(errorHandler);
  return r;
}
