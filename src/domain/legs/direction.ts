/**
 * Who pays and which deck applies (DOMAIN.md, "Call records"):
 * outbound (caller pays), inbound (usually free; toll-free and premium DIDs charge the owner),
 * onnet (subscriber to subscriber), forwarded (the forwarding subscriber pays, as if outbound).
 */
export const DIRECTIONS = ['outbound', 'inbound', 'onnet', 'forwarded'] as const;
export type Direction = (typeof DIRECTIONS)[number];

export function isDirection(v: unknown): v is Direction {
  return typeof v === 'string' && (DIRECTIONS as readonly string[]).includes(v);
}

/** Forwarded legs go off-net like outbound ones and are priced from the outbound rates. */
export function deckDirection(d: Direction): Exclude<Direction, 'forwarded'> {
  return d === 'forwarded' ? 'outbound' : d;
}
