import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import express, { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { LOGIN_REFUSAL_MESSAGES } from '../domain/tenancy/status';
import { errorHandler, notFoundHandler } from './errors';
import { readOnlyGuard } from './guards';
import type { Db } from '../db/knex';
import { mountFormOperations } from './api-form';
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

export function challenge(res: Response, error?: 'invalid_request' | 'invalid_token'): void {
  res.set('WWW-Authenticate', `Bearer realm="api"${error ? `, error="${error}"` : ''}`);
}

/**
 * Who a key acts as, or why it is refused (as the detail of a 401). Shared by the bearer header
 * here and the form post's `api_key` field (web/api-form.ts).
 */
export async function principalOfKey(check: ApiKeyCheck, token: string, req: Request): Promise<{ principal: Principal } | { refused: string }> {
  if (token.length > MAX_TOKEN_LENGTH) return { refused: 'This API key is not valid.' };
  const principal = await check(token, req);
  if (!principal) return { refused: 'This API key is not valid.' };
  // As for a session (enforceAccountStatus): a key of a login that lost access is no key.
  if (principal.refusal) return { refused: LOGIN_REFUSAL_MESSAGES[principal.refusal] };
  return { principal };
}

/** The key of an `Authorization: Bearer <key>` header: undefined when absent, null when not of that form. */
export function bearerToken(req: Request): string | null | undefined {
  const header = req.get('authorization');
  if (!header) return undefined;
  const token = BEARER.exec(header)?.[1];
  return token && token.length <= MAX_TOKEN_LENGTH ? token : null;
}

/** Bearer-key authentication: 401 (with the RFC 6750 challenge) unless the key names a principal. */
export function bearerAuth(check: ApiKeyCheck): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const token = bearerToken(req);
    if (token === undefined) {
      challenge(res);
      return sendProblem(res, problem(req, 401, 'Send an API key: Authorization: Bearer <key>.'));
    }
    if (token === null) {
      challenge(res, 'invalid_request');
      return sendProblem(res, problem(req, 401, 'The Authorization header is not "Bearer <key>".'));
    }
    principalOfKey(check, token, req)
      .then((found) => {
        if ('refused' in found) {
          challenge(res, 'invalid_token');
          return sendProblem(res, problem(req, 401, found.refused));
        }
        req.user = found.principal;
        next();
      })
      .catch(next);
  };
}

/** A per-key count of requests a second: the seconds to wait when past it, else undefined. */
export interface KeyLimiter {
  requestsPerSecond: number;
  wait(p: Principal): Promise<number | undefined>;
}

export function keyLimiter(requestsPerSecond: number): KeyLimiter {
  const limiter = new RateLimiterMemory({ points: requestsPerSecond, duration: 1 });
  return {
    requestsPerSecond,
    wait: (p) =>
      limiter.consume(p.apiKeyId !== undefined ? `key:${p.apiKeyId}` : `login:${p.id}`).then(
        () => undefined,
        (r: unknown) => {
          if (!(r instanceof RateLimiterRes)) throw r;
          return Math.max(1, Math.ceil(r.msBeforeNext / 1000));
        },
      ),
  };
}

/**
 * Requests a second per key: past it, 429 with Retry-After (RFC 6585), so one system polling too
 * hard cannot slow the API for the others. Counted in this process, per key (a person's principal
 * plugged in by a test counts by its login), over JSON and form posts alike.
 */
export function keyThrottle(limit: KeyLimiter | number): RequestHandler {
  const limiter = typeof limit === 'number' ? keyLimiter(limit) : limit;
  return (req: Request, res: Response, next: NextFunction) => {
    limiter
      .wait(req.user as Principal)
      .then((wait) => {
        if (wait === undefined) return next();
        res.set('Retry-After', String(wait));
        sendProblem(res, problem(req, 429, `This key makes more than ${limiter.requestsPerSecond} requests a second: try again in ${wait} s.`));
      })
      .catch(next);
  };
}

/**
 * The API router: its description first (the OpenAPI document and the reference page are public:
 * the same for every installation, no data in them), the form posts (each authenticating itself),
 * then authentication (any other unknown path
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
  const limiter = keyLimiter(requestsPerSecondPerKey);
  if (operations.length) {
    if (!db) throw new Error('apiRouter: operations need the database');
    // The same operations by form post (web/api-form.ts): their own key field and body parser, so
    // in front of the bearer check and the JSON parser.
    mountFormOperations(r, operations, { db, keys, limiter });
  }
  r.use(bearerAuth(keys));
  r.use(keyThrottle(limiter));
  r.use(readOnlyGuard);
  r.use(express.json({ limit: '1mb', type: ['application/json', 'application/*+json'] }));

  // The API's index: which version this is and whom the key acts as.
  r.get('/', (req, res) => {
    const p = req.user as Principal;
    res.json({ api: 'v1', principal: { role: p.role, reseller_id: p.resellerId, subscriber_id: p.subscriberId }, documentation: '/api/v1/docs', openapi: '/api/v1/openapi.json' });
  });
  if (operations.length) mountOperations(r, operations, { db: db as Db });

  r.use(notFoundHandler);
  r.use(errorHandler);
  return r;
}
