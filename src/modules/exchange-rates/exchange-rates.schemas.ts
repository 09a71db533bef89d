import { z } from 'zod';
import { listParams } from '../../domain/fields';
import { currencyField } from '../../domain/fields';
import { decimalText, momentField } from '../taxes/form-fields';

/** One unit of `from_currency` is `rate` units of `to_currency`, from `effective_from` on. numeric(30,12). */
export const exchangeRateFields = z
  .object({
    from_currency: currencyField,
    to_currency: currencyField,
    rate: decimalText('Rate', { precision: 30, scale: 12, positive: true }),
    effective_from: momentField('Effective from'),
  })
  .refine((v) => v.from_currency !== v.to_currency, { path: ['to_currency'], message: 'Choose a different currency: the same currency always converts at 1' });
export type ExchangeRateInput = z.infer<typeof exchangeRateFields>;

export const exchangeRateListQuery = z.object({
  from: z.string().trim().toUpperCase().regex(/^[A-Z]{3}$/).optional().catch(undefined),
  to: z.string().trim().toUpperCase().regex(/^[A-Z]{3}$/).optional().catch(undefined),
  state: z.enum(['in force', 'superseded', 'scheduled']).optional().catch(undefined),
  ...listParams,
});
