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

// The intake and re-rating are handed only the process's plan cache (their signatures predate
// this), so the reference data travels with it: the app attaches its own to its plan cache.
const attached = new WeakMap<PlanCache, ReferenceData>();

export function attachReferenceData(planCache: PlanCache, refs: ReferenceData): void {
  attached.set(planCache, refs);
}

/**
 * The reference data that goes with `planCache`. A plan cache no app attached any to (a tool
 * that builds its own) gets a fresh set per call: read from the database each time, never stale.
 */
export function referenceDataOf(planCache: PlanCache): ReferenceData {
  return attached.get(planCache) ?? new ReferenceData();
}
