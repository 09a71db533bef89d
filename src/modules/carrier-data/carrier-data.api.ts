import { Router, type Request, type Response } from 'express';
import type { Db } from '../../db/knex';
import { API_MOUNT } from '../../web/api';
import { errorHandler, notFoundHandler } from '../../web/errors';
import { problem, sendProblem } from '../../web/problems';
import { ROUTER_OPTIONS } from '../../web/router';
import { BodyError, decodeBody, MAX_BODY_BYTES, readRawBody } from '../intake/body';
import * as service from './carrier-data.service';

/** Where LD carriers post their billing data: in front of the general API router, with their own credentials. */
export const CARRIER_DATA_API = `${API_MOUNT}/carrier-data`;

/** Posts of one carrier being read or stored at once: a carrier sends a file a day or a stream of small chunks, never hundreds at a time. */
export const CARRIER_POSTS_IN_FLIGHT = 8;

const BEARER = /^Bearer +(\S+)$/i;

function challenge(res: Response): void {
  res.set('WWW-Authenticate', 'Bearer realm="carrier-data"');
}

/** The answer for a file, stored or refused: what was committed, nothing more. */
export function outcomeJson(o: service.CarrierFileOutcome) {
  return {
    file_id: o.fileId, file_status: o.status, records: o.records, duplicates: o.duplicates, skipped: o.skipped,
    bad_row_count: o.badRowCount, bad_rows: o.badRows.map((b) => ({ line: b.line, reason: b.reason })),
    ...(o.error ? { error: o.error } : {}),
  };
}

/**
 * `POST /api/v1/carrier-data`: an LD carrier's billing file, or a chunk of its stream, in the
 * carrier's format (docs/CARRIER-FORMATS.md), with its posting credential (`Authorization: Bearer
 * ldc_…`) from an allowed address. The body may be gzip (Content-Encoding: gzip, or a raw gzip
 * body as DIDWW's stream sends); at most MAX_BODY_BYTES as sent and once decompressed. Answered
 * after the commit: 200 with the file's id and counts (bad rows by line and reason), 422 when the
 * file cannot be read at all (kept as refused all the same). Errors are problem details.
 */
export function carrierDataApi({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);
  const inFlight = new Map<number, number>();

  r.post('/', async (req: Request, res: Response) => {
    const token = BEARER.exec(req.get('authorization') ?? '')?.[1];
    if (!token) {
      challenge(res);
      return sendProblem(res, problem(req, 401, 'Send the carrier’s posting credential: Authorization: Bearer ldc_…'));
    }
    const auth = await service.carrierByCredential(db, token, req.ip);
    if (!auth.ok) {
      if (auth.reason === 'unknown') {
        challenge(res);
        return sendProblem(res, problem(req, 401, 'This posting credential is not valid.'));
      }
      res.set('Connection', 'close');
      return sendProblem(res, problem(req, 403, auth.reason === 'inactive' ? 'This carrier is not active: its posts are refused.' : `Address ${req.ip} is not allowed to post for this carrier.`));
    }
    const carrier = auth.carrier;
    const busy = inFlight.get(carrier.id) ?? 0;
    if (busy >= CARRIER_POSTS_IN_FLIGHT) {
      res.set('Retry-After', '2').set('Connection', 'close');
      return sendProblem(res, problem(req, 429, `${carrier.name} has ${busy} posts in flight, the most it may: send this one again in a few seconds.`));
    }
    inFlight.set(carrier.id, busy + 1);
    try {
      const meta = { via: 'post' as const, contentType: req.get('content-type') ?? null, contentEncoding: req.get('content-encoding') ?? null, sourceIp: req.ip ?? null };
      let raw: Buffer;
      try {
        raw = await readRawBody(req, MAX_BODY_BYTES);
      } catch (err) {
        if (!(err instanceof BodyError)) throw err;
        res.set('Connection', 'close');
        return sendProblem(res, problem(req, 413, err.message));
      }
      let text: string;
      try {
        text = await decodeBody(raw, { contentEncoding: req.headers['content-encoding'], contentType: req.headers['content-type'] }, MAX_BODY_BYTES, { sniffGzip: true });
      } catch (err) {
        if (!(err instanceof BodyError)) throw err;
        if (err.refusal === 'too-large') return sendProblem(res, problem(req, 413, err.message));
        // Kept as received, refused with the reason: the carrier's people can see what arrived.
        const refused = await service.refuseCarrierFile(db, carrier, { ...meta, raw }, err.message);
        return sendProblem(res, { ...outcomeJson(refused), ...problem(req, err.refusal === 'unsupported' ? 415 : 422, err.message) });
      }
      const outcome = await service.receiveCarrierFile(db, carrier, { ...meta, raw, text });
      if (outcome.status === 'refused') return sendProblem(res, { ...outcomeJson(outcome), ...problem(req, 422, outcome.error ?? undefined) });
      res.status(200).json(outcomeJson(outcome));
    } finally {
      const n = (inFlight.get(carrier.id) ?? 1) - 1;
      if (n > 0) inFlight.set(carrier.id, n);
      else inFlight.delete(carrier.id);
    }
  });

  r.use(notFoundHandler);
  r.use(errorHandler);
  return r;
}
