import { z } from 'zod';
import { DIRECTIONS } from '../../domain/legs/direction';
import { readIsoDate } from '../../domain/time/date-time';
import { LEG_STATUSES } from '../ledger/ledger.repository';

/** A calendar date as typed in a date input (a local day of the viewer's zone); anything else is dropped (the default applies). */
const dateText = z
  .string()
  .trim()
  .regex(/^\d{4}-\d{2}-\d{2}$/)
  .refine((s) => readIsoDate(s).ok)
  .optional()
  .catch(undefined);

/** An id typed or chosen in a filter, kept as text for links (empty: any). */
const idText = z.string().trim().regex(/^[1-9]\d{0,15}$/).optional().catch(undefined);

const text = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .optional()
    .transform((v) => (v ? v : undefined))
    .catch(undefined);

const cursor = z.string().max(500).optional().catch(undefined);

/**
 * The sortable columns of the call lists, each either way ("-x": descending): the start time (the
 * default, newest first), the billable duration, the called number and each charge the row shows.
 * Every order is keyset-paged with the leg id as tie-break; only the start is read by an index
 * (why, and what the others cost: sortValueSql in ledger/ledger.reads.ts). A subscriber's scope
 * never orders by the wholesale charge (it never reads it): that sort falls back to the default.
 */
export const CALL_SORTS = ['-start', 'start', '-duration', 'duration', '-to', 'to', '-wholesale', 'wholesale', '-retail', 'retail'] as const;
export type CallSort = (typeof CALL_SORTS)[number];

/**
 * The filters of the call lists (all portals). Subscriber for staff (a reseller's own); reseller,
 * platform and carrier for operator staff only. `q` is a number in any usual form (see readNumberSearch).
 */
export const callListQuery = z.object({
  from: dateText,
  to: dateText,
  q: text(40),
  direction: z.enum(DIRECTIONS).optional().catch(undefined),
  status: z.enum(LEG_STATUSES).optional().catch(undefined),
  answered: z.enum(['yes', 'no']).optional().catch(undefined),
  subscriber: idText,
  reseller: idText,
  platform: idText,
  carrier: z.string().trim().max(100).optional().catch(undefined),
  sort: z.enum(CALL_SORTS).optional().catch(undefined),
  cursor,
});
export type CallListQuery = z.infer<typeof callListQuery>;

/** The filters of the unrated-calls pages. */
export const unratedListQuery = z.object({
  from: dateText,
  to: dateText,
  reason: text(200),
  status: z.enum(['partial', 'unrated', 'blocked']).optional().catch(undefined),
  reseller: idText,
  platform: idText,
  cursor,
});
export type UnratedListQuery = z.infer<typeof unratedListQuery>;

const idList = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]).map((s) => s.trim()).filter(Boolean))
  .catch([]);

/**
 * A re-rate request from the unrated page: the ticked legs (mode "selected"), or every leg the
 * filter carried in hidden fields matches (mode "filter").
 */
export const unratedRerateForm = unratedListQuery.omit({ cursor: true }).extend({
  mode: z.enum(['selected', 'filter']).optional().catch(undefined),
  ids: idList,
});

/** A re-rate of every leg the calls page's filter matches, whatever its status (operator staff). */
export const callsRerateForm = callListQuery.omit({ cursor: true }).extend({
  confirm: z.literal('yes').optional().catch(undefined),
});

/** The rejects list. */
export const rejectListQuery = z.object({
  platform: idText,
  cursor,
});
