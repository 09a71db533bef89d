/**
 * Carrier billing data (issue 13): the formats carriers' files and streams arrive in, read into
 * `CarrierRecord`s; the idempotency key of a record; the reference reconciler. Pure: no I/O, no
 * clock (docs/CARRIER-FORMATS.md).
 */
import { parseDidwwCdrOut, parseDidwwStream } from './didww';
import { parseGenericCarrierCsv } from './generic-csv';
import { parseMapped, type CarrierMapping } from './mapped';
import { CarrierFileError, type CarrierParseResult } from './record';

export * from './record';
export * from './times';
export { readDelimited, type DelimitedRow } from './delimited';
export { carrierRecordKey, sha256Hex } from './ids';
export { GENERIC_CARRIER_COLUMNS, GENERIC_CARRIER_REQUIRED, parseGenericCarrierCsv } from './generic-csv';
export * from './mapped';
export { parseDidwwCdrOut, parseDidwwStream } from './didww';
export * from './reconcile';

export const CARRIER_FORMATS = ['carrier-generic-csv', 'carrier-mapped-csv', 'didww-cdr-out', 'didww-cdr-stream'] as const;
export type CarrierFormat = (typeof CARRIER_FORMATS)[number];

export function isCarrierFormat(v: unknown): v is CarrierFormat {
  return typeof v === 'string' && (CARRIER_FORMATS as readonly string[]).includes(v);
}

export interface CarrierFormatOptions {
  /** `carrier-mapped-csv`: the carrier's mapping, already checked by carrierMappingSchema. */
  mapping?: CarrierMapping;
  /** `didww-cdr-stream`: the carrier's currency (the stream names none); USD by default. */
  currency?: string;
}

/**
 * Reads a carrier's file (text, already gunzipped) in its format. Throws CarrierFileError when the
 * file as a whole cannot be read; a bad row is listed in `badRows` and the good rows kept.
 */
export function parseCarrierFile(format: CarrierFormat, text: string, opts: CarrierFormatOptions = {}): CarrierParseResult {
  switch (format) {
    case 'carrier-generic-csv':
      return parseGenericCarrierCsv(text);
    case 'carrier-mapped-csv':
      if (!opts.mapping) throw new CarrierFileError('carrier-mapped-csv: the carrier has no column mapping');
      return parseMapped(text, opts.mapping);
    case 'didww-cdr-out':
      return parseDidwwCdrOut(text);
    case 'didww-cdr-stream':
      return parseDidwwStream(text, { currency: opts.currency });
  }
}
