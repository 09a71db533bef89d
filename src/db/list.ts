import type { Knex } from 'knex';
import { BadRequestError } from '../domain/errors';
import { Decimal } from '../domain/money/decimal';
import type { Queryable } from './knex';
import { decodeCursor, encodeCursor, PAGE_SIZE, type Page } from './paging';

/**
 * One list query, three uses: the page (sorted by a whitelisted column, keyset paged), the number
 * of rows the filter matched (with the list's totals), and every row of the filter in the same
 * order for its CSV. The caller builds the filtered query once; this file adds only order, key
 * and limit, so the three can never disagree about which rows match.
 */

export type SortDir = 'asc' | 'desc';
/** How a sort column compares: its SQL value is text, a number (numeric) or an instant. */
export type SortKind = 'text' | 'number' | 'time';
export interface SortColumn { sql: string; kind: SortKind }

export interface ListSpec {
  /** The sortable columns by the name the page's `sort` parameter uses: the whitelist. */
  sorts: Record<string, SortColumn>;
  defaultSort: string;
  defaultDir: SortDir;
  /** The row's unique id (a bigint column): the tie-break of every order and the cursor's last key. */
  id: string;
  /** Aggregates over the filtered rows, as SQL over the query's output columns (e.g. `sum(subscribers_total)`). */
  totals?: Record<string, string>;
}

export interface ListParams { sort?: string; dir?: SortDir; cursor?: string; limit?: number }

export interface ListPage<T> extends Page<T> {
  /** Rows the filter matched, on every page. */
  count: number;
  /** The spec's totals over every matched row, as text (exact: numeric stays a string). */
  totals: Record<string, string>;
  sort: string;
  dir: SortDir;
}

/** The sort a request asks for, if the whitelist has it; otherwise the list's default. */
export function sortOf(spec: { sorts: Record<string, unknown>; defaultSort: string; defaultDir: SortDir }, p: ListParams): { sort: string; dir: SortDir } {
  const sort = p.sort && Object.hasOwn(spec.sorts, p.sort) ? p.sort : spec.defaultSort;
  const dir = p.dir === 'asc' || p.dir === 'desc' ? p.dir : sort === spec.defaultSort ? spec.defaultDir : 'asc';
  return { sort, dir };
}

const EPOCH = `'1970-01-01T00:00:00Z'::timestamptz`;

/** The value ordered by; never null, so that row comparison in the keyset holds. */
function orderExpr(c: SortColumn): string {
  switch (c.kind) {
    case 'text': return `coalesce((${c.sql})::text, '')`;
    case 'number': return `coalesce((${c.sql})::numeric, 0)`;
    case 'time': return `coalesce((${c.sql})::timestamptz, ${EPOCH})`;
  }
}

/** The same value as the text a cursor carries (an instant exact to the microsecond, in UTC). */
function keyExpr(c: SortColumn): string {
  const e = orderExpr(c);
  switch (c.kind) {
    case 'text': return e;
    case 'number': return `(${e})::text`;
    case 'time': return `to_char(${e} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
  }
}

const NUMBER_KEY = /^-?\d{1,30}(\.\d{1,30})?$/;
const TIME_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function fitsKind(kind: SortKind, v: string): boolean {
  if (kind === 'number') return NUMBER_KEY.test(v);
  if (kind === 'time') return TIME_KEY.test(v) && !Number.isNaN(Date.parse(v));
  return true;
}

const PARAM: Record<SortKind, string> = { text: '?', number: '?::numeric', time: '?::timestamptz' };

/**
 * One page (or a batch, for the CSV) of the filtered query in the chosen order. The cursor names
 * its sort, so a link from another order is refused (400) rather than read with the wrong key.
 */
async function fetchPage<T>(db: Queryable, base: Knex.QueryBuilder, spec: ListSpec, p: ListParams, map: (row: Record<string, any>) => T): Promise<Page<T> & { sort: string; dir: SortDir }> {
  const { sort, dir } = sortOf(spec, p);
  const col = spec.sorts[sort] as SortColumn;
  const limit = p.limit ?? PAGE_SIZE;
  const order = orderExpr(col);
  const q = base
    .clone()
    .select(db.raw(`${keyExpr(col)} as _list_key`), db.raw(`${spec.id} as _list_id`))
    .orderByRaw(`${order} ${dir}, ${spec.id} ${dir}`)
    .limit(limit + 1);
  const after = decodeCursor(p.cursor, ['text', 'text', 'id']);
  if (after) {
    const [signature, key, id] = after as [string, string, number];
    if (signature !== `${sort}.${dir}` || !fitsKind(col.kind, key)) {
      throw new BadRequestError('This page link is not valid: start again from the first page.');
    }
    q.whereRaw(`(${order}, ${spec.id}) ${dir === 'asc' ? '>' : '<'} (${PARAM[col.kind]}, ?)`, [key, id]);
  }
  const rows = (await q) as Array<Record<string, any>>;
  const shown = rows.slice(0, limit);
  const last = shown[shown.length - 1];
  const nextCursor = rows.length > limit && last ? encodeCursor([`${sort}.${dir}`, String(last._list_key), Number(last._list_id)]) : undefined;
  return { rows: shown.map(map), ...(nextCursor ? { nextCursor } : {}), sort, dir };
}

/** The rows the filter matched and the list's totals, in one query over the filtered rows. */
async function countOf(db: Queryable, base: Knex.QueryBuilder, spec: ListSpec): Promise<{ count: number; totals: Record<string, string> }> {
  const aggregates = Object.entries(spec.totals ?? {}).map(([name, sql]) => db.raw(`(${sql})::text as ??`, [name]));
  const row = (await db.from(base.clone().clearOrder().as('list_rows')).select(db.raw('count(*) as _list_count'), ...aggregates).first()) as Record<string, any>;
  const totals: Record<string, string> = {};
  for (const name of Object.keys(spec.totals ?? {})) totals[name] = row?.[name] ?? '0';
  return { count: Number(row?._list_count ?? 0), totals };
}

/** A page of the list with the number of rows matched and the totals. */
export async function listPage<T>(db: Queryable, base: Knex.QueryBuilder, spec: ListSpec, p: ListParams, map: (row: Record<string, any>) => T): Promise<ListPage<T>> {
  const [page, counted] = await Promise.all([fetchPage(db, base, spec, p, map), countOf(db, base, spec)]);
  return { ...page, ...counted };
}

/** Every row of the filter in the page's order (the CSV), read in batches by the same keyset. */
export async function* listAll<T>(db: Queryable, base: Knex.QueryBuilder, spec: ListSpec, p: ListParams, map: (row: Record<string, any>) => T, batch = 1000): AsyncGenerator<T> {
  let cursor: string | undefined;
  do {
    const page = await fetchPage(db, base, spec, { sort: p.sort, dir: p.dir, cursor, limit: batch }, map);
    yield* page.rows;
    cursor = page.nextCursor;
  } while (cursor);
}

/**
 * The same three for a list held in memory (a short list the page shows whole: platforms, taxes):
 * sorted on the server by the whitelisted column's value, then by the order it came in.
 */
export function sortInMemory<T>(rows: readonly T[], sorts: Record<string, (row: T) => string | number | null>, p: ListParams, defaults: { sort: string; dir: SortDir }): { rows: T[]; count: number; sort: string; dir: SortDir } {
  const { sort, dir } = sortOf({ sorts, defaultSort: defaults.sort, defaultDir: defaults.dir }, p);
  const value = sorts[sort] as (row: T) => string | number | null;
  const sign = dir === 'asc' ? 1 : -1;
  const indexed = rows.map((row, i) => ({ row, i, v: value(row) }));
  indexed.sort((a, b) => sign * (compareValues(a.v, b.v) || a.i - b.i));
  return { rows: indexed.map((x) => x.row), count: rows.length, sort, dir };
}

function compareValues(a: string | number | null, b: string | number | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  // Amounts come as exact decimal text: compared as numbers, never through a float.
  if (typeof a === 'string' && typeof b === 'string' && DECIMAL.test(a) && DECIMAL.test(b)) return new Decimal(a).comparedTo(b);
  return String(a).localeCompare(String(b), 'en', { sensitivity: 'base', numeric: true });
}

const DECIMAL = /^-?\d+(\.\d+)?$/;
