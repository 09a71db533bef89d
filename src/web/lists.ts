import type { Request, Response } from 'express';
import { sortInMemory, type ListParams, type SortDir } from '../db/list';
import { Decimal } from '../domain/money/decimal';
import { moneyText } from '../domain/packages/feature-packages';
import { csvWriter } from '../modules/csv/csv-writer';
import { viewHelpers } from './render';

/**
 * The portal's lists, one way: a table drawn from its columns (views/partials/list.ejs) with the
 * number of rows matched, sortable headers and a CSV link; the CSV writes the same columns' text
 * for every row of the same filter and order. A cell shows exactly its column's `text`, so the
 * download is what the page shows (test/integration/lists.test.ts holds every list to it).
 */

type Helpers = typeof viewHelpers & Record<string, any>;

export interface Column<T> {
  label: string;
  /** The value of the `sort` parameter that orders by this column (it must be in the list's whitelist). */
  sort?: string;
  /** Right-aligned (figures). */
  num?: boolean;
  /** How the text is set: as code, as a long token in code that breaks anywhere (a hash), as a status badge, as lines (kept apart), or plain. */
  style?: 'code' | 'token' | 'status' | 'lines';
  /** The cell's text on the page and in the CSV. */
  text: (row: T, h: Helpers) => string;
  /** Where the cell links to, if anywhere. */
  href?: (row: T) => string | undefined;
}

export interface ListView<T> {
  columns: Array<Column<T>>;
  rows: T[];
  count: number;
  sort: string;
  dir: SortDir;
  /** What one row is, singular and plural ("reseller", "resellers"). */
  noun: [string, string];
  /** The page's filters (and cursor): sort links keep them, and drop the cursor. */
  filter: Record<string, unknown>;
  /** The path of the page; the CSV is at the same path with .csv. */
  path: string;
  /** Lines of totals over every matched row ("Subscribers: 12 active of 15"). */
  totalLines?: string[];
  nextCursor?: string;
  /** Each row carries data-<rowKey>="<its id>" (for tests and scripts that find a row). */
  rowKey?: string;
}

/** The locals of views/partials/list.ejs. */
export function listView<T>(v: ListView<T>): ListView<T> & { csvHref: string } {
  const { cursor: _cursor, ...filter } = v.filter;
  return { ...v, csvHref: `${v.path}.csv${viewHelpers.query({ ...filter, sort: v.sort, dir: v.dir })}` };
}

/** The CSV of a list: the same columns' text, row by row, streamed. */
export async function sendListCsv<T>(req: Request, res: Response, name: string, columns: Array<Column<T>>, rows: AsyncIterable<T> | Iterable<T>): Promise<void> {
  const h = res.locals.h as Helpers;
  res.type('text/csv').attachment(`${name}.csv`);
  const out = csvWriter(columns.map((c) => c.label));
  out.pipe(res);
  try {
    for await (const row of rows) {
      if (!out.write(columns.map((c) => c.text(row, h)))) await new Promise((resolve) => out.once('drain', resolve));
    }
  } catch (err) {
    // Headers are gone: cut the download short rather than end it as if it were whole.
    req.log?.error({ err }, `${name} CSV export failed`);
    res.destroy(err as Error);
    return;
  }
  out.end();
}

/**
 * A short list held whole in memory (platforms, taxes, exchange rates): sorted on the server by a
 * whitelisted column (`sorts`, by the columns' sort names), counted, and not paged. The CSV route
 * calls the same function and writes its rows.
 */
export function listInMemory<T>(
  rows: readonly T[],
  o: Omit<ListView<T>, 'rows' | 'count' | 'sort' | 'dir' | 'nextCursor'> & {
    sorts: Record<string, (row: T) => string | number | null>;
    defaultSort: string;
    defaultDir: SortDir;
  },
): ListView<T> & { csvHref: string } {
  const { sorts, defaultSort, defaultDir, ...view } = o;
  const sorted = sortInMemory(rows, sorts, o.filter as ListParams, { sort: defaultSort, dir: defaultDir });
  return listView({ ...view, ...sorted });
}

/**
 * Lines of money totals over a list's rows, one per amount, each summed per currency and never
 * across ("Monthly fees: 12.00 EUR, 30.50 USD"), exact (decimal.js). None for an empty list.
 */
export function moneyTotalLines<T>(rows: readonly T[], currencyOf: (row: T) => string, amounts: Array<[label: string, amount: (row: T) => Decimal | string]>): string[] {
  if (rows.length === 0) return [];
  return amounts.map(([label, amount]) => {
    const sums = new Map<string, Decimal>();
    for (const row of rows) sums.set(currencyOf(row), (sums.get(currencyOf(row)) ?? new Decimal(0)).plus(amount(row)));
    const parts = [...sums.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([currency, sum]) => `${moneyText(sum)} ${currency}`);
    return `${label}: ${parts.join(', ')}`;
  });
}
