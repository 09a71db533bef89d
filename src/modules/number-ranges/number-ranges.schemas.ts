import { z } from 'zod';
import { requiredText } from '../../domain/fields';

/** A range as the operator types it: first and last number, in international form. */
export const numberRangeSchema = z.object({
  first_number: requiredText('First number', 40),
  last_number: requiredText('Last number', 40),
});
export type NumberRangeInput = z.infer<typeof numberRangeSchema>;
