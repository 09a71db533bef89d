import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeCursor, encodeCursor, toPage } from '../../src/db/paging';

test('keyset cursor round-trips and a tampered cursor restarts at the first page', () => {
  assert.deepEqual(decodeCursor(encodeCursor(['acme', 42]), 2), ['acme', 42]);
  assert.equal(decodeCursor('not-base64-json', 2), undefined);
  assert.equal(decodeCursor(encodeCursor(['only-one']), 2), undefined);
  assert.equal(decodeCursor(encodeCursor([{ evil: 1 } as unknown as string, 1]), 2), undefined);
});

test('toPage splits off the look-ahead row into the next cursor', () => {
  const rows = [1, 2, 3, 4].map((id) => ({ id }));
  const page = toPage(rows, 3, (r) => [r.id]);
  assert.deepEqual(page.rows.map((r) => r.id), [1, 2, 3]);
  assert.deepEqual(decodeCursor(page.nextCursor, 1), [3]);
  assert.equal(toPage(rows, 4, (r) => [r.id]).nextCursor, undefined);
});
