import { REFERENCE_DATA_CHANNEL, REFERENCE_KINDS, type ChangeSubscriber, type ReferenceCache, type ReferenceInvalidator, type ReferenceKind } from '../../db/change-notices';
import { exchangeRateCache } from '../exchange-rates/rate-cache';
import { platformCache } from '../platforms/platform-cache';
import type { PlanCache } from '../rate-plans/plan-cache';
import { usageTaxCache } from '../taxes/tax-cache';

/**
 * The rarely-changing rows every CDR post reads, held in memory, one set per process: platforms
 * (the credential check), usage taxes and exchange rates (rating). Kept right like the rate plans:
 * writers go through changeReferenceData (NOTIFY at commit, this process's copy dropped after it);
 * other processes hear the notice through the app's change listener, which this subscribes to.
 */
export class ReferenceData implements ChangeSubscriber, ReferenceInvalidator {
  readonly channel = REFERENCE_DATA_CHANNEL;
  readonly platforms = platformCache();
  readonly usageTaxes = usageTaxCache();
  readonly exchangeRates = exchangeRateCache();
  private readonly all: Array<ReferenceCache<unknown>> = [this.platforms, this.usageTaxes, this.exchangeRates];

  invalidate(kind: ReferenceKind): void {
    for (const c of this.all) if (c.kind === kind) c.invalidate();
  }

  clear(): void {
    for (const c of this.all) c.invalidate();
  }

  onNotice(payload: string): void {
    // A kind this version does not know: drop everything rather than guess.
    if ((REFERENCE_KINDS as readonly string[]).includes(payload)) this.invalidate(payload as ReferenceKind);
    else this.clear();
  }

  onLost(): void {
    for (const c of this.all) c.suspend();
  }

  onListening(): void {
    for (const c of this.all) c.resume();
  }
}

/** What rating reads from memory, one of each per process: compiled rate plans and reference data. */
export interface RatingCaches {
  plans: PlanCache;
  refs: ReferenceData;
}
