import { STATUS_CODES } from 'node:http';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Db } from '../db/knex';
import { BadRequestError, ConflictError, FieldErrors, ForbiddenError, NotFoundError } from '../domain/errors';
import { isReadOnly } from '../domain/tenancy/roles';
import { challenge, bearerToken, principalOfKey, type ApiKeyCheck, type KeyLimiter } from './api';
import { executeOperation, type ApiOperation, type OperationCall, type OperationOutcome } from './api-operations';
import { problem, validationProblem, type Problem } from './problems';

/**
 * The API's operations by HTTPS form post (issue 14), for provisioning systems that can post
 * `application/x-www-form-urlencoded` and read a line of text but not build JSON or set headers.
 * Every operation of the JSON API is also at `POST /api/v1/form/<operationId>`, generated here
 * from its declaration, and runs through the same executeOperation: the same schemas, audit,
 * tenancy, idempotency and If-Match. Only the wrapping differs:
 *
 * - Fields are flat: path parameters by their snake_case name (`reseller_id`), query and body
 *   members by name, nested members with dots (`address.city`, `items.0.name`; PHP's
 *   `address[city]` is read the same), a list as the field repeated. Text becomes the JSON type
 *   the operation's schema asks for, read from its JSON Schema: `true/false/1/0/on/off/yes/no` a
 *   boolean, digits a number; a blank is null where null is allowed, false for a boolean, and
 *   absent otherwise (a text field keeps its blank, which its rule reads as "none").
 * - The key: `Authorization: Bearer <key>`, or the `api_key` field. Never in the URL, where it
 *   would be written to logs: a key in the query string is refused.
 * - `idempotency_key` (or the Idempotency-Key header) on the POST operations; `if_match` (or the
 *   header) on the ones that take If-Match; `format=json` (or `Accept: application/json`) for a
 *   JSON answer.
 * - The answer, with the operation's HTTP status (200 for its 204): by default one line of text in
 *   the form encoding, `result=0&message=OK&id=12&name=...` (the object's members flattened as
 *   the fields are), or JSON `{ "result": 0, "message": "OK", "data": {...} }`. `result` is one of
 *   FORM_RESULTS, stable whatever the message says; a bad field is named by `field` and its
 *   message by `error.<field>`.
 */

export const FORM_PATH = '/form';
export const formPathOf = (op: ApiOperation): string => `${FORM_PATH}/${op.operationId}`;

/** The result codes of a form post's answer, one per kind of outcome; never renumbered. */
export const FORM_RESULTS = [
  { result: 0, statuses: '200, 201, 202', meaning: 'Done.' },
  { result: 10, statuses: '422', meaning: 'A field is missing or not valid: `field` names each, `error.<field>` says why.' },
  { result: 11, statuses: '400, 405, 413, 415, 422', meaning: 'The request as a whole cannot be done as sent (unreadable body, an Idempotency-Key used for another request, a key in the URL).' },
  { result: 20, statuses: '401', meaning: 'No API key, or not a valid one (revoked, or its reseller deactivated).' },
  { result: 21, statuses: '403', meaning: 'The key may not do this (a read-only key writing, a reseller’s key on an operator operation).' },
  { result: 30, statuses: '404', meaning: 'No such object or operation, or one of another tenant.' },
  { result: 40, statuses: '409', meaning: 'A conflict with the object’s state (e.g. deactivating what is inactive), or the same idempotency key still being processed.' },
  { result: 41, statuses: '412', meaning: '`if_match` does not match: the object changed since it was read.' },
  { result: 50, statuses: '429', meaning: 'Too many requests with this key: wait `Retry-After` seconds.' },
  { result: 90, statuses: '500, 503', meaning: 'A failure on our side: nothing was changed; try again later.' },
] as const;

export function resultOf(status: number, fields?: Record<string, string>): number {
  if (status < 300) return 0;
  if (status === 422 && fields && Object.keys(fields).length) return 10;
  const byStatus: Record<number, number> = { 401: 20, 403: 21, 404: 30, 409: 40, 412: 41, 429: 50 };
  return byStatus[status] ?? (status >= 500 ? 90 : 11);
}

/** Fields of the form itself, never of an operation: no answer's object may use these names either. */
export const FORM_FIELDS = ['api_key', 'idempotency_key', 'if_match', 'format'] as const;
/** The names an answer puts before the object's members. */
export const ANSWER_FIELDS = ['result', 'message', 'etag', 'field', 'error'] as const;

// ---- Reading an operation's schemas ----

type JsonSchema = { [k: string]: any };

/** An input schema as JSON Schema (its $defs resolved by `deref`); anything it cannot show is "any". */
function inputSchema(schema: z.ZodType | undefined): JsonSchema | undefined {
  if (!schema) return undefined;
  try {
    return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  } catch {
    // A schema JSON Schema cannot show at all: its fields go in as text, for its own rules to judge.
    return {};
  }
}

interface Plan {
  op: ApiOperation;
  /** The path parameters and the form field each is given in. */
  path: Array<{ param: string; field: string }>;
  query: Set<string>;
  body?: JsonSchema;
}

const snake = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

function planOf(op: ApiOperation): Plan {
  const body = op.body ? inputSchema(op.body) : undefined;
  const query = new Set(Object.keys(inputSchema(op.query)?.properties ?? {}));
  const taken = new Set<string>([...query, ...Object.keys(body?.properties ?? {}), ...FORM_FIELDS]);
  // A parameter whose snake_case name a member already has keeps its own name.
  const path = [...op.path.matchAll(/:(\w+)/g)].map(([, param]) => ({ param: param as string, field: taken.has(snake(param as string)) ? (param as string) : snake(param as string) }));
  return { op, path, query, body };
}

function deref(node: JsonSchema | undefined, root: JsonSchema): JsonSchema {
  let n = node ?? {};
  for (let i = 0; i < 20 && typeof n.$ref === 'string'; i++) {
    const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(n.$ref);
    n = (m ? root[m[1] as string]?.[decodeURIComponent(m[2] as string)] : undefined) ?? {};
  }
  return n;
}

/** The JSON types a schema node accepts (empty: anything). */
function kinds(node: JsonSchema | undefined, root: JsonSchema, out = new Set<string>()): Set<string> {
  const n = deref(node, root);
  for (const t of [n.type].flat()) if (typeof t === 'string') out.add(t);
  const typeOf = (v: unknown) => (v === null ? 'null' : typeof v === 'number' ? 'number' : typeof v);
  if ('const' in n) out.add(typeOf(n.const));
  for (const v of Array.isArray(n.enum) ? n.enum : []) out.add(typeOf(v));
  if (n.properties) out.add('object');
  if (n.items) out.add('array');
  for (const sub of [...(n.anyOf ?? []), ...(n.oneOf ?? []), ...(n.allOf ?? [])]) kinds(sub, root, out);
  return out;
}

/** The schema of a member (object) or item (array) of a node, or undefined when it has none by that name. */
function childOf(node: JsonSchema, seg: string, root: JsonSchema): JsonSchema | undefined {
  const n = deref(node, root);
  for (const sub of [n, ...(n.anyOf ?? []), ...(n.oneOf ?? []), ...(n.allOf ?? [])].map((x: JsonSchema) => deref(x, root))) {
    if (sub.properties?.[seg]) return sub.properties[seg];
    if (/^\d{1,5}$/.test(seg) && sub.items) return sub.items;
  }
  if (/^\d{1,5}$/.test(seg) && n.prefixItems?.[Number(seg)]) return n.prefixItems[Number(seg)];
  const k = kinds(n, root);
  if (k.has('object') || k.size === 0) {
    if (n.additionalProperties === false) return undefined;
    return typeof n.additionalProperties === 'object' ? n.additionalProperties : {};
  }
  if (k.has('array') && /^\d{1,5}$/.test(seg)) return {};
  return undefined;
}

const BOOLEANS: Record<string, boolean> = { true: true, false: false, '1': true, '0': false, on: true, off: false, yes: true, no: false };
const NUMBER = /^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/;

/** A field's text as the JSON value its schema node asks for; what cannot be read stays text, for the rules to name. */
function scalar(v: string, node: JsonSchema, root: JsonSchema): unknown {
  const k = kinds(node, root);
  if (k.size === 0 || k.has('string')) return v;
  const t = v.trim();
  if (t === '') return k.has('null') ? null : k.has('boolean') ? false : undefined;
  if (k.has('boolean') && BOOLEANS[t.toLowerCase()] !== undefined) return BOOLEANS[t.toLowerCase()];
  if ((k.has('integer') || k.has('number')) && NUMBER.test(t)) return Number(t);
  return v;
}

function valueOf(values: string[], node: JsonSchema, root: JsonSchema): unknown {
  const k = kinds(node, root);
  if (k.has('array') && !k.has('string')) {
    if (values.length === 1 && values[0] === '') return [];
    const items = childOf(node, '0', root) ?? {};
    return values.map((v) => scalar(v, items, root));
  }
  // Several values for one that is no list: sent on as they are, for the schema to name the field.
  if (values.length > 1) return values;
  return scalar(values[0] as string, node, root);
}

/** `a[b][0]` (PHP, Rails) -> `a.b.0`; `a[]` -> `a`. */
const flatName = (name: string) => name.replace(/\[\]$/, '').replace(/\[([^\]]*)\]/g, '.$1');

interface ReadForm {
  call: OperationCall;
  /** Fields refused before the operation sees them (unknown, or given twice). */
  fields: Record<string, string>;
  idempotencyField: boolean;
  json: boolean;
}

/** The form's fields as the operation's parameters, query and body. */
function readForm(plan: Plan, req: Request): ReadForm {
  const raw = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, string | string[]>;
  const fields = new Map<string, string[]>();
  for (const [name, v] of Object.entries(raw)) {
    const key = flatName(name);
    fields.set(key, [...(fields.get(key) ?? []), ...[v].flat().map(String)]);
  }
  const bad: Record<string, string> = {};
  const one = (name: string): string | undefined => {
    const v = fields.get(name);
    fields.delete(name);
    if (v && v.length > 1) bad[name] = `${name} must be given once`;
    return v?.[0];
  };
  one('api_key');
  const idemField = one('idempotency_key');
  const ifMatchField = one('if_match');
  const format = one('format') ?? (typeof req.query.format === 'string' ? req.query.format : undefined);
  if (format !== undefined && format !== 'json' && format !== 'text') bad.format = 'format must be json or text';
  const json = format === 'json' || (format === undefined && req.accepts(['text/plain', 'application/json']) === 'application/json');

  const params: Record<string, string> = {};
  for (const { param, field } of plan.path) {
    const v = one(field);
    if (v === undefined || v.trim() === '') bad[field] = `${field} is required`;
    else params[param] = v.trim();
  }
  const query: Record<string, string | string[]> = {};
  for (const name of plan.query) {
    const v = fields.get(name);
    fields.delete(name);
    // A blank is "not given", as an old system sends every field of its form.
    const given = (v ?? []).filter((x) => x !== '');
    if (given.length) query[name] = given.length === 1 ? (given[0] as string) : given;
  }

  const root = plan.body;
  let body: unknown;
  if (root) {
    const rootKinds = kinds(root, root);
    body = rootKinds.has('array') && !rootKinds.has('object') ? [] : {};
    for (const [name, values] of fields) {
      const segs = name.split('.');
      let node: JsonSchema = root;
      let target = body as Record<string, unknown>;
      for (let i = 0; i < segs.length; i++) {
        const seg = segs[i] as string;
        const child = seg === '' ? undefined : childOf(node, seg, root);
        if (!child) {
          bad[name] = `${name} is not a field of this operation`;
          break;
        }
        if (i === segs.length - 1) {
          const v = valueOf(values, child, root);
          if (v !== undefined) target[seg] = v;
          break;
        }
        const ck = kinds(child, root);
        target[seg] ??= ck.has('array') && !ck.has('object') ? [] : {};
        const next = target[seg];
        if (!next || typeof next !== 'object') {
          bad[name] = `${name} is not a field of this operation`;
          break;
        }
        target = next as Record<string, unknown>;
        node = child;
      }
    }
    body = dense(body);
  } else {
    for (const name of fields.keys()) bad[name] = `${name} is not a field of this operation`;
  }

  const idempotencyKey = req.get('idempotency-key') ?? idemField;
  return {
    call: { params, query, body, idempotencyKey: plan.op.method === 'post' ? idempotencyKey : undefined, ifMatch: req.get('if-match') ?? ifMatchField },
    fields: bad,
    idempotencyField: req.get('idempotency-key') === undefined && idemField !== undefined,
    json,
  };
}

/** Items given by index with gaps (`items.0`, `items.2`) keep their places: the gap is named by the schema, not closed. */
function dense(v: unknown): unknown {
  if (Array.isArray(v)) return Array.from(v, dense);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, dense(x)]));
  return v;
}

// ---- The answer ----

interface FormAnswer {
  status: number;
  message: string;
  headers?: Record<string, string>;
  data?: unknown;
  fields?: Record<string, string>;
}

/** A value's members as flat fields, as the request's are named: `a.b`, `items.0.id`, a list of plain values repeated, null blank. */
function flatten(out: URLSearchParams, name: string, v: unknown): void {
  if (v === null || v === undefined) return out.append(name, '');
  if (Array.isArray(v)) {
    if (v.every((x) => x === null || typeof x !== 'object')) for (const x of v) out.append(name, x === null ? '' : String(x));
    else v.forEach((x, i) => flatten(out, `${name}.${i}`, x));
    return;
  }
  if (typeof v === 'object') {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) flatten(out, name ? `${name}.${k}` : k, x);
    return;
  }
  out.append(name, String(v));
}

function sendAnswer(res: Response, json: boolean, a: FormAnswer): void {
  const result = resultOf(a.status, a.fields);
  const etag = a.headers?.ETag;
  res.set(a.headers ?? {});
  // A body needs a status that has one: an operation's 204 is a 200 here.
  res.status(a.status === 204 || a.status === 304 ? 200 : a.status);
  if (json) {
    res.type('application/json').send(JSON.stringify({ result, message: a.message, ...(etag ? { etag } : {}), ...(a.data !== undefined ? { data: a.data } : {}), ...(a.fields ? { fields: a.fields } : {}) }));
    return;
  }
  const out = new URLSearchParams({ result: String(result), message: a.message });
  if (etag) out.append('etag', etag);
  if (a.data !== undefined) flatten(out, a.data && typeof a.data === 'object' && !Array.isArray(a.data) ? '' : 'data', a.data);
  for (const [name, detail] of Object.entries(a.fields ?? {})) {
    out.append('field', name);
    out.append(`error.${name}`, detail);
  }
  res.type('text/plain').send(`${out.toString()}\n`);
}

/** "#/items/0/name" -> "items.0.name" (the form's names for the fields a problem points at). */
const fieldOfPointer = (pointer: string) => pointer.replace(/^#\//, '').split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')).join('.');

function answerOfProblem(p: Problem, headers: Record<string, string> = {}, rename: Record<string, string> = {}): FormAnswer {
  if (p.errors?.length) {
    const fields: Record<string, string> = {};
    for (const e of p.errors) {
      const name = e.pointer ? fieldOfPointer(e.pointer) : '_form';
      fields[rename[name] ?? name] ??= e.detail;
    }
    return { status: p.status, message: messageOfFields(fields), headers, fields };
  }
  return { status: p.status, message: p.detail ?? p.title, headers };
}

function messageOfFields(fields: Record<string, string>): string {
  const names = Object.keys(fields);
  return names.length === 1 ? `Invalid field ${names[0]}: ${fields[names[0] as string]}` : `Invalid fields: ${names.join(', ')}`;
}

/** The services' errors as the JSON API answers them (web/errors.ts), for the form's answer. */
function answerOfError(err: unknown, req: Request): FormAnswer | undefined {
  if (err instanceof NotFoundError) return { status: 404, message: 'Not found.' };
  if (err instanceof ForbiddenError) return { status: 403, message: err.message };
  if (err instanceof BadRequestError) return { status: 400, message: err.message };
  if (err instanceof FieldErrors) return answerOfProblem(validationProblem(req, err.fields));
  if (err instanceof ConflictError) return { status: 409, message: err.message };
  const e = err as { type?: string };
  if (e?.type === 'entity.too.large') return { status: 413, message: 'The request body is too large.' };
  if (e?.type === 'charset.unsupported' || e?.type === 'encoding.unsupported') return { status: 415, message: 'Send the fields in UTF-8 (charset=utf-8), not compressed in another encoding than gzip or deflate.' };
  if (e?.type === 'entity.parse.failed' || e?.type === 'parameters.too.many') return { status: 400, message: 'The request body could not be read.' };
  return undefined;
}

function answerOfOutcome(o: OperationOutcome, rename: Record<string, string>): FormAnswer {
  if (o.kind === 'problem') return answerOfProblem(o.problem, o.headers, rename);
  const headers = { ...o.headers, ...(o.kind === 'answer' && o.replayed ? { 'Idempotent-Replayed': 'true' } : {}) };
  if (o.kind === 'not-modified') return { status: 304, message: 'Not modified', headers };
  return { status: o.status, message: o.status === 204 ? 'OK' : (STATUS_CODES[o.status] ?? 'OK'), headers, data: o.body === null ? undefined : JSON.parse(o.body) };
}

// ---- The routes ----

const formBody = express.urlencoded({ extended: false, limit: '1mb', parameterLimit: 10_000 });
/**
 * What is read of a body before its key is checked (the key may be its api_key field): small, so
 * that a client without a key cannot make us receive and parse much. A larger post sends its key
 * as `Authorization: Bearer`, checked before the body is read.
 */
export const UNAUTHENTICATED_FORM_LIMIT = { bytes: 64 * 1024, parameters: 256 };
const preAuthBody = express.urlencoded({ extended: false, limit: UNAUTHENTICATED_FORM_LIMIT.bytes, parameterLimit: UNAUTHENTICATED_FORM_LIMIT.parameters });
const PRE_AUTH_TOO_LARGE = `Without an Authorization header the body is read before the key is checked, so it may be at most ${UNAUTHENTICATED_FORM_LIMIT.bytes / 1024} KB and ${UNAUTHENTICATED_FORM_LIMIT.parameters} fields: send the key as Authorization: Bearer <key> for a larger post.`;

/** Reads the body with `parser`; the answer to send instead when it cannot be read. */
async function readBody(parser: typeof formBody, req: Request, res: Response, tooLarge?: string): Promise<FormAnswer | undefined> {
  try {
    await new Promise<void>((resolve, reject) => parser(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
    return undefined;
  } catch (err) {
    const type = (err as { type?: string })?.type;
    if (tooLarge && (type === 'entity.too.large' || type === 'parameters.too.many')) return { status: 413, message: tooLarge };
    const a = answerOfError(err, req);
    if (!a) throw err;
    return a;
  }
}

/** Registers `POST /form/<operationId>` for every operation (in front of the bearer check and the JSON parser). */
export function mountFormOperations(router: Router, ops: ApiOperation[], deps: { db: Db; keys: ApiKeyCheck; limiter: KeyLimiter }): void {
  for (const op of ops) {
    const plan = planOf(op);
    router.post(formPathOf(op), (req: Request, res: Response, next: NextFunction) => {
      runForm(plan, req, res, deps).catch(next);
    });
  }
  // Any other address under /form, answered as a form post is (the operations are public in the
  // OpenAPI document, so saying which exist tells a stranger nothing).
  const ids = new Set(ops.map((op) => op.operationId));
  router.use(FORM_PATH, (req: Request, res: Response) => {
    const json = req.query.format === 'json' || req.accepts(['text/plain', 'application/json']) === 'application/json';
    const id = req.path.replace(/^\//, '');
    if (ids.has(id) && req.method !== 'POST') {
      return sendAnswer(res, json, { status: 405, message: `Post the fields: POST ${req.baseUrl}/${id}.`, headers: { Allow: 'POST' } });
    }
    sendAnswer(res, json, { status: 404, message: `There is no form post at this address: POST ${req.baseUrl}/<operationId>, with an operationId of ${req.baseUrl.replace(/\/form$/, '')}/openapi.json.` });
  });
}

async function runForm(plan: Plan, req: Request, res: Response, { db, keys, limiter }: { db: Db; keys: ApiKeyCheck; limiter: KeyLimiter }): Promise<void> {
  // Before anything else, so that nothing below is done for a request with a key in its URL.
  const wantsJsonEarly = req.query.format === 'json' || req.accepts(['text/plain', 'application/json']) === 'application/json';
  if ('api_key' in req.query) {
    return sendAnswer(res, wantsJsonEarly, { status: 400, message: 'Never put the API key in the URL (it is written to logs on the way): send it as the api_key field of the body, or as Authorization: Bearer <key>. Revoke this key and make a new one.' });
  }
  const sent = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (sent && !req.is('application/x-www-form-urlencoded')) {
    return sendAnswer(res, wantsJsonEarly, { status: 415, message: 'Send the fields as application/x-www-form-urlencoded (JSON goes to the JSON API, without /form).' });
  }
  // The key: the Authorization header, checked before the body is read; or the api_key field,
  // read from a body that is kept small until the key in it is checked.
  const header = bearerToken(req);
  if (header === null) {
    challenge(res, 'invalid_request');
    return sendAnswer(res, wantsJsonEarly, { status: 401, message: 'The Authorization header is not "Bearer <key>".' });
  }
  // Who the key acts as; undefined when refused (the 401 sent).
  const principalOf = async (token: string, json: boolean) => {
    const found = await principalOfKey(keys, token, req);
    if ('principal' in found) return found.principal;
    challenge(res, 'invalid_token');
    sendAnswer(res, json, { status: 401, message: found.refused });
    return undefined;
  };
  let principal: Awaited<ReturnType<typeof principalOf>>;
  if (header !== undefined) {
    principal = await principalOf(header, wantsJsonEarly);
    if (!principal) return;
    const unread = await readBody(formBody, req, res);
    if (unread) return sendAnswer(res, wantsJsonEarly, unread);
  } else {
    // Said too large up front: answered at once, the body not read, the connection closed after.
    if (Number(req.headers['content-length'] ?? 0) > UNAUTHENTICATED_FORM_LIMIT.bytes) {
      return sendAnswer(res, wantsJsonEarly, { status: 413, message: PRE_AUTH_TOO_LARGE, headers: { Connection: 'close' } });
    }
    const unread = await readBody(preAuthBody, req, res, PRE_AUTH_TOO_LARGE);
    if (unread) return sendAnswer(res, wantsJsonEarly, unread);
  }
  const form = readForm(plan, req);
  if (!principal) {
    const field = req.body?.api_key;
    if (typeof field !== 'string' || field === '') {
      challenge(res);
      return sendAnswer(res, form.json, { status: 401, message: 'Send an API key: the api_key field, or Authorization: Bearer <key>.' });
    }
    principal = await principalOf(field, form.json);
    if (!principal) return;
  }
  req.user = principal;
  const wait = await limiter.wait(principal);
  if (wait !== undefined) {
    return sendAnswer(res, form.json, { status: 429, message: `This key makes more than ${limiter.requestsPerSecond} requests a second: try again in ${wait} s.`, headers: { 'Retry-After': String(wait) } });
  }
  // The read-only guard of the JSON routes goes by the HTTP method; every form is a POST, so here by the operation's.
  if (plan.op.method !== 'get' && isReadOnly(principal.role)) {
    return sendAnswer(res, form.json, { status: 403, message: 'Your role can view this information but not change it.' });
  }
  const rename: Record<string, string> = form.idempotencyField ? { 'Idempotency-Key': 'idempotency_key' } : {};
  let outcome: OperationOutcome;
  try {
    // A path field that is missing is a bad field (refusedFields); one that names no row is not found, as in the JSON API.
    outcome = await executeOperation(plan.op, req, db, { ...form.call, refusedFields: form.fields });
  } catch (err) {
    const a = answerOfError(err, req);
    if (a) return sendAnswer(res, form.json, a);
    req.log?.error({ err }, 'form post failed');
    return sendAnswer(res, form.json, { status: 500, message: 'Something went wrong on our side. Try again later; if it persists, quote the X-Request-Id of this answer.' });
  }
  sendAnswer(res, form.json, answerOfOutcome(outcome, rename));
}

// ---- The OpenAPI description of the form posts ----

/** The flat fields of an operation's form, as JSON Schema properties (for the OpenAPI document). */
export function formFieldsSchema(op: ApiOperation): JsonSchema {
  const plan = planOf(op);
  const properties: Record<string, JsonSchema> = {};
  const patterns: Record<string, JsonSchema> = {};
  const required: string[] = [];
  const clean = (n: JsonSchema, root: JsonSchema): JsonSchema => {
    const { $schema: _s, $defs: _d, definitions: _f, ...rest } = deref(n, root);
    return rest;
  };
  const params = inputSchema(op.params) ?? {};
  for (const { param, field } of plan.path) {
    properties[field] = { ...clean(params.properties?.[param] ?? { type: 'string' }, params), description: `${params.properties?.[param]?.description ?? ''} (the :${param} of the JSON operation’s path)`.trim() };
    required.push(field);
  }
  const query = inputSchema(op.query);
  for (const name of plan.query) properties[name] = clean(query?.properties?.[name] ?? {}, query as JsonSchema);
  const root = plan.body;
  const walk = (node: JsonSchema, name: string, pattern: string | undefined, depth: number): void => {
    if (!root) return;
    const n = deref(node, root);
    const k = kinds(n, root);
    const scalarItems = n.items && !kinds(n.items, root).has('object') && !kinds(n.items, root).has('array');
    if (depth < 6 && k.has('object') && n.properties && !k.has('string')) {
      for (const [m, child] of Object.entries(n.properties as Record<string, JsonSchema>)) walk(child, name ? `${name}.${m}` : m, pattern !== undefined ? `${pattern}\\.${m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}` : undefined, depth + 1);
      return;
    }
    if (depth < 6 && k.has('array') && n.items && !scalarItems) {
      const base = pattern ?? name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      walk(n.items, `${name}.{n}`, `${base}\\.\\d+`, depth + 1);
      return;
    }
    if (pattern !== undefined) patterns[`^${pattern}$`] = clean(n, root);
    else properties[name] = clean(n, root);
  };
  if (root) {
    walk(root, '', undefined, 0);
    for (const r of root.required ?? []) if (properties[r]) required.push(r);
  }
  properties.api_key = { type: 'string', description: 'The API key, when the Authorization header cannot be sent. Never in the URL.' };
  if (op.method === 'post') properties.idempotency_key = { type: 'string', maxLength: 255, description: 'As the Idempotency-Key header: a retry with the same key gets the first answer again, never a second object.' };
  if (op.current) properties.if_match = { type: 'string', description: 'As the If-Match header: the etag you read; refused (result 41) if the object changed since.' };
  properties.format = { type: 'string', enum: ['text', 'json'], description: 'The answer’s form: text (default) or json.' };
  return { type: 'object', properties, ...(Object.keys(patterns).length ? { patternProperties: patterns } : {}), ...(required.length ? { required } : {}) };
}
