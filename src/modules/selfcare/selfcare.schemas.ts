import { z } from 'zod';

/** The rates search: a destination name or a number, one deck (outbound by default), a page. */
export const ratesQuery = z.object({
  q: z.string().trim().max(60).optional().catch(undefined),
  direction: z.enum(['outbound', 'inbound', 'onnet']).optional().catch(undefined),
  cursor: z.string().max(500).optional().catch(undefined),
});
export type RatesQuery = z.infer<typeof ratesQuery>;
