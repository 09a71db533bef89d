import { STATUS_CODES } from 'node:http';
import type { Request, Response } from 'express';

/**
 * Errors for programs, as RFC 9457 problem details (application/problem+json): the API's answers,
 * and the portal's to a client that asks for JSON. People get the HTML pages (web/errors.ts).
 */
export interface Problem {
  /** A URI reference naming the kind of problem; about:blank when the status says it all. */
  type: string;
  title: string;
  status: number;
  detail?: string;
  /** The request's path: this occurrence (the X-Request-Id header names it for the logs). */
  instance?: string;
  /** Validation: one entry per bad field, as in RFC 9457's example (`pointer` is a JSON Pointer into the body). */
  errors?: Array<{ detail: string; pointer?: string }>;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * Problem types of this product, beyond a bare status. Relative references, resolved against the
 * server that answered (RFC 9457 3.1.1): documented in docs/ARCHITECTURE.md, "The boundary".
 */
export const PROBLEM_TYPES = { validation: '/problems/validation' } as const;

/** Where the machine API lives: answers there are always problem details, never pages. */
export const API_PREFIX = '/api';

const pathOf = (req: Request): string => (req.originalUrl ?? req.url).split('?')[0] as string;

export function isApiPath(req: Request): boolean {
  const p = pathOf(req);
  return p === API_PREFIX || p.startsWith(`${API_PREFIX}/`);
}

/**
 * Whether the answer to an error is problem details: on the API's paths, or when the client prefers
 * JSON to HTML. No Accept header, or a browser's, prefers HTML (listed first, it wins ties).
 */
export function wantsProblem(req: Request): boolean {
  if (isApiPath(req)) return true;
  const best = req.accepts(['text/html', PROBLEM_CONTENT_TYPE, 'application/json']);
  return best === PROBLEM_CONTENT_TYPE || best === 'application/json';
}

/** "a.b" (a zod issue path, as parseForm names fields) -> "#/a/b"; the whole form ("_form") has none. */
export function pointerOf(field: string): string | undefined {
  if (field === '_form') return undefined;
  return `#/${field.split('.').map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
}

export function problem(req: Request, status: number, detail?: string, extra: Partial<Problem> = {}): Problem {
  return { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, ...(detail ? { detail } : {}), instance: pathOf(req), ...extra };
}

/** 422 naming each bad field (field names as the form or JSON body has them). */
export function validationProblem(req: Request, fields: Record<string, string>): Problem {
  const errors = Object.entries(fields).map(([field, detail]) => {
    const pointer = pointerOf(field);
    return pointer ? { detail, pointer } : { detail };
  });
  return problem(req, 422, 'The request has fields that are missing or not valid.', { type: PROBLEM_TYPES.validation, title: 'Invalid fields', errors });
}

export function sendProblem(res: Response, p: Problem): void {
  res.status(p.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(p));
}
