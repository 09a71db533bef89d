import { Decimal, type Rounding } from '../money/decimal';
import { decimalOf, methodCode, pow10, roundDiv, scaledOf, scaledOfInput, SCALE, type MethodCode } from '../money/fixed';

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

/** A tax line kept as exact bigints in 10^-scale; its Decimals are built when read. */
class Line implements TaxLine {
  readonly #taxable: bigint;
  readonly #amount: bigint;
  readonly #scale: number;
  constructor(
    public taxId: number,
    public name: string,
    public basis: TaxBasis,
    public rate: Decimal,
    taxable: bigint,
    amount: bigint,
    scale: number,
  ) {
    this.#taxable = taxable;
    this.#amount = amount;
    this.#scale = scale;
  }

  get taxable(): Decimal {
    return decimalOf(this.#taxable, this.#scale);
  }

  get amount(): Decimal {
    return decimalOf(this.#amount, this.#scale);
  }

  static figures(l: TaxLine): { taxable: bigint; amount: bigint; scale: number } | undefined {
    return l instanceof Line ? { taxable: l.#taxable, amount: l.#amount, scale: l.#scale } : undefined;
  }
}

/** The exact taxable and amount of a line computed here (undefined for any other TaxLine). */
export const taxLineFigures = Line.figures;

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
  const b = scaledOf(base);
  const scale = Math.max(SCALE, b.scale, rounding.decimals);
  const lines: TaxLine[] = [];
  const total = taxLines(b.coef * pow10(scale - b.scale), scale, rules, rounding.decimals, methodCode(rounding.method), lines);
  return { lines, total: decimalOf(total, scale) };
}

/**
 * computeTaxes on exact figures: `base` in 10^-scale (decimals <= scale); pushes the lines onto
 * `lines` and answers their total in 10^-scale. Every line is exact until its one rounding.
 */
export function taxLines(base: bigint, scale: number, rules: TaxRule[], decimals: number, method: MethodCode, lines: TaxLine[]): bigint {
  if (rules.length === 0) return 0n;
  const ordered = inOrder(rules) ? rules : [...rules].sort(taxOrder);
  // A rounded amount in 10^-decimals, times this, is in 10^-scale.
  const up = pow10(scale - decimals);
  let total = 0n;
  // Taxes of priorities already finished (strictly lower than the current rule's).
  let lowerTaxes = 0n;
  let currentPriority: number | undefined;
  let currentPriorityTaxes = 0n;

  for (const rule of ordered) {
    if (rule.priority !== currentPriority) {
      lowerTaxes += currentPriorityTaxes;
      currentPriorityTaxes = 0n;
      currentPriority = rule.priority;
    }
    const r = scaledOfInput(rule.rate);
    let taxable: bigint;
    let amount: bigint;
    if (rule.basis === 'fixed') {
      if (base <= 0n) continue;
      taxable = base;
      // rate / 10^r.scale, rounded to decimals.
      amount = (r.scale <= decimals ? r.coef * pow10(decimals - r.scale) : roundDiv(r.coef, pow10(r.scale - decimals), method)) * up;
    } else {
      taxable = rule.compounding ? base + lowerTaxes : base;
      // taxable / 10^scale x rate / 10^r.scale / 100, rounded to decimals.
      amount = roundDiv(taxable * r.coef, pow10(scale - decimals + r.scale + 2), method) * up;
    }
    lines.push(new Line(rule.id, rule.name, rule.basis, rule.rate, taxable, amount, scale));
    currentPriorityTaxes += amount;
    total += amount;
  }
  return total;
}

function inOrder(rules: TaxRule[]): boolean {
  for (let i = 1; i < rules.length; i++) if (taxOrder(rules[i - 1] as TaxRule, rules[i] as TaxRule) > 0) return false;
  return true;
}

