import type { NextFunction, Request, Response } from 'express';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../domain/errors';
import { flash } from './render';

export function notFoundHandler(_req: Request, res: Response): void {
  res.status(404);
  res.page('errors/not-found', { title: 'Not found' });
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
  if (err instanceof NotFoundError) return notFoundHandler(req, res);
  if (err instanceof ForbiddenError) {
    res.status(403);
    return res.page('errors/forbidden', { title: 'Not allowed', message: err.message });
  }
  if (err instanceof BadRequestError) {
    res.status(400);
    return res.page('errors/forbidden', { title: 'Bad request', message: err.message });
  }
  if (err instanceof ConflictError) {
    flash(req, 'error', err.message);
    return res.redirect(303, backTo(req));
  }
  const e = err as { code?: string; status?: number; type?: string };
  if (e?.code === 'EBADCSRFTOKEN' || (e?.status === 403 && String((err as Error).message).includes('csrf'))) {
    res.status(403);
    return res.page('errors/forbidden', { title: 'Form expired', message: 'This form has expired or was not sent by this site. Go back, reload the page and try again.' });
  }
  if (e?.type === 'entity.too.large' || e?.type === 'entity.parse.failed') {
    res.status(400).send('Bad request body');
    return;
  }
  req.log?.error({ err }, 'request failed');
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
