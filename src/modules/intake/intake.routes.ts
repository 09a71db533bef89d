import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { Db } from '../../db/knex';
import type { Logger } from '../../logger';
import { requestIdOf } from '../../web/request-id';
import { credentialMatches, platformIdOf, sourceAllowed } from '../platforms/credentials';
import type { Platform } from '../platforms/platforms.repository';
import type { RatingCaches } from '../reference-data/reference-data';
import { IntakePipeline } from './pipeline';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      platform?: Platform;
    }
  }
}

function refuse(res: Response, status: number, error: string) {
  if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="cdr-intake"');
  res.status(status).json({ error });
}

/**
 * CDR intake over HTTPS: platforms post their records with their machine credential. Mounted
 * before the portal's sessions and body parsers: the body is read raw, exactly as sent.
 */
export function intakeRoutes({ db, caches, logger, copy }: { db: Db; caches: RatingCaches; logger: Logger; copy: boolean }): Router {
  const r = Router();
  const intake = new IntakePipeline(db, caches, { copy, log: logger });

  const authenticate = async (req: Request, res: Response, next: NextFunction) => {
    const header = req.headers.authorization ?? '';
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    const id = token ? platformIdOf(token) : undefined;
    // From memory: platforms are cached per process and dropped on every change (reference-data).
    const platform = id ? (await caches.refs.platforms.get(db)).get(id) : undefined;
    if (!token || !platform || !credentialMatches(token, platform.credentialHash)) return refuse(res, 401, 'a valid platform credential is required (Authorization: Bearer ...)');
    if (!platform.active) return refuse(res, 403, `platform ${platform.name} is not active`);
    if (!sourceAllowed(platform.allowedSources, req.ip)) return refuse(res, 403, `address ${req.ip} is not allowed for platform ${platform.name}`);
    req.platform = platform;
    next();
  };

  // Its own request log: the post's id, outcome and time; accepted posts at debug (a switch posts
  // one per call), refusals at warn, failures at error.
  const requestLog = (req: Request, res: Response, next: NextFunction) => {
    const id = requestIdOf(req);
    res.setHeader('X-Request-Id', id);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    const started = performance.now();
    res.on('finish', () => {
      const status = res.statusCode;
      const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'debug';
      if (!logger.isLevelEnabled(level)) return;
      logger[level]({ reqId: id, platform: req.platform?.id, remoteAddress: req.ip, statusCode: status, responseTime: Math.round(performance.now() - started) }, 'cdr post');
    });
    next();
  };

  r.post(
    '/api/v1/cdrs',
    requestLog,
    authenticate,
    express.text({ type: () => true, limit: '25mb', defaultCharset: 'utf-8' }),
    async (req, res) => {
      const platform = req.platform as Platform;
      const body = typeof req.body === 'string' ? req.body : '';
      // Answered only after the commit that stored it (grouped with concurrent posts).
      const result = await intake.submit({ platform, body, contentType: req.headers['content-type'], sourceIp: req.ip });
      res.status(result.httpStatus).json(result.body);
    },
  );

  // A machine client gets JSON it can act on, never the portal's HTML error page.
  r.use('/api/v1/cdrs', (err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const e = err as { type?: string; limit?: number };
    if (e?.type === 'entity.too.large') return refuse(res, 413, `the body is larger than ${e.limit ?? '25 MB'} bytes: send fewer records per post`);
    if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') return refuse(res, 415, (err as Error).message);
    logger.error({ err, reqId: res.getHeader('X-Request-Id') }, 'cdr post failed');
    refuse(res, 503, 'the post could not be stored and nothing of it was acknowledged; send it again');
  });

  return r;
}
