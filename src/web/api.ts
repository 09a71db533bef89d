import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import express, { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { LOGIN_REFUSAL_MESSAGES } from '../domain/tenancy/status';
import { errorHandler, notFoundHandler } from './errors';
import { readOnlyGuard } from './guards';
import type { Db } from '../db/knex';
import { mountOperations, type ApiOperation } from './api-operations';
import { apiDocsRouter } from './api-docs';
import type { Principal } from './principal';
import { problem, sendProblem } from './problems';
import { ROUTER_OPTIONS } from './router';

/**
 * The machine API, mounted at /api/v1 in front of the portal's middleware (see app.ts), like the
 * CDR intake: no session, no CSRF token, no redirect to a login page, no HTML. A caller is a bearer
 * key; every answer that is not a success is problem details (web/problems.ts).
 */
export const API_MOUNT = '/api/v1';

/**
 * Who a bearer key acts as, or undefined when it is no key of ours. The API works with the same
 * principal as the portal (scope, actor, read-only roles), so the services it calls are the
 * portal's. Pluggable: the product's is modules/api-keys (apiKeyCheck); tests may plug their own.
 */
export type ApiKeyCheck = (token: string, req: Request) => Promise<Principal | undefined>;

/** No key is accepted (never a built-in or test key). */
export const noApiKeys: ApiKeyCheck = async () => undefined;

// RFC 6750 2.1: "Bearer" (any case), one space, a b64token.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
const MAX_TOKEN_LENGTH = 512;

function challenge(res: Response, error?: 'invalid_request' | 'invalid_token'): void {
  res.set('WWW-Authenticate', `Bearer realm="api"${error ? `, error="${error}"` : ''}`);
}

/** Bearer-key authentication: 401 (with the RFC 6750 challenge) unless the key names a principal. */
export function bearerAuth(check: ApiKeyCheck): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    if (!header) {
      challenge(res);
      return sendProblem(res, problem(req, 401, 'Send an API key: Authorization: Bearer <key>.'));
    }
    const token = BEARER.exec(header)?.[1];
    if (!token || token.length > MAX_TOKEN_LENGTH) {
      challenge(res, 'invalid_request');
      return sendProblem(res, problem(req, 401, 'The Authorization header is not "Bearer <key>".'));
    }
    check(token, req)
      .then((principal) => {
        if (!principal) {
          challenge(res, 'invalid_token');
          return sendProblem(res, problem(req, 401, 'This API key is not valid.'));
        }
        // As for a session (enforceAccountStatus): a key of a login that lost access is no key.
        if (principal.refusal) {
          challenge(res, 'invalid_token');
          return sendProblem(res, problem(req, 401, LOGIN_REFUSAL_MESSAGES[principal.refusal]));
        }
        req.user = principal;
        next();
      })
      .catch(next);
  };
}

/**
 * Requests a second per key: past it, 429 with Retry-After (RFC 6585), so one system polling too
 * hard cannot slow the API for the others. Counted in this process, per key (a person's principal
 * plugged in by a test counts by its login).
 */
export function keyThrottle(requestsPerSecond: number): RequestHandler {
  const limiter = new RateLimiterMemory({ points: requestsPerSecond, duration: 1 });
  return (req: Request, res: Response, next: NextFunction) => {
    const p = req.user as Principal;
    limiter
      .consume(p.apiKeyId !== undefined ? `key:${p.apiKeyId}` : `login:${p.id}`)
      .then(() => next())
      .catch((r: unknown) => {
        if (!(r instanceof RateLimiterRes)) return next(r);
        const wait = Math.max(1, Math.ceil(r.msBeforeNext / 1000));
        res.set('Retry-After', String(wait));
        sendProblem(res, problem(req, 429, `This key makes more than ${requestsPerSecond} requests a second: try again in ${wait} s.`));
      });
  };
}

/**
 * The API router: its description first (the OpenAPI document and the reference page are public:
 * the same for every installation, no data in them), then authentication (any other unknown path
 * answers 401 to a caller without a key, so nothing else is shown to strangers), the key's
 * throttle, the read-only guard of support roles, JSON bodies, the operations, then a 404 and the
 * error handler, both problem details.
 */
export function apiRouter({ keys, requestsPerSecondPerKey = 100, operations = [], db, document }: {
  keys: ApiKeyCheck;
  requestsPerSecondPerKey?: number;
  operations?: ApiOperation[];
  db?: Db;
  /** The OpenAPI document (web/openapi.ts), made once at start. */
  document?: unknown;
}): Router {
  const r = Router(ROUTER_OPTIONS);
  if (document !== undefined) r.use(apiDocsRouter(document));
  r.use(bearerAuth(keys));
  r.use(keyThrottle(requestsPerSecondPerKey));
  r.use(readOnlyGuard);
  r.use(express.json({ limit: '1mb', type: ['application/json', 'application/*+json'] }));

  // The API's index: which version this is and whom the key acts as.
  r.get('/', (req, res) => {
    const p = req.user as Principal;
    res.json({ api: 'v1', principal: { role: p.role, reseller_id: p.resellerId, subscriber_id: p.subscriberId }, documentation: '/api/v1/docs', openapi: '/api/v1/openapi.json' });
  });
  if (operations.length) {
    if (!db) throw new Error('apiRouter: operations need the database');
    mountOperations(r, operations, { db });
  }

  r.use(notFoundHandler);
  r.use(errorHandler);
  return r;
}
