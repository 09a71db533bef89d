import { z } from 'zod';
import { checkbox, currencyField, cycleDayField, jsonOptionalId, listParams, optionalId, emailField, jsonBoolean, jsonFields, jsonPatchFields, optionalEmail, optionalSipDomain, optionalText, optionalTimeZone, passwordField, requiredText } from '../../domain/fields';

export const resellerFields = z.object({
  name: requiredText('Name', 120),
  code: z
    .string({ error: 'Code is required' })
    .trim()
    .toLowerCase()
    .regex(/^[a-z0-9][a-z0-9-]{1,31}$/, 'Code must be 2-32 lowercase letters, digits or dashes'),
  currency: currencyField,
  billing_service: checkbox,
  // Its wholesale billing cycle: monthly from midnight of this day in its zone.
  billing_cycle_day: cycleDayField,
  contact_name: optionalText('Contact name', 120),
  contact_email: optionalEmail,
  contact_phone: optionalText('Contact phone', 40),
  notes: optionalText('Notes', 2000),
  // Hosted PBX: the domain of the extensions and SIP user names its staff type without one.
  sip_domain: optionalSipDomain('pbx.acme.example'),
  // Blank: the operator's zone.
  time_zone: optionalTimeZone,
});
export type ResellerInput = z.infer<typeof resellerFields>;

/** Creating a reseller creates its first admin in the same form and transaction. */
export const newResellerSchema = resellerFields.extend({
  // The operator's plan that prices its calls, chosen on the same form (blank: assigned later).
  wholesale_plan_id: optionalId('Choose one of the operator’s rate plans'),
  admin_name: requiredText('Admin name', 120),
  admin_email: emailField,
  admin_password: passwordField,
});
export type NewResellerInput = z.infer<typeof newResellerSchema>;

// The same fields as a JSON body (the API, issue 14), beside the form's: same rules, same data.
const resellerJsonTypes = { billing_service: jsonBoolean('billing_service') };
export const resellerJson = jsonFields(resellerFields, resellerJsonTypes);
export const resellerPatchJson = jsonPatchFields(resellerFields, { billing_service: z.boolean({ error: 'billing_service must be true or false' }) });
export const newResellerJson = jsonFields(newResellerSchema, { ...resellerJsonTypes, wholesale_plan_id: jsonOptionalId('wholesale_plan_id must be a plan id or null') });

export const resellerListQuery = z.object({
  q: z.string().trim().max(100).optional().catch(undefined),
  status: z.enum(['active', 'inactive']).optional().catch(undefined),
  ...listParams,
});
