import { ReferenceCache } from '../../db/change-notices';
import { taxOrder, type TaxRule } from '../../domain/tax/tax';
import { inForceAt, lookupInstant } from '../../domain/time/in-force';
import { ownerKey, usageTaxRows, type TaxOwner, type UsageTaxRow } from './taxes.repository';

/**
 * Every usage tax in memory, answering usageTaxesFor (taxes.repository.ts) without a query and with
 * the same rules: the owner's taxes whose jurisdiction is the address's country as a whole or its
 * country and region (case-insensitively, spaces around ignored), in force at the instant
 * (effective_from <= at < effective_to), ordered by priority, then id. Exemption is decided by
 * the caller. Changing either must change both.
 */
export class UsageTaxTable {
  /** owner key -> country -> that owner's taxes in the country, in application order. */
  private readonly byOwner = new Map<number, Map<string, UsageTaxRow[]>>();

  constructor(rows: readonly UsageTaxRow[]) {
    for (const row of [...rows].sort((a, b) => taxOrder(a.rule, b.rule))) {
      let byCountry = this.byOwner.get(row.ownerKey);
      if (!byCountry) this.byOwner.set(row.ownerKey, (byCountry = new Map()));
      let list = byCountry.get(row.country);
      if (!list) byCountry.set(row.country, (list = []));
      // Rules are shared by every call that reads them: frozen.
      list.push({ ...row, rule: Object.freeze({ ...row.rule }) });
    }
  }

  rulesFor(owner: TaxOwner, address: { country: string; region: string | null }, atMs: number): TaxRule[] {
    const at = lookupInstant(atMs);
    const list = this.byOwner.get(ownerKey(owner))?.get(address.country.trim().toUpperCase());
    if (!list) return [];
    const region = address.region?.trim() ? address.region.trim().toLowerCase() : null;
    const out: TaxRule[] = [];
    for (const t of list) {
      if (t.regionKey !== null && t.regionKey !== region) continue;
      if (inForceAt(t.fromMs, t.toMs, at)) out.push(t.rule);
    }
    return out;
  }
}

/** The usage taxes of every owner, dropped on every change of a tax or a jurisdiction (changeReferenceData 'taxes'). */
export function usageTaxCache(): ReferenceCache<UsageTaxTable> {
  return new ReferenceCache('taxes', async (db) => new UsageTaxTable(await usageTaxRows(db)));
}
