import { z } from 'zod';

/** The period of an export (local dates, checked by dayPeriod) and the journal's entries: per day or one per period. */
export const exportQuery = z.object({
  from: z.string().max(40).optional().catch(undefined),
  to: z.string().max(40).optional().catch(undefined),
  entries: z.enum(['day', 'period']).catch('day'),
  reseller: z.coerce.number().int().positive().optional().catch(undefined),
});

const code = z.string().trim().min(1, 'Give a code.').max(40, 'At most 40 characters.');

/** The account-codes form: one general-ledger account per role. */
export const accountCodesFields = z.object({
  revenue: code,
  costOfSales: code,
  taxPayable: code,
  receivable: code,
  payable: code,
  taxPaid: code,
});
