import type { NormalisedLeg } from './leg';

/** What a leg says about the call, as stored: what a re-post of the same leg is compared on. */
export type LegFacts = Pick<
  NormalisedLeg,
  'startMs' | 'answerMs' | 'endMs' | 'billableSeconds' | 'answered' | 'callingNumber' | 'calledNumber' | 'disposition' | 'trunk' | 'redirectingNumber'
>;

const FACTS: Array<[keyof LegFacts, string]> = [
  ['startMs', 'start'],
  ['answerMs', 'answer'],
  ['endMs', 'end'],
  ['billableSeconds', 'billable seconds'],
  ['answered', 'answered'],
  ['callingNumber', 'calling number'],
  ['calledNumber', 'called number'],
  ['disposition', 'disposition'],
  ['trunk', 'trunk'],
  ['redirectingNumber', 'redirecting number'],
];

const TIMES = new Set<keyof LegFacts>(['startMs', 'answerMs', 'endMs']);

function shown(key: keyof LegFacts, v: unknown): string {
  if (v === null || v === undefined) return 'none';
  return TIMES.has(key) ? new Date(v as number).toISOString() : String(v);
}

/**
 * How a re-posted leg differs from the leg stored under its key, one line per fact ("start: stored
 * 2026-11-25T12:00:26.597Z, posted 2026-11-25T12:00:26.000Z"); empty when it says the same. A leg
 * key names one leg: a re-post is never stored again, but one that says something else is kept for
 * review, since one of the two is wrong. Billable seconds count only for answered legs, as stored.
 */
export function legDifferences(stored: LegFacts, posted: LegFacts): string[] {
  const out: string[] = [];
  for (const [key, name] of FACTS) {
    let a: unknown = stored[key];
    let b: unknown = posted[key];
    if (key === 'billableSeconds') {
      a = stored.answered ? a : 0;
      b = posted.answered ? b : 0;
    }
    if ((a ?? null) !== (b ?? null)) out.push(`${name}: stored ${shown(key, a)}, posted ${shown(key, b)}`);
  }
  return out;
}
