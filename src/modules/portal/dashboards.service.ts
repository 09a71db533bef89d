/**
 * The dashboards' usage figures (issue 11): calls, minutes and money per local day of the viewer's
 * zone, totals for the period and the top lists, read from the ledger's pre-aggregated usage
 * totals (ledger.reads.ts usageByDay, topUsage). Money stays per currency, exact, as text.
 */
import type { Db } from '../../db/knex';
import { Decimal } from '../../domain/money/decimal';
import { dayPeriod, type DayPeriod } from '../../domain/time/day-period';
import type { Scope } from '../../domain/tenancy/roles';
import { topUsage, usageByDay, type Money, type RankedUsage, type UsageFigures } from '../ledger/ledger.reads';

export type { Money } from '../ledger/ledger.reads';

/** Figures as a dashboard shows them: minutes from seconds, the margin (retail less wholesale) per currency. */
export interface FiguresView {
  calls: number;
  answered: number;
  /** Billable minutes, one decimal. */
  minutes: string;
  wholesale: Money[];
  retail: Money[];
  margin: Money[];
}

export interface RankedView extends FiguresView {
  key: string;
  name: string;
}

export interface UsageDashboard {
  period: DayPeriod;
  /** Why the period asked for was not used (the default shown instead). */
  problem?: string;
  days: Array<FiguresView & { day: string }>;
  totals: FiguresView;
  /** The chart's data, for the page's JSON block (public/dashboard-chart.js draws it). */
  chart: ChartData;
}

export interface ChartData {
  labels: string[];
  calls: number[];
  minutes: number[];
  /** One line per kind of money and currency: amounts as text (the chart only draws them). */
  money: Array<{ label: string; values: string[] }>;
}

/** Retail less wholesale, currency by currency (a currency on one side only counts as zero on the other). */
export function marginOf(retail: Money[], wholesale: Money[]): Money[] {
  const currencies = [...new Set([...retail, ...wholesale].map((m) => m.currency))].sort();
  return currencies.map((currency) => {
    const r = retail.find((m) => m.currency === currency)?.amount ?? '0';
    const w = wholesale.find((m) => m.currency === currency)?.amount ?? '0';
    return { currency, amount: new Decimal(r).minus(w).toFixed(10) };
  });
}

/** What a scope may see of figures: a subscriber never its reseller's wholesale cost. */
function view(scope: Scope, f: UsageFigures): FiguresView {
  const wholesale = scope.kind === 'subscriber' ? [] : f.wholesale;
  return {
    calls: f.calls,
    answered: f.answered,
    minutes: (f.seconds / 60).toFixed(1),
    wholesale,
    retail: f.retail,
    margin: scope.kind === 'reseller' ? marginOf(f.retail, wholesale) : [],
  };
}

function sumFigures(list: UsageFigures[]): UsageFigures {
  const out: UsageFigures = { calls: 0, answered: 0, seconds: 0, wholesale: [], retail: [] };
  const add = (to: Money[], m: Money) => {
    const at = to.find((x) => x.currency === m.currency);
    if (at) at.amount = new Decimal(at.amount).plus(m.amount).toFixed(10);
    else to.push({ ...m });
  };
  for (const f of list) {
    out.calls += f.calls;
    out.answered += f.answered;
    out.seconds += f.seconds;
    f.wholesale.forEach((m) => add(out.wholesale, m));
    f.retail.forEach((m) => add(out.retail, m));
  }
  out.wholesale.sort((a, b) => a.currency.localeCompare(b.currency));
  out.retail.sort((a, b) => a.currency.localeCompare(b.currency));
  return out;
}

/** Which money each dashboard charts: the operator its wholesale revenue, a reseller both sides, a subscriber its cost. */
function chartOf(scope: Scope, days: Array<FiguresView & { day: string }>, totals: FiguresView): ChartData {
  const lines: Array<{ label: string; pick: (d: FiguresView) => Money[]; currency: string }> = [];
  const kinds: Array<[string, (d: FiguresView) => Money[], Money[]]> =
    scope.kind === 'wholesale' ? [['Wholesale revenue', (d) => d.wholesale, totals.wholesale]]
    : scope.kind === 'reseller' ? [['Retail revenue', (d) => d.retail, totals.retail], ['Wholesale cost', (d) => d.wholesale, totals.wholesale]]
    : [['Cost', (d) => d.retail, totals.retail]];
  for (const [label, pick, all] of kinds) for (const m of all) lines.push({ label: `${label} (${m.currency})`, pick, currency: m.currency });
  return {
    labels: days.map((d) => d.day),
    calls: days.map((d) => d.calls),
    minutes: days.map((d) => Number(d.minutes)),
    money: lines.map((l) => ({ label: l.label, values: days.map((d) => l.pick(d).find((m) => m.currency === l.currency)?.amount ?? '0') })),
  };
}

/** The scope's figures per day of the period asked for (default: the last 30 days) in the viewer's zone. */
export async function usageDashboard(db: Db, scope: Scope, asked: { from?: string; to?: string }, timeZone: string, nowMs = Date.now()): Promise<UsageDashboard> {
  const { period, problem } = dayPeriod(asked, timeZone, nowMs);
  const rows = await usageByDay(db, scope, period);
  const days = rows.map((r) => ({ day: r.day, ...view(scope, r) }));
  const totals = view(scope, sumFigures(rows));
  return { period, ...(problem ? { problem } : {}), days, totals, chart: chartOf(scope, days, totals) };
}

/** The period's first resellers, subscribers or destinations by minutes (within the scope). */
export async function topList(db: Db, scope: Scope, by: 'reseller' | 'destination' | 'subscriber', period: DayPeriod, limit = 10): Promise<RankedView[]> {
  const rows: RankedUsage[] = await topUsage(db, scope, by, period, limit);
  return rows.map((r) => ({ key: r.key, name: r.name, ...view(scope, r) }));
}
