import { z } from 'zod';

/** A report's period as typed (local dates, YYYY-MM-DD); read and checked by dayPeriod, which says what is wrong. */
export const reportQuery = z.object({
  from: z.string().max(40).optional().catch(undefined),
  to: z.string().max(40).optional().catch(undefined),
});
export type ReportQuery = z.infer<typeof reportQuery>;
