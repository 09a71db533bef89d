import { z } from 'zod';

/** A dashboard's period as typed (local dates, YYYY-MM-DD); read and checked by dayPeriod, which says what is wrong. */
export const dashboardQuery = z.object({
  from: z.string().max(40).optional().catch(undefined),
  to: z.string().max(40).optional().catch(undefined),
});
export type DashboardQuery = z.infer<typeof dashboardQuery>;
