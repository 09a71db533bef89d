import type { Direction } from './direction';
import type { NormalisedLeg } from './leg';

/** A leg's parties as short identities ("1002@pbx.example"), where they are not E.164 numbers. */
export interface ShortIdentities {
  calling: string | null;
  called: string | null;
  /** What a call to a short identity is rated by: "+" and the platform's country code. */
  ratedNumber: string;
}

/** Whose number it is, as far as intake is concerned. */
export interface NumberOwner {
  subscriberId: number;
  resellerId: number;
}

export type Classification =
  | {
      matched: true;
      direction: Direction;
      /** The subscriber who pays for this leg (DOMAIN.md, "Direction decides who pays"). */
      payer: NumberOwner;
      /** The subscriber who received it (the holder of the called number), when that is ours. */
      callee?: NumberOwner;
      /** The number whose prefix picks the rate: the called number (for inbound, the dialled DID). */
      ratedNumber: string;
    }
  | { matched: false; reason: string };

/**
 * Decides direction and payer from the leg's numbers and which of them are our subscribers':
 * - the forwarding subscriber pays an off-net forwarded leg, as if it were outbound;
 * - caller ours, callee not: outbound, the caller pays;
 * - both ours: on-net, the caller pays (at the on-net rates);
 * - callee ours, caller not: inbound, the callee (the DID's owner) is charged at the inbound rates.
 */
export function classifyLeg(
  leg: NormalisedLeg,
  ownerOf: (number: string | null) => NumberOwner | undefined,
  /** Why a number that has been ours was nobody's at the call's time (see holders.ts vacancyOf). */
  vacancy: (number: string) => string | undefined = () => undefined,
  short?: ShortIdentities,
): Classification {
  // A party is found by its E.164 number, else by its short identity (identity.ts).
  const calling = leg.callingNumber ?? short?.calling ?? null;
  const called = leg.calledNumber ?? short?.called ?? null;
  const caller = ownerOf(calling);
  const callee = ownerOf(called);
  const forwarder = leg.redirectingNumber ? ownerOf(leg.redirectingNumber) : undefined;

  if (!called || (!leg.calledNumber && !callee)) {
    const vacant = called ? vacancy(called) : undefined;
    return { matched: false, reason: vacant ?? `called number "${leg.rawCalled}" is not a phone number${called ? ', nor an extension or SIP user name of ours' : ''}` };
  }
  // A call to a short identity (ours) is rated by the platform's country code: the on-net (or
  // inbound) rate for that prefix is the deck's catch-all for calls inside a hosted PBX.
  const ratedNumber = leg.calledNumber ?? (short?.ratedNumber as string);
  if (forwarder && !callee && (!caller || caller.subscriberId !== forwarder.subscriberId)) {
    return { matched: true, direction: 'forwarded', payer: forwarder, ratedNumber };
  }
  if (caller && callee) return { matched: true, direction: 'onnet', payer: caller, callee, ratedNumber };
  if (caller) return { matched: true, direction: 'outbound', payer: caller, ratedNumber };
  if (callee) return { matched: true, direction: 'inbound', payer: callee, callee, ratedNumber };
  // A number of ours that nobody held then says so (the leg is not billed to a later holder).
  const vacant = [calling, called].map((n) => (n ? vacancy(n) : undefined)).filter((v): v is string => v !== undefined);
  if (vacant.length) return { matched: false, reason: vacant.join('; ') };
  return {
    matched: false,
    reason: `no subscriber has ${[leg.callingNumber ?? leg.rawCalling, leg.calledNumber].filter(Boolean).join(' or ')}`,
  };
}
