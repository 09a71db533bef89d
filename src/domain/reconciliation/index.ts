/**
 * Carrier billing data (issue 13): the formats carriers' files and streams arrive in, read into
 * `CarrierRecord`s; the idempotency key of a record; the reference reconciler. Pure: no I/O, no
 * clock (docs/CARRIER-FORMATS.md).
 */
import { didwwCdrOutRows, didwwStreamRows } from './didww';
import { genericCarrierRows } from './generic-csv';
import { mappedRows, type CarrierMapping } from './mapped';
import { carrierBatches, CarrierFileError, collectCarrierRows, type CarrierParseResult, type CarrierRow } from './record';

export * from './record';
export * from './times';
export { iterDelimited, readDelimited, type DelimitedRow } from './delimited';
export { carrierRecordKey, sha256Hex } from './ids';
export { GENERIC_CARRIER_COLUMNS, GENERIC_CARRIER_REQUIRED, genericCarrierRows, parseGenericCarrierCsv } from './generic-csv';
export * from './mapped';
export { didwwCdrOutRows, didwwStreamRows, parseDidwwCdrOut, parseDidwwStream } from './didww';
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
  return collectCarrierRows(carrierFileRows(format, text, opts));
}

/**
 * The rows of a carrier's file one at a time, as parseCarrierFile reads them: the file's
 * CarrierFileError (its header, a mapping missing) is thrown at the first row taken, never later.
 */
export function* carrierFileRows(format: CarrierFormat, text: string, opts: CarrierFormatOptions = {}): Generator<CarrierRow, void, undefined> {
  switch (format) {
    case 'carrier-generic-csv':
      return yield* genericCarrierRows(text);
    case 'carrier-mapped-csv':
      if (!opts.mapping) throw new CarrierFileError('carrier-mapped-csv: the carrier has no column mapping');
      return yield* mappedRows(text, opts.mapping);
    case 'didww-cdr-out':
      return yield* didwwCdrOutRows(text);
    case 'didww-cdr-stream':
      return yield* didwwStreamRows(text, { currency: opts.currency });
  }
}

/** The file read in batches of at most `size` records and bad rows (see carrierBatches): the intake stores each as it is read. */
export function readCarrierBatches(format: CarrierFormat, text: string, opts: CarrierFormatOptions, size: number): Generator<CarrierParseResult, void, undefined> {
  return carrierBatches(carrierFileRows(format, text, opts), size);
}
