/**
 * Recurring charges of packages (DOMAIN.md, "Billing cycles"): which lines of one assignment are due
 * by an instant, and what one line costs. Pure: the caller loads the assignment, the lines already
 * posted, the taxes and the exchange rate, and stores the result.
 *
 * - The setup fee is charged once, in the cycle of the assignment's start, not prorated.
 * - The monthly fee of a cycle is charged in advance once the cycle has begun, for the local days
 *   the assignment covers in it (activeDays: its start day counts, its end day does not), so
 *   fee x days / cycle days; a whole cycle is the fee.
 * - A month posted before the assignment's end was known is put right by a credit: what the days it
 *   now covers cost, less what was posted (negative), at the posted line's instant (so the same taxes
 *   and exchange rate as the line it corrects).
 * - Amounts round once, half-up, to the currency's minor unit (a package has no rounding rule of its
 *   own); taxes and conversion are the usage charges' (domain/tax taxLines, domain/money/fx).
 */
import { convertScaled } from '../money/fx';
import type { Decimal } from '../money/decimal';
import { fixed, HALF_UP, pow10, roundDiv, SCALE, type Fixed } from '../money/fixed';
import { taxLines, type TaxLine, type TaxRule } from '../tax/tax';
import { localDate } from '../time/zones';
import { activeDays, cycleAt, cyclesBetween, type Cycle, type CycleRule } from './cycles';

export type BillingSide = 'wholesale' | 'retail';
export type RecurringItem = 'setup' | 'monthly' | 'credit';

/** Decimals of a currency's minor unit (ISO 4217, as Intl knows it): 2 for USD, 0 for JPY, 3 for BHD. */
export function currencyDecimals(code: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** fee x days / cycleDays, rounded once (half-up) to `decimals`, in 10^-SCALE. */
export function prorate(fee: Fixed, days: number, cycleDays: number, decimals: number): bigint {
  if (days === cycleDays) return roundTo(fee.coef * pow10(SCALE - fee.scale), decimals);
  const exact = fee.coef * BigInt(days);
  // exact / cycleDays / 10^fee.scale at 10^-decimals, then up to 10^-SCALE.
  const rounded = roundDiv(exact * pow10(decimals), BigInt(cycleDays) * pow10(fee.scale), HALF_UP);
  return rounded * pow10(SCALE - decimals);
}

/** A 10^-SCALE amount rounded (half-up) to `decimals`. */
function roundTo(v: bigint, decimals: number): bigint {
  const up = pow10(SCALE - decimals);
  return roundDiv(v, up, HALF_UP) * up;
}

/** A line already stored for the assignment and side (what dueLines must not post again). */
export interface PostedLine {
  item: RecurringItem;
  cycleStartMs: number;
  cycleEndMs: number;
  days: number;
  /** In 10^-SCALE. */
  amount: bigint;
  chargedAtMs: number;
}

export interface AssignmentTerms {
  startsAtMs: number;
  endsAtMs: number | null;
  setupFee: Fixed;
  monthlyFee: Fixed;
  currency: string;
}

/** A line to post: its base amount before taxes, in the package's currency at 10^-SCALE. */
export interface DueLine {
  item: RecurringItem;
  cycle: Cycle;
  days: number;
  base: bigint;
  /** The instant whose taxes and exchange rate apply. */
  atMs: number;
}

/**
 * The lines of one assignment on one side that are due at `nowMs` and not yet posted, among cycles
 * that end after `sinceMs` (older ones are not looked at again: `posted` need hold only lines of
 * those cycles). A cycle that overlaps a month already posted under other dates (the party's cycle
 * day was changed) is left alone rather than charged twice.
 */
export function dueLines(terms: AssignmentTerms, rule: CycleRule, nowMs: number, posted: readonly PostedLine[], sinceMs = Number.NEGATIVE_INFINITY): DueLine[] {
  const out: DueLine[] = [];
  if (terms.startsAtMs > nowMs) return out;
  const decimals = currencyDecimals(terms.currency);
  const has = (item: RecurringItem, startMs: number) => posted.some((p) => p.item === item && p.cycleStartMs === startMs);

  if (terms.setupFee.coef > 0n) {
    const c = cycleAt(terms.startsAtMs, rule);
    if (c.endMs > sinceMs && !has('setup', c.startMs)) out.push({ item: 'setup', cycle: c, days: 0, base: roundTo(terms.setupFee.coef * pow10(SCALE - terms.setupFee.scale), decimals), atMs: terms.startsAtMs });
  }
  if (terms.monthlyFee.coef === 0n) return out;

  const months = posted.filter((p) => p.item === 'monthly');
  const until = Math.min(terms.endsAtMs ?? Number.POSITIVE_INFINITY, nowMs + 1);
  for (const c of cyclesBetween(terms.startsAtMs, until, rule)) {
    if (c.startMs > nowMs || c.endMs <= sinceMs || has('monthly', c.startMs)) continue;
    if (months.some((m) => m.cycleStartMs < c.endMs && m.cycleEndMs > c.startMs)) continue;
    const days = activeDays(c, terms.startsAtMs, terms.endsAtMs, rule.timeZone);
    if (days > 0) out.push({ item: 'monthly', cycle: c, days, base: prorate(terms.monthlyFee, days, c.days, decimals), atMs: Math.max(c.startMs, terms.startsAtMs) });
  }

  // Months posted before the end was known (or before it was moved earlier): credit the days not used.
  for (const m of months) {
    if (m.cycleEndMs <= sinceMs || has('credit', m.cycleStartMs)) continue;
    const c = cycleOfPosted(m, rule);
    const days = activeDays(c, terms.startsAtMs, terms.endsAtMs, rule.timeZone);
    if (days >= m.days) continue;
    const base = prorate(terms.monthlyFee, days, c.days, decimals) - m.amount;
    if (base !== 0n) out.push({ item: 'credit', cycle: c, days: days - m.days, base, atMs: m.chargedAtMs });
  }
  return out;
}

/** The cycle a posted month was for, as posted (its dates may predate a change of the cycle day). */
function cycleOfPosted(m: PostedLine, rule: CycleRule): Cycle {
  const c = cycleAt(m.cycleStartMs, rule);
  if (c.startMs === m.cycleStartMs && c.endMs === m.cycleEndMs) return c;
  // Posted under another cycle day: its own dates, in days of the zone.
  const days = Math.round((m.cycleEndMs - m.cycleStartMs) / 86_400_000);
  return { ...c, startMs: m.cycleStartMs, endMs: m.cycleEndMs, startDate: localDate(m.cycleStartMs, rule.timeZone), endDate: localDate(m.cycleEndMs, rule.timeZone), days };
}

export interface PricingInputs {
  /** In 10^-SCALE, in `currency`. */
  base: bigint;
  currency: string;
  /** The recurring taxes that apply (empty for an exempt party or one with no address). */
  taxes: TaxRule[];
  billedCurrency: string;
  /** Undefined when no rate is in force: the line is not posted (never converted at 1 or 0). */
  exchangeRate: Decimal | undefined;
}

export interface PricedLine {
  amount: Fixed;
  taxes: TaxLine[];
  taxAmount: Fixed;
  total: Fixed;
  billedCurrency: string;
  exchangeRate: Decimal;
  billedTotal: Fixed;
}

/** Taxes and conversion of one line, as a call's charge gets them: each tax line and the converted total rounded once. */
export function priceLine(i: PricingInputs): PricedLine | { reason: string } {
  if (!i.exchangeRate) return { reason: `no exchange rate from ${i.currency} to ${i.billedCurrency} in force` };
  const decimals = currencyDecimals(i.currency);
  const taxes: TaxLine[] = [];
  const taxAmount = taxLines(i.base, SCALE, i.taxes, decimals, HALF_UP, taxes);
  const total = i.base + taxAmount;
  const billedDecimals = currencyDecimals(i.billedCurrency);
  const billedTotal = i.billedCurrency === i.currency ? total : convertScaled(total, SCALE, i.exchangeRate, billedDecimals, HALF_UP) * pow10(SCALE - billedDecimals);
  return {
    amount: fixed(i.base, SCALE),
    taxes,
    taxAmount: fixed(taxAmount, SCALE),
    total: fixed(total, SCALE),
    billedCurrency: i.billedCurrency,
    exchangeRate: i.exchangeRate,
    billedTotal: fixed(billedTotal, SCALE),
  };
}
