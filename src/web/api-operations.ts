import crypto from 'node:crypto';
import type { NextFunction, Request, Response, Router } from 'express';
import { z } from 'zod';
import type { Db, Queryable } from '../db/knex';
import type { Actor } from '../domain/tenancy/actor';
import { portalOf } from '../domain/tenancy/roles';
import { actor, principal, type Principal } from './principal';
import { problem, sendProblem, validationProblem, type Problem } from './problems';

/**
 * The JSON API's operations (issue 14), each declared once with its zod schemas: the same
 * declaration registers the Express route (validation, tenancy, idempotency, preconditions) and
 * writes its part of the OpenAPI document (web/openapi.ts), so the document cannot drift from
 * what the code accepts. Handlers call the portal's services with the caller's actor and scope.
 *
 * Conventions, everywhere:
 * - Bodies and query strings are validated by the schemas; a bad field is a 422 problem naming it.
 * - A path id that is not an id, or names a row of another tenant, is a 404 (never a 403 that would
 *   say the row exists).
 * - POST takes `Idempotency-Key`: the first answer is kept a day, and a retry with the same key and
 *   request gets it again (`Idempotent-Replayed: true`), never a second object; the same key with
 *   another request is a 422. The key is claimed in the transaction that makes the change.
 * - Single objects carry an `ETag`; PATCH takes `If-Match` and answers 412 when the object changed
 *   since it was read, checked with the row locked, so two systems cannot overwrite each other
 *   unawares. GET with `If-None-Match` answers 304.
 * - Times are ISO 8601 with their offset; money is a decimal string; lists page by `cursor`.
 */

export type HttpMethod = 'get' | 'post' | 'patch' | 'put' | 'delete';

/**
 * Who may call an operation: the operator's keys only, a reseller's keys only (what only a
 * reseller's own people do in the portal, as giving its packages to its subscribers), or every key
 * (the services scope a reseller's to its own rows).
 */
export type Audience = 'operator' | 'reseller' | 'all';

export interface ApiContext<P, Q, B> {
  req: Request;
  /** The database, or the transaction of a write (idempotency and If-Match are held in it). */
  db: Db;
  params: P;
  query: Q;
  body: B;
  principal: Principal;
  actor: Actor;
}

export interface ApiAnswer {
  status?: number;
  body?: unknown;
  /** Where a created object lives (Location). */
  location?: string;
}

export interface ApiOperation<P = any, Q = any, B = any> {
  method: HttpMethod;
  /** Under /api/v1, Express style (`/resellers/:resellerId`). */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  audience: Audience;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  success: { status: 200 | 201 | 202 | 204; description: string; schema?: z.ZodType; etag?: boolean };
  /** Error statuses beyond the ones every operation may answer (400, 401, 403, 404, 422, 429). */
  errors?: number[];
  /**
   * Finds the path's object in the caller's scope (throwing NotFoundError otherwise) before the
   * query and body are validated: another tenant's id answers 404 whatever is sent, never a 422 first.
   */
  reach?: (ctx: Omit<ApiContext<P, Q, B>, 'query' | 'body'>) => Promise<unknown>;
  /** For If-Match: the object as GET shows it, read with its row locked (in the write's transaction). */
  current?: (ctx: ApiContext<P, Q, B>) => Promise<unknown>;
  handler: (ctx: ApiContext<P, Q, B>) => Promise<ApiAnswer>;
}

/** Declares an operation with its types inferred from its schemas. */
export function apiOperation<P = undefined, Q = undefined, B = undefined>(op: ApiOperation<P, Q, B>): ApiOperation {
  return op as ApiOperation;
}

/** A problem the API answers as is (a precondition, a conflict of idempotency keys). */
export class ApiProblem extends Error {
  constructor(
    public readonly status: number,
    detail: string,
    public readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

/** A strong validator of a representation: the same JSON, the same tag. */
export function etagOf(representation: unknown): string {
  return etagOfText(JSON.stringify(representation));
}

/** The same, of the JSON text already made for the answer (serialised once). */
function etagOfText(json: string): string {
  return `"${crypto.createHash('sha256').update(json).digest('base64url').slice(0, 27)}"`;
}

/** Whether an If-Match / If-None-Match header names this tag (or is `*`). Weak tags compare by their opaque part. */
function tagListHas(header: string, tag: string): boolean {
  if (header.trim() === '*') return true;
  const bare = (t: string) => t.trim().replace(/^W\//, '');
  return header.split(',').some((t) => bare(t) === bare(tag));
}

/** Zod issues as the fields of a 422 ("a.b" paths, as web/problems.ts points at them). */
export function issueFields(error: z.ZodError, prefix = ''): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) {
    const name = prefix + (issue.path.length ? issue.path.map(String).join('.') : '_form');
    fields[name] ??= issue.message;
  }
  return fields;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const IDEMPOTENCY_TTL = "interval '24 hours'";

/** Who a kept answer belongs to: a retry must come from the same key. */
const callerOf = (p: Principal) => (p.apiKeyId !== undefined ? `key:${p.apiKeyId}` : `login:${p.id}`);

interface KeptAnswer {
  status: number;
  headers: Record<string, string>;
  body: string | null;
}

/**
 * Claims an idempotency key in the write's transaction: the new claim's id, or the kept answer of
 * the first request with that key (a concurrent first request is waited for on the unique key).
 */
async function claimIdempotencyKey(tx: Queryable, p: Principal, key: string, hash: string): Promise<{ claimed: number } | { kept: KeptAnswer }> {
  const caller = callerOf(p);
  // An answer kept past its day is forgotten: the key may be used afresh.
  await tx.raw(`DELETE FROM api_idempotency WHERE caller = ? AND idempotency_key = ? AND created_at < now() - ${IDEMPOTENCY_TTL}`, [caller, key]);
  const { rows } = await tx.raw(
    `INSERT INTO api_idempotency (reseller_id, caller, idempotency_key, request_hash) VALUES (?, ?, ?, ?)
     ON CONFLICT (caller, idempotency_key) DO NOTHING RETURNING id`,
    [p.resellerId, caller, key, hash],
  );
  if (rows[0]) return { claimed: Number(rows[0].id) };
  const { rows: kept } = await tx.raw('SELECT request_hash, status, headers, body FROM api_idempotency WHERE caller = ? AND idempotency_key = ?', [caller, key]);
  const row = kept[0];
  if (!row || row.status === null) throw new ApiProblem(409, 'A request with this Idempotency-Key is still being processed: try again shortly.', { 'Retry-After': '1' });
  if (row.request_hash !== hash) throw new ApiProblem(422, 'This Idempotency-Key was used for another request: use a new key for a new request.');
  return { kept: { status: Number(row.status), headers: row.headers ?? {}, body: row.body } };
}

/**
 * What a retry must repeat to get the kept answer: the operation and its input as validated, so
 * that the same request sent as JSON or as a form post (web/api-form.ts) is the same request.
 */
function requestHash(op: ApiOperation, params: unknown, query: unknown, body: unknown): string {
  return crypto.createHash('sha256').update(`${op.operationId}\n${stableJson(params)}\n${stableJson(query)}\n${stableJson(body)}`).digest('hex');
}

/** JSON with object members in name order (a body's member order is no part of its meaning). */
function stableJson(v: unknown): string {
  return JSON.stringify(v ?? null, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) && Object.getPrototypeOf(x) === Object.prototype
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

/** One call of an operation, however it came: a JSON request, or a form post (web/api-form.ts). */
export interface OperationCall {
  /** The path parameters as text, as the URL (or the form's fields) gave them. */
  params: Record<string, unknown>;
  query: unknown;
  body: unknown;
  /** Set when the body came in a type the operation does not read (checked where a body is validated). */
  bodyRefused?: ApiProblem;
  /** Fields refused before the schemas could see them (a form post's unknown or missing fields). */
  refusedFields?: Record<string, string>;
  idempotencyKey?: string;
  ifMatch?: string;
  ifNoneMatch?: string;
}

/** What an operation answered, before it is written out as JSON or as a form post's answer. */
export type OperationOutcome =
  | { kind: 'answer'; status: number; headers: Record<string, string>; /** JSON text, or null for no body. */ body: string | null; replayed: boolean }
  | { kind: 'not-modified'; headers: Record<string, string> }
  | { kind: 'problem'; problem: Problem; headers: Record<string, string> };

/** Registers each operation on the API router (after authentication and the read-only guard). */
export function mountOperations(router: Router, ops: ApiOperation[], { db }: { db: Db }): void {
  for (const op of ops) {
    router[op.method](op.path, (req: Request, res: Response, next: NextFunction) => {
      run(op, req, res, db).catch(next);
    });
  }
}

async function run(op: ApiOperation, req: Request, res: Response, db: Db): Promise<void> {
  const sent = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  const outcome = await executeOperation(op, req, db, {
    params: req.params,
    query: req.query,
    body: req.body ?? {},
    bodyRefused: sent && !req.is(['application/json', 'application/*+json']) ? new ApiProblem(415, 'Send the body as application/json.') : undefined,
    idempotencyKey: op.method === 'post' ? req.get('idempotency-key') : undefined,
    ifMatch: req.get('if-match'),
    ifNoneMatch: req.get('if-none-match'),
  });
  res.set(outcome.headers);
  if (outcome.kind === 'problem') return sendProblem(res, outcome.problem);
  if (outcome.kind === 'not-modified') return void res.status(304).end();
  if (outcome.replayed) res.set('Idempotent-Replayed', 'true');
  res.status(outcome.status);
  if (outcome.body === null) return void res.end();
  res.type('application/json').send(outcome.body);
}

/**
 * Runs one call of an operation: the audience, the schemas, the Idempotency-Key claim and the
 * If-Match check in the write's transaction, the handler. Every way in (JSON, form post) comes
 * through here, so each keeps the same rules. The services' own errors (not found, field errors,
 * conflicts) are thrown, for the caller to answer.
 */
export async function executeOperation(op: ApiOperation, req: Request, db: Db, call: OperationCall): Promise<OperationOutcome> {
  try {
    return await execute(op, req, db, call);
  } catch (err) {
    if (err instanceof ApiProblem) return { kind: 'problem', problem: problem(req, err.status, err.message), headers: err.headers };
    throw err;
  }
}

async function execute(op: ApiOperation, req: Request, db: Db, call: OperationCall): Promise<OperationOutcome> {
  const p = principal(req);
  const refused = (pr: Problem): OperationOutcome => ({ kind: 'problem', problem: pr, headers: {} });
  if (op.audience === 'operator' && portalOf(p.role) !== 'wholesale') throw new ApiProblem(403, 'Only the operator’s API keys may do this.');
  if (op.audience === 'reseller' && portalOf(p.role) !== 'reseller') throw new ApiProblem(403, 'Only a reseller’s API keys may do this (its own people do it in the portal).');
  // Fields the way in could not read at all (a form's missing path field, an unknown member): named first.
  if (call.refusedFields && Object.keys(call.refusedFields).length) return refused(validationProblem(req, call.refusedFields));
  const params = op.params ? op.params.safeParse(call.params) : { success: true as const, data: undefined };
  // A path that names no row this caller may reach is not found, whatever the reason.
  if (!params.success) return refused(problem(req, 404, 'Not found.'));
  if (op.reach) await op.reach({ req, db, params: params.data, principal: p, actor: actor(req) });
  const query = op.query ? op.query.safeParse(call.query) : { success: true as const, data: undefined };
  if (!query.success) return refused(validationProblem(req, issueFields(query.error)));
  let body: unknown;
  if (op.body) {
    if (call.bodyRefused) throw call.bodyRefused;
    const parsed = op.body.safeParse(call.body ?? {});
    if (!parsed.success) return refused(validationProblem(req, issueFields(parsed.error)));
    body = parsed.data;
  }
  const ctx: ApiContext<unknown, unknown, unknown> = { req, db, params: params.data, query: query.data, body, principal: p, actor: actor(req) };

  if (op.method === 'get') {
    const answer = await op.handler(ctx);
    const headers: Record<string, string> = {};
    if (answer.location) headers.Location = answer.location;
    const text = answer.body === undefined ? null : JSON.stringify(answer.body);
    if (op.success.etag && text !== null) {
      const tag = etagOfText(text);
      headers.ETag = tag;
      if (call.ifNoneMatch && tagListHas(call.ifNoneMatch, tag)) return { kind: 'not-modified', headers };
    }
    return { kind: 'answer', status: answer.status ?? op.success.status, headers, body: text, replayed: false };
  }

  const idempotencyKey = op.method === 'post' ? call.idempotencyKey : undefined;
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
    return refused(validationProblem(req, { 'Idempotency-Key': 'Idempotency-Key must be 1 to 255 visible ASCII characters' }));
  }
  const ifMatch = call.ifMatch;
  const outcome = await db.transaction(async (tx) => {
    const inTx = { ...ctx, db: tx as unknown as Db };
    let claim: number | undefined;
    if (idempotencyKey !== undefined) {
      const c = await claimIdempotencyKey(tx, p, idempotencyKey, requestHash(op, params.data, query.data, body));
      if ('kept' in c) return { kept: c.kept };
      claim = c.claimed;
    }
    if (ifMatch !== undefined && op.current) {
      const now = await op.current(inTx);
      if (!tagListHas(ifMatch, etagOf(now))) throw new ApiProblem(412, 'The object changed since you read it (If-Match does not match its ETag): read it again and repeat the change.');
    }
    const answer = await op.handler(inTx);
    const status = answer.status ?? op.success.status;
    const headers: Record<string, string> = {};
    if (answer.location) headers.Location = answer.location;
    const text = answer.body === undefined ? null : JSON.stringify(answer.body);
    if (op.success.etag && text !== null) headers.ETag = etagOfText(text);
    if (claim !== undefined) await tx.raw('UPDATE api_idempotency SET status = ?, headers = ?::jsonb, body = ? WHERE id = ?', [status, JSON.stringify(headers), text, claim]);
    return { kept: { status, headers, body: text }, fresh: true };
  });
  const k = outcome.kept;
  return { kind: 'answer', status: k.status, headers: k.headers, body: k.body, replayed: !('fresh' in outcome) };
}

// ---- Shared pieces of the operations' schemas ----

/** A path id: a positive integer (anything else names no row: 404). */
export const idParam = z.string().regex(/^[1-9]\d{0,15}$/).transform(Number);

/** Paging: `limit` (1-500, default 50) and the `cursor` a previous page gave. */
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(500).default(50).meta({ description: 'Objects per page (1-500).' }),
  cursor: z.string().max(1000).optional().meta({ description: 'The next_cursor of the previous page; absent for the first page.' }),
};

/** A page of objects: `next_cursor` is null on the last page; `count` is how many match in all. */
export function pageOf<T extends z.ZodType>(item: T, id: string) {
  return z
    .object({
      data: z.array(item),
      count: z.number().int().min(0).meta({ description: 'Objects that match, on every page.' }),
      next_cursor: z.string().nullable().meta({ description: 'Pass as cursor for the next page; null on the last.' }),
    })
    .meta({ id });
}

/** An ISO 8601 time with its offset, as every time in the API. */
export const isoTime = z.iso.datetime({ offset: true });
export const iso = (d: Date | string | null | undefined): string | null => (d === null || d === undefined ? null : new Date(d).toISOString());

/**
 * An instant as the portal's services read a typed time: a wall time in the zone they are given,
 * here UTC ("2026-12-07 09:30:00.000"), so that an API time with any offset means the same instant.
 */
export const UTC = 'UTC';
export const utcWallText = (at: string | Date): string => new Date(at).toISOString().slice(0, 23).replace('T', ' ');
