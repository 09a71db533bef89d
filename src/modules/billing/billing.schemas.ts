import { z } from 'zod';

/** ?cycle=YYYY-MM-DD: the local start date of a past cycle to show (anything else: the current one). */
export const accountQuery = z.object({
  cycle: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional().catch(undefined),
});
