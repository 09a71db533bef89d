import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { holderAt, vacancyOf, type Assignment } from '../../src/domain/legs/holders';

const at = (iso: string) => Date.parse(iso);
const N = '+12125550100';
// Held by subscriber 1 in March, nobody in April, subscriber 2 from May on.
const HISTORY: Assignment[] = [
  { number: N, subscriberId: 2, resellerId: 10, assignedAt: at('2026-05-01T00:00:00Z'), releasedAt: null },
  { number: N, subscriberId: 1, resellerId: 10, assignedAt: at('2026-03-01T00:00:00Z'), releasedAt: at('2026-04-01T00:00:00Z') },
];

describe('the holder of a number at the call\'s time', () => {
  test('a call while a subscriber held the number is that subscriber\'s, whoever holds it today', () => {
    assert.equal(holderAt(HISTORY, at('2026-03-15T12:00:00Z'))?.subscriberId, 1);
    assert.equal(holderAt(HISTORY, at('2026-06-15T12:00:00Z'))?.subscriberId, 2);
  });

  test('assignment starts count, releases do not (a release at 00:00 leaves a call at 00:00 to nobody)', () => {
    assert.equal(holderAt(HISTORY, at('2026-03-01T00:00:00Z'))?.subscriberId, 1);
    assert.equal(holderAt(HISTORY, at('2026-04-01T00:00:00Z')), undefined);
  });

  test('a call from before the first assignment is nobody\'s (not the first holder\'s), and says when it was first assigned', () => {
    assert.equal(holderAt(HISTORY, at('2026-02-01T00:00:00Z')), undefined);
    assert.equal(vacancyOf(N, HISTORY, at('2026-02-01T00:00:00Z')), `nobody held ${N} at the call's time (first assigned 2026-03-01T00:00:00.000Z)`);
  });

  test('a call between two holders is nobody\'s', () => {
    assert.equal(holderAt(HISTORY, at('2026-04-15T00:00:00Z')), undefined);
    assert.equal(vacancyOf(N, HISTORY, at('2026-04-15T00:00:00Z')), `nobody held ${N} at the call's time`);
  });

  test('no vacancy to report for a held number or one that was never ours', () => {
    assert.equal(vacancyOf(N, HISTORY, at('2026-06-01T00:00:00Z')), undefined);
    assert.equal(vacancyOf(N, [], at('2026-06-01T00:00:00Z')), undefined);
    assert.equal(vacancyOf(N, undefined, at('2026-06-01T00:00:00Z')), undefined);
  });
});
