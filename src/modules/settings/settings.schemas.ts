import { z } from 'zod';
import { timeZoneField } from '../../domain/fields';

/** The operator's settings form. */
export const operatorSettingsFields = z.object({
  time_zone: timeZoneField,
});
export type OperatorSettingsInput = z.infer<typeof operatorSettingsFields>;
