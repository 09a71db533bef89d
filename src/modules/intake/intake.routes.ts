import type { IncomingMessage, ServerResponse } from 'node:http';
import proxyaddr from 'proxy-addr';
import type { IntakeLimits } from '../../config';
import type { Db } from '../../db/knex';
import type { Logger } from '../../logger';
import { requestIdOf } from '../../web/request-id';
import { credentialMatches, platformIdOf, sourceAllowed } from '../platforms/credentials';
import type { RatingCaches } from '../reference-data/reference-data';
import { BodyError, readPostBody, type PostBody } from './body';
import { refuseUnreadBody, type PostInput } from './intake.service';
import { IntakePipeline } from './pipeline';
import { answerOf, turnawayAnswer, type Refusal } from './outcome';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export const INTAKE_PATH = '/api/v1/cdrs';

/** A plain Node request handler; `next` hands the request on (to the portal's Express app). */
export type IntakeHandler = ((req: IncomingMessage, res: ServerResponse, next: () => void) => void) & {
  /** Rejects when the intake cannot store a post now (see IntakePipeline.probe). */
  probe(): Promise<void>;
  /** Starts the intake's parse threads ahead of the first large post. */
  warm(): Promise<void>;
  /** Stops the intake's parse threads. */
  close(): Promise<void>;
};

const DEFAULT_LIMITS: IntakeLimits = { inFlightPerPlatform: 1000, postsPerSecondPerPlatform: 5000, bytesInFlightPerPlatform: 100 * 1024 * 1024 };

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MB`;

/** Adds to a per-platform count, dropping it at zero (the maps hold only platforms with posts in flight). */
function add(m: Map<number, number>, id: number, d: number): void {
  const n = (m.get(id) ?? 0) + d;
  if (n > 0) m.set(id, n);
  else m.delete(id);
}

function answer(res: ServerResponse, status: number, body: object): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

function refuse(res: ServerResponse, refusal: Refusal, error: string): void {
  if (refusal === 'unauthenticated') res.setHeader('WWW-Authenticate', 'Bearer realm="cdr-intake"');
  const { httpStatus, body } = turnawayAnswer({ kind: 'refused', refusal, error });
  answer(res, httpStatus, body);
}


/**
 * CDR intake over HTTPS: platforms post their records with their machine credential. Served in
 * front of the portal's Express app, not through it: no session, CSRF or portal headers, and none
 * of Express's per-request work, whose objects (a few kilobytes a request) outlive the request in
 * V8's young generation and were promoted by the tens of megabytes a second at a thousand posts a
 * second, which made the major collections that stalled the intake (docs/PERFORMANCE.md). The
 * body is read raw, exactly as sent. `trustProxy` is the portal's compiled 'trust proxy' setting,
 * so the source address is the one the portal would see.
 */
export function intakeHandler({
  db, caches, logger, copy, trustProxy, limits = DEFAULT_LIMITS, parseThreads = 1,
}: {
  db: Db;
  caches: RatingCaches;
  logger: Logger;
  copy: boolean;
  trustProxy: () => (addr: string, i: number) => boolean;
  limits?: IntakeLimits;
  /** Threads that parse large bodies, off the event loop (0: none). */
  parseThreads?: number;
}): IntakeHandler {
  const intake = new IntakePipeline(db, caches, { copy, log: logger, parse: { threads: parseThreads } });
  // Per platform, so that one switch sending too much, or too slowly, cannot hold up the others:
  // posts in flight (a slow or stalled sender holds a slot until its body is in) and posts a second.
  const inFlight = new Map<number, number>();
  const bytesInFlight = new Map<number, number>();
  const rate = new RateLimiterMemory({ points: limits.postsPerSecondPerPlatform, duration: 1 });

  /** What the request log says of a post. */
  interface Post {
    id: string;
    started: number;
    platform?: number;
    sourceIp?: string;
  }

  const handle = async (req: IncomingMessage, res: ServerResponse, post: Post): Promise<void> => {
    const header = req.headers.authorization ?? '';
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    const platformId = token ? platformIdOf(token) : undefined;
    // From memory: platforms are cached per process and dropped on every change (reference-data).
    const platform = platformId ? (await caches.refs.platforms.get(db)).get(platformId) : undefined;
    if (!token || !platform || !credentialMatches(token, platform.credentialHash)) return refuse(res, 'unauthenticated', 'a valid platform credential is required (Authorization: Bearer ...)');
    const sourceIp = proxyaddr(req, trustProxy());
    post.platform = platform.id;
    post.sourceIp = sourceIp;
    if (!platform.active) return refuse(res, 'forbidden', `platform ${platform.name} is not active`);
    if (!sourceAllowed(platform.allowedSources, sourceIp)) return refuse(res, 'forbidden', `address ${sourceIp} is not allowed for platform ${platform.name}`);
    try {
      await rate.consume(platform.id);
    } catch (r) {
      if (!(r instanceof RateLimiterRes)) throw r;
      res.setHeader('Retry-After', String(Math.max(1, Math.ceil(r.msBeforeNext / 1000))));
      return refuse(res, 'throttled', `platform ${platform.name} sends more than ${limits.postsPerSecondPerPlatform} posts a second: send this one again shortly`);
    }
    // Read and taken with no await between: concurrent posts see each other's slots.
    const busy = inFlight.get(platform.id) ?? 0;
    if (busy >= limits.inFlightPerPlatform) {
      res.setHeader('Retry-After', '1');
      return refuse(res, 'throttled', `platform ${platform.name} has ${busy} posts in flight, the most it may: send this one again in a second`);
    }
    // Bytes too: a few huge bodies hold memory and parse threads as a thousand small ones do not.
    // One post alone is always let in (up to the body limit), so a large post is never refused for ever.
    const declared = Number(req.headers['content-length']);
    const bytesBusy = bytesInFlight.get(platform.id) ?? 0;
    if (bytesBusy > 0 && bytesBusy + (Number.isFinite(declared) ? declared : 0) > limits.bytesInFlightPerPlatform) {
      res.setHeader('Retry-After', '2');
      return refuse(res, 'throttled', `platform ${platform.name} has ${mb(bytesBusy)} of posts in flight, and this one would take it past the ${mb(limits.bytesInFlightPerPlatform)} it may: send it again in a few seconds`);
    }
    let held = Number.isFinite(declared) ? declared : 0;
    add(inFlight, platform.id, 1);
    add(bytesInFlight, platform.id, held);
    try {
      await receive(req, res, platform, sourceIp, (size) => {
        add(bytesInFlight, platform.id, size - held);
        held = size;
        if (Number.isFinite(declared)) return false; // admitted above on its declared length
        const total = bytesInFlight.get(platform.id) ?? 0;
        return total > size && total > limits.bytesInFlightPerPlatform;
      });
    } finally {
      add(inFlight, platform.id, -1);
      add(bytesInFlight, platform.id, -held);
    }
  };

  /** `received(size)` counts the body's real size once read; true when that is more than the platform may have in flight. */
  const receive = async (req: IncomingMessage, res: ServerResponse, platform: PostInput['platform'], sourceIp: string, received: (size: number) => boolean): Promise<void> => {
    let body: PostBody;
    try {
      body = await readPostBody(req);
      if (received(body.raw.length)) {
        // Sent without a length, so only known now: refused like one that said its length.
        res.setHeader('Retry-After', '2');
        return refuse(res, 'throttled', `platform ${platform.name} has more than ${mb(limits.bytesInFlightPerPlatform)} of posts in flight: send this one again in a few seconds`);
      }
    } catch (err) {
      if (!(err instanceof BodyError)) throw err;
      // It can never become a record: refused with the reason and kept as it arrived.
      const outcome = await refuseUnreadBody(db, { platform, sourceIp, contentType: req.headers['content-type'], bytes: err.bytes, contentEncoding: req.headers['content-encoding'] }, err.refusal, err.message);
      const refused = answerOf(outcome);
      return answer(res, refused.httpStatus, refused.body);
    }
    // Answered only after the commit that stored it (grouped with concurrent posts).
    const result = await intake.submit({ platform, body: body.text, contentType: req.headers['content-type'], sourceIp });
    answer(res, result.httpStatus, result.body);
  };

  // Its own request log: the post's id, outcome and time; accepted posts at debug (a switch posts
  // one per call), refusals at warn, failures at error.
  const logPost = (post: Post, status: number) => {
    const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'debug';
    if (!logger.isLevelEnabled(level)) return;
    logger[level]({ reqId: post.id, platform: post.platform, remoteAddress: post.sourceIp, statusCode: status, responseTime: Math.round(performance.now() - post.started) }, 'cdr post');
  };

  // A machine client gets JSON it can act on, never the portal's HTML error page. Only a passing
  // fault (the database out of reach) answers 503: what the content causes is refused with a 4xx.
  const failed = (res: ServerResponse, id: string, err: unknown) => {
    if ((err as { code?: string }).code === 'ECONNABORTED') {
      // The switch gave up on its post: nothing was stored, and there is no one to answer.
      logger.info({ reqId: id }, 'cdr post aborted by the client');
      return void res.destroy();
    }
    logger.error({ err, reqId: id }, 'cdr post failed');
    if (res.headersSent) return void res.destroy();
    refuse(res, 'unavailable', 'the post could not be stored and nothing of it was acknowledged; send it again');
  };

  const handler = (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    // Only POST to the path itself; anything else is the portal's (a 404 or 405 there).
    const url = req.url ?? '';
    const q = url.indexOf('?');
    if (req.method !== 'POST' || (q < 0 ? url : url.slice(0, q)) !== INTAKE_PATH) return next();
    const post: Post = { id: requestIdOf(req), started: performance.now() };
    res.setHeader('X-Request-Id', post.id);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.once('finish', () => logPost(post, res.statusCode));
    handle(req, res, post).catch((err) => failed(res, post.id, err));
  };
  return Object.assign(handler, { probe: () => intake.probe(), warm: () => intake.warm(), close: () => intake.close() });
}
