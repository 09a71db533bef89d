import { compilePlan, type CompiledPlan, type RatePlanSettings } from '../../src/domain/rating/plan';
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
