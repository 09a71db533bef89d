import { z } from 'zod';
import { currencyField, jsonFields, listParams, optionalText, requiredText } from '../../domain/fields';
import { FEATURE_CODE } from '../../domain/packages/feature-packages';
import { decimalText, idChoice } from '../taxes/form-fields';

export const featureFields = z.object({
  code: z
    .string({ error: 'Code is required' })
    .trim()
    .min(1, 'Code is required')
    .regex(FEATURE_CODE, 'A code has at most 64 letters, digits and _ . : - (the code the switch understands)'),
  name: requiredText('Name', 120),
  description: optionalText('Description', 1000),
});
export type FeatureInput = z.infer<typeof featureFields>;

/** numeric(20,10): at most 10 decimals and 10 integer digits; read as a Decimal, never a number. */
const fee = (label: string) => decimalText(label, { precision: 20, scale: 10 });

/** Ticked checkboxes: none, one (a string) or several (an array); ids only. */
const featureIds = z.preprocess(
  (v) => (v === undefined || v === null || v === '' ? [] : Array.isArray(v) ? v : [v]),
  z.array(
    z.union([z.number().int().positive().max(Number.MAX_SAFE_INTEGER), z.string().trim().regex(/^[1-9]\d{0,15}$/).transform(Number)], { error: 'Choose features from the list' }),
    { error: 'Choose features from the list' },
  ),
);

export const packageFields = z.object({
  name: requiredText('Name', 120),
  description: optionalText('Description', 1000),
  currency: currencyField,
  setup_fee: fee('Setup fee'),
  monthly_fee: fee('Monthly fee'),
  feature_ids: featureIds,
});
export type PackageInput = z.infer<typeof packageFields>;

/** A reseller's package: the same, built on one package the operator offers it. */
export const resellerPackageFields = packageFields.extend({ base_package_id: idChoice('the package to build on') });
export type ResellerPackageInput = z.infer<typeof resellerPackageFields>;

export const offerFields = z.object({ reseller_id: idChoice('a reseller') });

/** Start and end as typed in the viewer's zone (read by the service, which knows the zone). */
export const assignFields = z.object({
  feature_package_id: idChoice('a package'),
  starts_at: requiredText('Start', 40),
  ends_at: optionalText('End', 40),
});
export type AssignInput = z.infer<typeof assignFields>;

export const endFields = z.object({ ends_at: requiredText('End', 40) });

// The JSON twins (the API, issue 14): the same rules; amounts are decimal text in JSON too (a JSON
// number is refused: it may already have lost digits), features an array of ids.
const jsonIds = z.array(z.number({ error: 'Choose features from the list' }).int().positive().max(Number.MAX_SAFE_INTEGER), { error: 'Choose features from the list' }).default([]);
export const featureJson = jsonFields(featureFields);
export const packageJson = jsonFields(packageFields, { feature_ids: jsonIds });
export const resellerPackageJson = jsonFields(resellerPackageFields, { feature_ids: jsonIds });

/** The filter of the feature and package lists: a word of the name (or code), and in use or retired. */
export const catalogueListQuery = z.object({
  q: z.string().trim().max(100).optional().catch(undefined),
  status: z.enum(['active', 'retired']).optional().catch(undefined),
  ...listParams,
});
export type CatalogueListQuery = z.infer<typeof catalogueListQuery>;
