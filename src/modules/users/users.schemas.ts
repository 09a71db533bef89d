import { z } from 'zod';
import { emailField, listParams, passwordField, requiredText } from '../../domain/fields';
import { assignableRoles } from '../../domain/tenancy/roles';

export function staffUserSchemas(portal: 'wholesale' | 'reseller') {
  const roles = assignableRoles(portal) as [string, ...string[]];
  const role = z.enum(roles, { error: 'Choose a role' });
  const create = z.object({
    name: requiredText('Name', 120),
    email: emailField,
    role,
    password: passwordField,
  });
  const update = z.object({
    name: requiredText('Name', 120),
    email: emailField,
    role,
    status: z.enum(['active', 'disabled'], { error: 'Choose a status' }),
    // Blank keeps the current password.
    password: z
      .string()
      .optional()
      .transform((v) => (v === undefined || v === '' ? undefined : v))
      .pipe(passwordField.optional()),
  });
  return { create, update };
}

export type NewStaffUser = { name: string; email: string; role: string; password: string };
export type StaffUserUpdate = { name: string; email: string; role: string; status: 'active' | 'disabled'; password?: string };

export const userListQuery = z.object({
  q: z.string().trim().max(100).optional().catch(undefined),
  status: z.enum(['active', 'disabled']).optional().catch(undefined),
  ...listParams,
});
