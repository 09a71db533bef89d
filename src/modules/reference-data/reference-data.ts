import type { CacheVersions } from '../../db/cache-versions';
import type { ReferenceCache, ReferenceInvalidator, ReferenceKind } from '../../db/change-notices';
import { carrierDeckCache } from '../carriers/carrier-cache';
import { exchangeRateCache } from '../exchange-rates/rate-cache';
import { platformCache } from '../platforms/platform-cache';
import type { PlanCache } from '../rate-plans/plan-cache';
import { usageTaxCache } from '../taxes/tax-cache';

/**
 * The rarely-changing rows every CDR post reads, held in memory, one set per process: platforms
 * (the credential check), usage taxes, exchange rates and the carriers' cost decks (rating). Kept right like the rate plans,
 * by the process's CacheVersions (db/cache-versions.ts): each kind has a version in the database
 * that triggers move with every change, and a copy is served only while its version is confirmed.
 * Writers go through changeReferenceData (NOTIFY at commit, a hint for other processes to check
 * now; this process's copy dropped after it).
 */
export class ReferenceData implements ReferenceInvalidator {
  readonly platforms = platformCache();
  readonly usageTaxes = usageTaxCache();
  readonly exchangeRates = exchangeRateCache();
  /** The LD carriers' cost decks by name (the expected carrier cost of outbound legs). */
  readonly carriers = carrierDeckCache();
  readonly caches: ReadonlyArray<ReferenceCache<unknown>> = [this.platforms, this.usageTaxes, this.exchangeRates, this.carriers];
  private versions: CacheVersions | undefined;

  /** Registers every kind with the process's versions. */
  follow(versions: CacheVersions): void {
    this.versions = versions;
    for (const c of this.caches) versions.register(c);
  }

  invalidate(kind: ReferenceKind): void {
    for (const c of this.caches) if (c.kind === kind) c.invalidate();
    // The version moved too: have the next read see that first, or it would drop the new copy again.
    this.versions?.unconfirm();
  }

  clear(): void {
    for (const c of this.caches) c.invalidate();
  }
}

/** What rating reads from memory, one of each per process: compiled rate plans and reference data, and the versions they follow. */
export interface RatingCaches {
  plans: PlanCache;
  refs: ReferenceData;
  /** The process's cache versions (absent: caches that nobody changes behind their back, as in scripts). */
  versions?: CacheVersions;
}
