import { BadRequestError } from '../domain/errors';

/**
 * Keyset paging: the cursor carries the sort key of the last row shown, so a page costs the same
 * at row 10 as at row 10 million, and rows added meanwhile never shift what the next page shows.
 */
export function encodeCursor(values: Array<string | number>): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

/**
 * What each key of a cursor must be: text (a sort key the query compares as text), id (a bigint
 * row id) or time (an instant as startKeySql writes it: UTC to the microsecond).
 */
export type CursorKey = 'text' | 'id' | 'time';

/** A time key exactly as the list queries write it (to_char ... 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'). */
const TIME_KEY = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{6}Z$/;
const MAX_TEXT_KEY = 500;

function fits(kind: CursorKey, v: unknown): boolean {
  switch (kind) {
    case 'id':
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
    case 'time':
      return typeof v === 'string' && TIME_KEY.test(v) && !Number.isNaN(Date.parse(v));
    case 'text':
      // Postgres refuses NUL in text: a key with one would fail the query, not page.
      return typeof v === 'string' && v.length <= MAX_TEXT_KEY && !v.includes('\u0000');
  }
}

/**
 * The sort key a cursor carries, each value checked against the kind of its column. A cursor this
 * app did not write (tampered, or another list's) is a bad request: it answers 400, and never
 * reaches the query, where a wrong type would fail as a server error.
 */
export function decodeCursor(cursor: string | undefined, keys: readonly CursorKey[]): Array<string | number> | undefined {
  if (!cursor) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new BadRequestError('This page link is not valid: start again from the first page.');
  }
  if (Array.isArray(parsed) && parsed.length === keys.length && parsed.every((v, i) => fits(keys[i] as CursorKey, v))) {
    return parsed as Array<string | number>;
  }
  throw new BadRequestError('This page link is not valid: start again from the first page.');
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
