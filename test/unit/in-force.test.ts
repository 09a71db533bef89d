import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inForceAt, latestStarted, lookupInstant, seriesStates, startedCount, versionState } from '../../src/domain/time/in-force';
import { carrierOf } from '../../src/domain/legs/rated';
import { OPERATOR, ownerKey } from '../../src/domain/tenancy/owner';

const at = (iso: string) => Date.parse(iso);

describe('what is in force at an instant (one rule for taxes, exchange rates and their caches)', () => {
  test('a version is in force from its first millisecond up to, not including, its end', () => {
    const from = at('2026-03-01T00:00:00Z');
    const to = at('2026-04-01T00:00:00Z');
    assert.equal(inForceAt(from, to, from - 1), false);
    assert.equal(inForceAt(from, to, from), true);
    assert.equal(inForceAt(from, to, to - 1), true);
    assert.equal(inForceAt(from, to, to), false);
    assert.equal(inForceAt(from, null, at('2099-01-01T00:00:00Z')), true, 'no end: for ever');
  });

  test('of sorted versions, the last one started is in force; none before the first', () => {
    const starts = [at('2026-01-01T00:00:00Z'), at('2026-03-01T00:00:00Z'), at('2026-03-01T00:00:00Z'), at('2026-06-01T00:00:00Z')];
    assert.equal(startedCount(starts, at('2025-12-31T23:59:59.999Z')), 0);
    assert.equal(startedCount(starts, at('2026-01-01T00:00:00Z')), 1);
    assert.equal(startedCount(starts, at('2026-03-01T00:00:00Z')), 3, 'on equal starts the later one is in force');
    assert.equal(startedCount(starts, at('2030-01-01T00:00:00Z')), 4);
  });

  test('in any order, the latest start at or before the instant wins, ties to the later in the list', () => {
    const versions = [
      { id: 1, from: at('2026-03-01T00:00:00Z') },
      { id: 2, from: at('2026-01-01T00:00:00Z') },
      { id: 3, from: at('2026-03-01T00:00:00Z') },
      { id: 4, from: at('2026-09-01T00:00:00Z') },
    ];
    assert.equal(latestStarted(versions, (v) => v.from, at('2026-02-01T00:00:00Z'))?.id, 2);
    assert.equal(latestStarted(versions, (v) => v.from, at('2026-05-01T00:00:00Z'))?.id, 3);
    assert.equal(latestStarted(versions, (v) => v.from, at('2025-05-01T00:00:00Z')), undefined);
  });

  test('a look-up compares whole milliseconds and refuses an impossible instant, as the SQL look-up does', () => {
    assert.equal(lookupInstant(1.7), 1);
    assert.throws(() => lookupInstant(8.64e15 + 1), RangeError);
  });
});

describe('how versions stand now, for the pages that list them (the same rule)', () => {
  test('a version with an end: scheduled before its start, in force from its first millisecond, ended at its end', () => {
    assert.equal(versionState(1000, 2000, 999), 'scheduled');
    assert.equal(versionState(1000, 2000, 1000), 'in force');
    assert.equal(versionState(1000, 2000, 1999), 'in force');
    assert.equal(versionState(1000, 2000, 2000), 'ended');
    assert.equal(versionState(1000, null, 9e12), 'in force');
  });

  test('a series (each until the next): the latest started is in force, earlier ones superseded, later ones scheduled, in any order', () => {
    const starts = [3000, 1000, 2000, 5000];
    assert.deepEqual(seriesStates(starts, (v) => v, 2500), ['scheduled', 'superseded', 'in force', 'scheduled']);
    assert.deepEqual(seriesStates(starts, (v) => v, 500), ['scheduled', 'scheduled', 'scheduled', 'scheduled']);
    assert.deepEqual(seriesStates(starts, (v) => v, 5000), ['superseded', 'superseded', 'superseded', 'in force']);
  });
});

describe('the carrier of a leg', () => {
  const map = { 'gw-1': 'Carrier A' };
  test('outbound and forwarded legs left by the carrier their trunk maps to', () => {
    assert.equal(carrierOf({ trunk: 'gw-1' }, 'outbound', map), 'Carrier A');
    assert.equal(carrierOf({ trunk: 'gw-1' }, 'forwarded', map), 'Carrier A');
  });
  test('other directions, unknown trunks and legs with no trunk have none', () => {
    assert.equal(carrierOf({ trunk: 'gw-1' }, 'inbound', map), null);
    assert.equal(carrierOf({ trunk: 'gw-1' }, null, map), null);
    assert.equal(carrierOf({ trunk: 'gw-2' }, 'outbound', map), null);
    assert.equal(carrierOf({ trunk: null }, 'outbound', map), null);
    assert.equal(carrierOf({ trunk: 'gw-1' }, 'outbound', undefined), null);
  });
});

describe('the owner of a plan or a tax', () => {
  test('the operator is key 0, a reseller its id', () => {
    assert.equal(ownerKey(OPERATOR), 0);
    assert.equal(ownerKey({ kind: 'reseller', resellerId: 7 }), 7);
  });
});
