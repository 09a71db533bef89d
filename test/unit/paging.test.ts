import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeCursor, encodeCursor, toPage } from '../../src/db/paging';
import { BadRequestError } from '../../src/domain/errors';

test('keyset cursor round-trips each kind of key', () => {
  assert.deepEqual(decodeCursor(encodeCursor(['acme', 42]), ['text', 'id']), ['acme', 42]);
  assert.deepEqual(decodeCursor(encodeCursor(['2026-12-07T01:02:03.456789Z', 7]), ['time', 'id']), ['2026-12-07T01:02:03.456789Z', 7]);
  assert.equal(decodeCursor(undefined, ['id']), undefined);
  assert.equal(decodeCursor('', ['id']), undefined);
});

test('a cursor this app did not write is a bad request, never a value handed to the query', () => {
  const bad: Array<[string, Array<'text' | 'id' | 'time'>]> = [
    ['not-base64-json', ['text', 'id']],
    [encodeCursor(['only-one']), ['text', 'id']],
    [encodeCursor([{ evil: 1 } as unknown as string, 1]), ['text', 'id']],
    // The attack's cursor on the calls pages: a text where the start time goes.
    [encodeCursor(['NT-2001', 7]), ['time', 'id']],
    [encodeCursor(['2026-13-01T00:00:00.000000Z', 7]), ['time', 'id']],
    [encodeCursor(['2026-12-07T01:02:03.456789Z', 7.5]), ['time', 'id']],
    [encodeCursor(['2026-12-07T01:02:03.456789Z', -1]), ['time', 'id']],
    [encodeCursor(['2026-12-07T01:02:03.456789Z', 2 ** 60]), ['time', 'id']],
    [encodeCursor(['2026-12-07T01:02:03.456789Z', '7']), ['time', 'id']],
    [encodeCursor(['a\u0000b', 1]), ['text', 'id']],
    [encodeCursor(['x'.repeat(501), 1]), ['text', 'id']],
  ];
  for (const [cursor, keys] of bad) assert.throws(() => decodeCursor(cursor, keys), BadRequestError, cursor);
});

test('toPage splits off the look-ahead row into the next cursor', () => {
  const rows = [1, 2, 3, 4].map((id) => ({ id }));
  const page = toPage(rows, 3, (r) => [r.id]);
  assert.deepEqual(page.rows.map((r) => r.id), [1, 2, 3]);
  assert.deepEqual(decodeCursor(page.nextCursor, ['id']), [3]);
  assert.equal(toPage(rows, 4, (r) => [r.id]).nextCursor, undefined);
});
