import { Decimal } from '../src/domain/money/decimal';
import type { BandStart } from '../src/domain/rating/bands';
import type { Rate } from '../src/domain/rating/plan';
import type { Rng } from './rng';

/** Country codes a realistic international deck starts with (NANP '1' included). */
const COUNTRY_CODES = [
  '1', '7', '20', '27', '30', '31', '32', '33', '34', '36', '39', '40', '41', '43', '44', '45', '46', '47', '48', '49',
  '51', '52', '53', '54', '55', '56', '57', '58', '60', '61', '62', '63', '64', '65', '66', '81', '82', '84', '86', '90',
  '91', '92', '93', '94', '95', '98', '212', '213', '216', '234', '254', '351', '352', '353', '354', '358', '359', '370',
  '380', '420', '421', '852', '880', '886', '966', '971', '972', '974',
];

export interface DeckEntry {
  prefix: string;
  description: string;
  /** Per minute, as text with 4 decimals. */
  rate: string;
}

/**
 * `count` distinct outbound prefixes: every country code, then longer and longer area and mobile
 * ranges under them (2 to 8 digits), each with a per-minute rate.
 */
export function makeDeck(rng: Rng, count: number): DeckEntry[] {
  const seen = new Set<string>();
  const out: DeckEntry[] = [];
  const add = (prefix: string) => {
    if (seen.has(prefix) || out.length >= count) return;
    seen.add(prefix);
    out.push({ prefix, description: `Destination ${prefix}`, rate: (0.002 + rng.next() * 0.25).toFixed(4) });
  };
  for (const cc of COUNTRY_CODES) add(cc);
  while (out.length < count) {
    const cc = rng.pick(COUNTRY_CODES);
    add(cc + rng.digits(rng.int(1, 8 - cc.length)));
  }
  return out;
}

/** A called number under `prefix`: E.164, 11 to 13 digits, at least two digits past the prefix. */
export function numberUnder(rng: Rng, prefix: string): string {
  const total = Math.max(prefix.length + 2, rng.int(11, 13));
  return `+${prefix}${rng.digits(total - prefix.length)}`;
}

/** Peak on weekdays 08:00-20:00, offpeak the rest of the week. */
export const BANDS: BandStart[] = [
  { band: 'peak', weekdays: [1, 2, 3, 4, 5], dates: [], startMs: 8 * 3600_000 },
  { band: 'offpeak', weekdays: [1, 2, 3, 4, 5], dates: [], startMs: 20 * 3600_000 },
  { band: 'offpeak', weekdays: [0, 6], dates: [], startMs: 0 },
  // A holiday: the whole day is offpeak.
  { band: 'offpeak', weekdays: [], dates: ['2026-11-26'], startMs: 0 },
];

const steps = (rate: string, first: number, then: number) => [
  { from: 0, rate, rateUnit: 60, increment: first },
  { from: first, rate, rateUnit: 60, increment: then },
];

/**
 * Rates for a deck as the engine takes them: with bands, each prefix has a peak rate, an offpeak
 * rate 40% lower and a band-less fallback; 30/6 billing with a small connect fee and a minimum.
 */
export function deckRates(deck: DeckEntry[], opts: { bands: boolean; markup?: number; effectiveFrom?: number }): Rate[] {
  const rates: Rate[] = [];
  const effectiveFrom = opts.effectiveFrom ?? Date.UTC(2020, 0, 1);
  for (const d of deck) {
    const base = new Decimal(d.rate).times(opts.markup ?? 1);
    const mk = (band: string | null, factor: number): Rate => {
      const rate = base.times(factor).toDecimalPlaces(4).toString();
      return {
        prefix: d.prefix, description: d.description, direction: 'outbound', band, effectiveFrom,
        connectFee: new Decimal('0.0050'), minCharge: new Decimal('0.0100'), maxCost: null,
        steps: steps(rate, 30, 6).map((s) => ({ ...s, rate: new Decimal(s.rate) })),
      };
    };
    if (opts.bands) rates.push(mk('peak', 1), mk('offpeak', 0.6));
    rates.push(mk(null, 1));
  }
  // Inbound legs are free; on-net calls cost a flat small rate.
  const flat = (direction: 'inbound' | 'onnet', rate: string): Rate => ({
    prefix: '1', description: direction, direction, band: null, effectiveFrom, connectFee: new Decimal(0), minCharge: null, maxCost: null,
    steps: [{ from: 0, rate: new Decimal(rate), rateUnit: 60, increment: 1 }],
  });
  rates.push(flat('inbound', '0'), flat('onnet', '0.0050'));
  return rates;
}
