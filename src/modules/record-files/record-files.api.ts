import { Router } from 'express';
import { z } from 'zod';
import type { Db } from '../../db/knex';
import { BadRequestError } from '../../domain/errors';
import { API_MOUNT, bearerAuth } from '../../web/api';
import { errorHandler, notFoundHandler } from '../../web/errors';
import { idParam } from '../../web/params';
import { resellerIdOf } from '../../web/principal';
import { ROUTER_OPTIONS } from '../../web/router';
import { sendRecordFile } from './record-files.routes';
import * as service from './record-files.service';

/** Where the record-files API is mounted: in front of the general API router, with its own keys. */
export const RECORD_FILES_API = `${API_MOUNT}/record-files`;

const listQuery = z.object({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
}).strict();

/**
 * `GET /api/v1/record-files?after=<number>`: the reseller's closed files after the file number it
 * took last (0: from the first), oldest first, with a download address; `next_after` is the cursor
 * to send next time (numbers are given at each file's close, gapless and in commit order, so
 * nothing is skipped or listed twice). `GET /api/v1/record-files/:id/content`: the file's bytes.
 *
 * The key is narrow on purpose: a record-files key (`rfk_…`, made in the reseller portal, stored
 * as SHA-256) is accepted here and nowhere else, and acts as its reseller's read-only support role;
 * general API keys are issue 14.
 */
export function recordFilesApi({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);
  r.use(bearerAuth(async (token) => {
    const resellerId = await service.resellerOfKey(db, token);
    if (resellerId === undefined) return undefined;
    const reseller = await db('resellers').where({ id: resellerId }).first('name', 'status', 'time_zone');
    return {
      id: 0, email: 'record-files-key', name: 'Record files key', role: 'reseller_support', resellerId, resellerName: reseller?.name ?? null, subscriberId: null,
      totpEnabled: false, timeZone: reseller?.time_zone ?? 'UTC', refusal: reseller?.status === 'active' ? undefined : 'reseller_suspended',
    };
  }));

  r.get('/', async (req, res) => {
    const q = listQuery.safeParse(req.query);
    if (!q.success) throw new BadRequestError('after and limit are whole numbers (after: the last file number you took, 0 for the first)');
    const files = await service.filesAfter(db, resellerIdOf(req), q.data.after, q.data.limit);
    res.json({
      files: files.map((f) => ({
        number: f.number, id: f.id, specification: { id: f.specId, name: f.specName }, filename: f.filename,
        period_start: f.periodStart.toISOString(), period_end: f.periodEnd.toISOString(), records: f.records, corrections: f.corrections,
        totals: f.totals, bytes: f.byteSize, sha256: f.sha256, closed_at: f.closedAt?.toISOString() ?? null,
        download_url: `${RECORD_FILES_API}/${f.id}/content`,
      })),
      next_after: files.length ? files[files.length - 1]!.number : q.data.after,
    });
  });

  r.get('/:recordFileId/content', async (req, res) => {
    await sendRecordFile(db, res, await service.closedFileOrThrow(db, resellerIdOf(req), idParam(req, 'recordFileId')));
  });

  r.use(notFoundHandler);
  r.use(errorHandler);
  return r;
}
