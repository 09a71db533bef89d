import { z } from 'zod';
import { checkbox, countryField, optionalText, requiredText } from '../../domain/fields';
import { decimalText, idChoice, momentField, optionalMomentField } from './form-fields';

export const TAX_KINDS = ['usage', 'recurring'] as const;
export type TaxKind = (typeof TAX_KINDS)[number];
export const TAX_BASES = ['percent', 'fixed'] as const;

export const jurisdictionFields = z.object({
  country: countryField,
  region: optionalText('Region', 80),
  name: requiredText('Name', 120),
});
export type JurisdictionInput = z.infer<typeof jurisdictionFields>;

/** numeric(20,10): up to 10 decimals; a percentage is at most 100. */
const rate = decimalText('Rate', { precision: 20, scale: 10 });

export const taxFields = z
  .object({
    jurisdiction_id: idChoice('a jurisdiction'),
    name: requiredText('Name', 120),
    kind: z.enum(TAX_KINDS, { error: 'Choose usage or recurring' }),
    basis: z.enum(TAX_BASES, { error: 'Choose percent or fixed amount' }),
    rate,
    priority: z
      .string({ error: 'Priority is required' })
      .trim()
      .regex(/^\d{1,6}$/, 'Priority must be a whole number from 0 to 999999')
      .transform(Number),
    compounding: checkbox,
    effective_from: momentField('Effective from'),
    effective_to: optionalMomentField('Effective to'),
  })
  .superRefine((v, ctx) => {
    if (v.basis === 'percent' && v.rate.greaterThan(100)) ctx.addIssue({ code: 'custom', path: ['rate'], message: 'A percentage must be at most 100' });
    if (v.effective_to !== null && v.effective_to <= v.effective_from) {
      ctx.addIssue({ code: 'custom', path: ['effective_to'], message: 'Effective to must be after effective from' });
    }
  });
export type TaxInput = z.infer<typeof taxFields>;

export const endTaxFields = z.object({
  effective_to: momentField('End'),
});
