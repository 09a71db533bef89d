/**
 * The wholesale and reseller reports (issue 12): tables of figures for a period of local days in
 * the viewer's party zone, each shown on a page and written as a CSV from the same cells.
 *
 * - Every table is rows of text cells and total rows; a total row is the sum of the rows' own
 *   cells (amounts are written losslessly, so the sum of what is shown is the sum of what is
 *   stored), one total row per currency where the currency is a column of the rows.
 * - Money is never added across currencies: usage tables have one money column per currency,
 *   taxes and recurring charges one total row per currency.
 * - Usage (per day, reseller, subscriber, destination) comes from the ledger's pre-aggregated
 *   figures, so the same legs are behind every usage table of a report and their totals agree.
 */
import type { Db } from '../../db/knex';
import { BadRequestError } from '../../domain/errors';
import { Decimal } from '../../domain/money/decimal';
import type { Scope } from '../../domain/tenancy/roles';
import { dayPeriod, type DayPeriod } from '../../domain/time/day-period';
import { addDays, localDate } from '../../domain/time/zones';
import { displayAmount } from '../calls/format';
import { reasonCounts } from '../ledger/ledger.reads';
import { getOrThrow as getReseller } from '../resellers/resellers.service';
import { carrierTotals, chargeTaxTotals } from '../ledger/report.reads';
import { recurringRows, recurringTaxRows, resellerNames, subscriberNames, usageRows, type UsageRow } from './reports.reads';

export interface ReportColumn {
  label: string;
  /** Right-aligned figures. */
  num?: boolean;
}

export interface ReportTable {
  id: string;
  title: string;
  /** What the table counts, in a sentence under it. */
  note?: string;
  columns: ReportColumn[];
  rows: string[][];
  /** Sums of the rows: one row, or one per currency (then named "Total USD", ...). */
  totals: string[][];
  /** Where each row's first cell links to on the page (the CSV has the text only). */
  links?: Array<string | undefined>;
}

export interface ChartData {
  labels: string[];
  calls: number[];
  minutes: number[];
  money: Array<{ label: string; values: string[] }>;
}

export interface Report {
  kind: 'wholesale' | 'reseller';
  /** The reseller whose report operator staff opened (its own people see theirs without it). */
  reseller?: { id: number; name: string };
  period: DayPeriod;
  problem?: string;
  tables: ReportTable[];
  chart: ChartData;
}

export const WHOLESALE_TABLES = ['days', 'resellers', 'destinations', 'carriers', 'unrated', 'taxes', 'recurring'] as const;
export const RESELLER_TABLES = ['days', 'subscribers', 'destinations', 'taxes', 'recurring'] as const;
export type WholesaleTable = (typeof WHOLESALE_TABLES)[number];
export type ResellerTable = (typeof RESELLER_TABLES)[number];
export type TableId = WholesaleTable | ResellerTable;

// ---- cells and sums ----

const money = (amount: string | Decimal) => displayAmount(new Decimal(amount).toFixed(10));
/** Minutes for reading: seconds / 60, two decimals (the seconds beside them are exact and add up). */
const minutes = (seconds: number | Decimal) => new Decimal(seconds).div(60).toFixed(2);

type SumKind = 'count' | 'money';

/**
 * Total rows of a table: the rows grouped by the cells of `groupBy` (none: one total row), the
 * cells of `sums` added exactly, `minutesCol` from the total of `secondsCol`, the first cell
 * outside the group's "Total" (with the group's currency when there is one).
 */
function totalsOf(
  rows: string[][],
  width: number,
  o: { groupBy?: number[]; sums: Record<number, SumKind>; minutesCol?: number; secondsCol?: number; labelCurrencyCol?: number },
): string[][] {
  const groups = new Map<string, string[][]>();
  for (const r of rows) {
    const key = (o.groupBy ?? []).map((i) => r[i]).join('\u0000');
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(r);
  }
  if (groups.size === 0 && !(o.groupBy ?? []).length) groups.set('', []);
  const out: string[][] = [];
  for (const members of groups.values()) {
    const t = new Array<string>(width).fill('');
    for (const i of o.groupBy ?? []) t[i] = members[0]?.[i] ?? '';
    for (const [col, kind] of Object.entries(o.sums)) {
      const i = Number(col);
      const sum = members.reduce((s, r) => s.plus(r[i] || '0'), new Decimal(0));
      t[i] = kind === 'money' ? money(sum) : sum.toFixed(0);
    }
    if (o.minutesCol !== undefined && o.secondsCol !== undefined) t[o.minutesCol] = minutes(new Decimal(t[o.secondsCol] || '0'));
    // The label goes in the first cell that is not one of the group's own (a side stays readable).
    const at = [...Array(width).keys()].find((i) => !(o.groupBy ?? []).includes(i)) ?? 0;
    t[at] = o.labelCurrencyCol !== undefined ? `Total ${members[0]?.[o.labelCurrencyCol] ?? ''}`.trim() : 'Total';
    out.push(t);
  }
  return out;
}

// ---- usage tables ----

/** Figures of one key with money per currency, exact. */
interface Figures {
  calls: number;
  answered: number;
  seconds: number;
  wholesale: Map<string, Decimal>;
  retail: Map<string, Decimal>;
}

const emptyFigures = (): Figures => ({ calls: 0, answered: 0, seconds: 0, wholesale: new Map(), retail: new Map() });

function foldRows(rows: UsageRow[]): Map<string, Figures> {
  const out = new Map<string, Figures>();
  const add = (m: Map<string, Decimal>, c: string, a: string) => {
    if (c) m.set(c, (m.get(c) ?? new Decimal(0)).plus(a));
  };
  for (const r of rows) {
    const f = out.get(r.key) ?? out.set(r.key, emptyFigures()).get(r.key)!;
    f.calls += r.calls;
    f.answered += r.answered;
    f.seconds += r.seconds;
    add(f.wholesale, r.wholesaleCurrency, r.wholesale);
    add(f.retail, r.retailCurrency, r.retail);
  }
  return out;
}

/** Which money a usage table shows: the operator its wholesale revenue, a reseller retail revenue, wholesale cost and margin. */
type Side = 'wholesale' | 'reseller';

function currenciesOf(all: Iterable<Figures>): { wholesale: string[]; retail: string[]; margin: string[] } {
  const w = new Set<string>();
  const r = new Set<string>();
  for (const f of all) {
    f.wholesale.forEach((_, c) => w.add(c));
    f.retail.forEach((_, c) => r.add(c));
  }
  const sort = (s: Set<string>) => [...s].sort();
  return { wholesale: sort(w), retail: sort(r), margin: sort(new Set([...w, ...r])) };
}

/**
 * A usage table: the key's cells, then calls, answered, seconds, minutes and the money columns
 * (one per currency), rows in the order of `keys`.
 */
function usageTable(
  o: { id: string; title: string; note?: string; side: Side; keyColumns: string[] },
  keys: Array<{ key: string; cells: string[] }>,
  byKey: Map<string, Figures>,
): ReportTable {
  const cur = currenciesOf(byKey.values());
  const moneyColumns: Array<{ label: string; pick: (f: Figures) => Decimal }> = [];
  const amountOf = (m: Map<string, Decimal>, c: string) => m.get(c) ?? new Decimal(0);
  if (o.side === 'wholesale') {
    for (const c of cur.wholesale) moneyColumns.push({ label: `Wholesale revenue ${c}`, pick: (f) => amountOf(f.wholesale, c) });
  } else {
    for (const c of cur.retail) moneyColumns.push({ label: `Retail revenue ${c}`, pick: (f) => amountOf(f.retail, c) });
    for (const c of cur.wholesale) moneyColumns.push({ label: `Wholesale cost ${c}`, pick: (f) => amountOf(f.wholesale, c) });
    for (const c of cur.margin) moneyColumns.push({ label: `Margin ${c}`, pick: (f) => amountOf(f.retail, c).minus(amountOf(f.wholesale, c)) });
  }
  const k = o.keyColumns.length;
  const columns: ReportColumn[] = [
    ...o.keyColumns.map((label) => ({ label })),
    { label: 'Calls', num: true }, { label: 'Answered', num: true }, { label: 'Seconds', num: true }, { label: 'Minutes', num: true },
    ...moneyColumns.map((m) => ({ label: m.label, num: true })),
  ];
  const rows = keys.map(({ key, cells }) => {
    const f = byKey.get(key) ?? emptyFigures();
    return [...cells, String(f.calls), String(f.answered), String(f.seconds), minutes(f.seconds), ...moneyColumns.map((m) => money(m.pick(f)))];
  });
  const sums: Record<number, SumKind> = { [k]: 'count', [k + 1]: 'count', [k + 2]: 'count' };
  moneyColumns.forEach((_, i) => (sums[k + 4 + i] = 'money'));
  const totals = totalsOf(rows, columns.length, { sums, minutesCol: k + 3, secondsCol: k + 2 });
  return { id: o.id, title: o.title, ...(o.note ? { note: o.note } : {}), columns, rows, totals };
}

const byText = (a: string, b: string) => a.localeCompare(b, 'en');

function chartOf(side: Side, days: string[], byDay: Map<string, Figures>): ChartData {
  const all = currenciesOf(byDay.values());
  const lines: Array<{ label: string; pick: (f: Figures) => Decimal | undefined }> = [];
  if (side === 'wholesale') for (const c of all.wholesale) lines.push({ label: `Wholesale revenue (${c})`, pick: (f) => f.wholesale.get(c) });
  else {
    for (const c of all.retail) lines.push({ label: `Retail revenue (${c})`, pick: (f) => f.retail.get(c) });
    for (const c of all.wholesale) lines.push({ label: `Wholesale cost (${c})`, pick: (f) => f.wholesale.get(c) });
  }
  const fig = (d: string) => byDay.get(d) ?? emptyFigures();
  return {
    labels: days,
    calls: days.map((d) => fig(d).calls),
    minutes: days.map((d) => Number((fig(d).seconds / 60).toFixed(1))),
    money: lines.map((l) => ({ label: l.label, values: days.map((d) => (l.pick(fig(d)) ?? new Decimal(0)).toFixed(10)) })),
  };
}

// ---- the reports ----

interface Ctx {
  db: Db;
  scope: Scope;
  period: DayPeriod;
}

const USAGE_NOTE = 'Legs attributed to a reseller (rated, partial, unrated or blocked), by local day of their start; money before tax, in the currency of the plan that priced it.';
const MINUTES_NOTE = 'Minutes are the seconds ÷ 60 to two decimals; the seconds are exact and add up.';

async function daysTable(c: Ctx, side: Side): Promise<{ table: ReportTable; chart: ChartData }> {
  const byDay = foldRows(await usageRows(c.db, c.scope, 'day', c.period));
  const table = usageTable(
    { id: 'days', title: 'Per day', side, keyColumns: ['Day'], note: `${USAGE_NOTE} ${MINUTES_NOTE}` },
    c.period.days.map((d) => ({ key: d, cells: [d] })),
    byDay,
  );
  return { table, chart: chartOf(side, c.period.days, byDay) };
}

async function resellersTable(c: Ctx): Promise<ReportTable> {
  const byKey = foldRows(await usageRows(c.db, c.scope, 'reseller', c.period));
  const names = await resellerNames(c.db, [...byKey.keys()].map(Number));
  const keys = [...byKey.keys()]
    .map((key) => ({ key, cells: [names.get(Number(key))?.name ?? `#${key}`, names.get(Number(key))?.code ?? ''] }))
    .sort((a, b) => byText(a.cells[0] as string, b.cells[0] as string) || Number(a.key) - Number(b.key));
  const table = usageTable({ id: 'resellers', title: 'Per reseller', side: 'wholesale', keyColumns: ['Reseller', 'Code'] }, keys, byKey);
  const period = `?from=${c.period.from}&to=${c.period.to}`;
  return { ...table, links: keys.map((k) => `/wholesale/resellers/${encodeURIComponent(k.key)}/reports${period}`) };
}

async function subscribersTable(c: Ctx): Promise<ReportTable> {
  if (c.scope.kind !== 'reseller') return emptyTable('subscribers', 'Per subscriber');
  const byKey = foldRows(await usageRows(c.db, c.scope, 'subscriber', c.period));
  const names = await subscriberNames(c.db, c.scope.resellerId, [...byKey.keys()].map(Number).filter((id) => id !== 0));
  const keys = [...byKey.keys()]
    .map((key) => {
      const n = names.get(Number(key));
      // A leg attributed to the reseller but to none of its subscribers still counts: its own row.
      return { key, cells: key === '0' ? ['', 'No subscriber'] : [n?.accountNumber ?? `#${key}`, n?.name ?? ''] };
    })
    .sort((a, b) => (a.key === '0' ? 1 : b.key === '0' ? -1 : byText(a.cells[0] as string, b.cells[0] as string)));
  return usageTable({ id: 'subscribers', title: 'Per subscriber', side: 'reseller', keyColumns: ['Account', 'Subscriber'] }, keys, byKey);
}

async function destinationsTable(c: Ctx, side: Side): Promise<ReportTable> {
  const byKey = foldRows(await usageRows(c.db, c.scope, 'destination', c.period));
  const keys = [...byKey.keys()]
    .map((key) => ({ key, cells: [key || 'Not rated'] }))
    .sort((a, b) => (a.key === '' ? 1 : b.key === '' ? -1 : byText(a.key, b.key)));
  return usageTable(
    { id: 'destinations', title: 'Per destination', side, keyColumns: ['Destination'], note: 'A destination is the wholesale rate\'s description (or its prefix); legs without a charge are "Not rated".' },
    keys,
    byKey,
  );
}

async function carriersTable(c: Ctx): Promise<ReportTable> {
  const rows = await carrierTotals(c.db, c.scope, c.period);
  const byKey = foldRows(rows.map((r) => ({ key: r.carrier, wholesaleCurrency: r.currency, retailCurrency: '', calls: r.calls, answered: r.answered, seconds: r.seconds, wholesale: r.amount, retail: '0' })));
  const keys = [...byKey.keys()].map((key) => ({ key, cells: [key || 'No carrier'] })).sort((a, b) => (a.key === '' ? 1 : b.key === '' ? -1 : byText(a.key, b.key)));
  return usageTable(
    { id: 'carriers', title: 'Outbound traffic per LD carrier', side: 'wholesale', keyColumns: ['Carrier'], note: 'Outbound and forwarded legs attributed to a reseller, by the carrier the platform\'s trunk map names for their trunk.' },
    keys,
    byKey,
  );
}

async function unratedTable(c: Ctx): Promise<ReportTable> {
  const counts = await reasonCounts(c.db, c.scope, { fromMs: c.period.fromMs, toMs: c.period.toMs, statuses: ['unrated', 'blocked'] }, 1000);
  const rows = counts
    .map((r) => [r.status, r.reason || '(no reason given)', String(r.count)])
    .sort((a, b) => byText(a[0] as string, b[0] as string) || Number(b[2]) - Number(a[2]) || byText(a[1] as string, b[1] as string));
  const columns = [{ label: 'Status' }, { label: 'Reason' }, { label: 'Legs', num: true }];
  return {
    id: 'unrated', title: 'Unrated and blocked legs per reason',
    note: 'Every leg of the period that was not priced, also those matched to no reseller; numbers in the reasons are shown as "…".',
    columns, rows, totals: totalsOf(rows, columns.length, { sums: { 2: 'count' } }),
  };
}

async function taxesTable(c: Ctx): Promise<ReportTable> {
  const reseller = c.scope.kind === 'reseller';
  const [usage, recurring] = await Promise.all([chargeTaxTotals(c.db, c.scope, c.period), recurringTaxRows(c.db, c.scope, c.period)]);
  const place = (x: { jurisdictionName: string | null; country: string | null; region: string | null }) => [x.jurisdictionName ?? '(unknown)', x.country ?? '', x.region ?? ''];
  const sideText = (s: 'wholesale' | 'retail') => (s === 'retail' ? 'Charged to subscribers' : 'Charged by the operator');
  const all = [
    ...usage.map((t) => ({ side: t.side, cells: [...place(t), t.taxName, 'Calls', t.currency, String(t.charges), money(t.taxable), money(t.amount)] })),
    ...recurring.map((t) => ({ side: t.side, cells: [...place(t), t.taxName, 'Recurring charges', t.currency, String(t.lines), money(t.taxable), money(t.amount)] })),
  ];
  const rows = all
    .map((x) => (reseller ? [sideText(x.side), ...x.cells] : x.cells))
    .sort((a, b) => {
      for (let i = 0; i < a.length; i++) {
        const d = byText(a[i] as string, b[i] as string);
        if (d) return d;
      }
      return 0;
    });
  const s = reseller ? 1 : 0;
  const columns: ReportColumn[] = [
    ...(reseller ? [{ label: 'Side' }] : []),
    { label: 'Jurisdiction' }, { label: 'Country' }, { label: 'Region' }, { label: 'Tax' }, { label: 'On' }, { label: 'Currency' },
    { label: 'Charges', num: true }, { label: 'Taxable', num: true }, { label: 'Tax amount', num: true },
  ];
  const currencyCol = s + 5;
  return {
    id: 'taxes', title: 'Taxes by jurisdiction',
    note: reseller
      ? 'Taxes on calls started and recurring charges whose cycle began in the period: those you charge your subscribers and those the operator charges you, in the currency of each charge. Totals per side and currency.'
      : 'Taxes the operator charged resellers on calls started and recurring charges whose cycle began in the period, in the currency of each charge. Totals per currency.',
    columns, rows,
    totals: totalsOf(rows, columns.length, { groupBy: reseller ? [0, currencyCol] : [currencyCol], sums: { [s + 6]: 'count', [s + 7]: 'money', [s + 8]: 'money' }, labelCurrencyCol: currencyCol }),
  };
}

async function recurringTable(c: Ctx): Promise<ReportTable> {
  const reseller = c.scope.kind === 'reseller';
  const lines = await recurringRows(c.db, c.scope, c.period);
  const rows = lines.map((l) => [
    ...(reseller ? [l.side === 'retail' ? 'Charged to subscribers' : 'Charged by the operator', l.side === 'retail' ? (l.accountNumber ?? `#${l.subscriberId}`) : ''] : [l.resellerName]),
    l.packageName, l.packageKind, l.item, l.currency, String(l.lines), money(l.amount), money(l.taxAmount), money(l.total), l.billedCurrency, money(l.billedTotal),
  ]);
  const s = reseller ? 2 : 1;
  const columns: ReportColumn[] = [
    ...(reseller ? [{ label: 'Side' }, { label: 'Account' }] : [{ label: 'Reseller' }]),
    { label: 'Package' }, { label: 'Kind' }, { label: 'Item' }, { label: 'Currency' }, { label: 'Lines', num: true },
    { label: 'Amount', num: true }, { label: 'Tax amount', num: true }, { label: 'Total', num: true }, { label: 'Billed currency' }, { label: 'Billed total', num: true },
  ];
  const cur = s + 3;
  const billed = s + 8;
  return {
    id: 'recurring', title: 'Recurring charges',
    note: 'Set-up and monthly fees (and credits) of packages for billing cycles that began in the period; amounts in the package\'s currency, the total as billed. Totals per currency pair.',
    columns, rows,
    totals: totalsOf(rows, columns.length, {
      groupBy: reseller ? [0, cur, billed] : [cur, billed],
      sums: { [s + 4]: 'count', [s + 5]: 'money', [s + 6]: 'money', [s + 7]: 'money', [s + 9]: 'money' },
      labelCurrencyCol: cur,
    }),
  };
}

function emptyTable(id: string, title: string): ReportTable {
  return { id, title, columns: [], rows: [], totals: [] };
}

/** The period asked for, or the default (the last 30 local days) with the reason the asked one was not used. */
export function reportPeriod(asked: { from?: string; to?: string }, timeZone: string, nowMs = Date.now()): { period: DayPeriod; problem?: string } {
  return dayPeriod(asked, timeZone, nowMs);
}

/** Quick choices beside the period picker: this month so far and last month, in the zone. */
export function periodShortcuts(timeZone: string, nowMs = Date.now()): Array<{ label: string; from: string; to: string }> {
  const today = localDate(nowMs, timeZone);
  const monthStart = `${today.slice(0, 8)}01`;
  const lastMonthEnd = addDays(monthStart, -1);
  return [
    { label: 'This month', from: monthStart, to: today },
    { label: 'Last month', from: `${lastMonthEnd.slice(0, 8)}01`, to: lastMonthEnd },
  ];
}

/** The operator's report: every table, or the one a CSV asks for. */
export async function wholesaleReport(db: Db, scope: Scope, asked: { from?: string; to?: string }, timeZone: string, only?: WholesaleTable, nowMs = Date.now()): Promise<Report> {
  if (scope.kind !== 'wholesale') throw new BadRequestError('The wholesale report is for the operator\'s staff.');
  const { period, problem } = reportPeriod(asked, timeZone, nowMs);
  const c: Ctx = { db, scope, period };
  const want = (id: WholesaleTable) => !only || only === id;
  const [days, ...rest] = await Promise.all([
    want('days') ? daysTable(c, 'wholesale') : undefined,
    want('resellers') ? resellersTable(c) : undefined,
    want('destinations') ? destinationsTable(c, 'wholesale') : undefined,
    want('carriers') ? carriersTable(c) : undefined,
    want('unrated') ? unratedTable(c) : undefined,
    want('taxes') ? taxesTable(c) : undefined,
    want('recurring') ? recurringTable(c) : undefined,
  ]);
  const tables = [days?.table, ...rest].filter((t): t is ReportTable => !!t);
  return { kind: 'wholesale', period, ...(problem ? { problem } : {}), tables, chart: days?.chart ?? { labels: [], calls: [], minutes: [], money: [] } };
}

/** A reseller's report of its own subscribers (its people's scope): every table, or the one a CSV asks for. */
export async function resellerReport(db: Db, scope: Scope, asked: { from?: string; to?: string }, timeZone: string, only?: ResellerTable, nowMs = Date.now()): Promise<Report> {
  if (scope.kind !== 'reseller') throw new BadRequestError('The reseller report is for a reseller\'s people.');
  const { period, problem } = reportPeriod(asked, timeZone, nowMs);
  const c: Ctx = { db, scope, period };
  const want = (id: ResellerTable) => !only || only === id;
  const [days, ...rest] = await Promise.all([
    want('days') ? daysTable(c, 'reseller') : undefined,
    want('subscribers') ? subscribersTable(c) : undefined,
    want('destinations') ? destinationsTable(c, 'reseller') : undefined,
    want('taxes') ? taxesTable(c) : undefined,
    want('recurring') ? recurringTable(c) : undefined,
  ]);
  const tables = [days?.table, ...rest].filter((t): t is ReportTable => !!t);
  return { kind: 'reseller', period, ...(problem ? { problem } : {}), tables, chart: days?.chart ?? { labels: [], calls: [], minutes: [], money: [] } };
}

/** One reseller's report as operator staff open it (from the reseller's page or the wholesale report), in the viewer's zone. */
export async function resellerReportFor(db: Db, scope: Scope, resellerId: number, asked: { from?: string; to?: string }, timeZone: string, only?: ResellerTable, nowMs = Date.now()): Promise<Report> {
  if (scope.kind !== 'wholesale') throw new BadRequestError('For the operator\'s staff.');
  const reseller = await getReseller(db, scope, resellerId);
  const report = await resellerReport(db, { kind: 'reseller', resellerId: reseller.id }, asked, timeZone, only, nowMs);
  return { ...report, reseller: { id: reseller.id, name: reseller.name } };
}
