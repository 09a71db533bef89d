import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Queryable } from '../../db/knex';

/**
 * Bulk writes with COPY FROM STDIN (text format) inside a knex transaction. A multi-row INSERT of
 * a thousand legs makes Node build and bind tens of thousands of parameters and Postgres plan a
 * statement as large; COPY streams rows Postgres parses at its own speed. COPY returns nothing,
 * so callers allocate ids first (allocateIds in ledger.repository.ts). It cannot skip a row either:
 * the intake's plan assumes every leg is new, a leg stored already fails it with a unique violation
 * that aborts the whole transaction, and the post is then written again by INSERT ... ON CONFLICT.
 */

/** A value in COPY text format: NULL is \N; backslash, tab, newline and carriage return escaped. */
export function copyField(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v !== 'string') return String(v);
  // Most fields need no escaping; test before building a new string.
  if (!/[\\\t\n\r]/.test(v)) return v;
  return v.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/**
 * One row in COPY text, newline included. `escape` (by column) says which fields may hold text from
 * outside (leg keys, numbers as sent, names, JSON); the others are our own numbers, timestamps and
 * enums, written as they are without looking for characters to escape. `fields` is overwritten
 * with the fields' text: one join builds the row, with no string per field added to the last (at
 * a thousand legs a post, those partial strings were much of what the garbage collector swept).
 */
export function copyLine(fields: Array<string | number | boolean | null | undefined>, escape?: readonly boolean[]): string {
  const n = fields.length;
  for (let i = 0; i < n; i++) {
    const v = fields[i];
    fields[i] = escape && !escape[i] ? (v === null || v === undefined ? '\\N' : typeof v === 'string' ? v : String(v)) : copyField(v);
  }
  // The newline rides on the last field, so that the row is the join itself.
  fields[n - 1] += '\n';
  return fields.join('\t');
}

/** The escape argument of copyLine for these columns: true for the ones named in `freeText`. */
export function escapeMask(columns: readonly string[], freeText: readonly string[]): boolean[] {
  return columns.map((c) => freeText.includes(c));
}

/** The raw pg connection of a knex transaction (a transaction holds one connection throughout). */
async function connectionOf(tx: Queryable): Promise<PoolClient> {
  const client = (tx as unknown as { client: { acquireConnection(): Promise<PoolClient> } }).client;
  return client.acquireConnection();
}

/** COPY lines (from copyLine) into table(columns). Column and table names are ours, never input. */
export async function copyRows(tx: Queryable, table: string, columns: readonly string[], lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  if (!/^[a-z_]+$/.test(table) || !columns.every((c) => /^[a-z_0-9]+$/.test(c))) throw new Error('bad COPY target');
  const conn = await connectionOf(tx);
  const stream = conn.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  // Chunks of ~1 MB: one write per chunk, never one huge string held twice; each chunk one join.
  const chunks: string[] = [];
  let from = 0;
  let size = 0;
  for (let i = 0; i < lines.length; i++) {
    size += (lines[i] as string).length;
    if (size > 1 << 20) {
      chunks.push(lines.slice(from, i + 1).join(''));
      from = i + 1;
      size = 0;
    }
  }
  if (from < lines.length) chunks.push(lines.slice(from).join(''));
  await pipeline(Readable.from(chunks), stream);
}
