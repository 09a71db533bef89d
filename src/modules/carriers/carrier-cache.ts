import { ReferenceCache } from '../../db/change-notices';
import type { Queryable } from '../../db/knex';

/** What rating needs of a carrier that has a cost deck: the deck, and the currency its costs are kept in. */
export interface CarrierDeck {
  id: number;
  name: string;
  costPlanId: number;
  currency: string;
}

/** Carriers with a cost deck by lower-cased name (names are unique whatever their case, and legs keep the trunk map's spelling). */
export type CarrierDecks = ReadonlyMap<string, Readonly<CarrierDeck>>;

async function carrierDecks(db: Queryable): Promise<CarrierDecks> {
  const rows = (await db('carriers').whereNotNull('cost_plan_id').select('id', 'name', 'cost_plan_id', 'currency')) as Array<Record<string, any>>;
  const out = new Map<string, Readonly<CarrierDeck>>();
  for (const r of rows) out.set(String(r.name).toLowerCase(), Object.freeze({ id: Number(r.id), name: r.name, costPlanId: Number(r.cost_plan_id), currency: String(r.currency).trim() }));
  return out;
}

/**
 * The carriers' cost decks in memory (an operator has a handful of carriers): rating prices every
 * outbound leg that left by one with no query. Kept right by the 'carriers' cache version, which a
 * trigger moves with every change of the table (migration 20261213005000), whoever writes it.
 * Inactive carriers keep their deck here: a leg that did leave by one still cost us its rate.
 */
export function carrierDeckCache(): ReferenceCache<CarrierDecks> {
  return new ReferenceCache('carriers', carrierDecks);
}
