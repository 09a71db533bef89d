import { z } from 'zod';
import { checkbox, currencyField, optionalText, requiredText } from '../../domain/fields';
import { ROUNDING_METHODS } from '../../domain/money/decimal';
import { isValidTimeZone } from '../../domain/rating/zoned-time';

export const planFields = z.object({
  name: requiredText('Name', 120),
  description: optionalText('Description', 1000),
  currency: currencyField,
  rounding_decimals: z.coerce
    .number({ error: 'Decimals must be a whole number from 0 to 10' })
    .int('Decimals must be a whole number from 0 to 10')
    .min(0, 'Decimals must be a whole number from 0 to 10')
    .max(10, 'Decimals must be a whole number from 0 to 10'),
  rounding_method: z.enum(ROUNDING_METHODS, { error: 'Choose a rounding method' }),
  time_zone: z
    .string()
    .trim()
    .min(1, 'Time zone is required')
    .refine(isValidTimeZone, 'Unknown time zone: use an IANA name such as America/New_York or UTC'),
  band_mode: z.enum(['split', 'start'], { error: 'Choose how calls across bands are priced' }),
  connect_fee_on_unanswered: checkbox,
});
export type PlanInput = z.infer<typeof planFields>;

export const deckImportSchema = z.object({
  mode: z.enum(['merge', 'replace'], { error: 'Choose merge or replace' }),
  csv: z.string().optional(),
  /** A date and time in the viewer's zone every row takes effect from (a new version of the deck); blank: the rows' own. */
  effective_at: z.string().max(40).optional(),
});

export const rateSearchQuery = z.object({
  prefix: z.string().trim().regex(/^\+?\d{0,15}$/).optional().catch(undefined),
  direction: z.enum(['outbound', 'inbound', 'onnet']).optional().catch(undefined),
  cursor: z.string().max(300).optional().catch(undefined),
});

/** The rate look-up on a plan's page (a GET form): a number, when, how long, which way. */
export const rateLookupQuery = z.object({
  lookup_number: z.string().trim().max(64).optional().catch(undefined),
  lookup_at: z.string().trim().max(40).optional().catch(undefined),
  lookup_seconds: z.string().trim().max(10).optional().catch(undefined),
  lookup_direction: z.enum(['outbound', 'inbound', 'onnet', 'forwarded']).optional().catch(undefined),
});
export type RateLookupQuery = z.infer<typeof rateLookupQuery>;
