/**
 * Mediation adapters: a platform's call records as posted -> normalised legs (legs/leg.ts).
 * Pure functions, one file per format; intake looks an adapter up by the platform's format name:
 *
 *   const adapter = getAdapter(platform.format);
 *   const result = adapter.parse(body, req.headers['content-type'], { timeZone, countryCode });
 *
 * A MediationError means the whole body was unreadable; otherwise each record has its outcome.
 */
import type { FormatName, MediationAdapter } from './adapter';
import { asteriskCsv } from './asterisk-csv';
import { broadworksCsv } from './broadworks-csv';
import { cucmCsv } from './cucm-csv';
import { freeswitchJson } from './freeswitch-json';
import { freeswitchXml } from './freeswitch-xml';
import { genericCsv } from './generic-csv';
import { genericJson } from './generic-json';
import { kamailioAcc } from './kamailio-acc';
import { kamailioDialog } from './kamailio-dialog';

export const ADAPTERS: Readonly<Record<FormatName, MediationAdapter>> = Object.freeze({
  'freeswitch-json': freeswitchJson,
  'freeswitch-xml': freeswitchXml,
  'asterisk-csv': asteriskCsv,
  'kamailio-acc': kamailioAcc,
  'kamailio-dialog': kamailioDialog,
  'broadworks-csv': broadworksCsv,
  'cucm-csv': cucmCsv,
  'generic-json': genericJson,
  'generic-csv': genericCsv,
});

/** The adapter for a format name, or undefined for a name that is not one. */
export function getAdapter(format: string): MediationAdapter | undefined {
  return Object.prototype.hasOwnProperty.call(ADAPTERS, format) ? ADAPTERS[format as FormatName] : undefined;
}

export { FORMAT_NAMES, isFormatName, type FormatName, type MediationAdapter, type ParseCdrBody } from './adapter';
export { MediationError } from './common';
export { parseAsteriskCsv } from './asterisk-csv';
export { parseBroadworksCsv } from './broadworks-csv';
export { parseCucmCsv } from './cucm-csv';
export { parseFreeswitchJson } from './freeswitch-json';
export { parseFreeswitchXml } from './freeswitch-xml';
export { parseGenericCsv } from './generic-csv';
export { parseGenericJson } from './generic-json';
export { parseKamailioAcc } from './kamailio-acc';
export { parseKamailioDialog } from './kamailio-dialog';
