import { parse } from 'csv-parse/sync';
import { csvCellRead } from '../../domain/csv-cell';
import type { BandStart } from '../../domain/rating/bands';
import { parseBands, parseDeck, type Parsed, type RowError } from '../../domain/rating/deck';
import type { Rate } from '../../domain/rating/plan';

/** CSV text -> header and records; a CSV syntax error becomes a row error with its line. */
function readCsv(text: string): { header: string[]; records: Array<Record<string, string>> } | RowError[] {
  try {
    const rows = parse(text.replace(/^\uFEFF/, ''), { skip_empty_lines: true, trim: true, relax_column_count: false }) as string[][];
    if (rows.length === 0) return [{ line: 1, message: 'the file is empty' }];
    const header = (rows[0] as string[]).map((h) => h.trim().toLowerCase());
    // A file we exported reads back as it was written (see csvCellRead).
    const records = rows.slice(1).map((row) => Object.fromEntries(header.map((h, i) => [h, csvCellRead(row[i] ?? '')])));
    return { header, records };
  } catch (err) {
    const e = err as { lines?: number; message: string };
    return [{ line: e.lines ?? 1, message: `not valid CSV: ${e.message}` }];
  }
}

export function readDeckCsv(text: string, opts: { timeZone: string; bands?: Set<string> }): Parsed<Rate[]> {
  const csv = readCsv(text);
  if (Array.isArray(csv)) return { ok: false, errors: csv };
  return parseDeck(csv.header, csv.records, opts);
}

export function readBandsCsv(text: string): Parsed<BandStart[]> {
  const csv = readCsv(text);
  if (Array.isArray(csv)) return { ok: false, errors: csv };
  return parseBands(csv.header, csv.records);
}
