import type { AdapterContext, AdapterResult } from '../legs/leg';

/** The record formats a platform can be configured to send (docs/CDR-FORMATS.md, docs/CDR-GENERIC.md). */
export const FORMAT_NAMES = [
  'freeswitch-json',
  'freeswitch-xml',
  'asterisk-csv',
  'kamailio-acc',
  'kamailio-dialog',
  'broadworks-csv',
  'cucm-csv',
  'generic-json',
  'generic-csv',
] as const;

export type FormatName = (typeof FORMAT_NAMES)[number];

export function isFormatName(v: unknown): v is FormatName {
  return typeof v === 'string' && (FORMAT_NAMES as readonly string[]).includes(v);
}

/**
 * One post as received -> one outcome per record. Pure: no I/O, no clock. Throws MediationError
 * when the body as a whole cannot be read; a bad record is refused in its own outcome.
 */
export type ParseCdrBody = (body: string, contentType: string | undefined, ctx: AdapterContext) => AdapterResult;

export interface MediationAdapter {
  readonly format: FormatName;
  readonly parse: ParseCdrBody;
}
