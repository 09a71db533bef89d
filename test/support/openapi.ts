import assert from 'node:assert/strict';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import request, { type Response, type Test } from 'supertest';

type Doc = { paths: Record<string, Record<string, any>>; components?: Record<string, unknown> };

/**
 * Holds every API answer a test receives to the OpenAPI document the app serves (issue 14): the
 * status must be one the operation documents, and the body must match that status's schema for
 * its content type. The document is the app's own /api/v1/openapi.json, never a copy.
 */
export class OpenApiChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly compiled = new Map<string, ReturnType<Ajv2020['compile']>>();
  /** Operations answered in this run, "get /resellers/{resellerId} 200". */
  readonly seen = new Set<string>();

  constructor(readonly doc: Doc) {
    addFormats(this.ajv);
  }

  /** Asserts the answer matches the document; returns it for chaining. */
  check(method: string, template: string, res: Response): Response {
    const op = this.doc.paths[template]?.[method.toLowerCase()];
    assert.ok(op, `${method} ${template} is not in the OpenAPI document`);
    const status = String(res.status);
    const spec = op.responses?.[status];
    assert.ok(spec, `${method} ${template} answered ${status}, which its document does not list (${Object.keys(op.responses ?? {}).join(', ')}): ${res.text?.slice(0, 300)}`);
    this.seen.add(`${method.toLowerCase()} ${template} ${status}`);
    if (!spec.content) return res;
    const type = String(res.headers['content-type'] ?? '').split(';')[0]?.trim() as string;
    const media = spec.content[type];
    assert.ok(media, `${method} ${template} ${status} answered ${type}; the document has ${Object.keys(spec.content).join(', ')}`);
    const key = `${method} ${template} ${status} ${type}`;
    let validate = this.compiled.get(key);
    if (!validate) {
      // The schema with the document's components beside it, so that its #/components/... refs resolve.
      validate = this.ajv.compile({ ...media.schema, components: this.doc.components });
      this.compiled.set(key, validate);
    }
    // A text answer (the form posts' plain answers) is held to its schema as the text it is.
    const body = !/json/.test(type) ? res.text : res.body !== undefined && Object.keys(res.body ?? {}).length ? res.body : JSON.parse(res.text || 'null');
    assert.ok(validate(body), `${method} ${template} ${status}: the body does not match the document: ${this.ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`);
    return res;
  }

  /**
   * Calls of the API with `key` as its bearer, each answer checked against the document:
   * `get(template, path)`, `post(template, path, body)` and so on, `path` under /api/v1.
   */
  caller(app: Parameters<typeof request>[0], key: string) {
    const send = (method: 'get' | 'post' | 'put' | 'patch' | 'delete') => async (template: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
      let r: Test = request(app)[method](`/api/v1${path}`).set('Authorization', `Bearer ${key}`).set(headers);
      if (body !== undefined) r = r.send(body as object);
      return this.check(method, template, await r);
    };
    return { get: (template: string, path: string, headers: Record<string, string> = {}) => send('get')(template, path, undefined, headers), post: send('post'), put: send('put'), patch: send('patch'), delete: send('delete') };
  }
}
