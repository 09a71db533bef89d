import type { AllowanceClaim } from '../billing/allowances';
import type { PricedCharge } from '../rating/charge';
import type { Direction } from './direction';
import type { NormalisedLeg } from './leg';

/**
 * rated: every charge the leg owes is priced; partial: one is and one is not (the reason names the
 * side that is missing); unrated: none is; blocked: an inactive account, nothing priced.
 */
export type LegStatus = 'rated' | 'partial' | 'unrated' | 'blocked';

/** A leg with who pays, how it was classified, and its charges: what rating hands to the ledger. */
export interface RatedLeg {
  leg: NormalisedLeg;
  direction: Direction | null;
  resellerId: number | null;
  subscriberId: number | null;
  /** Who received the leg (the called number's holder at the call's time), when ours; it pays only for inbound legs. */
  calleeResellerId: number | null;
  calleeSubscriberId: number | null;
  status: LegStatus;
  reason: string | null;
  charges: PricedCharge[];
  /**
   * Charges that may draw on toll package allowances (none for most legs): the write settles them
   * in its transaction, under the balances' row locks (domain/billing/allowances.ts).
   */
  claims?: AllowanceClaim[];
}

/** Whether a leg of this status has charges, and so a time it was rated. */
export const hasCharges = (status: string): boolean => status === 'rated' || status === 'partial';

/**
 * The LD carrier a leg left by: only legs that leave the network (outbound, forwarded) have one,
 * named by the platform's trunk-to-carrier map for the leg's trunk; none when the map does not
 * name the trunk. The intake and re-rating both store it, so they must agree.
 */
export function carrierOf(leg: { trunk: string | null }, direction: Direction | null, trunkCarriers: Readonly<Record<string, string>> | undefined): string | null {
  if (direction !== 'outbound' && direction !== 'forwarded') return null;
  return leg.trunk ? (trunkCarriers?.[leg.trunk] ?? null) : null;
}
