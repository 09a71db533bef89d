import { z } from 'zod';
import { countryField, optionalCycleDay, emailField, jsonFields, jsonOptionalId, jsonPatchFields, listParams, optionalId, optionalEmail, optionalText, optionalTimeZone, passwordField, requiredText } from '../../domain/fields';

export const subscriberFields = z.object({
  account_number: z
    .string({ error: 'Account number is required' })
    .trim()
    .min(1, 'Account number is required')
    .max(40, 'Account number must be at most 40 characters')
    .regex(/^[A-Za-z0-9][A-Za-z0-9._\-/]*$/, 'Account number may use letters, digits and . _ - /'),
  name: requiredText('Name', 160),
  contact_name: optionalText('Contact name', 120),
  email: optionalEmail,
  phone: optionalText('Contact phone', 40),
  address_line1: optionalText('Address', 200),
  address_line2: optionalText('Address line 2', 200),
  city: optionalText('City', 100),
  region: optionalText('Region', 100),
  postal_code: optionalText('Postal code', 20),
  country: countryField,
  // Blank: the reseller's zone.
  time_zone: optionalTimeZone,
  // Its retail billing cycle's day; blank: the reseller's.
  billing_cycle_day: optionalCycleDay,
});
export type SubscriberInput = z.infer<typeof subscriberFields>;

/** Numbers typed one per line (or separated by commas); each is normalised to E.164 by the service. */
const numberList = z
  .string()
  .optional()
  .transform((v) => (v ?? '').split(/[\n,;]+/).map((s) => s.trim()).filter(Boolean));

const optionalLogin = z
  .string()
  .trim()
  .toLowerCase()
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : v))
  .pipe(z.email('Enter a valid email address').optional());

const newSubscriberFields = subscriberFields.extend({
  // The reseller's plan that prices its calls, chosen on the same form (blank: assigned later).
  retail_plan_id: optionalId('Choose one of your rate plans'),
  numbers: numberList,
  login_email: optionalLogin,
  login_password: z.string().optional().transform((v) => (v ? v : undefined)),
});

/** A portal login is an email and a password, or neither. */
function portalLoginPair(v: { login_email?: string; login_password?: string }, ctx: z.RefinementCtx): void {
  if (v.login_email && !v.login_password) ctx.addIssue({ code: 'custom', path: ['login_password'], message: 'Set a password for the portal login' });
  if (v.login_password && v.login_password.length < 12) ctx.addIssue({ code: 'custom', path: ['login_password'], message: 'Password must be at least 12 characters' });
  if (v.login_password && !v.login_email) ctx.addIssue({ code: 'custom', path: ['login_email'], message: 'Enter the email the subscriber logs in with' });
}

export const newSubscriberSchema = newSubscriberFields.superRefine(portalLoginPair);
export type NewSubscriberInput = z.infer<typeof newSubscriberSchema>;

// The same fields as a JSON body (the API, issue 14), beside the form's: same rules, same data.
// Numbers are a list rather than lines of text; each is normalised to E.164 by the service, as typed on the form.
export const subscriberJson = jsonFields(subscriberFields);
const newSubscriberJsonTypes = {
  numbers: z
    .array(z.string({ error: 'Each number is a string' }), { error: 'numbers must be a list of phone numbers' })
    .default([])
    .transform((list) => list.map((s) => s.trim()).filter(Boolean)),
  retail_plan_id: jsonOptionalId('retail_plan_id must be a plan id or null'),
};
export const newSubscriberJson = jsonFields(newSubscriberFields, newSubscriberJsonTypes).superRefine(portalLoginPair);

/** The API's create (issue 14): the same, with the reseller it is for (an operator's key names it; a reseller's key may name only its own). */
export const newSubscriberApiJson = jsonFields(newSubscriberFields.extend({ reseller_id: optionalId('reseller_id must be a reseller id') }), {
  ...newSubscriberJsonTypes,
  reseller_id: jsonOptionalId('reseller_id must be a reseller id'),
}).superRefine(portalLoginPair);
export type NewSubscriberApiInput = z.infer<typeof newSubscriberApiJson>;

/** A PATCH of a subscriber's fields (absent: unchanged); the merge is then held to subscriberJson. */
export const subscriberPatchJson = jsonPatchFields(subscriberFields);

export const addNumberSchema = z.object({
  number: z.string({ error: 'Enter a number' }).trim().min(1, 'Enter a number').max(40),
  label: optionalText('Label', 60),
});

export const subscriberLoginSchema = z.object({
  login_email: emailField,
  login_password: passwordField,
});

export const subscriberListQuery = z.object({
  q: z.string().trim().max(100).optional().catch(undefined),
  status: z.enum(['active', 'inactive']).optional().catch(undefined),
  ...listParams,
});
