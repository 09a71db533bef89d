import type { Queryable } from '../../db/knex';
import { Decimal } from '../../domain/money/decimal';
import type { ExchangeRateInput } from './exchange-rates.schemas';

/** A published rate: 1 unit of `from` is `rate` units of `to` from effectiveFrom on. Never changed once added. */
export interface ExchangeRateRow {
  id: number;
  from: string;
  to: string;
  rate: Decimal;
  effectiveFrom: Date;
  createdAt: Date;
}

function toRate(r: Record<string, any>): ExchangeRateRow {
  return { id: r.id, from: r.from_currency, to: r.to_currency, rate: new Decimal(r.rate), effectiveFrom: r.effective_from, createdAt: r.created_at };
}

/** Every rate, grouped by pair (alphabetical), newest effective date first within a pair. */
export async function listRates(db: Queryable, filter: { from?: string; to?: string } = {}): Promise<ExchangeRateRow[]> {
  const q = db('exchange_rates').orderBy([{ column: 'from_currency' }, { column: 'to_currency' }, { column: 'effective_from', order: 'desc' }, { column: 'id', order: 'desc' }]);
  if (filter.from) q.where('from_currency', filter.from);
  if (filter.to) q.where('to_currency', filter.to);
  return (await q).map(toRate);
}

export async function insertRate(db: Queryable, input: ExchangeRateInput): Promise<ExchangeRateRow> {
  const [row] = await db('exchange_rates')
    .insert({ from_currency: input.from_currency, to_currency: input.to_currency, rate: input.rate.toString(), effective_from: new Date(input.effective_from).toISOString() })
    .returning('*');
  return toRate(row);
}

/**
 * The rate that converts `from` into `to` at `atMs` (a call's start): the pair's row with the latest
 * effective_from at or before atMs. The same currency is 1; no such row is undefined (never 1,
 * never 0), and the reverse pair is not inverted. Same rule as pickRate in domain/money/fx, and as
 * RateTable (rate-cache.ts), which the intake answers from: changing one must change the other.
 */
export async function rateInForce(db: Queryable, from: string, to: string, atMs: number): Promise<Decimal | undefined> {
  const f = from.trim().toUpperCase();
  const t = to.trim().toUpperCase();
  if (f === t) return new Decimal(1);
  const row = await db('exchange_rates')
    .where({ from_currency: f, to_currency: t })
    .where('effective_from', '<=', new Date(atMs).toISOString())
    .orderBy([{ column: 'effective_from', order: 'desc' }, { column: 'id', order: 'desc' }])
    .first('rate');
  return row ? new Decimal(row.rate) : undefined;
}

/** A rate as rate-cache.ts holds it: effective_from in epoch ms rounded UP (see usageTaxRows in taxes). */
export interface RateRow {
  from: string;
  to: string;
  fromMs: number;
  rate: Decimal;
}

/** Every rate, pair by pair, in effective_from order (ties by id): the order RateTable relies on. */
export async function allRatesInOrder(db: Queryable): Promise<RateRow[]> {
  const rows = (await db.raw(
    `select from_currency, to_currency, rate, ceil(extract(epoch from effective_from) * 1000) as from_ms
       from exchange_rates order by from_currency, to_currency, effective_from, id`,
  )).rows as Array<Record<string, any>>;
  return rows.map((r) => ({ from: r.from_currency, to: r.to_currency, fromMs: Number(r.from_ms), rate: new Decimal(r.rate) }));
}
