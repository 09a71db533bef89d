import type { NextFunction, Request, Response } from 'express';
import { BadRequestError, ConflictError, FieldErrors, ForbiddenError, NotFoundError } from '../domain/errors';
import { problem, sendProblem, validationProblem, wantsProblem } from './problems';
import { flash } from './render';

// Every error answer of the app goes through here (and web/problems.ts): an HTML page for people,
// problem details for programs (the API's paths, or an Accept that prefers JSON).

const NOT_FOUND_DETAIL = 'Nothing is found at this address, or it is not yours to see.';

/** A page when the portal's rendering is installed (web/render.ts), else the message as plain text. */
function page(res: Response, status: number, view: string, locals: { title: string; message?: string }): void {
  res.status(status);
  if (typeof res.page === 'function') return res.page(view, locals);
  res.type('text').send(locals.message ?? locals.title);
}

export function notFoundHandler(req: Request, res: Response): void {
  if (wantsProblem(req)) return sendProblem(res, problem(req, 404, NOT_FOUND_DETAIL));
  page(res, 404, 'errors/not-found', { title: 'Not found' });
}

/** A refusal with a message: the "not allowed" page for a person, problem details for a program. */
export function refuse(req: Request, res: Response, status: number, title: string, message: string): void {
  if (wantsProblem(req)) return sendProblem(res, problem(req, status, message));
  page(res, status, 'errors/forbidden', { title, message });
}

/**
 * Where "back" is: the page the form was on when the Referer names a page of this app, else home.
 * The header is the browser's (or an attacker's) to say: never send anyone to another site or to
 * a javascript: URL with it.
 */
export function backTo(req: Request): string {
  const referer = req.get('referer');
  if (!referer) return '/';
  const origin = `${req.protocol}://${req.get('host') ?? 'localhost'}`;
  try {
    const url = new URL(referer, origin);
    if (url.origin !== origin || !url.pathname.startsWith('/')) return '/';
    return url.pathname + url.search;
  } catch {
    return '/';
  }
}

export function errorHandler(err: unknown, req: Request, res: Response, _next: NextFunction): void {
  if (res.headersSent) return;
  const program = wantsProblem(req);
  if (err instanceof NotFoundError) return notFoundHandler(req, res);
  if (err instanceof ForbiddenError) return refuse(req, res, 403, 'Not allowed', err.message);
  if (err instanceof BadRequestError) return refuse(req, res, 400, 'Bad request', err.message);
  // A form re-renders its own errors (web/forms.ts submitForm); what reaches here is a program's
  // request, or bad input no form was there to show.
  if (err instanceof FieldErrors) {
    if (program) return sendProblem(res, validationProblem(req, err.fields));
    return refuse(req, res, 422, 'Check what was entered', err.message);
  }
  if (err instanceof ConflictError) {
    if (program) return sendProblem(res, problem(req, 409, err.message));
    flash(req, 'error', err.message);
    return res.redirect(303, backTo(req));
  }
  const e = err as { code?: string; status?: number; type?: string };
  if (e?.code === 'EBADCSRFTOKEN' || (e?.status === 403 && String((err as Error).message).includes('csrf'))) {
    return refuse(req, res, 403, 'Form expired', 'This form has expired or was not sent by this site. Go back, reload the page and try again.');
  }
  if (e?.type === 'entity.too.large' || e?.type === 'entity.parse.failed') {
    if (program) return sendProblem(res, problem(req, e.type === 'entity.too.large' ? 413 : 400, e.type === 'entity.too.large' ? 'The request body is too large.' : 'The request body could not be read.'));
    res.status(400).send('Bad request body');
    return;
  }
  req.log?.error({ err }, 'request failed');
  // Nothing of the failure goes out (the log has it, under the X-Request-Id the answer carries).
  if (program) return sendProblem(res, problem(req, 500, 'Something went wrong on our side. Try again later; if it persists, quote the X-Request-Id of this answer.'));
  res.status(500);
  if (typeof res.page === 'function') {
    try {
      return res.page('errors/server', { title: 'Something went wrong' });
    } catch {
      // fall through to plain text
    }
  }
  res.type('text').send('Internal error');
}
