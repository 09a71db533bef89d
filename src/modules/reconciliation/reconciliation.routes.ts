import { Router, type Request, type Response } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import type { Db } from '../../db/knex';
import { Decimal } from '../../domain/money/decimal';
import { RECON_CLASSES, type ReconClass, type ReconClassTotal } from '../../domain/reconciliation/reconcile';
import { addDays, localDate, startOfLocalDay } from '../../domain/time/zones';
import { csvWriter } from '../csv/csv-writer';
import { idParam } from '../../web/params';
import { flash } from '../../web/render';
import * as carriers from '../carriers/carriers.service';
import { CLASS_LABELS, itemQuery, periodForm, reportQuery } from './reconciliation.schemas';
import * as service from './reconciliation.service';
import type { JobKinds } from '../jobs/jobs.service';
import { actor } from '../../web/principal';

const BASE = '/wholesale/carriers';
const PAGE_SIZE = 500;

type Helpers = { dateTime(d: Date | null): string; timeZone: string };

const money = (m: Record<string, string>): string => Object.entries(m).map(([cur, v]) => `${v} ${cur}`).join('; ') || '0';

/** The columns of a run's items: the drill-down list and every CSV of it. */
const ITEM_COLUMNS: Array<{ label: string; num?: boolean; text(i: service.ReconItemRow, h: Helpers): string }> = [
  { label: 'Class', text: (i) => CLASS_LABELS[i.class] },
  { label: 'Called', text: (i) => i.called },
  { label: 'Our start', text: (i, h) => (i.legStart ? h.dateTime(i.legStart) : '') },
  { label: 'Carrier start', text: (i, h) => (i.recordStart ? h.dateTime(i.recordStart) : '') },
  { label: 'Our seconds', num: true, text: (i) => (i.ourSeconds === null ? '' : String(i.ourSeconds)) },
  { label: 'Carrier seconds', num: true, text: (i) => (i.carrierSeconds === null ? '' : String(i.carrierSeconds)) },
  { label: 'Seconds difference', num: true, text: (i) => (i.secondsDifference === null ? '' : String(i.secondsDifference)) },
  { label: 'Our expected cost', num: true, text: (i) => i.expectedCost ?? '' },
  { label: 'Carrier cost', num: true, text: (i) => i.carrierCost ?? '' },
  { label: 'Cost difference', num: true, text: (i) => i.costDifference ?? '' },
  { label: 'Our deck rate', num: true, text: (i) => i.deckRate ?? '' },
  { label: 'Carrier rate', num: true, text: (i) => i.carrierRate ?? '' },
  { label: 'Currency', text: (i) => i.currency },
  { label: 'Money at stake', num: true, text: (i) => i.moneyAtStake },
  { label: 'Destination', text: (i) => i.destination ?? '' },
  { label: 'Leg', text: (i) => i.legId ?? '' },
  { label: 'Carrier record', text: (i) => i.recordKey ?? '' },
];

/** One table row per class of a breakdown group, and the group's totals. */
function classCells(byClass: Record<ReconClass, ReconClassTotal>) {
  return RECON_CLASSES.map((c) => ({ count: byClass[c].count, money: money(byClass[c].moneyAtStake) }));
}

function totalsOf(rows: Array<{ class: ReconClass; currency: string; n: number; money: string }>): Record<ReconClass, ReconClassTotal> {
  const out = {} as Record<ReconClass, ReconClassTotal>;
  for (const c of RECON_CLASSES) out[c] = { count: 0, moneyAtStake: {} };
  for (const r of rows) {
    out[r.class].count += Number(r.n);
    out[r.class].moneyAtStake[r.currency.trim()] = new Decimal(r.money).toFixed();
  }
  return out;
}

/** Sum of a totals object's money per currency, over the given classes. */
function sumMoney(byClass: Record<ReconClass, ReconClassTotal>, classes: readonly ReconClass[] = RECON_CLASSES): Record<string, string> {
  const sums = new Map<string, Decimal>();
  for (const c of classes) for (const [cur, v] of Object.entries(byClass[c].moneyAtStake)) sums.set(cur, (sums.get(cur) ?? new Decimal(0)).plus(v));
  return Object.fromEntries([...sums].map(([k, v]) => [k, v.toFixed()]));
}

/** A report table's totals: calls and minutes, money per currency (never added across currencies). */
function reportSums(rows: service.CarrierReportRow[]) {
  const add = (f: (r: service.CarrierReportRow) => string | null) => {
    const m = new Map<string, Decimal>();
    for (const r of rows) {
      const v = f(r);
      if (!v) continue;
      const [amount, cur] = v.split(' ');
      m.set(cur ?? '', (m.get(cur ?? '') ?? new Decimal(0)).plus(amount!));
    }
    return [...m].map(([cur, v]) => `${v.toFixed()} ${cur}`).join('; ');
  };
  return {
    calls: rows.reduce((n, r) => n + r.calls, 0),
    minutes: new Decimal(rows.reduce((n, r) => n + r.seconds, 0)).dividedBy(60).toDecimalPlaces(2).toFixed(2),
    cost: add((r) => r.cost), wholesale: add((r) => r.wholesale), retail: add((r) => r.retail), margin: add((r) => r.margin),
  };
}

async function sendItemsCsv(req: Request, res: Response, name: string, items: service.ReconItemRow[], totals: Record<ReconClass, ReconClassTotal>): Promise<void> {
  const h = res.locals.h as Helpers;
  res.type('text/csv').attachment(`${name}.csv`);
  const out = csvWriter(ITEM_COLUMNS.map((c) => (c.label === 'Our start' || c.label === 'Carrier start' ? `${c.label} (${h.timeZone})` : c.label)));
  out.pipe(res);
  for (const i of items) {
    if (!out.write(ITEM_COLUMNS.map((c) => c.text(i, h)))) await new Promise((resolve) => out.once('drain', resolve));
  }
  // Totals: one line per class present, then the whole.
  for (const c of RECON_CLASSES) {
    if (totals[c].count === 0) continue;
    out.write(ITEM_COLUMNS.map((col, k) => (k === 0 ? `Total: ${CLASS_LABELS[c]}` : col.label === 'Money at stake' ? money(totals[c].moneyAtStake) : col.label === 'Called' ? `${totals[c].count} items` : '')));
  }
  const count = RECON_CLASSES.reduce((n, c) => n + totals[c].count, 0);
  out.write(ITEM_COLUMNS.map((col, k) => (k === 0 ? 'Total' : col.label === 'Money at stake' ? money(sumMoney(totals)) : col.label === 'Called' ? `${count} items` : '')));
  out.end();
  void req;
}

/**
 * Wholesale portal: an LD carrier's reconciliation (issue 13): the runs, running one (admins; a
 * read-only role is refused by readOnlyGuard), a run's discrepancy report with its drill-down, and
 * the CSVs (the run's items, the dispute file).
 */
export function reconciliationRoutes({ db, jobs, inlineMax }: { db: Db; jobs: JobKinds; inlineMax?: number }): Router {
  const r = Router(ROUTER_OPTIONS);

  // Reports by LD carrier (issue 13). Registered before the carriers' own routes (app.ts), so
  // "report" is never read as a carrier id.
  const REPORT_TABLES = { carriers: 'carrier', days: 'day', destinations: 'destination' } as const;
  const REPORT_COLUMNS = ['Carrier', 'Key', 'Calls', 'Minutes', 'Expected carrier cost', 'Billed wholesale', 'Billed retail', 'Margin (wholesale - cost)'];

  async function carrierReportOf(req: Request, res: Response) {
    const zone = res.locals.timeZone as string;
    const q = reportQuery.parse(req.query);
    const today = localDate(Date.now(), zone);
    const from = q.from ?? addDays(today, -29);
    const to = q.to && q.to >= from ? q.to : today;
    const carrierRow = q.carrier ? await carriers.getOrThrow(db, q.carrier) : undefined;
    const period = { fromMs: startOfLocalDay(from, zone), toMs: startOfLocalDay(addDays(to, 1), zone), zone, carrier: carrierRow?.name };
    return { zone, from, to, carrier: carrierRow, period };
  }

  r.get(`${BASE}/report`, async (req, res) => {
    const { zone, from, to, carrier, period } = await carrierReportOf(req, res);
    const [byCarrier, byDay, byDestination] = await Promise.all(
      (['carrier', 'day', 'destination'] as const).map((by) => service.carrierReport(db, { ...period, by })),
    );
    // The chart: calls and minutes per day (all carriers of the page), and the expected cost and wholesale billed per day and currency.
    const days = [...new Set(byDay!.map((r) => r.key))].sort();
    const sumBy = (day: string, f: (r: service.CarrierReportRow) => string, cur: string) =>
      byDay!.filter((r) => r.key === day && f(r).endsWith(` ${cur}`)).reduce((s, r) => s.plus(f(r).split(' ')[0]!), new Decimal(0)).toFixed();
    const costCurrencies = [...new Set(byDay!.flatMap((r) => [r.cost, r.wholesale]).filter(Boolean).map((v) => v.split(' ')[1]!))];
    const chart = {
      labels: days,
      calls: days.map((d) => byDay!.filter((r) => r.key === d).reduce((n, r) => n + r.calls, 0)),
      minutes: days.map((d) => byDay!.filter((r) => r.key === d).reduce((s, r) => s.plus(r.minutes), new Decimal(0)).toNumber()),
      money: costCurrencies.flatMap((cur) => [
        { label: `Expected carrier cost (${cur})`, values: days.map((d) => sumBy(d, (r) => r.cost, cur)) },
        { label: `Billed wholesale (${cur})`, values: days.map((d) => sumBy(d, (r) => r.wholesale, cur)) },
      ]),
    };
    res.page('reconciliation/carrier-report', {
      title: 'Traffic by LD carrier', base: BASE, zone, from, to, carrier, carriers: await carriers.listCarriers(db),
      tables: [
        { id: 'carriers', title: 'Per carrier', rows: byCarrier },
        { id: 'days', title: `Per carrier and day (${zone})`, rows: byDay },
        { id: 'destinations', title: 'Per carrier and destination', rows: byDestination },
      ],
      chart, columns: REPORT_COLUMNS, sumColumn: reportSums,
    });
  });

  r.get(`${BASE}/report.csv`, async (req, res) => {
    const { period } = await carrierReportOf(req, res);
    const table = (req.query.table as keyof typeof REPORT_TABLES) in REPORT_TABLES ? (req.query.table as keyof typeof REPORT_TABLES) : 'carriers';
    const rows = await service.carrierReport(db, { ...period, by: REPORT_TABLES[table] });
    res.type('text/csv').attachment(`carrier-report-${table}.csv`);
    const out = csvWriter(REPORT_COLUMNS);
    out.pipe(res);
    for (const row of rows) out.write([row.carrier, row.key, row.calls, row.minutes, row.cost, row.wholesale, row.retail, row.margin ?? '']);
    const t = reportSums(rows);
    out.write(['Total', '', t.calls, t.minutes, t.cost, t.wholesale, t.retail, t.margin]);
    out.end();
  });

  r.get(`${BASE}/:carrierId/reconciliation`, async (req, res) => {
    const carrier = await carriers.getOrThrow(db, idParam(req, 'carrierId'));
    const runs = await service.listRuns(db, carrier.id);
    const zone = res.locals.timeZone as string;
    // The default period: last month in the viewer's zone.
    const today = localDate(Date.now(), zone);
    const firstOfMonth = `${today.slice(0, 7)}-01`;
    const lastMonthStart = `${localDate(startOfLocalDay(firstOfMonth, zone) - 86_400_000, zone).slice(0, 7)}-01`;
    res.page('reconciliation/runs', {
      title: `${carrier.name}: reconciliation`, base: BASE, carrier, runs, classLabels: CLASS_LABELS, classes: RECON_CLASSES, money, sumMoney,
      values: { from: lastMonthStart, to: addDays(firstOfMonth, -1) },
    });
  });

  r.post(`${BASE}/:carrierId/reconciliation`, async (req, res) => {
    const carrier = await carriers.getOrThrow(db, idParam(req, 'carrierId'));
    const parsed = periodForm.safeParse(req.body);
    const zone = res.locals.timeZone as string;
    if (!parsed.success || parsed.data.to < parsed.data.from) {
      flash(req, 'error', 'Give the first and last day of the period, the last not before the first.');
      return res.redirect(303, `${BASE}/${carrier.id}/reconciliation`);
    }
    const from = startOfLocalDay(parsed.data.from, zone);
    const to = startOfLocalDay(addDays(parsed.data.to, 1), zone);
    // A large period runs as a job whose page shows its steps and ends with a link to the run.
    const started = await service.reconcileOrStart(db, jobs, actor(req), carrier.id, from, to, { periodLabel: `${parsed.data.from} to ${parsed.data.to}`, inlineMax });
    if ('jobId' in started) return res.redirect(303, `/wholesale/jobs/${started.jobId}`);
    const { run } = started;
    flash(req, 'success', `Reconciled ${run.legs} legs and ${run.records} carrier records.`);
    res.redirect(303, `${BASE}/${carrier.id}/reconciliation/${run.id}`);
  });

  async function loadRun(req: Request) {
    const carrier = await carriers.getOrThrow(db, idParam(req, 'carrierId'));
    const run = await service.getRunOrThrow(db, carrier.id, idParam(req, 'runId'));
    return { carrier, run };
  }

  function filterOf(req: Request, res: Response) {
    const q = itemQuery.parse(req.query);
    const filter: service.ItemFilter = { zone: res.locals.timeZone as string };
    if (q.class) filter.classes = [q.class];
    if (q.destination !== undefined && q.destination !== '') filter.destination = q.destination === '-' ? null : q.destination;
    if (q.day) filter.day = q.day;
    return { q, filter };
  }

  r.get(`${BASE}/:carrierId/reconciliation/:runId`, async (req, res) => {
    const { carrier, run } = await loadRun(req);
    const zone = res.locals.timeZone as string;
    const { q, filter } = filterOf(req, res);
    const [byDestination, byDay, items, filtered, changes] = await Promise.all([
      service.breakdown(db, run.id, 'destination'),
      service.breakdown(db, run.id, 'day', zone),
      service.listItems(db, run.id, filter, q.sort, PAGE_SIZE, (q.page - 1) * PAGE_SIZE),
      service.filteredTotals(db, run.id, filter),
      service.changesSincePrevious(db, run),
    ]);
    const count = RECON_CLASSES.reduce((n, c) => n + filtered[c].count, 0);
    const days = byDay.map((g) => ({ key: g.key, cells: classCells(totalsOf(g.rows)) }));
    // The chart: count of discrepancies (everything but matched and equal) and money at stake per day.
    const currencies = [...new Set(byDay.flatMap((g) => g.rows.map((r) => r.currency.trim())))];
    const chart = {
      labels: byDay.map((g) => g.key),
      calls: byDay.map((g) => g.rows.filter((r) => r.class !== 'matched_equal').reduce((n, r) => n + Number(r.n), 0)),
      minutes: [],
      money: currencies.map((cur) => ({
        label: `Money at stake (${cur})`,
        values: byDay.map((g) => g.rows.filter((r) => r.currency.trim() === cur).reduce((s, r) => s.plus(r.money), new Decimal(0)).toFixed()),
      })),
    };
    res.page('reconciliation/run', {
      title: `${carrier.name}: reconciliation ${run.id}`, base: BASE, carrier, run, classLabels: CLASS_LABELS, classes: RECON_CLASSES, money, sumMoney,
      destinations: byDestination.map((g) => ({ key: g.key, cells: classCells(totalsOf(g.rows)) })), days, chart, items, filtered, count, q, changes,
      itemColumns: ITEM_COLUMNS, pageSize: PAGE_SIZE, query: req.query,
    });
  });

  r.get(`${BASE}/:carrierId/reconciliation/:runId/items.csv`, async (req, res) => {
    const { run } = await loadRun(req);
    const { filter } = filterOf(req, res);
    const q = itemQuery.parse(req.query);
    const [items, totals] = await Promise.all([service.listItems(db, run.id, filter, q.sort), service.filteredTotals(db, run.id, filter)]);
    await sendItemsCsv(req, res, `reconciliation-${run.id}${q.class ? `-${q.class}` : ''}`, items, totals);
  });

  r.get(`${BASE}/:carrierId/reconciliation/:runId/dispute.csv`, async (req, res) => {
    const { run } = await loadRun(req);
    const filter: service.ItemFilter = { dispute: true };
    const [items, totals] = await Promise.all([service.listItems(db, run.id, filter, 'time'), service.filteredTotals(db, run.id, filter)]);
    await sendItemsCsv(req, res, `dispute-${run.id}`, items, totals);
  });

  return r;
}
