import { convertScaled } from '../money/fx';
import type { Decimal } from '../money/decimal';
import { decimalOf, formatScaled, HALF_UP, roundDiv, SCALE, textOfInput } from '../money/fixed';
import { taxLineFigures, taxLines, type TaxLine, type TaxRule } from '../tax/tax';
import { pieceText, RatedCharge, type Charge, type RatableLeg } from './engine';
import type { CompiledPlan } from './plan';

export type ChargeKind = 'wholesale' | 'retail';

/** A charge ready to store: the rated amount, its taxes, and the total in the billed party's currency. */
export interface PricedCharge extends Charge {
  kind: ChargeKind;
  planRevision: number;
  taxes: TaxLine[];
  taxAmount: Decimal;
  /** amount + taxes, in the plan's currency. */
  total: Decimal;
  billedCurrency: string;
  /** 1 unit of the plan's currency in the billed currency, in force at the call's start. */
  exchangeRate: Decimal;
  billedTotal: Decimal;
}

export interface ChargeUnratable {
  kind: ChargeKind;
  reason: string;
}

export interface ChargeInputs {
  kind: ChargeKind;
  plan: CompiledPlan;
  planRevision: number;
  leg: RatableLeg;
  /** The usage taxes that apply (empty for an exempt party). */
  taxes: TaxRule[];
  billedCurrency: string;
  /** Undefined when no rate is known: the charge is unratable, never converted at 1 or 0. */
  exchangeRate: Decimal | undefined;
}

/** A priced charge: exact bigints in 10^-10 behind Decimal getters, like RatedCharge. */
class Priced extends RatedCharge implements PricedCharge {
  kind: ChargeKind = 'wholesale';
  planRevision = 0;
  taxes: TaxLine[] = [];
  billedCurrency = '';
  exchangeRate!: Decimal;
  #taxAmount = 0n;
  #total = 0n;
  #billedTotal = 0n;

  get taxAmount(): Decimal {
    return decimalOf(this.#taxAmount, SCALE);
  }

  get total(): Decimal {
    return decimalOf(this.#total, SCALE);
  }

  get billedTotal(): Decimal {
    return decimalOf(this.#billedTotal, SCALE);
  }

  /** Rate, tax and convert one charge into `this`; the reason when it cannot be priced. */
  price(i: ChargeInputs): string | undefined {
    const plan = i.plan;
    const failed = RatedCharge.rateInto(i.leg, plan, this);
    if (failed) return `${i.kind}: ${failed.detail}`;
    if (!i.exchangeRate) return `${i.kind}: no exchange rate from ${plan.currency} to ${i.billedCurrency} in force at the call's start`;
    const { decimals } = plan.rounding;
    const method = plan.rating.method;
    const amount = RatedCharge.amountUnits(this);
    const taxes: TaxLine[] = [];
    const taxAmount = taxLines(amount, SCALE, i.taxes, decimals, method, taxes);
    const total = amount + taxAmount;
    this.kind = i.kind;
    this.planRevision = i.planRevision;
    this.taxes = taxes;
    this.billedCurrency = i.billedCurrency;
    this.exchangeRate = i.exchangeRate;
    this.#taxAmount = taxAmount;
    this.#total = total;
    this.#billedTotal = i.billedCurrency === plan.currency ? total : convertScaled(total, SCALE, i.exchangeRate, decimals, method) * plan.rating.toTen;
    return undefined;
  }

  static pricedFigures(c: PricedCharge): { taxAmount: bigint; total: bigint; billedTotal: bigint } | undefined {
    return c instanceof Priced ? { taxAmount: c.#taxAmount, total: c.#total, billedTotal: c.#billedTotal } : undefined;
  }
}

/** Rate, tax and convert one charge. Pure; rounding is the plan's, applied once per amount. */
export function priceCharge(i: ChargeInputs): PricedCharge | ChargeUnratable {
  const c = new Priced();
  const reason = c.price(i);
  return reason === undefined ? c : { kind: i.kind, reason };
}

export function isPriced(c: PricedCharge | ChargeUnratable): c is PricedCharge {
  // Not `amount`: on a priced charge that is a getter that builds a Decimal.
  return (c as ChargeUnratable).reason === undefined;
}

/** A charge as stored: decimal text for the numeric columns and the JSON breakdowns. */
export interface ChargeText {
  connectFee: string;
  /** To 10 decimals, half-up. */
  usage: string;
  amount: string;
  taxAmount: string;
  total: string;
  exchangeRate: string;
  billedTotal: string;
  /** amount to 10 decimals, half-up. */
  pieces: Array<{ rate: string; amount: string }>;
  taxes: Array<{ rate: string; taxable: string; amount: string }>;
}

/**
 * The storage text of a charge, straight from its exact figures: no Decimal is built. Each string is
 * what decimal.js's toString gives for the field (usage and piece amounts after
 * toDecimalPlaces(10), half-up), so the stored rows do not change.
 */
export function chargeText(c: PricedCharge): ChargeText {
  const priced = c instanceof RatedCharge ? Priced.pricedFigures(c) : undefined;
  if (!priced || !(c instanceof RatedCharge)) return chargeTextOfDecimals(c);
  const f = RatedCharge.figures(c);
  return {
    connectFee: f.feeText,
    usage: formatScaled(roundDiv(f.usage, f.version.tenDen, HALF_UP), SCALE),
    amount: formatScaled(f.amount, SCALE),
    taxAmount: formatScaled(priced.taxAmount, SCALE),
    total: formatScaled(priced.total, SCALE),
    exchangeRate: textOfInput(c.exchangeRate),
    billedTotal: formatScaled(priced.billedTotal, SCALE),
    pieces: c.pieces.map((p) => pieceText(p, f.version.scale) ?? { rate: p.rate.toString(), amount: p.amount.toDecimalPlaces(10).toString() }),
    taxes: c.taxes.map((t) => {
      const l = taxLineFigures(t);
      return l
        ? { rate: textOfInput(t.rate), taxable: formatScaled(l.taxable, l.scale), amount: formatScaled(l.amount, l.scale) }
        : { rate: t.rate.toString(), taxable: t.taxable.toString(), amount: t.amount.toString() };
    }),
  };
}

/** The same text from the Decimal fields, for a charge built elsewhere (a test's literal, say). */
function chargeTextOfDecimals(c: PricedCharge): ChargeText {
  return {
    connectFee: c.connectFee.toString(),
    usage: c.usage.toDecimalPlaces(10).toString(),
    amount: c.amount.toString(),
    taxAmount: c.taxAmount.toString(),
    total: c.total.toString(),
    exchangeRate: textOfInput(c.exchangeRate),
    billedTotal: c.billedTotal.toString(),
    pieces: c.pieces.map((p) => ({ rate: p.rate.toString(), amount: p.amount.toDecimalPlaces(10).toString() })),
    taxes: c.taxes.map((t) => ({ rate: t.rate.toString(), taxable: t.taxable.toString(), amount: t.amount.toString() })),
  };
}

