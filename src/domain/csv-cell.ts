/**
 * CSV formula injection: a spreadsheet runs a cell that begins with =, +, -, @, tab or carriage
 * return as a formula (`=HYPERLINK(...)`, `@SUM(...)`, DDE). Text from outside (a subscriber's
 * name, a switch's call_id) reaches our exports, so every cell the product writes goes through
 * this rule (the writers use modules/csv/csv-writer.ts):
 *
 * - such a cell is written with a leading apostrophe, the spreadsheet user's own way of saying
 *   "this is text": `=1+1` becomes `'=1+1`, and a number in E.164 `+12125550100` becomes
 *   `'+12125550100` (kept as the number it is, never evaluated into 12125550100);
 * - a plain negative decimal (`-0.0150`, an amount or a credit) is left alone: it is no formula,
 *   and must stay a number that a spreadsheet can add up.
 */
const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_NEGATIVE = /^-\d+(\.\d+)?$/;

export function csvCell(value: string): string {
  if (!FORMULA_START.test(value) || PLAIN_NEGATIVE.test(value)) return value;
  return `'${value}`;
}

/** A cell of a file we exported, read back (deck and band imports): the apostrophe csvCell added is dropped. */
export function csvCellRead(value: string): string {
  return value.startsWith("'") && FORMULA_START.test(value.slice(1)) ? value.slice(1) : value;
}
