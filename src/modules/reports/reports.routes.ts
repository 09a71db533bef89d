import { Router, type Request, type Response } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import type { Db } from '../../db/knex';
import { BadRequestError } from '../../domain/errors';
import { sendListCsv, type Column } from '../../web/lists';
import { idParam } from '../../web/params';
import { scope, timeZoneOf } from '../../web/principal';
import { viewHelpers } from '../../web/render';
import { reportQuery } from './reports.schemas';
import * as service from './reports.service';

/** A table's columns for the shared CSV writer: each cell's text, as the page shows it. */
function csvColumns(t: service.ReportTable): Array<Column<string[]>> {
  return t.columns.map((c, i) => ({ label: c.label, num: c.num, text: (row: string[]) => row[i] ?? '' }));
}

/**
 * The reports (issue 12): the operator's wholesale report (its staff; support reads it like
 * everything else) and a reseller's report of its own subscribers (its admin and support). Each
 * is one page of tables, and each table a CSV of the same cells at <page>/<table>.csv with the
 * page's period (?from=&to=, local dates of the viewer's party zone).
 */
export function reportRoutes({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);

  const portals = [
    { portal: 'wholesale', tables: service.WHOLESALE_TABLES, build: service.wholesaleReport, title: 'Wholesale report' },
    { portal: 'reseller', tables: service.RESELLER_TABLES, build: service.resellerReport, title: 'Report' },
  ] as const;

  for (const p of portals) {
    const base = `/${p.portal}/reports`;
    const build = p.build as (db: Db, s: ReturnType<typeof scope>, asked: { from?: string; to?: string }, tz: string, only?: string) => Promise<service.Report>;

    r.get(base, async (req, res) => {
      const q = reportQuery.parse(req.query);
      const report = await build(db, scope(req), q, timeZoneOf(req));
      const period = { from: report.period.from, to: report.period.to };
      res.page('reports/report', {
        title: p.title, base, report, shortcuts: service.periodShortcuts(timeZoneOf(req)),
        csvHref: (id: string) => `${base}/${id}.csv${viewHelpers.query(period)}`,
        accountingHref: `${base}/accounting${viewHelpers.query(period)}`,
      });
    });

    for (const id of p.tables) {
      r.get(`${base}/${id}.csv`, async (req: Request, res: Response) => {
        const q = reportQuery.parse(req.query);
        await sendTable(req, res, `${p.portal}-${id}`, await build(db, scope(req), q, timeZoneOf(req), id));
      });
    }
  }

  // Operator staff open one reseller's report (what its own people see), in their own zone.
  const one = '/wholesale/resellers/:resellerId/reports';
  r.get(one, async (req, res) => {
    const q = reportQuery.parse(req.query);
    const id = idParam(req, 'resellerId');
    const report = await service.resellerReportFor(db, scope(req), id, q, timeZoneOf(req));
    const base = `/wholesale/resellers/${id}/reports`;
    const period = { from: report.period.from, to: report.period.to };
    res.page('reports/report', {
      title: `Report: ${report.reseller?.name ?? ''}`, base, report, shortcuts: service.periodShortcuts(timeZoneOf(req)),
      csvHref: (table: string) => `${base}/${table}.csv${viewHelpers.query(period)}`,
      accountingHref: `/wholesale/reports/accounting${viewHelpers.query({ ...period, reseller: id })}`,
    });
  });
  for (const table of service.RESELLER_TABLES) {
    r.get(`${one}/${table}.csv`, async (req, res) => {
      const q = reportQuery.parse(req.query);
      const report = await service.resellerReportFor(db, scope(req), idParam(req, 'resellerId'), q, timeZoneOf(req), table);
      await sendTable(req, res, `reseller-${report.reseller?.id}-${table}`, report);
    });
  }

  return r;
}

/** One table of a report as its CSV: its rows, then its totals. */
async function sendTable(req: Request, res: Response, name: string, report: service.Report): Promise<void> {
  // A period that cannot be read: say so, never answer another period's figures under this name.
  if (report.problem) throw new BadRequestError(report.problem);
  const table = report.tables[0] as service.ReportTable;
  await sendListCsv(req, res, `${name}-${report.period.from}-to-${report.period.to}`, csvColumns(table), [...table.rows, ...table.totals]);
}
