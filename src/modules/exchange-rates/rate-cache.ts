import { ReferenceCache } from '../../db/change-notices';
import { Decimal } from '../../domain/money/decimal';
import { lookupInstant, startedCount } from '../../domain/time/in-force';
import { allRatesInOrder, type RateRow } from './exchange-rates.repository';

const ONE = new Decimal(1);

/**
 * Every exchange rate in memory, answering rateInForce (exchange-rates.repository.ts) without a
 * query and with the same rule: for exactly the pair (codes trimmed, any case), the rate with the
 * latest effective_from at or before the instant (on equal instants the later id); the same
 * currency is 1; none in force is undefined. Changing either must change both.
 */
export class RateTable {
  /** "FROM|TO" -> the pair's rates, ascending by effective_from then id, as allRatesInOrder returns them. */
  private readonly pairs = new Map<string, { fromMs: number[]; rates: Decimal[] }>();

  constructor(rowsInOrder: readonly RateRow[]) {
    for (const r of rowsInOrder) {
      const key = `${r.from}|${r.to}`;
      let pair = this.pairs.get(key);
      if (!pair) this.pairs.set(key, (pair = { fromMs: [], rates: [] }));
      const last = pair.fromMs[pair.fromMs.length - 1];
      if (last !== undefined && r.fromMs < last) throw new Error(`exchange rates of ${key} are not in effective_from order`);
      pair.fromMs.push(r.fromMs);
      pair.rates.push(r.rate);
    }
  }

  rateInForce(from: string, to: string, atMs: number): Decimal | undefined {
    const f = from.trim().toUpperCase();
    const t = to.trim().toUpperCase();
    if (f === t) return ONE;
    const at = lookupInstant(atMs);
    const pair = this.pairs.get(`${f}|${t}`);
    if (!pair) return undefined;
    // How many rates start at or before `at`; the last of them is in force.
    const n = startedCount(pair.fromMs, at);
    return n === 0 ? undefined : pair.rates[n - 1];
  }
}

/** Every exchange rate, dropped whenever one is added (changeReferenceData 'exchange_rates'). */
export function exchangeRateCache(): ReferenceCache<RateTable> {
  return new ReferenceCache('exchange_rates', async (db) => new RateTable(await allRatesInOrder(db)));
}
