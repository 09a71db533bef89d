/**
 * How a leg ended, in one vocabulary for every format (docs/CDR-FORMATS.md, "Disposition"): each
 * adapter maps its switch's own word onto it and keeps that word in `switchCause`.
 */
export const DISPOSITIONS = ['answered', 'no_answer', 'busy', 'failed', 'cancelled'] as const;
export type Disposition = (typeof DISPOSITIONS)[number];

/** The switch's own direction words, as the adapters keep them (stored as call_legs.switch_direction). */
export type PlatformDirection = 'inbound' | 'outbound' | 'originating' | 'terminating';

/**
 * A call leg as the mediation adapters hand it to intake: one normalised leg derived from what a
 * platform sent (DOMAIN.md, "Call records"). Adapters fill what the record says; classification
 * (direction as DOMAIN.md defines it, the subscriber who pays) happens after, against our numbers.
 */
export interface NormalisedLeg {
  /** Unique per platform for this leg; a re-post of the same leg carries the same key (idempotency). */
  legKey: string;
  /** Links the legs of one call (A and B legs, forwarded legs). */
  callId: string;
  /** E.164, or null when the record carries no usable number (anonymous, a SIP user name). */
  callingNumber: string | null;
  calledNumber: string | null;
  /** The numbers exactly as the platform sent them, kept for inspection and re-normalisation. */
  rawCalling: string;
  rawCalled: string;
  /** UTC epoch milliseconds. */
  startMs: number;
  answerMs: number | null;
  endMs: number | null;
  /** Answered (talk) seconds, not ringing time; 0 when unanswered. */
  billableSeconds: number;
  answered: boolean;
  /** How the leg ended, in our vocabulary: `answered` exactly when `answered` is true. */
  disposition: Disposition;
  /**
   * The switch's own word for how the leg ended, as it sent it (NORMAL_CLEARING, NO ANSWER, 487,
   * "016", "orig 16, dest 0"); null when the format has none of its own (the generic formats).
   */
  switchCause: string | null;
  /**
   * Direction as the platform reports it, relative to itself or to its user: FreeSWITCH
   * inbound/outbound (channel), BroadWorks originating/terminating (user). Undefined when the
   * format has none (Asterisk, Kamailio): classification then goes by numbers and trunk.
   */
  platformDirection?: PlatformDirection;
  /** Trunk, gateway or route the leg used, for the trunk-to-carrier map of outbound legs. */
  trunk: string | null;
  /** For a forwarded or redirected leg: the subscriber number that forwarded it (E.164), else null. */
  redirectingNumber: string | null;
  /** The platform's account code, when it sends one. */
  accountCode: string | null;
  /**
   * The SIP domain the record names (FreeSWITCH domain_name or sip_from_host, Kamailio from/to
   * domain), for short identities (extensions, SIP user names) of hosted PBX platforms; when
   * absent the platform's own default domain applies.
   */
  domain?: string | null;
}

/** Per-platform settings an adapter needs to read local times and national numbers. */
export interface AdapterContext {
  /** IANA zone for formats that carry local times without an offset (Asterisk, FreeSWITCH *_stamp). */
  timeZone: string;
  /** Calling code (digits) for numbers written without one, e.g. "1". */
  countryCode: string;
}

/** One record of a post: the legs it produced, or why it was refused. `raw` is that record's text. */
export type RecordOutcome =
  | { ok: true; index: number; raw: string; legs: NormalisedLeg[] }
  | {
      ok: false;
      index: number;
      raw: string;
      error: string;
      /**
       * Set when the record is half of a call whose other half may come in another post (a
       * Kamailio INVITE without its BYE): intake keeps it under `key` and parses it again, as a
       * JSON object of its columns (`record`), together with the other half when that arrives.
       */
      awaiting?: { key: string; record: Record<string, string> };
    };

export interface AdapterResult {
  records: RecordOutcome[];
}
