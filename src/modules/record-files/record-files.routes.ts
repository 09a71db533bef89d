import { Readable } from 'node:stream';
import { Router, type Request, type Response } from 'express';
import type { Db } from '../../db/knex';
import { z } from 'zod';
import { listParams } from '../../domain/fields';
import { moneyText } from '../../domain/packages/feature-packages';
import { parseRecordSpec } from '../../domain/records';
import { formatDateTime } from '../../domain/time/zones';
import { idParam } from '../../web/params';
import { actor, principal, resellerIdOf, scope, timeZoneOf } from '../../web/principal';
import { listView, sendListCsv, type Column } from '../../web/lists';
import { flash } from '../../web/render';
import { ROUTER_OPTIONS } from '../../web/router';
import { getOrThrow as getReseller } from '../resellers/resellers.service';
import type { SecretBox } from '../auth/secret-box';
import { getSpecOrThrow } from '../record-specs/record-specs.service';
import { deliveriesOf, pushTargetOf, sendAgain } from './record-files.push';
import type { OutboundPolicy } from '../../web/outbound';
import * as service from './record-files.service';
import { FieldErrors } from '../../domain/errors';

const fileListQuery = z.object({ ...listParams });

/** A side's totals as text, each currency apart ("0.3170 USD, 2.50 EUR"), exact. */
const totalsText = (side: Record<string, string> | undefined, h: { money(v: string): string }) =>
  Object.keys(side ?? {}).sort().map((c) => `${h.money((side as Record<string, string>)[c] as string)} ${c}`).join(', ');

/** The list's columns (the page's table and its CSV); times in the viewer's zone, each with its abbreviation. */
function fileColumns(path: string): Array<Column<service.RecordFileRow>> {
  return [
    { label: 'No.', sort: 'number', num: true, text: (f) => String(f.number) },
    { label: 'Specification', sort: 'spec', text: (f) => f.specName },
    { label: 'Period from', sort: 'period', text: (f, h) => h.dateTime(f.periodStart) },
    { label: 'to', text: (f, h) => h.dateTime(f.periodEnd) },
    { label: 'Records', sort: 'records', num: true, text: (f) => String(f.records) },
    { label: 'Corrections', sort: 'corrections', num: true, text: (f) => String(f.corrections) },
    { label: 'Wholesale totals', text: (f, h) => totalsText(f.totals.wholesale, h) },
    { label: 'Retail totals', text: (f, h) => totalsText(f.totals.retail, h) },
    { label: 'File', text: (f) => f.filename, href: (f) => `${path}/${f.id}/download` },
    { label: 'Bytes', sort: 'size', num: true, text: (f) => String(f.byteSize) },
    { label: 'Closed', sort: 'closed', text: (f, h) => h.dateTime(f.closedAt) },
    { label: 'SHA-256', style: 'token', text: (f) => f.sha256 ?? '' },
  ];
}

/** Streams a closed file's chunks as a download. */
export async function sendRecordFile(db: Db, res: Response, file: service.RecordFileRow): Promise<void> {
  const spec = parseRecordSpec((await getSpecOrThrow(db, file.resellerId, file.specId)).spec);
  res.type(service.contentTypeOf(spec)).attachment(file.filename);
  res.set('Content-Length', String(file.byteSize));
  res.set('Digest', `sha-256=${Buffer.from(file.sha256 as string, 'hex').toString('base64')}`);
  await new Promise<void>((resolve, reject) => {
    Readable.from(service.fileBytes(db, file)).on('error', reject).pipe(res).on('finish', resolve).on('error', reject);
  });
}

/**
 * Record files in both portals: a reseller's people see their own (`/reseller/record-files`), the
 * operator's staff any reseller's (`/wholesale/resellers/:resellerId/record-files`); support roles
 * read and download only (the read-only guard refuses their posts). The record-files API keys are
 * made and revoked by the reseller's admins on the same page: shown once, stored hashed.
 */
export function recordFileRoutes({ db, box, outbound }: { db: Db; box: SecretBox; outbound: OutboundPolicy }): Router {
  const r = Router(ROUTER_OPTIONS);

  for (const portal of ['wholesale', 'reseller'] as const) {
    const base = portal === 'wholesale' ? '/wholesale/resellers/:resellerId/record-files' : '/reseller/record-files';
    async function owner(req: Request) {
      const reseller = await getReseller(db, scope(req), portal === 'wholesale' ? idParam(req, 'resellerId') : resellerIdOf(req));
      const path = portal === 'wholesale' ? `/wholesale/resellers/${reseller.id}/record-files` : '/reseller/record-files';
      return { reseller, path, portal };
    }

    /** The files of the list's order, counted, with the totals of every closed file (not only the page's). */
    async function fileList(req: Request, o: Awaited<ReturnType<typeof owner>>) {
      const filter = fileListQuery.parse(req.query);
      const [page, money] = await Promise.all([service.listFilePage(db, o.reseller.id, filter), service.fileTotals(db, o.reseller.id)]);
      const sums = (label: string, side: Array<[string, string]>) => (side.length ? [`${label}: ${side.map(([c, v]) => `${moneyText(v)} ${c}`).join(', ')}`] : []);
      return listView({
        columns: fileColumns(o.path), ...page, filter, path: o.path, rowKey: 'file', noun: ['record file', 'record files'],
        totalLines: [`Records: ${page.totals.records ?? '0'}`, `Corrections: ${page.totals.corrections ?? '0'}`, ...sums('Wholesale', money.wholesale), ...sums('Retail', money.retail)],
      });
    }

    async function list(req: Request, res: Response, newKey: { id: number; key: string } | null = null, pushErrors: Record<string, string> = {}) {
      const o = await owner(req);
      const zone = o.reseller.timeZone ?? 'UTC';
      const list = await fileList(req, o);
      const keys = portal === 'reseller' ? await service.listKeys(db, o.reseller.id) : [];
      const push = await pushTargetOf(db, o.reseller.id);
      const deliveries = (await deliveriesOf(db, o.reseller.id)).map((d) => ({ ...d, nextAt: formatDateTime(d.nextAt, timeZoneOf(req)), attempts: d.attempts.map((a) => ({ ...a, at: formatDateTime(a.at, timeZoneOf(req)) })) }));
      res.page('record-files/list', { title: portal === 'wholesale' ? `${o.reseller.name}: record files` : 'Record files', ...o, list, keys, newKey, zone, push, deliveries, pushErrors });
    }

    r.get(`${base}.csv`, async (req, res) => {
      const o = await owner(req);
      const filter = fileListQuery.parse(req.query);
      await sendListCsv(req, res, 'record-files', fileColumns(o.path), service.allFiles(db, o.reseller.id, filter));
    });

    r.get(base, (req, res) => list(req, res));

    r.get(`${base}/:recordFileId/download`, async (req, res) => {
      const o = await owner(req);
      await sendRecordFile(db, res, await service.closedFileOrThrow(db, o.reseller.id, idParam(req, 'recordFileId')));
    });

    if (portal === 'reseller') {
      // A key is shown once, on the page this post answers (never stored but as its hash).
      r.post(`${base}/keys`, async (req, res) => {
        const resellerId = resellerIdOf(req);
        const label = typeof req.body?.label === 'string' ? req.body.label : '';
        const made = await service.issueKey(db, actor(req), resellerId, label, principal(req).id);
        await list(req, res, made);
      });

      // The push address and its shared secret (the secret is never shown again; blank keeps it).
      r.post(`${base}/push`, async (req, res) => {
        const resellerId = resellerIdOf(req);
        const url = typeof req.body?.url === 'string' ? req.body.url : '';
        const secret = typeof req.body?.secret === 'string' ? req.body.secret : '';
        try {
          await service.savePushTarget(db, box, actor(req), resellerId, { url, secret }, outbound);
        } catch (err) {
          if (!(err instanceof FieldErrors)) throw err;
          res.status(422);
          return list(req, res, null, err.fields);
        }
        flash(req, 'success', url.trim() ? 'Closed files will be pushed to that address.' : 'The push is off.');
        res.redirect(303, base);
      });

      r.post(`${base}/:recordFileId/push`, async (req, res) => {
        try {
          await sendAgain(db, resellerIdOf(req), idParam(req, 'recordFileId'));
          flash(req, 'success', 'The file will be sent again.');
        } catch (err) {
          if (!(err instanceof FieldErrors)) throw err;
          flash(req, 'error', 'Set a push address first.');
        }
        res.redirect(303, base);
      });

      r.post(`${base}/keys/:recordFileKeyId/revoke`, async (req, res) => {
        const resellerId = resellerIdOf(req);
        const id = idParam(req, 'recordFileKeyId');
        const revoked = await service.withdrawKey(db, actor(req), resellerId, id);
        flash(req, revoked ? 'success' : 'error', revoked ? 'The key is revoked.' : 'The key was revoked already.');
        res.redirect(303, base);
      });
    }
  }
  return r;
}
