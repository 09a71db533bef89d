import { z } from 'zod';
import { isValidTimeZone } from '../rating/zoned-time';

/**
 * How an LD carrier's billing data arrives (issue 13). The carrier record stores the choice; the
 * parsers of each format read it (and, for the mapped CSV, the mapping below).
 *
 * - `generic-csv`: our documented carrier CSV;
 * - `mapped-csv`: any carrier's CSV, read by a column mapping the wholesale admin defines;
 * - `didww-cdr-out-csv`: DIDWW's outbound CDR export (`cdr_out` CSV);
 * - `didww-voice-out-stream`: DIDWW's Voice OUT CDR streaming (gzip-encoded JSON lines over HTTP).
 */
export const CARRIER_DATA_FORMATS = ['generic-csv', 'mapped-csv', 'didww-cdr-out-csv', 'didww-voice-out-stream'] as const;
export type CarrierDataFormat = (typeof CARRIER_DATA_FORMATS)[number];

export const CARRIER_DATA_FORMAT_LABELS: Readonly<Record<CarrierDataFormat, string>> = {
  'generic-csv': 'Generic carrier CSV',
  'mapped-csv': 'CSV with a column mapping',
  'didww-cdr-out-csv': 'DIDWW outbound CDR export (cdr_out CSV)',
  'didww-voice-out-stream': 'DIDWW Voice OUT CDR streaming (gzip JSON lines)',
};

/**
 * A column of the carrier's CSV: its 1-based position (a number), or the name in its header row
 * (a string, compared without regard to case or surrounding blanks). A name needs a header row:
 * the last of the `header_lines` skipped lines.
 */
export const columnRef = z.union([
  z.number().int().min(1, 'A column position starts at 1').max(1000, 'A column position is at most 1000'),
  z.string().trim().min(1, 'Name a column').max(100, 'A column name is at most 100 characters'),
]);
export type ColumnRef = z.infer<typeof columnRef>;

/** Timestamps written as ISO 8601 (an offset or Z, else read in `time_zone`), Unix seconds or milliseconds, or a pattern. */
export const TIME_FORMAT_NAMES = ['iso8601', 'unix', 'unix_ms'] as const;
/**
 * A pattern of the tokens YYYY, MM, DD, HH, mm, ss (and optionally SSS for milliseconds), with any
 * other characters taken literally: `YYYY-MM-DD HH:mm:ss`, `DD/MM/YYYY HH:mm:ss`, `MM/DD/YYYY HH:mm`.
 */
export function isTimePattern(v: string): boolean {
  if (v.length > 40 || /[A-Za-z]/.test(v.replace(/YYYY|MM|DD|HH|mm|ss|SSS/g, ''))) return false;
  return ['YYYY', 'MM', 'DD', 'HH', 'mm'].every((t) => v.split(t).length === 2) && v.split('ss').length <= 2 && v.split('SSS').length <= 2;
}

export const timeFormat = z
  .string()
  .trim()
  .refine((v) => (TIME_FORMAT_NAMES as readonly string[]).includes(v) || isTimePattern(v), 'iso8601, unix, unix_ms, or a pattern such as YYYY-MM-DD HH:mm:ss');

/** Delimiters a mapped CSV may use. */
export const CSV_DELIMITERS = [',', ';', '\t', '|'] as const;

/**
 * The column mapping of a `mapped-csv` carrier, stored as JSON on the carrier. Called number,
 * start, duration (seconds billed) and cost are required; the rest optional (no record id: rows
 * are told apart by the file's checksum and line).
 */
export const csvMapping = z
  .strictObject({
    called: columnRef,
    calling: columnRef.nullable().default(null),
    start: columnRef,
    duration: columnRef,
    cost: columnRef,
    rate: columnRef.nullable().default(null),
    record_id: columnRef.nullable().default(null),
    time_format: timeFormat,
    /** The zone of timestamps written without an offset (an IANA name). */
    time_zone: z.string().trim().min(1, 'Time zone is required').max(64).refine(isValidTimeZone, 'Unknown time zone: use an IANA name such as Europe/London or UTC'),
    /** The currency of the cost column; null: the carrier's. */
    currency: z.string().trim().toUpperCase().regex(/^[A-Z]{3}$/, 'Currency must be a three-letter ISO 4217 code').nullable().default(null),
    /** Lines skipped before the first row of data; with column names, the last of them is the header row. */
    header_lines: z.number().int().min(0, 'Header lines: 0 or more').max(100, 'Header lines: at most 100'),
    delimiter: z.enum(CSV_DELIMITERS).default(','),
  })
  .superRefine((m, ctx) => {
    const named = (['called', 'calling', 'start', 'duration', 'cost', 'rate', 'record_id'] as const).filter((k) => typeof m[k] === 'string');
    if (named.length > 0 && m.header_lines < 1) {
      ctx.addIssue({ code: 'custom', path: ['header_lines'], message: `Columns named by their header (${named.join(', ')}) need a header row: skip at least 1 line` });
    }
  });
export type CsvMapping = z.infer<typeof csvMapping>;
