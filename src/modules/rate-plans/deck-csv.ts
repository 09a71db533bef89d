import { parse } from 'csv-parse/sync';
import { csvCellRead } from '../../domain/csv-cell';
import type { BandStart } from '../../domain/rating/bands';
import { parseBands, parseDeck, type Parsed, type RowError } from '../../domain/rating/deck';
import type { Rate } from '../../domain/rating/plan';

/** A CSV file's header and rows, each row with the line it starts on; rows of the wrong width are errors. */
export interface CsvTable {
  header: string[];
  headerLine: number;
  records: Array<Record<string, string>>;
  /** The line of each record (blank lines are skipped, a quoted field may span lines). */
  lines: number[];
  /** Rows with more or fewer fields than the header: each listed, the others still read. */
  errors: RowError[];
}

/** CSV text -> a table; a CSV syntax error (an unclosed quote) is the file's only error, with its line. */
export function readCsvTable(text: string): CsvTable | RowError[] {
  let rows: Array<{ record: string[]; info: { lines: number } }>;
  try {
    rows = parse(text.replace(/^\uFEFF/, ''), { skip_empty_lines: true, trim: true, relax_column_count: true, info: true }) as unknown as typeof rows;
  } catch (err) {
    const e = err as { lines?: number; message: string };
    return [{ line: e.lines ?? 1, message: `not valid CSV: ${e.message}` }];
  }
  const [head, ...body] = rows;
  if (!head) return [{ line: 1, message: 'the file is empty' }];
  // info.lines is the line a record ends on.
  const lineOf = (r: { record: string[]; info: { lines: number } }) => r.info.lines - r.record.join('').split('\n').length + 1;
  const header = head.record.map((h) => h.trim().toLowerCase());
  const table: CsvTable = { header, headerLine: lineOf(head), records: [], lines: [], errors: [] };
  for (const row of body) {
    const line = lineOf(row);
    if (row.record.length !== header.length) {
      table.errors.push({ line, message: `${row.record.length} fields where the header has ${header.length} (${header.join(',')})` });
      continue;
    }
    // A file we exported reads back as it was written (see csvCellRead).
    table.records.push(Object.fromEntries(header.map((h, i) => [h, csvCellRead(row.record[i] ?? '')])));
    table.lines.push(line);
  }
  return table;
}

/** The rows' own errors and the table's width errors, by line. */
function withWidthErrors<T>(table: CsvTable, parsed: Parsed<T>): Parsed<T> {
  if (table.errors.length === 0) return parsed;
  const errors = [...table.errors, ...(parsed.ok ? [] : parsed.errors)].sort((a, b) => a.line - b.line);
  return { ok: false, errors };
}

/**
 * @param opts.effectiveFrom an ISO instant every row takes effect at (a new version of the deck
 *   from then), in place of the rows' own effective_from; validated as the column is.
 */
export function readDeckCsv(text: string, opts: { timeZone: string; bands?: Set<string>; effectiveFrom?: string }): Parsed<Rate[]> {
  const csv = readCsvTable(text);
  if (Array.isArray(csv)) return { ok: false, errors: csv };
  if (opts.effectiveFrom !== undefined && csv.header.includes('effective_from')) for (const r of csv.records) r.effective_from = opts.effectiveFrom;
  return withWidthErrors(csv, parseDeck(csv.header, csv.records, opts, csv.lines));
}

export function readBandsCsv(text: string): Parsed<BandStart[]> {
  const csv = readCsvTable(text);
  if (Array.isArray(csv)) return { ok: false, errors: csv };
  return withWidthErrors(csv, parseBands(csv.header, csv.records, csv.lines));
}
