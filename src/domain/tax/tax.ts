import { Decimal, roundAmount, ZERO, type Rounding } from '../money/decimal';

/**
 * Taxes on a charge (DOMAIN.md, "Around the rate": Taxes). Pure: the caller has already chosen the
 * rules that apply (owner, jurisdiction, kind, in force at the call's start) and has already
 * decided exemption: an exempt subscriber or reseller simply gets an empty rule list.
 */

export type TaxBasis = 'percent' | 'fixed';

export interface TaxRule {
  id: number;
  name: string;
  basis: TaxBasis;
  /** percent: 8.875 for 8.875 %; fixed: an amount per charge, in the charge's currency. */
  rate: Decimal;
  /** Lower numbers apply first. */
  priority: number;
  /** A compounding tax is also levied on the taxes of lower priority numbers (tax on tax). */
  compounding: boolean;
}

export interface TaxLine {
  taxId: number;
  name: string;
  basis: TaxBasis;
  rate: Decimal;
  /** What the tax was levied on: the base, or base + earlier taxes for a compounding tax. */
  taxable: Decimal;
  /** Rounded with the charge's rounding rule. */
  amount: Decimal;
}

export interface TaxResult {
  lines: TaxLine[];
  /** The sum of the rounded lines: what is shown beside the charge is what adds up. */
  total: Decimal;
}

const HUNDRED = new Decimal(100);

/** Ascending priority, ties by id: the order every process must agree on. */
export function taxOrder(a: Pick<TaxRule, 'priority' | 'id'>, b: Pick<TaxRule, 'priority' | 'id'>): number {
  return a.priority - b.priority || a.id - b.id;
}

/**
 * The tax lines of one charge of `base`.
 *
 * - Rules apply in ascending priority, ties broken by id.
 * - A percent tax that does not compound is levied on the base. A compounding percent tax is levied
 *   on the base plus every tax line of a strictly LOWER priority number (taxes of the same priority
 *   never compound on each other, whatever their ids).
 * - A fixed tax is its amount per charge, not scaled by the base; its compounding flag has no effect
 *   on it, but a later compounding tax does include it.
 * - Choice: a fixed tax applies only to a charge whose base is above zero. A free call (an inbound
 *   leg, a call within a package, a zero-rated on-net call) carries no fixed tax, and a credit (a
 *   negative base) does not refund one. Such a rule then yields no line at all. Percent taxes always
 *   yield a line (zero on a zero base, negative on a credit).
 * - Each line is rounded once with the charge's rounding rule; the total is the sum of the rounded
 *   lines, and compounding builds on the rounded lines, so every figure shown adds up.
 */
export function computeTaxes(base: Decimal, rules: TaxRule[], rounding: Rounding): TaxResult {
  const ordered = [...rules].sort(taxOrder);
  const lines: TaxLine[] = [];
  let total = ZERO;
  // Taxes of priorities already finished (strictly lower than the current rule's).
  let lowerTaxes = ZERO;
  let currentPriority: number | undefined;
  let currentPriorityTaxes = ZERO;

  for (const rule of ordered) {
    if (rule.priority !== currentPriority) {
      lowerTaxes = lowerTaxes.plus(currentPriorityTaxes);
      currentPriorityTaxes = ZERO;
      currentPriority = rule.priority;
    }
    let taxable: Decimal;
    let amount: Decimal;
    if (rule.basis === 'fixed') {
      if (!base.greaterThan(0)) continue;
      taxable = base;
      amount = roundAmount(rule.rate, rounding);
    } else {
      taxable = rule.compounding ? base.plus(lowerTaxes) : base;
      amount = roundAmount(taxable.times(rule.rate).dividedBy(HUNDRED), rounding);
    }
    lines.push({ taxId: rule.id, name: rule.name, basis: rule.basis, rate: rule.rate, taxable, amount });
    currentPriorityTaxes = currentPriorityTaxes.plus(amount);
    total = total.plus(amount);
  }
  return { lines, total };
}
