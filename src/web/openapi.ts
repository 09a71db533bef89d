import { z } from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject } from 'zod-openapi';
import { FORM_RESULTS, formFieldsSchema, formPathOf } from './api-form';
import type { ApiOperation } from './api-operations';

/**
 * The OpenAPI 3.1 document of /api/v1 (issue 14), generated from the operations' own zod schemas
 * (web/api-operations.ts), never written by hand. Served at /api/v1/openapi.json and drawn by the
 * reference page at /api/v1/docs.
 */

/** RFC 9457 problem details, as every error of the API. */
export const problemSchema = z
  .object({
    type: z.string().meta({ description: 'A URI reference naming the kind of problem; about:blank when the status says it all.' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    errors: z.array(z.object({ detail: z.string(), pointer: z.string().optional() })).optional().meta({ description: 'One entry per bad field (422), with a JSON Pointer into the body.' }),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details.' });

const COMMON_ERRORS: Record<number, string> = {
  400: 'The request could not be read (e.g. malformed JSON).',
  401: 'No API key, or not a valid one (revoked, or its reseller deactivated).',
  403: 'The key may not do this (a read-only key writing, a reseller key on an operator operation).',
  404: 'No such object, or one of another tenant.',
  422: 'A field is missing or not valid: `errors` names each.',
  429: 'Too many requests with this key: wait for `Retry-After` seconds.',
};

const OTHER_ERRORS: Record<number, string> = {
  409: 'A conflict with the object’s state, or the same Idempotency-Key still being processed.',
  412: 'If-Match does not match the object’s ETag: it changed since you read it.',
  415: 'The body is not application/json.',
};

const problemContent = { 'application/problem+json': { schema: problemSchema } };

const toOpenApiPath = (p: string) => p.replace(/:(\w+)/g, '{$1}');

function operationObject(op: ApiOperation): ZodOpenApiOperationObject {
  const headers: Record<string, z.ZodType> = {};
  if (op.method === 'post') headers['Idempotency-Key'] = z.string().max(255).optional().meta({ description: 'Any unique text (a UUID): a retry with the same key gets the first answer again, never a second object. Kept 24 hours.' });
  if (op.current) headers['If-Match'] = z.string().optional().meta({ description: 'The ETag you read: the change is refused (412) if the object changed since.' });
  if (op.method === 'get' && op.success.etag) headers['If-None-Match'] = z.string().optional().meta({ description: 'An ETag you hold: 304 if the object is unchanged.' });
  const responses: Record<string, any> = {
    [op.success.status]: {
      description: op.success.description,
      ...(op.success.schema ? { content: { 'application/json': { schema: op.success.schema } } } : {}),
      ...(op.success.etag ? { headers: z.object({ ETag: z.string().meta({ description: 'The object’s version, for If-Match and If-None-Match.' }) }) } : {}),
    },
  };
  for (const [status, description] of Object.entries(COMMON_ERRORS)) responses[status] = { description, content: problemContent };
  for (const status of op.errors ?? []) responses[String(status)] = { description: OTHER_ERRORS[status] ?? 'See detail.', content: problemContent };
  if (op.current) responses['412'] = { description: OTHER_ERRORS[412] as string, content: problemContent };
  if (op.body) responses['415'] = { description: OTHER_ERRORS[415] as string, content: problemContent };
  if (op.method === 'post') responses['409'] ??= { description: OTHER_ERRORS[409] as string, content: problemContent };
  if (op.method === 'get' && op.success.etag) responses['304'] = { description: 'Not modified (If-None-Match).' };
  return {
    operationId: op.operationId,
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: op.tags,
    ...(op.audience === 'operator' ? { 'x-audience': 'operator keys only' } : op.audience === 'reseller' ? { 'x-audience': 'reseller keys only' } : {}),
    requestParams: {
      ...(op.params ? { path: op.params as z.ZodObject } : {}),
      ...(op.query ? { query: op.query as z.ZodObject } : {}),
      ...(Object.keys(headers).length ? { header: z.object(headers) } : {}),
    },
    ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: op.body } } } } : {}),
    responses: responses as ZodOpenApiOperationObject['responses'],
  };
}

/** A form post's answer when it did not succeed (web/api-form.ts), as JSON; as text the same fields, flat. */
const formFailure = z
  .object({
    result: z.number().int().meta({ description: 'The result code: see the tag “Provisioning by form post”.' }),
    message: z.string(),
    fields: z.record(z.string(), z.string()).optional().meta({ description: 'Result 10: each bad field and what is wrong with it.' }),
  })
  .meta({ id: 'FormFailure' });

const formText = { 'text/plain': { schema: { type: 'string' as const, description: 'One line in the form encoding: result=<code>&message=<text>, then the object’s members as flat fields (or field=<name>&error.<name>=<text> for each bad field).' } } };

/** The same operation by form post, at /form/<operationId>: fields from the same schemas, the same statuses. */
function formOperationObject(op: ApiOperation): ZodOpenApiOperationObject {
  const json = operationObject(op);
  const fields = formFieldsSchema(op) as { required?: string[] };
  const responses: Record<string, any> = {};
  for (const [status, r] of Object.entries(json.responses as Record<string, { description: string }>)) {
    if (status === '304') continue;
    if (Number(status) < 300) {
      responses[status === '204' ? '200' : status] = {
        description: r.description,
        content: {
          ...formText,
          'application/json': { schema: z.object({ result: z.literal(0), message: z.string(), etag: z.string().optional(), ...(op.success.schema ? { data: op.success.schema } : {}) }) },
        },
      };
    } else {
      responses[status] = { description: status === '415' ? 'The body is not application/x-www-form-urlencoded.' : status === '400' ? `${r.description} Or the API key was put in the URL.` : r.description, content: { ...formText, 'application/json': { schema: formFailure } } };
    }
  }
  responses['415'] ??= { description: 'The body is not application/x-www-form-urlencoded.', content: { ...formText, 'application/json': { schema: formFailure } } };
  return {
    operationId: `${op.operationId}Form`,
    summary: `${op.summary} (form post)`,
    description: `The operation \`${op.operationId}\` (${op.method.toUpperCase()} ${toOpenApiPath(op.path)}) by form post: the same rules, its fields flat. See the tag “Provisioning by form post”.`,
    tags: ['Provisioning by form post'],
    ...(op.audience === 'operator' ? { 'x-audience': 'operator keys only' } : {}),
    // The key as the bearer header, or as the api_key field (which OpenAPI cannot name as a scheme).
    security: [{ apiKey: [] }, {}],
    requestBody: {
      required: Boolean(fields.required?.length),
      content: { 'application/x-www-form-urlencoded': { schema: fields as never } },
    },
    responses: responses as ZodOpenApiOperationObject['responses'],
  };
}

/** The tag that explains the form posts: the rules and the result codes. */
export const FORM_TAG = {
  name: 'Provisioning by form post',
  description: [
    'Every operation is also at `POST /api/v1/form/<operationId>` for systems that post `application/x-www-form-urlencoded`.',
    'Fields: path parameters by their snake_case name (`reseller_id`); members by name, nested ones with dots (`a.b`, `items.0.name`; `a[b]` is read the same); a list as the field repeated.',
    'Values: `true/false/1/0/on/off/yes/no` for booleans, digits for numbers, a blank for null (false for a boolean; absent where null is not allowed).',
    'The key as `Authorization: Bearer <key>` or the `api_key` field, never in the URL. `idempotency_key` and `if_match` fields stand for the headers. `format=json` or `Accept: application/json` for a JSON answer.',
    'Answers keep the operation’s HTTP status and carry a stable result code: ' + FORM_RESULTS.map((r) => `${r.result} (${r.statuses}) ${r.meaning}`).join(' '),
  ].join('\n\n'),
};

export interface DocumentExtras {
  /** Paths described outside the operations (the CDR intake, carrier data, record files). */
  paths?: ZodOpenApiPathsObject;
  tags?: Array<{ name: string; description: string }>;
}

export function openApiDocument(ops: ApiOperation[], extras: DocumentExtras = {}): ReturnType<typeof createDocument> {
  const paths: ZodOpenApiPathsObject = { ...(extras.paths ?? {}) };
  for (const op of ops) {
    const p = toOpenApiPath(op.path);
    paths[p] = { ...(paths[p] ?? {}), [op.method]: operationObject(op) };
  }
  for (const op of ops) paths[formPathOf(op)] = { post: formOperationObject(op) };
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'VoIP billing API',
      version: '1',
      description: [
        'Provisioning and reads for the operator and its resellers. Authenticate with an API key (made in the portal: API keys) as `Authorization: Bearer <key>`.',
        'A reseller’s key reaches only that reseller’s objects (another tenant’s id answers 404); a read-only key writes nothing (403).',
        'Errors are RFC 9457 problem details. POST takes `Idempotency-Key`; PATCH takes `If-Match`. Times are ISO 8601 with their offset; money is a decimal string; lists page with `cursor`.',
        'Systems that can only post forms: every operation is also at `POST /api/v1/form/<operationId>` (the tag “Provisioning by form post”).',
      ].join('\n\n'),
    },
    servers: [{ url: '/api/v1' }],
    security: [{ apiKey: [] }],
    tags: ops.length ? [...(extras.tags ?? []), FORM_TAG] : extras.tags,
    paths,
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: `apk_<id>_<secret>`.' } },
    },
  });
}
