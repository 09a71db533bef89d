import type { NextFunction, Request, Response } from 'express';
import { isReadOnly, portalOf, type Portal } from '../domain/tenancy/roles';
import { LOGIN_REFUSAL_MESSAGES } from '../domain/tenancy/status';
import { refuse } from './errors';
import { problem, sendProblem, wantsProblem } from './problems';
import { flash } from './render';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Writes a person makes to their own login, allowed to every role including support: leaving,
 * changing one's own password, one's own second factor. Nothing here touches business data.
 */
export const SELF_SERVICE_WRITES = new Set(['/logout', '/account/password', '/account/totp', '/account/totp/disable']);

export function isWrite(method: string): boolean {
  return !SAFE_METHODS.has(method.toUpperCase());
}

/** Pages that are nothing but a form to create or change something (…/new, …/edit). */
export function isWriteForm(path: string): boolean {
  // Routing is exact (web/router.ts); ignoring case here as well keeps a form hidden if it ever is not.
  return /\/(new|edit)\/?$/i.test(path);
}

/** Sends people who are not logged in to the login page (or 401 for non-GET requests, and for programs). */
export function requireLogin(req: Request, res: Response, next: NextFunction): void {
  if (req.user) return next();
  if (wantsProblem(req)) return sendProblem(res, problem(req, 401, 'Log in first.'));
  if (req.method === 'GET') {
    req.session.returnTo = req.originalUrl;
    return res.redirect('/login');
  }
  res.status(401).send('Log in first');
}

/** The portal a URL belongs to must be the portal of the person's role. */
export function requirePortal(portal: Portal) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!req.user) return requireLogin(req, res, next);
    if (portalOf(req.user.role) !== portal) return refuse(req, res, 403, 'Not allowed', 'This page belongs to another portal.');
    next();
  };
}

/** One guard for every route: support roles read, never write (nor see the forms for writing). */
export function readOnlyGuard(req: Request, res: Response, next: NextFunction): void {
  const writes = (isWrite(req.method) && !SELF_SERVICE_WRITES.has(req.path)) || isWriteForm(req.path);
  if (req.user && isReadOnly(req.user.role) && writes) return refuse(req, res, 403, 'View only', 'Your role can view this information but not change it.');
  next();
}

/** Ends the session of someone who lost access since logging in (e.g. their reseller was deactivated). */
export function enforceAccountStatus(req: Request, res: Response, next: NextFunction): void {
  const refusal = req.user?.refusal;
  if (!refusal) return next();
  req.logout((err) => {
    if (err) return next(err);
    if (wantsProblem(req)) return sendProblem(res, problem(req, 401, LOGIN_REFUSAL_MESSAGES[refusal]));
    flash(req, 'error', LOGIN_REFUSAL_MESSAGES[refusal]);
    res.redirect('/login');
  });
}
