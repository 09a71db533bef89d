import { z } from 'zod';
import { RECON_CLASSES } from '../../domain/reconciliation/reconcile';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date, YYYY-MM-DD');

/** The period form: first and last day, inclusive, in the viewer's zone. */
export const periodForm = z.object({ from: day, to: day });

export const ITEM_SORTS = ['time', 'money', 'destination', 'called', 'seconds_difference'] as const;

/** The drill-down list's filter: a class, a destination ('-' for none: records we do not have), a day in the viewer's zone. */
export const itemQuery = z.object({
  class: z.enum(RECON_CLASSES).optional().catch(undefined),
  destination: z.string().max(300).optional(),
  day: day.optional().catch(undefined),
  sort: z.enum(ITEM_SORTS).default('time').catch('time'),
  page: z.coerce.number().int().min(1).max(100_000).default(1).catch(1),
});

export const CLASS_LABELS: Record<(typeof RECON_CLASSES)[number], string> = {
  matched_equal: 'Matched, equal',
  duration_mismatch: 'Duration mismatch',
  rate_mismatch: 'Rate mismatch',
  cost_mismatch: 'Cost mismatch',
  not_in_our_records: 'Not in our records',
  not_billed_by_carrier: 'Not billed by carrier',
};

/** The LD carrier report's period (local days, inclusive) and optional carrier. */
export const reportQuery = z.object({
  from: day.optional().catch(undefined),
  to: day.optional().catch(undefined),
  carrier: z.coerce.number().int().positive().optional().catch(undefined),
});
