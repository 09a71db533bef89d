import { stringify, type Stringifier } from 'csv-stringify';
import { csvCell } from '../../domain/csv-cell';

/**
 * The one way the product writes CSV: a header row, then records, every text cell through
 * csvCell (formula injection; see domain/csv-cell.ts). Numbers are written as they are.
 */
export function csvWriter(columns: readonly string[]): Stringifier {
  return stringify({ header: true, columns: [...columns], cast: { string: (v) => csvCell(v) } });
}
