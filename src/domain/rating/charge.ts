import { convert } from '../money/fx';
import type { Decimal } from '../money/decimal';
import { computeTaxes, type TaxLine, type TaxRule } from '../tax/tax';
import { isUnratable, rateLeg, type Charge, type RatableLeg } from './engine';
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

/** Rate, tax and convert one charge. Pure; rounding is the plan's, applied once per amount. */
export function priceCharge(i: ChargeInputs): PricedCharge | ChargeUnratable {
  const rated = rateLeg(i.leg, i.plan);
  if (isUnratable(rated)) return { kind: i.kind, reason: `${i.kind}: ${rated.detail}` };
  if (!i.exchangeRate) {
    return { kind: i.kind, reason: `${i.kind}: no exchange rate from ${i.plan.currency} to ${i.billedCurrency} in force at the call's start` };
  }
  const tax = computeTaxes(rated.amount, i.taxes, i.plan.rounding);
  const total = rated.amount.plus(tax.total);
  return {
    ...rated,
    kind: i.kind,
    planRevision: i.planRevision,
    taxes: tax.lines,
    taxAmount: tax.total,
    total,
    billedCurrency: i.billedCurrency,
    exchangeRate: i.exchangeRate,
    billedTotal: i.billedCurrency === i.plan.currency ? total : convert(total, i.exchangeRate, i.plan.rounding),
  };
}

export function isPriced(c: PricedCharge | ChargeUnratable): c is PricedCharge {
  return (c as PricedCharge).amount !== undefined;
}
