import { readFile } from 'node:fs/promises';
import { Router, type Request } from 'express';
import { z } from 'zod';
import type { Db } from '../../db/knex';
import { BadRequestError } from '../../domain/errors';
import { ROUTER_OPTIONS } from '../../web/router';
import { idParam } from '../../web/params';
import { flash } from '../../web/render';
import { listView, sendListCsv, type Column } from '../../web/lists';
import { BodyError, decodeBody, MAX_BODY_BYTES } from '../intake/body';
import * as service from './carrier-data.service';

const BASE = '/wholesale/carriers';

const fileListQuery = z.object({
  status: z.enum(['stored', 'refused']).optional().catch(undefined),
  sort: z.string().trim().max(40).regex(/^[a-z_]+$/).optional().catch(undefined),
  dir: z.enum(['asc', 'desc']).optional().catch(undefined),
  cursor: z.string().max(1000).optional().catch(undefined),
});

const size = (n: number) => (n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} kB` : `${(n / 1024 / 1024).toFixed(1)} MB`);

/** A carrier's received files: the page's table and its CSV. */
const fileColumns = (carrierId: number): Array<Column<service.CarrierFile>> => [
  { label: 'Received', sort: 'received', text: (f, h) => h.dateTime(f.receivedAt), href: (f) => `${BASE}/${carrierId}/files/${f.id}` },
  { label: 'How', sort: 'via', text: (f) => (f.via === 'upload' ? `upload${f.uploadedByName ? ` by ${f.uploadedByName}` : ''}` : `post${f.sourceIp ? ` from ${f.sourceIp}` : ''}`) },
  { label: 'File', sort: 'filename', text: (f) => f.filename ?? '' },
  { label: 'Status', sort: 'status', style: 'status', text: (f) => f.status },
  { label: 'Records stored', sort: 'records', num: true, text: (f) => String(f.records) },
  { label: 'Duplicates', sort: 'duplicates', num: true, text: (f) => String(f.duplicates) },
  { label: 'Bad rows', sort: 'bad', num: true, text: (f) => String(f.badRows) },
  { label: 'Skipped', num: true, text: (f) => String(f.skipped) },
  { label: 'Size', sort: 'size', num: true, text: (f) => size(f.byteSize) },
  { label: 'Error', text: (f) => f.error ?? '' },
];

/** What a file came to, for the flash after an upload. */
function outcomeText(o: service.CarrierFileOutcome): string {
  if (o.status === 'refused') return `The file was kept but could not be read: ${o.error}`;
  const n = (k: number, one: string, many: string) => `${k} ${k === 1 ? one : many}`;
  return `${n(o.records, 'record', 'records')} stored, ${n(o.duplicates, 'duplicate', 'duplicates')} (already stored), ${n(o.badRowCount, 'bad row', 'bad rows')}, ${o.skipped} skipped.`;
}

/**
 * Wholesale portal: an LD carrier's billing files on its page (issue 13). Staff upload a file the
 * carrier sent by mail (stored exactly as a post would be, via 'upload'); every file received, by
 * post or upload, is listed with its outcome, its bad rows and its bytes as received.
 */
export function carrierDataRoutes({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);

  async function fileList(req: Request, carrierId: number) {
    const filter = fileListQuery.parse(req.query);
    const page = await service.listFiles(db, carrierId, filter);
    const t = page.totals;
    return listView({
      columns: fileColumns(carrierId), ...page, filter, path: `${BASE}/${carrierId}/files`, rowKey: 'carrier-file', noun: ['file', 'files'],
      totalLines: [`${t.records ?? '0'} records stored, ${t.duplicates ?? '0'} duplicates, ${t.bad_rows ?? '0'} bad rows, ${t.skipped ?? '0'} skipped`, `${t.refused ?? '0'} refused`, `${size(Number(t.bytes ?? 0))} received`],
    });
  }

  r.get(`${BASE}/:carrierId/files`, async (req, res) => {
    const carrier = await service.carrierOrThrow(db, idParam(req, 'carrierId'));
    const list = await fileList(req, carrier.id);
    res.page('carrier-data/files', { title: `${carrier.name}: files received`, base: BASE, carrier, list, filter: list.filter });
  });

  r.get(`${BASE}/:carrierId/files.csv`, async (req, res) => {
    const carrier = await service.carrierOrThrow(db, idParam(req, 'carrierId'));
    const filter = fileListQuery.parse(req.query);
    await sendListCsv(req, res, `carrier-${carrier.id}-files`, fileColumns(carrier.id), service.allFiles(db, carrier.id, filter));
  });

  r.post(`${BASE}/:carrierId/files`, async (req, res) => {
    const carrier = await service.carrierOrThrow(db, idParam(req, 'carrierId'));
    if (!req.file?.path) throw new BadRequestError('Choose the carrier’s file to upload.');
    const raw = await readFile(req.file.path);
    const meta = { via: 'upload' as const, filename: req.file.originalname || null, contentType: req.file.mimetype || null, uploadedBy: req.user?.id ?? null };
    let outcome: service.CarrierFileOutcome;
    try {
      // A .gz file as the carrier sent it is read as its content.
      const text = await decodeBody(raw, {}, MAX_BODY_BYTES, { sniffGzip: true });
      outcome = await service.receiveCarrierFile(db, carrier, { ...meta, raw, text });
    } catch (err) {
      if (!(err instanceof BodyError)) throw err;
      outcome = await service.refuseCarrierFile(db, carrier, { ...meta, raw }, err.message);
    }
    flash(req, outcome.status === 'refused' ? 'error' : 'success', outcomeText(outcome));
    res.redirect(303, `${BASE}/${carrier.id}/files/${outcome.fileId}`);
  });

  r.get(`${BASE}/:carrierId/files/:carrierFileId`, async (req, res) => {
    const carrier = await service.carrierOrThrow(db, idParam(req, 'carrierId'));
    const file = await service.fileOrThrow(db, carrier.id, idParam(req, 'carrierFileId'));
    const badRows = await service.badRowsOf(db, file.id, 5000);
    res.page('carrier-data/file', { title: `${carrier.name}: file ${file.id}`, base: BASE, carrier, file, badRows, size });
  });

  r.get(`${BASE}/:carrierId/files/:carrierFileId/download`, async (req, res) => {
    const carrier = await service.carrierOrThrow(db, idParam(req, 'carrierId'));
    const file = await service.fileOrThrow(db, carrier.id, idParam(req, 'carrierFileId'));
    const body = await service.fileBodyOrThrow(db, carrier.id, file.id);
    // The bytes as received (gzip left as it came): a download, never shown inline.
    const name = (file.filename ?? `carrier-${carrier.id}-file-${file.id}${file.contentEncoding?.includes('gzip') || (body[0] === 0x1f && body[1] === 0x8b) ? '.gz' : ''}`).replace(/[^\w.\- ]/g, '_');
    res.type('application/octet-stream').attachment(name).send(body);
  });

  return r;
}
