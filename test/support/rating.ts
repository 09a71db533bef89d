import { decimalOfFixed } from '../../src/domain/money/fixed';
import { chargeDecimals, type PricedCharge } from '../../src/domain/rating/charge';
import type { Charge } from '../../src/domain/rating/engine';
import { compilePlan, type CompiledPlan, type CompiledVersion, type Rate, type RatePlanSettings } from '../../src/domain/rating/plan';
import { readBandsCsv, readDeckCsv } from '../../src/modules/rate-plans/deck-csv';

export const DECK_HEADER = 'prefix,description,direction,band,interval_start,rate,rate_unit,increment,connect_fee,min_charge,max_cost,effective_from';

/** A compiled plan from deck and band CSV bodies (header added when missing). */
export function planFromCsv(deckRows: string, bandRows = '', settings: Partial<RatePlanSettings> = {}): CompiledPlan {
  const s: RatePlanSettings = {
    id: 1, name: 'Test plan', currency: 'USD', rounding: { decimals: 4, method: 'half_up' }, timeZone: 'UTC',
    bandMode: 'split', connectFeeOnUnanswered: false, ...settings,
  };
  const bandsText = bandRows.trim() ? (bandRows.trim().startsWith('band,') ? bandRows : `band,days,start\n${bandRows}`) : '';
  const bands = bandsText ? readBandsCsv(bandsText) : { ok: true as const, value: [] };
  if (!bands.ok) throw new Error(`bands: ${JSON.stringify(bands.errors)}`);
  const deckText = deckRows.trim().startsWith('prefix,') ? deckRows : `${DECK_HEADER}\n${deckRows.trim()}`;
  const deck = readDeckCsv(deckText, { timeZone: s.timeZone, bands: new Set(bands.value.map((b) => b.band)) });
  if (!deck.ok) throw new Error(`deck: ${JSON.stringify(deck.errors)}`);
  return compilePlan(s, deck.value, bands.value);
}

/** A leg answered at `answer` (ISO with offset), started 5 s earlier. */
export function answered(number: string, answer: string, seconds: number, direction: 'outbound' | 'inbound' | 'onnet' | 'forwarded' = 'outbound') {
  const answerMs = Date.parse(answer);
  return { direction, number, startMs: answerMs - 5000, answerMs, billableSeconds: seconds };
}

/**
 * A charge with its figures as Decimals (chargeDecimals), in the shape the engine's results had
 * before they were plain Fixed data: the scenario and oracle tests read them so.
 */
export function decimalCharge(c: Charge) {
  const d = chargeDecimals(c);
  return {
    ...c,
    connectFee: d.connectFee,
    usage: d.usage,
    subtotal: d.subtotal,
    amount: d.amount,
    pieces: c.pieces.map((p, i) => ({ ...p, rate: d.pieces[i]!.rate, amount: d.pieces[i]!.amount })),
  };
}
export type DecimalCharge = ReturnType<typeof decimalCharge>;

/** A priced charge with its figures as Decimals (see decimalCharge). */
export function decimalPriced(c: PricedCharge) {
  return { ...c, ...decimalCharge(c), taxAmount: decimalOfFixed(c.taxAmount), total: decimalOfFixed(c.total), billedTotal: decimalOfFixed(c.billedTotal) };
}

/** A compiled version's rates as imported (the findRate property compares them with the reference's). */
export function ratesOf(v: CompiledVersion): Rate[] {
  return v.rates.map((r) => ({
    prefix: v.prefix,
    description: r.description,
    direction: v.direction,
    band: r.band,
    effectiveFrom: v.effectiveFrom,
    connectFee: decimalOfFixed(r.connectFee),
    minCharge: r.minCharge === null ? null : decimalOfFixed(r.minCharge),
    maxCost: r.maxCost === null ? null : decimalOfFixed(r.maxCost),
    steps: r.steps.map((s) => ({ from: s.from, rate: decimalOfFixed(s.rate), rateUnit: s.rateUnit, increment: s.increment })),
  }));
}
