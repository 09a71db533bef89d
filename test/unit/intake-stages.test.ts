import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { answerOf, httpStatusOf, type RecordResult } from '../../src/modules/intake/outcome';

const MODULES = path.resolve(__dirname, '../../src/modules');

/** The modules a module's files import (relative imports that leave its folder). */
function importedModules(name: string): Set<string> {
  const out = new Set<string>();
  for (const file of fs.readdirSync(path.join(MODULES, name))) {
    if (!file.endsWith('.ts')) continue;
    const text = fs.readFileSync(path.join(MODULES, name, file), 'utf8');
    for (const m of text.matchAll(/from '\.\.\/([a-z-]+)\//g)) out.add(m[1] as string);
  }
  return out;
}

describe('the intake\'s modules import one way: intake -> rating -> ledger', () => {
  test('the ledger imports neither rating nor the intake', () => {
    const ledger = importedModules('ledger');
    assert.equal(ledger.has('rating'), false, 'ledger -> rating');
    assert.equal(ledger.has('intake'), false, 'ledger -> intake');
  });
  test('rating does not import the intake', () => {
    assert.equal(importedModules('rating').has('intake'), false);
  });
});

describe('outcomes become HTTP statuses in one place', () => {
  const record = (status: RecordResult['status']): RecordResult => ({ index: 0, status, legs: [] });
  test('a post with anything acknowledged (stored, already there, or a half kept) is 200; all refused is 422', () => {
    assert.equal(httpStatusOf({ kind: 'stored', records: [record('accepted'), record('rejected')] }), 200);
    assert.equal(httpStatusOf({ kind: 'stored', records: [record('duplicate')] }), 200);
    assert.equal(httpStatusOf({ kind: 'stored', records: [record('pending')] }), 200);
    assert.equal(httpStatusOf({ kind: 'stored', records: [record('rejected'), record('rejected')] }), 422);
  });
  test('refusals of the content are 4xx, and only a passing fault is 503', () => {
    const refused = (refusal: Parameters<typeof httpStatusOf>[0] extends infer O ? O extends { refusal: infer R } ? R : never : never) =>
      httpStatusOf({ kind: 'refused', refusal, error: 'x' });
    assert.deepEqual(
      (['unreadable', 'too-large', 'unsupported', 'nothing-storable', 'unauthenticated', 'forbidden', 'throttled', 'unavailable'] as const).map(refused),
      [400, 413, 415, 422, 401, 403, 429, 503],
    );
  });
  test('the answer counts records by outcome, and a refusal kept in the rejects names it', () => {
    const stored = answerOf({ kind: 'stored', records: [record('accepted'), record('duplicate'), record('rejected'), record('pending')] });
    assert.deepEqual({ ...stored.body, records: undefined }, { accepted: 1, duplicates: 1, rejected: 1, pending: 1, records: undefined });
    const kept = answerOf({ kind: 'refused', refusal: 'unreadable', error: 'not JSON', rejectId: 7 });
    assert.deepEqual(kept, { httpStatus: 400, body: { accepted: 0, duplicates: 0, rejected: 1, records: [], error: 'not JSON', reject_id: 7 } });
  });
});

describe('the ledger is the only code that knows its tables', () => {
  /** SQL that reads or writes a table of the ledger: a query builder on it, or FROM/JOIN/INTO/UPDATE it. */
  const LEDGER_SQL = /\b(?:from|join|into|update)\s+(?:call_legs|charges|cdrs|leg_keys|leg_changes)\b|\(\s*'(?:call_legs|charges|cdrs|leg_keys|leg_changes)'/i;
  const files = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));

  test('no file outside src/modules/ledger queries call_legs, charges, cdrs, leg_keys or leg_changes', () => {
    // The change log's reader (modules/changes) reads leg_changes, which the ledger writes.
    const outside = files(path.resolve(__dirname, '../../src')).filter((f) => !f.includes(`${path.sep}modules${path.sep}ledger${path.sep}`) && !f.includes(`${path.sep}modules${path.sep}changes${path.sep}`));
    const offenders = outside.filter((f) => LEDGER_SQL.test(fs.readFileSync(f, 'utf8'))).map((f) => path.relative(MODULES, f));
    assert.deepEqual(offenders, []);
  });
});
