import { z } from 'zod';
import { passwordField } from '../../domain/fields';

export const loginSchema = z.object({
  email: z.string().trim().min(1, 'Enter your email'),
  password: z.string().min(1, 'Enter your password'),
});

export const totpCodeSchema = z.object({
  code: z.string().trim().regex(/^\d{6}$/, 'Enter the 6-digit code from your authenticator app'),
});

export const changePasswordSchema = z
  .object({
    current_password: z.string().min(1, 'Enter your current password'),
    new_password: passwordField,
    confirm_password: z.string(),
  })
  .refine((v) => v.new_password === v.confirm_password, { message: 'The two new passwords differ', path: ['confirm_password'] });

export const disableTotpSchema = z.object({ password: z.string().min(1, 'Enter your password') });
