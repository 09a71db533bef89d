import { unlink } from 'node:fs';
import os from 'node:os';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import multer from 'multer';
import { isReadOnly, portalOf, type Role } from '../domain/tenancy/roles';

/** The multipart forms, one file each: deck and band imports, a carrier's billing file and the mapped-CSV preview's sample. */
export const UPLOAD_PATHS = /^\/(?:(wholesale|reseller)\/rate-plans\/\d+\/(?:deck|bands)|(wholesale)\/carriers\/(?:\d+\/files|preview))$/;

const MB = 1024 * 1024;

/**
 * The largest file each role may send. The operator's decks are the large ones (tens of thousands
 * of prefixes); a reseller's plans are smaller. Roles not listed never upload, so nothing of
 * their body is read.
 */
export const UPLOAD_LIMITS: Partial<Record<Role, number>> = { wholesale_admin: 50 * MB, reseller_admin: 10 * MB };

/** The limit for this person on this path, or undefined when they may not upload there at all. */
export function uploadLimit(role: Role | undefined, path: string): number | undefined {
  const m = UPLOAD_PATHS.exec(path);
  if (!m || !role || isReadOnly(role) || portalOf(role) !== (m[1] ?? m[2])) return undefined;
  return UPLOAD_LIMITS[role];
}

/**
 * Multipart imports, streamed to a temporary file and only for someone allowed to import there:
 * role and portal are checked before a byte of the body is read, the CSRF token before the file
 * is (from the X-CSRF-Token header, or the form's _csrf field, which the forms send ahead of the
 * file). A refused upload closes the connection rather than read the rest. The file is removed
 * when the response is done; the route reads it from req.file.path.
 */
export function uploads(tokenValid: (req: Request) => boolean): RequestHandler {
  const storage = multer.diskStorage({ destination: os.tmpdir() });
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'POST' || !UPLOAD_PATHS.test(req.path) || !req.is('multipart/form-data')) return next();
    const limit = uploadLimit(req.user?.role, req.path);
    // Not theirs to import: the guards after this answer (login, portal, view only, CSRF) without the body.
    if (limit === undefined) return refuseUnread(res, next);
    if (req.get('x-csrf-token') !== undefined && !tokenValid(req)) return refuseUnread(res, next);
    const upload = multer({
      storage,
      // The carrier form (for its mapped-CSV preview) has some forty fields.
      limits: { fileSize: limit, files: 1, fields: 60, fieldSize: 1 * MB, parts: 61 },
      fileFilter: (r, _file, cb) => {
        if (tokenValid(r)) return cb(null, true);
        // Answered now: multer would read the rest of the body before handing on its error.
        res.set('Connection', 'close');
        res.status(403).type('text').send('This form has expired or was not sent by this site. Go back, reload the page and try again.');
        cb(new UploadRefused());
      },
    }).single('file');
    res.once('close', () => {
      if (req.file?.path) unlink(req.file.path, () => undefined);
    });
    upload(req, res, (err?: unknown) => {
      if (res.headersSent) return;
      if (!err) return next();
      res.set('Connection', 'close');
      if (err instanceof multer.MulterError && err.code === 'LIMIT_FILE_SIZE') {
        return void res.status(413).type('text').send(`The file is larger than ${Math.round(limit / MB)} MB.`);
      }
      if (err instanceof multer.MulterError) return void res.status(400).type('text').send('Bad upload');
      next(err);
    });
  };
}

/** Leaves the body unread: the next guard refuses, and the connection closes after the answer. */
function refuseUnread(res: Response, next: NextFunction): void {
  res.set('Connection', 'close');
  next();
}

class UploadRefused extends Error {}
