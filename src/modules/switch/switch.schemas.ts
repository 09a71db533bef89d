import { z } from 'zod';

/** The subscriber page's SIP password form: a typed password, or the "generate" button. */
export const sipPasswordSchema = z
  .object({
    sip_password: z.string().max(200).optional(),
    generate: z.literal('1').optional(),
  })
  .refine((v) => v.generate === '1' || (v.sip_password ?? '') !== '', { message: 'Type a SIP password, or generate one', path: ['sip_password'] });
