import { changeReferenceData, type ReferenceInvalidator } from '../../db/change-notices';
import type { Db, Queryable } from '../../db/knex';
import type { Decimal } from '../../domain/money/decimal';
import { rethrowDuplicate } from '../../db/knex';
import type { Actor } from '../../domain/tenancy/actor';
import { recordAudit } from '../audit/audit.repository';
import * as repo from './exchange-rates.repository';
import type { ExchangeRateInput } from './exchange-rates.schemas';

const UNIQUE = {
  exchange_rates_key: ['effective_from', 'This pair already has a rate from exactly this moment: a correction takes effect from a later moment'] as [string, string],
};

/**
 * Adds a rate. Rates are never edited or deleted: charges keep the rate they were converted with,
 * and the history must show what was in force when. A correction is a new row from a later moment.
 * The intake converts from memory (rate-cache.ts): the change is announced to every process.
 */
export async function addRate(db: Db, refs: ReferenceInvalidator, actor: Actor, input: ExchangeRateInput): Promise<repo.ExchangeRateRow> {
  try {
    return await changeReferenceData(db, refs, 'exchange_rates', async (tx) => {
      const rate = await repo.insertRate(tx, input);
      await recordAudit(tx, actor, {
        resellerId: null,
        entityType: 'exchange_rate',
        entityId: rate.id,
        action: 'create',
        after: { from_currency: rate.from, to_currency: rate.to, rate: rate.rate.toString(), effective_from: rate.effectiveFrom },
      });
      return rate;
    });
  } catch (err) {
    return rethrowDuplicate(err, UNIQUE);
  }
}

// ---- Reads: what the portal's pages show, and the API will share (routes never read a repository) ----

export type { ExchangeRateRow } from './exchange-rates.repository';

/** Every rate, grouped by pair (newest first within each), optionally of one pair. */
export async function listRates(db: Db, filter: { from?: string; to?: string } = {}): Promise<repo.ExchangeRateRow[]> {
  return repo.listRates(db, filter);
}

/** What 1 `from` is worth in `to` at `atMs` (the rule rating converts by); undefined when no rate says. */
export async function exchangeRateAt(db: Queryable, from: string, to: string, atMs: number): Promise<Decimal | undefined> {
  return repo.rateInForce(db, from, to, atMs);
}
