/**
 * Keyset paging: the cursor carries the sort key of the last row shown, so a page costs the same
 * at row 10 as at row 10 million, and rows added meanwhile never shift what the next page shows.
 */
export function encodeCursor(values: Array<string | number>): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor(cursor: string | undefined, arity: number): Array<string | number> | undefined {
  if (!cursor) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parsed) && parsed.length === arity && parsed.every((v) => typeof v === 'string' || typeof v === 'number')) {
      return parsed as Array<string | number>;
    }
  } catch {
    // fall through: a tampered cursor restarts at the first page
  }
  return undefined;
}

export interface Page<T> {
  rows: T[];
  nextCursor?: string;
}

/** Fetch limit+1 rows, then call this to split off the look-ahead row into a cursor. */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => Array<string | number>): Page<T> {
  if (rows.length <= limit) return { rows };
  const shown = rows.slice(0, limit);
  return { rows: shown, nextCursor: encodeCursor(keyOf(shown[shown.length - 1] as T)) };
}

export const PAGE_SIZE = 25;
